#!/usr/bin/env python3
"""docs_test.py: every command block the docs mark is run, and checked.

In docs/*.md, a fenced block a reader is meant to type is preceded by

    <!-- run: sh -->        (a shell block, run with bash from the repo root)

and followed by any number of

    <!-- expect: FRAGMENT -->

each a piece of text the output must hold. Kinds other than sh (gdb,
monitor) are handed to the checker registered for them in KINDS.
"""
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
BLOCK_RE = re.compile(
    r"<!-- run: (\w+) -->\s*\n```\w*\n(.*?)```\s*\n((?:<!-- expect: .*? -->\s*\n)*)",
    re.S)
EXPECT_RE = re.compile(r"<!-- expect: (.*?) -->")


def blocks():
    """(file, line, kind, text, fragments) of every marked block."""
    for name in sorted(os.listdir(DOCS)):
        if not name.endswith(".md"):
            continue
        with open(os.path.join(DOCS, name)) as f:
            text = f.read()
        for m in BLOCK_RE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            yield (name, line, m.group(1), m.group(2),
                   EXPECT_RE.findall(m.group(3)))


def run_sh(text, timeout=300):
    """Run a shell block; returns its output (stdout and stderr)."""
    r = subprocess.run(["bash", "-e", "-c", text], cwd=ROOT,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return r.stdout + r.stderr, r.returncode


KINDS = {"sh": run_sh}


def docs_checks(Check):
    """One Check per marked block: it ran, and its output holds each fragment."""
    checks = []
    for name, line, kind, text, fragments in blocks():
        where = "docs: %s:%d (%s)" % (name, line, kind)
        runner = KINDS.get(kind)
        if not runner:
            checks.append(Check(where, "fail", "no runner for kind %r" % kind))
            continue
        try:
            out, status = runner(text)
        except subprocess.TimeoutExpired:
            checks.append(Check(where, "fail", "timed out"))
            continue
        missing = [f for f in fragments if f not in out]
        reason = ""
        if status != 0:
            reason = "exit status %d" % status
        elif missing:
            reason = "output lacks %s" % missing
        elif not fragments:
            reason = "the block shows no output to check (add <!-- expect: -->)"
        checks.append(Check(where, "fail" if reason else "pass", reason,
                            "\n".join(out.splitlines()[-30:])))
    if not checks:
        checks.append(Check("docs: marked blocks", "fail",
                            "no <!-- run: --> blocks found in docs/"))
    return checks
