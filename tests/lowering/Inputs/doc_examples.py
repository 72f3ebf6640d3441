#!/usr/bin/env python3
"""Every ```tile example of docs/language.md that `tilec check` accepts must also compile to an
object (`tilec FILE -o FILE.o`): the lowering covers the whole language. Examples that show an
error are expected to fail the check. Prints one line per example and a summary.

    doc_examples.py TILEC DOCS/language.md WORKDIR
"""
import os
import re
import subprocess
import sys


def main(tilec, doc, work):
    os.makedirs(work, exist_ok=True)
    text = open(doc, encoding="utf-8").read()
    blocks = re.findall(r"```tile\n(.*?)```", text, re.S)
    compiled = rejected = failed = 0
    for i, block in enumerate(blocks):
        path = os.path.join(work, f"example{i:02d}.tile")
        with open(path, "w", encoding="utf-8") as f:
            f.write(block)
        if subprocess.run([tilec, "check", path], capture_output=True).returncode != 0:
            rejected += 1
            continue
        r = subprocess.run([tilec, path, "-o", path[:-5] + ".o"], capture_output=True, text=True)
        if r.returncode == 0:
            compiled += 1
        else:
            failed += 1
            first = (r.stderr.strip().splitlines() or ["?"])[0]
            print(f"FAIL example {i}: {first}")
    print(f"doc examples: {compiled} compiled, {rejected} rejected by check, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
