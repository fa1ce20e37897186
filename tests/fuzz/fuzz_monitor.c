/*
 * fuzz_monitor.c: libFuzzer target for the serial monitor's command line
 * (kern/src/monitor.c): the input is what is typed at the `kmem> ` prompt.
 * It is cut into lines at \r, \n and NUL (the console ends a line at \r
 * or \n), at most MAX_LINES of them, and each goes to monitor_run_line,
 * through the line editor, as if typed. Any line must give an `error:`
 * line or a result, never a panic (a panic aborts: libFuzzer keeps the
 * input). After the input, the monitor frees what it allocated
 * (monitor_release_all), and every arena and cache must be sound
 * (arena_check, kmem_cache_check), and there must be as many of each
 * as before.
 *
 * What it costs is bounded here, not in the monitor: `exit` returns false
 * from monitor_run_line instead of leaving; `test GLOB` runs the real
 * runner (ktest.c) over the one test this file registers (fuzz.sound, a
 * check of every arena), as the kernel's monitor would over all of
 * them; the allocators are the host library's over 64 MiB, so `alloc`
 * and `kmalloc` of more give `error:`. The console is quiet: everything
 * the monitor prints goes nowhere.
 */
#define FUZZ_TARGET "fuzz_monitor"
#include "fuzz.h"
#include <string.h>

#include "arena.h"
#include "host.h"
#include "kmem_host.h"
#include "ktest.h"
#include "monitor.h"
#include "slab.h"

/* Lines one input may type: each runs a command. */
#define MAX_LINES 64
/* Bytes of one line kept: the monitor refuses more than 128 anyway. */
#define LINE_KEPT 512

struct tally {
	int arenas, caches, bad;
};

static void tally_arena(struct arena *a, void *arg)
{
	struct tally *t = arg;

	t->arenas++;
	t->bad += arena_check(a) != 0;
}

static void tally_cache(struct kmem_cache *cp, void *arg)
{
	struct tally *t = arg;

	t->caches++;
	t->bad += kmem_cache_check(cp) != 0;
}

static struct tally check_all(void)
{
	struct tally t = { 0 };

	arena_for_each(tally_arena, &t);
	kmem_cache_for_each(tally_cache, &t);
	return t;
}

/* The test `test GLOB` may run: every arena and cache is sound. */
KTEST(fuzz, sound)
{
	struct tally t = check_all();

	KT_EXPECT_EQ(t.bad, 0);
}

/*
 * The monitor reruns no test that must panic (ktest_rerun leaves them
 * out), so the runner never asks for a child process here, as the host
 * test binary's arch/host/ktest_host.c gives it: if it did, that is a bug.
 */
int arch_run_panic_test(const struct ktest *t, const char **reason)
{
	(void)reason;
	fail("the monitor's test ran %s, a test that must panic",
	     ktest_name(t));
}

static struct tally before;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	kmem_host_init(64 << 20); /* which leaves the console on */
	monitor_bench_max_ms = 1; /* `bench` runs 1 ms a count of CPUs */
	host_console_quiet(true);
	before = check_all();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[LINE_KEPT + 1];
	size_t len = 0, lines = 0;
	struct tally after;

	for (size_t i = 0; i <= size && lines < MAX_LINES; i++) {
		if (i < size && data[i] != '\r' && data[i] != '\n' && data[i]) {
			if (len < LINE_KEPT)
				line[len++] = (char)data[i];
			continue;
		}
		line[len] = 0;
		monitor_run_line(line); /* false for exit: stay */
		len = 0;
		lines++;
	}
	monitor_release_all();
	after = check_all();
	if (after.bad)
		fail("%d arenas or caches unsound after the input", after.bad);
	if (after.arenas != before.arenas || after.caches != before.caches)
		fail("%d arenas and %d caches after the input, %d and %d before",
		     after.arenas, after.caches, before.arenas, before.caches);
	return 0;
}
