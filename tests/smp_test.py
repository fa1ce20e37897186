#!/usr/bin/env python3
"""smp_test.py: the kernel on many CPUs, in make test.

Boots of the smp.* suite at -smp 4 under SeaBIOS and OVMF, and with the
debug modes; a boot where one CPU is made to stay silent
(smp_silent_cpu=2): it is named, left out, and the others run; the
options that limit the CPUs (maxcpus=, nosmp); and a fault on one CPU
while the others spin with interrupts off (one report, all stopped). Each boot must report the
CPUs it should have online ("smp: N CPUs online"), pass every test it
runs, and exit with the tests-passed status.

    smp_test.py            run them all, print each check
    smp_test.py --stress N boot ktest=smp.* at -smp 4 N times, two at a
                           time (make stress-smp); ends
                           "stress-smp: N boots, F failed"
"""
import argparse
import concurrent.futures
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

LOGS = os.path.join(qemu.ROOT, "build", "test-logs")
# a vCPU may wait for a host core while the other boots run
TIMEOUT = 240
# the tests of the smp suite that must run (and pass) in each boot
MIN_SMP_TESTS = 9
ONLINE_RE = re.compile(r"^smp: (\d+) CPUs? online", re.M)
CLOSING_RE = re.compile(r"^ktest: (\d+) passed, (\d+) failed, (\d+) skipped$",
                        re.M)


def tail(text, lines=30):
    return "\n".join(text.splitlines()[-lines:])


def online(output):
    """The number of CPUs the boot says are online, or None."""
    m = ONLINE_RE.search(output)
    return int(m.group(1)) if m else None


def boot_problems(b, want_online, min_passed, lines=()):
    """What is wrong with a boot: status, CPUs online, closing line,
    lines it must print."""
    problems = []
    if b.timed_out or b.status != qemu.EXIT_PASSED:
        problems.append(b.meaning())
    got = online(b.output)
    if got != want_online:
        problems.append("%s CPUs online, expected %d" % (got, want_online))
    m = CLOSING_RE.search(b.output)
    if not m:
        problems.append("no closing line")
    elif int(m.group(2)) or int(m.group(1)) < min_passed:
        problems.append("closing line: %s passed, %s failed (at least %d "
                        "must pass)" % (m.group(1), m.group(2), min_passed))
    for line in lines:
        if line not in b.output:
            problems.append("no line %r" % line)
    return problems


def smp_boot(opts, Check, name, cmdline, smp, want_online, uefi=False,
             min_passed=MIN_SMP_TESTS, lines=()):
    """One boot; one check."""
    where = "smp %s (-smp %d%s): %s" % (name, smp, ", UEFI" if uefi else "",
                                       cmdline)
    b = qemu.boot(cmdline, TIMEOUT, smp=smp, uefi=uefi,
                  kvm=getattr(opts, "kvm", False),
                  log=os.path.join(LOGS, "smp-%s.log" % name))
    problems = boot_problems(b, want_online, min_passed, lines)
    print("%s: %d CPUs, %.1f s" % (where, online(b.output) or 0, b.seconds),
          flush=True)
    return [Check(where, "fail" if problems else "pass", "; ".join(problems),
                  tail(b.output))]


def fault_boot(opts, Check):
    """A fault on the last of 4 CPUs while the others spin with
    interrupts off: one report, naming CPU 3, and the machine stops."""
    name = "smp.fault_on_one_cpu_stops_every_cpu"
    where = "smp fault on CPU 3 of 4: one report, every CPU stopped"
    b = qemu.boot("ktest_panic=" + name, TIMEOUT, smp=4,
                  kvm=getattr(opts, "kvm", False),
                  log=os.path.join(LOGS, "smp-fault.log"))
    problems = []
    if b.timed_out or b.status != qemu.EXIT_PASSED:
        problems.append(b.meaning())
    reports = [line for line in b.output.splitlines()
               if line.startswith("panic:")]
    if len(reports) != 1 or "CPU 3: Invalid Opcode (#UD)" not in reports[0]:
        problems.append("panic lines %r: expected one, naming CPU 3" %
                        reports)
    return [Check(where, "fail" if problems else "pass", "; ".join(problems),
                  tail(b.output))]


def monitor_cpus(opts, Check):
    """The monitor's cpus at -smp 4, after the smp suite ran from it: a
    row per CPU, each with timer ticks, and a cache's magazines on each
    (the pairs test's cache is gone; kmalloc_64 served every CPU); and
    bench, a row for 1, 2 and 4 CPUs."""
    import monitor_test

    class Opts:
        kvm = getattr(opts, "kvm", False)

    where = "smp monitor: cpus, cpus CACHE and bench at -smp 4"
    s = monitor_test.Session(Opts(), "ktest=string.* monitor", smp=4)
    problems = []
    try:
        if s.until_prompt(120) is None:
            problems.append("no prompt")
        else:
            ran = s.command("test smp.kpages*", 120) or ""
            plain = s.command("cpus") or ""
            cache = s.command("cpus kmalloc_64") or ""
            slabs = s.command("slabs") or ""
            bench = s.command("bench 100", 120) or ""
            bad_bench = s.command("bench 0") or ""
            s.command("exit")
            if "1 passed, 0 failed" not in ran:
                problems.append("test smp.kpages* did not pass: %r" % ran[-200:])
            rows = [line.split() for line in plain.splitlines()
                    if re.match(r"^\s+\d+\s+\d+\s+\d+", line)]
            if len(rows) != 4 or any(int(r[2]) == 0 for r in rows):
                problems.append("cpus: expected 4 rows, each with ticks: %r"
                                % plain)
            crow = [line.split() for line in cache.splitlines()
                    if re.match(r"^\s+\d+\s+\d+", line)]
            if len(crow) != 4 or any(len(r) != 11 or r[7] != "30"
                                     for r in crow):
                problems.append("cpus kmalloc_64: expected 4 rows with a "
                                "30-round magazine size: %r" % cache)
            if "inmags" not in slabs:
                problems.append("slabs has no inmags column")
            # a figure, not a test of speed: a row for 1, 2 and 4 CPUs,
            # each with pairs counted, the first the scale's 1.00
            brows = [line.split() for line in bench.splitlines()
                     if re.match(r"^\s+\d+\s+\d+\s+\d+\s+\d+\.\d\d$",
                                 line)]
            if ([r[0] for r in brows] != ["1", "2", "4"] or
                    any(int(r[1]) == 0 for r in brows) or
                    brows[0][3] != "1.00"):
                problems.append("bench 100: expected rows for 1, 2 and 4 "
                                "CPUs with pairs counted: %r" % bench)
            if "error: bad time '0'" not in bad_bench:
                problems.append("bench 0: no error line: %r" % bad_bench)
    finally:
        s.finish(20)
    return [Check(where, "fail" if problems else "pass", "; ".join(problems),
                  tail(s.rest()))]


def smp_jobs(opts, Check):
    """The boots, as jobs for run_tests.py's pool."""
    suite = "ktest=smp.*"
    return [
        lambda: smp_boot(opts, Check, "bios", suite, 4, 4),
        lambda: smp_boot(opts, Check, "uefi", suite, 4, 4, uefi=True),
        lambda: smp_boot(opts, Check, "redzone-poison-audit",
                         suite + " kmem_debug=redzone,poison,audit", 4, 4),
        lambda: smp_boot(opts, Check, "check", suite + " kmem_debug=check",
                         4, 4),
        lambda: smp_boot(opts, Check, "magazines",
                         suite + " kmem_debug=magazines", 4, 4),
        lambda: smp_boot(
            opts, Check, "silent-cpu", "ktest=smp.barrier* smp_silent_cpu=2",
            4, 3, min_passed=2,
            lines=("smp: fault injection: CPU 2 will not answer",
                   "smp: the CPU with APIC ID 2 did not answer in")),
        lambda: smp_boot(opts, Check, "maxcpus", "ktest=smp.pairs* maxcpus=2",
                         4, 2, min_passed=1),
        lambda: smp_boot(opts, Check, "nosmp", "ktest=smp.pairs* nosmp",
                         4, 1, min_passed=1),
        lambda: smp_boot(
            opts, Check, "maxcpus-bad", "ktest=smp.pairs* maxcpus=65", 4, 4,
            min_passed=1,
            lines=("maxcpus=65: more than the 64 CPUs the kernel keeps; "
                   "ignored",)),
        lambda: fault_boot(opts, Check),
        lambda: monitor_cpus(opts, Check),
    ]


class _Check:
    def __init__(self, name, status, detail="", log=""):
        self.name, self.status, self.detail, self.log = (name, status, detail,
                                                         log)


def stress(boots, smp=4):
    """boots boots of the smp suite, two at a time; one line each that
    failed, then the closing line. Returns the number that failed."""
    def one(i):
        b = qemu.boot("ktest=smp.*", TIMEOUT, smp=smp,
                      log=os.path.join(LOGS, "stress-smp-%d.log" % i))
        return i, b, boot_problems(b, smp, MIN_SMP_TESTS)

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for i, b, problems in pool.map(one, range(boots)):
            if problems:
                failed += 1
                print("stress-smp: boot %d: %s (log: build/test-logs/"
                      "stress-smp-%d.log)" % (i, "; ".join(problems), i),
                      flush=True)
    print("stress-smp: %d boots, %d failed" % (boots, failed))
    return failed


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stress", type=int, metavar="N")
    args = p.parse_args()
    if args.stress is not None:
        return 1 if stress(args.stress) else 0
    jobs = smp_jobs(None, _Check)
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for result in pool.map(lambda job: job(), jobs):
            for c in result:
                print("%s %s %s" % (c.status.upper(), c.name, c.detail))
                if c.status == "fail":
                    failed += 1
                    print(c.log)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
