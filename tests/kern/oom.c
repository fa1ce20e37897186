/*
 * oom.c: tests of running out of memory (issue 7, item 5). With MEM_ATOMIC
 * every allocator returns NULL when its memory runs out, a failed call
 * changes nothing but the fails counters, every counter stays exact, and
 * freeing everything gives every byte back; with MEM_WAIT an exhausted
 * arena reclaims from its importers, then panics.
 *
 * Most tests exhaust arenas of bounded size: fake ranges (never touched)
 * or a run of pages from kpages, with caches over them. The tests of
 * kmalloc and of the global arenas first put nearly all of base aside in
 * a few arena_alloc calls whose memory is never touched, leaving
 * GLOBAL_LEAVE bytes, and exhaust only that remainder: they cost the same
 * at -m 32M and at 64G, and leave base and kpages exactly as they found
 * them (but for bookkeeping that is kept by design: tag pages and grown
 * hash tables, which they count).
 */
/* the fake arenas' tags and caches' slabs before they exhaust anything */
#define KTEST_NEEDS_BASE (1ul << 20)
#include "ktest.h"
#include "arena.h"
#include "arena_impl.h"
#include "bitops.h"
#include "kmalloc.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "printk.h"
#include "slab_impl.h"
#include "cache_lookup.h"

#define KiB (1ul << 10)
#define MiB (1ul << 20)
#define GiB (1ul << 30)
/* A fake range: never memory; in QEMU, any touch would page-fault. */
#define FAKE_BASE 0x100000000000ul

/* The test's own name, without the "ktest_" of its function. */
#define TEST_NAME (__func__ + 6)

/* ---- snapshots of an arena's counters */

struct arena_snap {
	size_t total, in_use, nr_free_segs, nr_spans, imported_bytes;
	uint64_t allocs, frees, fails, imports, span_returns;
};

static struct arena_snap snap(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct arena_snap s = {
		.total = a->total,
		.in_use = a->in_use,
		.nr_free_segs = a->nr_free_segs,
		.nr_spans = a->nr_spans,
		.imported_bytes = a->imported_bytes,
		.allocs = a->stats.allocs,
		.frees = a->stats.frees,
		.fails = a->stats.fails,
		.imports = a->stats.imports,
		.span_returns = a->stats.span_returns,
	};

	spin_unlock_irqrestore(&a->lock, irq);
	return s;
}

/*
 * a is as it was in s, but for its fails counter, which grew by exactly
 * fails. The line of the caller is printed on a difference.
 */
static void expect_same_but_fails(int line, struct arena *a,
				  const struct arena_snap *s, uint64_t fails)
{
	struct arena_snap now = snap(a);
	bool same = now.total == s->total && now.in_use == s->in_use &&
		    now.nr_free_segs == s->nr_free_segs &&
		    now.nr_spans == s->nr_spans &&
		    now.imported_bytes == s->imported_bytes &&
		    now.allocs == s->allocs && now.frees == s->frees &&
		    now.imports - now.span_returns ==
			    s->imports - s->span_returns &&
		    now.fails == s->fails + fails;

	if (!same)
		printk("line %d: arena '%s' changed across a failed allocation\n",
		       line, a->name);
	KT_EXPECT_EQ(now.total, s->total);
	KT_EXPECT_EQ(now.in_use, s->in_use);
	KT_EXPECT_EQ(now.nr_free_segs, s->nr_free_segs);
	KT_EXPECT_EQ(now.nr_spans, s->nr_spans);
	KT_EXPECT_EQ(now.imported_bytes, s->imported_bytes);
	KT_EXPECT_EQ(now.allocs, s->allocs);
	KT_EXPECT_EQ(now.frees, s->frees);
	/* spans imported for a request that failed went straight back */
	KT_EXPECT_EQ(now.imports - now.span_returns,
		     s->imports - s->span_returns);
	KT_EXPECT_EQ(now.fails, s->fails + fails);
}

#define EXPECT_SAME_BUT_FAILS(a, s, n) expect_same_but_fails(__LINE__, a, s, n)

/* ---- bounded arenas */

/* What a test holds: an address and the size it was asked for. */
struct held {
	uintptr_t addr;
	size_t size;
	bool x; /* from arena_xalloc: give back with arena_xfree */
};

#define HELD_MAX 512
static struct held held[HELD_MAX];

static void give_back(struct arena *a, size_t n)
{
	/* every other one first, then the rest: frees that must coalesce */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = (size_t)pass; i < n; i += 2) {
			if (held[i].x)
				arena_xfree(a, (void *)held[i].addr,
					    held[i].size);
			else
				arena_free(a, (void *)held[i].addr,
					   held[i].size);
		}
	}
}

/* No two of held[0 .. n) overlap, and each lies in [lo, hi). */
static bool held_disjoint(size_t n, uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < n; i++) {
		if (held[i].addr < lo || held[i].addr + held[i].size > hi)
			return false;
		for (size_t j = 0; j < i; j++)
			if (held[i].addr < held[j].addr + held[j].size &&
			    held[j].addr < held[i].addr + held[i].size)
				return false;
	}
	return true;
}

/* x rounded up to a multiple of q (any q > 0). */
static uintptr_t roundup(uintptr_t x, size_t q)
{
	return (x + q - 1) / q * q;
}

/*
 * Fill an arena to the last quantum under one fit policy: sizes of 1..7
 * quanta until one fails, then single quanta until that fails too. Every
 * quantum is handed out, the two failures are counted, more change
 * nothing, and giving everything back restores the one free segment.
 */
static void fill_to_the_last(const char *name, uintptr_t base, size_t size,
			     size_t quantum, int policy)
{
	struct arena *a = arena_create(name, (void *)base, size, quantum, NULL,
				       NULL, NULL, 0, MEM_ATOMIC);
	size_t initial, n = 0, bytes = 0, k = 0;
	struct arena_snap s;

	KT_ASSERT_NOT_NULL(a);
	initial = arena_amt_free(a);
	for (;;) {
		size_t want = (1 + k++ % 7) * quantum;
		void *p = arena_alloc(a, want, MEM_ATOMIC | policy);

		if (!p)
			break;
		KT_ASSERT_LT(n, HELD_MAX);
		held[n++] = (struct held){ (uintptr_t)p, want, false };
		bytes += want;
	}
	KT_EXPECT_EQ(a->stats.fails, 1);
	KT_EXPECT_LT(arena_amt_free(a), (1 + (k - 1) % 7) * quantum);
	for (;;) {
		void *p = arena_alloc(a, quantum, MEM_ATOMIC | policy);

		if (!p)
			break;
		KT_ASSERT_LT(n, HELD_MAX);
		held[n++] = (struct held){ (uintptr_t)p, quantum, false };
		bytes += quantum;
	}
	/* every quantum is out, to its owner alone */
	KT_EXPECT_EQ(bytes, initial);
	KT_EXPECT_EQ(arena_amt_free(a), 0);
	KT_EXPECT_EQ(a->in_use, initial);
	KT_EXPECT_EQ(arena_amt_total(a), initial);
	KT_EXPECT_EQ(arena_nr_alloc_segs(a), n);
	KT_EXPECT_EQ(a->stats.allocs, n);
	KT_EXPECT_EQ(a->stats.fails, 2);
	KT_EXPECT_EQ(a->nr_free_segs, 0);
	KT_EXPECT_TRUE(held_disjoint(n, base, base + size));
	KT_EXPECT_EQ(arena_check(a), 0);
	/* failing again, in every way, changes nothing */
	s = snap(a);
	KT_EXPECT_NULL(arena_alloc(a, quantum, MEM_ATOMIC | policy));
	KT_EXPECT_NULL(arena_alloc(a, 1, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_xalloc(a, quantum, 0, 0, 0, NULL, NULL,
				    MEM_ATOMIC | policy));
	EXPECT_SAME_BUT_FAILS(a, &s, 3);
	KT_EXPECT_EQ(arena_check(a), 0);
	give_back(a, n);
	KT_EXPECT_EQ(arena_amt_free(a), initial);
	KT_EXPECT_EQ(a->nr_free_segs, 1);
	KT_EXPECT_EQ(a->stats.frees, a->stats.allocs);
	KT_EXPECT_EQ(arena_check(a), 0);
	/* and all of it can be had again, at once */
	KT_EXPECT_EQ((uintptr_t)arena_alloc(a, initial, MEM_ATOMIC | policy),
		     roundup(base, quantum));
	arena_free(a, (void *)roundup(base, quantum), initial);
	arena_destroy(a);
}

KTEST(oom, arena_fills_to_the_last_quantum)
{
	fill_to_the_last("oom_fill_instant", FAKE_BASE, 100 * PGSIZE, PGSIZE,
			 ARENA_INSTANTFIT);
	fill_to_the_last("oom_fill_best", FAKE_BASE, 100 * PGSIZE, PGSIZE,
			 ARENA_BESTFIT);
	fill_to_the_last("oom_fill_next", FAKE_BASE, 100 * PGSIZE, PGSIZE,
			 ARENA_NEXTFIT);
	/* quantum 12 over [1000, 2200): 99 quanta, [1008, 2196) */
	fill_to_the_last("oom_fill_q12", 1000, 1200, 12, ARENA_INSTANTFIT);
	fill_to_the_last("oom_fill_q12_next", 1000, 1200, 12, ARENA_NEXTFIT);
	/* a quantum of 3 pages, not a power of two */
	fill_to_the_last("oom_fill_q3p", FAKE_BASE + PGSIZE, 300 * PGSIZE,
			 3 * PGSIZE, ARENA_BESTFIT);
}

KTEST(oom, fragmented_arena_fails_unchanged)
{
	struct arena *a =
		arena_create(TEST_NAME, (void *)FAKE_BASE, 64 * PGSIZE, PGSIZE,
			     NULL, NULL, NULL, 0, MEM_ATOMIC);
	static const int policies[] = { ARENA_INSTANTFIT, ARENA_BESTFIT,
					ARENA_NEXTFIT };
	struct arena_snap s;
	size_t n = 0;

	KT_ASSERT_NOT_NULL(a);
	for (size_t i = 0; i < 64; i++) {
		held[n++] = (struct held){ (uintptr_t)arena_alloc(a, PGSIZE,
								  MEM_ATOMIC),
					   PGSIZE, false };
		KT_ASSERT_NE(held[n - 1].addr, 0);
	}
	/* every other page back: 32 free pages, no two side by side */
	for (size_t i = 0; i < 64; i += 2)
		arena_free(a, (void *)held[i].addr, PGSIZE);
	KT_EXPECT_EQ(arena_amt_free(a), 32 * PGSIZE);
	KT_EXPECT_EQ(a->nr_free_segs, 32);
	s = snap(a);
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
		KT_EXPECT_NULL(
			arena_alloc(a, 2 * PGSIZE, MEM_ATOMIC | policies[i]));
		KT_EXPECT_NULL(arena_xalloc(a, 2 * PGSIZE, 0, 0, 0, NULL, NULL,
					    MEM_ATOMIC | policies[i]));
	}
	EXPECT_SAME_BUT_FAILS(a, &s, 6);
	KT_EXPECT_EQ(arena_check(a), 0);
	/* what does fit is still there, every page of it */
	for (size_t i = 0; i < 64; i += 2) {
		uintptr_t p = (uintptr_t)arena_alloc(a, PGSIZE, MEM_ATOMIC);

		KT_EXPECT_EQ(p % (2 * PGSIZE), 0); /* one of the holes */
		held[i].addr = p;
	}
	KT_EXPECT_NULL(arena_alloc(a, PGSIZE, MEM_ATOMIC));
	KT_EXPECT_TRUE(held_disjoint(64, FAKE_BASE, FAKE_BASE + 64 * PGSIZE));
	give_back(a, 64);
	KT_EXPECT_EQ(arena_amt_free(a), 64 * PGSIZE);
	KT_EXPECT_EQ(a->nr_free_segs, 1);
	KT_EXPECT_EQ(arena_check(a), 0);
	arena_destroy(a);
}

/* Allocate with xalloc under constraints until it fails; how many. */
static size_t xalloc_until_null(struct arena *a, size_t *n, size_t size,
				size_t align, size_t phase, size_t nocross,
				uintptr_t min, uintptr_t max)
{
	size_t got = 0;
	void *p;

	while (*n < HELD_MAX &&
	       (p = arena_xalloc(a, size, align, phase, nocross, (void *)min,
				 (void *)max, MEM_ATOMIC)) != NULL) {
		uintptr_t at = (uintptr_t)p;

		/* each one meets its constraints */
		if ((align && (at - phase) % align) ||
		    (nocross && at / nocross != (at + size - 1) / nocross) ||
		    at < min || (max && at + size > max))
			printk("xalloc gave 0x%lx for size %zu align %zu phase %zu nocross %zu\n",
			       at, size, align, phase, nocross);
		held[(*n)++] = (struct held){ at, size, true };
		got++;
	}
	return got;
}

/*
 * An arena of pages [1, 257) (in pages from FAKE_BASE), exhausted by
 * constrained requests one kind after another, each counted exactly:
 *   32 pages at multiples of 8 pages (8, 16, ..., 256);
 *   64 pairs at 2 mod 4 pages (2-3, 6-7, ...);
 *   32 pairs that cross no 4-page boundary: 4j-4j+1 for odd j;
 *   16 single pages at or above page 128 (4j+1, even j >= 32);
 *   16 plain pages for the rest (4j+1, even j < 32).
 */
KTEST(oom, xalloc_constraints_exhaust_exactly)
{
	const uintptr_t base = FAKE_BASE + PGSIZE, pg = PGSIZE;
	struct arena *a = arena_create(TEST_NAME, (void *)base, 256 * pg, pg,
				       NULL, NULL, NULL, 0, MEM_ATOMIC);
	struct arena_snap s;
	size_t n = 0;

	KT_ASSERT_NOT_NULL(a);
	KT_EXPECT_EQ(xalloc_until_null(a, &n, pg, 8 * pg, 0, 0, 0, 0), 32);
	KT_EXPECT_EQ(xalloc_until_null(a, &n, 2 * pg, 4 * pg, 2 * pg, 0, 0, 0),
		     64);
	KT_EXPECT_EQ(xalloc_until_null(a, &n, 2 * pg, 0, 0, 4 * pg, 0, 0), 32);
	KT_EXPECT_EQ(
		xalloc_until_null(a, &n, pg, 0, 0, 0, FAKE_BASE + 128 * pg, 0),
		16);
	KT_EXPECT_EQ(arena_amt_free(a), 16 * pg);
	KT_EXPECT_EQ(a->stats.fails, 4);
	/* what is left meets none of the constraints: NULL, no change */
	s = snap(a);
	KT_EXPECT_NULL(
		arena_xalloc(a, pg, 8 * pg, 0, 0, NULL, NULL, MEM_ATOMIC));
	KT_EXPECT_NULL(
		arena_xalloc(a, pg, 4 * pg, 3 * pg, 0, NULL, NULL, MEM_ATOMIC));
	KT_EXPECT_NULL(
		arena_xalloc(a, 2 * pg, 0, 0, 2 * pg, NULL, NULL, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_xalloc(a, pg, 0, 0, 0, (void *)(base + 127 * pg),
				    NULL, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_alloc(a, 2 * pg, MEM_ATOMIC));
	EXPECT_SAME_BUT_FAILS(a, &s, 5);
	KT_EXPECT_EQ(xalloc_until_null(a, &n, pg, 0, 0, 0, 0, 0), 16);
	KT_EXPECT_EQ(n, 32 + 64 + 32 + 16 + 16);
	KT_EXPECT_EQ(arena_amt_free(a), 0);
	KT_EXPECT_EQ(a->in_use, 256 * pg);
	KT_EXPECT_EQ(arena_nr_alloc_segs(a), n);
	KT_EXPECT_EQ(a->stats.fails, 4 + 5 + 1);
	KT_EXPECT_TRUE(held_disjoint(n, base, base + 256 * pg));
	KT_EXPECT_EQ(arena_check(a), 0);
	give_back(a, n);
	KT_EXPECT_EQ(arena_amt_free(a), 256 * pg);
	KT_EXPECT_EQ(a->nr_free_segs, 1);
	KT_EXPECT_EQ(arena_check(a), 0);
	arena_destroy(a);
}

/* ---- importing arenas whose source runs dry */

KTEST(oom, import_source_runs_dry)
{
	struct arena *src =
		arena_create("oom_dry_source", (void *)FAKE_BASE, 64 * PGSIZE,
			     PGSIZE, NULL, NULL, NULL, 0, MEM_ATOMIC);
	struct arena *a = arena_create(TEST_NAME, NULL, 0, PGSIZE, arena_alloc,
				       arena_free, src, 0, MEM_ATOMIC);
	struct arena_snap s, s_src;
	size_t n = 0, bytes = 0, k = 0;
	void *p;

	KT_ASSERT_NOT_NULL(src);
	KT_ASSERT_NOT_NULL(a);
	while ((p = arena_alloc(a, (1 + k % 5) * PGSIZE, MEM_ATOMIC)) != NULL) {
		KT_ASSERT_LT(n, HELD_MAX);
		held[n++] = (struct held){ (uintptr_t)p, (1 + k++ % 5) * PGSIZE,
					   false };
		bytes += held[n - 1].size;
	}
	KT_EXPECT_EQ(a->stats.fails, 1);
	while ((p = arena_alloc(a, PGSIZE, MEM_ATOMIC)) != NULL) {
		KT_ASSERT_LT(n, HELD_MAX);
		held[n++] = (struct held){ (uintptr_t)p, PGSIZE, false };
		bytes += PGSIZE;
	}
	/* every page of the source is out, through the importer */
	KT_EXPECT_EQ(bytes, 64 * PGSIZE);
	KT_EXPECT_EQ(arena_amt_free(src), 0);
	KT_EXPECT_EQ(arena_amt_free(a), 0);
	KT_EXPECT_EQ(a->in_use, 64 * PGSIZE);
	KT_EXPECT_EQ(a->imported_bytes, 64 * PGSIZE);
	KT_EXPECT_EQ(a->imported_bytes, src->in_use);
	KT_EXPECT_EQ(a->stats.imports - a->stats.span_returns, a->nr_spans);
	KT_EXPECT_EQ(arena_nr_alloc_segs(src), a->nr_spans);
	KT_EXPECT_EQ(a->stats.fails, 2);
	KT_EXPECT_GE(src->stats.fails, 2);
	KT_EXPECT_TRUE(held_disjoint(n, FAKE_BASE, FAKE_BASE + 64 * PGSIZE));
	KT_EXPECT_EQ(arena_check(a), 0);
	KT_EXPECT_EQ(arena_check(src), 0);
	/* plain, aligned (pushed down to the source) and nocross: NULL */
	s = snap(a);
	s_src = snap(src);
	KT_EXPECT_NULL(arena_alloc(a, PGSIZE, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_xalloc(a, PGSIZE, 4 * PGSIZE, PGSIZE, 0, NULL,
				    NULL, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_xalloc(a, 2 * PGSIZE, 0, 0, 2 * PGSIZE, NULL, NULL,
				    MEM_ATOMIC));
	EXPECT_SAME_BUT_FAILS(a, &s, 3);
	KT_EXPECT_EQ(src->stats.allocs, s_src.allocs);
	KT_EXPECT_EQ(src->stats.frees, s_src.frees);
	KT_EXPECT_EQ(src->in_use, s_src.in_use);
	KT_EXPECT_GE(src->stats.fails, s_src.fails + 3);
	give_back(a, n);
	/* every span went home: the importer is empty, the source whole */
	KT_EXPECT_EQ(arena_amt_total(a), 0);
	KT_EXPECT_EQ(a->nr_spans, 0);
	KT_EXPECT_EQ(a->imported_bytes, 0);
	KT_EXPECT_EQ(a->stats.span_returns, a->stats.imports);
	KT_EXPECT_EQ(arena_amt_free(src), 64 * PGSIZE);
	KT_EXPECT_EQ(src->nr_free_segs, 1);
	KT_EXPECT_EQ(src->stats.allocs, src->stats.frees);
	KT_EXPECT_EQ(arena_check(a), 0);
	KT_EXPECT_EQ(arena_check(src), 0);
	arena_destroy(a);
	arena_destroy(src);
}

/*
 * An importer of 3-page quanta over a source of 64 pages [1, 65) (in
 * pages from FAKE_BASE, which is page 1 mod 3, so the source starts at 2
 * mod 3). The first exact import of 3 pages holds no aligned quantum and
 * goes back; the import with 2 pages of slack (the import_scale rule)
 * holds one. After two such, the source's free run starts at a multiple
 * of 3 pages and every exact import is aligned: 20 quanta in all, from
 * 64 pages, 4 of them slack.
 */
KTEST(oom, import_scale_source_runs_dry)
{
	const size_t q = 3 * PGSIZE;
	struct arena *src = arena_create(
		"oom_scale_source", (void *)(FAKE_BASE + PGSIZE), 64 * PGSIZE,
		PGSIZE, NULL, NULL, NULL, 0, MEM_ATOMIC);
	struct arena *a = arena_create(TEST_NAME, NULL, 0, q, arena_alloc,
				       arena_free, src, 0, MEM_ATOMIC);
	struct arena_snap s, s_src;
	size_t n = 0;
	void *p, *fence;

	KT_ASSERT_NOT_NULL(src);
	KT_ASSERT_NOT_NULL(a);
	while ((p = arena_alloc(a, q, MEM_ATOMIC)) != NULL) {
		KT_ASSERT_LT(n, HELD_MAX);
		KT_EXPECT_EQ((uintptr_t)p % q, 0);
		held[n++] = (struct held){ (uintptr_t)p, q, false };
	}
	KT_EXPECT_EQ(n, 20);
	KT_EXPECT_EQ(held[0].addr, FAKE_BASE + 2 * PGSIZE);
	KT_EXPECT_EQ(held[1].addr, FAKE_BASE + 8 * PGSIZE);
	KT_EXPECT_EQ(a->stats.imports, 20);
	KT_EXPECT_EQ(a->imported_bytes, 64 * PGSIZE);
	KT_EXPECT_EQ(a->imported_bytes, src->in_use);
	KT_EXPECT_EQ(arena_amt_total(a), 20 * q);
	KT_EXPECT_EQ(arena_amt_free(a), 0);
	KT_EXPECT_EQ(arena_amt_free(src), 0);
	KT_EXPECT_EQ(a->stats.fails, 1);
	KT_EXPECT_TRUE(
		held_disjoint(n, FAKE_BASE + PGSIZE, FAKE_BASE + 65 * PGSIZE));
	KT_EXPECT_EQ(arena_check(a), 0);
	KT_EXPECT_EQ(arena_check(src), 0);
	/*
	 * The first quantum back: its 5-page span [1, 6) goes home. With
	 * page 5 taken from the source directly, [1, 5) is left: an exact
	 * import [1, 4) holds no aligned quantum and goes back, one with
	 * slack needs 5 pages. The request fails (although [2, 5) would
	 * do: the price of the rule), and leaves both arenas as they were.
	 */
	arena_free(a, (void *)held[0].addr, q);
	held[0] = held[--n];
	KT_EXPECT_EQ(arena_amt_free(src), 5 * PGSIZE);
	fence = arena_xalloc(src, PGSIZE, 0, 0, 0,
			     (void *)(FAKE_BASE + 5 * PGSIZE), NULL,
			     MEM_ATOMIC);
	KT_EXPECT_EQ((uintptr_t)fence, FAKE_BASE + 5 * PGSIZE);
	s = snap(a);
	s_src = snap(src);
	KT_EXPECT_NULL(arena_alloc(a, q, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_alloc(a, 2 * q, MEM_ATOMIC));
	EXPECT_SAME_BUT_FAILS(a, &s, 2);
	KT_EXPECT_EQ(arena_amt_free(src), 4 * PGSIZE);
	KT_EXPECT_EQ(src->nr_free_segs, s_src.nr_free_segs);
	KT_EXPECT_EQ(src->stats.allocs - src->stats.frees,
		     s_src.allocs - s_src.frees);
	KT_EXPECT_EQ(arena_check(src), 0);
	arena_xfree(src, fence, PGSIZE);
	give_back(a, n);
	KT_EXPECT_EQ(arena_amt_total(a), 0);
	KT_EXPECT_EQ(a->stats.span_returns, a->stats.imports);
	KT_EXPECT_EQ(arena_amt_free(src), 64 * PGSIZE);
	KT_EXPECT_EQ(src->nr_free_segs, 1);
	KT_EXPECT_EQ(src->stats.allocs, src->stats.frees);
	KT_EXPECT_EQ(arena_check(src), 0);
	arena_destroy(a);
	arena_destroy(src);
}

/*
 * The same importer over a source of 7 pages [1, 8): a request of 2
 * quanta imports exactly 6 pages, [1, 7), whose aligned part holds one
 * quantum only; the span goes back at once (counted as an import and a
 * return), and 8 pages with slack are more than the source has. NULL,
 * and both arenas are as they were. One quantum fits.
 */
KTEST(oom, import_that_cannot_hold_the_request_goes_back)
{
	const size_t q = 3 * PGSIZE;
	struct arena *src = arena_create(
		"oom_misfit_source", (void *)(FAKE_BASE + PGSIZE), 7 * PGSIZE,
		PGSIZE, NULL, NULL, NULL, 0, MEM_ATOMIC);
	struct arena *a = arena_create(TEST_NAME, NULL, 0, q, arena_alloc,
				       arena_free, src, 0, MEM_ATOMIC);
	void *p;

	KT_ASSERT_NOT_NULL(src);
	KT_ASSERT_NOT_NULL(a);
	KT_EXPECT_NULL(arena_alloc(a, 2 * q, MEM_ATOMIC));
	/*
	 * tried once: the exact import cannot hold it and goes back, the one
	 * with slack is more than the source has, and the reclaim gives
	 * nothing back, so the source is not asked again
	 */
	KT_EXPECT_EQ(a->stats.imports, 1);
	KT_EXPECT_EQ(a->stats.span_returns, 1);
	KT_EXPECT_EQ(a->stats.fails, 1);
	KT_EXPECT_EQ(a->nr_spans, 0);
	KT_EXPECT_EQ(arena_amt_total(a), 0);
	KT_EXPECT_EQ(a->imported_bytes, 0);
	KT_EXPECT_EQ(arena_amt_free(src), 7 * PGSIZE);
	KT_EXPECT_EQ(src->nr_free_segs, 1);
	KT_EXPECT_EQ(src->stats.allocs, src->stats.frees);
	KT_EXPECT_EQ(arena_check(a), 0);
	KT_EXPECT_EQ(arena_check(src), 0);
	p = arena_alloc(a, q, MEM_ATOMIC);
	KT_EXPECT_EQ((uintptr_t)p, FAKE_BASE + 2 * PGSIZE);
	KT_EXPECT_EQ(a->imported_bytes, 5 * PGSIZE);
	arena_free(a, p, q);
	KT_EXPECT_EQ(arena_amt_free(src), 7 * PGSIZE);
	KT_EXPECT_EQ(a->stats.span_returns, a->stats.imports);
	arena_destroy(a);
	arena_destroy(src);
}

/* ---- quantum caches */

/* Allocate size through arena_alloc until it fails; how many. */
static size_t alloc_until_null(struct arena *a, size_t *n, size_t size)
{
	size_t got = 0;
	void *p;

	while (*n < HELD_MAX &&
	       (p = arena_alloc(a, size, MEM_ATOMIC)) != NULL) {
		held[(*n)++] = (struct held){ (uintptr_t)p, size, false };
		got++;
	}
	return got;
}

static bool qcaches_sound(struct arena *a)
{
	for (size_t i = 0; i < ARENA_QCACHE_MAX && a->qcache[i]; i++)
		if (kmem_cache_check(a->qcache[i]))
			return false;
	return arena_check(a) == 0;
}

/*
 * 205 pages with quantum caches of 1..4 pages, whose slabs hold 8 objects:
 * single pages come 8 to a slab of 8 pages, 200 of them; the 5 pages left
 * cannot make a slab, so the cache fails (once, counted) and leaves them
 * free. arena_xalloc, which bypasses the caches, takes those; then the
 * arena is empty. Freeing everything and reclaiming gives back all 205.
 */
KTEST(oom, qcache_exhaustion)
{
	struct arena *a =
		arena_create(TEST_NAME, (void *)FAKE_BASE, 205 * PGSIZE, PGSIZE,
			     NULL, NULL, NULL, 4 * PGSIZE, MEM_ATOMIC);
	struct kmem_cache *c1;
	struct arena_snap s;
	size_t n = 0;

	KT_ASSERT_NOT_NULL(a);
	c1 = a->qcache[0];
	KT_ASSERT_NOT_NULL(c1);
	KT_ASSERT_EQ(c1->slab_size, 8 * PGSIZE);
	KT_EXPECT_EQ(alloc_until_null(a, &n, PGSIZE), 200);
	KT_EXPECT_EQ(c1->fails, 1);
	KT_EXPECT_EQ(c1->nr_slabs, 25);
	KT_EXPECT_EQ(kmem_cache_nr_live(c1), 200);
	KT_EXPECT_EQ(arena_amt_free(a), 5 * PGSIZE);
	KT_EXPECT_EQ(a->stats.fails, 1); /* the slab's xalloc, once */
	KT_EXPECT_TRUE(qcaches_sound(a));
	/* the other caches need bigger slabs still: they fail too */
	s = snap(a);
	for (size_t i = 0; i < 4; i++) {
		KT_EXPECT_NULL(arena_alloc(a, (i + 1) * PGSIZE, MEM_ATOMIC));
		KT_EXPECT_EQ(a->qcache[i]->fails, i == 0 ? 2 : 1);
		KT_EXPECT_EQ(a->qcache[i]->nr_slabs, i == 0 ? 25 : 0);
	}
	EXPECT_SAME_BUT_FAILS(a, &s, 4);
	KT_EXPECT_EQ(kmem_cache_nr_live(c1), 200);
	/* segments are still there to be had, one by one */
	KT_EXPECT_EQ(xalloc_until_null(a, &n, PGSIZE, 0, 0, 0, 0, 0), 5);
	KT_EXPECT_EQ(arena_amt_free(a), 0);
	KT_EXPECT_TRUE(held_disjoint(n, FAKE_BASE, FAKE_BASE + 205 * PGSIZE));
	KT_EXPECT_TRUE(qcaches_sound(a));
	give_back(a, n);
	KT_EXPECT_EQ(kmem_cache_nr_live(c1), 0);
	/* the slabs wait in the cache until reclaim */
	KT_EXPECT_EQ(arena_amt_free(a), 5 * PGSIZE);
	arena_reclaim(a);
	KT_EXPECT_EQ(c1->nr_slabs, 0);
	KT_EXPECT_EQ(arena_amt_free(a), 205 * PGSIZE);
	KT_EXPECT_EQ(a->nr_free_segs, 1);
	KT_EXPECT_EQ(a->stats.allocs, a->stats.frees);
	KT_EXPECT_TRUE(qcaches_sound(a));

	/* again with every cached size, biggest first */
	n = 0;
	for (size_t i = 4; i >= 1; i--)
		alloc_until_null(a, &n, i * PGSIZE);
	/* no cache could make one more slab */
	KT_EXPECT_LT(arena_amt_free(a), c1->slab_size);
	/* 6 slabs of 4-page objects (192 pages), 1 of 1-page objects */
	KT_EXPECT_EQ(n, 6 * 8 + 8);
	KT_EXPECT_EQ(arena_amt_free(a), 5 * PGSIZE);
	for (size_t i = 0; i < 4; i++)
		KT_EXPECT_EQ(kmem_cache_nr_live(a->qcache[i]),
			     a->qcache[i]->nr_slabs * 8);
	KT_EXPECT_EQ(a->in_use + arena_amt_free(a), 205 * PGSIZE);
	KT_EXPECT_TRUE(qcaches_sound(a));
	give_back(a, n);
	arena_reclaim(a);
	KT_EXPECT_EQ(arena_amt_free(a), 205 * PGSIZE);
	KT_EXPECT_EQ(a->nr_free_segs, 1);
	KT_EXPECT_TRUE(qcaches_sound(a));
	arena_destroy(a);
}

/*
 * An importing arena with quantum caches over a bounded source, like
 * kpages over base: exhausted through the caches and then with segments,
 * it holds all of the source; given back, and reclaimed from the source
 * (which reaches the importer's caches), the source is whole again.
 */
KTEST(oom, qcache_importer_source_runs_dry)
{
	struct arena *src =
		arena_create("oom_qimp_source", (void *)FAKE_BASE, 300 * PGSIZE,
			     PGSIZE, NULL, NULL, NULL, 0, MEM_ATOMIC);
	struct arena *a = arena_create(TEST_NAME, NULL, 0, PGSIZE, arena_alloc,
				       arena_free, src, 2 * PGSIZE, MEM_ATOMIC);
	size_t n = 0;

	KT_ASSERT_NOT_NULL(src);
	KT_ASSERT_NOT_NULL(a);
	KT_ASSERT_NOT_NULL(a->qcache[1]);
	/* 2-page objects, 8 to a 16-page slab: 18 slabs, 12 pages left */
	KT_EXPECT_EQ(alloc_until_null(a, &n, 2 * PGSIZE), 18 * 8);
	/* 1-page objects, 8 to an 8-page slab: 1 slab, 4 pages left */
	KT_EXPECT_EQ(alloc_until_null(a, &n, PGSIZE), 8);
	KT_EXPECT_EQ(a->qcache[1]->fails, 1);
	KT_EXPECT_EQ(a->qcache[1]->nr_slabs, 18);
	KT_EXPECT_EQ(a->qcache[0]->fails, 1);
	KT_EXPECT_EQ(a->qcache[0]->nr_slabs, 1);
	/* a segment above the caches' sizes, and the last page */
	KT_EXPECT_EQ(alloc_until_null(a, &n, 3 * PGSIZE), 1);
	KT_EXPECT_EQ(arena_amt_free(src), PGSIZE);
	KT_EXPECT_EQ(a->imported_bytes, src->in_use);
	KT_EXPECT_TRUE(qcaches_sound(a));
	KT_EXPECT_EQ(arena_check(src), 0);
	KT_EXPECT_EQ(xalloc_until_null(a, &n, PGSIZE, 0, 0, 0, 0, 0), 1);
	KT_EXPECT_EQ(a->stats.fails, 4);
	KT_EXPECT_EQ(arena_amt_free(src), 0);
	KT_EXPECT_EQ(arena_amt_free(a), 0);
	KT_EXPECT_EQ(a->imported_bytes, 300 * PGSIZE);
	KT_EXPECT_TRUE(held_disjoint(n, FAKE_BASE, FAKE_BASE + 300 * PGSIZE));
	give_back(a, n);
	KT_EXPECT_EQ(kmem_cache_nr_live(a->qcache[0]), 0);
	KT_EXPECT_EQ(kmem_cache_nr_live(a->qcache[1]), 0);
	arena_reclaim(src); /* reaches the importer's caches */
	KT_EXPECT_EQ(a->qcache[0]->nr_slabs, 0);
	KT_EXPECT_EQ(a->qcache[1]->nr_slabs, 0);
	KT_EXPECT_EQ(arena_amt_total(a), 0);
	KT_EXPECT_EQ(a->stats.span_returns, a->stats.imports);
	KT_EXPECT_EQ(arena_amt_free(src), 300 * PGSIZE);
	KT_EXPECT_EQ(src->stats.allocs, src->stats.frees);
	KT_EXPECT_TRUE(qcaches_sound(a));
	KT_EXPECT_EQ(arena_check(src), 0);
	arena_destroy(a);
	arena_destroy(src);
}

/* ---- caches over bounded arenas */

static int ctor_calls, dtor_calls;

static int count_ctor(void *obj, void *priv, int flags)
{
	(void)flags;
	ctor_calls++;
	*(uintptr_t *)obj = (uintptr_t)obj ^ (uintptr_t)priv;
	return 0;
}

static void count_dtor(void *obj, void *priv)
{
	/* the constructed state survived, however the object was used */
	if (*(uintptr_t *)obj != ((uintptr_t)obj ^ (uintptr_t)priv))
		printk("dtor: object %p lost its constructed state\n", obj);
	dtor_calls++;
}

#define OBJS_MAX 4096
static void *objs[OBJS_MAX];

/* Allocate from cp until it fails; how many. */
static size_t cache_until_null(struct kmem_cache *cp, size_t *n)
{
	size_t got = 0;
	void *p;

	while (*n < OBJS_MAX &&
	       (p = kmem_cache_alloc(cp, MEM_ATOMIC)) != NULL) {
		objs[(*n)++] = p;
		got++;
	}
	return got;
}

/* The CPUs' magazines of cp hold nothing, nor does its depot. */
static bool magazines_empty(struct kmem_cache *cp)
{
	for (int i = 0; i < NR_CPUS; i++)
		if (cp->cpu[i].loaded || cp->cpu[i].previous)
			return false;
	return !cp->depot.full && !cp->depot.empty;
}

struct cache_case {
	const char *name;
	size_t obj_size;
	int flags;
	bool ctor;
	bool on_slab; /* what the geometry must come out as */
	size_t arena_pages;
};

/*
 * A cache over an arena of c->arena_pages: pages from kpages, or a fake
 * range for KMC_NOTOUCH (never touched). Exhausted, it holds exactly the
 * objects of every slab that fits, the rest of the arena stays free, the
 * failure is counted once per call and builds nothing; freed, and
 * reclaimed by an arena allocation of all of it (which must reap the
 * magazines, depot and empty slabs to succeed), the arena is whole.
 */
static void cache_exhaustion(const struct cache_case *c)
{
	size_t bytes = c->arena_pages * PGSIZE, n = 0, slabs, fails;
	bool touch = !(c->flags & KMC_NOTOUCH);
	void *mem = touch ? arena_alloc(kpages_arena, bytes, MEM_ATOMIC) :
			    (void *)FAKE_BASE;
	struct arena *a;
	struct kmem_cache *cp;
	struct arena_snap s;
	void *all;

	KT_ASSERT_NOT_NULL(mem);
	a = arena_create(c->name, mem, bytes, PGSIZE, NULL, NULL, NULL, 0,
			 MEM_ATOMIC);
	KT_ASSERT_NOT_NULL(a);
	cp = kmem_cache_create(c->name, c->obj_size, 0, c->flags, a,
			       c->ctor ? count_ctor : NULL,
			       c->ctor ? count_dtor : NULL, (void *)0x0dd);
	KT_ASSERT_EQ(cp->on_slab, c->on_slab);
	ctor_calls = dtor_calls = 0;
	slabs = bytes / cp->slab_size;
	KT_ASSERT_LE(slabs * cp->objs_per_slab, OBJS_MAX);
	KT_EXPECT_EQ(cache_until_null(cp, &n), slabs * cp->objs_per_slab);
	KT_EXPECT_EQ(cp->fails, 1);
	KT_EXPECT_EQ(cp->nr_slabs, slabs);
	KT_EXPECT_EQ(cp->slabs_created, slabs);
	KT_EXPECT_EQ(kmem_cache_nr_live(cp), n);
	KT_EXPECT_EQ(arena_amt_free(a), bytes % cp->slab_size);
	KT_EXPECT_EQ(a->stats.fails, 1);
	KT_EXPECT_EQ(ctor_calls, c->ctor ? (int)n : 0);
	KT_EXPECT_EQ(dtor_calls, 0);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	KT_EXPECT_EQ(arena_check(a), 0);
	/* distinct objects inside the arena; touchable ones hold a pattern */
	for (size_t i = 0; i < n; i++) {
		KT_EXPECT_TRUE((uintptr_t)objs[i] >= (uintptr_t)mem &&
			       (uintptr_t)objs[i] + c->obj_size <=
				       (uintptr_t)mem + bytes);
		if (touch && !c->ctor)
			kmemset(objs[i], (int)(i & 0xff), c->obj_size);
	}
	for (size_t i = 0; touch && !c->ctor && i < n; i++) {
		uint8_t *o = objs[i];

		if (o[0] != (i & 0xff) || o[c->obj_size - 1] != (i & 0xff)) {
			printk("object %zu at %p overwritten\n", i, o);
			KT_EXPECT_TRUE(false);
			break;
		}
	}
	/* failing again builds nothing and changes nothing else */
	s = snap(a);
	fails = cp->fails;
	KT_EXPECT_NULL(kmem_cache_alloc(cp, MEM_ATOMIC));
	KT_EXPECT_NULL(kmem_cache_alloc(cp, MEM_ATOMIC));
	KT_EXPECT_EQ(cp->fails, fails + 2);
	KT_EXPECT_EQ(cp->nr_slabs, slabs);
	KT_EXPECT_EQ(ctor_calls, c->ctor ? (int)n : 0);
	EXPECT_SAME_BUT_FAILS(a, &s, 2);
	while (n)
		kmem_cache_free(cp, objs[--n]);
	KT_EXPECT_EQ(kmem_cache_nr_live(cp), 0);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	KT_EXPECT_EQ(arena_amt_free(a), bytes % cp->slab_size);
	/* all of the arena at once: only if the failing first try reaps cp */
	all = arena_alloc(a, bytes, MEM_ATOMIC);
	KT_EXPECT_EQ(all, mem);
	KT_EXPECT_EQ(cp->nr_slabs, 0);
	KT_EXPECT_TRUE(magazines_empty(cp));
	KT_EXPECT_EQ(dtor_calls, ctor_calls);
	if (all)
		arena_free(a, all, bytes);
	KT_EXPECT_EQ(arena_amt_free(a), bytes);
	KT_EXPECT_EQ(a->nr_free_segs, 1);
	KT_EXPECT_EQ(a->stats.allocs, a->stats.frees);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	KT_EXPECT_EQ(arena_check(a), 0);
	kmem_cache_destroy(cp);
	arena_destroy(a);
	if (touch)
		arena_free(kpages_arena, mem, bytes);
}

KTEST(oom, cache_on_slab)
{
	cache_exhaustion(&(struct cache_case){ "oom_cache_on_slab", 64, 0,
					       false, true, 16 });
}

KTEST(oom, cache_off_slab)
{
	/* 1008-byte chunks, 8 to a slab of 2 pages: 16 slabs, a page left */
	cache_exhaustion(&(struct cache_case){ "oom_cache_off_slab", 1000, 0,
					       false, false, 33 });
}

KTEST(oom, cache_notouch)
{
	/* 2-page objects, 8 to a slab of 16 pages: 6 slabs, 4 pages left */
	cache_exhaustion(&(struct cache_case){ "oom_cache_notouch", 2 * PGSIZE,
					       KMC_NOTOUCH, false, false,
					       100 });
}

KTEST(oom, cache_with_ctor)
{
	cache_exhaustion(&(struct cache_case){ "oom_ctor_on_slab", 100, 0, true,
					       true, 12 });
	cache_exhaustion(&(struct cache_case){ "oom_ctor_off_slab", 2000, 0,
					       true, false, 37 });
}

/*
 * An allocation that fails reclaims first, even when reclaiming cannot
 * save it: the importing cache's magazines, depot and empty slabs are
 * all gone afterwards, destructed, and the arena holds all its bytes.
 */
KTEST(oom, atomic_failure_reclaims_first)
{
	const size_t bytes = 32 * PGSIZE;
	void *mem = arena_alloc(kpages_arena, bytes, MEM_ATOMIC);
	struct arena *a;
	struct kmem_cache *cp;
	size_t n = 0, per_slab;

	KT_ASSERT_NOT_NULL(mem);
	a = arena_create(TEST_NAME, mem, bytes, PGSIZE, NULL, NULL, NULL, 0,
			 MEM_ATOMIC);
	KT_ASSERT_NOT_NULL(a);
	cp = kmem_cache_create(TEST_NAME, 128, 0, 0, a, count_ctor, count_dtor,
			       NULL);
	ctor_calls = dtor_calls = 0;
	per_slab = cp->objs_per_slab;
	/* 10 slabs' worth, all freed: into magazines and the depot */
	for (size_t i = 0; i < 10 * per_slab && n < OBJS_MAX; i++)
		objs[n++] = kmem_cache_alloc(cp, MEM_ATOMIC);
	KT_ASSERT_EQ(n, 10 * per_slab);
	while (n)
		kmem_cache_free(cp, objs[--n]);
	KT_EXPECT_EQ(cp->nr_slabs, 10);
	/* (a cache under a kmem_debug mode has no magazines: slabs only) */
	if (cp->mag_size) {
		KT_EXPECT_GT(cp->depot.nr_full, 0);
		KT_EXPECT_FALSE(magazines_empty(cp));
	}
	KT_EXPECT_EQ(arena_amt_free(a), bytes - 10 * PGSIZE);
	/* more than the arena has: it fails, but only after reaping cp */
	KT_EXPECT_NULL(arena_alloc(a, bytes + PGSIZE, MEM_ATOMIC));
	KT_EXPECT_EQ(a->stats.fails, 1);
	KT_EXPECT_EQ(cp->nr_slabs, 0);
	KT_EXPECT_EQ(cp->slabs_destroyed, 10);
	KT_EXPECT_TRUE(magazines_empty(cp));
	KT_EXPECT_EQ(dtor_calls, 10 * (int)per_slab);
	KT_EXPECT_EQ(dtor_calls, ctor_calls);
	KT_EXPECT_EQ(arena_amt_free(a), bytes);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	KT_EXPECT_EQ(arena_check(a), 0);
	kmem_cache_destroy(cp);
	arena_destroy(a);
	arena_free(kpages_arena, mem, bytes);
}

/* ---- the global arenas, over a bounded remainder of base */

#define GLOBAL_LEAVE (4 * MiB)
#define BULK_MAX 64
#define NR_KMALLOC_CLASSES 9 /* kmalloc_32 .. kmalloc_8192 */
#define SMALL_MAX 8176	     /* the most kmalloc_8192 holds, tag taken */
#define KPAGES_QCACHES 8     /* kpages' quantum caches: 1..8 pages */

static struct {
	void *addr;
	size_t size;
} bulk[BULK_MAX];
static size_t nr_bulk;

/* The largest free segment of a (on the highest list or the one below). */
static size_t largest_free(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t best = 0;

	if (a->free_bitmap) {
		int top = highbit(a->free_bitmap);

		for (int i = top; i >= 0 && i >= top - 1; i--) {
			struct list_head *head = &a->free_lists[i], *l;

			for (l = head->next; l != head; l = l->next)
				best = MAX(best,
					   container_of(l, struct btag, free)
						   ->size);
		}
	}
	spin_unlock_irqrestore(&a->lock, irq);
	return best;
}

/*
 * Put all of base but GLOBAL_LEAVE bytes aside, in a few allocations of
 * its largest free segments (less a page, where base may carve tags),
 * never touched: what is left costs the same on any machine. Returns the
 * bytes base has free after.
 */
static size_t bulk_take(void)
{
	nr_bulk = 0;
	while (nr_bulk < BULK_MAX) {
		size_t free = arena_amt_free(base_arena);
		size_t size = largest_free(base_arena);

		if (free <= GLOBAL_LEAVE || size <= PGSIZE)
			break;
		size = MIN(size - PGSIZE, free - GLOBAL_LEAVE);
		bulk[nr_bulk].addr = arena_alloc(base_arena, size, MEM_ATOMIC);
		if (!bulk[nr_bulk].addr)
			break;
		bulk[nr_bulk++].size = size;
	}
	return arena_amt_free(base_arena);
}

static void bulk_give_back(void)
{
	while (nr_bulk) {
		nr_bulk--;
		arena_free(base_arena, bulk[nr_bulk].addr, bulk[nr_bulk].size);
	}
}

/* Whether a takes its bookkeeping from base_arena. */
static bool rooted_at_base(struct arena *a)
{
	while (a && !a->is_base)
		a = a->source;
	return !a || a == base_arena;
}

static size_t table_bytes(size_t buckets)
{
	return ALIGN_UP(buckets * sizeof(void *), PGSIZE);
}

static void arena_kept(struct arena *a, void *arg)
{
	unsigned long irq;

	if (!rooted_at_base(a))
		return;
	irq = spin_lock_irqsave(&a->lock);
	*(size_t *)arg += a->nr_tag_pages * PGSIZE;
	if (a->hash != a->hash_initial)
		*(size_t *)arg += table_bytes(a->hash_buckets);
	spin_unlock_irqrestore(&a->lock, irq);
}

static void cache_kept(struct kmem_cache *cp, void *arg)
{
	unsigned long irq;

	if (!rooted_at_base(cp->source))
		return;
	irq = spin_lock_irqsave(&cp->lock);
	if (cp->hash != cp->hash_initial)
		*(size_t *)arg += table_bytes(cp->hash_buckets);
	spin_unlock_irqrestore(&cp->lock, irq);
}

/*
 * Bytes of base that bookkeeping keeps by design once it has them: every
 * arena's tag pages (spare tags are kept for reuse), arenas' grown hash
 * tables (until they shrink) and caches' grown hash tables (never shrunk).
 */
static size_t kept_bytes(void)
{
	size_t kept = 0;

	arena_for_each(arena_kept, &kept);
	kmem_cache_for_each(cache_kept, &kept);
	return kept;
}

struct global_snap {
	struct arena_snap base, kpages, jumbo_2m, jumbo_1g;
	size_t live[NR_KMALLOC_CLASSES], slabs[NR_KMALLOC_CLASSES];
	size_t qlive[KPAGES_QCACHES], qslabs[KPAGES_QCACHES];
	size_t kept;
};

/* Every cache gives back what it can, then the counters of it all. */
static struct global_snap global_settled(void)
{
	struct global_snap g;

	arena_reclaim(base_arena);
	g.base = snap(base_arena);
	g.kpages = snap(kpages_arena);
	g.jumbo_2m = snap(kpages_2m_arena);
	g.jumbo_1g = snap(kpages_1g_arena);
	for (int c = 0; c < NR_KMALLOC_CLASSES; c++) {
		g.live[c] = kmem_cache_nr_live(kmalloc_cache(c));
		g.slabs[c] = kmalloc_cache(c)->nr_slabs;
	}
	for (int i = 0; i < KPAGES_QCACHES; i++) {
		g.qlive[i] = kmem_cache_nr_live(kpages_arena->qcache[i]);
		g.qslabs[i] = kpages_arena->qcache[i]->nr_slabs;
	}
	g.kept = kept_bytes();
	return g;
}

/*
 * Everything is where it was in g: the same bytes in use and managed in
 * base (but for bookkeeping kept meanwhile), kpages and the jumbo arenas,
 * the same live objects and slabs in every kmalloc and kpages cache.
 */
static void expect_global_same(int line, const struct global_snap *g)
{
	struct global_snap now = global_settled();

	printk("line %d: base keeps %zu more bytes of bookkeeping (tag pages, hash tables)\n",
	       line, now.kept - g->kept);
	KT_EXPECT_EQ(now.base.total, g->base.total);
	KT_EXPECT_EQ(now.base.nr_spans, g->base.nr_spans);
	KT_EXPECT_EQ(now.base.in_use, g->base.in_use + (now.kept - g->kept));
	KT_EXPECT_EQ(now.kpages.total, g->kpages.total);
	KT_EXPECT_EQ(now.kpages.in_use, g->kpages.in_use);
	KT_EXPECT_EQ(now.kpages.nr_free_segs, g->kpages.nr_free_segs);
	KT_EXPECT_EQ(now.kpages.nr_spans, g->kpages.nr_spans);
	KT_EXPECT_EQ(now.kpages.imported_bytes, g->kpages.imported_bytes);
	KT_EXPECT_EQ(now.kpages.allocs - now.kpages.frees,
		     g->kpages.allocs - g->kpages.frees);
	KT_EXPECT_EQ(now.jumbo_2m.total, g->jumbo_2m.total);
	KT_EXPECT_EQ(now.jumbo_2m.in_use, g->jumbo_2m.in_use);
	KT_EXPECT_EQ(now.jumbo_1g.total, g->jumbo_1g.total);
	KT_EXPECT_EQ(now.jumbo_1g.in_use, g->jumbo_1g.in_use);
	KT_EXPECT_MEMEQ(now.live, g->live, sizeof(g->live));
	KT_EXPECT_MEMEQ(now.slabs, g->slabs, sizeof(g->slabs));
	KT_EXPECT_MEMEQ(now.qlive, g->qlive, sizeof(g->qlive));
	KT_EXPECT_MEMEQ(now.qslabs, g->qslabs, sizeof(g->qslabs));
}

#define EXPECT_GLOBAL_SAME(g) expect_global_same(__LINE__, g)

/* Every kmalloc and kpages cache and every global arena is sound. */
static bool global_sound(void)
{
	for (int c = 0; c < NR_KMALLOC_CLASSES; c++)
		if (kmem_cache_check(kmalloc_cache(c)))
			return false;
	for (int i = 0; i < KPAGES_QCACHES; i++)
		if (kmem_cache_check(kpages_arena->qcache[i]))
			return false;
	return arena_check(base_arena) == 0 && arena_check(kpages_arena) == 0 &&
	       arena_check(kpages_2m_arena) == 0 &&
	       arena_check(kpages_1g_arena) == 0;
}

/* kmalloc buffers held, linked through their first word. */
static void *chain;
static size_t chain_len, chain_bytes;

/* The fails counter a failing kmalloc(size) must bump: exactly one. */
static uint64_t fails_for(size_t size)
{
	size_t seg = ALIGN_UP(size + 32, PGSIZE);

	if (size <= SMALL_MAX) {
		int c = 0;

		while ((32ul << c) < size + 16)
			c++;
		return kmalloc_cache(c)->fails;
	}
	if (seg <= KPAGES_QCACHES * PGSIZE)
		return kpages_arena->qcache[seg / PGSIZE - 1]->fails;
	return kpages_arena->stats.fails;
}

/*
 * One size for each kmalloc cache, for three of kpages' quantum caches
 * and for three segment sizes above them.
 */
static const size_t exhaust_sizes[] = {
	16,   48,   100,   200,	  400,	    1000,      2000, 4000,
	8000, 8177, 20000, 28000, 64 * KiB, 300 * KiB, MiB,
};

/*
 * Exhaust what kmalloc can reach, in rounds that give each size about
 * 64 KiB, every size until it fails: a failing call counts exactly one
 * failure where it failed (its kmalloc cache, its kpages quantum cache,
 * or kpages). Returns base's free bytes then.
 */
static size_t kmalloc_exhaust(void)
{
	bool failed[ARRAY_SIZE(exhaust_sizes)] = { false };
	size_t active = ARRAY_SIZE(exhaust_sizes);

	while (active) {
		for (size_t i = 0; i < ARRAY_SIZE(exhaust_sizes); i++) {
			size_t size = exhaust_sizes[i];

			for (size_t k = 0;
			     !failed[i] && k < MAX(1, 64 * KiB / size); k++) {
				uint64_t fails = fails_for(size);
				void **b = kmalloc(size, MEM_ATOMIC);

				if (b) {
					*b = chain;
					chain = b;
					chain_len++;
					chain_bytes += kmalloc_size(b);
					continue;
				}
				failed[i] = true;
				active--;
				if (fails_for(size) != fails + 1)
					printk("kmalloc(%zu): %llu failures counted, expected 1\n",
					       size,
					       (unsigned long long)(fails_for(
									    size) -
								    fails));
				KT_EXPECT_EQ(fails_for(size), fails + 1);
			}
		}
	}
	return arena_amt_free(base_arena);
}

static void chain_give_back(void)
{
	while (chain) {
		void *b = chain;

		chain = *(void **)b;
		kfree(b);
	}
	chain_len = chain_bytes = 0;
}

/*
 * The whole story on the global arenas: base cut down to a few MiB, a
 * jumbo page held meanwhile (the jumbo arena holds an import), the 2 MiB
 * arena exhausted, then everything kmalloc can reach; every kind of
 * request then fails and changes nothing; and everything given back
 * leaves every global counter exactly where it was.
 */
KTEST(oom, kmalloc_exhausts_the_global_arenas)
{
	struct global_snap before, full;
	size_t remainder, left, jumbo = 0, usable;
	static void *jumbo_pages[4];
	void *held_2m, *p;

	/* the remainder it exhausts, and the jumbo page it holds */
	KT_NEED_BASE(GLOBAL_LEAVE + 2 * MiB);
	before = global_settled();
	held_2m = arena_alloc(kpages_2m_arena, PGSIZE_2M, MEM_ATOMIC);
	if (!held_2m)
		KT_SKIPF(
			"needs 2 MiB (2 MiB aligned) free in arena 'base', it has %zu KiB in smaller runs",
			arena_amt_free(base_arena) / KiB);
	remainder = bulk_take();
	printk("base: %zu bytes free left after %zu bulk allocations (%zu MiB total)\n",
	       remainder, nr_bulk, arena_amt_total(base_arena) >> 20);
	KT_ASSERT_LE(remainder, 2 * GLOBAL_LEAVE);
	/* the 2 MiB arena: what the remainder holds of aligned runs */
	while (jumbo < ARRAY_SIZE(jumbo_pages) &&
	       (jumbo_pages[jumbo] = arena_alloc(kpages_2m_arena, PGSIZE_2M,
						 MEM_ATOMIC)) != NULL)
		jumbo++;
	KT_EXPECT_LT(jumbo, ARRAY_SIZE(jumbo_pages));
	KT_EXPECT_EQ(kpages_2m_arena->stats.fails, before.jumbo_2m.fails + 1);
	KT_EXPECT_NULL(arena_xalloc(base_arena, PGSIZE_2M, PGSIZE_2M, 0, 0,
				    NULL, NULL, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_alloc(kpages_1g_arena, PGSIZE_1G, MEM_ATOMIC));
	KT_EXPECT_EQ(kpages_1g_arena->stats.fails, before.jumbo_1g.fails + 1);
	KT_EXPECT_EQ(arena_amt_total(kpages_1g_arena), before.jumbo_1g.total);

	left = kmalloc_exhaust();
	printk("kmalloc: %zu buffers, %zu usable bytes; base has %zu bytes free, kpages %zu\n",
	       chain_len, chain_bytes, left, arena_amt_free(kpages_arena));
	KT_EXPECT_GT(chain_len, 0);
	KT_EXPECT_LE(chain_bytes, remainder + before.kpages.total);
	/* at most a page kpages could not use without a tag page too */
	KT_EXPECT_LE(left, PGSIZE);
	KT_EXPECT_TRUE(global_sound());

	/* every kind of request fails now, and changes nothing */
	full = global_settled();
	/* a failing MEM_ATOMIC kmalloc asks base once, not once a layer */
	for (size_t n = 200; n <= 3 * PGSIZE; n *= 4) {
		uint64_t asked = base_arena->stats.fails;

		KT_EXPECT_NULL(kmalloc(n, MEM_ATOMIC));
		KT_EXPECT_EQ(base_arena->stats.fails - asked, 1);
	}
	full = global_settled();
	KT_EXPECT_NULL(kmalloc(1, MEM_ATOMIC));
	KT_EXPECT_NULL(kmalloc(200, MEM_ATOMIC));
	KT_EXPECT_NULL(kmalloc(SMALL_MAX, MEM_ATOMIC));
	KT_EXPECT_NULL(kmalloc(SMALL_MAX + 1, MEM_ATOMIC));
	KT_EXPECT_NULL(kmalloc(MiB, MEM_ATOMIC));
	KT_EXPECT_NULL(kzmalloc(5000, MEM_ATOMIC));
	KT_EXPECT_NULL(kmalloc_align(64, MEM_ATOMIC, 4096));
	KT_EXPECT_NULL(kmalloc_align(PGSIZE, MEM_ATOMIC, PGSIZE_2M));
	usable = kmalloc_size(chain);
	KT_EXPECT_NULL(krealloc(chain, 4 * usable, MEM_ATOMIC));
	KT_EXPECT_EQ(kmalloc_size(chain), usable);
	KT_EXPECT_NULL(arena_alloc(kpages_arena, PGSIZE, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_alloc(kpages_arena, 9 * PGSIZE, MEM_ATOMIC));
	KT_EXPECT_NULL(arena_alloc(kpages_2m_arena, PGSIZE_2M, MEM_ATOMIC));
	if (left == 0) {
		KT_EXPECT_NULL(base_alloc(NULL, PGSIZE, MEM_ATOMIC));
		KT_EXPECT_NULL(base_zalloc(kpages_arena, PGSIZE, MEM_ATOMIC));
		KT_EXPECT_NULL(arena_xalloc(base_arena, PGSIZE, 0, 0, 0, NULL,
					    NULL, MEM_ATOMIC));
	}
	KT_EXPECT_EQ(kpages_arena->stats.allocs, full.kpages.allocs);
	KT_EXPECT_EQ(kpages_arena->stats.frees, full.kpages.frees);
	KT_EXPECT_EQ(arena_amt_free(base_arena), left);
	EXPECT_GLOBAL_SAME(&full);
	KT_EXPECT_TRUE(global_sound());

	/* everything back: every counter as it was before the test */
	chain_give_back();
	while (jumbo)
		arena_free(kpages_2m_arena, jumbo_pages[--jumbo], PGSIZE_2M);
	bulk_give_back();
	arena_free(kpages_2m_arena, held_2m, PGSIZE_2M);
	EXPECT_GLOBAL_SAME(&before);
	KT_EXPECT_TRUE(global_sound());
	/* and it can all be had again */
	p = kmalloc(MiB, MEM_ATOMIC);
	KT_EXPECT_NOT_NULL(p);
	kfree(p);
}

/*
 * Base cut down to GLOBAL_LEAVE, then all of that taken through kmalloc:
 * base has at most a page free after (one kpages could not use, as it
 * needs a page for tags too). Returns base's free bytes.
 */
static size_t global_exhaust(void)
{
	size_t remainder = bulk_take();

	if (remainder > 2 * GLOBAL_LEAVE)
		printk("base still has %zu bytes free after %zu bulk allocations\n",
		       remainder, nr_bulk);
	return kmalloc_exhaust();
}

static void global_give_back(void)
{
	chain_give_back();
	bulk_give_back();
}

static void count_arena(struct arena *a, void *arg)
{
	(void)a;
	++*(size_t *)arg;
}

static size_t nr_arenas(void)
{
	size_t n = 0;

	arena_for_each(count_arena, &n);
	return n;
}

static void count_cache(struct kmem_cache *cp, void *arg)
{
	(void)cp;
	++*(size_t *)arg;
}

static size_t nr_caches(void)
{
	size_t n = 0;

	kmem_cache_for_each(count_cache, &n);
	return n;
}

/*
 * With base dry, arena_create and arena_add under MEM_ATOMIC return NULL
 * and leave nothing behind: base gets back the pages it lent, no arena or
 * cache is left on the lists, the arena added to keeps no span. (An
 * arena with quantum caches used to panic here: its caches' structures
 * were always taken with MEM_WAIT.)
 */
KTEST(oom, atomic_create_and_add_when_base_is_dry)
{
	struct global_snap before = global_settled();
	struct arena *empty = arena_create("oom_empty", NULL, 0, PGSIZE, NULL,
					   NULL, NULL, 0, MEM_ATOMIC);
	size_t arenas, caches, left, base_in_use;
	void *lent, *lent2, *span;
	struct arena *a;

	KT_ASSERT_NOT_NULL(empty);
	KT_EXPECT_EQ(empty->nr_tag_pages, 0);
	bulk_take();
	lent = base_alloc(NULL, PGSIZE, MEM_ATOMIC);
	lent2 = base_alloc(NULL, 2 * PGSIZE, MEM_ATOMIC);
	KT_ASSERT_NOT_NULL(lent);
	KT_ASSERT_NOT_NULL(lent2);
	left = kmalloc_exhaust();
	KT_EXPECT_LE(left, PGSIZE);
	global_settled();
	arenas = nr_arenas();
	caches = nr_caches();
	base_in_use = base_arena->in_use;
	/* no spare tags and no page for more */
	if (left == 0) {
		KT_EXPECT_NULL(
			arena_add(empty, (void *)FAKE_BASE, MiB, MEM_ATOMIC));
		KT_EXPECT_EQ(arena_amt_total(empty), 0);
		KT_EXPECT_EQ(empty->nr_spans, 0);
		KT_EXPECT_EQ(arena_check(empty), 0);
		KT_EXPECT_NULL(arena_create("oom_no_page", (void *)FAKE_BASE,
					    MiB, PGSIZE, NULL, NULL, NULL, 0,
					    MEM_ATOMIC));
	}
	/* one page: enough for the arena, not for its first tags */
	base_free(NULL, lent, PGSIZE);
	KT_EXPECT_NULL(arena_create("oom_one_page", (void *)FAKE_BASE, MiB,
				    PGSIZE, NULL, NULL, NULL, 0, MEM_ATOMIC));
	KT_EXPECT_EQ(nr_arenas(), arenas);
	KT_EXPECT_EQ(arena_amt_free(base_arena), left + PGSIZE);
	KT_EXPECT_EQ(base_arena->in_use, base_in_use - PGSIZE);
	/*
	 * Three pages: enough for an arena, never for four quantum caches
	 * (each cache's structure takes two pages): NULL, where the caches'
	 * creation used to panic, and the caches made are gone again.
	 */
	base_free(NULL, lent2, 2 * PGSIZE);
	KT_EXPECT_NULL(arena_create("oom_three_pages_q", (void *)FAKE_BASE, MiB,
				    PGSIZE, NULL, NULL, NULL, 4 * PGSIZE,
				    MEM_ATOMIC));
	KT_EXPECT_EQ(nr_arenas(), arenas);
	KT_EXPECT_EQ(nr_caches(), caches);
	KT_EXPECT_EQ(arena_amt_free(base_arena), left + 3 * PGSIZE);
	KT_EXPECT_EQ(base_arena->in_use, base_in_use - 3 * PGSIZE);
	KT_EXPECT_TRUE(global_sound());
	global_give_back();
	/* with memory back, the same calls succeed */
	span = arena_add(empty, (void *)FAKE_BASE, MiB, MEM_ATOMIC);
	KT_EXPECT_EQ(span, (void *)FAKE_BASE);
	KT_EXPECT_EQ(arena_amt_free(empty), MiB);
	a = arena_create("oom_now_it_fits", (void *)FAKE_BASE, MiB, PGSIZE,
			 NULL, NULL, NULL, 4 * PGSIZE, MEM_ATOMIC);
	KT_EXPECT_NOT_NULL(a);
	if (a)
		arena_destroy(a);
	arena_destroy(empty);
	EXPECT_GLOBAL_SAME(&before);
}

/* Take every object cp can give, linked through their first word. */
static void *drain(struct kmem_cache *cp, void *head, size_t *n)
{
	void *p;

	*n = 0;
	while ((p = kmem_cache_alloc(cp, MEM_ATOMIC)) != NULL) {
		*(void **)p = head;
		head = p;
		++*n;
	}
	return head;
}

/* Give back k objects of a drained list (all: k = SIZE_MAX). */
static void *undrain(struct kmem_cache *cp, void *head, size_t k)
{
	while (head && k--) {
		void *p = head;

		head = *(void **)p;
		kmem_cache_free(cp, p);
	}
	return head;
}

/*
 * An off-slab cache over an arena of its own, made while memory was
 * plentiful; then base runs dry. Its slabs' memory comes from its arena,
 * their headers and bufctls from the slab layer's own caches over base,
 * kmem_slab and kmem_bufctl: with those drained, a slab cannot be
 * finished, whichever piece is missing (the header; the first bufctl; the
 * fourth), and what it had taken goes back: the arena's bytes, the
 * headers and bufctls, exactly. Each failure is counted where it
 * happened, and once in the cache.
 */
KTEST(oom, off_slab_bookkeeping_runs_dry)
{
	const size_t bytes = 64 * PGSIZE;
	struct global_snap before = global_settled();
	struct kmem_cache *headers = cache_named("kmem_slab");
	struct kmem_cache *bufctls = cache_named("kmem_bufctl");
	void *mem = arena_alloc(kpages_arena, bytes, MEM_ATOMIC);
	size_t nr_headers, nr_bufctls, live_h, live_b, n = 0;
	uint64_t fails_h, fails_b;
	void *hs, *bs, *p;
	struct arena *a;
	struct kmem_cache *cp;

	KT_ASSERT_NOT_NULL(headers);
	KT_ASSERT_NOT_NULL(bufctls);
	KT_ASSERT_NOT_NULL(mem);
	a = arena_create(TEST_NAME, mem, bytes, PGSIZE, NULL, NULL, NULL, 0,
			 MEM_ATOMIC);
	KT_ASSERT_NOT_NULL(a);
	cp = kmem_cache_create(TEST_NAME, 1000, 0, 0, a, NULL, NULL, NULL);
	KT_ASSERT_FALSE(cp->on_slab);
	KT_ASSERT_GE(cp->objs_per_slab, 4);
	/*
	 * A header and four bufctls put aside while memory is plentiful: the
	 * steps below give them back one by one, however many the caches
	 * still have free when base runs dry (none, at times: it depends on
	 * what the boot, the monitor and earlier tests left in them).
	 */
	hs = kmem_cache_alloc(headers, MEM_ATOMIC);
	KT_ASSERT_NOT_NULL(hs);
	*(void **)hs = NULL;
	bs = NULL;
	for (int i = 0; i < 4; i++) {
		p = kmem_cache_alloc(bufctls, MEM_ATOMIC);
		KT_ASSERT_NOT_NULL(p);
		*(void **)p = bs;
		bs = p;
	}
	global_exhaust();
	hs = drain(headers, hs, &nr_headers);
	bs = drain(bufctls, bs, &nr_bufctls);
	printk("base dry: took the last %zu slab headers and %zu bufctls\n",
	       nr_headers, nr_bufctls);
	live_h = kmem_cache_nr_live(headers);
	live_b = kmem_cache_nr_live(bufctls);
	fails_h = headers->fails;
	fails_b = bufctls->fails;

	/* no header */
	KT_EXPECT_NULL(kmem_cache_alloc(cp, MEM_ATOMIC));
	KT_EXPECT_EQ(headers->fails, fails_h + 1);
	KT_EXPECT_EQ(bufctls->fails, fails_b);
	/* a header, no bufctl */
	hs = undrain(headers, hs, 1);
	KT_EXPECT_NULL(kmem_cache_alloc(cp, MEM_ATOMIC));
	KT_EXPECT_EQ(headers->fails, fails_h + 1);
	KT_EXPECT_EQ(bufctls->fails, fails_b + 1);
	KT_EXPECT_EQ(kmem_cache_nr_live(headers), live_h - 1);
	/* a header and three bufctls: the fourth is missing */
	bs = undrain(bufctls, bs, 3);
	KT_EXPECT_NULL(kmem_cache_alloc(cp, MEM_ATOMIC));
	KT_EXPECT_EQ(bufctls->fails, fails_b + 2);
	KT_EXPECT_EQ(kmem_cache_nr_live(headers), live_h - 1);
	KT_EXPECT_EQ(kmem_cache_nr_live(bufctls), live_b - 3);

	/* nothing was kept: the arena is whole, the cache empty */
	KT_EXPECT_EQ(cp->fails, 3);
	KT_EXPECT_EQ(cp->nr_slabs, 0);
	KT_EXPECT_EQ(cp->slabs_created, 0);
	KT_EXPECT_EQ(arena_amt_free(a), bytes);
	KT_EXPECT_EQ(a->stats.allocs, 3);
	KT_EXPECT_EQ(a->stats.frees, 3);
	KT_EXPECT_EQ(a->stats.fails, 0);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	KT_EXPECT_EQ(kmem_cache_check(headers), 0);
	KT_EXPECT_EQ(kmem_cache_check(bufctls), 0);
	KT_EXPECT_EQ(arena_check(a), 0);

	/* with headers and bufctls back, a slab can be made, base still dry */
	undrain(headers, hs, SIZE_MAX);
	undrain(bufctls, bs, SIZE_MAX);
	p = kmem_cache_alloc(cp, MEM_ATOMIC);
	KT_EXPECT_NOT_NULL(p);
	KT_EXPECT_EQ(cp->nr_slabs, 1);
	KT_EXPECT_EQ(arena_amt_free(a), bytes - cp->slab_size);
	if (p)
		kmem_cache_free(cp, p);
	KT_EXPECT_TRUE(global_sound());
	global_give_back();
	/* memory back: the cache grows to the end of its arena */
	KT_EXPECT_EQ(cache_until_null(cp, &n),
		     bytes / cp->slab_size * cp->objs_per_slab);
	KT_EXPECT_EQ(arena_amt_free(a), bytes % cp->slab_size);
	while (n)
		kmem_cache_free(cp, objs[--n]);
	kmem_cache_destroy(cp);
	KT_EXPECT_EQ(arena_amt_free(a), bytes);
	arena_destroy(a);
	arena_free(kpages_arena, mem, bytes);
	EXPECT_GLOBAL_SAME(&before);
}

/*
 * ---- MEM_WAIT: reclaim, then a panic naming the arena, with the arena
 * table in its report (the header, and the exhausted arena's row)
 */

/* A cache over an arena of 8 pages: the ninth slab cannot be had. */
KTEST_PANICS(
	oom, wait_cache_over_bounded_arena,
	"panic: arena_xalloc: out of space: arena 'oom_wait_cache' size 4096 align 0 phase 0 nocross 0",
	"(after reclaiming from its importers)",
	"arena             quantum         in use          total",
	"oom_wait_cache       4096          32768          32768")
{
	void *mem = arena_alloc(kpages_arena, 8 * PGSIZE, MEM_WAIT);
	struct arena *a = arena_create("oom_wait_cache", mem, 8 * PGSIZE,
				       PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);
	struct kmem_cache *cp = kmem_cache_create("oom_wait_cache", 64, 0, 0, a,
						  NULL, NULL, NULL);

	for (size_t i = 0; i <= 8 * cp->objs_per_slab; i++)
		kmem_cache_alloc(cp, MEM_WAIT);
}

/* An importer whose source has 4 pages: the panic names the source. */
KTEST_PANICS(
	oom, wait_import_from_a_dry_source,
	"panic: arena_alloc: out of space: arena 'oom_wait_source' size 8192",
	"(after reclaiming from its importers)",
	"arena             quantum         in use          total",
	"oom_wait_source       4096          12288          16384",
	"oom_wait_importer       4096          12288          12288")
{
	struct arena *src =
		arena_create("oom_wait_source", (void *)FAKE_BASE, 4 * PGSIZE,
			     PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);
	struct arena *a =
		arena_create("oom_wait_importer", NULL, 0, PGSIZE, arena_alloc,
			     arena_free, src, 0, MEM_WAIT);

	arena_alloc(a, 3 * PGSIZE, MEM_WAIT);
	arena_alloc(a, 2 * PGSIZE, MEM_WAIT);
}

/* kmalloc with base dry: the page its slab needs is not in base. */
KTEST_PANICS(oom, wait_kmalloc_when_base_is_dry,
	     "panic: arena_alloc: out of space: arena 'base' size 4096",
	     "(after reclaiming from its importers)",
	     "arena             quantum         in use          total")
{
	global_exhaust();
	kmalloc(100, MEM_WAIT);
}
