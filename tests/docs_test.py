#!/usr/bin/env python3
"""docs_test.py: every command block the docs mark is run, and checked.

In docs/*.md, a fenced block a reader is meant to type is preceded by

    <!-- run: sh -->        (a shell block, run with bash from the repo root)
    <!-- run: gdb CMDLINE --> (gdb commands, typed into `make gdb` while
                              `make debug CMDLINE='CMDLINE'` waits)
    <!-- run: monitor CMDLINE --> (lines typed at the kmem> prompt of
                              `make run CMDLINE='CMDLINE'`)

where CMDLINE may begin with SMP=N: the machine then has N CPUs (make's
SMP=N).

and followed by any number of

    <!-- expect: FRAGMENT -->

each a piece of text the output must hold. Each kind is run by the
runner KINDS names for it, which does what the docs tell the reader to do.
"""
import os
import re
import subprocess
import time

import monitor_test
import qemu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
BLOCK_RE = re.compile(
    r"<!-- run: (\w+)(?: ([^\n]*?))? -->\s*\n```\w*\n(.*?)```\s*\n((?:<!-- expect: .*? -->\s*\n)*)",
    re.S)
EXPECT_RE = re.compile(r"<!-- expect: (.*?) -->")


def blocks():
    """(file, line, kind, argument, text, fragments) of every marked block."""
    for name in sorted(os.listdir(DOCS)):
        if not name.endswith(".md"):
            continue
        with open(os.path.join(DOCS, name)) as f:
            text = f.read()
        for m in BLOCK_RE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            yield (name, line, m.group(1), m.group(2) or "", m.group(3),
                   EXPECT_RE.findall(m.group(4)))


TYPED_FENCE_RE = re.compile(r"^```(sh|gdb|monitor)\s*$", re.M)


def unmarked_blocks(Check):
    """A block a reader types (```sh, ```gdb, ```monitor) must be marked and
    parsed; a marker must be parsed too. One failing Check per stray."""
    checks = []
    for name in sorted(os.listdir(DOCS)):
        if not name.endswith(".md"):
            continue
        with open(os.path.join(DOCS, name)) as f:
            text = f.read()
        parsed = {m.start(3) for m in BLOCK_RE.finditer(text)}
        for m in TYPED_FENCE_RE.finditer(text):
            if m.end() + 1 not in parsed:
                line = text.count("\n", 0, m.start()) + 1
                checks.append(Check("docs: %s:%d" % (name, line), "fail",
                                    "a ```%s block without a <!-- run: --> "
                                    "marker the docs test can parse"
                                    % m.group(1)))
        if text.count("<!-- run:") != len(parsed):
            checks.append(Check("docs: %s markers" % name, "fail",
                                "a <!-- run: --> marker the docs test "
                                "cannot parse"))
    return checks


def run_sh(arg, text, timeout=300):
    """Run a shell block; returns its output (stdout and stderr)."""
    r = subprocess.run(["bash", "-e", "-c", text], cwd=ROOT,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return r.stdout + r.stderr, r.returncode


def port_listening(port):
    """Whether some process listens on TCP port (without connecting)."""
    with open("/proc/net/tcp") as f:
        return any(line.split()[1].endswith(":%04X" % port) and
                   line.split()[3] == "0A" for line in f.readlines()[1:])


def split_smp(arg):
    """A marker's argument 'SMP=N rest' as (N, rest); (1, arg) without."""
    m = re.match(r"SMP=(\d+)\s*(.*)$", arg, re.S)
    return (int(m.group(1)), m.group(2)) if m else (1, arg)


def split_opt(arg):
    """A marker's argument 'KERNEL_OPT=-Og rest' as (['KERNEL_OPT=-Og'],
    rest); ([], arg) without."""
    m = re.match(r"(KERNEL_OPT=\S+)\s*(.*)$", arg, re.S)
    return ([m.group(1)], m.group(2)) if m else ([], arg)


def run_gdb(arg, text, timeout=120):
    """`make debug [KERNEL_OPT=x] SMP=n CMDLINE=cmdline`, then the block
    typed into `make gdb` (with the same KERNEL_OPT)."""
    opt, arg = split_opt(arg)
    smp, cmdline = split_smp(arg)
    port = qemu.free_port()
    debug = subprocess.Popen(
        ["make", "-s", "debug", "SMP=%d" % smp, "CMDLINE=" + cmdline,
         "GDB_PORT=%d" % port] + opt,
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        # a KERNEL_OPT kernel is built first, on a loaded machine
        deadline = time.monotonic() + (240 if opt else 60)
        while not port_listening(port):
            if debug.poll() is not None or time.monotonic() > deadline:
                return "make debug did not start: " + debug.stdout.read(), 1
            time.sleep(0.2)
        r = subprocess.run(["make", "-s", "gdb", "GDB_PORT=%d" % port] + opt,
                           cwd=ROOT, input=text + "kill\n",
                           capture_output=True, text=True, timeout=timeout)
        return r.stdout + r.stderr, r.returncode
    finally:
        try:
            debug.wait(timeout=20)
        except subprocess.TimeoutExpired:
            debug.kill()
            debug.wait()


def run_monitor(arg, text, boot_timeout=60, step_timeout=30):
    """Boot cmdline (which holds `monitor`) with SMP=n CPUs and type each
    line of the block at its prompt; returns the session as a terminal
    would show it."""
    class Opts:
        kvm = False

    smp, cmdline = split_smp(arg)
    session = monitor_test.Session(Opts(), cmdline, smp=smp)
    shown = []
    status = 0
    try:
        if session.until_prompt(boot_timeout) is None:
            return "no prompt after the boot:\n" + session.rest(), 1
        for line in text.splitlines():
            out = session.command(line, step_timeout)
            # the kernel echoes what is typed
            shown.append(monitor_test.PROMPT + (out or ""))
            if out is None and line.strip() != "exit":
                shown.append("(no prompt came back)")
                status = 1
                break
        else:
            if session.proc.poll() is None:
                session.command("exit", step_timeout)
    finally:
        if session.finish(20) is None:
            shown.append("(QEMU had to be killed)")
            status = 1
    shown.append(session.rest())
    return "".join(shown), status


KINDS = {"sh": run_sh, "gdb": run_gdb, "monitor": run_monitor}


def docs_checks(Check):
    """One Check per marked block: it ran, and its output holds each fragment."""
    checks = []
    for name, line, kind, arg, text, fragments in blocks():
        where = "docs: %s:%d (%s)" % (name, line, kind)
        runner = KINDS.get(kind)
        if not runner:
            checks.append(Check(where, "fail", "no runner for kind %r" % kind))
            continue
        try:
            out, status = runner(arg, text)
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
    checks += unmarked_blocks(Check)
    if not checks:
        checks.append(Check("docs: marked blocks", "fail",
                            "no <!-- run: --> blocks found in docs/"))
    return checks
