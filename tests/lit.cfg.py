# tests/lit.cfg.py — lit configuration for tilec's tests (.tile and .test files with RUN lines).
#
# Run through ctest (tests `lit` and `lit-asan`), or by hand:
#   python3 /usr/lib/llvm-22/bin/lit -sv tests --param tilec=build/bin/tilec
# Parameters:
#   tilec=PATH        the compiler under test (required)
#   exec_root=DIR     where Output/ directories go (default: <tilec's dir>/../lit-out/<name>)
#   llvm_bin=DIR      FileCheck, not, split-file (default: /usr/lib/llvm-22/bin)
#   sanitized=1       tilec is an ASan build (implied by "asan" in its name): no memory ulimit
#   mem_limit_kb=N    `ulimit -v` for every test (default 4000000; 0: none)
#   cpu_limit_s=N     `ulimit -t` for every test (default 300; 0: none)
#   timeout=N         wall-clock seconds per test (default 60, 110 sanitized; needs python3-psutil)
# Substitutions: %tilec, %stdlib, FileCheck, not, split-file (and llvm_bin is first on PATH).

import os
import re
import shlex

import lit.formats

config.name = "tilec"
config.suffixes = [".tile", ".test"]
config.excludes = ["fuzz", "Inputs", "Output", "lit.cfg.py", "CMakeLists.txt"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
repo_root = os.path.dirname(config.test_source_root)
params = lit_config.params


def int_param(name, default):
    value = params.get(name, default)
    try:
        return int(value)
    except ValueError:
        lit_config.fatal("--param %s=%r: expected an integer" % (name, value))


# ---------------------------------------------------------------- the compiler under test

tilec = params.get("tilec")
if not tilec:
    lit_config.fatal("no compiler given: run lit with --param tilec=PATH/TO/tilec")
tilec = os.path.abspath(tilec)
if not (os.path.isfile(tilec) and os.access(tilec, os.X_OK)):
    lit_config.fatal("--param tilec=%s: not an executable file (is the build done?)" % tilec)
tilec_name = os.path.basename(tilec)
sanitized = params.get("sanitized", "0") not in ("0", "", "false", "no") or "asan" in tilec_name

config.test_exec_root = os.path.abspath(
    params.get("exec_root")
    or os.path.join(os.path.dirname(os.path.dirname(tilec)), "lit-out", tilec_name)
)

# ---------------------------------------------------------------- tools and substitutions

llvm_bin = params.get("llvm_bin", "/usr/lib/llvm-22/bin")
tools = {}
for tool in ("FileCheck", "not", "split-file"):
    path = os.path.join(llvm_bin, tool)
    if not os.access(path, os.X_OK):
        lit_config.fatal("%s not found (apt-get install llvm-22-tools)" % path)
    tools[tool] = path

stdlib = os.path.join(repo_root, "stdlib")
config.substitutions.append(("%tilec", shlex.quote(tilec)))
config.substitutions.append(("%stdlib", shlex.quote(stdlib)))
# Bare tool names, as whole words that are not part of a path, an option or another name.
for tool, path in tools.items():
    config.substitutions.append(
        (r"(?<![\w./%=-])" + re.escape(tool) + r"(?![\w./=-])", shlex.quote(path))
    )

# ---------------------------------------------------------------- environment and limits

config.environment["PATH"] = os.pathsep.join(
    [llvm_bin, config.environment.get("PATH", os.environ.get("PATH", ""))]
)
for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR", "HOME"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
config.environment["TERM"] = "dumb"
config.environment.pop("CLICOLOR_FORCE", None)

# A runaway compile must not take the machine down: bound each test's memory and CPU time
# (ASan reserves terabytes of address space, so no `ulimit -v` for sanitized builds), and its
# wall-clock time where lit can enforce it.
preamble = []
mem_limit_kb = 0 if sanitized else int_param("mem_limit_kb", 4000000)
if mem_limit_kb > 0:
    preamble.append("ulimit -v %d" % mem_limit_kb)
cpu_limit_s = int_param("cpu_limit_s", 300)
if cpu_limit_s > 0:
    preamble.append("ulimit -t %d" % cpu_limit_s)
config.test_format = lit.formats.ShTest(True, preamble_commands=preamble)

# ASan builds run the stdlib differential tests 2-3x slower (attention: ~30 s alone on the 2-core
# CI machine, past 60 with the other ctest job beside it); ctest itself stops a test at 120 s.
timeout = int_param("timeout", 110 if sanitized else 60)
if timeout > 0 and lit_config.maxIndividualTestTime == 0:
    supported, why = lit_config.maxIndividualTestTimeIsSupported
    if supported:
        lit_config.maxIndividualTestTime = timeout
    else:
        lit_config.warning("no per-test timeout: " + why)

if sanitized:
    config.available_features.add("asan")

# Host CPU features, for tests that run code compiled for a named CPU (--cpu=...).
try:
    with open("/proc/cpuinfo") as f:
        flags = next((l.split(":", 1)[1].split() for l in f if l.startswith("flags")), [])
except OSError:
    flags = []
for feature in ("avx2", "fma", "bmi2", "f16c", "movbe", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd",
                "avx512_bf16"):
    if feature in flags:
        config.available_features.add("host-" + feature)

# C drivers of differential tests: built with ASan in the sanitized run (which has no memory
# ulimit); the plain run still catches writes past the end with guard values.
config.substitutions.append(("%driver_cc", "cc -O1 -fsanitize=address,undefined" if sanitized else "cc -O1"))
# What a program that calls compiled kernels links: tilec's runtime (the grid's thread pool).
tilec_rt = params.get("tilec_rt", os.path.join(os.path.dirname(os.path.dirname(tilec)), "lib", "libtilec_rt.a"))
config.substitutions.append(("%runtime_lib", shlex.quote(tilec_rt) + " -lpthread"))
