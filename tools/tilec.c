// tools/tilec.c — the command-line driver. compile() lists the stages in order; each can be
// printed with --emit=STAGE. User errors exit 1; nothing here is reached by library code.
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../autotune/tune.h"
#include "../lang/ast.h"
#include "../lang/diag.h"
#include "../lang/sema.h"
#include "../backends/target.h"
#include "../lowering/lower.h"
#include "../parser/parse.h"

#define TILEC_VERSION "0.1.0"
#define TILEC_COMPILER_ID "tilec " TILEC_VERSION " / LLVM 22"

// What --emit prints: the front end's stages, or one of the lowering's (LowerStage).
typedef enum Emit { EMIT_NONE, EMIT_TOKENS, EMIT_AST, EMIT_LOWER } Emit;

static const struct {
    const char *name;
    Emit emit;
    LowerStage stage;
} emit_names[] = {
    {"tokens", EMIT_TOKENS, LOWER_OBJ},
    {"ast", EMIT_AST, LOWER_OBJ},
    {"mlir", EMIT_LOWER, LOWER_MLIR},
    {"scheduled", EMIT_LOWER, LOWER_SCHEDULED},
    {"bufferized", EMIT_LOWER, LOWER_BUFFERIZED},
    {"llvm-dialect", EMIT_LOWER, LOWER_LLVM_DIALECT},
    {"llvm", EMIT_LOWER, LOWER_LLVM},
    {"asm", EMIT_LOWER, LOWER_ASM},
    {"gpu", EMIT_LOWER, LOWER_GPU},
    {"nvvm", EMIT_LOWER, LOWER_NVVM},
    {"ptx", EMIT_LOWER, LOWER_PTX},
    {"ptxas", EMIT_LOWER, LOWER_PTXAS},
    {"obj", EMIT_NONE, LOWER_OBJ},  // the default: an object (and its header) with -o
};

typedef struct Options {
    bool check;  // `tilec check`: parse and check only
    Emit emit;
    LowerStage stage;  // with EMIT_LOWER
    const char *emit_name;
    const char *cpu;          // --cpu / -mcpu (NULL: the host's)
    const char *schedule;     // --schedule=KEY=VALUE,... overrides
    const char *target_name;  // --target= (NULL: x86-64)
    Target target;            // the three above, parsed once they are all known
    const char *output;       // -o
    const char **inputs;
    int ninputs;
    const char **include_dirs;
    int ninclude_dirs;
    SemaDefine *defines;
    int ndefines;
    bool verbose;      // check -v: list kernels and their C prototypes
    bool all_configs;  // check every configuration (check's default)
    int color;         // -1 auto, 0 never, 1 always
    int error_limit;
    bool werror;
    bool remarks;
    bool mlir_debuginfo;  // --mlir-print-debuginfo: print locations with --emit=mlir
    const char *kernel;   // --kernel NAME: compile only this kernel
    bool tuned;           // --tuned: versions per tuned shape from the tuning database
    const char *db;       // --db PATH (with --tuned)
    SemaDefine *fixed;    // --fix NAME=VALUE,...: sizes and integer scalars as constants
    int nfixed;
} Options;

static const char *const usage =
    "OVERVIEW: tilec - compiler for .tile kernels\n"
    "\n"
    "USAGE: tilec [options] <file.tile>...\n"
    "       tilec check [options] <file.tile>...\n"
    "       tilec tune <file.tile> --shape M=..,N=.. [options]   (tilec tune --help)\n"
    "       tilec tune MODEL.onnx [--shape NAME=DIMS] [options]  (tilec tune MODEL.onnx --help)\n"
    "       tilec db show|export|merge ...                        (tilec db --help)\n"
    "       tilec run MODEL.onnx [options]                        (tilec run --help)\n"
    "       tilec MODEL.onnx --shape NAME=DIMS... [--db DB] [--specialize] -o NAME.o  (a model ahead of "
    "time)\n"
    "\n"
    "COMMANDS:\n"
    "  check                   Parse and check the files (every tunable configuration); no output\n"
    "  tune                    Measure a kernel's configurations per shape into the tuning database\n"
    "                          (or every kernel call of an ONNX model's layers)\n"
    "  db                      Show, export or merge tuning databases\n"
    "\n"
    "OPTIONS:\n"
    "  --emit=<stage>          Print a stage instead of compiling: tokens, ast, mlir (tile level),\n"
    "                          scheduled (tiled and vectorized), bufferized, llvm-dialect,\n"
    "                          llvm (after O3), asm; obj (the default) writes FILE.o and FILE.h\n"
    "  --cpu=<name>            Compile for CPU <name> (e.g. skylake-avx512, znver2, x86-64-v3);\n"
    "                          default: this machine's CPU. Also -mcpu=<name>\n"
    "  --target=<t>            x86-64 (the default) or an NVIDIA GPU: sm_80, sm_86, sm_87, sm_89,\n"
    "                          sm_90, sm_90a. GPU stages for --emit: gpu (distributed over a\n"
    "                          block's threads), nvvm, ptx, ptxas (ptxas -v's report)\n"
    "  --schedule=<k=v,...>    Override the schedule: reg_m, reg_n (dot register tile), unroll_k,\n"
    "                          cols_outer (0/1), vector_bits (128/256/512), vectorize (0/1),\n"
    "                          inplace (0/1: tiles read and stored in place), prefetch\n"
    "                          (0/1: store destinations prefetched), bf16dot (0/1: bf16 dots as\n"
    "                          vdpbf16ps, default where the CPU has AVX512-BF16); for a GPU:\n"
    "                          num_warps, vector_bytes, dot_rows, dot_cols, tensor_cores,\n"
    "                          stages, wgmma, tma\n"
    "  -o <file>               Write output to <file> (default: standard output for --emit)\n"
    "  --kernel <name>         Check and compile only kernel <name> of the files\n"
    "  --tuned                 One version per tuned shape from the tuning database, picked by\n"
    "                          the call's sizes (see 'tilec tune')\n"
    "  --db <path>             The tuning database for --tuned (default: as 'tilec tune')\n"
    "  -D <name>=<value>       Fix a tunable to an integer value (with --kernel: of that kernel)\n"
    "  --fix <n>=<v>,...       With --kernel: compile the kernel for these sizes and integer\n"
    "                          scalars (every one, e.g. M=512,K=16,N=24) as constants; a call\n"
    "                          with other values returns TILEC_ERR_CONSTRAINT (3)\n"
    "  -I <dir>                Search <dir> for imported files\n"
    "  --all-configs           Check every configuration of each kernel (default for 'check')\n"
    "  --default-config        Check only each kernel's default configuration\n"
    "  -v, --verbose           With 'check': list each kernel with its C prototype\n"
    "  --color=<when>          Color diagnostics: auto, always, never\n"
    "  -fcolor-diagnostics     Same as --color=always\n"
    "  -fno-color-diagnostics  Same as --color=never\n"
    "  --error-limit=<n>       Stop after <n> errors (default 20, 0 for no limit)\n"
    "  -Werror                 Treat warnings as errors\n"
    "  --remarks               Say where a tensor access became a slice, a gather or a masked\n"
    "                          loop, and why (file:line:col: remark: ...)\n"
    "  --mlir-print-debuginfo  With --emit=mlir: print each op's .tile source location\n"
    "  --print-after=<name>    Print the module to stderr after each MLIR pass <name> (e.g.\n"
    "                          canonicalize, convert-scf-to-cf) and each tilec step <name>:\n"
    "                          tile-level, schedule, iota-masks, masked-rows, inplace,\n"
    "                          inplace-stores, bufferize, fast-stores, guard-pad-fills,\n"
    "                          hoist-if-allocs, drop-self-copies; for a\n"
    "                          GPU gpu-distribute, tensor-maps\n"
    "  --print-after-all       Print the module after every pass and step\n"
    "  -h, --help              Show this help\n"
    "  --version               Show the version\n";

static const char *const known_flags[] = {
    "--emit=tokens",
    "--emit=ast",
    "--emit=mlir",
    "--emit=scheduled",
    "--emit=bufferized",
    "--emit=llvm-dialect",
    "--emit=llvm",
    "--cpu=",
    "--target=",
    "--emit=gpu",
    "--emit=nvvm",
    "--emit=ptx",
    "--emit=ptxas",
    "--schedule=",
    "-mcpu=",
    "--emit=asm",
    "-o",
    "--kernel",
    "--tuned",
    "--db",
    "--fix",
    "-D",
    "-I",
    "--all-configs",
    "--default-config",
    "-v",
    "--verbose",
    "--color=auto",
    "--color=always",
    "--color=never",
    "-fcolor-diagnostics",
    "-fno-color-diagnostics",
    "--error-limit=",
    "-Werror",
    "--remarks",
    "--mlir-print-debuginfo",
    "--print-after=",
    "--print-after-all",
    "-h",
    "--help",
    "--version",
    NULL,
};

static void unknown_flag(const char *arg) {
    const char *best = NULL;
    int best_d = 4;
    for (const char *const *f = known_flags; *f; f++) {
        int d = diag_edit_distance(arg, *f);
        if (d < best_d) {
            best = *f;
            best_d = d;
        }
    }
    if (best)
        error_plain("unknown argument '%s'; did you mean '%s'?", arg, best);
    else
        error_plain("unknown argument '%s'; see 'tilec --help'", arg);
}

// The value of "-X value" or "-Xvalue"; NULL (reported) if missing.
static const char *flag_value(int argc, char **argv, int *i, const char *flag) {
    const char *a = argv[*i];
    if (a[strlen(flag)] != '\0')
        return a + strlen(flag);
    if (*i + 1 >= argc) {
        error_plain("argument to '%s' is missing", flag);
        return NULL;
    }
    return argv[++*i];
}

static bool parse_define(Options *o, const char *text) {
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        error_plain("-D expects NAME=VALUE, got '%s'", text);
        return false;
    }
    char *end;
    const char *num = eq + 1;
    bool neg = *num == '-';
    int base = 10;
    if (num[neg] == '0' && (num[neg + 1] == 'x' || num[neg + 1] == 'X'))
        base = 16;
    long long v = strtoll(num, &end, base);  // decimal or 0x, as in .tile source
    if (eq[1] == '\0' || *end != '\0') {
        error_plain("-D %.*s: '%s' is not an integer", (int)(eq - text), text, eq + 1);
        return false;
    }
    SemaDefine *d = realloc(o->defines, sizeof(SemaDefine) * (size_t)(o->ndefines + 1));
    if (!d)
        return false;
    o->defines = d;
    d[o->ndefines++] = (SemaDefine){.name = strndup(text, (size_t)(eq - text)), .value = v};
    return true;
}

// --fix NAME=VALUE,NAME=VALUE,...: each item an identifier and a decimal integer.
static bool parse_fix(Options *o, const char *text) {
    if (!*text) {
        error_plain("--fix expects NAME=VALUE,... (e.g. M=512,K=16,N=24), got ''");
        return false;
    }
    bool ok = true;
    for (const char *p = text; ok;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        bool ident = eq && eq > p && !(*p >= '0' && *p <= '9');
        for (const char *c = p; ident && c < eq; c++)
            ident =
                (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_';
        if (!ident) {
            error_plain("--fix: '%.*s' is not NAME=VALUE (in '%s')", (int)len, p, text);
            return false;
        }
        char num[32];
        size_t nlen = len - (size_t)(eq + 1 - p);
        char *end = NULL;
        long long v = 0;
        if (nlen > 0 && nlen < sizeof num) {
            memcpy(num, eq + 1, nlen);
            num[nlen] = '\0';
            errno = 0;
            v = strtoll(num, &end, 10);
        }
        if (nlen == 0 || nlen >= sizeof num || *end != '\0' || errno == ERANGE) {
            error_plain("--fix %.*s: '%.*s' is not an integer", (int)(eq - p), p, (int)nlen, eq + 1);
            return false;
        }
        SemaDefine *d = realloc(o->fixed, sizeof(SemaDefine) * (size_t)(o->nfixed + 1));
        if (!d)
            return false;
        o->fixed = d;
        d[o->nfixed++] = (SemaDefine){.name = strndup(p, (size_t)(eq - p)), .value = v};
        if (!comma)
            break;
        p = comma + 1;
    }
    return ok;
}

// Frees what parse_args allocated (the strings point into argv, except -D names).
static void options_free(Options *o) {
    for (int i = 0; i < o->ndefines; i++)
        free((char *)o->defines[i].name);
    free(o->defines);
    for (int i = 0; i < o->nfixed; i++)
        free((char *)o->fixed[i].name);
    free(o->fixed);
    free(o->inputs);
    free(o->include_dirs);
}

// The NVIDIA architecture compiled for (as --target= spelled it), NULL for x86-64.
static const char *gpu_arch(const Options *o) {
    return o->target.kind == TARGET_NVIDIA ? o->target.name : NULL;
}

// What the flags mean together, once all are read (`ok`: each was well-formed); fills o->target.
static bool check_options(Options *o, bool ok) {
    if (ok && o->ninputs == 0) {
        error_plain("no input files");
        ok = false;
    }
    if (ok && o->nfixed && (!o->kernel || o->tuned || o->check)) {
        error_plain(o->kernel ? "--fix cannot go with %s" : "--fix needs --kernel NAME (the kernel it fixes)",
                    o->tuned ? "--tuned" : "'check'");
        ok = false;
    }
    if (ok && o->emit != EMIT_NONE && o->check) {
        error_plain("'check' does not print stages; use 'tilec --emit=%s FILE'", o->emit_name);
        ok = false;
    }
    // The target, parsed once here: every compilation goes through it (backends/target.h).
    char why[256];
    if (!target_init(&o->target, o->target_name, ok ? o->cpu : NULL, o->schedule, why, sizeof why)) {
        error_plain("invalid '--schedule=%s': %s", o->schedule, why);
        ok = false;
    }
    const char *gpu = gpu_arch(o);
    bool gpu_stage = o->emit == EMIT_LOWER && !target_has_stage(TARGET_X86, o->stage);
    bool cpu_stage = o->emit == EMIT_LOWER && !target_has_stage(TARGET_NVIDIA, o->stage);
    if (ok && gpu_stage && !gpu) {
        error_plain("--emit=%s is a GPU stage: add --target=sm_80 (or another NVIDIA architecture)",
                    o->emit_name);
        ok = false;
    } else if (ok && cpu_stage && gpu) {
        error_plain(
            "--emit=%s is an x86 stage; for %s the stages are mlir, gpu, nvvm, ptx, ptxas, llvm and asm "
            "(the host code)",
            o->emit_name, gpu);
        ok = false;
    } else if (ok && gpu && (o->cpu || o->tuned || o->nfixed)) {
        error_plain("%s cannot go with --target=%s", o->cpu ? "--cpu" : o->tuned ? "--tuned" : "--fix", gpu);
        ok = false;
    }
    return ok;
}

// Returns 0 to go on, 1 on a usage error, -1 when done (help, version).
static int parse_args(int argc, char **argv, Options *o) {
    o->color = -1;
    o->error_limit = 20;
    o->inputs = calloc((size_t)argc, sizeof(char *));
    o->include_dirs = calloc((size_t)argc, sizeof(char *));
    int i = 1;
    if (argc > 1 && strcmp(argv[1], "check") == 0) {
        o->check = true;
        o->all_configs = true;
        i = 2;
    }
    bool ok = true;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return ok ? -1 : 1;
        } else if (strcmp(a, "--version") == 0) {
            printf("tilec version %s\nfront end: Flex + Bison; pinned LLVM/MLIR 22\n", TILEC_VERSION);
            return ok ? -1 : 1;
        } else if (strncmp(a, "--emit=", 7) == 0) {
            size_t k = 0, n = sizeof emit_names / sizeof emit_names[0];
            while (k < n && strcmp(a + 7, emit_names[k].name) != 0)
                k++;
            if (k == n) {
                error_plain("invalid value '%s' in '%s' (expected tokens, ast, mlir, scheduled, bufferized, "
                            "llvm-dialect, llvm, asm, obj, or for a GPU gpu, nvvm, ptx, ptxas)",
                            a + 7, a);
                ok = false;
            } else {
                o->emit = emit_names[k].emit;
                o->stage = emit_names[k].stage;
                o->emit_name = emit_names[k].name;
            }
        } else if (strncmp(a, "--schedule=", 11) == 0) {
            o->schedule = a + 11;  // checked once the target is known
        } else if (strncmp(a, "--target=", 9) == 0) {
            if (target_known(a + 9)) {
                o->target_name = a + 9;
            } else {
                error_plain(
                    "unknown target '%s' in '%s' (expected x86-64, sm_80, sm_86, sm_87, sm_89, sm_90 or "
                    "sm_90a)",
                    a + 9, a);
                ok = false;
            }
        } else if (strncmp(a, "--cpu=", 6) == 0 || strncmp(a, "-mcpu=", 6) == 0) {
            o->cpu = a + 6;
            if (!*o->cpu) {
                error_plain("'%s' needs a CPU name (e.g. %sskylake-avx512)", a, a);
                ok = false;
            } else if (!target_known_cpu(o->cpu)) {
                error_plain("unknown CPU '%s' in '%s' (see 'llc -mcpu=help' for the names)", o->cpu, a);
                ok = false;
            }
        } else if (strncmp(a, "-o", 2) == 0 && (a[2] == '\0' || a[1] == 'o')) {
            if (!(v = flag_value(argc, argv, &i, "-o")))
                return 1;
            o->output = v;
        } else if (strcmp(a, "--kernel") == 0 || strcmp(a, "--db") == 0) {
            if (!(v = flag_value(argc, argv, &i, a)))
                return 1;
            *(a[2] == 'k' ? &o->kernel : &o->db) = v;
        } else if (strcmp(a, "--tuned") == 0) {
            o->tuned = true;
        } else if (strcmp(a, "--fix") == 0) {
            if (!(v = flag_value(argc, argv, &i, "--fix")))
                return 1;
            ok = parse_fix(o, v) && ok;
        } else if (strncmp(a, "-D", 2) == 0) {
            if (!(v = flag_value(argc, argv, &i, "-D")))
                return 1;
            ok = parse_define(o, v) && ok;
        } else if (strncmp(a, "-I", 2) == 0) {
            if (!(v = flag_value(argc, argv, &i, "-I")))
                return 1;
            o->include_dirs[o->ninclude_dirs++] = v;
        } else if (strcmp(a, "--all-configs") == 0) {
            o->all_configs = true;
        } else if (strcmp(a, "--default-config") == 0) {
            o->all_configs = false;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            o->verbose = true;
        } else if (strcmp(a, "-fcolor-diagnostics") == 0 || strcmp(a, "--color=always") == 0) {
            o->color = 1;
        } else if (strcmp(a, "-fno-color-diagnostics") == 0 || strcmp(a, "--color=never") == 0) {
            o->color = 0;
        } else if (strcmp(a, "--color=auto") == 0) {
            o->color = -1;
        } else if (strncmp(a, "--color=", 8) == 0) {
            error_plain("invalid value '%s' in '--color' (expected auto, always or never)", a + 8);
            ok = false;
        } else if (strncmp(a, "--error-limit=", 14) == 0 || strncmp(a, "-ferror-limit=", 14) == 0) {
            char *end;
            long n = strtol(a + 14, &end, 10);
            if (a[14] == '\0' || *end != '\0' || n < 0 || n > 1000000) {
                error_plain("invalid value '%s' in '%.14s'", a + 14, a);
                ok = false;
            }
            o->error_limit = (int)n;
        } else if (strcmp(a, "-Werror") == 0) {
            o->werror = true;
        } else if (strcmp(a, "--remarks") == 0) {
            o->remarks = true;
        } else if (strcmp(a, "--mlir-print-debuginfo") == 0) {
            o->mlir_debuginfo = true;
        } else if (strcmp(a, "--print-after-all") == 0) {
            lower_set_print_after("all");
        } else if (strncmp(a, "--print-after=", 14) == 0) {
            if (!a[14]) {
                error_plain("'%s' needs a pass or step name (e.g. --print-after=canonicalize)", a);
                ok = false;
            }
            lower_set_print_after(a + 14);
        } else if (strcmp(a, "check") == 0) {
            error_plain("'check' must come first: tilec check <file>...");
            ok = false;
        } else if (a[0] == '-' && a[1] != '\0') {
            unknown_flag(a);
            ok = false;
        } else {
            o->inputs[o->ninputs++] = a;
        }
    }
    return check_options(o, ok) ? 0 : 1;
}

static void list_kernels(const Program *prog, FILE *out) {
    for (int i = 0; i < prog->decls.len; i++) {
        const Node *k = prog->decls.items[i];
        if (!ast_main_kernel(k, NULL) || !k->kinfo)
            continue;
        const KernelInfo *ki = k->kinfo;
        if (ki->nconfigs >= 0)
            fprintf(out, "%s:%d: kernel %s: %lld configuration%s", k->span.file->path, k->span.line, k->name,
                    (long long)ki->nconfigs, ki->nconfigs == 1 ? "" : "s");
        else
            fprintf(out,
                    "%s:%d: kernel %s: %lld points in the search space (too many to count the valid ones)",
                    k->span.file->path, k->span.line, k->name, (long long)ki->nconfigs_total);
        for (int t = 0; t < ki->ntunables; t++)
            fprintf(out, "%s%s=%lld", t ? ", " : " (default ", ki->tunables[t]->name,
                    (long long)ki->tunables[t]->cval.i);
        fprintf(out, "%s\n  ", ki->ntunables ? ")" : "");
        sema_print_prototype(k, out);
        fprintf(out, ";\n");
    }
}

// k.o -> k.h beside it (FILE.h when the object's name has no extension).
static bool write_header(const Program *prog, const char *object, const char *notes, const char *gpu) {
    size_t n = strlen(object);
    char *header = malloc(n + 3);
    memcpy(header, object, n + 1);
    char *dot = strrchr(header, '.');
    if (dot && !strchr(dot, '/'))
        strcpy(dot, ".h");
    else
        strcat(header, ".h");
    const char *base = strrchr(object, '/') ? strrchr(object, '/') + 1 : object;
    bool ok = lower_write_header(prog, header, base, notes, gpu);
    free(header);
    return ok;
}

// The pipeline: read, parse (with imports), check, then print a stage or lower.
static int compile(const Options *o) {
    SourceFile **files = calloc((size_t)o->ninputs, sizeof(SourceFile *));
    int nfiles = 0;
    bool ok = true;
    for (int i = 0; i < o->ninputs; i++) {
        SourceFile *f = source_read(o->inputs[i], NULL);
        if (f)
            files[nfiles++] = f;
        else
            ok = false;
    }
    FILE *out = stdout;
    if (o->output && (o->emit == EMIT_TOKENS || o->emit == EMIT_AST)) {
        out = fopen(o->output, "w");
        if (!out) {
            error_plain("cannot open output file '%s': %s", o->output, strerror(errno));
            free(files);
            return 1;
        }
    }
    if (o->emit == EMIT_TOKENS) {
        for (int i = 0; i < nfiles; i++)
            ok = parse_dump_tokens(files[i], out) && ok;
        if (out != stdout)
            fclose(out);
        free(files);
        return ok ? 0 : 1;
    }
    Program prog = {.target_gpu = o->target.kind == TARGET_NVIDIA};
    LoadOptions lo = {.include_dirs = o->include_dirs, .ninclude_dirs = o->ninclude_dirs};
    if (nfiles)
        ok = load_program(&prog, files, nfiles, &lo) && ok;
    SemaOptions so = {.defines = o->defines,
                      .ndefines = o->ndefines,
                      .all_configs = o->all_configs,
                      .pow2_default = o->target.kind == TARGET_NVIDIA,
                      .only_kernel = o->kernel};
    // --kernel: that kernel alone is checked and compiled, and -D applies to it only. It must be
    // a kernel of the files named (the kernels of imported files are not compiled).
    bool found = !o->kernel || !ok;
    for (int i = 0; i < prog.decls.len && !found; i++)
        found = ast_main_kernel(prog.decls.items[i], o->kernel);
    if (!found) {
        error_plain("--kernel: no kernel '%s' in the input files", o->kernel);
        ok = false;
    }
    if (ok && !diag_should_stop())
        ok = sema_check_program(&prog, &so);
    if (o->emit == EMIT_AST) {
        ast_dump(&prog, out);
    } else if (o->check) {
        if (o->verbose && ok)
            list_kernels(&prog, out);
    } else if (ok && o->emit == EMIT_NONE && !o->output) {
        error_plain("no output file: write the object with -o FILE.o (its header goes beside it)");
        ok = false;
    } else if (ok) {
        CompileOptions lo = {.stage = o->emit == EMIT_LOWER ? o->stage : LOWER_OBJ,
                             .debuginfo = o->mlir_debuginfo,
                             .output = o->output,
                             .only_kernel = o->kernel,
                             .sema = &so,
                             .target = &o->target,
                             .fixed = o->fixed,
                             .nfixed = o->nfixed};
        char *notes = NULL;
        if (o->tuned) {
            if (lo.stage != LOWER_OBJ && lo.stage != LOWER_LLVM && lo.stage != LOWER_ASM) {
                error_plain("--tuned makes objects: it goes with -o, --emit=llvm or --emit=asm");
                ok = false;
            } else {
                char db[1024];
                if (o->db)
                    snprintf(db, sizeof db, "%s", o->db);
                else
                    tune_default_db_path(db, sizeof db);
                TuneIdentity id = {.compiler = TILEC_COMPILER_ID, .cpu = o->cpu};
                ok = tune_build_object(&prog, db, &id, &lo, &notes);
            }
        } else if (o->nfixed) {
            ok = object_fixed(&prog, &lo, &notes);
        } else {
            ok = object_compile(&prog, &lo, &notes);
        }
        if (ok && lo.stage == LOWER_OBJ)
            ok = write_header(&prog, o->output, notes, gpu_arch(o));
        free(notes);
    }
    if (out != stdout)
        fclose(out);
    free(files);
    diag_flush();
    return ok && diag_error_count() == 0 ? 0 : 1;
}

// `tilec run ...` is bin/tilec-run (runner/, linked with the compiled kernels), and
// `tilec MODEL.onnx ... -o NAME.o` bin/tilec-aot (docs/aot.md), next to this executable.
static int run_tool(const char *tool, char **argv) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);
    if (n <= 0) {
        fprintf(stderr, "tilec: error: cannot find %s (readlink /proc/self/exe: %s)\n", tool,
                strerror(errno));
        return 1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    strcpy(slash ? slash + 1 : self, tool);
    argv[0] = self;
    execv(self, argv);
    fprintf(stderr, "tilec: error: cannot run %s: %s\n", self, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    Options o = {0};
    if (argc > 1 && strcmp(argv[1], "run") == 0)
        return run_tool("tilec-run", argv + 1);
    for (int i = 1; i < argc; i++) {  // an ONNX model: compiled ahead of time
        size_t len = strlen(argv[i]);
        if (argv[i][0] != '-' && len > 5 && strcmp(argv[i] + len - 5, ".onnx") == 0 &&
            (argc < 2 || (strcmp(argv[1], "tune") != 0 && strcmp(argv[1], "db") != 0)))
            return run_tool("tilec-aot", argv);
    }
    diag_init((DiagOptions){.out = stderr, .error_limit = 20});
    if (argc > 1 && strcmp(argv[1], "tune") == 0) {
        TuneIdentity id = {.compiler = TILEC_COMPILER_ID};
        return tune_main(argc - 1, argv + 1, &id);
    }
    if (argc > 1 && strcmp(argv[1], "db") == 0)
        return tune_db_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "tune-resolve") == 0) {
        TuneIdentity id = {.compiler = TILEC_COMPILER_ID};
        return tune_resolve_main(argc - 1, argv + 1, &id);
    }
    int rc = parse_args(argc, argv, &o);
    if (rc != 0) {
        options_free(&o);
        return rc < 0 ? 0 : 1;
    }
    const char *term = getenv("TERM");
    bool color = o.color == 1 ||
                 (o.color == -1 && isatty(2) && term && strcmp(term, "dumb") != 0 && !getenv("NO_COLOR"));
    diag_init((DiagOptions){.out = stderr,
                            .color = color,
                            .error_limit = o.error_limit,
                            .werror = o.werror,
                            .remarks = o.remarks});
    rc = compile(&o);
    options_free(&o);
    return rc;
}
