#!/usr/bin/env python3
"""stress.py: the ThreadSanitizer threads program, again and again, several
copies at once.

A race between the magazine fast path and a visitor shows only under some
timings, and load changes the timing: alone, one machine showed a race 0
times in 10; with two copies at once, 15 times in 20. So every run here has
company: COPIES programs start together, each with 2, 4 or 8 workers in
turn, and each run is judged on its own (exit status, and no
"ThreadSanitizer" on its stderr). Every second batch runs under
KMEM_DEBUG=magazines, where the CPUs' counts stay folded outside their
locks and every push and pop takes the slow paths: the same visitor
protocol, other timings.

  stress.py [--runs N] [--copies C] [--program PATH]

Ends with `stress: N runs, N with a report`; exits 1 if any run had one.
The first few reports are kept in build/stress/.
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(ROOT, "build", "host", "progs", "threads-tsan")
OUT = os.path.join(ROOT, "build", "stress")
WORKERS = (2, 4, 8)
# KMEM_DEBUG of each batch in turn (None: no debug mode)
MODES = (None, "magazines")
KEEP = 5


def one_run(program, workers, modes=None, timeout=600):
    """Run the program once; return None if clean, else the reason and log."""
    env = dict(os.environ)
    env.pop("KMEM_DEBUG", None)
    if modes:
        env["KMEM_DEBUG"] = modes
    try:
        r = subprocess.run([program, str(workers)], capture_output=True,
                           text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return ("timed out after %d s" % timeout, "")
    if r.returncode == 0 and "ThreadSanitizer" not in r.stderr and \
            "all arenas sound" in r.stdout:
        return None
    first = next((l for l in r.stderr.splitlines()
                  if "WARNING" in l or "panic" in l), "")
    return ("exit %d%s" % (r.returncode, ": " + first if first else ""),
            r.stderr)


def stress(runs, copies, program=PROGRAM, log=print):
    """runs runs, copies at a time; returns (runs, runs with a report,
    the reasons of the first few)."""
    os.makedirs(OUT, exist_ok=True)
    reports = []
    done = 0
    with concurrent.futures.ThreadPoolExecutor(copies) as pool:
        while done < runs:
            batch = [WORKERS[(done + i) % len(WORKERS)]
                     for i in range(min(copies, runs - done))]
            modes = MODES[(done // copies) % len(MODES)]
            for workers, bad in zip(batch, pool.map(
                    lambda w: one_run(program, w, modes), batch)):
                done += 1
                if bad:
                    reports.append("run %d (%d workers%s): %s" %
                                   (done, workers,
                                    ", KMEM_DEBUG=" + modes if modes else "",
                                    bad[0]))
                    if len(reports) <= KEEP:
                        path = os.path.join(OUT, "report-%d.txt" % done)
                        with open(path, "w") as f:
                            f.write(bad[1])
                        log("stress: %s (%s)" % (reports[-1],
                                                 os.path.relpath(path)))
    return done, len(reports), reports


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--copies", type=int, default=2)
    p.add_argument("--program", default=PROGRAM)
    opts = p.parse_args()
    if opts.runs < 1 or opts.copies < 2:
        p.error("--runs at least 1, --copies at least 2 (load is the point)")
    done, bad, _ = stress(opts.runs, opts.copies, opts.program)
    print("stress: %d runs, %d with a report" % (done, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
