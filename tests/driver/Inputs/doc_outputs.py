#!/usr/bin/env python3
"""Every `$ tilec ...` transcript of docs/language.md (a ```text block whose first line is the
command) matches what tilec prints: the example files it names are the ```tile blocks that start
with `// NAME.tile`, written to WORKDIR; commands on stdlib/ files run from the repository root.
Prints one line per transcript and a summary.

    doc_outputs.py TILEC DOCS/language.md WORKDIR
"""
import difflib
import os
import re
import shlex
import subprocess
import sys


def main(tilec, doc, work):
    os.makedirs(work, exist_ok=True)
    tilec = os.path.abspath(tilec)
    root = os.path.dirname(os.path.dirname(os.path.abspath(doc)))
    text = open(doc, encoding="utf-8").read()
    checked = failed = 0
    for kind, body in re.findall(r"```(tile|text)\n(.*?)```", text, re.S):
        if kind == "tile":
            m = re.match(r"// (\S+\.tile)\n", body)
            if m:
                with open(os.path.join(work, m.group(1)), "w", encoding="utf-8") as f:
                    f.write(body)
            continue
        if not body.startswith("$ tilec "):
            continue
        command, _, expected = body.partition("\n")
        args = shlex.split(command[2:])
        cwd = root if any(a.startswith("stdlib/") for a in args) else work
        r = subprocess.run([tilec] + args[1:], cwd=cwd, capture_output=True, text=True)
        got = (r.stdout + r.stderr).strip().split("\n")
        checked += 1
        if got != expected.strip().split("\n"):
            failed += 1
            print(f"FAIL {command}")
            for line in difflib.unified_diff(expected.strip().split("\n"), got, "manual", "tilec", lineterm=""):
                print("  " + line)
    print(f"doc transcripts: {checked} checked, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
