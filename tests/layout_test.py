#!/usr/bin/env python3
"""layout_test.py: the house rules of the source tree, checked on the text.

- Rooms: no file of kern/src is over ROOM_MAX lines. A layer's main file
  (arena.c, slab.c) opens with its theory statement, whose sections are
  numbered " * N. Title"; every other file of the layer (arena_*.c,
  slab_*.c) opens by naming the section it holds, "§N of the theory
  statement in arena.c", and that section exists.
- One arch interface: kern/ and lib/ include nothing of arch/x86_64 but
  through kern/include/arch.h (which includes the arch_defs.h that the
  include path selects).
- Locking: every function named *_locked asserts its lock (assert_held)
  in its own body.
- Layer headers: the slab layer's sources include no private arena header
  (kern/include/arena_*.h) and do not mention KMC_QCACHE.

Each check also runs against a broken copy of what it reads, so a check
that cannot fail is caught here too.

Run alone: python3 tests/layout_test.py (prints the checks).
"""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOM_MAX = 800
LAYERS = ("arena", "slab")
SECTION_RE = re.compile(r"^ \* (\d+)\. \S", re.M)
ROOM_RE = re.compile(r"(?:§|section )(\d+)(?: and (?:§|section )?\d+)* of the theory "
                     r"statement in (\w+)\.c")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
# a definition of a *_locked function: its name at the start of a line or
# after its return type, its parameters, then the opening brace
LOCKED_DEF_RE = re.compile(r"^(?:[\w \t\*]*?[\s\*])?(\w+_locked)\s*\(([^;{}]*?)\)\s*\{",
                           re.M)


def read(path):
    with open(path) as f:
        return f.read()


def rel(path):
    return os.path.relpath(path, ROOT)


def raw_opening_comment(text):
    """The first comment of a file as written, if the file opens with one."""
    m = re.match(r"\s*/\*(.*?)\*/", text, re.S)
    return m.group(1) if m else None


def opening_comment(text):
    """The first comment of a file as one line of prose, or None."""
    raw = raw_opening_comment(text)
    if raw is None:
        return None
    # one line of prose: no comment stars, no line breaks
    return " ".join(re.sub(r"^\s*\* ?", "", l)
                    for l in raw.splitlines()).strip()


def theory_sections(text):
    """The section numbers of the theory statement that opens text."""
    comment = raw_opening_comment(text) or ""
    if "theory" not in comment.lower():
        return set()
    return {int(n) for n in SECTION_RE.findall(comment)}


def room_problems(files):
    """files: {path: text} of kern/src. What breaks the room rules."""
    problems = []
    mains = {layer: theory_sections(files.get(
        os.path.join(ROOT, "kern", "src", layer + ".c"), ""))
        for layer in LAYERS}
    for layer, sections in mains.items():
        if not sections:
            problems.append("kern/src/%s.c does not open with a theory "
                            "statement of numbered sections" % layer)
    for path, text in sorted(files.items()):
        n = text.count("\n")
        if n > ROOM_MAX:
            problems.append("%s has %d lines (at most %d)" % (rel(path), n,
                                                               ROOM_MAX))
        comment = opening_comment(text)
        if comment is None:
            problems.append("%s does not open with a comment" % rel(path))
            continue
        name = os.path.basename(path)
        layer = next((l for l in LAYERS if name.startswith(l + "_") and
                      name.endswith(".c")), None)
        if layer is None:
            continue
        m = ROOM_RE.search(comment)
        if not m or m.group(2) != layer:
            problems.append("%s does not open by naming its part of the "
                            "theory ('§N of the theory statement in %s.c')"
                            % (rel(path), layer))
        elif int(m.group(1)) not in mains[layer]:
            problems.append("%s names §%s, which %s.c's theory statement "
                            "does not have" % (rel(path), m.group(1), layer))
    return problems


def arch_include_problems(files, arch_headers):
    """files: {path: text} of kern/ and lib/. Includes that reach into
    arch/x86_64 other than arch.h's own arch_defs.h."""
    problems = []
    arch_h = os.path.join(ROOT, "kern", "include", "arch.h")
    for path, text in sorted(files.items()):
        for name in INCLUDE_RE.findall(text):
            base = os.path.basename(name)
            if "arch/" in name or name.startswith(".."):
                problems.append("%s includes %s" % (rel(path), name))
            elif base in arch_headers and not (base == "arch_defs.h" and
                                               path == arch_h):
                problems.append("%s includes %s, an arch/x86_64 header" %
                                (rel(path), name))
    return problems


def function_body(text, brace):
    """The text of the block that opens at text[brace]."""
    depth = 0
    for i in range(brace, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[brace:i + 1]
    return text[brace:]


def locked_functions(files):
    """(path, name, asserts) for every *_locked function defined."""
    out = []
    for path, text in sorted(files.items()):
        for m in LOCKED_DEF_RE.finditer(text):
            name = m.group(1)
            if name.endswith("_is_locked"):
                continue  # a question about a lock, not a lock's helper
            body = function_body(text, m.end() - 1)
            out.append((path, name, "assert_held(" in body))
    return out


def slab_header_problems(files, deps):
    """files: {path: text} of the slab sources; deps: {object: [headers]}
    from the compiler's dependency files."""
    problems = []
    for path, text in sorted(files.items()):
        lines = [n + 1 for n, l in enumerate(text.splitlines())
                 if "KMC_QCACHE" in l]
        if lines:
            problems.append("%s mentions KMC_QCACHE (lines %s)" %
                            (rel(path), lines))
        for name in INCLUDE_RE.findall(text):
            if re.match(r"arena_\w+\.h$", os.path.basename(name)):
                problems.append("%s includes %s" % (rel(path), name))
    for obj, headers in sorted(deps.items()):
        private = [h for h in headers
                   if re.match(r"arena_\w+\.h$", os.path.basename(h))]
        if private:
            problems.append("%s depends on %s" % (rel(obj), private))
    return problems


def source_files(patterns):
    out = {}
    for p in patterns:
        for path in glob.glob(os.path.join(ROOT, p)):
            out[path] = read(path)
    return out


def dep_headers(path):
    """The prerequisites a -MMD dependency file lists."""
    text = read(path).replace("\\\n", " ")
    first = text.split("\n\n")[0]
    return first.split(":", 1)[1].split() if ":" in first else []


def layout_checks(Check, build_dirs=("build/host/asan", "build/kernel")):
    checks = []

    def add(name, problems, selftest_caught):
        ok = not problems and selftest_caught
        reason = "; ".join(problems[:6])
        if not selftest_caught:
            reason = (reason + "; " if reason else "") + \
                "the check missed a planted fault"
        checks.append(Check(name, "pass" if ok else "fail", reason,
                            "\n".join(problems)))

    kern_src = source_files(["kern/src/*.c", "kern/src/*.h"])
    planted = dict(kern_src)
    victim = os.path.join(ROOT, "kern", "src", "arena_fit.c")
    planted[victim] = "/* arena_fit.c: a room with no section */\n" + \
        "x\n" * (ROOM_MAX + 1)
    caught = len(room_problems(planted)) >= len(room_problems(kern_src)) + 2
    sizes = sorted(((t.count("\n"), rel(p)) for p, t in kern_src.items()),
                   reverse=True)
    add("layout: no file of kern/src over %d lines (largest: %s, %d), each "
        "arena_*/slab_* file opens with its theory section"
        % (ROOM_MAX, sizes[0][1], sizes[0][0]),
        room_problems(kern_src), caught)

    arch_headers = {os.path.basename(p) for p in glob.glob(
        os.path.join(ROOT, "arch", "x86_64", "include", "*.h"))}
    ours = source_files(["kern/include/*.h", "kern/src/*.[ch]",
                         "lib/*.c", "lib/include/*.h"])
    planted = dict(ours)
    planted[os.path.join(ROOT, "kern", "src", "planted.c")] = \
        '#include "arch_defs.h"\n#include "cpu.h"\n'
    caught = len(arch_include_problems(planted, arch_headers)) == \
        len(arch_include_problems(ours, arch_headers)) + 2
    add("layout: kern/ and lib/ include arch/x86_64 only through arch.h "
        "(%d files)" % len(ours), arch_include_problems(ours, arch_headers),
        caught)

    found = locked_functions(source_files(["kern/src/*.[ch]",
                                           "kern/include/*.h"]))
    missing = ["%s: %s does not assert its lock" % (rel(p), n)
               for p, n, ok in found if not ok]
    planted = locked_functions({"x.c": "static void x_locked(struct a *a)\n"
                                "{\n\tif (a) {\n\t\ta->n++;\n\t}\n}\n"
                                "int\ny_locked(int b)\n{\n"
                                "\tassert_held(&l);\n\treturn b;\n}\n"})
    caught = [(n, ok) for _, n, ok in planted] == [("x_locked", False),
                                                  ("y_locked", True)]
    add("locks: every *_locked function asserts its lock (%d functions)"
        % len(found), missing + ([] if len(found) >= 20 else
                                 ["only %d *_locked functions found"
                                  % len(found)]), caught)

    slab = source_files(["kern/src/slab*.[ch]"])
    deps = {}
    for d in build_dirs:
        for dep in glob.glob(os.path.join(ROOT, d, "kern", "src", "slab*.d")):
            deps[dep[:-2] + ".o"] = dep_headers(dep)
    planted = {os.path.join(ROOT, "kern", "src", "slab_x.c"):
               '#include "arena_impl.h"\nif (f & KMC_QCACHE)\n'}
    caught = len(slab_header_problems(planted, {})) == 2
    problems = slab_header_problems(slab, deps)
    if not deps:
        problems.append("no dependency files of slab objects in %s"
                        % ", ".join(build_dirs))
    add("layers: the slab sources (%d, %d objects) include no private arena "
        "header and do not mention KMC_QCACHE" % (len(slab), len(deps)),
        problems, caught)
    return checks


if __name__ == "__main__":
    class Check:
        def __init__(self, name, status, reason="", details=""):
            self.name, self.status, self.reason = name, status, reason
            self.details = details

    failed = 0
    for c in layout_checks(Check):
        print("%s %s%s" % ("ok  " if c.status == "pass" else "FAIL", c.name,
                           ": " + c.reason if c.reason else ""))
        failed += c.status == "fail"
    raise SystemExit(1 if failed else 0)
