#!/usr/bin/env python3
"""fuzz_long.py: every libFuzzer target of tests/fuzz at once, for hours.

    fuzz_long.py --hours H [--runs N] [--targets a,b] BUILD_DIR

Each target runs in its own process, all in parallel, for H hours (or until
it has executed N inputs, if --runs is given: a fast target then leaves its
core to the slow ones). A target works on a corpus of its own under
BUILD_DIR/fuzz/long/<target>, which starts as the committed corpus
(tests/fuzz/corpus/<target>) plus whatever earlier long runs kept there.

At the end, what a target found that the committed corpus does not cover is
merged back into tests/fuzz/corpus/<target> with libFuzzer's -merge=1:
of the run's inputs, only those that reach an edge no committed input
reaches are added (-use_counters=0: an edge counts once, however often it
ran), so the committed corpora stay small. The committed inputs are never
removed: some were written by hand for a case (the coverage run replays
them). The run's own corpus, with every input that reached a new count,
stays in build/ for the next long run on this machine. A crash, a leak, a
timeout or an out-of-memory is kept under
BUILD_DIR/fuzz/long-artifacts/<target>/ and counted; so are inputs that
libFuzzer only reports as slow (over 10 s, which a loaded machine can
cause), but those are not failures.

The output ends with one line per target:

    fuzz-long: arena: 10234567 executions, cov 1432, ft 5021, corpus 109 -> 113, 0 crashes

and the exit status is 0 only when no target crashed. Ctrl-C stops every
target early; the merge and the lines still follow.

The targets that keep a model and check every arena or cache after each
operation (arena, slab, monitor) run with inputs of at most MAX_LEN
bytes (100 to 250 operations): left to grow to 4 KiB, libFuzzer's inputs
became thousands of operations each, and those targets ran at 150 to 300
executions a second in a long run instead of 2,000 to 5,000. cmdline and
memmap keep libFuzzer's own limit (the command line's cut at its 4 KiB
limit needs long inputs). --max-len overrides it for every target.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
# libFuzzer's exit status after a SIGINT (its -interrupt_exit_code).
INTERRUPTED = 72
# What libFuzzer names the inputs that stopped it.
ARTIFACT = re.compile(r"^(crash|leak|timeout|oom)-")
# What it only reports as slow (over 10 s: a loaded machine, not a failure).
SLOW = re.compile(r"^slow-unit-")
# The longest input, by target (see above); others: libFuzzer's choice.
MAX_LEN = {"arena": 512, "slab": 512, "monitor": 512}


def count_files(path):
    return len([f for f in os.listdir(path)
                if os.path.isfile(os.path.join(path, f))])


def final_stats(log_path):
    """Executions, cov and ft from a finished libFuzzer log."""
    runs = cov = ft = None
    with open(log_path, errors="replace") as f:
        for line in f:
            m = re.match(r"stat::number_of_executed_units:\s*(\d+)", line)
            if m:
                runs = int(m.group(1))
            # the last status line ("#N DONE cov: X ft: Y ..." or "#N pulse";
            # under --fork, "#N: cov: X ft: Y ...", N counting every job)
            m = re.match(r"#(\d+)(?::|\s+\S+)\s+cov: (\d+) ft: (\d+)", line)
            if m:
                cov, ft = int(m.group(2)), int(m.group(3))
                if runs is None or int(m.group(1)) > runs:
                    runs = int(m.group(1))
    return runs, cov, ft


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=0,
                    help="stop a target after this many executions")
    ap.add_argument("--targets", default="",
                    help="comma-separated; default: every fuzz_*.c")
    ap.add_argument("--fork", type=int, default=0,
                    help="run each target as N jobs at once (libFuzzer's "
                    "-fork=N: one target on every core; stops by time, "
                    "not by --runs)")
    ap.add_argument("--max-len", type=int, default=-1,
                    help="longest input for every target (0: libFuzzer's "
                    "choice); default: MAX_LEN's")
    ap.add_argument("build")
    args = ap.parse_args()

    if args.hours <= 0:
        sys.exit("fuzz-long: FUZZ_HOURS must be more than 0, not %g"
                 % args.hours)
    targets = sorted(f[len("fuzz_"):-2]
                     for f in os.listdir(os.path.join(ROOT, "tests", "fuzz"))
                     if f.startswith("fuzz_") and f.endswith(".c"))
    if args.targets:
        wanted = args.targets.split(",")
        unknown = [t for t in wanted if t not in targets]
        if unknown:
            sys.exit("fuzz-long: no target %s (there are: %s)"
                     % (", ".join(unknown), " ".join(targets)))
        targets = wanted
    seconds = int(args.hours * 3600)
    long_dir = os.path.join(args.build, "fuzz", "long")
    art_dir = os.path.join(args.build, "fuzz", "long-artifacts")

    procs = {}
    before = {}
    for t in targets:
        work = os.path.join(long_dir, t)
        arts = os.path.join(art_dir, t)
        os.makedirs(work, exist_ok=True)
        os.makedirs(arts, exist_ok=True)
        before[t] = count_files(os.path.join(CORPUS, t))
        cmd = [os.path.join(args.build, "fuzz", t),
               "-max_total_time=%d" % seconds, "-print_final_stats=1",
               "-artifact_prefix=%s/" % arts, work, os.path.join(CORPUS, t)]
        if args.runs:
            cmd.insert(1, "-runs=%d" % args.runs)
        if args.fork:
            cmd.insert(1, "-fork=%d" % args.fork)
        max_len = MAX_LEN.get(t, 0) if args.max_len < 0 else args.max_len
        if max_len:
            cmd.insert(1, "-max_len=%d" % max_len)
        log = open(os.path.join(long_dir, t + ".log"), "w")
        procs[t] = (subprocess.Popen(cmd, stdout=log, stderr=log), log)
        print("fuzz-long: %s started (log %s)" % (t, log.name), flush=True)

    # Ctrl-C (or a TERM) stops every target early: libFuzzer, told with
    # SIGINT, prints its final statistics and exits with -interrupt_exit_code
    # (72), and the merge and the lines follow as after a full run.
    stopped = []

    def stop(signum, frame):
        stopped.append(signum)
        for p, _ in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    start = time.time()
    for t, (p, log) in procs.items():
        p.wait()
        log.close()
        print("fuzz-long: %s finished after %.0f s (status %d)"
              % (t, time.time() - start, p.returncode), flush=True)

    lines = []
    failed = False
    for t in targets:
        p, log = procs[t]
        runs, cov, ft = final_stats(log.name)
        arts = os.path.join(art_dir, t)
        crashes = len([f for f in os.listdir(arts) if ARTIFACT.match(f)])
        slow = len([f for f in os.listdir(arts) if SLOW.match(f)])
        if p.returncode not in (0, INTERRUPTED) and crashes == 0:
            crashes = 1  # stopped for a reason the log names
        failed |= crashes > 0
        # Merge what the run found back into the committed corpus: -merge=1
        # adds to the first directory only the inputs of the second that
        # reach an edge none of its inputs reaches.
        merge = subprocess.run(
            [os.path.join(args.build, "fuzz", t), "-merge=1",
             "-use_counters=0", os.path.join(CORPUS, t),
             os.path.join(long_dir, t)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if merge.returncode != 0:
            print(merge.stdout[-2000:])
            lines.append("fuzz-long: %s: the merge failed (status %d)"
                         % (t, merge.returncode))
            failed = True
            continue
        lines.append("fuzz-long: %s: %s executions, cov %s, ft %s, "
                     "corpus %d -> %d, %d crash%s%s"
                     % (t, runs if runs is not None else "?",
                        cov if cov is not None else "?",
                        ft if ft is not None else "?",
                        before[t], count_files(os.path.join(CORPUS, t)),
                        crashes, "" if crashes == 1 else "es",
                        " (see %s)" % arts if crashes else "")
                     + (", %d slow input%s kept (not failures)"
                        % (slow, "" if slow == 1 else "s") if slow else ""))
    if stopped:
        lines.append("fuzz-long: stopped early by signal %d" % stopped[0])
    for line in lines:
        print(line)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
