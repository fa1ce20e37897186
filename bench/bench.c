/*
 * bench.c: benchmarks of the arenas through libkmem.a (make bench).
 *
 *	bench                      the table: median ns per operation of 5 runs
 *	bench --instr NAME COUNT   run one workload's loop COUNT times, for
 *	                           valgrind --tool=callgrind (make bench-instr)
 *
 * Each workload has a setup and a timed loop; the loop is a function of
 * its own (bench_loop_NAME), so callgrind can count it alone with
 * --toggle-collect. Random choices are drawn before the loop, so the loop
 * measures the allocator and not the generator.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <stdbool.h>

#include <kmem_host.h>

#define PAGE 4096ul
#define FAKE_BASE 0x100000000000ul
#define TIB (1ul << 40)
#define MIB (1ul << 20)
#define LIVE 1000
#define CHOICES 65536
#define RUNS 5

struct workload {
	const char *name;
	const char *what;
	size_t count; /* operations per timed run */
	void (*setup)(void);
	void (*loop)(size_t n);
	void (*teardown)(void);
};

static struct arena *arena, *source;
static uintptr_t live[LIVE];
static size_t live_size[LIVE];
static uint32_t pick[CHOICES], pages[CHOICES];
static uint64_t seed = 42;

static uint64_t rng(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return seed * 0x2545f4914f6cdd1dull;
}

static struct arena *fake(const char *name, uintptr_t base, size_t size)
{
	return arena_create(name, (void *)base, size, PAGE, NULL, NULL, NULL, 0,
			    MEM_WAIT);
}

static void destroy_arena(void)
{
	arena_destroy(arena);
}

/* ---- one page, alloc and free, on a 1 TiB arena */

static void setup_page_pair(void)
{
	arena = fake("bench_page_pair", FAKE_BASE, TIB);
}

__attribute__((noinline)) void bench_loop_page_pair(size_t n)
{
	for (size_t i = 0; i < n; i++)
		arena_free(arena, arena_alloc(arena, PAGE, MEM_WAIT), PAGE);
}

/* ---- 1000 live segments of 1-64 pages, one replaced at a time */

static int policy;

static void setup_random(void)
{
	arena = fake("bench_random", FAKE_BASE, TIB);
	for (size_t i = 0; i < CHOICES; i++) {
		pick[i] = (uint32_t)(rng() % LIVE);
		pages[i] = (uint32_t)(1 + rng() % 64);
	}
	for (size_t i = 0; i < LIVE; i++) {
		live_size[i] = (1 + rng() % 64) * PAGE;
		live[i] = (uintptr_t)arena_alloc(arena, live_size[i],
						 MEM_WAIT | policy);
	}
}

static void setup_random_instant(void)
{
	policy = ARENA_INSTANTFIT;
	setup_random();
}

static void setup_random_next(void)
{
	policy = ARENA_NEXTFIT;
	setup_random();
}

static void setup_random_best(void)
{
	policy = ARENA_BESTFIT;
	setup_random();
}

static void teardown_random(void)
{
	for (size_t i = 0; i < LIVE; i++)
		arena_free(arena, (void *)live[i], live_size[i]);
	destroy_arena();
}

static inline void replace_one(size_t i)
{
	uint32_t k = pick[i % CHOICES];

	arena_free(arena, (void *)live[k], live_size[k]);
	live_size[k] = pages[i % CHOICES] * PAGE;
	live[k] =
		(uintptr_t)arena_alloc(arena, live_size[k], MEM_WAIT | policy);
}

__attribute__((noinline)) void bench_loop_random_instant(size_t n)
{
	for (size_t i = 0; i < n; i++)
		replace_one(i);
}

__attribute__((noinline)) void bench_loop_random_best(size_t n)
{
	for (size_t i = 0; i < n; i++)
		replace_one(i);
}

__attribute__((noinline)) void bench_loop_random_next(size_t n)
{
	for (size_t i = 0; i < n; i++)
		replace_one(i);
}

/* ---- 2 MiB-aligned 2 MiB xalloc/xfree among scattered 4 KiB pieces */

#define XALLOC_SPAN (1024 * MIB)

static void setup_xalloc_2m(void)
{
	arena = fake("bench_xalloc_2m", FAKE_BASE, XALLOC_SPAN);
	/* one page somewhere in three out of four 2 MiB blocks */
	for (size_t i = 0; i < LIVE && i < XALLOC_SPAN / (2 * MIB); i++) {
		uintptr_t at = FAKE_BASE + i * 2 * MIB + (rng() % 512) * PAGE;

		live[i] = 0;
		if (rng() % 4)
			live[i] = (uintptr_t)arena_xalloc(arena, PAGE, 0, 0, 0,
							  (void *)at, NULL,
							  MEM_WAIT);
	}
}

static void teardown_xalloc_2m(void)
{
	for (size_t i = 0; i < LIVE && i < XALLOC_SPAN / (2 * MIB); i++)
		if (live[i])
			arena_xfree(arena, (void *)live[i], PAGE);
	destroy_arena();
}

__attribute__((noinline)) void bench_loop_xalloc_2m(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *p = arena_xalloc(arena, 2 * MIB, 2 * MIB, 0, 0, NULL,
				       NULL, MEM_WAIT);

		arena_xfree(arena, p, 2 * MIB);
	}
}

/* ---- import: every allocation imports a span, every free returns it */

static void setup_import(void)
{
	source = fake("bench_import_source", FAKE_BASE, TIB);
	arena = arena_create("bench_import", NULL, 0, PAGE, arena_alloc,
			     arena_free, source, 0, MEM_WAIT);
}

static void teardown_import(void)
{
	arena_destroy(arena);
	arena_destroy(source);
}

__attribute__((noinline)) void bench_loop_import(size_t n)
{
	for (size_t i = 0; i < n; i++)
		arena_free(arena, arena_alloc(arena, 4 * PAGE, MEM_WAIT),
			   4 * PAGE);
}

/*
 * ---- a window that imports: 4 pages inside a 1 MiB window of the
 * source, which the importer does not hold, so each allocation imports
 * (arena_xalloc on the source with the window) and each free gives back
 */

__attribute__((noinline)) void bench_loop_window_import(size_t n)
{
	void *lo = (void *)(FAKE_BASE + 64 * MIB),
	     *hi = (void *)(FAKE_BASE + 65 * MIB);

	for (size_t i = 0; i < n; i++)
		arena_xfree(arena,
			    arena_xalloc(arena, 4 * PAGE, 0, 0, 0, lo, hi,
					 MEM_WAIT),
			    4 * PAGE);
}

/* ---- object caches, side by side with the C library's malloc */

static struct kmem_cache *cache64, *cache_batch;
static size_t batch_size;
static void *batch[1000];
static uint32_t order[1000];

static void setup_cache64(void)
{
	cache64 =
		kmem_cache_create("bench_64", 64, 0, 0, NULL, NULL, NULL, NULL);
	/* warm: the magazines are loaded */
	kmem_cache_free(cache64, kmem_cache_alloc(cache64, MEM_WAIT));
}

static void teardown_cache64(void)
{
	kmem_cache_destroy(cache64);
}

__attribute__((noinline)) void bench_loop_cache_pair(size_t n)
{
	struct kmem_cache *cp = cache64;

	for (size_t i = 0; i < n; i++)
		kmem_cache_free(cp, kmem_cache_alloc(cp, MEM_WAIT));
}

static void nothing(void)
{
}

__attribute__((noinline)) void bench_loop_kmalloc_pair(size_t n)
{
	for (size_t i = 0; i < n; i++)
		kfree(kmalloc(64, MEM_WAIT));
}

/* kmalloc and malloc pairs of other sizes, side by side */
#define SIZED_PAIRS(n)                                                  \
	__attribute__((noinline)) void bench_loop_kmalloc_##n(size_t k) \
	{                                                               \
		for (size_t i = 0; i < k; i++)                          \
			kfree(kmalloc(n, MEM_WAIT));                    \
	}                                                               \
	__attribute__((noinline)) void bench_loop_malloc_##n(size_t k)  \
	{                                                               \
		for (size_t i = 0; i < k; i++) {                        \
			void *p = malloc(n);                            \
                                                                        \
			__asm__ volatile("" : : "r"(p) : "memory");     \
			free(p);                                        \
		}                                                       \
	}
SIZED_PAIRS(16)
SIZED_PAIRS(100)
SIZED_PAIRS(1000)
SIZED_PAIRS(5000)

__attribute__((noinline)) void bench_loop_malloc_pair(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *p = malloc(64);

		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
	}
}

/* A batch: 1000 allocations, then 1000 frees in LIFO or random order. */
static void setup_batch(size_t size, bool random)
{
	batch_size = size;
	cache_batch = kmem_cache_create("bench_batch", size, 0, 0, NULL, NULL,
					NULL, NULL);
	for (uint32_t i = 0; i < 1000; i++)
		order[i] = 999 - i;
	for (uint32_t i = 999; random && i > 0; i--) {
		uint32_t j = (uint32_t)(rng() % (i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

static void setup_batch64_lifo(void)
{
	setup_batch(64, false);
}

static void setup_batch64_random(void)
{
	setup_batch(64, true);
}

static void setup_batch256_lifo(void)
{
	setup_batch(256, false);
}

static void setup_batch256_random(void)
{
	setup_batch(256, true);
}

static void teardown_batch(void)
{
	kmem_cache_destroy(cache_batch);
}

/* n counts operations: each round is 1000 allocations and 1000 frees */
__attribute__((noinline)) void bench_loop_cache_batch(size_t n)
{
	for (size_t r = 0; r < n / 1000; r++) {
		for (int i = 0; i < 1000; i++)
			batch[i] = kmem_cache_alloc(cache_batch, MEM_WAIT);
		for (int i = 0; i < 1000; i++)
			kmem_cache_free(cache_batch, batch[order[i]]);
	}
}

__attribute__((noinline)) void bench_loop_malloc_batch(size_t n)
{
	for (size_t r = 0; r < n / 1000; r++) {
		for (int i = 0; i < 1000; i++)
			batch[i] = malloc(batch_size);
		for (int i = 0; i < 1000; i++)
			free(batch[order[i]]);
	}
}

/* ---- two threads at once, each doing cache pairs */

static size_t thread_ops;

static void *pair_thread(void *arg)
{
	(void)arg;
	bench_loop_cache_pair(thread_ops);
	return NULL;
}

__attribute__((noinline)) void bench_loop_cache_pair_2threads(size_t n)
{
	pthread_t t[2];

	thread_ops = n / 2;
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, pair_thread, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

__attribute__((noinline)) void bench_loop_cache_pair_1thread(size_t n)
{
	pthread_t t;

	thread_ops = n;
	pthread_create(&t, NULL, pair_thread, NULL);
	pthread_join(t, NULL);
}

/*
 * ---- 2, 8 and 64 threads sharing one arena and one cache: one-page
 * alloc+free pairs on the arena (each under its lock) and 64-byte pairs
 * on the cache, and every SHARED_REAP_EVERY pairs of all threads a reap of
 * the cache, which visits every thread's magazines (and waits for any in
 * its fast path). The work per pair is the same at any count. On 2
 * cores, 8 or 64 threads mean the thread holding a lock, or the one a
 * visitor waits for, is often not running at all.
 */

#define SHARED_REAP_EVERY 65536

static struct arena *shared;
static struct kmem_cache *shared_cache;
static size_t shared_ops;

static void setup_shared(void)
{
	shared = fake("bench_shared", FAKE_BASE, TIB);
	shared_cache = kmem_cache_create("bench_shared_64", 64, 0, 0, NULL,
					 NULL, NULL, NULL);
}

static void teardown_shared(void)
{
	kmem_cache_destroy(shared_cache);
	arena_destroy(shared);
}

static void *shared_thread(void *arg)
{
	size_t n = *(size_t *)arg;

	for (size_t i = 0; i < n; i++) {
		arena_free(shared, arena_alloc(shared, PAGE, MEM_WAIT), PAGE);
		kmem_cache_free(shared_cache,
				kmem_cache_alloc(shared_cache, MEM_WAIT));
		if (__atomic_add_fetch(&shared_ops, 1, __ATOMIC_RELAXED) %
			    SHARED_REAP_EVERY ==
		    0)
			kmem_cache_reap(shared_cache);
	}
	return NULL;
}

static void shared_threads(size_t n, int threads)
{
	pthread_t t[64];
	size_t each = n / (size_t)threads;

	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, shared_thread, &each);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
}

__attribute__((noinline)) void bench_loop_shared_2threads(size_t n)
{
	shared_threads(n, 2);
}

__attribute__((noinline)) void bench_loop_shared_8threads(size_t n)
{
	shared_threads(n, 8);
}

__attribute__((noinline)) void bench_loop_shared_64threads(size_t n)
{
	shared_threads(n, 64);
}

static const struct workload workloads[] = {
	{ "page_pair", "1-page alloc+free, 1 TiB arena", 2000000,
	  setup_page_pair, bench_loop_page_pair, destroy_arena },
	{ "random_instant", "replace 1 of 1000 live, 1-64 pages, instant fit",
	  1000000, setup_random_instant, bench_loop_random_instant,
	  teardown_random },
	{ "random_best", "replace 1 of 1000 live, 1-64 pages, best fit",
	  1000000, setup_random_best, bench_loop_random_best, teardown_random },
	{ "xalloc_2m", "2 MiB-aligned 2 MiB xalloc+xfree, fragmented", 500000,
	  setup_xalloc_2m, bench_loop_xalloc_2m, teardown_xalloc_2m },
	{ "import", "4-page alloc+free importing from a source", 1000000,
	  setup_import, bench_loop_import, teardown_import },
	{ "random_next", "replace 1 of 1000 live, 1-64 pages, next fit",
	  1000000, setup_random_next, bench_loop_random_next, teardown_random },
	{ "window_import", "4 pages in a 1 MiB window, each one imported",
	  1000000, setup_import, bench_loop_window_import, teardown_import },
	{ "cache_pair", "kmem_cache 64 B alloc+free (magazine hit)", 10000000,
	  setup_cache64, bench_loop_cache_pair, teardown_cache64 },
	{ "malloc_pair", "glibc malloc(64)+free", 10000000, nothing,
	  bench_loop_malloc_pair, nothing },
	{ "kmalloc_pair", "kmalloc(64)+kfree", 10000000, nothing,
	  bench_loop_kmalloc_pair, nothing },
	{ "kmalloc_16", "kmalloc(16)+kfree", 10000000, nothing,
	  bench_loop_kmalloc_16, nothing },
	{ "malloc_16", "glibc malloc(16)+free", 10000000, nothing,
	  bench_loop_malloc_16, nothing },
	{ "kmalloc_100", "kmalloc(100)+kfree", 10000000, nothing,
	  bench_loop_kmalloc_100, nothing },
	{ "malloc_100", "glibc malloc(100)+free", 10000000, nothing,
	  bench_loop_malloc_100, nothing },
	{ "kmalloc_1000", "kmalloc(1000)+kfree", 10000000, nothing,
	  bench_loop_kmalloc_1000, nothing },
	{ "malloc_1000", "glibc malloc(1000)+free", 10000000, nothing,
	  bench_loop_malloc_1000, nothing },
	{ "kmalloc_5000", "kmalloc(5000)+kfree", 10000000, nothing,
	  bench_loop_kmalloc_5000, nothing },
	{ "malloc_5000", "glibc malloc(5000)+free", 10000000, nothing,
	  bench_loop_malloc_5000, nothing },
	{ "cache_lifo_64", "kmem_cache 64 B: 1000 allocs, 1000 frees LIFO",
	  2000000, setup_batch64_lifo, bench_loop_cache_batch, teardown_batch },
	{ "malloc_lifo_64", "glibc 64 B: 1000 mallocs, 1000 frees LIFO",
	  2000000, setup_batch64_lifo, bench_loop_malloc_batch,
	  teardown_batch },
	{ "cache_random_64", "kmem_cache 64 B: 1000 allocs, 1000 frees random",
	  2000000, setup_batch64_random, bench_loop_cache_batch,
	  teardown_batch },
	{ "malloc_random_64", "glibc 64 B: 1000 mallocs, 1000 frees random",
	  2000000, setup_batch64_random, bench_loop_malloc_batch,
	  teardown_batch },
	{ "cache_lifo_256", "kmem_cache 256 B: 1000 allocs, 1000 frees LIFO",
	  2000000, setup_batch256_lifo, bench_loop_cache_batch,
	  teardown_batch },
	{ "malloc_lifo_256", "glibc 256 B: 1000 mallocs, 1000 frees LIFO",
	  2000000, setup_batch256_lifo, bench_loop_malloc_batch,
	  teardown_batch },
	{ "cache_random_256",
	  "kmem_cache 256 B: 1000 allocs, 1000 frees random", 2000000,
	  setup_batch256_random, bench_loop_cache_batch, teardown_batch },
	{ "malloc_random_256", "glibc 256 B: 1000 mallocs, 1000 frees random",
	  2000000, setup_batch256_random, bench_loop_malloc_batch,
	  teardown_batch },
	{ "shared_2threads", "arena+cache pairs, reaps, 2 threads", 2000000,
	  setup_shared, bench_loop_shared_2threads, teardown_shared },
	{ "shared_8threads", "arena+cache pairs, reaps, 8 threads", 2000000,
	  setup_shared, bench_loop_shared_8threads, teardown_shared },
	{ "shared_64threads", "arena+cache pairs, reaps, 64 threads", 2000000,
	  setup_shared, bench_loop_shared_64threads, teardown_shared },
	{ "cache_pair_1thread", "kmem_cache 64 B pairs, one thread", 10000000,
	  setup_cache64, bench_loop_cache_pair_1thread, teardown_cache64 },
	{ "cache_pair_2threads", "kmem_cache 64 B pairs, two threads at once",
	  10000000, setup_cache64, bench_loop_cache_pair_2threads,
	  teardown_cache64 },
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double time_workload(const struct workload *w)
{
	double ns[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double start;

		w->setup();
		start = now_ns();
		w->loop(w->count);
		ns[r] = (now_ns() - start) / w->count;
		w->teardown();
	}
	qsort(ns, RUNS, sizeof(ns[0]), compare_double);
	return ns[RUNS / 2];
}

static double results[64];

/* The ratios the issues ask for, from this run's own numbers. */
static void print_ratios(void)
{
	double pair = 0, malloc_pair = 0, kmalloc_pair = 0, one = 0, two = 0;
	double shared2 = 0, shared8 = 0, shared64 = 0;

	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (!strcmp(workloads[i].name, "cache_pair"))
			pair = results[i];
		if (!strcmp(workloads[i].name, "malloc_pair"))
			malloc_pair = results[i];
		if (!strcmp(workloads[i].name, "kmalloc_pair"))
			kmalloc_pair = results[i];
		if (!strcmp(workloads[i].name, "shared_2threads"))
			shared2 = results[i];
		if (!strcmp(workloads[i].name, "shared_8threads"))
			shared8 = results[i];
		if (!strcmp(workloads[i].name, "shared_64threads"))
			shared64 = results[i];
		if (!strcmp(workloads[i].name, "cache_pair_1thread"))
			one = results[i];
		if (!strcmp(workloads[i].name, "cache_pair_2threads"))
			two = results[i];
	}
	printf("kmem_cache pair / glibc pair time: %.2f (below 1: faster)\n",
	       pair / malloc_pair);
	printf("kmalloc pair / glibc pair time: %.2f (below 1: faster)\n",
	       kmalloc_pair / malloc_pair);
	printf("two threads / one thread rate: %.2fx\n", one / two);
	printf("one arena, 8 threads / 2 threads rate: %.2fx, 64 threads / 2: %.2fx (at least 0.5: no collapse)\n",
	       shared2 / shared8, shared2 / shared64);
}

static int run_instr(const char *name, size_t count)
{
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		const struct workload *w = &workloads[i];

		if (strcmp(w->name, name))
			continue;
		w->setup();
		w->loop(count);
		w->teardown();
		return arena_check(kpages_arena);
	}
	fprintf(stderr, "bench: no workload '%s'\n", name);
	return 2;
}

int main(int argc, char **argv)
{
	kmem_host_init(256 * MIB);
	if (argc == 4 && !strcmp(argv[1], "--instr"))
		return run_instr(argv[2], strtoul(argv[3], NULL, 0));
	if (argc != 1) {
		fprintf(stderr, "usage: bench [--instr WORKLOAD COUNT]\n");
		return 2;
	}
	printf("%-16s %-50s %10s %14s\n", "workload", "what", "ns/op", "ops/s");
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		const struct workload *w = &workloads[i];
		double ns = time_workload(w);

		results[i] = ns;
		printf("%-16s %-50s %10.1f %14.0f\n", w->name, w->what, ns,
		       1e9 / ns);
	}
	printf("(median of %d runs; an op is one alloc and one free)\n", RUNS);
	print_ratios();
	return 0;
}
