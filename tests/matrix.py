#!/usr/bin/env python3
"""matrix.py: the whole test suite booted on many machines (`make test-matrix`).

Every configuration boots the kernel with an empty command line, the
ordinary boot that runs every test (tests that must panic report SKIP; their
own boots are run_tests.py's business, once), under TCG:

  firmware  SeaBIOS with -m 16M (the smallest the kernel accepts), 32M,
            128M, 4G, 64G; OVMF (UEFI) with -m 128M, 4G, 64G (OVMF needs
            64 MiB; both boot the same hybrid GRUB ISO)
  CPUs      each of those with -smp 1 and -smp 4, and 128M with -smp 2
            and -smp 8; the kernel must start every CPU ("smp: N CPUs
            online" with N the -smp given)
  CPU model -cpu max (1 GiB pages), and one boot on qemu64 (none)

64G is lazily backed (qemu.memory_args): the host needs no 64 GiB.

A configuration is green only if QEMU exits with the tests-passed status,
the KTAP is whole (every suite's plan met, the closing line agrees with the
results), the closing line says 0 failed, and the numbers make sense for
that machine: a test may skip only for a reason that holds everywhere (it
panics, it is a self-test, it needs kmem_debug= modes) or, below 4 GiB,
for want of memory; the usable
memory is most of -m; the direct map covers exactly the usable bytes, with
1 GiB pages on -cpu max from 4 GiB up and none on qemu64. Across a run,
every configuration must have run the same tests.

    matrix.py [--subset] [-j N] [--kvm] [NAME-GLOB ...]

prints a table (configuration, tests passed/failed/skipped, seconds from
QEMU's start to its exit, the cycles pmem_init took, usable MiB, 1 GiB
pages, verdict), the reasons for every red row, and exits 1 if any row is
red. --subset runs the configurations make test runs (SUBSET below).
Serial logs: build/test-logs/matrix-<name>.log.
"""
import argparse
import concurrent.futures
import fnmatch
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402
import run_tests  # noqa: E402

BIOS_TIMEOUT = 120
UEFI_TIMEOUT = 240          # OVMF alone takes ~5 s more than SeaBIOS
GIB = 1 << 30
MIB = 1 << 20
# A test may skip on every machine only for these reasons (and those of
# run_tests.py: it panics, it is a self-test; run_tests imports this file,
# so they are looked up when used): the runner's own demonstration, and a
# test that needs kmem_debug modes its boot was not given (ktest.c).
SKIPS_ANYWHERE = re.compile(
    r"^(shows that a skipped test is reported as a SKIP|needs kmem_debug=\S+)$")
# Below this much RAM, a test may skip saying how much memory it needs.
MEMORY_SKIP_BELOW = 4 * GIB
MEMORY_SKIP_RE = re.compile(r"\d+ [KMG]iB")
# The usable memory must be at least this share of -m (firmware, the
# kernel, the low MiB and the PCI hole below 4 GiB take the rest).
USABLE_SHARE = 0.8
# The fewest passed tests a green boot may have (the suite has ~130 that
# can pass on the smallest machine; this catches a runner gone quiet).
MIN_PASSED = 100


class Config:
    def __init__(self, firmware, mem, smp, cpu="max"):
        self.firmware, self.mem, self.smp, self.cpu = firmware, mem, smp, cpu
        self.name = "%s-%s-smp%d%s" % (firmware, mem, smp,
                                       "" if cpu == "max" else "-" + cpu)

    @property
    def mem_bytes(self):
        return qemu.mem_mib(self.mem) * MIB


CONFIGS = [Config(fw, mem, smp)
           for fw, mems in (("bios", ("16M", "32M", "128M", "4G", "64G")),
                            ("uefi", ("128M", "4G", "64G")))
           for mem in mems for smp in (1, 4)] + [
               Config(fw, "128M", smp) for fw in ("bios", "uefi")
               for smp in (2, 8)] + [Config("bios", "4G", 1, "qemu64")]
# What make test runs: UEFI at its smallest and largest (one with 4 CPUs),
# BIOS at its smallest (16M), at 32M and at 64G with 4 CPUs, and the CPU
# without 1 GiB pages at 4G (the jumbo 1 GiB tests run there on a 2 MiB
# direct map).
SUBSET = ["bios-16M-smp1", "bios-32M-smp1", "bios-64G-smp4", "uefi-128M-smp1",
          "uefi-64G-smp4", "bios-4G-smp1-qemu64"]


def configs(which):
    """'full', 'subset', or a list of name globs."""
    if which == "full":
        return list(CONFIGS)
    if which == "subset":
        return [c for c in CONFIGS if c.name in SUBSET]
    return [c for c in CONFIGS if any(fnmatch.fnmatch(c.name, g) for g in which)]


class Outcome:
    """One configuration's boot and what was wrong with it."""

    def __init__(self, config):
        self.config = config
        self.boot = None
        self.ktap = None
        self.closing = None        # (passed, failed, skipped)
        self.pmem = None           # (ranges, MiB usable, cycles)
        self.usable = None         # bytes
        self.direct_map = None     # (1 GiB, 2 MiB, 4 KiB pages, tables)
        self.problems = []

    @property
    def green(self):
        return self.boot is not None and not self.problems

    def names(self):
        return {r[0] for r in self.ktap.results} if self.ktap else set()


def ktap_incomplete(output):
    """Why the KTAP is not whole (a plan not met), or None."""
    if "KTAP version 1" not in output:
        return "no KTAP header"
    text = output[output.find("KTAP version 1"):]
    top = re.search(r"^1\.\.(\d+)$", text, re.M)
    suites = re.findall(r"^(?:ok|not ok) \d+ (\S+)", text, re.M)
    if not top:
        return "no top-level plan"
    if int(top.group(1)) != len(suites):
        return "plan 1..%s but %d suites reported" % (top.group(1), len(suites))
    for block in re.split(r"^\s+# Subtest: ", text, flags=re.M)[1:]:
        suite = block.split("\n", 1)[0].strip()
        plan = re.search(r"^\s+1\.\.(\d+)$", block, re.M)
        cases = re.findall(r"^\s+(?:ok|not ok) \d+ %s\.\S+" % re.escape(suite),
                           block, re.M)
        if not plan or int(plan.group(1)) != len(cases):
            return "suite %s: plan %s, %d results" % (
                suite, plan.group(1) if plan else "missing", len(cases))
    return None


def skip_problems(ktap, mem_bytes, mem):
    """What is wrong with the skips of a boot with mem_bytes of RAM
    (named mem): a test may skip for a reason that holds everywhere, or,
    below MEMORY_SKIP_BELOW, for a reason that names a memory size."""
    problems = []
    for name, status, reason, _ in ktap.results:
        if status != "skip" or SKIPS_ANYWHERE.match(reason) or \
                reason.startswith(run_tests.PANIC_SKIP) or \
                reason == run_tests.SELFTEST_SKIP:
            continue
        if mem_bytes >= MEMORY_SKIP_BELOW:
            problems.append("%s skipped with %s of RAM: %s" % (name, mem, reason))
        elif not MEMORY_SKIP_RE.search(reason):
            problems.append("%s skipped for a reason that names no memory size: %s"
                            % (name, reason))
    return problems


def judge(outcome):
    """Fill in outcome.problems from its boot."""
    c, b, problems = outcome.config, outcome.boot, outcome.problems
    if b.timed_out or b.status != qemu.EXIT_PASSED:
        problems.append(b.meaning())
    ktap = outcome.ktap = run_tests.Ktap(b.output)
    outcome.closing = ktap.closing
    unsound = ktap.sound() or ktap_incomplete(b.output)
    if unsound:
        problems.append(unsound)
    if ktap.closing:
        passed, failed, skipped = ktap.closing
        if failed:
            problems.append("%d failed: %s" % (failed, ", ".join(
                r[0] for r in ktap.results if r[1] == "fail")))
        if passed < MIN_PASSED:
            problems.append("only %d passed (at least %d expected)" %
                            (passed, MIN_PASSED))
    problems += skip_problems(ktap, c.mem_bytes, c.mem)

    boot_part = b.output.split("KTAP version 1", 1)[0]
    m = re.search(r"^pmem_init: (\d+) ranges, (\d+) MiB usable, (\d+) cycles$",
                  boot_part, re.M)
    outcome.pmem = tuple(int(x) for x in m.groups()) if m else None
    m = re.search(r"^\s+usable total: \d+ MiB \((\d+) bytes\)$", boot_part, re.M)
    outcome.usable = int(m.group(1)) if m else None
    m = re.search(r"^direct map: (\d+) x 1 GiB, (\d+) x 2 MiB, (\d+) x 4 KiB "
                  r"pages, (\d+) page-table pages(?: \(\d+ spare\))?$",
                  boot_part, re.M)
    outcome.direct_map = tuple(int(x) for x in m.groups()) if m else None
    m = re.search(r"^smp: (\d+) CPUs? online", boot_part, re.M)
    if not m:
        problems.append("no 'smp: N CPUs online' line")
    elif int(m.group(1)) != c.smp:
        problems.append("%s CPUs online with -smp %d" % (m.group(1), c.smp))
    if not (outcome.pmem and outcome.usable and outcome.direct_map):
        problems.append("no pmem_init, usable total or direct map line")
        return
    ranges, usable_mib, cycles = outcome.pmem
    # pmem_init gets the usable ranges less the page tables' pages
    tables = outcome.direct_map[3] * 4096
    if usable_mib != (outcome.usable - tables) // MIB:
        problems.append("pmem_init says %d MiB usable, the table %d bytes "
                        "less %d of page tables" % (usable_mib, outcome.usable,
                                                    tables))
    if not USABLE_SHARE * c.mem_bytes <= outcome.usable <= c.mem_bytes:
        problems.append("%d MiB usable of -m %s" % (usable_mib, c.mem))
    if ranges < 1 or cycles <= 0:
        problems.append("pmem_init: %d ranges, %d cycles" % (ranges, cycles))
    pages_1g, pages_2m, pages_4k, _ = outcome.direct_map
    mapped = pages_1g * GIB + pages_2m * 2 * MIB + pages_4k * 4096
    if mapped != outcome.usable:
        problems.append("direct map holds %d bytes, usable %d" %
                        (mapped, outcome.usable))
    if c.cpu == "qemu64" and pages_1g:
        problems.append("%d 1 GiB pages on a CPU without them" % pages_1g)
    if c.cpu == "max" and c.mem_bytes >= 4 * GIB and not pages_1g:
        problems.append("no 1 GiB page on -cpu max with %s" % c.mem)


def run_config(config, kvm=False):
    """Boot one configuration; an Outcome with its problems."""
    outcome = Outcome(config)
    try:
        # a vCPU may wait for a host core: more CPUs, more time
        limit = UEFI_TIMEOUT if config.firmware == "uefi" else BIOS_TIMEOUT
        outcome.boot = qemu.boot(
            "", limit * max(1, config.smp // 2),
            mem=config.mem, cpu=config.cpu, kvm=kvm, smp=config.smp,
            uefi=config.firmware == "uefi",
            log=os.path.join(run_tests.LOGS, "matrix-%s.log" % config.name))
    except RuntimeError as e:
        outcome.problems.append("cannot boot: %s" % e)
        return outcome
    judge(outcome)
    return outcome


def cross_check(outcomes):
    """Every configuration must have run the same tests."""
    booted = [o for o in outcomes if o.ktap and o.ktap.results]
    if not booted:
        return
    everywhere = set.intersection(*(o.names() for o in booted))
    for o in booted:
        extra = sorted(o.names() - everywhere)
        if extra:
            o.problems.append("ran tests other configurations did not: %s"
                              % ", ".join(extra[:5]))


HEADER = "%-20s %6s %6s %6s %8s %13s %9s %4s  %s" % (
    "configuration", "passed", "failed", "skip", "seconds", "pmem cycles",
    "MiB", "1G", "verdict")


def row(o):
    closing = o.closing or ("-", "-", "-")
    return "%-20s %6s %6s %6s %8s %13s %9s %4s  %s" % (
        o.config.name, closing[0], closing[1], closing[2],
        "%.1f" % o.boot.seconds if o.boot else "-",
        o.pmem[2] if o.pmem else "-", o.pmem[1] if o.pmem else "-",
        o.direct_map[0] if o.direct_map else "-",
        "green" if o.green else "RED")


def summary(o):
    """One configuration in a line of its own (make test prints these)."""
    if not o.boot:
        return "%s: RED: %s" % (o.config.name, "; ".join(o.problems))
    closing = "%d passed, %d failed, %d skipped" % o.closing if o.closing \
        else "no closing line"
    numbers = "pmem_init %d cycles, %d MiB usable, %d x 1 GiB pages" % (
        o.pmem[2], o.pmem[1], o.direct_map[0]) if o.pmem and o.direct_map \
        else "no pmem_init or direct map line"
    return "%s: %s, %.1f s, %s: %s" % (o.config.name, closing, o.boot.seconds,
                                       numbers, "green" if o.green else "RED")


def config_checks(config, opts, Check):
    """run_tests.py's job for one configuration: each test's result, then
    the configuration's verdict; prints its summary line."""
    o = run_config(config, opts.kvm)
    checks = []
    if o.ktap:
        checks = run_tests.unit_results("kernel " + config.name, o.ktap,
                                        o.boot.output, [])
    print("matrix " + summary(o), flush=True)
    checks.append(Check("matrix %s: exit, KTAP, counts, pmem_init, direct map"
                        % config.name, "pass" if o.green else "fail",
                        "; ".join(o.problems),
                        run_tests.tail(o.boot.output) if o.boot else ""))
    return checks


def synthetic_output(passed=MIN_PASSED, skips=(), fails=0, closing=None,
                     direct_map="0 x 1 GiB, 13 x 2 MiB, 1128 x 4 KiB pages",
                     usable=31883264, drop_result=False, cpus=1):
    """A green-looking serial log of a 32M boot, to show what judge() sees."""
    lines = ["  usable total: %d MiB (%d bytes)" % (usable // MIB, usable),
             "direct map: %s, 9 page-table pages" % direct_map,
             "smp: %d CPU%s online (xAPIC, %d in the MADT)" % (
                 cpus, "s" if cpus > 1 else "", cpus),
             "pmem_init: 2 ranges, %d MiB usable, 12345 cycles" %
             ((usable - 9 * 4096) // MIB),
             "KTAP version 1", "1..1", "    KTAP version 1",
             "    # Subtest: demo"]
    results = ["    ok %d demo.t%d" % (i + 1, i) for i in range(passed)]
    results += ["    not ok %d demo.f%d" % (passed + i + 1, i)
                for i in range(fails)]
    results += ["    ok %d demo.s%d # SKIP %s" % (passed + fails + i + 1, i, why)
                for i, why in enumerate(skips)]
    lines.append("    1..%d" % len(results))
    lines += results[:-1] if drop_result else results
    lines.append("ok 1 demo")
    counts = closing or (passed, fails,
                         len(skips) - (1 if drop_result else 0))
    lines.append("ktest: %d passed, %d failed, %d skipped" % counts)
    return "\n".join(lines) + "\n"


def judge_checks(Check):
    """judge() must pass sound logs and name what is wrong with each of a
    dozen broken ones (no QEMU: synthetic serial logs)."""
    small, big = Config("bios", "32M", 1), Config("bios", "64G", 4)
    qemu64 = Config("bios", "4G", 1, "qemu64")
    mem_skip = "base_arena has under 64 MiB free"
    cases = [
        ("sound 32M boot", small, qemu.EXIT_PASSED, False,
         dict(skips=[run_tests.PANIC_SKIP, mem_skip,
                     run_tests.PANIC_SKIP + " with kmem_debug=redzone",
                     run_tests.SELFTEST_SKIP]), None),
        ("QEMU status 0", small, 0, False, {}, "triple fault"),
        ("timed out", small, qemu.EXIT_PASSED, True, {}, "timed out"),
        ("a failed test", small, qemu.EXIT_FAILED, False, dict(fails=1),
         "1 failed: demo.f0"),
        ("closing line wrong", small, qemu.EXIT_PASSED, False,
         dict(closing=(MIN_PASSED, 0, 1)), "disagrees with the results"),
        ("too few passed", small, qemu.EXIT_PASSED, False,
         dict(passed=MIN_PASSED - 1), "only 99 passed"),
        ("a result missing", small, qemu.EXIT_PASSED, False,
         dict(skips=[mem_skip], drop_result=True), "suite demo: plan 101"),
        ("memory skip at 64G", big, qemu.EXIT_PASSED, False,
         dict(skips=[mem_skip], usable=64 * GIB - 2 * MIB,
              direct_map="62 x 1 GiB, 1023 x 2 MiB, 0 x 4 KiB pages"),
         "skipped with 64G of RAM"),
        ("a kmem_debug test at 64G", big, qemu.EXIT_PASSED, False,
         dict(skips=["needs kmem_debug=redzone,poison"],
              usable=64 * GIB - 2 * MIB,
              direct_map="62 x 1 GiB, 1023 x 2 MiB, 0 x 4 KiB pages"), None),
        ("skip naming no size", small, qemu.EXIT_PASSED, False,
         dict(skips=["not today"]), "names no memory size"),
        ("direct map short", small, qemu.EXIT_PASSED, False,
         dict(direct_map="0 x 1 GiB, 13 x 2 MiB, 1127 x 4 KiB pages"),
         "direct map holds 31879168 bytes, usable 31883264"),
        ("1 GiB pages on qemu64", qemu64, qemu.EXIT_PASSED, False,
         dict(usable=4 * GIB - 2 * MIB,
              direct_map="2 x 1 GiB, 1023 x 2 MiB, 0 x 4 KiB pages"),
         "2 1 GiB pages on a CPU without them"),
        ("no 1 GiB page on max", big, qemu.EXIT_PASSED, False,
         dict(usable=64 * GIB - 2 * MIB,
              direct_map="0 x 1 GiB, 32767 x 2 MiB, 0 x 4 KiB pages"),
         "no 1 GiB page on -cpu max with 64G"),
        ("too little usable", Config("bios", "128M", 1), qemu.EXIT_PASSED,
         False, {}, "30 MiB usable of -m 128M"),
    ]
    checks = []
    for what, config, status, timed_out, kwargs, want in cases:
        o = Outcome(config)
        o.boot = qemu.Boot(status, synthetic_output(cpus=config.smp, **kwargs),
                           1.0, timed_out)
        judge(o)
        got = "; ".join(o.problems)
        ok = (o.green and want is None) or (want is not None and want in got)
        checks.append(Check("matrix judge: %s -> %s" % (what, want or "green"),
                            "pass" if ok else "fail",
                            "" if ok else "problems: %r" % got))
    a, b = Outcome(small), Outcome(small)
    for o, n in ((a, MIN_PASSED), (b, MIN_PASSED + 1)):
        o.boot = qemu.Boot(qemu.EXIT_PASSED, synthetic_output(passed=n), 1.0,
                           False)
        judge(o)
    cross_check([a, b])
    ok = a.green and not b.green and "demo.t100" in "; ".join(b.problems)
    checks.append(Check("matrix judge: a test only one configuration ran",
                        "pass" if ok else "fail",
                        "" if ok else "problems: %r / %r" % (a.problems,
                                                             b.problems)))
    return checks


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="only configurations matching these globs")
    p.add_argument("--subset", action="store_true",
                   help="only the configurations make test boots")
    p.add_argument("--kvm", action="store_true")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    opts = p.parse_args()
    broken = [c for c in judge_checks(run_tests.Check) if c.status == "fail"]
    for c in broken:
        print("FAIL %s: %s" % (c.name, c.reason))
    if broken:
        return 1
    chosen = configs(opts.names or ("subset" if opts.subset else "full"))
    if not chosen:
        print("matrix.py: no configuration matches %s" % opts.names)
        return 2
    load = os.getloadavg()[0]
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(opts.jobs) as pool:
        outcomes = list(pool.map(lambda c: run_config(c, opts.kvm), chosen))
    elapsed = time.monotonic() - start
    cross_check(outcomes)
    print(HEADER)
    for o in outcomes:
        print(row(o))
    for o in outcomes:
        if not o.green:
            print("\n%s: %s" % (o.config.name, "; ".join(o.problems)))
            if o.boot:
                print("  log: %s" % os.path.relpath(os.path.join(
                    run_tests.LOGS, "matrix-%s.log" % o.config.name)))
    green = sum(o.green for o in outcomes)
    print("\n%d of %d configurations green in %.0f s (%d at a time, "
          "load average %.1f at the start)" % (green, len(outcomes), elapsed,
                                               opts.jobs, load))
    return 0 if green == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
