"""monitor_test.py: the serial monitor, driven through QEMU's serial line.

Boots `ktest=string.* monitor` with the serial console on pipes, waits for
each `kmem> ` prompt, types a command and reads up to the next prompt (with
a time limit on every step). Every command runs; bad input of many kinds
must get one `error:` line and a live prompt; an allocation is looked up
with whatis, freed and the arenas checked; line editing works; `exit`
leaves QEMU with the boot's test status. run_tests.py calls
monitor_checks(opts); each assertion is a Check of its own.

`test` must hold whatever the monitor holds, in sessions of their own
(run_tests.py runs each as a job): after allocations of every kind, some
freed and some held, `test *` has 0 failed (monitor_state_checks); with
base filled by `alloc base` until it fails, `test *` neither panics nor
fails, and each test that lacks memory skips naming it
(monitor_fill_base_checks); at -m 16M with base cut into pieces, the
tests that need a long run skip (monitor_base_in_pieces_checks); at -m 4G with the 1 GiB arena's page held,
the 1 GiB tests skip instead of panicking (monitor_jumbo_checks).
"""
import os
import re
import subprocess
import threading
import time

import qemu

CMDLINE = "ktest=string.* monitor"
PROMPT = "kmem> "
BOOT_TIMEOUT = 45
STEP_TIMEOUT = 15
EXIT_TIMEOUT = 10

# Bad input: (what it is, the line typed). Each gets one "error:" line.
BAD_INPUT = [
    ("unknown command", "frobnicate"),
    ("alloc with no arguments", "alloc"),
    ("free with too few arguments", "free kpages"),
    ("kmalloc with no size", "kmalloc"),
    ("arena with no name", "arena"),
    ("bad number 0xZZ", "alloc kpages 0xZZ"),
    ("bad size suffix", "alloc kpages 4Q"),
    ("unknown arena", "alloc nosuch 4096"),
    ("alloc size 0", "alloc kpages 0"),
    ("alloc of 1T on kpages (exhaustion, MEM_ATOMIC)", "alloc kpages 1T"),
    ("alloc of an absurd size", "alloc base 0xffffffffffffffff"),
    ("kmalloc of an absurd size", "kmalloc 100T"),
    ("free of an address the monitor never allocated",
     "free kpages 0xffff800000200000 4096"),
    ("kfree of a random address", "kfree 0xffff800000123450"),
    ("whatis of garbage", "whatis zzz"),
    ("whatis of an address in no arena", "whatis 0x10"),
    ("test with no glob", "test"),
    ("cpus of a cache that does not exist", "cpus nosuch"),
    ("cpus with two words", "cpus kmalloc_64 extra"),
    ("cpus of a cache without magazines", "cpus kmem_slab"),
    ("test matching no test", "test nosuch.*"),
    ("$ before any alloc or kmalloc", "whatis $"),
    ("a line longer than the buffer", "x" * 200),
    ("arena with an unknown word", "arena base bogus"),
    ("map with no arena", "map"),
    ("map of an unknown arena", "map nosuch"),
    ("freelists of an unknown arena", "freelists nosuch"),
    ("freelists with two words", "freelists base kpages"),
    ("kmastat with an unknown word", "kmastat bogus"),
    ("vmem with a word", "vmem base"),
    ("reap with a word", "reap kpages"),
]


class Session:
    """QEMU with its serial line on pipes, and what it printed so far."""

    def __init__(self, opts, cmdline=CMDLINE, mem="512M", smp=1):
        iso = qemu.iso_for(cmdline)
        cmd = qemu.qemu_command(iso, mem=mem, kvm=opts.kvm, smp=smp) + [
            "-serial", "stdio", "-monitor", "none"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.text = ""
        self.seen = 0          # how much of text the steps have consumed
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            data = os.read(fd, 4096)
            with self.cond:
                if not data:
                    self.cond.notify_all()
                    return
                self.text += data.decode("utf-8", "replace").replace("\r", "")
                self.cond.notify_all()

    def until_prompt(self, timeout):
        """The output up to the next prompt, or None on timeout or exit."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                i = self.text.find(PROMPT, self.seen)
                if i >= 0:
                    out = self.text[self.seen:i]
                    self.seen = i + len(PROMPT)
                    return out
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self.cond.wait(min(left, 0.5))

    def send(self, data):
        try:
            self.proc.stdin.write(data.encode("latin-1"))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def command(self, line, timeout=STEP_TIMEOUT):
        """Type line and Enter; the output up to the next prompt (or None)."""
        self.send(line + "\n")
        return self.until_prompt(timeout)

    def finish(self, timeout):
        """Wait for QEMU to exit; its status, or None if it had to be killed."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.reader.join(timeout=5)

    def rest(self):
        with self.cond:
            return self.text[self.seen:]


def error_lines(out):
    return [l for l in out.splitlines() if l.startswith("error: ")]


class Script:
    """Runs the steps and collects one Check per assertion."""

    def __init__(self, session, check_class):
        self.s = session
        self.Check = check_class
        self.checks = []
        self.alive = True

    def check(self, name, ok, reason, out):
        self.checks.append(self.Check("monitor: " + name, "pass" if ok else "fail",
                                 "" if ok else reason,
                                 "" if ok else (out or "")[-3000:]))

    def run(self, line, timeout=STEP_TIMEOUT):
        """Type a line; the output, or None (and a failed check) if no prompt."""
        if not self.alive:
            return None
        out = self.s.command(line, timeout)
        if out is None:
            self.alive = False
            self.check("prompt back after %r" % line[:40], False,
                       "no prompt within %d s (hung, panicked or exited)" %
                       timeout, self.s.rest())
        return out

    def expect(self, name, line, patterns, timeout=STEP_TIMEOUT):
        """Type line; every regex in patterns must match, no error line."""
        out = self.run(line, timeout)
        if out is None:
            self.check(name, False, "no output: the session ended", "")
            return None
        missing = [p for p in patterns if not re.search(p, out, re.M)]
        errors = error_lines(out)
        reason = ("output lacks %s" % missing if missing else
                  "unexpected %r" % errors[0] if errors else "")
        self.check(name, not reason, reason, out)
        return out

    def expect_error(self, what, line):
        out = self.run(line)
        if out is None:
            self.check("bad input: %s" % what, False, "no prompt back", "")
            return
        errors = error_lines(out)
        self.check("bad input: %s -> one 'error:' line, prompt back" % what,
                   len(errors) == 1,
                   "%d error lines for %r" % (len(errors), line[:60]), out)


def steps_inspect(sc):
    sc.expect("help lists the commands", "help",
              [r"^\s+%s\b" % c for c in ("help", "arenas", "arena", "slabs",
                                          "whatis", "alloc", "free", "kmalloc",
                                          "kfree", "check", "test", "meminfo",
                                          "vmem", "map", "freelists",
                                          "kmastat", "reap", "exit")])
    sc.expect("arenas prints the arena table", "arenas",
              [r"^arena\s+quantum", r"^kpages\s", r"^base\s", r"^kpages_2m\s"])
    sc.expect("arena base summarises it", "arena base",
              [r"^arena 'base': quantum 4096, source none$",
               r"^  in use \S+ of \S+ \(\d+ of \d+ bytes\); imported 0$",
               r"^  \d+ spans, \d+ allocated segments, \d+ free \(the largest \S+\)$",
               r"^  \d+ allocations, \d+ frees, \d+ failed, 0 imports$"])
    out = sc.expect("arena base segments lists its spans and segments",
                    "arena base segments",
                    [r"^arena 'base'", r"^span\s+\[0x",
                     r"^\s+allocated\s+\[0x"])
    sc.check("arena base (the summary) is short, segments are not",
             out is not None and len(out.splitlines()) > 5, "",
             out)
    sc.expect("vmem: base first, its importers indented below it", "vmem",
              [r"^arena\s+in use\s+total\s+import\s+allocs",
               r"^base\s+\S+\s+\S+\s+0\s+\d+\s+\d+\s+\d+\s+\S+\s+-$",
               r"^  kpages\s+.*\sbase$", r"^  kpages_2m\s+.*\sbase$"])
    sc.expect("kmastat: a row per cache, then per arena", "kmastat",
              [r"^cache\s+buf\s+in use\s+total\s+memuse\s+inmags\s+"
               r"slabs f/p/e\s+waste\s+allocs\s+fails$",
               r"^kmalloc_128\s+128\s+\d+\s+\d+\s+\S+\s+\S+\s+\d+/\d+/\d+"
               r"\s+\d+%\s+\d+\s+\d+$",
               r"^arena\s+in use", r"^kpages\s+.*\sbase$"])
    sc.expect("kmastat -h explains every column", "kmastat -h",
              [r"^\s+%s\s" % c for c in ("buf", "in use", "total", "memuse",
                                        "inmags", "slabs", "waste",
                                        "allocs", "import", "max",
                                        "source")])
    sc.expect("freelists base: free segments by size class", "freelists base",
              [r"^arena 'base': \S+ free in \d+ segments, the largest \S+: "
               r"fragmentation \d+% \(1 - largest / free\)$",
               r"^  size class\s+segments\s+bytes",
               r"^  \[\S+, \S+\)\s+\d+\s+\S+\s+\*+$"])
    out = sc.expect("map base draws its address space in rows of at most "
                    "80 columns", "map base",
                    [r"^arena 'base': one character is \d+ quant(um|a) "
                     r"\(\S+\)$",
                     r"^  \[0x[0-9a-f]+, 0x[0-9a-f]+\), \d+ characters$",
                     r"^  # allocated  \. free  \+ both  \| a span starts",
                     r"^[0-9a-f]{16} \|[#.+| ]*$"])
    sc.check("map base: no row wider than 80 columns",
             out is not None and
             max(len(l) for l in out.splitlines()) <= 80, "", out)
    sc.expect("slabs prints the cache table", "slabs",
              [r"^cache\s+active", r"^kmalloc_128\s"])
    sc.expect("meminfo prints usable ranges and arena totals", "meminfo",
              [r"^usable RAM", r"^\s+\[0x[0-9a-f]+, 0x[0-9a-f]+\) \d+ KiB",
               r"\d+ ranges, \d+ KiB", r"^\s+kpages\s+total"])


def steps_arena_alloc(sc):
    out = sc.expect("alloc kpages 3 pages", "alloc kpages 12K",
                    [r"^alloc: arena 'kpages' addr 0x[0-9a-f]+ size 12288"])
    m = re.search(r"addr (0x[0-9a-f]+)", out or "")
    addr = m.group(1) if m else "0x0"
    sc.expect("whatis of the allocation names kpages, allocated",
              "whatis " + addr,
              [r"^arena 'kpages': span .*allocated segment",
               r"^arena 'base': span", r"^monitor: its own alloc"])
    sc.expect("arena kpages segments shows the span it imported",
              "arena kpages segments",
              [r"^arena 'kpages'", r"^span\s+\[0x.*imported"])
    sc.expect("map kpages shows an allocated span", "map kpages",
              [r"^arena 'kpages': one character", r"^[0-9a-f]{16} \|[#+]"])
    sc.expect_error("free with the wrong size",
                    "free kpages %s 4096" % addr)
    sc.expect_error("free from the wrong arena",
                    "free base %s 12288" % addr)
    sc.expect("free of the allocation", "free kpages %s 12288" % addr,
              [r"^free: arena 'kpages' addr %s size 12288" % addr])
    sc.expect_error("free of it again (double free)",
                    "free kpages %s 12288" % addr)
    sc.expect("check: every arena and cache sound", "check",
              [r"^check: \d+ arenas, \d+ caches: all sound"])
    # a page through kpages' quantum cache: freed, it waits in a magazine
    out = sc.expect("alloc kpages 4K", "alloc kpages 4K",
                    [r"^alloc: arena 'kpages' addr 0x[0-9a-f]+ size 4096"])
    m = re.search(r"addr (0x[0-9a-f]+)", out or "")
    sc.expect("free of the page", "free kpages %s 4096" %
              (m.group(1) if m else "0x0"), [r"^free: arena 'kpages'"])
    out = sc.expect("reap: a line for kpages, whose bytes in use changed",
                    "reap", [r"^reap: kpages\s+in use\s+\S+ ->\s+\S+ "
                             r"\(\d+ -> \d+ bytes\)$"])
    m = re.search(r"^reap: kpages .*\((\d+) -> (\d+) bytes\)$", out or "",
                  re.M)
    sc.check("reap: the page's slab went back (kpages' in use fell)",
             m is not None and int(m.group(2)) < int(m.group(1)),
             "no fall in %r" % (m.group(0) if m else None), out)
    sc.expect("reap again: nothing left to give back", "reap",
              [r"^reap: nothing to give back"])
    sc.expect("alloc kpages 1 says the arena rounds it to a page",
              "alloc kpages 1",
              [r"^alloc: arena 'kpages' addr 0x[0-9a-f]+ size 1 \(the arena "
               r"rounds it up to 4096, whole quanta of 4096\)$"])
    sc.expect("free of it with the size asked", "free kpages $ 1",
              [r"^free: arena 'kpages' addr 0x[0-9a-f]+ size 1$"])


def steps_kmalloc(sc):
    out = sc.expect("kmalloc 100", "kmalloc 100",
                    [r"^kmalloc: 0x[0-9a-f]+ size 100 \(112 usable\)"])
    m = re.search(r"kmalloc: (0x[0-9a-f]+)", out or "")
    addr = m.group(1) if m else "0x0"
    sc.expect("whatis of the buffer names kmalloc_128, allocated, and its tag",
              "whatis " + addr,
              [r"^cache 'kmalloc_128': slab .* allocated$",
               r"^arena 'kpages': span", r"^monitor: its own kmalloc",
               r"^kmalloc: %s is in buffer %s \+0x0: tag at 0x[0-9a-f]+, "
               r"live, cache 'kmalloc_128', offset 16, 112 usable$" %
               (addr, addr)])
    sc.expect("whatis $ is the same buffer", "whatis $",
              [r"^cache 'kmalloc_128': slab .* allocated$",
               r"^monitor: its own kmalloc"])
    sc.expect_error("kfree of an interior pointer",
                    "kfree 0x%x" % (int(addr, 16) + 8))
    sc.expect("kfree of the buffer", "kfree " + addr,
              [r"^kfree: %s" % addr])
    sc.expect("check after kfree: all sound", "check",
              [r"all sound"])


def steps_line_editing(sc):
    sc.expect("backspace: 'arenaz<BS>s' runs arenas", "arenaz\x08s",
              [r"^arena\s+quantum"])
    sc.expect("delete (0x7f): 'slabx<DEL>s' runs slabs", "slabx\x7fs",
              [r"^cache\s+active"])
    sc.expect("Ctrl-U: 'junk<^U>help' runs help", "junk\x15help",
              [r"^\s+meminfo\b"])
    sc.expect("\\r as Enter", "help\r", [r"^\s+meminfo\b"])


def steps_test_and_exit(sc, session):
    sc.expect("test printk.* runs the tests again and they pass",
              "test printk.*",
              [r"^\s+ok \d+ printk\.", r"^ktest: [1-9]\d* passed, 0 failed"],
              timeout=30)
    sc.expect("the prompt survives all of it", "", [])
    if not sc.alive:
        session.finish(1)
        return
    session.send("exit\n")
    status = session.finish(EXIT_TIMEOUT)
    sc.check("exit leaves QEMU with the boot's status (%d: passed)" %
             qemu.EXIT_PASSED, status == qemu.EXIT_PASSED,
             "QEMU status %s: %s" % (status, qemu.EXIT_MEANING.get(
                 status, "killed after %d s" % EXIT_TIMEOUT)),
             session.rest())


# `test *` runs every test that may run again: seconds under TCG, more
# on a loaded machine.
TEST_ALL_TIMEOUT = 240
# A line of `test` that ran a test and passed it (no SKIP).
PASSED_RE = r"^\s+ok \d+ %s$"
# A skip that names what is lacking (the matrix's rule: a memory size).
MEMORY_SKIP_RE = (r"^\s+ok \d+ %s # SKIP needs \d+ (x \d+ )?[KMG]iB.* free in "
                  r"arena 'base', it has \d+ [KMG]iB")


def alloc_addr(out):
    """The address an alloc or kmalloc line gave, or None."""
    m = re.search(r"^(?:alloc: arena '\S+' addr|kmalloc:) (0x[0-9a-f]+)",
                  out or "", re.M)
    return m.group(1) if m else None


def test_all(sc, name, extra=()):
    """`test *`: the prompt comes back, 0 failed, and every regex in extra
    matches."""
    return sc.expect(name, "test *",
                     [r"^ktest: [1-9]\d* passed, 0 failed, \d+ skipped"] +
                     list(extra), timeout=TEST_ALL_TIMEOUT)


def session_start(opts, name, mem="512M"):
    """A fresh session and its Script; None for the script if no prompt."""
    from run_tests import Check

    session = Session(opts, mem=mem)
    sc = Script(session, Check)
    boot = session.until_prompt(BOOT_TIMEOUT)
    sc.check("%s: boot offers the prompt" % name, boot is not None,
             "no prompt within %d s" % BOOT_TIMEOUT, session.rest())
    sc.alive = boot is not None
    return session, sc


def session_end(session, sc, name, log):
    """exit leaves with the boot's status; the serial log is kept."""
    from run_tests import LOGS

    if sc.alive:
        session.send("exit\n")
        status = session.finish(EXIT_TIMEOUT)
        sc.check("%s: exit leaves QEMU with status %d (passed)" %
                 (name, qemu.EXIT_PASSED), status == qemu.EXIT_PASSED,
                 "QEMU status %s" % status, session.rest())
    elif session.proc.poll() is None:
        session.finish(1)
    os.makedirs(LOGS, exist_ok=True)
    with open(os.path.join(LOGS, log), "w") as f:
        f.write(session.text)
    return sc.checks


def monitor_state_checks(opts):
    """`test` after the monitor allocated: kmalloc and kfree (the state in
    which arena.base_self_sufficient used to fail), then buffers and
    segments of several arenas, some freed, some still held."""
    name = "test after allocations"
    session, sc = session_start(opts, name)
    sc.run("kmalloc 100")
    sc.run("kfree $")
    sc.expect("%s: kmalloc 100, kfree $, then test arena.* passes "
              "arena.base_self_sufficient" % name, "test arena.*",
              [PASSED_RE % r"arena\.base_self_sufficient",
               r"^ktest: [1-9]\d* passed, 0 failed"], timeout=TEST_ALL_TIMEOUT)
    held = ["kmalloc 100", "kmalloc 5000", "kmalloc 70000", "alloc kpages 12K",
            "alloc kpages 1M", "alloc kpages_2m 2M", "alloc base 3M"]
    for line in held:
        sc.expect("%s: %s (held)" % (name, line), line, [r"^(alloc|kmalloc): "])
    addr = alloc_addr(sc.run("alloc kpages 64K"))
    sc.expect("%s: free kpages 64K" % name, "free kpages %s 64K" % addr,
              [r"^free: "])
    addr = alloc_addr(sc.run("kmalloc 300"))
    sc.expect("%s: kfree of a kmalloc 300" % name, "kfree %s" % addr,
              [r"^kfree: "])
    # with memory to spare, the tests that measure the global arenas run
    # (not skip) and pass
    test_all(sc, "%s: test * has 0 failed, the global tests run" % name,
             [PASSED_RE % t for t in (
                 r"arena\.base_self_sufficient", r"arena\.jumbo_2m",
                 r"arena\.hash_grows_and_shrinks",
                 r"oom\.kmalloc_exhausts_the_global_arenas",
                 r"slab\.depot_exchange_and_reap")])
    test_all(sc, "%s: test * again: 0 failed" % name)
    sc.expect("%s: check: all sound" % name, "check", [r"all sound"])
    return session_end(session, sc, name, "monitor-state.log")


def monitor_fill_base_checks(opts):
    """`test *` with base filled through `alloc base` (MEM_ATOMIC) until
    not a page is left: no panic, 0 failed, the tests that allocate skip
    naming what they lack, those that do not still pass; with base given
    back, they run again."""
    name = "test with base full"
    session, sc = session_start(opts, name)
    held, size = [], 1 << 30
    while sc.alive and size >= 4096 and len(held) < 30:
        out = sc.run("alloc base %d" % size)
        addr = alloc_addr(out)
        if addr:
            held.append((addr, size))
        else:
            size //= 2
    out = sc.expect("%s: base has under a page free" % name, "meminfo",
                    [r"^\s+base\s+total\s+\d+\s+in use\s+\d+\s+free\s+"
                     r"(\d{1,3}|[0-3]\d{3}|40[0-8]\d|409[0-5])$"])
    test_all(sc, "%s: test * has 0 failed, the prompt comes back" % name,
             [MEMORY_SKIP_RE % r"arena\.create_totals",
              MEMORY_SKIP_RE % r"arena\.base_self_sufficient",
              MEMORY_SKIP_RE % r"kmalloc\.size_classes",
              MEMORY_SKIP_RE % r"oom\.kmalloc_exhausts_the_global_arenas",
              PASSED_RE % r"string\.\S+", PASSED_RE % r"printk\.\S+"])
    for addr, size in held:
        sc.run("free base %s %d" % (addr, size))
    sc.expect("%s: base given back, test arena.* runs them again" % name,
              "test arena.*",
              [PASSED_RE % r"arena\.create_totals",
               PASSED_RE % r"arena\.base_self_sufficient",
               r"^ktest: [1-9]\d* passed, 0 failed"], timeout=TEST_ALL_TIMEOUT)
    return session_end(session, sc, name, "monitor-fill-base.log")


def monitor_base_in_pieces_checks(opts):
    """At -m 16M (the least the kernel accepts), base cut into pieces by
    the monitor: all but 9000 KiB held, then 28 runs of 256 KiB taken and
    every other one freed. 5 MiB stay free, in no run of 2 MiB: `test *`
    has 0 failed, and the tests that need a long run skip naming it (they
    panicked in a MEM_WAIT allocation)."""
    name = "test with base in pieces (-m 16M)"
    session, sc = session_start(opts, name, mem="16M")
    out = sc.run("meminfo") or ""
    m = re.search(r"^\s+base\s+total\s+\d+\s+in use\s+\d+\s+free\s+(\d+)$",
                  out, re.M)
    free = int(m.group(1)) if m else 0
    sc.check("%s: meminfo shows base with over 9000 KiB free" % name,
             free > 9000 * 1024, "base free: %d" % free, out)
    sc.run("alloc base %d" % ((free - 9000 * 1024) // 4096 * 4096))
    pieces = [alloc_addr(sc.run("alloc base 256K")) for _ in range(28)]
    for addr in pieces[::2]:
        sc.run("free base %s 256K" % addr)
    run_re = (r"^\s+ok \d+ %s # SKIP needs \d+ KiB in one run free in "
              r"arena 'base', it has \d+ KiB in all")
    test_all(sc, "%s: test * has 0 failed" % name,
             [run_re % r"slab\.depot_exchange_and_reap",
              run_re % r"kmalloc\.align_every_power",
              PASSED_RE % r"arena\.base_self_sufficient"])
    sc.expect("%s: check: all sound" % name, "check", [r"all sound"])
    return session_end(session, sc, name, "monitor-base-in-pieces.log")


def monitor_jumbo_checks(opts):
    """At -m 4G, with the 1 GiB arena's page held at the prompt (there is
    room for one), the tests of 1 GiB pages skip naming it, not panic;
    with it given back, they run and pass."""
    name = "test with kpages_1g held (-m 4G)"
    session, sc = session_start(opts, name, mem="4G")
    addr = alloc_addr(sc.run("alloc kpages_1g 1G"))
    sc.run("alloc kpages_1g 1G")       # at 4G, a second does not fit
    sc.check("%s: alloc kpages_1g 1G" % name, addr is not None,
             "no address", sc.s.rest())
    sc.expect("%s: test arena.jumbo_1g skips naming the 1 GiB it needs" % name,
              "test arena.jumbo_1g",
              [r"^\s+ok \d+ arena\.jumbo_1g # SKIP needs 1 x 1 GiB .*free in "
               r"arena 'base'", r"^ktest: 0 passed, 0 failed, 1 skipped"],
              timeout=TEST_ALL_TIMEOUT)
    test_all(sc, "%s: test * has 0 failed" % name,
             [r"^\s+ok \d+ kmalloc\.align_1g # SKIP needs 1 GiB"])
    sc.expect("%s: free kpages_1g" % name, "free kpages_1g %s 1G" % addr,
              [r"^free: "])
    # (kmalloc.align_1g may still skip: the bookkeeping pages base keeps
    # from the tests before can leave no GiB and a page aligned)
    sc.expect("%s: then test arena.jumbo_1g runs and passes" % name,
              "test arena.jumbo_1g,kmalloc.align_1g",
              [PASSED_RE % r"arena\.jumbo_1g", r"^\s+ok \d+ kmalloc\.align_1g",
               r"^ktest: [12] passed, 0 failed"], timeout=TEST_ALL_TIMEOUT)
    return session_end(session, sc, name, "monitor-jumbo.log")


def monitor_checks(opts):
    # imported here: run_tests imports this module at its top
    from run_tests import LOGS, Check

    start = time.monotonic()
    session = Session(opts)
    sc = Script(session, Check)
    boot = session.until_prompt(BOOT_TIMEOUT)
    sc.check("boot runs the selected tests, then offers the prompt",
             boot is not None and
             re.search(r"^ktest: \d+ passed, 0 failed", boot or "", re.M),
             "no 'ktest: N passed, 0 failed' and prompt within %d s" %
             BOOT_TIMEOUT, boot if boot is not None else session.rest())
    sc.alive = boot is not None
    steps_inspect(sc)
    for what, line in BAD_INPUT:
        sc.expect_error(what, line)
    steps_arena_alloc(sc)
    steps_kmalloc(sc)
    steps_line_editing(sc)
    steps_test_and_exit(sc, session)
    if session.proc.poll() is None:
        session.finish(1)
    seconds = time.monotonic() - start
    sc.check("the whole session takes under 60 s", seconds < 60,
             "took %.0f s" % seconds, "")
    os.makedirs(LOGS, exist_ok=True)
    with open(os.path.join(LOGS, "monitor.log"), "w") as f:
        f.write(session.text)
    return sc.checks
