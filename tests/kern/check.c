/*
 * check.c: tests of the checkers, arena_check (arena_check.c) and
 * kmem_cache_check (slab_check.c). Each test builds a small arena or
 * cache, plants one kind of corruption at a time, captures what the
 * checker prints (printk_capture_begin) and compares it with the whole
 * line it must print, naming the violation, the arena or cache and the
 * tag or object; then it undoes the corruption and the checker passes
 * again. Nothing allocates or frees while a corruption is planted.
 */
#define KTEST_NEEDS_BASE (1ul << 20) /* an arena and a cache each */
#include "ktest.h"
#include "arena.h"
#include "arena_impl.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "printk.h"
#include "slab_impl.h"

/* A fake range: never memory, never touched. */
#define FAKE_BASE 0x100000000000ul
#define FAKE_SIZE (1ul << 20)

/* The test's own name, without the "ktest_" of its function. */
#define TEST_NAME (__func__ + 6)

#define TEXT_MAX 512

/* What the checker printed, and what it should have. */
static char got[TEXT_MAX], want[TEXT_MAX];

/* ---- arena_check */

/*
 * Run arena_check(a) into got; want gets the line it must print for the
 * violation what at tag t (NULL: a violation of counts, no tag).
 */
static int arena_check_into(struct arena *a, const char *what,
			    const struct btag *t)
{
	int r;

	if (t)
		ksnprintf(
			want, sizeof(want),
			"arena_check: arena '%s': %s: %s tag %p [0x%lx, 0x%lx)\n",
			a->name, what,
			t->type <= BTAG_SPARE ? arena_btag_type_names[t->type] :
						"bad",
			(const void *)t, t->start, t->start + t->size);
	else
		ksnprintf(want, sizeof(want), "arena_check: arena '%s': %s\n",
			  a->name, what);
	got[0] = 0;
	printk_capture_begin(got, sizeof(got));
	r = arena_check(a);
	printk_capture_end();
	return r;
}

#define EXPECT_ARENA_REPORT(a, what, t)                               \
	do {                                                          \
		KT_EXPECT_EQ(arena_check_into((a), (what), (t)), -1); \
		KT_EXPECT_STREQ(got, want);                           \
	} while (0)

/*
 * An arena of one span: p1 (two pages, in its hash bucket), p2 (one page,
 * in hash_last) and the free rest, tail.
 */
struct arena_case {
	struct arena *a;
	struct btag *span, *p1, *p2, *tail;
};

static bool arena_case_make(struct arena_case *c, const char *name)
{
	void *p1, *p2;

	c->a = arena_create(name, (void *)FAKE_BASE, FAKE_SIZE, PGSIZE, NULL,
			    NULL, NULL, 0, MEM_WAIT);
	p1 = arena_alloc(c->a, 2 * PGSIZE, MEM_WAIT);
	p2 = arena_alloc(c->a, PGSIZE, MEM_WAIT);
	c->span = c->a->seg_head.seg_next;
	c->p1 = c->span->seg_next;
	c->p2 = c->p1->seg_next;
	c->tail = c->p2->seg_next;
	KT_EXPECT_EQ(arena_check(c->a), 0);
	return c->p1->start == (uintptr_t)p1 && c->p2->start == (uintptr_t)p2 &&
	       c->a->hash_last == c->p2 && c->tail->type == BTAG_FREE &&
	       *hash_bucket(c->a, c->p1->start) == c->p1 && !c->p1->hash_next;
}

static void arena_case_destroy(struct arena_case *c)
{
	KT_EXPECT_EQ(arena_check(c->a), 0);
	arena_free(c->a, (void *)c->p2->start, PGSIZE);
	arena_free(c->a, (void *)c->p1->start, 2 * PGSIZE);
	arena_destroy(c->a);
}

KTEST(check, arena_free_lists)
{
	struct arena_case c;
	struct arena *a;
	struct list_head *head;
	size_t size;
	int list;

	KT_ASSERT_TRUE(arena_case_make(&c, TEST_NAME));
	a = c.a;
	list = c.tail->freelist;
	head = &a->free_lists[list];

	a->free_bitmap ^= 1ull << 5;
	EXPECT_ARENA_REPORT(a, "free_bitmap disagrees with the free lists",
			    NULL);
	a->free_bitmap ^= 1ull << 5;

	a->nr_free_segs = (size_t)-1; /* allows no tag at all on the lists */
	EXPECT_ARENA_REPORT(
		a, "free lists longer than the free segment count (a cycle?)",
		c.tail);
	a->nr_free_segs = 1;

	c.tail->type = BTAG_ALLOC;
	EXPECT_ARENA_REPORT(a, "a tag on a free list is not free", c.tail);
	c.tail->type = BTAG_FREE;

	c.tail->freelist = (uint8_t)(list + 1);
	EXPECT_ARENA_REPORT(a, "a free segment is on the wrong free list",
			    c.tail);
	c.tail->freelist = (uint8_t)list;

	size = c.tail->size;
	c.tail->size = PGSIZE; /* a class far below its list's */
	EXPECT_ARENA_REPORT(a, "a free segment is on the wrong free list",
			    c.tail);
	c.tail->size = size;

	head->prev = head;
	EXPECT_ARENA_REPORT(a, "a free list's back link is wrong", c.tail);
	head->prev = &c.tail->free;
	arena_case_destroy(&c);
}

KTEST(check, arena_hash)
{
	struct arena_case c;
	struct arena *a;
	struct btag **bucket, **other;

	KT_ASSERT_TRUE(arena_case_make(&c, TEST_NAME));
	a = c.a;
	bucket = hash_bucket(a, c.p1->start);
	other = &a->hash[(size_t)(bucket - a->hash + 1) % a->hash_buckets];
	KT_ASSERT_NULL(*other);

	c.p2->type = 9; /* no type at all: the report says "bad" */
	EXPECT_ARENA_REPORT(
		a,
		"the hash's last-allocated slot holds a tag that is not allocated",
		c.p2);
	c.p2->type = BTAG_ALLOC;

	a->stats.frees += 2; /* the count says no allocation at all */
	EXPECT_ARENA_REPORT(
		a, "hash chains longer than the allocation count (a cycle?)",
		c.p1);
	a->stats.frees -= 2;

	c.p1->type = BTAG_SPARE;
	EXPECT_ARENA_REPORT(a, "a tag in the hash is not allocated", c.p1);
	c.p1->type = BTAG_ALLOC;

	*other = c.p1;
	*bucket = NULL;
	EXPECT_ARENA_REPORT(
		a, "an allocated segment is in the wrong hash bucket", c.p1);
	*bucket = c.p1;
	*other = NULL;
	arena_case_destroy(&c);
}

KTEST(check, arena_segments)
{
	struct arena_case c;
	struct arena *a;

	KT_ASSERT_TRUE(arena_case_make(&c, TEST_NAME));
	a = c.a;

	c.p2->seg_prev = c.span;
	EXPECT_ARENA_REPORT(a, "the segment list's back link is wrong", c.p1);
	c.p2->seg_prev = c.p1;

	c.p1->size += 1; /* not a multiple of the quantum */
	EXPECT_ARENA_REPORT(
		a,
		"segments do not tile their span (gap, overlap or unaligned size)",
		c.p1);
	c.p1->size -= 1;

	a->hash_last = NULL; /* p2 leaves the hash */
	EXPECT_ARENA_REPORT(a, "an allocated segment is not in the hash", c.p2);
	c.p2->type = BTAG_FREE; /* and is free, beside the free tail */
	EXPECT_ARENA_REPORT(a, "two adjacent free segments (not coalesced)",
			    c.tail);
	c.p2->type = BTAG_ALLOC;
	a->hash_last = c.p2;

	c.tail->size -= PGSIZE;
	EXPECT_ARENA_REPORT(a, "segments do not cover their span", c.span);
	c.tail->size += PGSIZE;

	c.span->type = BTAG_SENTINEL;
	EXPECT_ARENA_REPORT(a, "a segment outside any span", c.span);
	c.span->type = BTAG_SPAN;
	arena_case_destroy(&c);
}

KTEST(check, arena_counts)
{
	static struct btag stray = { .start = FAKE_BASE,
				     .size = PGSIZE,
				     .type = BTAG_FREE };
	struct arena_case c;
	struct arena *a;
	struct btag *rotor;

	KT_ASSERT_TRUE(arena_case_make(&c, TEST_NAME));
	a = c.a;

	a->nr_free_segs++;
	EXPECT_ARENA_REPORT(
		a, "free segment counts disagree (walk, lists, counter)", NULL);
	a->nr_free_segs--;

	a->stats.allocs++;
	EXPECT_ARENA_REPORT(
		a, "allocated segment counts disagree (walk, hash, counter)",
		NULL);
	a->stats.allocs--;

	a->total += PGSIZE;
	EXPECT_ARENA_REPORT(a, "byte totals disagree with the segments", NULL);
	a->total -= PGSIZE;

	a->nr_spans++;
	EXPECT_ARENA_REPORT(a, "span count or imported bytes disagree", NULL);
	a->nr_spans--;
	a->imported_bytes += PGSIZE;
	EXPECT_ARENA_REPORT(a, "span count or imported bytes disagree", NULL);
	a->imported_bytes -= PGSIZE;

	rotor = a->rotor;
	a->rotor = &stray;
	EXPECT_ARENA_REPORT(a, "the next-fit rotor is not on the segment list",
			    &stray);
	a->rotor = rotor;
	arena_case_destroy(&c);
}

KTEST(check, arena_spare_tags)
{
	struct arena_case c;
	struct arena *a;
	struct btag *spare;

	KT_ASSERT_TRUE(arena_case_make(&c, TEST_NAME));
	a = c.a;
	spare = a->spare_tags;
	KT_ASSERT_NOT_NULL(spare);
	KT_ASSERT_NULL(a->reserve_tags); /* only base keeps a reserve */

	spare->type = BTAG_FREE;
	EXPECT_ARENA_REPORT(a, "a tag in the spare pool is not spare", spare);
	spare->type = BTAG_SPARE;

	a->nr_reserve_tags = 1;
	EXPECT_ARENA_REPORT(a, "the tag reserve disagrees with its count",
			    NULL);
	a->nr_reserve_tags = 0;

	a->reserve_tags = spare; /* one more than the count says */
	EXPECT_ARENA_REPORT(a, "the tag reserve disagrees with its count",
			    spare);
	a->reserve_tags = NULL;
	arena_case_destroy(&c);
}

/* Base keeps exactly BASE_TAG_RESERVE tags back, whatever its count says. */
KTEST(check, arena_base_reserve)
{
	struct arena *a = base_arena;
	struct btag *first = a->reserve_tags;

	KT_ASSERT_EQ(a->nr_reserve_tags, BASE_TAG_RESERVE);
	KT_ASSERT_EQ(arena_check(a), 0);
	a->reserve_tags = first->spare_next;
	a->nr_reserve_tags--;
	EXPECT_ARENA_REPORT(a, "the tag reserve disagrees with its count",
			    NULL);
	a->nr_reserve_tags++;
	a->reserve_tags = first;
	KT_EXPECT_EQ(arena_check(a), 0);
}

/* ---- kmem_cache_check */

/* Run kmem_cache_check(cp) into got; want gets its line for what at where. */
static int cache_check_into(struct kmem_cache *cp, const char *what,
			    const void *where)
{
	int r;

	ksnprintf(want, sizeof(want),
		  "kmem_cache_check: cache '%s': %s: at %p\n", cp->name, what,
		  where);
	got[0] = 0;
	printk_capture_begin(got, sizeof(got));
	r = kmem_cache_check(cp);
	printk_capture_end();
	return r;
}

#define EXPECT_CACHE_REPORT(cp, what, where)                               \
	do {                                                               \
		KT_EXPECT_EQ(cache_check_into((cp), (what), (where)), -1); \
		KT_EXPECT_STREQ(got, want);                                \
	} while (0)

/* The slab holding the cache's busy objects: its one partial slab. */
static struct kmem_slab *partial_slab(struct kmem_cache *cp)
{
	return list_entry(cp->partial.next, struct kmem_slab, link);
}

/* An on-slab cache: the slab's free list, marks and counts. */
KTEST(check, cache_slabs)
{
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	void *o[3];
	struct kmem_slab *s;
	void *first_free, *link;
	uint32_t busy;
	long i;

	KT_ASSERT_NOT_NULL(cp);
	for (int k = 0; k < 3; k++)
		o[k] = kmem_cache_alloc(cp, MEM_WAIT);
	kmem_cache_free(cp, o[2]); /* a CPU's magazine holds it */
	if (!cp->on_slab || cp->nr_slabs != 1) {
		kmem_cache_free(cp, o[1]);
		kmem_cache_free(cp, o[0]);
		kmem_cache_destroy(cp);
		KT_SKIP("the debug modes put this cache's slab headers off-slab");
	}
	s = partial_slab(cp);
	first_free = s->free;
	i = obj_index(cp, s, first_free);
	KT_ASSERT_GE(i, 0);
	KT_ASSERT_EQ(kmem_cache_check(cp), 0);

	cp->nr_slabs = 0;
	EXPECT_CACHE_REPORT(
		cp, "more slabs on the lists than nr_slabs (a loop?)", s);
	cp->nr_slabs = 2;
	EXPECT_CACHE_REPORT(cp, "nr_slabs disagrees with the lists", NULL);
	cp->nr_slabs = 1;

	s->magic ^= 1;
	EXPECT_CACHE_REPORT(
		cp, "a slab header with a bad magic or another cache", s);
	s->magic ^= 1;
	s->cache = NULL;
	EXPECT_CACHE_REPORT(
		cp, "a slab header with a bad magic or another cache", s);
	s->cache = cp;

	busy = s->nr_busy; /* 2 or 3: the debug modes keep no magazines */
	s->nr_busy =
		(uint32_t)cp->objs_per_slab; /* full, on the partial list */
	EXPECT_CACHE_REPORT(cp, "a slab on the wrong list for its count", s);
	s->nr_busy = busy - 1;
	EXPECT_CACHE_REPORT(cp, "a slab's free and busy counts do not add up",
			    s);
	s->nr_busy = busy;

	cp->nr_busy++;
	EXPECT_CACHE_REPORT(cp, "nr_busy disagrees with the slabs", NULL);
	cp->nr_busy--;

	link = *obj_link(cp, first_free);
	*obj_link(cp, first_free) = first_free; /* a loop */
	EXPECT_CACHE_REPORT(cp, "a slab's free list leaves the slab or loops",
			    first_free);
	*obj_link(cp, first_free) = (void *)0x10; /* out of the slab */
	EXPECT_CACHE_REPORT(cp, "a slab's free list leaves the slab or loops",
			    (void *)0x10);
	*obj_link(cp, first_free) = link;

	s->busy[i / 64] ^= 1ull << (i % 64);
	EXPECT_CACHE_REPORT(cp,
			    "an object on a slab's free list is marked busy",
			    first_free);
	s->busy[i / 64] ^= 1ull << (i % 64);

	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_free(cp, o[1]);
	kmem_cache_free(cp, o[0]);
	kmem_cache_destroy(cp);
}

/* An off-slab cache: free bufctls and the busy hash. */
KTEST(check, cache_bufctls)
{
	struct kmem_cache *cp = kmem_cache_create(TEST_NAME, 64, 0, KMC_NOTOUCH,
						  NULL, NULL, NULL, NULL);
	struct kmem_bufctl *bc;
	struct kmem_slab *s;
	void *o, *obj;

	KT_ASSERT_NOT_NULL(cp);
	KT_ASSERT_FALSE(cp->on_slab);
	o = kmem_cache_alloc(cp, MEM_WAIT);
	s = partial_slab(cp);
	bc = s->free_bufctls;
	KT_ASSERT_NOT_NULL(bc);
	obj = bc->obj;
	KT_ASSERT_EQ(kmem_cache_check(cp), 0);

	cp->nr_hashed++;
	EXPECT_CACHE_REPORT(
		cp, "the busy hash does not hold exactly the busy objects",
		NULL);
	cp->nr_hashed--;

	bc->slab = NULL;
	EXPECT_CACHE_REPORT(
		cp,
		"a slab's free bufctls are wrong (other slab, not an object, or a loop)",
		obj);
	bc->slab = s;

	bc->obj = o; /* the busy object, free as well */
	EXPECT_CACHE_REPORT(cp, "a free object is also in the busy hash", o);
	bc->obj = obj;

	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_free(cp, o);
	kmem_cache_destroy(cp);
}

#define MAGAZINE_OBJS (4 * KMEM_MAGAZINE_ROUNDS_MAX)

/*
 * The magazine layer: a CPU's magazines and the depot's. Freeing four
 * magazines' worth fills the CPU's two and sends full ones to the depot;
 * taking two back empties the CPU's, which swap one for a full one and
 * leave an empty one in the depot.
 */
KTEST(check, cache_magazines)
{
	static void *objs[MAGAZINE_OBJS];
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	struct kmem_cpu_cache *cc;
	struct kmem_magazine *m, *full, *empty;
	size_t n, nr_full, nr_empty;
	long rounds, prev_rounds;
	void *round, *slab_free_obj;

	KT_ASSERT_NOT_NULL(cp);
	if (!cp->mag_size) {
		kmem_cache_destroy(cp);
		KT_SKIP("the debug modes keep no magazines");
	}
	KT_ASSERT_GT(cp->mag_size, 1);
	n = 4 * cp->mag_size;
	for (size_t k = 0; k < n; k++)
		objs[k] = kmem_cache_alloc(cp, MEM_WAIT);
	for (size_t k = 0; k < n; k++)
		kmem_cache_free(cp, objs[k]);
	for (size_t k = 0; k < 2 * cp->mag_size + 1; k++)
		objs[k] = kmem_cache_alloc(cp, MEM_WAIT);
	cc = &cp->cpu[arch_cpu_slot()];
	m = cc->loaded;
	rounds = cc->rounds;
	full = cp->depot.full;
	empty = cp->depot.empty;
	if (!m || rounds < 2 || !full || !empty) {
		for (size_t k = 0; k < 2 * cp->mag_size + 1; k++)
			kmem_cache_free(cp, objs[k]);
		kmem_cache_destroy(cp);
		KT_SKIPF(
			"no loaded magazine of 2 rounds (%ld) or no full and empty ones in the depot",
			rounds);
	}
	KT_ASSERT_EQ(kmem_cache_check(cp), 0);

	prev_rounds = cc->prev_rounds;
	cc->prev_rounds = cc->previous ? -1 : 0;
	EXPECT_CACHE_REPORT(
		cp, "a CPU's round counts disagree with its magazines", cc);
	cc->prev_rounds = prev_rounds;

	cc->rounds = (long)cp->mag_size + 1;
	EXPECT_CACHE_REPORT(cp, "a magazine's round count is out of range", m);
	cc->rounds = rounds;

	m->round[0] = m->round[1];
	EXPECT_CACHE_REPORT(cp, "a magazine's floor is not NULL", m);
	m->round[0] = NULL;

	round = m->round[2];
	m->round[2] = m->round[1];
	EXPECT_CACHE_REPORT(cp,
			    "an object twice in one magazine (a double free)",
			    m->round[1]);
	m->round[2] = round;

	slab_free_obj = cp->on_slab && !list_empty(&cp->partial) ?
				partial_slab(cp)->free :
				NULL;
	if (slab_free_obj) {
		m->round[2] = slab_free_obj;
		EXPECT_CACHE_REPORT(
			cp,
			"an object in a magazine is free in its slab (a double free?)",
			slab_free_obj);
		m->round[2] = round;
	}

	full->round[0] = full->round[1];
	EXPECT_CACHE_REPORT(cp, "a magazine's floor is not NULL", full);
	full->round[0] = NULL;

	nr_full = cp->depot.nr_full;
	nr_empty = cp->depot.nr_empty;
	cp->depot.nr_full = 0; /* the first one is already one too many */
	EXPECT_CACHE_REPORT(
		cp, "the depot's full list disagrees with its count", full);
	cp->depot.nr_full = nr_full + 1;
	EXPECT_CACHE_REPORT(
		cp, "the depot's full list disagrees with its count", NULL);
	cp->depot.nr_full = nr_full;

	cp->depot.nr_empty = 0;
	EXPECT_CACHE_REPORT(
		cp, "the depot's empty list disagrees with its count", empty);
	cp->depot.nr_empty = nr_empty + 1;
	EXPECT_CACHE_REPORT(
		cp, "the depot's empty list disagrees with its count", NULL);
	cp->depot.nr_empty = nr_empty;

	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	for (size_t k = 0; k < 2 * cp->mag_size + 1; k++)
		kmem_cache_free(cp, objs[k]);
	kmem_cache_destroy(cp);
}
