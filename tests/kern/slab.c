/*
 * slab.c: tests of the object caches (kern/src/slab.c) and the arenas'
 * quantum caches and reclaim.
 *
 * Caches that must give memory back exactly take their slabs from a
 * private arena over a run of pages from kpages, so its free bytes can be
 * compared before and after. Caches and arenas are named after the test.
 */
/* what the larger tests hold (depot_exchange_and_reap: over 4 MiB) */
#define KTEST_NEEDS_BASE (5ul << 20)
#include "ktest.h"
#include "arena.h"
#include "arena_impl.h"
#include "kmem_debug.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "printk.h"
#include "slab_impl.h"

#define MiB (1ul << 20)
/* A fake range: never memory; in QEMU, any touch would page-fault. */
#define FAKE_BASE 0x100000000000ul

#define TEST_NAME (__func__ + 6)

/*
 * Kept by hand: a skip reason is one string, never split, and too long for
 * 80 columns once indented; clang-format would move every backslash of
 * the macro out past it.
 */
/* clang-format off */
/* For tests of the magazine layer, which the debug modes bypass. */
#define SKIP_WITHOUT_MAGAZINES()                                              \
	do {                                                                  \
		if (kmem_debug & KMEM_DEBUG_BYPASS)                           \
			KT_SKIP("kmem_debug is on: caches bypass their magazines"); \
	} while (0)

/* For tests of when constructors run, which poison changes. */
#define SKIP_UNDER_POISON()                                                        \
	do {                                                                       \
		if (kmem_debug & KMEM_DEBUG_POISON)                                \
			KT_SKIP("kmem_debug=poison constructs objects when handed out"); \
	} while (0)
/* clang-format on */

/*
 * An arena over bytes of fresh memory from kpages; *mem is that memory.
 * NULL, the test marked skipped, when base has no run that long free (at
 * the monitor, base may be nearly full or cut into pieces).
 */
static struct arena *memory_arena(const char *name, size_t bytes, void **mem)
{
	*mem = arena_alloc(kpages_arena, bytes, MEM_ATOMIC);
	if (!*mem) {
		ktest_skipf(
			"needs %zu KiB in one run free in arena 'base', it has %zu KiB in all",
			bytes >> 10, arena_amt_free(base_arena) >> 10);
		return NULL;
	}
	return arena_create(name, *mem, bytes, PGSIZE, NULL, NULL, NULL, 0,
			    MEM_WAIT);
}

static void memory_arena_done(struct arena *a, void *mem, size_t bytes)
{
	arena_destroy(a);
	arena_free(kpages_arena, mem, bytes);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* ---- constructors and destructors */

static int ctor_calls, dtor_calls, ctor_fail_at;

static int count_ctor(void *obj, void *priv, int flags)
{
	(void)flags;
	if (ctor_fail_at && ctor_calls + 1 == ctor_fail_at)
		return -1;
	ctor_calls++;
	*(uintptr_t *)obj = (uintptr_t)obj ^ (uintptr_t)priv;
	return 0;
}

static void count_dtor(void *obj, void *priv)
{
	(void)obj, (void)priv;
	dtor_calls++;
}

KTEST(slab, ctor_runs_per_slab_not_per_alloc)
{
	void *mem, *objs[200];
	struct arena *a;
	struct kmem_cache *cp;
	size_t per_slab;
	uintptr_t *p;

	SKIP_UNDER_POISON();
	a = memory_arena(TEST_NAME, MiB, &mem);
	if (!a)
		return;
	cp = kmem_cache_create(TEST_NAME, 64, 0, 0, a, count_ctor, count_dtor,
			       (void *)0x5eed);
	per_slab = cp->objs_per_slab;
	ctor_calls = dtor_calls = ctor_fail_at = 0;
	p = kmem_cache_alloc(cp, MEM_WAIT);
	KT_EXPECT_EQ(ctor_calls, per_slab); /* the whole slab, at once */
	KT_EXPECT_EQ(*p, (uintptr_t)p ^ 0x5eed);
	kmem_cache_free(cp, p);
	KT_EXPECT_EQ(kmem_cache_alloc(cp, MEM_WAIT), p); /* no new ctor */
	KT_EXPECT_EQ(ctor_calls, per_slab);
	for (size_t i = 0; i < per_slab; i++)
		objs[i] = kmem_cache_alloc(cp, MEM_WAIT);
	KT_EXPECT_EQ(ctor_calls, 2 * per_slab); /* a second slab */
	KT_EXPECT_EQ(dtor_calls, 0);
	kmem_cache_free(cp, p);
	for (size_t i = 0; i < per_slab; i++)
		kmem_cache_free(cp, objs[i]);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_reap(cp);
	KT_EXPECT_EQ(dtor_calls, 2 * per_slab); /* before the slabs went */
	KT_EXPECT_EQ(arena_amt_free(a), MiB);
	kmem_cache_destroy(cp);
	memory_arena_done(a, mem, MiB);
}

KTEST(slab, ctor_failure_leaks_nothing)
{
	void *mem;
	struct arena *a;
	struct kmem_cache *cp;
	size_t free_before;

	SKIP_UNDER_POISON();
	a = memory_arena(TEST_NAME, MiB, &mem);
	if (!a)
		return;
	cp = kmem_cache_create(TEST_NAME, 100, 0, 0, a, count_ctor, count_dtor,
			       NULL);
	free_before = arena_amt_free(a);
	ctor_calls = dtor_calls = 0;
	ctor_fail_at = 5;
	KT_EXPECT_NULL(kmem_cache_alloc(cp, MEM_ATOMIC));
	KT_EXPECT_EQ(ctor_calls, 4);
	KT_EXPECT_EQ(dtor_calls, 4); /* the four built are undone */
	KT_EXPECT_EQ(arena_amt_free(a), free_before);
	KT_EXPECT_EQ(cp->nr_slabs, 0);
	KT_EXPECT_EQ(cp->fails, 1);
	ctor_fail_at = 0;
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_destroy(cp);
	memory_arena_done(a, mem, MiB);
}

/* ---- geometry */

KTEST(slab, alignment_for_every_align)
{
	static const size_t sizes[] = { 8, 24, 100, 600, 3000 };

	for (size_t align = 8; align <= PGSIZE; align *= 2) {
		for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
			struct kmem_cache *cp =
				kmem_cache_create(TEST_NAME, sizes[k], align, 0,
						  NULL, NULL, NULL, NULL);
			void *p[20];

			for (int i = 0; i < 20; i++) {
				p[i] = kmem_cache_alloc(cp, MEM_WAIT);
				if ((uintptr_t)p[i] % align)
					printk("size %zu align %zu: %p\n",
					       sizes[k], align, p[i]);
				KT_EXPECT_EQ((uintptr_t)p[i] % align, 0);
			}
			for (int i = 0; i < 20; i++)
				kmem_cache_free(cp, p[i]);
			KT_EXPECT_EQ(kmem_cache_check(cp), 0);
			kmem_cache_destroy(cp);
		}
	}
}

KTEST(slab, colouring_spreads_first_objects)
{
	/*
	 * 400 bytes: 9 to a slab, 368 bytes of slack: 24 colours (with the
	 * state debug modes put after objects, 304 bytes make such chunks)
	 */
	size_t size =
		(kmem_debug & ~(KMEM_DEBUG_CHECK | KMEM_DEBUG_MAGAZINES)) ?
			304 :
			400;
	struct kmem_cache *cp = kmem_cache_create(TEST_NAME, size, 0, 0, NULL,
						  NULL, NULL, NULL);
	size_t per_slab = cp->objs_per_slab;
	uintptr_t first[3];
	void *objs[3 * 32];

	KT_ASSERT_LE(per_slab, 32);
	KT_ASSERT_GT(cp->colour_max, 0);
	for (size_t i = 0; i < 3 * per_slab; i++) {
		objs[i] = kmem_cache_alloc(cp, MEM_WAIT);
		if (i % per_slab == 0)
			first[i / per_slab] = (uintptr_t)objs[i] % PGSIZE;
	}
	KT_EXPECT_NE(first[0], first[1]);
	KT_EXPECT_NE(first[1], first[2]);
	KT_EXPECT_NE(first[0], first[2]);
	for (size_t i = 0; i < 3 * per_slab; i++)
		kmem_cache_free(cp, objs[i]);
	kmem_cache_destroy(cp);
}

KTEST(slab, on_and_off_slab)
{
	struct kmem_cache *small =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	struct kmem_cache *big = kmem_cache_create("slab_big", 9000, 0, 0, NULL,
						   NULL, NULL, NULL);

	KT_EXPECT_TRUE(small->on_slab);
	KT_EXPECT_EQ(small->slab_size, PGSIZE);
	KT_EXPECT_FALSE(big->on_slab);
	KT_EXPECT_GE(big->objs_per_slab, 8);
	KT_EXPECT_EQ(big->slab_size % PGSIZE, 0);
	kmem_cache_destroy(small);
	kmem_cache_destroy(big);
}

/* ---- a randomised workload with patterns in every live object */

#define WORK_CACHES 7
#define WORK_LIVE 128
#define WORK_OPS 200000

static const size_t work_sizes[WORK_CACHES] = {
	8, 24, 64, 200, 1000, 4000, 9000
};

static void pattern_fill(void *obj, size_t size)
{
	uint64_t *w = obj;

	for (size_t i = 0; i < size / 8; i++)
		w[i] = (uintptr_t)&w[i] * 0x9e3779b97f4a7c15ull;
}

static bool pattern_ok(void *obj, size_t size)
{
	uint64_t *w = obj;

	for (size_t i = 0; i < size / 8; i++)
		if (w[i] != (uintptr_t)&w[i] * 0x9e3779b97f4a7c15ull)
			return false;
	return true;
}

KTEST(slab, random_workload_with_patterns)
{
	static struct kmem_cache *caches[WORK_CACHES];
	static void *live[WORK_CACHES][WORK_LIVE];
	static int nr[WORK_CACHES];
	uint64_t seed = 2024;
	int bad = 0;

	for (int c = 0; c < WORK_CACHES; c++) {
		char name[32];

		ksnprintf(name, sizeof(name), "slab_work_%zu", work_sizes[c]);
		caches[c] = kmem_cache_create(name, work_sizes[c], 0, 0, NULL,
					      NULL, NULL, NULL);
		nr[c] = 0;
	}
	for (int op = 0; op < WORK_OPS; op++) {
		uint64_t r = rng_next(&seed);
		int c = (int)(r % WORK_CACHES);
		size_t size = work_sizes[c];

		if (nr[c] == WORK_LIVE || (nr[c] && (r >> 8) % 100 < 48)) {
			int i = (int)((r >> 16) % (uint64_t)nr[c]);

			bad += !pattern_ok(live[c][i], size);
			kmem_cache_free(caches[c], live[c][i]);
			live[c][i] = live[c][--nr[c]];
		} else {
			void *p = kmem_cache_alloc(caches[c], MEM_WAIT);

			pattern_fill(p, size);
			live[c][nr[c]++] = p;
		}
		if (op % 1000 == 999)
			for (int k = 0; k < WORK_CACHES; k++)
				KT_ASSERT_EQ(kmem_cache_check(caches[k]), 0);
	}
	KT_EXPECT_EQ(bad, 0);
	for (int c = 0; c < WORK_CACHES; c++) {
		KT_EXPECT_EQ(kmem_cache_nr_live(caches[c]), nr[c]);
		while (nr[c]) {
			bad += !pattern_ok(live[c][nr[c] - 1], work_sizes[c]);
			kmem_cache_free(caches[c], live[c][--nr[c]]);
		}
		KT_EXPECT_EQ(kmem_cache_check(caches[c]), 0);
		kmem_cache_destroy(caches[c]);
	}
	KT_EXPECT_EQ(bad, 0);
}

/* ---- magazines and the depot */

KTEST(slab, magazine_lifo_hit)
{
	struct kmem_cache *cp;
	uint64_t slab_allocs;
	void *a, *b;

	SKIP_WITHOUT_MAGAZINES();
	cp = kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	a = kmem_cache_alloc(cp, MEM_WAIT);
	b = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_cache_free(cp, a);
	kmem_cache_free(cp, b);
	slab_allocs = cp->slab_allocs;
	/* last in, first out, from this CPU's magazine */
	KT_EXPECT_EQ(kmem_cache_alloc(cp, MEM_WAIT), b);
	KT_EXPECT_EQ(kmem_cache_alloc(cp, MEM_WAIT), a);
	KT_EXPECT_EQ(cp->slab_allocs, slab_allocs); /* the slabs were idle */
	kmem_cache_free(cp, a);
	kmem_cache_free(cp, b);
	kmem_cache_destroy(cp);
}

KTEST(slab, depot_exchange_and_reap)
{
	static void *objs[4 * 64];
	struct kmem_cache *cp;
	uint64_t exchanges;
	struct arena *a;
	size_t m, n;
	void *mem;

	SKIP_WITHOUT_MAGAZINES();
	a = memory_arena(TEST_NAME, 4 * MiB, &mem);
	if (!a)
		return;
	cp = kmem_cache_create(TEST_NAME, 64, 0, 0, a, NULL, NULL, NULL);
	m = cp->mag_size;
	n = 4 * m;

	KT_ASSERT_LE(n, ARRAY_SIZE(objs));
	for (size_t i = 0; i < n; i++)
		objs[i] = kmem_cache_alloc(cp, MEM_WAIT);
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(cp, objs[i]);
	/* two magazines stay with the CPU, the rest went to the depot full */
	KT_EXPECT_EQ(cp->depot.nr_full, 2);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	exchanges = cp->depot.exchanges;
	for (size_t i = 0; i < n; i++)
		objs[i] = kmem_cache_alloc(cp, MEM_WAIT);
	KT_EXPECT_EQ(cp->depot.nr_full, 0);
	KT_EXPECT_GE(cp->depot.exchanges, exchanges + 2);
	for (size_t i = 0; i < n; i++)
		kmem_cache_free(cp, objs[i]);
	KT_EXPECT_LT(arena_amt_free(a), 4 * MiB); /* slabs held */
	kmem_cache_reap(cp);
	KT_EXPECT_EQ(cp->depot.nr_full, 0);
	KT_EXPECT_EQ(cp->depot.nr_empty, 0);
	KT_EXPECT_EQ(cp->nr_slabs, 0);
	KT_EXPECT_EQ(arena_amt_free(a), 4 * MiB); /* exactly back */
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_destroy(cp);
	memory_arena_done(a, mem, 4 * MiB);
}

/* ---- quantum caches */

KTEST(slab, notouch_qcache_over_fake_range)
{
	struct arena *a =
		arena_create("slab_fakeq", (void *)FAKE_BASE, 64 * MiB, PGSIZE,
			     NULL, NULL, NULL, 4 * PGSIZE, MEM_WAIT);
	static uintptr_t p[400];

	KT_ASSERT_NOT_NULL(a->qcache[3]);
	KT_EXPECT_STREQ(a->qcache[0]->name, "slab_fakeq_4096");
	KT_EXPECT_STREQ(a->qcache[3]->name, "slab_fakeq_16384");
	KT_EXPECT_FALSE(a->qcache[0]->on_slab);
	for (int i = 0; i < 400; i++) {
		size_t size = (size_t)(1 + i % 5) * PGSIZE;

		p[i] = (uintptr_t)arena_alloc(a, size, MEM_WAIT);
		KT_EXPECT_EQ(p[i] % PGSIZE, 0);
		KT_EXPECT_GE(p[i], FAKE_BASE);
		KT_EXPECT_LT(p[i], FAKE_BASE + 64 * MiB);
	}
	KT_EXPECT_GT(a->qcache[0]->slab_allocs, 0);
	for (int i = 0; i < 400; i++)
		arena_free(a, (void *)p[i], (size_t)(1 + i % 5) * PGSIZE);
	for (int i = 0; i < 4; i++)
		KT_EXPECT_EQ(kmem_cache_check(a->qcache[i]), 0);
	KT_EXPECT_EQ(arena_check(a), 0);
	arena_destroy(a); /* reaps and destroys the quantum caches */
}

KTEST(slab, qcache_with_odd_quantum)
{
	/* IDs 1..4096, quantum 1, quantum caches for 1..8 IDs */
	struct arena *a = arena_create(TEST_NAME, (void *)1, 4096, 1, NULL,
				       NULL, NULL, 8, MEM_WAIT);
	static uintptr_t id[300];

	for (int i = 0; i < 300; i++) {
		id[i] = (uintptr_t)arena_alloc(a, 1 + i % 8, MEM_WAIT);
		KT_EXPECT_GE(id[i], 1);
		KT_EXPECT_LE(id[i] + i % 8, 4096);
	}
	for (int i = 0; i < 300; i++)
		for (int j = 0; j < i; j++)
			KT_EXPECT_TRUE(id[i] >= id[j] + 1 + j % 8 ||
				       id[j] >= id[i] + 1 + i % 8);
	for (int i = 0; i < 300; i++)
		arena_free(a, (void *)id[i], 1 + i % 8);
	arena_reclaim(a);
	KT_EXPECT_EQ(arena_amt_free(a), 4096);
	arena_destroy(a);
}

/* ---- reclaim */

KTEST(slab, reclaim_makes_room)
{
	/* 16 MiB, with quantum caches for 1..8 pages */
	struct arena *a =
		arena_create(TEST_NAME, (void *)FAKE_BASE, 16 * MiB, PGSIZE,
			     NULL, NULL, NULL, 8 * PGSIZE, MEM_WAIT);
	static uintptr_t p[4096];
	int n = 0;
	void *big;

	/* fill it through the caches, then free everything */
	while (n < 4096 &&
	       (p[n] = (uintptr_t)arena_alloc(a, PGSIZE, MEM_ATOMIC)) != 0)
		n++;
	KT_EXPECT_GT(n, 3000);
	while (n)
		arena_free(a, (void *)p[--n], PGSIZE);
	/* it all sits in magazines and slabs: the arena itself is full */
	KT_EXPECT_LT(arena_amt_free(a), 8 * MiB);
	big = arena_alloc(a, 8 * MiB, MEM_ATOMIC);
	KT_EXPECT_NOT_NULL(big); /* only because reclaim reaped the caches */
	KT_EXPECT_EQ(a->qcache[0]->nr_slabs, 0);
	arena_free(a, big, 8 * MiB);
	KT_EXPECT_EQ(arena_check(a), 0);
	arena_destroy(a);
}

KTEST_PANICS(slab, wait_exhaustion_reclaims_then_panics,
	     "arena_alloc: out of space: arena 'slab_exhausted' size 4198400",
	     "(after reclaiming from its importers)",
	     "arena             quantum         in use          total")
{
	struct arena *a =
		arena_create("slab_exhausted", (void *)FAKE_BASE, 4 * MiB,
			     PGSIZE, NULL, NULL, NULL, 8 * PGSIZE, MEM_WAIT);
	void *p = arena_alloc(a, PGSIZE, MEM_WAIT);

	arena_free(a, p, PGSIZE); /* a slab of 8 pages stays cached */
	/* reclaim gives the slab back, and it is still too big */
	arena_alloc(a, 4 * MiB + PGSIZE, MEM_WAIT);
}

/* ---- misuse */

KTEST_PANICS(
	slab, free_into_wrong_cache,
	"kmem_cache_free: object of another cache: cache 'slab_the_other' obj",
	"belongs to cache 'slab_free_into_wrong_cache'")
{
	struct kmem_cache *a =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	struct kmem_cache *b = kmem_cache_create("slab_the_other", 64, 0, 0,
						 NULL, NULL, NULL, NULL);

	kmem_cache_free(b, kmem_cache_alloc(a, MEM_WAIT));
}

KTEST_PANICS(
	slab, destroy_with_live_objects,
	"kmem_cache_destroy: 2 objects still live: cache 'slab_destroy_with_live_objects' object size 64")
{
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);

	kmem_cache_alloc(cp, MEM_WAIT);
	kmem_cache_alloc(cp, MEM_WAIT);
	kmem_cache_destroy(cp);
}

KTEST_PANICS(
	slab, double_free_at_once,
	/* "(the object this CPU freed last)"; without magazines (kmem_debug)
	 * the slab layer says "(object not allocated)" */
	"kmem_cache_free: double free (",
	"): cache 'slab_double_free_at_once' obj 0x")
{
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	void *p = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_cache_free(cp, p);
	kmem_cache_free(cp, p);
}

KTEST_PANICS(slab, double_free_caught_in_slab, "kmem_cache_free: double free (",
	     "cache 'slab_double_free_caught_in_slab' obj")
{
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	void *a = kmem_cache_alloc(cp, MEM_WAIT);
	void *b = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_cache_free(cp, a);
	kmem_cache_free(cp, b);
	/* deep in the magazine: not seen yet (kmem_debug=magazines: seen) */
	kmem_cache_free(cp, a);
	kmem_cache_reap(cp); /* the slab layer sees it */
}

KTEST_PANICS(
	slab, pointer_inside_object,
	"kmem_cache_free: pointer inside an object: cache 'slab_pointer_inside_object'",
	"(object size 1000)")
{
	struct kmem_cache *cp = kmem_cache_create(TEST_NAME, 1000, 0, 0, NULL,
						  NULL, NULL, NULL);
	char *p = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_cache_free(cp, p + 8);
	kmem_cache_reap(cp);
}

KTEST_PANICS(
	slab, bad_flags_with_magazines,
	"kmem_cache_alloc: bad flags 0x3 (name exactly one of MEM_WAIT and MEM_ATOMIC): cache 'slab_bad_flags_with_magazines'")
{
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);

	/* loaded magazine: the fast path would serve it, and must not */
	kmem_cache_free(cp, kmem_cache_alloc(cp, MEM_WAIT));
	kmem_cache_alloc(cp, MEM_WAIT | MEM_ATOMIC);
}

KTEST_PANICS(slab, bad_flags, "kmem_cache_alloc: bad flags 0x0")
{
	struct kmem_cache *cp = kmem_cache_create(
		TEST_NAME, 64, 0, KMC_NOMAGAZINE, NULL, NULL, NULL, NULL);

	kmem_cache_alloc(cp, 0);
}

/* ---- misuse of kmem_cache_create, and frees the slab layer refuses */

KTEST_PANICS(slab, create_size_zero,
	     "kmem_cache_create: object size 0: cache 'slab_create_size_zero'")
{
	kmem_cache_create(TEST_NAME, 0, 0, 0, NULL, NULL, NULL, NULL);
}

KTEST_PANICS(
	slab, create_bad_flags,
	"kmem_cache_create: bad flags 0x100000: cache 'slab_create_bad_flags'")
{
	kmem_cache_create(TEST_NAME, 64, 0, 1 << 20, NULL, NULL, NULL, NULL);
}

KTEST_PANICS(
	slab, create_align_not_pow2,
	"kmem_cache_create: align 24 is not a power of two: cache 'slab_create_align_not_pow2'")
{
	kmem_cache_create(TEST_NAME, 64, 24, 0, NULL, NULL, NULL, NULL);
}

/* Off-slab, no magazines: the slab layer sees the free at once. */
static struct kmem_cache *off_slab_cache(const char *name)
{
	return kmem_cache_create(name, 64, 0, KMC_NOTOUCH | KMC_NOMAGAZINE,
				 NULL, NULL, NULL, NULL);
}

/*
 * An off-slab cache's hash of allocated objects grows as they come out and
 * shrinks as they go back, as an arena's does: 1000 objects take it from
 * 16 buckets to 64, 256 and 1024; all back, to 256, 64 and 16 again.
 */
KTEST(slab, off_slab_hash_grows_and_shrinks)
{
	struct kmem_cache *cp = off_slab_cache(TEST_NAME);
	static void *objs[1000];

	KT_ASSERT_FALSE(cp->on_slab);
	KT_EXPECT_EQ(cp->hash_buckets, KMEM_HASH_INITIAL);
	for (int i = 0; i < 1000; i++) {
		objs[i] = kmem_cache_alloc(cp, MEM_WAIT);
		KT_ASSERT_NOT_NULL(objs[i]);
	}
	KT_EXPECT_EQ(cp->hash_buckets, 1024);
	KT_EXPECT_EQ(cp->hash_resizes, 3);
	for (int i = 0; i < 1000; i++)
		kmem_cache_free(cp, objs[i]);
	KT_EXPECT_EQ(cp->nr_hashed, 0);
	KT_EXPECT_EQ(cp->hash_buckets, KMEM_HASH_INITIAL);
	KT_EXPECT_EQ(cp->hash, cp->hash_initial);
	KT_EXPECT_EQ(cp->hash_resizes, 6);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_destroy(cp);
}

KTEST_PANICS(
	slab, offslab_wrong_cache,
	"kmem_cache_free: object of another cache: cache 'slab_offslab_wrong_cache' obj",
	"belongs to cache 'slab_the_owner'")
{
	struct kmem_cache *owner = kmem_cache_create("slab_the_owner", 64, 0, 0,
						     NULL, NULL, NULL, NULL);

	kmem_cache_free(off_slab_cache(TEST_NAME),
			kmem_cache_alloc(owner, MEM_WAIT));
}

KTEST_PANICS(
	slab, off_slab_free_of_no_cache,
	"kmem_cache_free: not an object of any cache: cache 'slab_off_slab_free_of_no_cache' obj")
{
	static uint64_t not_an_object[8];

	kmem_cache_free(off_slab_cache(TEST_NAME), not_an_object);
}

KTEST_PANICS(
	slab, free_in_foreign_page,
	"kmem_cache_free: not an object of any cache: cache 'slab_free_in_foreign_page' obj")
{
	struct kmem_cache *cp = kmem_cache_create(
		TEST_NAME, 64, 0, KMC_NOMAGAZINE, NULL, NULL, NULL, NULL);
	/* beyond the quantum caches: no slab of any cache holds it */
	char *pages = arena_alloc(kpages_arena, 16 * PGSIZE, MEM_WAIT);

	kmemset(pages, 0, 16 * PGSIZE); /* no slab header's magic */
	kmem_cache_free(cp, pages + 64);
}

KTEST_PANICS(slab, kmem_init_twice, "kmem_init: called twice")
{
	kmem_init();
}

static int failing_ctor(void *obj, void *priv, int flags)
{
	(void)obj, (void)priv, (void)flags;
	return -1;
}

/* MEM_WAIT may not fail: a constructor that fails under it is a bug. */
KTEST_PANICS(
	slab, ctor_fails_under_wait,
	"kmem_cache_alloc: constructor failed under MEM_WAIT: cache 'slab_ctor_fails_under_wait' obj 0x")
{
	struct kmem_cache *cp = kmem_cache_create(TEST_NAME, 64, 0, 0, NULL,
						  failing_ctor, NULL, NULL);

	KT_EXPECT_NULL(kmem_cache_alloc(cp, MEM_ATOMIC));
	kmem_cache_alloc(cp, MEM_WAIT);
}

/* The same where kmem_debug=poison constructs objects (slab_debug.c). */
KTEST_DEBUG_PANICS(
	slab, ctor_fails_poisoned, "poison",
	"kmem_cache_alloc: constructor failed under MEM_WAIT: cache 'slab_ctor_fails_poisoned' obj 0x")
{
	struct kmem_cache *cp = kmem_cache_create(TEST_NAME, 64, 0, 0, NULL,
						  failing_ctor, NULL, NULL);

	kmem_cache_alloc(cp, MEM_WAIT);
}

/* The slab of cp holding obj. */
static struct kmem_slab *slab_of(struct kmem_cache *cp, void *obj)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	struct kmem_slab *s = slab_containing_locked(cp, obj);

	spin_unlock_irqrestore(&cp->lock, irq);
	return s;
}

/* whatis of addr into got: the lines kmem_cache_whatis prints. */
static char whatis_got[512], whatis_want[512];

static int whatis_into(uintptr_t addr)
{
	int found;

	whatis_got[0] = 0;
	printk_capture_begin(whatis_got, sizeof(whatis_got));
	found = kmem_cache_whatis(addr);
	printk_capture_end();
	return found;
}

/* The line whatis prints for addr inside object obj of cp, in state. */
static size_t whatis_line(struct kmem_cache *cp, void *obj, size_t offset,
			  const char *state)
{
	struct kmem_slab *s = slab_of(cp, obj);
	long i = ((char *)obj - (char *)s->first) / (long)cp->chunk;

	return (size_t)ksnprintf(
		whatis_want, sizeof(whatis_want),
		"cache '%s': slab [0x%lx, 0x%lx), object %ld at %p +0x%zx, %s\n",
		cp->name, (uintptr_t)s->base,
		(uintptr_t)s->base + cp->slab_size, i, obj, offset, state);
}

KTEST(slab, whatis_says_where_an_object_is)
{
	static void *objs[4 * KMEM_MAGAZINE_ROUNDS_MAX];
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	char *o = kmem_cache_alloc(cp, MEM_WAIT);
	struct kmem_slab *s = slab_of(cp, o);
	const char *freed =
		cp->mag_size ? "free in a magazine" : "free in its slab";
	size_t n;

	KT_EXPECT_EQ(whatis_into((uintptr_t)o + 8), 1);
	n = whatis_line(cp, o, 8, "allocated");
	KT_EXPECT_MEMEQ(whatis_got, whatis_want, n);

	kmem_cache_free(cp, o);
	KT_EXPECT_EQ(whatis_into((uintptr_t)o), 1);
	n = whatis_line(cp, o, 0, freed);
	KT_EXPECT_MEMEQ(whatis_got, whatis_want, n);

	/* past the last object: the slack, or an on-slab slab's header */
	KT_EXPECT_EQ(whatis_into((uintptr_t)s->base + cp->slab_size - 1), 1);
	n = (size_t)ksnprintf(
		whatis_want, sizeof(whatis_want),
		"cache '%s': slab [0x%lx, 0x%lx), outside its objects (colour or slack)\n",
		cp->name, (uintptr_t)s->base,
		(uintptr_t)s->base + cp->slab_size);
	KT_EXPECT_STREQ(whatis_got, whatis_want);

	/* a magazine the depot holds */
	for (size_t k = 0; cp->mag_size && k < 4 * cp->mag_size; k++)
		objs[k] = kmem_cache_alloc(cp, MEM_WAIT);
	for (size_t k = 0; cp->mag_size && k < 4 * cp->mag_size; k++)
		kmem_cache_free(cp, objs[k]);
	if (cp->depot.full) {
		o = cp->depot.full->round[1];
		KT_EXPECT_EQ(whatis_into((uintptr_t)o), 1);
		n = whatis_line(cp, o, 0, "free in a magazine");
		KT_EXPECT_MEMEQ(whatis_got, whatis_want, n);
	}
	kmem_cache_destroy(cp);
}
