#!/usr/bin/env python3
"""labs.py: the graded labs of docs/labs/ (make labs, lab-start, grade).

    labs.py list                 one line per lab, its name first
    labs.py start NAME           branch lab/NAME with the lab's functions
                                 replaced by its stubs, committed
    labs.py grade NAME           the lab's tests on the host and in QEMU,
                                 each test's points, then one line
                                 `grade: NAME P/T points`; exit 0 only on
                                 full marks; build/grade-NAME.json
    labs.py check NAME [DIR]     both ways, for make test and .ci/run: full
                                 marks here; then in a scratch clone (DIR,
                                 default build/lab-check/NAME) after
                                 `start`: 0 points, and every test that is
                                 not graded still passes, host and kernel

A lab is a folder docs/labs/NAME/ holding README.md (the text: goal, what
to read, hints, how to test), stubs.c (the stubs: whole function
definitions, found by name) and lab.json:

    {"title": "...", "order": 1,
     "replace": {"kern/src/arena.c": ["free_segment_locked", ...]},
     "tests": {"arena.coalesce_grows_the_free_neighbour_before": 3, ...},
     "kernel": true, "kmem_debug": "poison"}

"hidden": true (optional) keeps `start` from naming the functions it
replaced, in what it prints and in its commit: a bug hunt's.

"kmem_debug" (optional) names the debug modes `grade` runs the graded
tests under, on the host (KMEM_DEBUG) and in the kernel (kmem_debug=):
a bug that only a debug mode shows is graded there. The other tests,
which `check` runs with the stubs, run without modes, as a plain boot
does.

`start` replaces each named function of each file, from the first line
of its declaration to its closing brace, by the definition of the same
name in stubs.c; the comment above it stays, as the specification. It
refuses a tree with changes to tracked files, and a branch that exists
already, and commits with an identity of its own, so that it works in a
clone that has none. main holds the solutions: `grade` there gives full
marks, and after `start` the stubs score 0 on the graded tests.
"""
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import qemu  # noqa: E402

LABS = os.path.join(ROOT, "docs", "labs")
HOST_TEST = os.path.join(ROOT, "build", "host", "ktest")
IDENTITY = ["-c", "user.name=kmem labs", "-c", "user.email=labs@kmem.invalid"]
BOOT_TIMEOUT = 300
RESULT = re.compile(r"^\s*(ok|not ok) \d+ (\S+\.\S+)(?: # (\w+))?")


class LabError(Exception):
    """Something the user must fix; the message says what."""


def lab_names():
    """Every lab's name, in the order its lab.json gives."""
    if not os.path.isdir(LABS):
        return []
    names = [n for n in os.listdir(LABS)
             if os.path.isfile(os.path.join(LABS, n, "lab.json"))]
    return sorted(names, key=lambda n: (load(n).get("order", 99), n))


def load(name):
    """The lab's lab.json, with its folder."""
    path = os.path.join(LABS, name, "lab.json")
    if not re.match(r"^[a-z0-9-]+$", name or "") or not os.path.isfile(path):
        raise LabError("no lab '%s' (make labs lists them)" % name)
    with open(path) as f:
        lab = json.load(f)
    lab["name"], lab["dir"] = name, os.path.dirname(path)
    return lab


# ---- finding a C function by name


def _skip_literal(text, i):
    """The index after the comment or literal starting at i, or i."""
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text[i] in "\"'":
        q, j = text[i], i + 1
        while j < len(text) and text[j] != q:
            j += 2 if text[j] == "\\" else 1
        return j + 1
    return i


def find_function(text, name):
    """(start, end) of the definition of function name in C text: from the
    first line of its declaration to after its closing brace."""
    depth, i = 0, 0
    pattern = re.compile(r"\b%s\s*\(" % re.escape(name))
    while i < len(text):
        j = _skip_literal(text, i)
        if j != i:
            i = j
            continue
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and c == name[0]:
            m = pattern.match(text, i)
            if m and (i == 0 or not (text[i - 1].isalnum() or
                                     text[i - 1] == "_")):
                body = _body_after_params(text, m.end())
                if body is not None:
                    return _decl_start(text, i), _match_brace(text, body)
        i += 1
    raise LabError("no definition of %s found" % name)


def _body_after_params(text, i):
    """After a parameter list opened before i: the index of the body's {,
    or None if this is a declaration or a call."""
    depth = 1
    while i < len(text) and depth:
        j = _skip_literal(text, i)
        if j != i:
            i = j
            continue
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    m = re.compile(r"(\s|__attribute__\s*\(\(.*?\)\))*").match(text, i)
    i = m.end()
    return i if i < len(text) and text[i] == "{" else None


def _match_brace(text, i):
    """The index after the } that closes the { at i."""
    depth = 0
    while i < len(text):
        j = _skip_literal(text, i)
        if j != i:
            i = j
            continue
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise LabError("unbalanced braces")


def _decl_start(text, i):
    """The start of the line where the declaration holding i begins: lines
    above that are not blank, a comment's end, a ; or a } belong to it."""
    start = text.rfind("\n", 0, i) + 1
    while start > 0:
        prev = text.rfind("\n", 0, start - 1) + 1
        line = text[prev:start - 1].strip()
        if not line or line.endswith(("*/", ";", "}", "{")) or \
                line.startswith("#"):
            break
        start = prev
    return start


def replace_functions(text, names, stubs):
    """text with each function of names replaced by its stub's definition."""
    for name in names:
        s, e = find_function(stubs, name)
        start, end = find_function(text, name)
        text = text[:start] + stubs[s:e] + text[end:]
    return text


# ---- the commands


def git(*args, cwd=ROOT, check=True):
    """Run git; its stdout."""
    r = subprocess.run(["git"] + list(args), cwd=cwd, capture_output=True,
                       text=True)
    if check and r.returncode:
        raise LabError("git %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def cmd_list():
    names = lab_names()
    width = max([len(n) for n in names] + [0])
    for n in names:
        lab = load(n)
        print("%-*s  %s (%d points; docs/labs/%s/README.md)" % (
            width, n, lab["title"], sum(lab["tests"].values()), n))
    return 0


def cmd_start(name):
    lab = load(name)
    branch = "lab/" + name
    if git("status", "--porcelain", "--untracked-files=no").strip():
        raise LabError("the tree has changes to tracked files: commit or "
                       "stash them first (git status)")
    if git("rev-parse", "--verify", "--quiet", "refs/heads/" + branch,
           check=False).strip():
        raise LabError("branch %s exists already: check it out to go on, "
                       "or delete it (git branch -D %s) to start over"
                       % (branch, branch))
    with open(os.path.join(lab["dir"], "stubs.c")) as f:
        stubs = f.read()
    new = {}
    for path, names in lab["replace"].items():
        with open(os.path.join(ROOT, path)) as f:
            new[path] = replace_functions(f.read(), names, stubs)
    git("checkout", "-q", "-b", branch)
    for path, text in new.items():
        with open(os.path.join(ROOT, path), "w") as f:
            f.write(text)
    git("add", *new)
    funcs = [n for names in lab["replace"].values() for n in names]
    # a hunt's bug is not named: finding where it is is the exercise
    what = ("the lab's code is in place" if lab.get("hidden") else
            "%s %s" % (", ".join(funcs),
                       "is a stub now" if len(funcs) == 1 else
                       "are stubs now"))
    git(*IDENTITY, "commit", "-q", "-m",
        "lab %s: the exercise: %s (docs/labs/%s)" % (name, what, name))
    print("lab-start: on branch %s: %s; docs/labs/%s/README.md says what to "
          "do, make grade LAB=%s scores it" % (branch, what, name, name))
    return 0


def ktap_results(text):
    """{test name: "ok", "not ok" or "skip"} from KTAP output."""
    out = {}
    for line in text.splitlines():
        m = RESULT.match(line)
        if m:
            out[m.group(2)] = "skip" if m.group(3) == "SKIP" else m.group(1)
    return out


def build():
    """Build the kernel and the host test binary; raise if it fails."""
    r = subprocess.run(["make", "-s", "build/kernel.elf", "build/host/ktest"],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        raise LabError("the build fails (-Werror):\n" +
                       "\n".join((r.stdout + r.stderr).splitlines()[-30:]))


def run_host(globs, modes=None):
    """The host test binary on globs, under the debug modes if any: its
    results."""
    env = dict(os.environ)
    env.pop("KMEM_DEBUG", None)
    if modes:
        env["KMEM_DEBUG"] = modes
    r = subprocess.run([HOST_TEST, "ktest=" + globs], capture_output=True,
                       text=True, timeout=600, env=env, cwd=ROOT)
    return ktap_results(r.stdout), r.stdout + r.stderr


def run_kernel(globs, log, modes=None):
    """One boot running globs, under the debug modes if any: its results."""
    b = qemu.boot("ktest=" + globs + (" kmem_debug=" + modes if modes else ""),
                  BOOT_TIMEOUT, log=log)
    return ktap_results(b.output), b.output


def grade(name, quiet=False):
    """Score the lab here; returns (points, total, rows)."""
    lab = load(name)
    build()
    globs = ",".join(lab["tests"])
    modes = lab.get("kmem_debug")
    if modes and not quiet:
        print("grade: %s: the graded tests run under kmem_debug=%s" % (
            name, modes))
    host, _ = run_host(globs, modes)
    kernel = {}
    if lab.get("kernel", True):
        kernel, _ = run_kernel(globs, os.path.join(
            ROOT, "build", "test-logs", "grade-%s.log" % name), modes)
    rows, points = [], 0
    for test, worth in lab["tests"].items():
        where = [host.get(test, "missing")]
        if lab.get("kernel", True):
            where.append(kernel.get(test, "missing"))
        # a test earns its points when it passes wherever it runs (a panic
        # test runs on the host only; a host-only test is not in the kernel)
        ran = [w for w in where if w not in ("skip", "missing")]
        earned = worth if ran and all(w == "ok" for w in ran) else 0
        points += earned
        rows.append({"test": test, "points": worth, "earned": earned,
                     "host": where[0],
                     "kernel": where[1] if len(where) > 1 else "not run"})
    total = sum(lab["tests"].values())
    if not quiet:
        for r in rows:
            print("  %-52s host %-7s kernel %-7s %2d/%d" % (
                r["test"], r["host"], r["kernel"], r["earned"], r["points"]))
        print("grade: %s %d/%d points" % (name, points, total))
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "grade-%s.json" % name), "w") as f:
        json.dump({"lab": name, "points": points, "total": total,
                   "commit": git("rev-parse", "HEAD").strip(),
                   "tests": rows}, f, indent=1)
    return points, total, rows


def cmd_grade(name):
    points, total, _ = grade(name)
    return 0 if points == total else 1


def reuse_objects(clone):
    """Give the clone main's kernel and host objects, newer than its fresh
    sources, so that only what the lab changes is compiled again."""
    for sub in ("kernel", "host"):
        src = os.path.join(ROOT, "build", sub)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(clone, "build", sub),
                            symlinks=True)
    for top in ("build/kernel.elf",):
        if os.path.exists(os.path.join(ROOT, top)):
            shutil.copy2(os.path.join(ROOT, top), os.path.join(clone, top))
    subprocess.run(["find", os.path.join(clone, "build"), "-exec", "touch",
                    "{}", "+"], check=True)


def cmd_check(name, scratch=None):
    """Both ways: full marks here; 0 points after start in a clone, and no
    other test failing there. Prints one line per way; 0 if both hold."""
    lab = load(name)
    points, total, _ = grade(name, quiet=True)
    ok = points == total
    print("lab-check: %s: the solutions (this tree): %d/%d points" % (
        name, points, total))
    clone = scratch or os.path.join(ROOT, "build", "lab-check", name)
    shutil.rmtree(clone, ignore_errors=True)
    os.makedirs(os.path.dirname(clone), exist_ok=True)
    git("clone", "-q", "--no-hardlinks", ROOT, clone)
    reuse_objects(clone)
    tool = [sys.executable, os.path.join(clone, "tools", "labs.py")]

    def start():
        """lab-start in the clone: (exit status, what it printed)."""
        r = subprocess.run(tool + ["start", name], cwd=clone,
                           capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    # it refuses a tree with changes, then starts, then refuses again
    with open(os.path.join(clone, "README.md"), "a") as f:
        f.write("\n")
    dirty = start()
    git("checkout", "-q", "--", "README.md", cwd=clone)
    started = start()
    again = start()
    refusals = dirty[0] == 2 and "changes to tracked files" in dirty[1] and \
        again[0] == 2 and "exists already" in again[1]
    print("lab-check: %s: lab-start refuses a dirty tree and an existing "
          "branch: %s" % (name, "yes" if refusals else "NO"))
    if started[0] or not refusals:
        print("lab-check: %s: lab-start: %s / %s / %s" % (
            name, dirty, started, again))
        return 1
    r = subprocess.run(tool + ["grade", name], cwd=clone, capture_output=True,
                       text=True)
    m = re.search(r"^grade: \S+ (\d+)/(\d+) points$", r.stdout, re.M)
    stub_points = int(m.group(1)) if m else -1
    print("lab-check: %s: the stubs (a clone, after lab-start): %s/%d points"
          % (name, m.group(1) if m else "no grade line", total))
    if stub_points != 0:
        print(r.stdout[-3000:] + r.stderr[-2000:])
        ok = False
    # every test not graded passes with the stubs: host, then one boot
    graded = set(lab["tests"])
    env = dict(os.environ)
    env.pop("KMEM_DEBUG", None)
    h = subprocess.run([os.path.join(clone, "build", "host", "ktest")],
                       capture_output=True, text=True, timeout=900,
                       cwd=clone, env=env)
    host = ktap_results(h.stdout)
    b = qemu_boot_in(clone, name)
    bad = sorted("host " + t for t, s in host.items()
                 if s == "not ok" and t not in graded) + sorted(
        "kernel " + t for t, s in b.items()
        if s == "not ok" and t not in graded)
    ran = len(host) > 100 and len(b) > 100
    print("lab-check: %s: with the stubs, tests not graded: %d on the host, "
          "%d in the kernel, %d failed%s" % (
              name, len([t for t in host if t not in graded]),
              len([t for t in b if t not in graded]), len(bad),
              (": " + ", ".join(bad[:8])) if bad else ""))
    if bad or not ran:
        ok = False
    print("lab-check: %s: %s" % (name, "both ways hold" if ok else "FAILED"))
    return 0 if ok else 1


def qemu_boot_in(clone, name):
    """Every test in one boot of the clone's kernel: its results."""
    r = subprocess.run(
        [sys.executable, "-c",
         "import sys; sys.path.insert(0, 'tests'); import qemu; "
         "b = qemu.boot('', %d, log='build/test-logs/lab-check-%s.log'); "
         "sys.stdout.write(b.output)" % (BOOT_TIMEOUT, name)],
        cwd=clone, capture_output=True, text=True, timeout=BOOT_TIMEOUT + 60)
    return ktap_results(r.stdout)


def main(argv):
    try:
        if len(argv) == 2 and argv[1] == "list":
            return cmd_list()
        if len(argv) == 3 and argv[1] == "start":
            return cmd_start(argv[2])
        if len(argv) == 3 and argv[1] == "grade":
            return cmd_grade(argv[2])
        if len(argv) in (3, 4) and argv[1] == "check":
            return cmd_check(argv[2], argv[3] if len(argv) == 4 else None)
    except LabError as e:
        print("labs: %s" % e, file=sys.stderr)
        return 2
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
