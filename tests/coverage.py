#!/usr/bin/env python3
"""coverage.py: what `make coverage` runs once the Makefile has built
build/coverage/ (gcc --coverage, -O0, no sanitizers).

  1. clears the counters (every .gcda) and objects whose source is gone;
  2. runs everything the host can run, into that one set of counters:
     the test binary with every test (each panic test in its own child,
     which writes its counters before it aborts: KMEM_COVERAGE in
     arch/host/arch.c), under each of run_tests.py's DEBUG_MODES, its
     self-tests and options, the serial monitor fed scripts on stdin, the
     library's programs (threads with 1, 2, 4 and 8 workers, a double free
     that aborts) and each fuzz corpus and tests/fuzz/crashes/ input
     replayed (tests/fuzz/replay_main.c);
  3. asks gcovr for a JSON report and an HTML one (build/coverage/html/);
  4. prints lines and branches covered per file of kern/ and lib/, then
     the allocators' figure, less the lines tests/coverage-exempt names
     and the branches of assertions (below), as its last line:
     `coverage: allocators NN.N% lines, NN.N% branches`.

Assertions: the branches gcc counts on an assertion statement (assert,
debug_assert, assert_held, assert_not_held: from the macro's name through
the `;` that ends it) are left out of the branch counts of every file: one
side of each is the panic of a broken invariant, which a sound allocator
never takes, and the rest are the short-circuits of its condition. The
lines themselves still count as lines, and what the invariants say is
tested by the checkers (arena_check, kmem_cache_check) being shown planted
corruption (tests/kern/check.c). The table says how many branches this
leaves out.

The exempt file: one entry a line, `#` starts a comment:

  FILE-GLOB  function NAME  REASON
  FILE-GLOB  line `TEXT`    REASON

leaves out of the allocators' figure the function NAME (its definition
through its closing brace), or every line whose text, less the indentation,
is TEXT with the rest of the statement it begins (through the line ending
in `;`, or the block it opens when it ends with `{`), in the files the
glob names. No line numbers: files are split and moved. An entry whose glob
names no file, whose function or line is in none of them, or without a
reason is an error (exit status 1), as is a run that did not end as it
should. `coverage.py --self-test` checks the counting on a fixed example.
"""
import argparse
import concurrent.futures
import fnmatch
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXEMPT = os.path.join("tests", "coverage-exempt")
# the allocators, globbed: arena.c and slab.c are split into arena_*.c,
# ..., and their headers' inline code (the split moves hot-path helpers
# into headers such as kern/include/arena_impl.h) counts with them
ALLOCATORS = ["kern/src/arena*.c", "kern/src/slab*.c", "kern/src/kmalloc*.c",
              "kern/src/memmap.c", "kern/src/pmem.c", "kern/*/arena*.h",
              "kern/*/slab*.h", "kern/*/kmalloc*.h", "kern/*/memmap.h",
              "kern/*/pmem.h"]
REPORTED = ["kern/", "lib/"]
REPORTED_SOURCES = ["kern/*/*.[ch]", "lib/*.c", "lib/*/*.h"]

# ---- the exempt file


class Exempt:
    def __init__(self, where, pattern, kind, what, reason):
        self.where, self.pattern, self.kind = where, pattern, kind
        self.what, self.reason = what, reason


ENTRY_RE = re.compile(r"^(\S+)\s+(?:function\s+(\w+)|line\s+`([^`]+)`)"
                      r"(?:\s+(.*\S))?\s*$")


def parse_exempt(text, name=EXEMPT):
    """The entries of an exempt file's text, and its problems."""
    entries, problems = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = "%s:%d" % (name, n)
        m = ENTRY_RE.match(line)
        if not m:
            problems.append("%s: not 'FILE-GLOB function NAME REASON' nor "
                            "'FILE-GLOB line `TEXT` REASON': %s" % (where, line))
            continue
        pattern, func, text_, reason = m.groups()
        if not reason:
            problems.append("%s: no reason given" % where)
            continue
        kind, what = ("function", func) if func else ("line", text_.strip())
        entries.append(Exempt(where, pattern, kind, what, reason))
    return entries, problems


def statement_end(lines, i):
    """The index of the last line of the statement lines[i] begins: the
    `}` (at the same indentation) closing the block it opens when it ends
    with `{`, else the next line ending with `;`."""
    first = lines[i].rstrip()
    if first.endswith("{"):
        indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
        for j in range(i + 1, len(lines)):
            if lines[j].startswith(indent + "}"):
                return j
        return i
    for j in range(i, min(len(lines), i + 20)):
        if lines[j].rstrip().endswith((";", "{", "}")):
            return j if lines[j].rstrip().endswith(";") else i
    return i


def function_ranges(lines, name):
    """[(first, last)] 0-based line indices of the definitions of name
    (kernel style: the name at the start of a line's declaration, the
    body's braces alone on their lines at column 0)."""
    call = re.compile(r"(^|[^\w])%s\s*\(" % re.escape(name))
    found = []
    for i, line in enumerate(lines):
        if not line or line[0] in " \t#/*}" or not call.search(line):
            continue
        j = i
        while j < len(lines) and j < i + 12 and lines[j].rstrip() != "{":
            if lines[j].rstrip().endswith((";", "}")):
                break
            j += 1
        if j < len(lines) and lines[j].rstrip() == "{":
            for k in range(j + 1, len(lines)):
                if lines[k].rstrip() == "}":
                    found.append((i, k))
                    break
    return found


def exempt_lines(entries, sources):
    """{path: set of 1-based line numbers} the entries leave out, and the
    entries' problems. sources: {path: text} of every file considered."""
    out, problems = {}, []
    for e in entries:
        paths = sorted(p for p in sources if fnmatch.fnmatch(p, e.pattern))
        if not paths:
            problems.append("%s: '%s' names no file" % (e.where, e.pattern))
            continue
        hits = 0
        for p in paths:
            lines = sources[p].splitlines()
            if e.kind == "function":
                spans = function_ranges(lines, e.what)
            else:
                spans = [(i, statement_end(lines, i)) for i, l in enumerate(lines)
                         if l.strip() == e.what]
            for first, last in spans:
                out.setdefault(p, set()).update(range(first + 1, last + 2))
                hits += 1
        if not hits:
            problems.append("%s: no %s %s in %s" % (
                e.where, e.kind, e.what if e.kind == "function"
                else "`%s`" % e.what, ", ".join(paths)))
    return out, problems


# ---- counting gcovr's JSON


ASSERTION_RE = re.compile(r"^\s*(assert|debug_assert|assert_held|"
                          r"assert_not_held)\s*\(")


def assertion_lines(sources):
    """{path: set of 1-based line numbers} of the assertion statements of
    each source: the line naming the macro through the one ending in `;`."""
    out = {}
    for path, text in sources.items():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if ASSERTION_RE.match(line):
                out.setdefault(path, set()).update(
                    range(i + 1, statement_end(lines, i) + 2))
    return out


def file_counts(report_file, exempt=frozenset(), asserting=frozenset()):
    """(lines, lines covered, branches, branches covered, lines exempt,
    branches of assertions left out) of one file of gcovr's JSON report,
    less the exempt line numbers and the branches of the asserting ones."""
    lines = covered = branches = taken = left_out = asserted = 0
    for ln in report_file["lines"]:
        if ln.get("gcovr/noncode") or ln.get("gcovr/excluded"):
            continue
        if ln["line_number"] in exempt:
            left_out += 1
            continue
        lines += 1
        covered += ln["count"] > 0
        if ln["line_number"] in asserting:
            asserted += len(ln["branches"])
            continue
        branches += len(ln["branches"])
        taken += sum(1 for b in ln["branches"] if b["count"] > 0)
    return lines, covered, branches, taken, left_out, asserted


def is_allocator(path):
    return any(fnmatch.fnmatch(path, g) for g in ALLOCATORS)


def percent(part, whole):
    return 100.0 * part / whole if whole else 100.0


def summarise(report, exempt, asserting=None):
    """Rows (path, allocator?, counts) sorted by path, and the allocators'
    totals (lines, covered, branches, taken, exempt, assertion branches).
    asserting: {path: assertion line numbers} (assertion_lines)."""
    rows, total = [], [0, 0, 0, 0, 0, 0]
    for f in sorted(report["files"], key=lambda f: f["file"]):
        path = f["file"]
        alloc = is_allocator(path)
        counts = file_counts(f, exempt.get(path, set()) if alloc else set(),
                             (asserting or {}).get(path, set()))
        if not counts[0] and not counts[4]:
            continue  # a header with no code of its own
        rows.append((path, alloc, counts))
        if alloc:
            total = [t + c for t, c in zip(total, counts)]
    return rows, total


def final_line(total):
    return "coverage: allocators %.1f%% lines, %.1f%% branches" % (
        percent(total[1], total[0]), percent(total[3], total[2]))


def table(rows, total):
    out = ["%-28s %17s %8s %17s %8s %7s %7s" % (
        "file (* allocator)", "lines", "", "branches", "", "exempt",
        "assert")]
    for path, alloc, (n, c, b, t, x, a) in rows:
        out.append("%-28s %17s %7.1f%% %17s %7.1f%% %7s %7s" % (
            path + (" *" if alloc else ""), "%d/%d" % (c, n), percent(c, n),
            "%d/%d" % (t, b), percent(t, b), x or "", a or ""))
    n, c, b, t, x, a = total
    out.append("%-28s %17s %7.1f%% %17s %7.1f%% %7s %7s" % (
        "allocators *", "%d/%d" % (c, n), percent(c, n), "%d/%d" % (t, b),
        percent(t, b), x or "", a or ""))
    return "\n".join(out)


# ---- what runs


# The monitor: every command, good and bad, $ before and after an
# allocation, a full table of the monitor's own allocations, line editing.
MONITOR_SCRIPT = "\n".join([
    "whatis $", "help", "arenas", "arena base", "arena kpages",
    "arena kpages_2m", "arena nosuch", "slabs", "meminfo",
    "alloc kpages 12K", "whatis $", "free kpages $ 4K", "free kpages $ 12K",
    "free kpages $ 12K", "free nosuch $ 12K", "free kpages zz 12K",
    "free kpages $ 0", "alloc base 1M", "whatis $", "alloc kpages_2m 2M",
    "whatis $", "alloc kpages_1g 1G", "alloc nosuch 4K", "alloc kpages 0",
    "alloc kpages 1x", "alloc kpages 100T", "alloc base 60T",
    "kmalloc 100", "whatis $", "kfree $", "whatis $", "kfree $",
    "kfree 0x1234",
    "kfree zz", "kmalloc 64K", "whatis $", "kmalloc 0", "kmalloc 60T",
    "whatis 0x10", "whatis zz", "whatis 0x", "check", "test string.*",
    "test nosuch.*", "frobnicate", "arenas extra", "alloc kpages",
    "a b c d e f g", "   ", "",
    "x" * 200,                     # too long
    "helq\bp", "garbage\x15help",  # backspace, Ctrl-U
    "arenas\r", "slabs\r",         # \r\n and \r line ends
    # the views, live objects in the caches and arenas first
    "kmalloc 100", "kmalloc 5000", "alloc kpages 12K", "alloc base 40K",
    "kmastat", "kmastat -h", "kmastat x", "vmem", "vmem x", "cpus",
    "cpus kmalloc-128", "cpus nosuch", "cpus x y", "map kpages", "map base",
    "map kpages_2m", "map nosuch", "map", "map kpages x", "freelists kpages",
    "freelists base", "freelists kpages_1g", "freelists nosuch",
    "freelists", "arena kpages segments", "arena base segments",
    "arena kpages x", "reap", "reap", "reap x", "meminfo x",
] + ["kmalloc 16"] * 33 + ["whatis $", "check", "meminfo", "exit", ""])


def runs(build):
    """(name, argv, environment, stdin, check(returncode, output))."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import run_tests  # late: run_tests imports this file for its check

    ktest = os.path.join(build, "ktest")
    ok = lambda *codes: lambda rc, out: rc in codes and "panic:" not in out
    # the slowest first (kmem_debug=check): the rest run beside it
    modes = sorted(run_tests.DEBUG_MODES, key=lambda m: "check" not in m)
    out = [("ktest KMEM_DEBUG=%s" % m, [ktest], {"KMEM_DEBUG": m}, None,
            ok(0)) for m in modes]
    out += [("ktest", [ktest], None, None, ok(0))]
    out += [
        ("ktest self-tests", [ktest, "ktest_selftest",
                              "ktest=ktest_selftest.*"], None, None,
         lambda rc, out: rc == 1),
        ("ktest repeated options", [ktest, "ktest=nothing", "ktest=cmdline.*",
                                    "kmem_debug=check",
                                    "kmem_debug=" + "redzone," * 20 + "poison"],
         None, None, ok(0)),
        ("ktest long command line", [ktest] + run_tests.long_cmdline().split(),
         None, None, ok(0)),
        ("ktest memory options", [ktest, "ktest=pmem.*", "mem=64M", "mem=bad",
                                  "memreserve=16M@0x2000000", "memreserve=x",
                                  "kmem_debug=nosuch"], None, None, ok(0)),
        ("monitor script", [ktest, "ktest=nomatch.*", "monitor"], None,
         MONITOR_SCRIPT, lambda rc, out: rc == 2 and "kmem> " in out and
         "monitor: leaving" in out and "panic:" not in out),
        ("monitor, debug modes, to end of input",
         [ktest, "ktest=printk.*", "monitor"],
         {"KMEM_DEBUG": "redzone,poison,audit"},
         "kmalloc 100\r\nwhatis $\r\nkfree $\r\nwhatis $\r\n"
         "alloc kpages 8K\r\nwhatis $\r\ncheck\r\nmeminfo",
         lambda rc, out: rc == 0 and "monitor: end of input" in out and
         "audit:" in out and "panic:" not in out),
    ]
    for w in (1, 2, 4, 8):
        out.append(("threads %d" % w, [os.path.join(build, "threads"), str(w)],
                    None, None,
                    lambda rc, out: rc == 0 and "all arenas sound" in out))
    out.append(("double_free", [os.path.join(build, "double_free")], None,
                None, lambda rc, out: rc == -6 and "panic:" in out))
    for f in sorted(glob.glob(os.path.join(build, "fuzz_*"))):
        t = os.path.basename(f)[len("fuzz_"):]
        crashes = sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz",
                                                "crashes", t + "-*")))
        out.append(("fuzz %s: corpus, %d of crashes/" % (t, len(crashes)),
                    [f, os.path.join(ROOT, "tests", "fuzz", "corpus", t)] +
                    crashes, None, None, ok(0)))
    return out


def run_one(name, argv, env, stdin, check):
    start = time.monotonic()
    e = dict(os.environ)
    e.pop("KMEM_DEBUG", None)
    e.update(env or {})
    try:
        r = subprocess.run(argv, cwd=ROOT, env=e, input=stdin or "",
                           capture_output=True, text=True, errors="replace",
                           timeout=600)
        rc, output = r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        rc, output = None, "(timed out after 600 s)"
    good = rc is not None and check(rc, output)
    return name, good, rc, time.monotonic() - start, output


def clean(build):
    """No counters from an earlier run; no objects of deleted sources."""
    objdir = os.path.join(build, "obj")
    for dirpath, _, files in os.walk(objdir):
        for f in files:
            path = os.path.join(dirpath, f)
            if f.endswith(".gcda"):
                os.unlink(path)
            elif f.endswith(".gcno"):
                src = os.path.relpath(path, objdir)[:-len(".gcno")] + ".c"
                if not os.path.exists(os.path.join(ROOT, src)):
                    for ext in (".gcno", ".o", ".d"):
                        stale = path[:-len(".gcno")] + ext
                        if os.path.exists(stale):
                            os.unlink(stale)


def gcovr(build, jobs):
    html = os.path.join(build, "html")
    shutil.rmtree(html, ignore_errors=True)
    os.makedirs(html)
    report = os.path.join(build, "coverage.json")
    cmd = ["gcovr", "-r", ROOT, "--object-directory", os.path.join(build, "obj"),
           "-j", str(jobs), "--json", report,
           "--html-details", os.path.join(html, "index.html"),
           "--html-title", "kmem: make coverage"]
    for f in REPORTED:
        cmd += ["--filter", f]
    if not shutil.which("gcovr"):
        sys.stderr.write("coverage: gcovr is missing (make deps installs it)\n")
        return None
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stdout + r.stderr)
        return None
    with open(report) as f:
        return json.load(f)


def sources_of(patterns):
    out = {}
    for g in patterns:
        for p in glob.glob(os.path.join(ROOT, g)):
            with open(p, errors="replace") as f:
                out[os.path.relpath(p, ROOT)] = f.read()
    return out


def check_exempt_file(path=None):
    """The problems of the real exempt file, against the real sources."""
    with open(path or os.path.join(ROOT, EXEMPT)) as f:
        entries, problems = parse_exempt(f.read())
    _, more = exempt_lines(entries, sources_of(ALLOCATORS))
    return problems + more


# ---- the self-test (run_tests.py runs it in make test)

SELFTEST_SOURCE = """\
/* a.c */
static int hot(int x)
{
	if (x)
		return 1;
	return 0;
}

void __cold kernel_only(int x,
			int y)
{
	if (x > y) {
		x++;
		y++;
	}
}
"""
# hot: lines 2-7 (4 code lines, line 4 with 2 branches, one taken; the
# statement `if (x)` begins is lines 4-5); kernel_only: lines 9-16, never
# run; the block `if (x > y) {` opens, lines 12-15.
SELFTEST_REPORT = {"files": [
    {"file": "kern/src/arena_test.c", "lines": [
        {"line_number": 1, "count": 0, "branches": [], "gcovr/noncode": True},
        {"line_number": 2, "count": 3, "branches": []},
        {"line_number": 4, "count": 3, "branches": [{"count": 3},
                                                   {"count": 0}]},
        {"line_number": 5, "count": 3, "branches": []},
        {"line_number": 6, "count": 0, "branches": []},
        {"line_number": 9, "count": 0, "branches": []},
        {"line_number": 12, "count": 0, "branches": [{"count": 0},
                                                    {"count": 0}]},
        {"line_number": 13, "count": 0, "branches": []},
        {"line_number": 14, "count": 0, "branches": []}]},
    {"file": "lib/other.c", "lines": [
        {"line_number": 1, "count": 0, "branches": []}]},
]}


def self_test():
    """Problems with the counting, the exempt parser and the real exempt
    file; [] when all is well."""
    problems = []
    sources = {"kern/src/arena_test.c": SELFTEST_SOURCE}
    good = ("kern/src/arena*.c  function kernel_only  only the kernel\n"
            "# a comment\n\n"
            "kern/src/arena*.c  line `if (x) `  a line\n")
    entries, p = parse_exempt(good, "good")
    ex, p2 = exempt_lines(entries, sources)
    if p or p2:
        problems.append("good entries refused: %s" % (p + p2))
    if ex.get("kern/src/arena_test.c") != set(range(9, 17)) | {4, 5}:
        problems.append("exempt lines %s, not 4-5 and 9-16" %
                        sorted(ex.get("kern/src/arena_test.c", ())))
    rows, total = summarise(SELFTEST_REPORT, ex)
    if total != [2, 1, 0, 0, 6, 0] or len(rows) != 2 or not rows[0][1] \
            or rows[1][1]:
        problems.append("totals %s, rows %s: want [2, 1, 0, 0, 6, 0] and the "
                        "arena file alone an allocator" % (total, rows))
    if final_line(total) != "coverage: allocators 50.0% lines, 100.0% branches":
        problems.append("final line %r" % final_line(total))
    # nothing exempt: 8 lines, 3 covered; 4 branches, 1 taken
    _, total = summarise(SELFTEST_REPORT, {})
    if final_line(total) != "coverage: allocators 37.5% lines, 25.0% branches":
        problems.append("final line without exemptions %r" % final_line(total))
    # an assertion's branches leave the branch counts, its lines stay
    asserting = assertion_lines({"kern/src/a.c": "int f(int x)\n{\n"
                                 "\tassert(x > 0 &&\n\t       x < 9);\n"
                                 "\tdebug_assert(x);\n\treturn x;\n}\n"})
    if asserting != {"kern/src/a.c": {3, 4, 5}}:
        problems.append("assertion lines %s, not 3-5" % asserting)
    _, total = summarise(SELFTEST_REPORT, {},
                         {"kern/src/arena_test.c": {4}})
    if total != [8, 3, 2, 0, 0, 2] or final_line(total) != \
            "coverage: allocators 37.5% lines, 0.0% branches":
        problems.append("with line 4 an assertion: totals %s, %r" %
                        (total, final_line(total)))
    # the block a line opens
    ex, _ = exempt_lines(parse_exempt("kern/src/a*.c line `if (x > y) {` r")[0],
                         sources)
    if ex.get("kern/src/arena_test.c") != {12, 13, 14, 15}:
        problems.append("a line's block: %s, not 12-15" %
                        sorted(ex.get("kern/src/arena_test.c", ())))
    # every kind of bad entry is reported, each once
    bad = ("kern/src/nosuch*.c  function hot  no file\n"
           "kern/src/arena*.c  function nosuch  no function\n"
           "kern/src/arena*.c  function hot\n"
           "kern/src/arena*.c  line `no such line;`  no line\n"
           "kern/src/arena*.c  lines 12-14  a line number\n")
    entries, p = parse_exempt(bad, "bad")
    _, p2 = exempt_lines(entries, sources)
    want = ["bad:1: 'kern/src/nosuch*.c' names no file",
            "bad:2: no function nosuch in kern/src/arena_test.c",
            "bad:3: no reason given",
            "bad:4: no line `no such line;` in kern/src/arena_test.c",
            "bad:5: not 'FILE-GLOB function"]
    got = p + p2
    for w in want:
        if sum(1 for g in got if g.startswith(w)) != 1:
            problems.append("bad entry not reported once: %r in %s" % (w, got))
    if len(got) != len(want):
        problems.append("%d problems reported, want %d: %s" %
                        (len(got), len(want), got))
    problems += check_exempt_file()
    return problems


# ---- main


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build", "coverage"))
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--self-test", action="store_true",
                   help="check the counting on a fixed example, and the "
                        "exempt file against the sources")
    p.add_argument("--report-only", action="store_true",
                   help="report the counters of the last run, running nothing")
    opts = p.parse_args()
    if opts.self_test:
        problems = self_test()
        for q in problems:
            print("coverage self-test: " + q)
        print("coverage self-test: %s" % ("failed" if problems else "ok"))
        return 1 if problems else 0

    start = time.monotonic()
    build = os.path.abspath(opts.build)
    failed = []
    with open(os.path.join(ROOT, EXEMPT)) as f:
        entries, problems = parse_exempt(f.read())
    if not opts.report_only:
        clean(build)
    with concurrent.futures.ThreadPoolExecutor(opts.jobs) as pool:
        for name, good, rc, secs, output in pool.map(
                lambda r: run_one(*r),
                [] if opts.report_only else runs(build)):
            print("run: %-40s exit %-4s %5.1f s%s" % (
                name, rc, secs, "" if good else "  UNEXPECTED"))
            if not good:
                failed.append(name)
                sys.stdout.write("".join("    | %s\n" % l for l in
                                         output.splitlines()[-30:]))
    report = gcovr(build, opts.jobs)
    if report is None:
        print("coverage: gcovr failed")
        return 1
    exempt, more = exempt_lines(entries, sources_of(ALLOCATORS))
    problems += more
    rows, total = summarise(report, exempt,
                            assertion_lines(sources_of(REPORTED_SOURCES)))
    print(table(rows, total))
    print("html: %s" % os.path.relpath(os.path.join(build, "html",
                                                    "index.html"), ROOT))
    for q in problems:
        print("exempt: " + q)
    if failed:
        print("runs that did not end as they should: %s" % ", ".join(failed))
    print("(%.0f s; %d lines exempt by %s; %d branches of assertions left "
          "out)" % (time.monotonic() - start, total[4], EXEMPT, total[5]))
    print(final_line(total))
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
