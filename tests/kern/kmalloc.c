/*
 * kmalloc.c: tests of kmalloc (kern/src/kmalloc.c): the caches and the
 * usable size of every class, buffers of 1 byte to several MiB written end
 * to end with a pattern derived from their address, kzmalloc, krealloc,
 * kmalloc_align for every power of two, MEM_ATOMIC failure, a randomised
 * workload, and the misuse kfree must catch.
 *
 * The buffers come from the real caches and kpages_arena; a test holds at
 * most a few MiB unless base has 64 MiB free (the multi-MiB sizes), or
 * 3 GiB in all (the 1 GiB alignment, which touches two bytes of it).
 */
/* the largest ordinary test (align_every_power) holds about 3.5 MiB */
#define KTEST_NEEDS_BASE (4ul << 20)
#include "ktest.h"
#include "arch.h"
#include "arena.h"
#include "arena_impl.h"
#include "kmalloc.h"
#include "kmem_debug.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "printk.h"
#include "slab_impl.h"
#include "cache_lookup.h"

#define KiB (1ul << 10)
#define MiB (1ul << 20)
#define GiB (1ul << 30)
#define NR_CLASSES 9   /* kmalloc_32 .. kmalloc_8192 */
#define SMALL_MAX 8176 /* the most kmalloc_8192 holds, tag taken */

/* ---- helpers */

/* The word at index i of the pattern seeded by seed (a buffer address). */
static inline uint64_t pattern_word(uint64_t seed, size_t i)
{
	return (seed ^ (i * 0x9e3779b97f4a7c15ull)) + i;
}

/* Fill n bytes of buf with the pattern of seed. */
static void pattern_fill(void *buf, size_t n, uint64_t seed)
{
	uint64_t *w = buf, last = pattern_word(seed, n / 8);

	for (size_t i = 0; i < n / 8; i++)
		w[i] = pattern_word(seed, i);
	for (size_t i = n & ~7ul; i < n; i++)
		((uint8_t *)buf)[i] = (uint8_t)(last >> (8 * (i % 8)));
}

/* Where the first n bytes of buf stop holding seed's pattern, or n. */
static size_t pattern_check(const void *buf, size_t n, uint64_t seed)
{
	const uint64_t *w = buf;
	uint64_t last = pattern_word(seed, n / 8);

	for (size_t i = 0; i < n / 8; i++)
		if (w[i] != pattern_word(seed, i))
			return i * 8;
	for (size_t i = n & ~7ul; i < n; i++)
		if (((const uint8_t *)buf)[i] !=
		    (uint8_t)(last >> (8 * (i % 8))))
			return i;
	return n;
}

/* Fill all of a buffer's usable bytes with the pattern of its address. */
static size_t fill_buffer(void *buf)
{
	size_t n = kmalloc_size(buf);

	pattern_fill(buf, n, (uintptr_t)buf);
	return n;
}

static size_t check_buffer(const void *buf, size_t n)
{
	return pattern_check(buf, n, (uintptr_t)buf);
}

/* Live objects of every kmalloc cache. */
static void live_counts(size_t *live)
{
	for (int c = 0; c < NR_CLASSES; c++)
		live[c] = kmem_cache_nr_live(kmalloc_cache(c));
}

/* The redzone after a large buffer: only under kmem_debug=redzone. */
static size_t large_redzone(void)
{
	return (kmem_debug & KMEM_DEBUG_REDZONE) ? KMALLOC_LARGE_REDZONE : 0;
}

/*
 * What kmalloc.c's theory statement says kmalloc(size) can use: its class, or whole pages
 * (less the 32 bytes before the buffer and any redzone after it).
 */
static size_t expected_usable(size_t size)
{
	size_t obj = 32;

	if (size > SMALL_MAX)
		return ALIGN_UP(size + 32 + large_redzone(), PGSIZE) - 32 -
		       large_redzone();
	while (obj < size + 16)
		obj *= 2;
	return obj - 16;
}

/* The class kmalloc(size) takes, or -1 for a large buffer. */
static int expected_class(size_t size)
{
	int c = 0;

	if (size > SMALL_MAX)
		return -1;
	while ((32ul << c) < size + 16)
		c++;
	return c;
}

/*
 * kpages' bytes in use once every cache over it gave back what it could:
 * a test that frees all it took finds it where it was, and leaves kpages
 * as empty as it found it for the suites after it.
 */
static size_t kpages_settled(void)
{
	arena_reclaim(kpages_arena);
	return kpages_arena->in_use;
}

/* Every kmalloc cache and kpages_arena pass their checkers. */
static bool kmalloc_sound(void)
{
	for (int c = 0; c < NR_CLASSES; c++)
		if (kmem_cache_check(kmalloc_cache(c)))
			return false;
	return arena_check(kpages_arena) == 0;
}

/* xorshift64*: a small, fixed-seed generator for the workload. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* ---- the caches and the size classes */

KTEST(kmalloc, caches_built)
{
	for (int c = 0; c < NR_CLASSES; c++) {
		struct kmem_cache *cp = kmalloc_cache(c);

		KT_ASSERT_NOT_NULL(cp);
		KT_EXPECT_EQ(cp->obj_size, 32ul << c);
		/* debug modes put their state after the object */
		if (cp->debug & ~(KMEM_DEBUG_CHECK | KMEM_DEBUG_MAGAZINES))
			KT_EXPECT_GT(cp->chunk, 32ul << c);
		else
			KT_EXPECT_EQ(cp->chunk, 32ul << c);
		KT_EXPECT_EQ(cp->align, 16);
		KT_EXPECT_EQ(cp->flags, 0);
		KT_EXPECT_EQ(cp->source, kpages_arena);
		KT_EXPECT_NULL(cp->ctor);
		KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	}
	KT_EXPECT_NULL(cache_named("kmalloc_16"));
	KT_EXPECT_NULL(cache_named("kmalloc_16384"));
}

KTEST(kmalloc, size_classes)
{
	static const size_t table[][2] = {
		{ 0, 16 },	  { 1, 16 },	     { 15, 16 },
		{ 16, 16 },	  { 17, 48 },	     { 48, 48 },
		{ 49, 112 },	  { 100, 112 },	     { 112, 112 },
		{ 113, 240 },	  { 240, 240 },	     { 241, 496 },
		{ 496, 496 },	  { 497, 1008 },     { 1008, 1008 },
		{ 1009, 2032 },	  { 2032, 2032 },    { 2033, 4080 },
		{ 4080, 4080 },	  { 4081, 8176 },    { 8176, 8176 },
		{ 8177, 12256 },  { 12256, 12256 },  { 12257, 16352 },
		{ 65536, 69600 }, { 98273, 102368 }, { 98272, 98272 },
	};
	size_t settled = kpages_settled();

	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		size_t size = table[i][0], live[NR_CLASSES], now[NR_CLASSES];
		int size_class = expected_class(size);
		void *p;

		live_counts(live);
		p = kmalloc(size, MEM_WAIT);
		KT_ASSERT_NOT_NULL(p);
		KT_EXPECT_EQ((uintptr_t)p % 16, 0);
		/* a large buffer's redzone, if on, takes from its pages */
		if (size <= SMALL_MAX || !large_redzone())
			KT_EXPECT_EQ(expected_usable(size), table[i][1]);
		KT_EXPECT_EQ(kmalloc_size(p), expected_usable(size));
		live_counts(now);
		/* exactly one more object, in the class kmalloc.c names */
		for (int c = 0; c < NR_CLASSES; c++)
			KT_EXPECT_EQ(now[c], live[c] + (c == size_class));
		kfree(p);
		live_counts(now);
		KT_EXPECT_MEMEQ(now, live, sizeof(live));
	}
	KT_EXPECT_EQ(kpages_settled(), settled);
}

/*
 * Skip the test: base has not @bytes in one run (at the monitor, base may
 * be nearly full, or cut into pieces by what the monitor holds).
 */
static void skip_lacking_run(size_t bytes)
{
	ktest_skipf(
		"needs %zu KiB in one run free in arena 'base', it has %zu KiB in all",
		(bytes + 1023) >> 10, arena_amt_free(base_arena) >> 10);
}

/* Hold buffers of n sizes at once, each written end to end, then free. */
static void sizes_live_at_once(const size_t *sizes, size_t n)
{
	void *bufs[160];
	size_t live[NR_CLASSES], now[NR_CLASSES], settled;

	KT_ASSERT_LE(n, ARRAY_SIZE(bufs));
	settled = kpages_settled();
	live_counts(live);
	for (size_t i = 0; i < n; i++) {
		bufs[i] = kmalloc(sizes[i], MEM_ATOMIC);
		if (!bufs[i]) {
			skip_lacking_run(sizes[i]);
			while (i--)
				kfree(bufs[i]);
			return;
		}
		KT_EXPECT_EQ((uintptr_t)bufs[i] % 16, 0);
		KT_EXPECT_EQ(kmalloc_size(bufs[i]), expected_usable(sizes[i]));
		fill_buffer(bufs[i]);
	}
	/* no buffer overlaps another: every pattern is still whole */
	for (size_t i = 0; i < n; i++) {
		size_t usable = kmalloc_size(bufs[i]);

		KT_EXPECT_EQ(check_buffer(bufs[i], usable), usable);
	}
	KT_EXPECT_TRUE(kmalloc_sound());
	for (size_t i = 0; i < n; i++)
		kfree(bufs[i]);
	live_counts(now);
	KT_EXPECT_MEMEQ(now, live, sizeof(live));
	KT_EXPECT_EQ(kpages_settled(), settled);
}

KTEST(kmalloc, every_size_to_256)
{
	size_t sizes[128];

	/* two rounds of 128 live buffers: 1..128, then 129..256 */
	for (size_t round = 0; round < 2; round++) {
		for (size_t i = 0; i < 128; i++)
			sizes[i] = round * 128 + i + 1;
		sizes_live_at_once(sizes, 128);
	}
}

KTEST(kmalloc, sizes_to_64k)
{
	static const size_t edges[] = { 4080,  4081,  8176,  8177,  8192,
					12256, 12257, 32768, 65535, 65536 };
	size_t sizes[160], n = 0;

	for (size_t s = 257; s <= 64 * KiB; s += s / 8 + 13)
		sizes[n++] = s;
	for (size_t i = 0; i < ARRAY_SIZE(edges); i++)
		sizes[n++] = edges[i];
	sizes_live_at_once(sizes, n);
}

KTEST(kmalloc, sizes_mib)
{
	static const size_t sizes[] = { MiB, 2 * MiB, 2 * MiB + 1, 3 * MiB + 16,
					8 * MiB - 5 };

	if (arena_amt_free(base_arena) < 64 * MiB)
		KT_SKIP("base_arena has under 64 MiB free");
	sizes_live_at_once(sizes, ARRAY_SIZE(sizes));
}

/* ---- the small print of the interface */

KTEST(kmalloc, zero_size)
{
	size_t settled = kpages_settled();
	size_t live = kmem_cache_nr_live(kmalloc_cache(0));
	uint8_t *p = kmalloc(0, MEM_WAIT), *z;

	KT_ASSERT_NOT_NULL(p);
	KT_EXPECT_EQ((uintptr_t)p % 16, 0);
	KT_EXPECT_EQ(kmalloc_size(p), 16);
	KT_EXPECT_EQ(kmem_cache_nr_live(kmalloc_cache(0)), live + 1);
	KT_EXPECT_EQ(fill_buffer(p), 16);
	KT_EXPECT_EQ(check_buffer(p, 16), 16);
	z = kzmalloc(0, MEM_ATOMIC);
	KT_ASSERT_NOT_NULL(z);
	for (int i = 0; i < 16; i++)
		KT_EXPECT_EQ(z[i], 0);
	kfree(p);
	kfree(z);
	p = krealloc(NULL, 0, MEM_WAIT);
	KT_ASSERT_NOT_NULL(p);
	KT_EXPECT_EQ(kmalloc_size(p), 16);
	kfree(p);
	KT_EXPECT_EQ(kmem_cache_nr_live(kmalloc_cache(0)), live);
	KT_EXPECT_EQ(kpages_settled(), settled);
}

KTEST(kmalloc, kfree_null)
{
	size_t live[NR_CLASSES], now[NR_CLASSES];
	size_t in_use = kpages_arena->in_use;

	live_counts(live);
	kfree(NULL);
	KT_EXPECT_EQ(kmalloc_size(NULL), 0);
	live_counts(now);
	KT_EXPECT_MEMEQ(now, live, sizeof(live));
	KT_EXPECT_EQ(kpages_arena->in_use, in_use);
}

KTEST(kmalloc, kzmalloc_zeroes)
{
	static const size_t sizes[] = {
		1, 100, 500, 4000, 8176, 20000, 100000
	};
	size_t settled = kpages_settled();

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint8_t *p = kmalloc(sizes[i], MEM_WAIT), *z;
		size_t usable = kmalloc_size(p), nonzero = 0;

		kmemset(p, 0xff, usable);
		kfree(p);
		z = kzmalloc(sizes[i], MEM_WAIT);
		KT_ASSERT_NOT_NULL(z);
		/* a cache hands the dirty object straight back (LIFO) */
		if (sizes[i] <= SMALL_MAX)
			KT_EXPECT_EQ(z, p);
		KT_EXPECT_EQ(kmalloc_size(z), usable);
		for (size_t j = 0; j < usable; j++)
			nonzero += z[j] != 0;
		KT_EXPECT_EQ(nonzero, 0);
		kfree(z);
	}
	KT_EXPECT_EQ(kpages_settled(), settled);
}

/* What buf holds from offset from on (16 bytes at most, up to n), in hex. */
static void print_bytes(const char *what, const uint8_t *buf, size_t from,
			size_t n)
{
	printk("%s: the buffer at %p holds, from byte %zu on:", what, buf,
	       from);
	for (size_t i = from; i < n && i < from + 16; i++)
		printk(" %02x", buf[i]);
	printk("\n");
}

/*
 * krealloc p (filled with the pattern of seed) to each size of steps in
 * turn: each time the bytes kept (all the old usable ones when growing,
 * n when shrinking) are there, and the buffer is filled again. With
 * moves, each step must move it. Returns the last buffer, or NULL (a
 * failure reported) if a krealloc failed.
 */
static uint8_t *krealloc_through(uint8_t *p, const size_t *steps,
				 size_t nr_steps, uint64_t seed, bool moves)
{
	size_t usable = kmalloc_size(p), good;

	pattern_fill(p, usable, seed);
	for (size_t i = 0; i < nr_steps; i++) {
		size_t n = steps[i], kept = MIN(n, usable);
		uint8_t *q = krealloc(p, n, MEM_WAIT);

		KT_EXPECT_NOT_NULL(q);
		if (!q)
			return NULL;
		KT_EXPECT_EQ((uintptr_t)q % 16, 0);
		KT_EXPECT_GE(kmalloc_size(q), n);
		if (moves)
			KT_EXPECT_NE(q, p);
		good = pattern_check(q, kept, seed);
		KT_EXPECT_EQ(good, kept);
		if (good < kept)
			print_bytes("krealloc", q, good, kept);
		p = q;
		usable = kmalloc_size(p);
		pattern_fill(p, usable, seed);
	}
	return p;
}

KTEST(kmalloc, krealloc_grows_and_shrinks)
{
	static const size_t steps[] = { 100,   1000, 5000, 20000, 300000,
					50000, 3000, 40,   1,	  8177 };
	size_t live[NR_CLASSES], now[NR_CLASSES];
	uint64_t seed = 0x6b7265616c6c6f63ull;
	size_t settled = kpages_settled();
	uint8_t *p, *q;

	live_counts(live);
	p = kmalloc(10, MEM_WAIT);
	KT_ASSERT_NOT_NULL(p);
	p = krealloc_through(p, steps, ARRAY_SIZE(steps), seed, false);
	KT_ASSERT_NOT_NULL(p);
	kfree(p);

	/* within the usable size, or not below half of it: in place */
	p = kmalloc(100, MEM_WAIT);
	/* (q follows the buffer even where it moved: a failure stays one) */
	q = krealloc(p, 112, MEM_WAIT);
	KT_EXPECT_EQ(q, p);
	p = q;
	q = krealloc(p, 60, MEM_ATOMIC);
	KT_EXPECT_EQ(q, p);
	p = q;
	KT_EXPECT_EQ(kmalloc_size(p), 112);
	/* 20 bytes fit kmalloc_64: the buffer moves to the smaller class */
	pattern_fill(p, 112, seed);
	q = krealloc(p, 20, MEM_WAIT);
	KT_EXPECT_NE(q, p);
	KT_EXPECT_EQ(kmalloc_size(q), 48);
	KT_EXPECT_EQ(pattern_check(q, 20, seed), 20);
	kfree(q);
	live_counts(now);
	KT_EXPECT_MEMEQ(now, live, sizeof(live));
	KT_EXPECT_TRUE(kmalloc_sound());
	KT_EXPECT_EQ(kpages_settled(), settled);
}

KTEST(kmalloc, krealloc_null_and_zero)
{
	size_t settled = kpages_settled();
	size_t live = kmem_cache_nr_live(kmalloc_cache(2));
	void *p = krealloc(NULL, 100, MEM_WAIT);

	KT_ASSERT_NOT_NULL(p);
	KT_EXPECT_EQ(kmalloc_size(p), 112);
	KT_EXPECT_EQ(kmem_cache_nr_live(kmalloc_cache(2)), live + 1);
	KT_EXPECT_NULL(krealloc(p, 0, MEM_WAIT));
	KT_EXPECT_EQ(kmem_cache_nr_live(kmalloc_cache(2)), live);

	/* a large one, too: its pages go back to kpages */
	p = krealloc(NULL, 50000, MEM_WAIT);
	KT_ASSERT_NOT_NULL(p);
	KT_EXPECT_EQ(kmalloc_size(p), expected_usable(50000));
	KT_EXPECT_NULL(krealloc(p, 0, MEM_ATOMIC));
	KT_EXPECT_TRUE(kmalloc_sound());
	KT_EXPECT_EQ(kpages_settled(), settled);
}

/*
 * A buffer krealloc moves five times (grown, shrunk to a smaller class,
 * grown, across to pages, back to a small class) keeps every byte each
 * time, under poison too, which writes what the plain run leaves alone.
 * (The bug-hunt lab grades it.)
 */
KTEST_DEBUG(kmalloc, krealloc_keeps_every_byte_under_poison, "poison")
{
	static const size_t steps[] = { 200, 40, 3000, 9000, 100 };
	uint8_t *p = kmalloc(100, MEM_WAIT);

	KT_ASSERT_NOT_NULL(p);
	p = krealloc_through(p, steps, ARRAY_SIZE(steps), 0x706f69736f6e6564ull,
			     true);
	KT_ASSERT_NOT_NULL(p);
	kfree(p);
}

/* ---- alignment */

/*
 * kmalloc_align(size, align): checked, written end to end, freed. False,
 * the test marked skipped, if base has no run to hold it.
 */
static bool aligned_roundtrip(size_t size, size_t align)
{
	size_t in_use = kpages_arena->in_use, usable;
	uint8_t *p = kmalloc_align(size, MEM_ATOMIC, align);

	if (!p) {
		skip_lacking_run(size + align);
		return false;
	}
	KT_EXPECT_EQ((uintptr_t)p % align, 0);
	KT_EXPECT_EQ((uintptr_t)p % 16, 0);
	usable = kmalloc_size(p);
	KT_EXPECT_GE(usable, size);
	/* big alignments waste the tag's page, not align bytes */
	if (align > PGSIZE)
		KT_EXPECT_EQ(kpages_arena->in_use - in_use,
			     ALIGN_UP(size + large_redzone(), PGSIZE) + PGSIZE);
	if (size + align > SMALL_MAX + 16)
		KT_EXPECT_LT(usable, size + PGSIZE);
	KT_EXPECT_EQ(fill_buffer(p), usable);
	KT_EXPECT_EQ(check_buffer(p, usable), usable);
	kfree(p);
	return true;
}

KTEST(kmalloc, align_every_power)
{
	size_t live[NR_CLASSES], now[NR_CLASSES];
	size_t settled = kpages_settled();

	live_counts(live);
	for (size_t align = 16; align <= 2 * MiB; align *= 2) {
		if (!aligned_roundtrip(1, align) ||
		    !aligned_roundtrip(100, align) ||
		    !aligned_roundtrip(align, align) ||
		    !aligned_roundtrip(align + align / 2 + 5, align))
			return;
	}
	/* alignments below 16 are met anyway */
	for (size_t align = 1; align < 16; align *= 2)
		if (!aligned_roundtrip(24, align))
			return;
	live_counts(now);
	KT_EXPECT_MEMEQ(now, live, sizeof(live));
	KT_EXPECT_TRUE(kmalloc_sound());
	KT_EXPECT_EQ(kpages_settled(), settled);
}

KTEST(kmalloc, align_1g)
{
	size_t in_use, usable;
	uint8_t *p, *q;

	if (arena_amt_total(base_arena) < 3 * GiB)
		KT_SKIP("base_arena holds under 3 GiB: no room for 1 GiB aligned");
	in_use = kpages_settled();
	p = kmalloc_align(GiB, MEM_ATOMIC, GiB);
	/* the monitor may hold what there was (`alloc kpages_1g 1G`) */
	if (!p)
		KT_SKIPF(
			"needs 1 GiB (1 GiB aligned) free in arena 'base', it has %zu MiB in all",
			arena_amt_free(base_arena) / MiB);
	KT_EXPECT_EQ((uintptr_t)p % GiB, 0);
	usable = kmalloc_size(p);
	/* a redzone, if on, takes another page, all but its 16 bytes */
	KT_EXPECT_EQ(usable,
		     large_redzone() ? GiB + PGSIZE - large_redzone() : GiB);
	KT_EXPECT_EQ(kpages_arena->in_use - in_use,
		     GiB + (large_redzone() ? 2 : 1) * PGSIZE);
	/* touch only the ends: the host's RAM is lazily backed */
	p[0] = 0xa5;
	p[usable - 1] = 0x5a;
	KT_EXPECT_EQ(p[0] + p[usable - 1], 0xa5 + 0x5a);
	kfree(p);
	q = kmalloc_align(16, MEM_ATOMIC, GiB);
	KT_ASSERT_NOT_NULL(q);
	KT_EXPECT_EQ((uintptr_t)q % GiB, 0);
	KT_EXPECT_EQ(kmalloc_size(q), PGSIZE - large_redzone());
	KT_EXPECT_EQ(fill_buffer(q), PGSIZE - large_redzone());
	KT_EXPECT_EQ(check_buffer(q, PGSIZE - large_redzone()),
		     PGSIZE - large_redzone());
	kfree(q);
	KT_EXPECT_EQ(kpages_settled(), in_use);
	KT_EXPECT_TRUE(kmalloc_sound());
}

/* ---- running out */

KTEST(kmalloc, atomic_failure)
{
	size_t huge = arena_amt_total(base_arena) + GiB;
	size_t settled = kpages_settled();
	uint8_t *p = kmalloc(100, MEM_WAIT);

	KT_ASSERT_NOT_NULL(p);
	KT_EXPECT_NULL(kmalloc(huge, MEM_ATOMIC));
	KT_EXPECT_NULL(kzmalloc(huge, MEM_ATOMIC));
	KT_EXPECT_NULL(kmalloc_align(huge, MEM_ATOMIC, 2 * MiB));
	KT_EXPECT_NULL(kmalloc(SIZE_MAX, MEM_ATOMIC));
	KT_EXPECT_NULL(kmalloc(SIZE_MAX - 8, MEM_ATOMIC));
	/* a krealloc that cannot grow leaves the buffer as it was */
	fill_buffer(p);
	KT_EXPECT_NULL(krealloc(p, huge, MEM_ATOMIC));
	KT_EXPECT_EQ(kmalloc_size(p), 112);
	KT_EXPECT_EQ(check_buffer(p, 112), 112);
	kfree(p);
	KT_EXPECT_TRUE(kmalloc_sound());
	KT_EXPECT_EQ(arena_check(base_arena), 0);
	KT_EXPECT_EQ(kpages_settled(), settled);
}

/* ---- a randomised workload */

struct slot {
	uint8_t *buf;
	size_t usable; /* bytes holding the pattern of seed */
	uint64_t seed;
};

/* Mostly small sizes, some pages, a few up to 64 KiB, now and then 0. */
static size_t random_size(uint64_t *rng)
{
	uint64_t r = rng_next(rng) % 64;

	if (r == 0)
		return 0;
	if (r < 40)
		return 1 + rng_next(rng) % 256;
	if (r < 56)
		return 1 + rng_next(rng) % (4 * KiB);
	if (r < 62)
		return 1 + rng_next(rng) % (16 * KiB);
	return 1 + rng_next(rng) % (64 * KiB);
}

/* A new buffer in s: kmalloc, kzmalloc or kmalloc_align. */
static bool slot_alloc(struct slot *s, uint64_t *rng)
{
	uint64_t how = rng_next(rng) % 10;
	size_t size = random_size(rng), align = 16;

	if (how == 0) {
		s->buf = kzmalloc(size, MEM_WAIT);
	} else if (how == 1) {
		align = 16ul << rng_next(rng) % 9;
		s->buf = kmalloc_align(size, MEM_WAIT, align);
	} else {
		s->buf = kmalloc(size, MEM_WAIT);
	}
	if (!s->buf || (uintptr_t)s->buf % align)
		return false;
	s->usable = kmalloc_size(s->buf);
	if (s->usable < size || s->usable < 16)
		return false;
	for (size_t i = 0; how == 0 && i < s->usable; i++)
		if (s->buf[i])
			return false;
	s->seed = (uintptr_t)s->buf;
	pattern_fill(s->buf, s->usable, s->seed);
	return true;
}

/* krealloc s to a random size: what was kept must be intact. */
static bool slot_realloc(struct slot *s, uint64_t *rng)
{
	size_t size = random_size(rng), kept = MIN(size, s->usable);
	uint8_t *q = krealloc(s->buf, size, MEM_WAIT);

	if (!size) {
		s->buf = NULL;
		return q == NULL;
	}
	bool ok;

	if (!q)
		return false; /* the old buffer stays the slot's */
	ok = (uintptr_t)q % 16 == 0 && kmalloc_size(q) >= size &&
	     pattern_check(q, kept, s->seed) == kept;
	/* the new buffer is the slot's even when wrong: the old one is gone */
	s->buf = q;
	s->usable = kmalloc_size(q);
	s->seed = (uintptr_t)q;
	pattern_fill(q, s->usable, s->seed);
	return ok;
}

KTEST(kmalloc, random_workload)
{
	enum { NR_SLOTS = 192, NR_OPS = 20000 };
	static struct slot slots[NR_SLOTS];
	size_t live[NR_CLASSES], now[NR_CLASSES], bad = 0, ops[3] = { 0 };
	uint64_t rng = 0x6b6d616c6c6f6321ull;
	size_t settled = kpages_settled();

	live_counts(live);
	for (int op = 0; op < NR_OPS && !bad; op++) {
		struct slot *s = &slots[rng_next(&rng) % NR_SLOTS];
		uint64_t r = rng_next(&rng) % 100;

		if (!s->buf) {
			bad += !slot_alloc(s, &rng);
			ops[0]++;
			continue;
		}
		if (pattern_check(s->buf, s->usable, s->seed) != s->usable) {
			bad++;
			break;
		}
		if (r < 60) {
			kfree(s->buf);
			s->buf = NULL;
			ops[1]++;
		} else {
			bad += !slot_realloc(s, &rng);
			ops[2]++;
		}
		if (op % 4096 == 0 && !kmalloc_sound())
			bad++;
	}
	KT_EXPECT_EQ(bad, 0);
	KT_EXPECT_GT(ops[0], 5000);
	KT_EXPECT_GT(ops[1], 3000);
	KT_EXPECT_GT(ops[2], 2000);
	for (int i = 0; i < NR_SLOTS; i++) {
		if (slots[i].buf)
			KT_EXPECT_EQ(pattern_check(slots[i].buf,
						   slots[i].usable,
						   slots[i].seed),
				     slots[i].usable);
		kfree(slots[i].buf);
		slots[i].buf = NULL;
	}
	live_counts(now);
	KT_EXPECT_MEMEQ(now, live, sizeof(live));
	KT_EXPECT_TRUE(kmalloc_sound());
	KT_EXPECT_EQ(kpages_settled(), settled);
}

/* ---- misuse */

/*
 * The tag says freed; under kmem_debug=poison it holds the free poison
 * instead, which kfree also reads as a double free: the fragments fit
 * both. (So does a large buffer's size, which a redzone would change.)
 */
KTEST_PANICS(kmalloc, double_free, "kfree: double free (",
	     "): cache 'kmalloc_128' addr 0x", " size 112")
{
	void *p = kmalloc(100, MEM_WAIT);

	kfree(p);
	kfree(p);
}

KTEST_PANICS(kmalloc, double_free_large,
	     "kfree: double free (the tag says freed): arena 'kpages' addr 0x",
	     " size ")
{
	void *p = kmalloc(20000, MEM_WAIT);

	kfree(p);
	kfree(p);
}

KTEST_PANICS(kmalloc, krealloc_freed, "krealloc: buffer already freed (",
	     "): cache 'kmalloc_64' addr 0x")
{
	void *p = kmalloc(40, MEM_WAIT);

	kfree(p);
	krealloc(p, 100, MEM_WAIT);
}

KTEST_PANICS(
	kmalloc, interior_pointer,
	"kfree: pointer inside a buffer, not its start: cache 'kmalloc_128' addr 0x",
	" is 48 bytes into buffer 0x", " size 112")
{
	uint8_t *p = kmalloc(100, MEM_WAIT);

	kmemset(p, 0x5a, 112);
	kfree(p + 48);
}

KTEST_PANICS(
	kmalloc, interior_pointer_unaligned,
	"kfree: pointer inside a buffer, not its start: cache 'kmalloc_32'",
	" is 5 bytes into buffer 0x", " size 16")
{
	uint8_t *p = kmalloc(16, MEM_WAIT);

	kmemset(p, 0, 16);
	kfree(p + 5);
}

KTEST_PANICS(
	kmalloc, interior_pointer_large,
	"kfree: pointer inside a buffer, not its start: arena 'kpages' addr 0x",
	" is 1024 bytes into buffer 0x", " size ")
{
	uint8_t *p = kmalloc(20000, MEM_WAIT);

	kmemset(p, 0xa5, 20000);
	kfree(p + 1024);
}

/* Not kmalloc's: a static array (its tag would be zeros). */
static uint8_t not_from_kmalloc[256] __aligned(16);

KTEST_PANICS(kmalloc, foreign_static,
	     "kfree: not a kmalloc buffer (no valid tag before it): addr 0x")
{
	kfree(not_from_kmalloc + 128);
}

KTEST_PANICS(kmalloc, foreign_page,
	     "kfree: not a kmalloc buffer (no valid tag before it): addr 0x")
{
	/* the second page, so that the tag kfree reads is ours, zeroed */
	uint8_t *pages = arena_alloc(kpages_arena, 2 * PGSIZE, MEM_WAIT);

	kmemset(pages, 0, 2 * PGSIZE);
	kfree(pages + PGSIZE);
}

KTEST_PANICS(kmalloc, tag_overwritten,
	     "kfree: tag overwritten (owner 0x6b6d616c, expected 0x",
	     "): cache 'kmalloc_128' addr 0x", " size 112")
{
	void **p = kmalloc(100, MEM_WAIT);

	/* as an overrun of the buffer before it would */
	p[-2] = (void *)0x6b6d616cul;
	kfree(p);
}

/*
 * A live tag copied to another 16-aligned place: its check hashes the
 * address it was written for, so there it is no tag at all.
 */
KTEST_PANICS(kmalloc, tag_copied_elsewhere,
	     "kfree: not a kmalloc buffer (no valid tag before it): addr 0x")
{
	uint8_t *p = kmalloc(100, MEM_WAIT);
	uint8_t *page = arena_alloc(kpages_arena, PGSIZE, MEM_WAIT);

	kmemset(page, 0, PGSIZE);
	kmemcpy(page + 256 - 16, p - 16, 16);
	kfree(page + 256);
}

/*
 * The offset the tag names is where kfree finds the object: changed, the
 * check no longer holds, and kfree frees nothing (the fast path would
 * otherwise push a pointer into the middle of an object).
 */
KTEST_PANICS(kmalloc, tag_offset_changed,
	     "kfree: not a kmalloc buffer (no valid tag before it): addr 0x")
{
	uint8_t *p = kmalloc(100, MEM_WAIT);

	*(uint16_t *)(p - 8) = 32; /* the offset field: 16 before */
	kfree(p);
}

/*
 * kmalloc and kfree of a small size with the magazines warm take the fast
 * paths: this CPU's magazine serves every allocation (hits), the slab
 * layer sees none, and the pairs leave nothing live.
 */
KTEST(kmalloc, fast_pairs_stay_in_the_magazine)
{
	struct kmem_cache *cp = kmem_cache_find("kmalloc_64");
	struct kmem_cpu_stats before, after;
	size_t live;
	int cpu;
	void *p;

	KT_ASSERT_NOT_NULL(cp);
	kfree(kmalloc(40, MEM_WAIT)); /* this CPU has a magazine with room */
	cpu = arch_cpu_id();
	live = kmem_cache_nr_live(cp);
	if (!kmem_cache_cpu_stats(cp, cpu, &before))
		KT_SKIP("kmalloc_64 has no magazines (a debug mode)");
	for (int i = 0; i < 1000; i++) {
		p = kmalloc(40, MEM_WAIT);
		KT_ASSERT_NOT_NULL(p);
		kmemset(p, i, 48);
		kfree(p);
	}
	KT_ASSERT_TRUE(kmem_cache_cpu_stats(cp, cpu, &after));
	KT_EXPECT_EQ(after.hits - before.hits, 1000);
	KT_EXPECT_EQ(after.misses, before.misses);
	KT_EXPECT_EQ(kmem_cache_nr_live(cp), live);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
}

KTEST_PANICS(kmalloc, align_not_pow2,
	     "kmalloc_align: align 48 is not a power of two: size 16")
{
	kmalloc_align(16, MEM_WAIT, 48);
}

KTEST_PANICS(kmalloc, align_above_1g,
	     "kmalloc_align: align 2147483648 is above 1 GiB: size 16")
{
	kmalloc_align(16, MEM_ATOMIC, 2 * GiB);
}

KTEST_PANICS(
	kmalloc, bad_flags,
	"kmalloc: bad flags 0x3 (name exactly one of MEM_WAIT and MEM_ATOMIC): size 16")
{
	kmalloc(16, MEM_WAIT | MEM_ATOMIC);
}

KTEST(kmalloc, align_above_page_size_zero)
{
	/* found by tests/fuzz/fuzz_slab.c: a zero-size buffer aligned above
	 * a page got a segment of one page with buf at its very end, a tag
	 * that kmalloc_size and kfree then refused as corrupted */
	void *buf = kmalloc_align(0, MEM_WAIT, 8 * PGSIZE);

	KT_ASSERT_NOT_NULL(buf);
	KT_EXPECT_EQ((uintptr_t)buf % (8 * PGSIZE), 0);
	KT_EXPECT_GE(kmalloc_size(buf), 16);
	kfree(buf);
}

/* More than 128 TiB: MEM_ATOMIC gets NULL, MEM_WAIT panics. */
KTEST_PANICS(
	kmalloc, size_beyond_any_machine,
	"kmalloc: size 140737488355329 is more than any machine has (at most 140737488355328)")
{
	KT_EXPECT_NULL(kmalloc((1ul << 47) + 1, MEM_ATOMIC));
	kmalloc((1ul << 47) + 1, MEM_WAIT);
}

KTEST_PANICS(kmalloc, init_twice, "kmalloc_init: called twice")
{
	kmalloc_init();
}
