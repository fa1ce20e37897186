"""fuzz_test.py: the libFuzzer targets of tests/fuzz in `make test`.

Builds them (`make -s fuzz-build`), replays each committed corpus
(tests/fuzz/corpus/<target>, `-runs=0`: every input once, so an input that
once crashed and is now in the corpus stays fixed), then fuzzes each target
briefly. New inputs go to a scratch directory under build/, never into the
committed corpus. One Check per step and target.
"""
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ_DIR = os.path.join(ROOT, "tests", "fuzz")
BUILD = os.path.join(ROOT, "build", "fuzz")
# Fuzzing per target: five targets at 20 s keep make test's share ~100 s.
SECONDS = 20


def targets():
    return sorted(f[len("fuzz_"):-2] for f in os.listdir(FUZZ_DIR)
                  if f.startswith("fuzz_") and f.endswith(".c"))


def last_lines(text, n=20):
    return "\n".join(text.splitlines()[-n:])


def run_target(target, args, timeout):
    """Run build/fuzz/<target> with args; (ok, output)."""
    art = os.path.join(BUILD, "artifacts", target) + os.sep
    os.makedirs(art, exist_ok=True)
    cmd = [os.path.join(BUILD, target), "-artifact_prefix=" + art] + args
    try:
        r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        return False, out + "\n(timed out after %d s)" % timeout
    return r.returncode == 0, r.stdout


def fuzz_checks(Check):
    r = subprocess.run(["make", "-s", "fuzz-build"], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    if r.returncode:
        return [Check("fuzz: build (make fuzz-build)", "fail",
                      "make fuzz-build failed", last_lines(r.stdout))]
    checks = []
    for t in targets():
        corpus = os.path.join(FUZZ_DIR, "corpus", t)
        if not os.path.isdir(corpus) or not os.listdir(corpus):
            checks.append(Check("fuzz: %s corpus replay" % t, "fail",
                                "no corpus in %s" % os.path.relpath(corpus, ROOT)))
        else:
            ok, out = run_target(t, ["-runs=0", corpus], 120)
            n = len(os.listdir(corpus))
            checks.append(Check("fuzz: %s corpus replay" % t,
                                "pass" if ok else "fail",
                                "%d inputs" % n if ok else
                                "an input of the corpus fails",
                                last_lines(out)))
        scratch = os.path.join(BUILD, "test-corpus", t)
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        args = ["-max_total_time=%d" % SECONDS, "-print_final_stats=1",
                scratch]
        if os.path.isdir(corpus):
            args.append(corpus)
        ok, out = run_target(t, args, SECONDS + 120)
        runs = [line.split()[-1] for line in out.splitlines()
                if line.startswith("stat::number_of_executed_units")]
        checks.append(Check("fuzz: %s for %d s" % (t, SECONDS),
                            "pass" if ok else "fail",
                            "%s runs" % (runs[-1] if runs else "?") if ok else
                            "the fuzzer found a failing input (see %s)" %
                            os.path.relpath(os.path.join(BUILD, "artifacts", t),
                                            ROOT),
                            last_lines(out)))
    return checks
