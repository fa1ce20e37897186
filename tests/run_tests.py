#!/usr/bin/env python3
"""run_tests.py: everything `make test` runs, ending with one closing line.

  1. the host test binary (build/host/ktest, ASan + UBSan): every test;
  2. the kernel under QEMU (TCG, -cpu max): every test in one boot, then
     one boot per test that must panic (`ktest_panic=<name>`), checking the
     kernel's verdict and, independently, the fragments in its report;
     that boot and the host run print no line that looks like an error
     outside KTAP diagnostics (but those tests/boot-log-allow names);
  3. self-tests of the runner, on the host and in the kernel: the suite
     ktest_selftest fails on purpose, and each failure must be reported
     `not ok` with the values compared;
  4. the boot checks: a CPU without long mode (-cpu qemu32) and a wrong
     multiboot2 magic (set through gdb) each stop with their message;
  5. gdb: QEMU started stopped, a hardware breakpoint at kmain, and gdb
     must stop there in 64-bit mode with a backtrace.
  6. every test again on other machines (tests/matrix.py): SUBSET of the
     boot matrix (BIOS and UEFI, 16 MiB to 64 GiB, 1 and 4 CPUs, qemu64),
     or all of it with --matrix full; and at the other smallest memories
     the kernel accepts (-m 20M; mem=16M on the command line);
  7. ktest= matching no test, in the kernel and on the host: a line says
     so, and the exit status is neither the passing nor the failing one.

Closing line: `N passed, N failed, N skipped`; exit status 1 on any
failure. Serial logs of every boot are kept under build/test-logs/.
"""
import argparse
import concurrent.futures
import contextlib
import glob
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import docs_test  # noqa: E402
import fuzz_test  # noqa: E402
import layout_test  # noqa: E402
import matrix  # noqa: E402
import idle_test  # noqa: E402
import smp_test  # noqa: E402
import stress  # noqa: E402
from gdb_helpers_test import gdb_helpers_checks  # noqa: E402
from monitor_test import monitor_checks, monitor_state_checks, \
    monitor_fill_base_checks, monitor_base_in_pieces_checks, \
    monitor_jumbo_checks  # noqa: E402

ROOT = qemu.ROOT
HOST_TEST = os.path.join(ROOT, "build", "host", "ktest")
LOGS = os.path.join(ROOT, "build", "test-logs")
BOOT_TIMEOUT = 120
# kmem_debug=check runs every checker after every operation: about 60 s
# alone on 2 cores, twice that beside the other boots
CHECK_BOOT_TIMEOUT = 360
PANIC_BOOT_TIMEOUT = 60
PANIC_SKIP = "panics: runs in its own boot"
# The runner skips the suite ktest_selftest in an ordinary run; the self-test
# runs count those tests, so the skips are not counted again.
SELFTEST_SKIP = "fails on purpose: run by the ktest self-test"

RESULT_RE = re.compile(r"^(\s*)(ok|not ok) (\d+) (\S+)(?: # (\w+)\s*(.*))?$")
CLOSING_RE = re.compile(r"^ktest: (\d+) passed, (\d+) failed, (\d+) skipped$",
                        re.M)

# What each test of the suite ktest_selftest must show when it fails:
# fragments its diagnostics must hold, and fragments they must not.
SELFTEST_EXPECT = {
    "ktest_selftest.expect_eq_fails": (
        ["expected answer == 42, but answer = 41 (0x29)"], ["42 = 42"]),
    "ktest_selftest.expect_names_macros_and_pointers": (
        ["expected flags == MEM_WAIT, but flags = 2 (0x2), MEM_WAIT = 1 (0x1)",
         "expected p == NULL, but p = 0x"], ["(1 << 0)", "== ((void *)0)"]),
    "ktest_selftest.assert_stops_the_test": (
        ["expected 1 + 1 == 3, but 1 + 1 = 2 (0x2)"],
        ["reached after a failed assert", "3 = 3"]),
    "ktest_selftest.streq_fails": (
        ['expected "apple" == "apricot", but they differ'],
        ['"apple" = "apple"']),
    "ktest_selftest.panic_wrong_message": (
        ["lacks 'a fragment the panic does not contain'"], []),
    "ktest_selftest.panic_never_happens": (
        ["returned without panicking"], []),
}


class Check:
    """One counted result of the harness."""

    def __init__(self, name, status, reason="", details=""):
        self.name, self.status = name, status
        self.reason, self.details = reason, details


class Ktap:
    """The test results in one KTAP output."""

    def __init__(self, output):
        self.results = []          # (name, status, reason, diagnostics)
        self.plan = False
        self.closing = None
        diagnostics = []
        for line in output.splitlines():
            if re.match(r"^1\.\.\d+$", line):
                self.plan = True
            m = RESULT_RE.match(line)
            if m and "." in m.group(4):
                status = "fail" if m.group(2) == "not ok" else "pass"
                if m.group(5) == "SKIP":
                    status = "skip"
                self.results.append((m.group(4), status, m.group(6) or "",
                                     "\n".join(diagnostics)))
                diagnostics = []
            elif m:
                diagnostics = []   # a suite's line
            elif line.strip().startswith("#"):
                diagnostics.append(line.strip())
        m = CLOSING_RE.findall(output)
        if m:
            self.closing = tuple(int(x) for x in m[-1])

    def counts(self):
        return tuple(sum(1 for r in self.results if r[1] == s)
                     for s in ("pass", "fail", "skip"))

    def sound(self):
        """Why this output cannot be trusted, or None."""
        if not self.plan:
            return "no KTAP plan line: the test runner never started"
        if self.closing is None:
            return "no 'ktest:' closing line: the run stopped early"
        if self.closing != self.counts():
            return "closing line %s disagrees with the results %s" % (
                self.closing, self.counts())
        return None


def tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


def unit_results(where, ktap, output, collect_panics=None):
    """Checks for each test result in a run; panic skips are collected,
    each with the words its own boot needs (`... boot with kmem_debug=x`)."""
    checks = []
    for name, status, reason, diag in ktap.results:
        if status == "skip" and reason.startswith(PANIC_SKIP):
            if collect_panics is not None:
                collect_panics.append(
                    (name, reason[len(PANIC_SKIP):].replace(" with ", "", 1)))
            continue
        if status == "skip" and reason == SELFTEST_SKIP:
            continue
        checks.append(Check("%s %s" % (where, name), status,
                            reason if status == "skip" else "", diag))
    problem = ktap.sound()
    if problem:
        checks.append(Check("%s run" % where, "fail", problem, tail(output)))
    return checks


def run_host(args, modes=None):
    """The host test binary, with KMEM_DEBUG=modes, or without it."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0")
    env.pop("KMEM_DEBUG", None)
    if modes:
        env["KMEM_DEBUG"] = modes
    try:
        r = subprocess.run([HOST_TEST] + args, capture_output=True, text=True,
                           timeout=600, env=env)
    except subprocess.TimeoutExpired:
        return None, "timed out after 600 s"
    return r, None


def host_tests(modes=None):
    """Every test on the host; with modes, under KMEM_DEBUG=modes."""
    where = "host kmem_debug=%s" % modes if modes else "host"
    r, problem = run_host([], modes)
    if problem:
        return [Check(where + " run", "fail", problem)]
    ktap = Ktap(r.stdout)
    checks = unit_results(where, ktap, r.stdout + r.stderr)
    if not modes:
        checks += boot_log_checks(where + " output", r.stdout + r.stderr)
    if modes and ("kmem_debug: %s (" % modes) not in r.stdout:
        checks.append(Check(where + ": boot line", "fail",
                            "no line 'kmem_debug: %s (...)'" % modes,
                            tail(r.stdout)))
    failed = any(c.status == "fail" for c in checks)
    if (r.returncode != 0) != failed:
        checks.append(Check("host exit status", "fail",
                            "exit status %d does not match the results" %
                            r.returncode, tail(r.stderr)))
    return checks


def selftest_checks(where, ktap, output, names):
    """The self-tests named must fail, each as it is meant to."""
    checks = []
    seen = {name: (status, diag) for name, status, _, diag in ktap.results}
    for name in names:
        present, absent = SELFTEST_EXPECT[name]
        if name not in seen:
            checks.append(Check("%s selftest %s" % (where, name), "fail",
                                "did not run"))
            continue
        status, diag = seen[name]
        text = diag + "\n" + output if status == "fail" else diag
        missing = [f for f in present if f not in text]
        wrong = [f for f in absent if f in diag]
        if status != "fail":
            reason = "expected 'not ok', got %s" % status
        elif missing or wrong:
            reason = "report lacks %s / holds %s" % (missing, wrong)
        else:
            reason = ""
        checks.append(Check("%s selftest %s" % (where, name),
                            "fail" if reason else "pass", reason, diag))
    return checks


def host_selftest():
    r, problem = run_host(["ktest_selftest", "ktest=ktest_selftest.*"])
    if problem:
        return [Check("host selftest", "fail", problem)]
    checks = selftest_checks("host", Ktap(r.stdout), r.stdout,
                             SELFTEST_EXPECT)
    if r.returncode == 0:
        checks.append(Check("host selftest run", "fail",
                            "exit status 0 although tests failed",
                            tail(r.stdout)))
    return checks


def log_name(cmdline):
    return os.path.join(LOGS, re.sub(r"[^\w.=-]+", "_", cmdline or "all") + ".log")


def kernel_tests(opts, panics):
    b = qemu.boot("", BOOT_TIMEOUT, kvm=opts.kvm, log=log_name(""))
    ktap = Ktap(b.output)
    checks = unit_results("kernel", ktap, b.output, panics)
    failed = any(c.status == "fail" for c in checks)
    expected = qemu.EXIT_FAILED if failed else qemu.EXIT_PASSED
    if b.timed_out or b.status != expected:
        checks.append(Check("kernel boot", "fail", b.meaning(), tail(b.output)))
    return checks + boot_log_checks("kernel boot log", b.output)


# An ordinary run prints nothing that looks like an error outside KTAP
# diagnostics (what a test prints on purpose is one, `# ` under the test);
# tests/boot-log-allow names the exceptions, each with its reason.
BOOT_LOG_ALLOW = os.path.join(ROOT, "tests", "boot-log-allow")
ERROR_LOOKING_RE = re.compile(
    r"error|panic|fail|bad|unknown|ignored|wrong|corrupt", re.I)


def boot_log_allow(path=BOOT_LOG_ALLOW):
    """The allow-list: [(regex, reason)]; lines `<regex> -- <reason>`,
    `#` comments. A line without a reason is itself a problem."""
    allow, problems = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            pattern, sep, reason = line.partition(" -- ")
            if not sep or not reason.strip():
                problems.append("%s:%d: no ' -- <reason>'" % (path, number))
                continue
            try:
                allow.append((re.compile(pattern), reason.strip()))
            except re.error as e:
                problems.append("%s:%d: %s" % (path, number, e))
    return allow, problems


def error_looking_lines(output, allow):
    """Lines of a run that look like errors: not KTAP (version, plan,
    result, `#` diagnostic, the closing line) and not allowed."""
    lines = []
    for line in output.splitlines():
        text = line.strip()
        if (not text or text.startswith("#") or text == "KTAP version 1" or
                re.match(r"^1\.\.\d+$", text) or RESULT_RE.match(line) or
                CLOSING_RE.match(line)):
            continue
        if ERROR_LOOKING_RE.search(line) and not any(
                r.search(line) for r, _ in allow):
            lines.append(line)
    return lines


def boot_log_checks(where, output):
    """The check that a run's output has no error-looking line."""
    allow, problems = boot_log_allow()
    problems += ["not a diagnostic, not allowed: %r" % line
                 for line in error_looking_lines(output, allow)]
    return [Check("%s: no error-looking line outside KTAP diagnostics" % where,
                  "fail" if problems else "pass",
                  "%d problem(s)" % len(problems) if problems else "",
                  "\n".join(problems[:40]))]


def boot_log_selftest():
    """The check of error-looking lines catches one in a synthetic run
    and lets diagnostics, results and the allowed lines through."""
    allow, _ = boot_log_allow()
    clean = "\n".join([
        "kmem: a teaching kernel memory subsystem",
        "arena             quantum         in use          total    allocs"
        "     frees  fails imports segments  source",
        "KTAP version 1", "1..1", "    KTAP version 1",
        "    # Subtest: memmap", "    1..2",
        "    # mem=0: below the 16M the kernel needs; ignored",
        "    ok 1 memmap.bad_mem_values",
        "    ok 2 arena.free_wrong_size # SKIP panics: runs in its own boot",
        "ok 1 memmap", "ktest: 1 passed, 0 failed, 1 skipped"])
    bad = "mem=0: below the 16M the kernel needs; ignored"
    dirty = clean.replace("    # " + bad, bad)
    found_clean = error_looking_lines(clean, allow)
    found_dirty = error_looking_lines(dirty, allow)
    ok = not found_clean and found_dirty == [bad]
    return [Check("boot log check: catches an error-looking line outside "
                  "the diagnostics, passes the rest", "pass" if ok else "fail",
                  "" if ok else "clean run: %r; with the line: %r" % (
                      found_clean, found_dirty))]


# The whole suite again with the debug modes on (tests that need a mode
# run then; a few skip themselves, saying why).
DEBUG_MODES = ["redzone,poison,audit", "check", "magazines"]


def kernel_debug_tests(opts, modes):
    """Every test in one boot with kmem_debug=modes; the boot says so."""
    where = "kernel kmem_debug=%s" % modes
    b = qemu.boot("kmem_debug=" + modes,
                  CHECK_BOOT_TIMEOUT if "check" in modes else BOOT_TIMEOUT,
                  kvm=opts.kvm, log=log_name("kmem_debug=" + modes))
    ktap = Ktap(b.output)
    checks = unit_results(where, ktap, b.output, [])
    failed = any(c.status == "fail" for c in checks)
    expected = qemu.EXIT_FAILED if failed else qemu.EXIT_PASSED
    if b.timed_out or b.status != expected:
        checks.append(Check(where + " boot", "fail", b.meaning(), tail(b.output)))
    if ("kmem_debug: %s (" % modes) not in b.output:
        checks.append(Check(where + ": boot line", "fail",
                            "no line 'kmem_debug: %s (...)'" % modes,
                            tail(b.output)))
    print("%s: %.1f s" % (where, b.seconds), flush=True)
    return checks


MEMORY_OPTIONS = "mem=64M memreserve=16M@0x2000000 memreserve=1M mem=3X"


def memory_options_boot(opts):
    """mem= and memreserve= on a real boot: the usable table obeys them,
    bad values are reported and ignored, and the memory suites pass."""
    where = "kernel " + MEMORY_OPTIONS
    b = qemu.boot("ktest=pmem.*,arena.*,kmalloc.* " + MEMORY_OPTIONS,
                  BOOT_TIMEOUT, mem="512M", kvm=opts.kvm,
                  log=log_name("memory-options"))
    table = b.output[b.output.find("usable memory ("):]
    table = table[:table.find("usable total")]
    ranges = [(int(base, 16), int(end, 16)) for base, end in re.findall(
        r"^  0x([0-9a-f]{16}) 0x([0-9a-f]{16}) 0x", table, re.M)]
    problems = []
    if not ranges:
        problems.append("no usable table")
    for base, end in ranges:
        if end > 64 << 20:
            problems.append("0x%x-0x%x lies above mem=64M" % (base, end))
        if base < 48 << 20 and end > 32 << 20:
            problems.append("0x%x-0x%x overlaps memreserve" % (base, end))
    for line in ("memreserve=1M: expected <size>@<addr>; ignored",
                 "mem=3X: bad size", "mem=: no RAM used at or above 0x4000000",
                 "memreserve: 0x2000000-0x2ffffff left alone"):
        if line not in b.output:
            problems.append("no line %r" % line)
    ktap = Ktap(b.output)
    checks = unit_results(where, ktap, b.output, [])
    if b.timed_out or b.status != qemu.EXIT_PASSED:
        problems.append(b.meaning())
    checks.append(Check(where + ": usable table", "fail" if problems else "pass",
                        "; ".join(problems), tail(b.output)))
    return checks


def usable_ranges(output):
    """The (base, end) pairs of the boot's usable-memory table."""
    table = output[output.find("usable memory ("):]
    table = table[:table.find("usable total")]
    return [(int(base, 16), int(end, 16)) for base, end in re.findall(
        r"^  0x([0-9a-f]{16}) 0x([0-9a-f]{16}) 0x", table, re.M)]


# The kernel keeps BOOTINFO_MAX_CMDLINE - 1 characters of its command line.
CMDLINE_KEEP = 4095


def long_cmdline():
    """A command line of about 4,200 characters: a memreserve= past
    character 1,023 (once cut there), padding words, and a memreserve=
    that the 4,095-character limit cuts after "@0x40", which must be
    ignored whole."""
    words = ["ktest=pmem.*,kmalloc.*"]
    words += ["pad%02d=%s" % (i, "x" * 93) for i in range(11)]
    words.append("memreserve=16M@0x2000000")
    line = " ".join(words)
    while len(line) < CMDLINE_KEEP - 100:
        line += " pad=" + "y" * 95
    cut = "memreserve=16M@0x4000000"
    # the limit falls 19 characters into cut: "memreserve=16M@0x40"
    line += " " + "z" * (CMDLINE_KEEP - 19 - len(line) - 2) + " " + cut
    assert line.index(cut) == CMDLINE_KEEP - 19
    return line + " ktest=arena.*"


def long_cmdline_boot(opts):
    """A long command line: the memreserve= past 1,023 characters holds;
    the one the limit cuts is ignored whole, and the boot says so."""
    line = long_cmdline()
    where = "kernel %d-character command line" % len(line)
    b = qemu.boot(line, BOOT_TIMEOUT, mem="512M", kvm=opts.kvm,
                  log=os.path.join(LOGS, "long-cmdline.log"))
    problems = []
    ranges = usable_ranges(b.output)
    if not ranges:
        problems.append("no usable table")
    for base, end in ranges:
        if base < 48 << 20 and end > 32 << 20:
            problems.append("0x%x-0x%x overlaps memreserve=16M@0x2000000"
                            % (base, end))
    # the cut memreserve=16M@0x40 would have reserved from 0x40: 64 MiB
    # to 80 MiB is usable, and nothing but the first memreserve= applied
    if not any(base <= 64 << 20 and end >= 80 << 20 for base, end in ranges):
        problems.append("64-80 MiB is not usable: the cut memreserve= applied")
    for want in ("memreserve: 0x2000000-0x2ffffff left alone",
                 "command line: %d characters, more than the %d kept; "
                 "the %d from 'memreserve=16M@0x4000000 ktest=arena.*' on "
                 "are ignored" % (len(line), CMDLINE_KEEP,
                                  len(line) - (CMDLINE_KEEP - 20))):
        if want not in b.output:
            problems.append("no line %r" % want)
    if b.output.count("memreserve: ") != 1:
        problems.append("%d memreserve= applied, not 1" %
                        b.output.count("memreserve: "))
    ktap = Ktap(b.output)
    checks = unit_results(where, ktap, b.output, [])
    if any(r[0].startswith("arena.") for r in ktap.results):
        problems.append("ktest=arena.* after the limit was read")
    if b.timed_out or b.status != qemu.EXIT_PASSED:
        problems.append(b.meaning())
    checks.append(Check(where + ": memreserve kept, cut word ignored",
                        "fail" if problems else "pass",
                        "; ".join(problems), tail(b.output)))
    return checks


# A memreserve= that would leave the kernel too little, the -m to boot it
# with, and what the refusal must say.
TOO_BIG_RESERVES = [
    ("memreserve=1T@0", "128M", "would leave 0 KiB of usable memory, less "
     "than the 8 MiB the kernel needs; ignored"),
    # all RAM below 4 GiB, where the boot finds its page tables
    ("memreserve=4G@0", "6G", "would leave 0 KiB of usable memory below "
     "0x100000000 (where the boot finds its page tables), less than the "
     "8 MiB the kernel needs; ignored"),
]


def memreserve_too_big_boot(opts):
    """memreserve=1T@0 and memreserve=4G@0 once panicked ("no usable
    memory to map", "no usable range below 4 GiB"): refused with a line
    saying why; the boot goes on with all its RAM and its tests pass."""
    checks = []
    for word, mem, why in TOO_BIG_RESERVES:
        where = "kernel -m %s %s" % (mem, word)
        b = qemu.boot("ktest=pmem.*,arena.*,kmalloc.* " + word, BOOT_TIMEOUT,
                      mem=mem, kvm=opts.kvm,
                      log=os.path.join(LOGS, "too-big-%s.log" % mem))
        problems = []
        if "%s: %s" % (word, why) not in b.output:
            problems.append("no line %r" % ("%s: %s" % (word, why)))
        if "memreserve: " in b.output:
            problems.append(word + " applied")
        usable = sum(end - base for base, end in usable_ranges(b.output))
        if usable < (qemu.mem_mib(mem) << 20) * 3 // 4:
            problems.append("%d MiB usable of %s" % (usable >> 20, mem))
        ktap = Ktap(b.output)
        checks += unit_results(where, ktap, b.output, [])
        if b.timed_out or b.status != qemu.EXIT_PASSED:
            problems.append(b.meaning())
        checks.append(Check(where + ": refused, boots", "fail" if problems
                            else "pass", "; ".join(problems), tail(b.output)))
    return checks


def repeated_options_host():
    """Options given twice on the host binary: the last one counts, read
    whole (a kmem_debug= of 166 characters was cut at 127), and each
    repetition is said."""
    long_modes = "redzone," * 20 + "poison"
    r, problem = run_host(["ktest=nothing", "ktest=cmdline.*",
                           "kmem_debug=check", "kmem_debug=" + long_modes])
    if problem:
        return [Check("host repeated options", "fail", problem)]
    problems = []
    for want in ("ktest: given 2 times; the last one counts: ktest=cmdline.*",
                 "kmem_debug: given 2 times; the last one counts: "
                 "kmem_debug=redzone,",
                 "kmem_debug: redzone,poison ("):
        if want not in r.stdout:
            problems.append("no line %r" % want)
    if "unknown mode" in r.stdout:
        problems.append("a mode reported unknown")
    if r.returncode != 0 or "cmdline." not in r.stdout:
        problems.append("exit %d, or cmdline tests not run" % r.returncode)
    return [Check("host repeated options: the last counts, said, read whole",
                  "fail" if problems else "pass", "; ".join(problems),
                  tail(r.stdout))]


# The other smallest memories the kernel accepts besides the matrix's
# -m 16M row: (QEMU's -m, command line words, the RAM the kernel uses).
MINIMUM_MEMORY = [("20M", "", 20 << 20), ("512M", "mem=16M", 16 << 20)]


def minimum_memory_boot(opts, mem, words, ram):
    """Every test at a minimal memory: all pass, and a test skips only as
    the matrix allows below 4 GiB (naming the memory it lacks)."""
    where = "kernel -m %s%s" % (mem, " " + words if words else "")
    b = qemu.boot(words, BOOT_TIMEOUT, mem=mem, kvm=opts.kvm,
                  log=log_name("minimum-memory -m %s %s" % (mem, words)))
    ktap = Ktap(b.output)
    checks = unit_results(where, ktap, b.output, [])
    problems = matrix.skip_problems(ktap, ram, "%d MiB" % (ram >> 20))
    if b.timed_out or b.status != qemu.EXIT_PASSED:
        problems.insert(0, b.meaning())
    if not ktap.closing or ktap.closing[1] or \
            ktap.closing[0] < matrix.MIN_PASSED:
        problems.append("closing line %s: expected 0 failed, at least %d "
                        "passed" % (ktap.closing, matrix.MIN_PASSED))
    print("%s: %s, %.1f s" % (where, ktap.closing, b.seconds), flush=True)
    checks.append(Check(where + ": every test passes or skips naming memory",
                        "fail" if problems else "pass", "; ".join(problems),
                        tail(b.output)))
    return checks


NONE_RAN_GLOB = "nomatch.*"
NONE_RAN_LINE = "ktest: no test matches ktest=%s: nothing ran" % NONE_RAN_GLOB


def none_ran_problems(output, status, want_status):
    """Why a run of ktest=nomatch.* is not what it must be, or ''."""
    problems = []
    if NONE_RAN_LINE not in output:
        problems.append("no line %r" % NONE_RAN_LINE)
    if CLOSING_RE.search(output) or RESULT_RE.search(output):
        problems.append("test results or a closing line: something ran")
    if status != want_status:
        problems.append("exit status %s, expected %d" % (status, want_status))
    return "; ".join(problems)


def host_none_ran():
    """The host binary with a ktest= that matches no test."""
    r, problem = run_host(["ktest=" + NONE_RAN_GLOB])
    if problem:
        return [Check("host ktest=%s" % NONE_RAN_GLOB, "fail", problem)]
    problem = none_ran_problems(r.stdout, r.returncode,
                                qemu.HOST_EXIT_NONE_RAN)
    return [Check("host ktest=%s: says nothing matched, exits %d" %
                  (NONE_RAN_GLOB, qemu.HOST_EXIT_NONE_RAN),
                  "fail" if problem else "pass", problem, tail(r.stdout))]


def kernel_none_ran(opts):
    """A boot with a ktest= that matches no test."""
    cmdline = "ktest=" + NONE_RAN_GLOB
    b = qemu.boot(cmdline, 60, kvm=opts.kvm, log=log_name(cmdline))
    problem = "" if not b.timed_out else b.meaning()
    problem = problem or none_ran_problems(b.output, b.status,
                                           qemu.EXIT_NONE_RAN)
    return [Check("kernel ktest=%s: says nothing matched, QEMU exits %d" %
                  (NONE_RAN_GLOB, qemu.EXIT_NONE_RAN),
                  "fail" if problem else "pass", problem, tail(b.output))]


def panic_boot(opts, name, selftest=False, words=""):
    """Boot once for a test that must panic; check verdict and report.
    words: what else its command line needs (kmem_debug=...)."""
    cmdline = "ktest_panic=%s%s%s" % (name, " ktest_selftest" if selftest else "",
                                      " " + words if words else "")
    b = qemu.boot(cmdline, PANIC_BOOT_TIMEOUT, kvm=opts.kvm,
                  log=log_name(cmdline))
    ktap = Ktap(b.output)
    if selftest:
        return selftest_checks("kernel", ktap, b.output, [name])
    m = re.search(r"^# ktest_panic: .* holding:(.*)$", b.output, re.M)
    fragments = re.findall(r"'([^']*)'", m.group(1)) if m else []
    report = b.output[b.output.find("panic: "):] if "panic: " in b.output else ""
    missing = [f for f in fragments if f not in report]
    verdict = [r for r in ktap.results if r[0] == name]
    if b.timed_out or b.status != qemu.EXIT_PASSED:
        reason = b.meaning()
    elif not fragments or not report:
        reason = "no expected fragments or no panic report in the output"
    elif missing:
        reason = "the panic report lacks %s" % missing
    elif not verdict or verdict[0][1] != "pass":
        reason = "the kernel did not report 'ok 1 %s'" % name
    else:
        reason = ""
    return [Check("kernel %s (own boot)" % name, "fail" if reason else "pass",
                  reason, tail(b.output))]


def kernel_selftest(opts):
    cmdline = "ktest_selftest ktest=ktest_selftest.*"
    b = qemu.boot(cmdline, BOOT_TIMEOUT, kvm=opts.kvm, log=log_name(cmdline))
    ktap = Ktap(b.output)
    in_line = [n for n in SELFTEST_EXPECT if "panic" not in n]
    checks = selftest_checks("kernel", ktap, b.output, in_line)
    if b.status != qemu.EXIT_FAILED:
        checks.append(Check("kernel selftest boot", "fail", b.meaning(),
                            tail(b.output)))
    return checks


def boot_check_no_long_mode(opts):
    """A 32-bit CPU: boot.asm must say why it stops, and exit."""
    b = qemu.boot("", 60, cpu="qemu32", log=log_name("cpu-qemu32"))
    want = "boot: this CPU has no long mode"
    ok = b.status == qemu.EXIT_BOOT_CHECK and want in b.output
    return [Check("boot check: no long mode (-cpu qemu32)",
                  "pass" if ok else "fail",
                  "" if ok else "%s; output lacks '%s'" % (b.meaning(), want),
                  tail(b.output))]


def gdb_session(opts, commands, serial_log, timeout=90,
                cmdline="ktest=ktest.compare_mixed_signs"):
    """Boot QEMU stopped, run gdb in batch mode with commands against it."""
    port = qemu.free_port()
    iso = qemu.iso_for(cmdline)
    cmd = qemu.qemu_command(iso, kvm=False) + [
        "-serial", "file:" + serial_log, "-monitor", "none",
        "-gdb", "tcp:127.0.0.1:%d" % port, "-S"]
    os.makedirs(LOGS, exist_ok=True)
    q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gdb = ["gdb", "-batch", "-nx", os.path.join(ROOT, "build", "kernel.elf"),
           "-ex", "set tcp auto-retry on", "-ex", "set tcp connect-timeout 20",
           "-ex", "target remote 127.0.0.1:%d" % port]
    for c in commands:
        gdb += ["-ex", c]
    try:
        r = subprocess.run(gdb, capture_output=True, text=True,
                           timeout=timeout, cwd=ROOT)
        out = r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        out = "gdb timed out after %d s" % timeout
    try:
        q.wait(timeout=30)
    except subprocess.TimeoutExpired:
        q.kill()
        q.wait()
    with open(serial_log, errors="replace") as f:
        serial = f.read()
    return out, q.returncode, serial


PICTURES = ["map-instant.svg", "map-best.svg", "map-next.svg",
            "fragmentation.svg"]
FIGURES_RE = re.compile(
    r"policy (\w+): allocs (\d+), frees (\d+), failures (\d+), in use "
    r"(\d+), free (\d+), largest free (\d+), free segments (\d+), "
    r"allocated segments (\d+), spans (\d+)")


def pictures_checks(opts):
    """make pictures' program again, into build/pictures: the same bytes as
    docs/pictures, well-formed XML, and the figures each picture's <desc>
    gives are those the program printed, which it checked against the
    arena's own counters (and which add up: in use + free is the arena)."""
    out_dir = os.path.join(ROOT, "build", "pictures")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    r = subprocess.run([os.path.join(ROOT, "build", "host", "pictures"),
                        out_dir], capture_output=True, text=True, timeout=120)
    printed = {m.group(1): m.groups() for m in FIGURES_RE.finditer(r.stdout)}
    checks = [Check("pictures: the program runs and checks its figures "
                    "against the arena's (%d policies)" % len(printed),
                    "pass" if r.returncode == 0 and len(printed) == 3
                    else "fail", "exit %d" % r.returncode,
                    r.stdout + r.stderr)]
    for name in PICTURES:
        problems = []
        path = os.path.join(out_dir, name)
        try:
            with open(path, "rb") as f:
                made = f.read()
            with open(os.path.join(ROOT, "docs", "pictures", name), "rb") as f:
                kept = f.read()
        except OSError as e:
            checks.append(Check("pictures: %s" % name, "fail", str(e)))
            continue
        if made != kept:
            problems.append("differs from docs/pictures/%s (make pictures "
                            "renews it)" % name)
        try:
            root = ET.fromstring(made)
        except ET.ParseError as e:
            problems.append("not well-formed XML: %s" % e)
            root = None
        descs = [d.text or "" for d in root.iter(
            "{http://www.w3.org/2000/svg}desc")] if root is not None else []
        if not descs:
            problems.append("no <desc> with the figures")
        for d in descs:
            m = FIGURES_RE.search(d)
            if not m or printed.get(m.group(1)) != m.groups():
                problems.append("its figures %r are not the program's" % d)
                continue
            v = [int(x) for x in m.groups()[1:]]
            allocs, frees, in_use, free, segs = v[0], v[1], v[3], v[4], v[7]
            if in_use + free != 16 << 20 or allocs - frees != segs:
                problems.append("figures do not add up: %r" % d)
        checks.append(Check("pictures: %s: as in docs/pictures, well-formed, "
                            "its figures the arena's" % name,
                            "fail" if problems else "pass",
                            "; ".join(problems[:3])))
    return checks


# The lab make test checks both ways; --matrix full (.ci/run) checks all.
LAB_IN_MAKE_TEST = "instant-fit"
# The course promises at least this many labs.
LABS_AT_LEAST = 5


def lab_checks(opts):
    """Labs both ways (tools/labs.py check): full marks on this tree; in a
    scratch clone after lab-start, 0 points and every other test passing,
    host and kernel."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import labs
    names = labs.lab_names() if opts.matrix == "full" else [LAB_IN_MAKE_TEST]
    checks = []
    for name in names:
        r = subprocess.run([sys.executable, os.path.join(ROOT, "tools",
                                                         "labs.py"),
                            "check", name], capture_output=True, text=True,
                           timeout=1800, cwd=ROOT)
        lines = [l for l in r.stdout.splitlines()
                 if l.startswith("lab-check:")]
        checks.append(Check("lab %s both ways: %s" % (
            name, "; ".join(l.split(": ", 2)[-1] for l in lines[:3])),
            "pass" if r.returncode == 0 else "fail",
            "" if r.returncode == 0 else "see tools/labs.py check %s" % name,
            (r.stdout + r.stderr)[-4000:]))
    # make labs: one line a lab, its name first, its text in docs/labs
    r = subprocess.run(["make", "-s", "labs"], capture_output=True, text=True,
                       cwd=ROOT)
    listed = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    texts = [n for n in listed if os.path.isfile(
        os.path.join(ROOT, "docs", "labs", n, "README.md"))]
    everyone = labs.lab_names()
    ok = r.returncode == 0 and listed == everyone and texts == listed and \
        len(listed) >= LABS_AT_LEAST
    checks.append(Check("labs: make labs lists %d labs (at least %d), each "
                        "with its text in docs/labs: %s" % (
                            len(listed), LABS_AT_LEAST, " ".join(listed)),
                        "pass" if ok else "fail",
                        "" if ok else "lab.json folders: %s" % everyone,
                        r.stdout + r.stderr))
    return checks


def gdb_kmain(opts):
    out, _, _ = gdb_session(opts, [
        "hbreak kmain", "continue", "backtrace", "info registers rip",
        "show architecture", "print sizeof(void *)", "kill"],
        os.path.join(LOGS, "gdb-kmain.serial"))
    with open(os.path.join(LOGS, "gdb-kmain.log"), "w") as f:
        f.write(out)
    wants = [(r"Breakpoint 1, kmain \(", "stopped at the breakpoint in kmain"),
             (r"^#0\s+kmain \(", "backtrace frame #0 is kmain"),
             (r"^#1\s+.*arch_start64", "backtrace frame #1 is arch_start64"),
             (r"rip\s+0xffffffff8", "rip is in the -2 GiB kernel image"),
             (r"currently \"i386:x86-64\"", "architecture is x86-64"),
             (r"^\$1 = 8$", "pointers are 8 bytes")]
    missing = [why for rx, why in wants if not re.search(rx, out, re.M)]
    return [Check("gdb: hardware breakpoint at kmain, 64-bit, backtrace",
                  "fail" if missing else "pass",
                  "missing: %s" % ", ".join(missing) if missing else "",
                  tail(out))]


def gdb_without_debug(opts):
    """`make gdb` with nothing on its port says so at once (gdb alone
    would wait out a 12-second time-out and blame hardware breakpoints)."""
    port = qemu.free_port()
    start = time.monotonic()
    r = subprocess.run(["make", "-C", ROOT, "gdb", "GDB_PORT=%d" % port],
                       capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    took = time.monotonic() - start
    want = "make gdb: nothing listens on port %d: start 'make debug'" % port
    # well under gdb's 12 s time-out; on an idle machine it takes 0.1 s
    ok = r.returncode != 0 and want in r.stdout and took < 8
    return [Check("gdb: make gdb without make debug says so (%.1f s)" % took,
                  "pass" if ok else "fail",
                  "" if ok else "exit %d" % r.returncode,
                  r.stdout[-1500:] + r.stderr[-1500:])]


def gdb_bad_magic(opts):
    """Enter the kernel with a wrong magic in eax: it must refuse."""
    serial_log = os.path.join(LOGS, "gdb-bad-magic.serial")
    out, status, serial = gdb_session(opts, [
        "hbreak _start", "continue", "set $eax = 0x12345678", "continue"],
        serial_log)
    want = "boot: not started by a multiboot2 loader"
    ok = status == qemu.EXIT_BOOT_CHECK and want in serial
    return [Check("boot check: wrong multiboot2 magic (set through gdb)",
                  "pass" if ok else "fail",
                  "" if ok else "QEMU status %s; serial lacks '%s'" % (status, want),
                  tail(out) + "\n" + tail(serial))]


def harness_catches(opts, name, timeout, want_status, want_reason):
    """A kernel that breaks on purpose must be reported as broken."""
    cmdline = "ktest_panic=ktest_selftest.%s ktest_selftest" % name
    b = qemu.boot(cmdline, timeout, kvm=opts.kvm, log=log_name(cmdline))
    ok = (b.status == want_status or (want_status is None and b.timed_out)) \
        and want_reason in b.meaning() and "ktest: 1 passed" not in b.output
    return [Check("harness reports %s as '%s'" % (name, want_reason),
                  "pass" if ok else "fail",
                  "" if ok else "got: " + b.meaning(), tail(b.output))]


def host_lib_no_libc_symbols(opts):
    """libkmem.a must define no symbol that libc defines."""
    lib = os.path.join(ROOT, "build", "host", "libkmem.a")
    libc = subprocess.run(["gcc", "-print-file-name=libc.so.6"],
                          capture_output=True, text=True).stdout.strip()
    ours = subprocess.run(["nm", "-g", "--defined-only", lib],
                          capture_output=True, text=True).stdout
    theirs = subprocess.run(["nm", "-D", "--defined-only", libc],
                            capture_output=True, text=True).stdout
    defined = {l.split()[-1] for l in ours.splitlines() if len(l.split()) == 3}
    libc_names = {l.split()[-1].split("@")[0] for l in theirs.splitlines()
                  if len(l.split()) == 3}
    clash = sorted(defined & libc_names)
    ok = len(defined) > 20 and len(libc_names) > 1000 and not clash
    return [Check("host lib: libkmem.a defines no libc symbol (%d symbols)"
                  % len(defined), "pass" if ok else "fail",
                  "" if ok else "clashes: %s" % clash[:10])]


def host_lib_programs(opts):
    """Programs over the library: threads (plain, and under ThreadSanitizer
    with 2, 4 and 8 workers, two copies at once), a misuse."""
    progs = os.path.join(ROOT, "build", "host", "progs")
    checks = []
    r = subprocess.run([os.path.join(progs, "threads")], capture_output=True,
                       text=True, timeout=300)
    ok = r.returncode == 0 and "all arenas sound" in r.stdout
    checks.append(Check("host lib: threads (%s)" % r.stdout.strip(),
                        "pass" if ok else "fail",
                        "" if ok else "exit %d" % r.returncode,
                        r.stderr[-3000:]))
    # 64 workers on this machine's 2 cores: a lock holder, or an owner a
    # visitor waits for, is often not running. Waiters give the core away
    # after a few spins (arch_spin_wait); with spinning alone this took 40
    # times as long. The time limit only catches a collapse or a hang.
    try:
        r = subprocess.run([os.path.join(progs, "threads"), "64"],
                           capture_output=True, text=True, timeout=120)
        ok = r.returncode == 0 and "everything back, all arenas sound" in \
            r.stdout
        why = "" if ok else "exit %d" % r.returncode
    except subprocess.TimeoutExpired:
        ok, why = False, "did not finish in 120 s"
        r = subprocess.CompletedProcess([], -1, "", "")
    checks.append(Check("host lib: threads 64, more threads than cores (%s)"
                        % r.stdout.strip(), "pass" if ok else "fail", why,
                        r.stderr[-3000:]))
    # each worker count twice, in pairs: load changes the timing a race
    # needs (make stress does this 200 times)
    runs, bad, reasons = stress.stress(6, 2, log=lambda line: None)
    checks.append(Check("host lib: threads-tsan, %d runs of 2, 4 and 8 "
                        "workers two at a time, a third under "
                        "kmem_debug=magazines: %d with a report" % (runs, bad),
                        "fail" if bad else "pass",
                        "see build/stress/" if bad else "",
                        "\n".join(reasons)))
    r = subprocess.run([os.path.join(progs, "double_free")],
                       capture_output=True, text=True, timeout=60)
    first = r.stderr.splitlines()[0] if r.stderr else ""
    # one page is a size kpages' quantum caches serve: the cache's check
    ok = r.returncode == -6 and first.startswith(
        "panic: kmem_cache_free: double free (the object this CPU freed last): cache 'kpages_4096'")
    checks.append(Check("host lib: a double free prints 'panic:' on stderr and aborts",
                        "pass" if ok else "fail",
                        "" if ok else "exit %d, first stderr line %r" %
                        (r.returncode, first), r.stderr[-2000:]))
    return checks


# Changes to include/kmem_host.h that arch/host/kmem_host_check.c must
# refuse: (what drifted, the text in kmem_host.h, what it becomes).
HEADER_DRIFTS = [
    ("a parameter's type", "void kfree(void *buf);",
     "void kfree(const void *buf);"),
    ("a size's type", "void *kmalloc(size_t size, int flags);",
     "void *kmalloc(unsigned int size, int flags);"),
    ("a parameter more", "void arena_xfree(struct arena *arena, void *addr, size_t size);",
     "void arena_xfree(struct arena *arena, void *addr, size_t size, int f);"),
    ("a return type", "int kmem_cache_check(struct kmem_cache *cp);",
     "long kmem_cache_check(struct kmem_cache *cp);"),
    ("a typedef", "typedef void (*arena_ffunc_t)(struct arena *source, void *addr, size_t size);",
     "typedef void (*arena_ffunc_t)(struct arena *source, void *addr, int size);"),
    ("an extern", "extern struct arena *base_arena, *kpages_arena;",
     "extern struct arena *base_arena;\nextern void *kpages_arena;"),
    ("a flag's value", "#define MEM_ATOMIC (1 << 1)", "#define MEM_ATOMIC (1 << 2)"),
    ("struct mem_range's field type", "\tuint64_t size;\n};", "\tuint32_t size;\n};"),
    ("struct mem_range's field name", "\tuint64_t size;\n};", "\tuint64_t len;\n};"),
]


def host_header_drift(opts):
    """include/kmem_host.h repeats the kernel's declarations; the host build
    compiles arch/host/kmem_host_check.c, which sees both. Prove it fails
    for each drift of HEADER_DRIFTS (and passes on the header as it is)."""
    with open(os.path.join(ROOT, "include", "kmem_host.h")) as f:
        header = f.read()
    cmd = ["gcc", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
           "-fsyntax-only"]
    includes = ["-Ikern/include", "-Ilib/include", "-Iarch/host/include",
                "-Iinclude"]
    checks = []
    with tempfile.TemporaryDirectory() as tmp:
        def compile_with(text):
            with open(os.path.join(tmp, "kmem_host.h"), "w") as f:
                f.write(text)
            return subprocess.run(cmd + ["-I" + tmp] + includes +
                                  ["arch/host/kmem_host_check.c"], cwd=ROOT,
                                  capture_output=True, text=True, timeout=60)
        r = compile_with(header)
        checks.append(Check("host lib: kmem_host.h agrees with the kernel's "
                            "headers (kmem_host_check.c)",
                            "pass" if r.returncode == 0 else "fail",
                            "" if r.returncode == 0 else "does not compile",
                            r.stderr[-3000:]))
        for what, old, new in HEADER_DRIFTS:
            name = "host lib: kmem_host.h drifting in %s fails the build" % what
            if header.count(old) != 1:
                checks.append(Check(name, "fail", "kmem_host.h holds %r %d "
                                    "times, not once" % (old, header.count(old))))
                continue
            r = compile_with(header.replace(old, new))
            ok = r.returncode != 0 and "error" in r.stderr
            checks.append(Check(name, "pass" if ok else "fail",
                                "" if ok else "compiled: the drift went unseen",
                                r.stderr[-2000:]))
        # the other way: each function it declares is in libkmem.a (the
        # unit sits apart from the changed copies, which it must not see)
        unit = os.path.join(tmp, "decls", "decls.c")
        os.mkdir(os.path.dirname(unit))
        with open(unit, "w") as f:
            f.write('#include "kmem_host.h"\n')
        aux = os.path.join(tmp, "decls.txt")
        subprocess.run(cmd + ["-aux-info", aux, "-Iinclude", unit], cwd=ROOT,
                       capture_output=True, timeout=60)
        with open(aux) as f:
            declared = {m.group(1) for m in
                        re.finditer(r"kmem_host\.h:\d+:\w+ \*/ extern .*?(\w+) \(",
                                    f.read())}
    lib = subprocess.run(["nm", "-g", "--defined-only",
                          os.path.join(ROOT, "build", "host", "libkmem.a")],
                         capture_output=True, text=True).stdout
    defined = {l.split()[-1] for l in lib.splitlines()
               if len(l.split()) == 3 and l.split()[1] == "T"}
    missing = sorted(declared - defined)
    ok = len(declared) > 25 and not missing
    checks.append(Check("host lib: every function kmem_host.h declares (%d) "
                        "is defined in libkmem.a" % len(declared),
                        "pass" if ok else "fail",
                        "" if ok else "missing: %s" % missing[:10]))
    return checks


FAST_PATHS = ("kmem_cache_alloc", "kmem_cache_free")
# (xchg %ax,%ax is a two-byte nop, padding)
LOCKED_RE = re.compile(r"\s(lock\b|xchg(?!\s+%ax,%ax$)|mfence|cmpxchg)")


def fast_path_instructions(opts):
    """The magazine fast paths in libkmem.a have no locked instruction and
    no fence (slab.c, theory statement 8), and the magazine-hit pair stays
    within 50 instructions (callgrind, bench's cache_pair)."""
    lib = os.path.join(ROOT, "build", "host", "libkmem.a")
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib],
                         capture_output=True, text=True).stdout
    checks = []
    for fn in FAST_PATHS:
        m = re.search(r"^[0-9a-f]+ <%s>:\n(.*?)\n\n" % fn, dis, re.S | re.M)
        body = m.group(1).splitlines() if m else []
        bad = [l.strip() for l in body if LOCKED_RE.search(l)]
        ok = len(body) >= 10 and not bad
        checks.append(Check("host lib: %s has no lock, xchg or mfence "
                            "(%d instructions)" % (fn, len(body)),
                            "pass" if ok else "fail",
                            "" if ok else ("not found" if not body else
                                           "found: %s" % bad[:3])))
    bench = os.path.join(ROOT, "build", "bench", "bench")
    out = os.path.join(ROOT, "build", "bench", "callgrind.test.cache_pair")
    count = 100000
    make = subprocess.run(["make", "-s", "-C", ROOT, "build/bench/bench"],
                          capture_output=True, text=True)
    r = subprocess.run(["valgrind", "--tool=callgrind",
                        "--callgrind-out-file=" + out, "--collect-atstart=no",
                        "--toggle-collect=bench_loop_*", bench, "--instr",
                        "cache_pair", str(count)], capture_output=True,
                       text=True, timeout=300)
    total = None
    if r.returncode == 0 and os.path.exists(out):
        with open(out) as f:
            m = re.search(r"^summary: (\d+)$", f.read(), re.M)
            total = int(m.group(1)) if m else None
    per_op = total / count if total else 0
    ok = make.returncode == 0 and total is not None and \
        10 <= round(per_op, 1) <= 50
    checks.append(Check("host lib: kmem_cache alloc+free, magazine hit: "
                        "%.1f instructions (at most 50)" % per_op,
                        "pass" if ok else "fail",
                        "" if ok else "exit %d" % r.returncode,
                        make.stderr + r.stderr[-2000:]))
    return checks


ASSERT_FAILURE = "spin_assert_failed"


def layer_objects(top, layer):
    """The objects of a layer's files in a build's kern/src: arena.o and
    arena_*.o, or slab.o and slab_*.o."""
    return sorted(glob.glob(os.path.join(top, layer + ".o")) +
                  glob.glob(os.path.join(top, layer + "_*.o")))


def build_top(build, root=ROOT):
    return os.path.join(root, "build", "kernel" if build == "kernel"
                        else os.path.join("host", build), "kern", "src")


def lock_assertions_built(opts):
    """The lock assertions (spinlock.h) are in the test builds' arena and
    slab objects, whose main files call their panic, and out of libkmem.a's,
    where no object does: KMEM_RELEASE compiles them to nothing."""
    builds = [("release", False), ("asan", True), ("tsan", True)]
    if not opts.host_only:
        builds.append(("kernel", True))
    checks = []
    for build, want in builds:
        top = build_top(build)
        objs = layer_objects(top, "arena") + layer_objects(top, "slab")
        calls, failed = {}, ""
        for o in objs:
            r = subprocess.run(["nm", "-u", o], capture_output=True,
                               text=True)
            failed += r.stderr
            calls[os.path.basename(o)] = r.returncode == 0 and re.search(
                r"\bU %s$" % ASSERT_FAILURE, r.stdout, re.M) is not None
        if want:  # the main files hold the *_locked helpers of the hot paths
            ok = calls.get("arena.o") and calls.get("slab.o")
        else:
            ok = len(calls) >= 2 and not any(calls.values())
        ok = ok and not failed
        checks.append(Check("build: %s arena and slab objects (%d) %s %s "
                            "(lock assertions %s)" % (
                                build, len(objs),
                                "call" if want else "never call",
                                ASSERT_FAILURE, "on" if want else "off"),
                            "pass" if ok else "fail",
                            "" if ok else "calls: %s" % calls,
                            failed[-2000:]))
    return checks


# The paper's one upward call between the layers (arena.c's theory
# statement, FAQ): arena_alloc/arena_free into the quantum caches, which
# arena_create/arena_destroy make and unmake.
ARENA_SLAB_CALLS = ("kmem_cache_alloc", "kmem_cache_free",
                    "kmem_cache_create_sourced", "kmem_cache_destroy")


def nm_names(args, path):
    """The symbol names nm prints with args for path, or None on failure."""
    r = subprocess.run(["nm"] + args + [path], capture_output=True,
                       text=True)
    if r.returncode:
        return None
    return {l.split()[-1] for l in r.stdout.splitlines() if l.split()}


def layer_symbols(objs, args):
    """The union of nm's names over objs, or None if nm failed on one."""
    out = set()
    for o in objs:
        names = nm_names(args, o)
        if names is None:
            return None
        out |= names
    return out


def arena_public_names(root=ROOT):
    """The functions and variables kern/include/arena.h declares."""
    with open(os.path.join(root, "kern", "include", "arena.h")) as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    names = set(re.findall(r"\b(\w+)\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*;",
                           text))
    names |= set(re.findall(r"^extern\s+[^;]*?\b(\w+)\s*;", text, re.M))
    for decl in re.findall(r"^extern\s+([^;]*);", text, re.M):
        names |= set(re.findall(r"\*\s*(\w+)", decl))
    return names


def layer_direction(opts, root=ROOT):
    """Calls go down between the layers. The arena objects name no global
    the slab objects define (so the list cannot go stale) but the quantum
    caches' ARENA_SLAB_CALLS; the slab objects name no arena global that
    arena.h does not declare."""
    builds = ["release", "asan"] + ([] if opts.host_only else ["kernel"])
    public = arena_public_names(root)
    checks = []
    for build in builds:
        top = build_top(build, root)
        arena_objs = layer_objects(top, "arena")
        slab_objs = layer_objects(top, "slab")
        arena_u = layer_symbols(arena_objs, ["-u"])
        arena_def = layer_symbols(arena_objs, ["-g", "--defined-only"])
        slab_u = layer_symbols(slab_objs, ["-u"])
        slab_def = layer_symbols(slab_objs, ["-g", "--defined-only"])
        if None in (arena_u, arena_def, slab_u, slab_def) or \
                not arena_def or not slab_def:
            checks.append(Check("layers: %s arena objects call the slab "
                                "objects only for the quantum caches" % build,
                                "fail", "nm failed in %s" % top))
            continue
        used = arena_u & slab_def
        extra = sorted(used - set(ARENA_SLAB_CALLS))
        ok = not extra and "kmem_cache_alloc" in used
        checks.append(Check("layers: %s arena objects (%d) call the slab "
                            "objects only for the quantum caches (%s)" % (
                                build, len(arena_objs),
                                ", ".join(sorted(used))),
                            "pass" if ok else "fail",
                            "" if ok else "the arena objects also name: %s" %
                            ", ".join(extra)))
        down = slab_u & arena_def
        private = sorted(down - public)
        ok = not private and "arena_alloc" in public and bool(down)
        checks.append(Check("layers: %s slab objects (%d) use the arena "
                            "layer only through arena.h (%s)" % (
                                build, len(slab_objs), ", ".join(sorted(down))),
                            "pass" if ok else "fail",
                            "" if ok else "not in arena.h: %s" %
                            ", ".join(private)))
    return checks


BUILT = ("build/kernel.elf", "build/host/ktest", "build/host/libkmem.a",
         "build/host/libkmem-asan.a", "build/host/libkmem-tsan.a")


def build_is_quiet(opts):
    """A second `make all` after make's own builds nothing: every stamp
    compares equal, no object is older than what it depends on."""
    def stamps():
        found = {}
        for top in ("build/kernel", "build/host"):
            for d, _, files in os.walk(os.path.join(ROOT, top)):
                for f in files:
                    path = os.path.join(d, f)
                    found[path] = os.stat(path).st_mtime_ns
        return found
    before = stamps()
    r = subprocess.run(["make", "-C", ROOT, "all"], capture_output=True,
                       text=True, timeout=600)
    changed = sorted(os.path.relpath(p, ROOT) for p, t in stamps().items()
                     if before.get(p) != t)
    commands = [l for l in r.stdout.splitlines()
                if re.match(r"^(gcc|cc|clang|ld|ar|nasm|rm|python3) ", l)]
    ok = r.returncode == 0 and len(before) > 100 and not changed and \
        not commands
    return [Check("build: a second make all rebuilds nothing (%d files)"
                  % len(before), "pass" if ok else "fail",
                  "" if ok else "exit %d, rewrote %s" % (r.returncode,
                                                        changed[:5]),
                  "\n".join(commands[:20]) + r.stderr)]


def deleted_test_leaves(opts):
    """A test file deleted from tests/kern is gone from the next kernel and
    host test binary: each link depends on its list of objects. Tried in a
    copy of the tree and its build (mtimes kept), so nothing is rebuilt
    but the links."""
    work = os.path.join(ROOT, "build", "buildcheck")
    subprocess.run(["rm", "-rf", work])
    os.makedirs(work)
    files = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True,
                           text=True).stdout.split()
    files = [f for f in files if os.path.exists(os.path.join(ROOT, f))]
    cp = subprocess.run(["cp", "-a", "--parents"] + files + [work], cwd=ROOT,
                        capture_output=True, text=True)
    os.makedirs(os.path.join(work, "build", "host"))
    for d in ("build/kernel", "build/kernel.elf", "build/host/asan",
              "build/host/ktest", "build/host/libkmem-asan.a",
              "build/host/flags", "build/host/objects"):
        if os.path.exists(os.path.join(ROOT, d)):
            subprocess.run(["cp", "-a", os.path.join(ROOT, d),
                            os.path.join(work, d)])

    doomed = os.path.join(work, "tests", "kern", "string.c")
    with open(doomed) as f:
        names = {"ktest_desc_%s_%s" % m for m in
                 re.findall(r"^KTEST\w*\((\w+), (\w+)", f.read(), re.M)}

    def has_string_tests():
        """Whether each binary holds every test of string.c (True), none
        (False), or some (None)."""
        found = []
        for binary in ("build/kernel.elf", "build/host/ktest"):
            nm = subprocess.run(["nm", os.path.join(work, binary)],
                                capture_output=True, text=True).stdout
            held = {l.split()[-1] for l in nm.splitlines()} & names
            found.append(True if held == names else
                         False if not held else None)
        return found
    before = has_string_tests()
    os.remove(doomed)
    r = subprocess.run(["make", "-C", work, "build/kernel.elf",
                        "build/host/ktest"], capture_output=True, text=True,
                       timeout=600)
    after = has_string_tests()
    ok = cp.returncode == 0 and r.returncode == 0 and len(names) >= 3 and \
        before == [True, True] and after == [False, False]
    return [Check("build: a deleted tests/kern file leaves the kernel and "
                  "the host test binary", "pass" if ok else "fail",
                  "" if ok else "string tests in (kernel, host) before %s, "
                  "after %s; make exit %d" % (before, after, r.returncode),
                  cp.stderr + r.stdout[-2000:] + r.stderr[-2000:])]


def readme_example(opts):
    """The README's library example compiles with host-cflags and runs."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    m = re.search(r"<!-- example: host-lib -->\n```c\n(.*?)```.*?# prints: (.*?)\n",
                  text, re.S)
    if not m:
        return [Check("host lib: README example", "fail",
                      "no example block in README.md")]
    work = os.path.join(ROOT, "build", "example")
    os.makedirs(work, exist_ok=True)
    src, exe = os.path.join(work, "example.c"), os.path.join(work, "example")
    with open(src, "w") as f:
        f.write(m.group(1))
    cflags = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT,
                             "host-cflags"],
                            capture_output=True, text=True).stdout.split()
    cc = subprocess.run(["cc"] + cflags + ["-Wall", "-Werror", src,
                        os.path.join(ROOT, "build", "host", "libkmem.a"),
                        "-lpthread", "-o", exe], capture_output=True, text=True)
    if cc.returncode:
        return [Check("host lib: README example", "fail", "does not compile",
                      cc.stderr)]
    run = subprocess.run([exe], capture_output=True, text=True, timeout=60)
    ok = run.returncode == 0 and run.stdout.strip() == m.group(2).strip()
    return [Check("host lib: README example prints '%s'" % m.group(2).strip(),
                  "pass" if ok else "fail",
                  "" if ok else "exit %d, printed %r" % (run.returncode,
                                                         run.stdout),
                  run.stderr)]


# Files left out of the check while they wait for make format (none now).
FORMAT_PENDING = []
FORMAT_ERROR_RE = re.compile(
    r"^(.+?):(\d+):\d+: error: code should be clang-formatted")


def clang_format_clean(opts):
    """clang-format (the root .clang-format) would change no tracked .c or
    .h but those FORMAT_PENDING names; and, as a self-test, it does
    complain about a copy of a file with one line broken on purpose."""
    def dry_run(paths, cwd=ROOT):
        """{path: [(line, text), ...]} of the lines clang-format would
        change, and the run itself."""
        r = subprocess.run(["clang-format", "--dry-run", "-Werror"] + paths,
                           cwd=cwd, capture_output=True, text=True)
        lines = r.stderr.splitlines()
        found = {}
        for i, line in enumerate(lines):
            m = FORMAT_ERROR_RE.match(line)
            if m:
                text = lines[i + 1] if i + 1 < len(lines) else ""
                at = found.setdefault(m.group(1), [])
                if not at or at[-1][0] != int(m.group(2)):
                    at.append((int(m.group(2)), text.strip()))
        return found, r
    try:
        version = subprocess.run(["clang-format", "--version"],
                                 capture_output=True, text=True).stdout
    except FileNotFoundError:
        return [Check("style: clang-format is clean", "fail",
                      "clang-format is missing: make deps installs it")]
    version = re.search(r"version (\d+)", version)
    name = "style: clang-format %s is clean on every tracked .c and .h" % (
        version.group(1) if version else "?")
    listed = subprocess.run(["git", "-C", ROOT, "ls-files", "*.c", "*.h"],
                            capture_output=True, text=True).stdout.split()
    if not listed:
        listed = [os.path.relpath(os.path.join(d, f), ROOT)
                  for d, dirs, files in os.walk(ROOT)
                  if not os.path.relpath(d, ROOT).startswith(("build", ".git"))
                  for f in files if f.endswith((".c", ".h"))]
    files = sorted(f for f in listed if f not in FORMAT_PENDING and
                   os.path.exists(os.path.join(ROOT, f)))
    found, r = dry_run(files)
    ok = len(files) > 50 and r.returncode == 0 and not found
    details = "\n".join("%s: %d line%s differ%s, from:\n%s" % (
        f, len(at), "s" if len(at) > 1 else "", "" if len(at) > 1 else "s",
        "\n".join("    %d: %s" % l for l in at[:3]))
        for f, at in sorted(found.items()))
    checks = [Check(name + " (%d files)" % len(files),
                    "pass" if ok else "fail",
        "" if ok else "%d files differ (make format fixes them): %s" % (
            len(found), ", ".join(sorted(found)[:8])),
        details or r.stderr[-2000:])]

    # the self-test: a copy beside the original (so the same .clang-format
    # decides) passes as it is and fails with one line's indent broken
    original = os.path.join("lib", "string.c")
    with open(os.path.join(ROOT, original)) as f:
        text = f.read().splitlines(True)
    broken = next(i for i, l in enumerate(text) if l.startswith("\treturn "))
    work = os.path.join(ROOT, "build", "format-check")
    os.makedirs(os.path.join(work, "lib"), exist_ok=True)
    problems = []
    # (clang-format names the line where the whitespace it would replace
    # starts: the broken line, or the end of the one before it)
    for label, lines, want in (("as it is", text, set()),
                               ("broken", text[:broken] +
                                ["   " + text[broken].lstrip("\t")] +
                                text[broken + 1:], {broken, broken + 1})):
        copy = os.path.join("build", "format-check", original)
        with open(os.path.join(ROOT, copy), "w") as f:
            f.writelines(lines)
        found, r = dry_run([copy])
        got = {l for l, _ in found.get(copy, [])}
        if bool(got) != bool(want) or not got <= want or \
                (r.returncode == 0) != (not want):
            problems.append("%s: exit %d, lines %s (want %s)" % (
                label, r.returncode, sorted(got), sorted(want)))
    checks.append(Check("style: the clang-format check catches a line "
                        "indented wrongly", "fail" if problems else "pass",
                        "; ".join(problems)))
    return checks


def coverage_tooling():
    """make coverage's counting (tests/coverage.py) on a fixed example,
    its refusal of bad exempt entries, and tests/coverage-exempt against
    the sources: no build, no run (make coverage itself is too slow)."""
    import coverage
    problems = coverage.self_test()
    return [Check("coverage: tests/coverage.py counts a fixed example, "
                  "reports bad exempt entries; tests/coverage-exempt names "
                  "only what exists", "fail" if problems else "pass",
                  "; ".join(problems)[:300], "\n".join(problems))]


def report(check, verbose):
    label = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}[check.status]
    if check.status != "fail" and not verbose:
        return
    line = "%s %s" % (label, check.name)
    if check.reason:
        line += ": " + check.reason
    print(line, flush=True)
    if check.status == "fail" and check.details:
        for d in check.details.splitlines():
            print("       | " + d)


def print_skips(checks, most=8):
    """The skips, one line for each reason, most frequent first."""
    reasons = {}
    for c in checks:
        if c.status == "skip":
            reasons[c.reason] = reasons.get(c.reason, 0) + 1
    ranked = sorted(reasons.items(), key=lambda r: (-r[1], r[0]))
    for reason, n in ranked[:most]:
        print("skipped %4d: %s" % (n, reason or "(no reason given)"))
    rest = sum(n for _, n in ranked[most:])
    if rest:
        print("skipped %4d: for %d other reasons (-v lists every check)"
              % (rest, len(ranked) - most))


def readme_output_account(opts):
    """README's account of make test's output is what print_skips and the
    closing line print: its examples are formatted here and compared."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    m = re.search(r"It prints each failure.*?one line per\s+reason.*?"
                  r"\(`(skipped +(\d+): ([^`]*))`.*?one line such as\s+"
                  r"`(\d+) passed, (\d+) failed, (\d+) skipped`", text, re.S)
    if not m:
        return [Check("docs: README tells what make test prints", "fail",
                      "no account of make test's output found in README.md")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_skips([Check("x", "skip", m.group(3))] * int(m.group(2)))
    ok = out.getvalue().strip() == m.group(1)
    return [Check("docs: README's examples of make test's skip and closing "
                  "lines are what it prints", "pass" if ok else "fail",
                  "" if ok else "README shows %r, make test prints %r" %
                  (m.group(1), out.getvalue().strip()))]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host-only", action="store_true")
    p.add_argument("--kvm", action="store_true")
    p.add_argument("--matrix", choices=["subset", "full"], default="subset",
                   help="the boot matrix's configurations to run")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="list passing checks too")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    opts = p.parse_args()

    start = time.monotonic()
    checks = []
    panics = []
    jobs = [host_tests, host_selftest, repeated_options_host, boot_log_selftest,
            lambda: host_lib_no_libc_symbols(opts),
            lambda: host_header_drift(opts),
            lambda: fuzz_test.fuzz_checks(Check),
            lambda: readme_example(opts), lambda: host_lib_programs(opts),
            lambda: fast_path_instructions(opts),
            lambda: pictures_checks(opts),
            lambda: clang_format_clean(opts),
            lambda: lock_assertions_built(opts),
            lambda: layer_direction(opts),
            lambda: layout_test.layout_checks(Check),
            lambda: matrix.judge_checks(Check), host_none_ran,
            coverage_tooling]
    if not opts.host_only:
        jobs += [lambda: kernel_tests(opts, panics),
                 lambda: kernel_selftest(opts)]
        jobs += [lambda c=c: matrix.config_checks(c, opts, Check)
                 for c in matrix.configs(opts.matrix)]
        jobs += [lambda: boot_check_no_long_mode(opts),
                 lambda: monitor_checks(opts),
                 lambda: monitor_state_checks(opts),
                 lambda: monitor_fill_base_checks(opts),
                 lambda: monitor_base_in_pieces_checks(opts),
                 lambda: monitor_jumbo_checks(opts),
                 lambda: gdb_kmain(opts),
                 lambda: gdb_bad_magic(opts),
                 lambda: gdb_without_debug(opts),
                 lambda: gdb_helpers_checks(opts),
                 lambda: lab_checks(opts),
                 lambda: harness_catches(opts, "triple_fault", 60, 0,
                                         "triple fault"),
                 lambda: harness_catches(opts, "hang", 8, None, "timed out"),
                 lambda: docs_test.docs_checks(Check),
                 lambda: readme_output_account(opts),
                 lambda: memory_options_boot(opts),
                 lambda: long_cmdline_boot(opts),
                 lambda: memreserve_too_big_boot(opts),
                 lambda: kernel_none_ran(opts)]
        jobs += [lambda m=m, w=w, r=r: minimum_memory_boot(opts, m, w, r)
                 for m, w, r in MINIMUM_MEMORY]
        jobs += [lambda m=m: kernel_debug_tests(opts, m) for m in DEBUG_MODES]
        jobs += smp_test.smp_jobs(opts, Check)
        jobs.append(lambda: idle_test.idle_checks(opts, Check))
    jobs += [lambda m=m: host_tests(m) for m in DEBUG_MODES]
    if not opts.host_only:
        # before anything else reads build/: it must not be rewritten
        for c in build_is_quiet(opts):
            report(c, opts.verbose)
            checks.append(c)
        jobs.append(lambda: deleted_test_leaves(opts))
    with concurrent.futures.ThreadPoolExecutor(opts.jobs) as pool:
        for result in pool.map(lambda job: job(), jobs):
            for c in result:
                report(c, opts.verbose)
            checks += result
        later = [lambda n=n, w=w: panic_boot(opts, n, words=w)
                 for n, w in panics]
        if not opts.host_only:
            later += [lambda n=n: panic_boot(opts, n, selftest=True)
                      for n in SELFTEST_EXPECT if "panic" in n]
        for result in pool.map(lambda job: job(), later):
            for c in result:
                report(c, opts.verbose)
            checks += result

    counts = {s: sum(1 for c in checks if c.status == s)
              for s in ("pass", "fail", "skip")}
    print_skips(checks)
    print("(%.0f s; logs in %s)" % (time.monotonic() - start,
                                    os.path.relpath(LOGS)))
    print("%d passed, %d failed, %d skipped" % (counts["pass"], counts["fail"],
                                               counts["skip"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
