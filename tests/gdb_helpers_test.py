"""gdb_helpers_test.py: the gdb helpers (tools/gdb/kmem.py) against a boot.

One QEMU boot, stopped with its gdb stub; gdb sources the helpers and
  1. at kmalloc_init (pmem_init has printed the arena table just before):
     kmem-arenas must give the same quantum, in use, total, segments and
     source per arena as that table on serial;
  2. at ktest_main (pmem_init done, the cache table printed): kmem-slabs
     must give the same rows as the cache table; kmem-check must find
     everything sound; kmem-arena base must list a span and segments, and
     kmem-whatis of its first allocated segment must name base, allocated;
     kmem-vmem must put base
     first and its importers indented below it; kmem-arena base -v must
     give each tag's address, and kmem-btag of an allocated one must name
     its type, start and end as that row does;
  3. at kfree of a kmalloc_128 buffer (the kmalloc tests running):
     kmem-whatis of an address inside it must name cache kmalloc_128, an
     allocated object, and the kmalloc buffer at the pointer kfree got;
     kmem-kmastat must give every cache of kmem-slabs with the same
     objects in use and in all, and every arena;
  4. in a second boot, with kpages' lock word set and base's segment list
     made cyclic from gdb: the lock is named and the walks end.
run_tests.py runs gdb_helpers_checks(opts) among its jobs.
"""
import os
import re


CMDLINE = "ktest=kmalloc.size_classes"
TIMEOUT = 60


def run_tests():
    """run_tests.py as a module (imported late: it imports this file)."""
    import run_tests as rt
    return rt


def gdb_session(commands, serial_log, timeout=TIMEOUT):
    """Boot CMDLINE stopped, run gdb in batch mode with commands against it."""
    out, _, serial = run_tests().gdb_session(None, commands, serial_log,
                                             timeout, cmdline=CMDLINE)
    return out, serial


def section(out, name):
    """The gdb output between the markers ==name== and the next marker."""
    m = re.search(r"^==%s==\n(.*?)(?=^==|\Z)" % re.escape(name), out,
                  re.M | re.S)
    return m.group(1) if m else ""


def table(text, header_word, ncols):
    """Rows of a table whose header starts with header_word: {name: cols}."""
    rows, on = {}, False
    for line in text.splitlines():
        f = line.split()
        if f and f[0] == header_word and not on:
            on = True
            continue
        if on:
            if len(f) != ncols or not f[1].isdigit():
                break
            rows[f[0]] = f
    return rows


# what kfree's argument must be to stop: a live kmalloc_128 buffer
KFREE_128 = ("hbreak *kfree if $rdi != 0 && "
             "*(unsigned long *)($rdi - 16) == (unsigned long)kmalloc_caches[2]")
BTAG_BASE = (
    "python import re; o = gdb.execute('kmem-arena base -v', to_string=True); "
    "m = re.search(r'^(0x[0-9a-f]+)   (0x[0-9a-f]+) (0x[0-9a-f]+) +\\d+  "
    "allocated', o, re.M); "
    "gdb.write('row %s %s %s\\n' % m.groups()); "
    "gdb.execute('kmem-btag ' + m.group(1))")
WHATIS_BASE = (
    "python import re; o = gdb.execute('kmem-arena base', to_string=True); "
    "a = re.search(r'^  (0x[0-9a-f]+) \\S+ +\\d+  allocated', o, re.M).group(1); "
    "gdb.write('first allocated %s\\n' % a); gdb.execute('kmem-whatis ' + a)")


def gdb_helpers_checks(opts):
    """Run every helper in one stopped boot; check them against serial."""
    rt = run_tests()
    Check, tail = rt.Check, rt.tail
    serial_log = os.path.join(rt.LOGS, "gdb-helpers.serial")
    out, serial = gdb_session([
        "source tools/gdb/kmem.py",
        "hbreak kmalloc_init", "continue",
        "echo ==ARENAS==\\n", "kmem-arenas",
        "delete", "hbreak ktest_main", "continue",
        "echo ==SLABS==\\n", "kmem-slabs",
        "echo ==CPUS==\\n", "kmem-cpus",
        "echo ==CPUS-CACHE==\\n", "kmem-cpus kmalloc_128",
        "echo ==CHECK==\\n", "kmem-check",
        "echo ==BASE==\\n", "kmem-arena base",
        "echo ==WHATIS-BASE==\\n", WHATIS_BASE,
        "echo ==VMEM==\\n", "kmem-vmem",
        "echo ==BTAG==\\n", BTAG_BASE,
        "delete", KFREE_128, "continue",
        "echo ==WHATIS-KMALLOC==\\n", "printf \"buf 0x%lx\\n\", $rdi",
        "kmem-whatis $rdi + 40",
        "echo ==SLABS2==\\n", "kmem-slabs",
        "echo ==KMASTAT==\\n", "kmem-kmastat",
        "echo ==CHECK2==\\n", "kmem-check",
        "echo ==END==\\n", "kill"], serial_log)
    with open(os.path.join(rt.LOGS, "gdb-helpers.log"), "w") as f:
        f.write(out)
    details = tail(out, 60) + "\n" + tail(serial, 40)
    checks = []

    def check(name, problems):
        """One Check: pass when problems is empty."""
        checks.append(Check("gdb helpers: " + name,
                            "fail" if problems else "pass",
                            "; ".join(problems[:3]), details))

    # 1. kmem-arenas against arena_print_stats
    start = serial.find("pmem_init:")
    kern = table(serial[start:], "arena", 10) if start >= 0 else {}
    mine = table(section(out, "ARENAS"), "arena", 7)
    problems = [] if kern else ["no arena table on serial"]
    for name, k in kern.items():
        m = mine.get(name)
        if not m:
            problems.append("kmem-arenas lacks %s" % name)
            continue
        want = [k[1], k[2], k[3], k[8], k[9]]  # quantum in-use total segs src
        got = [m[1], m[2], m[3], m[5], m[6]]
        if want != got:
            problems.append("%s: kernel %s, gdb %s" % (name, want, got))
        if int(m[4]) != int(m[3]) - int(m[2]):
            problems.append("%s: free is not total - in use" % name)
    if set(mine) != set(kern):
        problems.append("arena names differ: %s vs %s" % (sorted(mine),
                                                          sorted(kern)))
    check("kmem-arenas matches arena_print_stats", problems)

    # 2. kmem-slabs against kmem_cache_print_all
    kern = table(serial[start:] if start >= 0 else "", "cache", 12)
    mine = table(section(out, "SLABS"), "cache", 12)
    problems = [] if kern else ["no cache table on serial"]
    if "kmalloc_128" not in kern:
        problems.append("kernel's cache table lacks kmalloc_128")
    if set(mine) != set(kern):
        problems.append("cache names differ: %s vs %s" % (sorted(mine),
                                                          sorted(kern)))
    problems += ["%s: kernel %s, gdb %s" % (n, kern[n], mine[n])
                 for n in kern if n in mine and mine[n] != kern[n]]
    check("kmem-slabs matches kmem_cache_print_all", problems)

    # kmem-cpus: the boot's one CPU (APIC ID 0), and a cache's columns
    cpus = section(out, "CPUS").splitlines()
    cache = section(out, "CPUS-CACHE").splitlines()
    problems = []
    if len(cpus) != 2 or cpus[1].split()[:2] != ["0", "0"]:
        problems.append("kmem-cpus: expected a header and CPU 0 with APIC "
                        "ID 0: %r" % cpus)
    if len(cache) != 2 or "hits" not in cache[0] or \
            len(cache[1].split()) != 11 or cache[1].split()[7] != "30":
        problems.append("kmem-cpus kmalloc_128: expected CPU 0's rounds and "
                        "a 30-round magazine: %r" % cache)
    check("kmem-cpus: the CPUs, and a cache's magazines on each", problems)

    # kmem-check, at ktest_main and in the middle of a kmalloc test
    problems = ["%s: %s" % (s, section(out, s).strip() or "no output")
                for s in ("CHECK", "CHECK2") if
                "kmem-check: all arenas and caches sound" not in section(out, s)]
    check("kmem-check finds everything sound", problems)

    # kmem-arena base, and whatis of its first allocated segment
    base = section(out, "BASE")
    problems = []
    if not re.search(r"^0x[0-9a-f]+ 0x[0-9a-f]+ +\d+  span", base, re.M):
        problems.append("kmem-arena base lists no span")
    if not re.search(r"^  0x[0-9a-f]+ 0x[0-9a-f]+ +\d+  (free|allocated)",
                     base, re.M):
        problems.append("kmem-arena base lists no segment")
    w = section(out, "WHATIS-BASE")
    m = re.search(r"first allocated (0x[0-9a-f]+)", w)
    if not m:
        problems.append("no allocated segment in base to ask about")
    elif not re.search(r"^%s: arena base, span \[0x[0-9a-f]+, 0x[0-9a-f]+\), "
                       r"segment \[%s, 0x[0-9a-f]+\) allocated" % (
                           m.group(1), m.group(1)), w, re.M):
        problems.append("kmem-whatis %s does not say arena base, allocated"
                        % m.group(1))
    check("kmem-arena base and kmem-whatis of its allocated segment", problems)

    # kmem-kmastat: the caches of kmem-slabs, the same counts; the arenas
    slabs = table(section(out, "SLABS2"), "cache", 12)
    km = section(out, "KMASTAT")
    rows = table(km.split("\n\n")[0], "cache", 10)
    problems = [] if rows else ["kmem-kmastat printed no cache row"]
    if not any(int(r[3]) > 0 for r in rows.values()):
        problems.append("no cache holds an object: nothing compared")
    if set(rows) != set(slabs):
        problems.append("caches differ from kmem-slabs: %s vs %s" % (
            sorted(rows), sorted(slabs)))
    for n, r in rows.items():
        if n in slabs and (r[2], r[3]) != (slabs[n][1], slabs[n][2]):
            problems.append("%s: in use/total %s/%s, kmem-slabs %s/%s" % (
                n, r[2], r[3], slabs[n][1], slabs[n][2]))
        if not re.match(r"^\d+/\d+/\d+$", r[6]):
            problems.append("%s: slabs column %r" % (n, r[6]))
    for a in ("base", "kpages", "kpages_2m", "kpages_1g"):
        if not re.search(r"^%s\s+\S+\s+\S+\s+\S+\s+\d+\s+\d+" % a, km, re.M):
            problems.append("kmem-kmastat lacks arena %s" % a)
    check("kmem-kmastat: every cache with kmem-slabs' counts, every arena",
          problems)

    # kmem-vmem: base first, its importers indented below it
    vm = section(out, "VMEM").splitlines()
    problems = []
    if len(vm) < 5 or not vm[1].startswith("base ") or \
            not vm[1].rstrip().endswith(" -"):
        problems.append("kmem-vmem: base is not the first row: %r" % vm[:2])
    for a in ("kpages", "kpages_2m", "kpages_1g"):
        if not any(re.match(r"^  %s\s.*\sbase$" % a, l) for l in vm):
            problems.append("kmem-vmem: %s not indented below base" % a)
    check("kmem-vmem: sources above importers, indented", problems)

    # kmem-arena base -v and kmem-btag of one of its allocated tags
    bt = section(out, "BTAG")
    m = re.search(r"^row (0x[0-9a-f]+) (0x[0-9a-f]+) (0x[0-9a-f]+)$", bt,
                  re.M)
    problems = []
    if not m:
        problems.append("kmem-arena base -v gave no tag address")
    elif not re.search(r"^btag %s: allocated \[%s, %s\) \d+ bytes$" % (
            int(m.group(1), 16) and "0x%x" % int(m.group(1), 16),
            "0x%x" % int(m.group(2), 16), "0x%x" % int(m.group(3), 16)),
            bt, re.M):
        problems.append("kmem-btag does not name the tag's type and range")
    check("kmem-arena base -v and kmem-btag of an allocated tag", problems)

    # whatis inside a live kmalloc_128 buffer
    w = section(out, "WHATIS-KMALLOC")
    problems = []
    m = re.search(r"^buf (0x[0-9a-f]+)", w, re.M)
    if not m:
        problems.append("never stopped in kfree of a kmalloc_128 buffer")
    else:
        buf = int(m.group(1), 16)
        a = "0x%x" % (buf + 40)
        if not re.search(r"^%s: cache kmalloc_128, slab 0x[0-9a-f]+ .*object "
                         r"0x%x index \d+: allocated$" % (a, buf - 16), w,
                         re.M):
            problems.append("kmem-whatis does not name the allocated object "
                            "of kmalloc_128")
        if not re.search(r"^%s: kmalloc buffer 0x%x of cache kmalloc_128 "
                         r"\(offset 16, tag live\)" % (a, buf), w, re.M):
            problems.append("kmem-whatis does not name the kmalloc buffer")
        if not re.search(r"^%s: arena kpages, .* allocated" % a, w, re.M):
            problems.append("kmem-whatis does not name the kpages segment")
    check("kmem-whatis inside a kmalloc_128 buffer", problems)
    # a held lock is named; a cyclic segment list ends with a message
    out2, _ = gdb_session([
        "source tools/gdb/kmem.py", "hbreak ktest_main", "continue",
        "set var kpages_arena->lock.locked = 1",
        "echo ==LOCKED==\\n", "kmem-arenas",
        "set var base_arena->seg_head.seg_next->seg_next->seg_next = "
        "base_arena->seg_head.seg_next->seg_next",
        "echo ==CYCLE==\\n", "kmem-check", "kmem-arena base",
        "echo ==END==\\n", "kill"],
        os.path.join(rt.LOGS, "gdb-helpers-broken.serial"))
    with open(os.path.join(rt.LOGS, "gdb-helpers-broken.log"), "w") as f:
        f.write(out2)
    problems = []
    if "arena kpages locked: may be inconsistent" not in section(out2, "LOCKED") \
            or not re.search(r"^base ", section(out2, "LOCKED"), re.M):
        problems.append("kmem-arenas did not name the held lock and finish")
    cyc = section(out2, "CYCLE")
    if not re.search(r"kmem-check: arena 'base': .*a cycle", cyc):
        problems.append("kmem-check did not report base's cycle")
    if "a cycle?): stopped" not in cyc:
        problems.append("kmem-arena base did not stop on the cycle")
    checks.append(Check("gdb helpers: held lock named, cyclic list bounded",
                        "fail" if problems else "pass", "; ".join(problems),
                        tail(out2, 40)))
    out += out2
    if "Traceback" in out or "Python Exception" in out:
        check("no Python errors", ["a helper raised: see the log"])
    return checks
