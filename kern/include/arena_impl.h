/*
 * arena_impl.h: the arena layer's private header, as illumos keeps
 * vmem_impl.h apart from vmem.h. It holds the structures (boundary tags,
 * the arena, its counters), what the files of the layer share (constants,
 * struct request, internal prototypes), and the static inline helpers
 * that arena_alloc's and arena_free's fast paths inline: segment and free
 * list links, spare tags, quantum rounding, instant fit, the hash
 * buckets. Callers use arena.h; only the layer's own files, the tests,
 * the monitor and the test runner include this one. kern/src/arena.c
 * opens with the theory statement and says which file holds each part.
 */
#pragma once

#include "arena.h"
#include "assert.h"
#include "bitops.h"
#include "hash.h"
#include "kmem_debug.h"

#define ARENA_NR_FREELISTS 64
#define ARENA_HASH_INITIAL 16

/*
 * Tags one step may take, at most: carving a fit out of the middle of a
 * free segment makes a lead and a trail (2, carve_locked); adding a span
 * makes its span tag and its free segment (2, arena_span_add_locked). An
 * import is both, so it asks for TAGS_PER_STEP + 2.
 */
#define TAGS_PER_STEP 2
/* Base only: taking a page for tags from itself may split a segment. */
#define BASE_TAG_RESERVE 2
#define FIT_FLAGS (ARENA_INSTANTFIT | ARENA_BESTFIT | ARENA_NEXTFIT)

/* What a boundary tag stands for. */
enum btag_type {
	BTAG_SENTINEL, /* the head of an arena's segment list */
	BTAG_SPAN,
	BTAG_FREE,
	BTAG_ALLOC,
	BTAG_SPARE, /* in the arena's pool of spare tags */
};

/*
 * Where a span came from, and so how it goes back: added (arena_add), or
 * imported with the arena's afunc (back with its ffunc), or imported with
 * arena_xalloc on the source, a constrained request pushed down (back
 * with arena_xfree, which an arena_xalloc segment needs).
 */
enum span_origin {
	SPAN_ADDED,
	SPAN_IMPORTED,
	SPAN_IMPORTED_XALLOC,
};

/*
 * A boundary tag: one per span (what an arena was given) and one per
 * segment (a free or allocated piece of a span). See arena.c, theory
 * statement 2.
 */
struct btag {
	uintptr_t start;
	size_t size;
	/* all tags of the arena in address order, spans before their segments */
	struct btag *seg_next, *seg_prev;
	union {
		/* BTAG_FREE: on free list highbit(size) */
		struct list_head free;
		/* BTAG_ALLOC: chain of its allocation-hash bucket */
		struct btag *hash_next;
		/* unused tags: the arena's pool of spare tags */
		struct btag *spare_next;
	};
	uint8_t type;
	uint8_t imported; /* BTAG_SPAN: SPAN_ADDED, or how it was imported */
	uint8_t freelist; /* BTAG_FREE: the free list it is on */
	uint8_t qslab;	  /* BTAG_ALLOC: a slab of one of the quantum caches */
};

/* Per-arena counters, in the spirit of illumos' vmem_kstat. */
struct arena_stats {
	uint64_t allocs; /* successful allocations */
	uint64_t frees;
	uint64_t fails;	       /* allocations that returned NULL */
	uint64_t imports;      /* spans taken from the source */
	uint64_t span_returns; /* spans given back to the source */
	uint64_t hash_resizes;
};

struct arena {
	struct spinlock lock;
	char name[ARENA_NAME_MAX];
	size_t quantum;
	int quantum_shift; /* log2(quantum), or -1 if not a power of two */
	/* arena_alloc's fast path takes sizes 1..fast_limit (0: none) */
	size_t fast_limit;
	size_t qcache_max; /* sizes up to this go to the quantum caches */
	struct kmem_cache *qcache[ARENA_QCACHE_MAX]; /* of 1..n quanta */
	struct arena *source;
	arena_afunc_t afunc;
	arena_ffunc_t ffunc;
	bool is_base;	/* takes its tags from its own pages */
	bool allocated; /* this struct came from base_alloc */

	/* the address-ordered list of every tag: a circular list headed here */
	struct btag seg_head;
	/*
	 * Next fit continues from rotor_addr, the end of the last next-fit
	 * allocation, in the span of rotor: a tag of seg_head's list at or
	 * before that place (NULL: from the start). An address, not a tag,
	 * because frees and merges move tags but not addresses.
	 */
	struct btag *rotor;
	uintptr_t rotor_addr;

	/*
	 * free segments by size class: list i holds sizes [2^i, 2^(i+1)),
	 * and bit i of free_bitmap says it is not empty
	 */
	uint64_t free_bitmap;
	struct list_head free_lists[ARENA_NR_FREELISTS];

	/*
	 * allocated segments by start address: the most recent one waits in
	 * hash_last and goes into its bucket when the next one comes, so a
	 * free right after its alloc never touches the buckets
	 */
	struct btag *hash_last;
	struct btag **hash;
	size_t hash_buckets; /* a power of two */
	int hash_shift;	     /* 64 - log2(hash_buckets) */
	size_t hash_grow_at; /* resize when the allocations pass these */
	size_t hash_shrink_at;
	bool hash_resizing;
	/* frees need more than the fast tail: a source, or a big hash */
	bool free_slow;
	struct btag *hash_initial[ARENA_HASH_INITIAL];

	/* spare tags, and the pages they were carved from (non-base arenas) */
	struct btag *spare_tags; /* a stack, through spare_next */
	/* base only: tags kept back for taking a page for tags from itself */
	struct btag *reserve_tags;
	size_t nr_reserve_tags;
	void *tag_pages; /* list through the first word of each page */
	size_t nr_tag_pages;

	/* bytes of segments (free + allocated), of allocated ones */
	size_t total;
	size_t in_use;
	size_t nr_free_segs, nr_spans;
	size_t imported_bytes; /* bytes of spans taken from the source */
	struct arena_stats stats;

	/* every arena: the global list (arena_print_stats, gdb) */
	struct arena *all_next;

	/* who imports from this arena (reclaim asks them to give back):
	 * importing arenas, and the callbacks registered on it */
	struct list_head importer_arenas, reclaimers;
	struct list_head importer_link; /* on the source's importer_arenas */
};

/* The constraints of one request, as arena_xalloc takes them. */
struct request {
	size_t size;
	size_t align; /* > quantum, or 0 for none */
	size_t phase;
	size_t nocross;
	uintptr_t min;
	uintptr_t max; /* 0: no bound */
	int flags;
};

/*
 * Allocated segments of a: every allocation, the base arena's own tag and
 * hash pages included, is counted in stats.allocs until stats.frees.
 */
static inline size_t arena_nr_alloc_segs(const struct arena *a)
{
	return (size_t)(a->stats.allocs - a->stats.frees);
}

/* ---- shared between the files of the layer (each names its file) */

/* arena_import.c: a span from the source for a request (a's lock held) */
struct btag *arena_import_locked(struct arena *a, const struct request *r,
				 int attempt, unsigned long *irq,
				 uintptr_t *addr, bool *dry);

/* arena_tags.c: the tag supply, spans and the allocation hash */
bool arena_tags_refill_locked(struct arena *a, size_t need, int flags,
			      unsigned long *irq);
struct btag *arena_span_add_locked(struct arena *a, uintptr_t start,
				   size_t size, enum span_origin origin);
enum span_origin arena_span_remove_locked(struct arena *a, struct btag *seg,
					  uintptr_t *start, size_t *size);
void arena_span_give_back(struct arena *a, uintptr_t start, size_t size,
			  enum span_origin origin);
bool arena_span_overlaps_locked(struct arena *a, uintptr_t start, size_t size);
struct btag *arena_hash_lookup_locked(const struct arena *a, uintptr_t addr);
void arena_hash_set_size(struct arena *a, struct btag **table, size_t n);
void arena_hash_resize(struct arena *a);
struct arena *arena_root_base(struct arena *a);

/* arena_fit.c: the allocation policies */
uintptr_t arena_fit_in_segment(const struct arena *a, const struct btag *t,
			       const struct request *r);
struct btag *arena_find_fit_locked(struct arena *a, const struct request *r,
				   int policy, uintptr_t *addr);
size_t arena_gcd(size_t a, size_t b);

/* arena_qcache.c: quantum caches and reclaim */
bool arena_qcaches_create(struct arena *a, size_t qcache_max, int flags);
void arena_importers_add(struct arena *a);
void arena_importers_remove(struct arena *a);

/* arena_report.c: misuse, and the tables */
extern const char *const arena_btag_type_names[];
void arena_check_flags(const char *fn, const struct arena *a, int flags);
void arena_check_xalloc(struct arena *a, const struct request *r, size_t size,
			size_t align);
struct btag *arena_span_containing_locked(struct arena *a, uintptr_t addr);
struct btag *arena_segment_containing_locked(struct arena *a, uintptr_t addr);
__noreturn void arena_bad_free(const char *fn, struct arena *a, uintptr_t addr,
			       size_t size);
__noreturn void arena_out_of_space(const char *fn, struct arena *a,
				   const struct request *r, bool reclaimed);
__noreturn void arena_destroy_busy(struct arena *a);

/* arena_check.c: kmem_debug=check's panic when a is unsound after fn */
void arena_debug_check(const char *fn, struct arena *a);

/*
 * Under kmem_debug=check, a must be sound after fn's work (passing ret
 * through). Such arenas have no fast paths (arena_setup), so these calls
 * sit on slow paths only.
 */
static inline void *after_check(const char *fn, struct arena *a, void *ret)
{
	if (unlikely(kmem_debug & KMEM_DEBUG_CHECK))
		arena_debug_check(fn, a);
	return ret;
}

/* Whether frees need free_tail_slow: a source, a big hash, or checks. */
static inline bool frees_need_tail(const struct arena *a)
{
	return a->source || a->hash_shrink_at ||
	       (kmem_debug & KMEM_DEBUG_CHECK);
}

/* ---- small arithmetic */

/* x rounded up to the quantum; 0 if that would wrap. */
static inline uintptr_t quantum_roundup(const struct arena *a, uintptr_t x)
{
	uintptr_t r;

	if (a->quantum_shift >= 0)
		r = (x + a->quantum - 1) & ~(uintptr_t)(a->quantum - 1);
	else
		r = (x + a->quantum - 1) / a->quantum * a->quantum;
	return r < x ? 0 : r;
}

static inline uintptr_t quantum_rounddown(const struct arena *a, uintptr_t x)
{
	if (a->quantum_shift >= 0)
		return x & ~(uintptr_t)(a->quantum - 1);
	return x / a->quantum * a->quantum;
}

/* ---- the segment list */

static inline void seg_insert_after(struct btag *pos, struct btag *t)
{
	debug_assert(pos->seg_next->seg_prev == pos);
	t->seg_prev = pos;
	t->seg_next = pos->seg_next;
	pos->seg_next->seg_prev = t;
	pos->seg_next = t;
}

static inline void seg_insert_before(struct btag *pos, struct btag *t)
{
	seg_insert_after(pos->seg_prev, t);
}

/* ---- spare tags */

/* Take a spare tag; the caller made sure there is one (a's lock held). */
static inline struct btag *tag_get_locked(struct arena *a)
{
	struct btag *t = a->spare_tags;

	assert_held(&a->lock);
	debug_assert(t && t->type == BTAG_SPARE);
	a->spare_tags = t->spare_next;
	return t;
}

/* Make t a spare tag (a's lock held); never one that is spare already. */
static inline void tag_put_locked(struct arena *a, struct btag *t)
{
	assert_held(&a->lock);
	debug_assert(t->type != BTAG_SPARE);
	t->type = BTAG_SPARE;
	t->spare_next = a->spare_tags;
	a->spare_tags = t;
}

/* Whether a has at least n spare tags (looks at n of them at most). */
static inline bool spares_at_least(const struct arena *a, size_t n)
{
	const struct btag *t = a->spare_tags;

	for (; n && t; n--)
		t = t->spare_next;
	return n == 0;
}

/* Base only: whether its spares and reserve cover a step of need tags. */
static inline bool base_tags_ready(const struct arena *a, size_t need)
{
	return a->nr_reserve_tags == BASE_TAG_RESERVE &&
	       spares_at_least(a, need);
}

/* Whether a has need spare tags (base: and its full reserve). */
static inline bool tags_ready(const struct arena *a, size_t need)
{
	return a->is_base ? base_tags_ready(a, need) : spares_at_least(a, need);
}

/*
 * Make sure a has need spare tags (base: plus its reserve), without
 * changing anything else. Called with a's lock held, and returns with it
 * (arena_tags_refill_locked may drop it). Returns false when no page
 * could be had.
 */
static inline bool tags_ensure_locked(struct arena *a, size_t need, int flags,
				      unsigned long *irq)
{
	assert_held(&a->lock);
	if (likely(tags_ready(a, need)))
		return true;
	return arena_tags_refill_locked(a, need, flags, irq);
}

/*
 * Take t off the segment list (moving the rotor off it) and spare it
 * (a's lock held).
 */
static inline void seg_remove_locked(struct arena *a, struct btag *t)
{
	assert_held(&a->lock);
	debug_assert(t->type != BTAG_SENTINEL && t->type != BTAG_SPARE);
	debug_assert(t->seg_prev->seg_next == t && t->seg_next->seg_prev == t);
	if (unlikely(a->rotor == t)) {
		/*
		 * A segment goes when it merges into a neighbour: the one before
		 * is still at or before the rotor's place, in its span. A span
		 * goes back to its source: next fit goes on with the next span.
		 */
		if (t->type == BTAG_SPAN) {
			a->rotor = t->seg_next;
			a->rotor_addr = 0;
		} else {
			a->rotor = t->seg_prev;
		}
	}
	t->seg_prev->seg_next = t->seg_next;
	t->seg_next->seg_prev = t->seg_prev;
	tag_put_locked(a, t);
}

/* ---- free lists */

/*
 * Free list i is a circular list (list.h) headed by a->free_lists[i], so
 * linking and unlinking take no branches; bit i of free_bitmap says it
 * is not empty.
 */
static inline struct btag *free_tag(struct list_head *l)
{
	return list_entry(l, struct btag, free);
}

/* The first segment on non-empty free list i. */
static inline struct btag *freelist_first(struct arena *a, unsigned long i)
{
	return free_tag(a->free_lists[i].next);
}

/* Put t on free list i (a's lock held, as for all the free lists). */
static inline void freelist_link_locked(struct arena *a, struct btag *t, int i)
{
	assert_held(&a->lock);
	t->freelist = (uint8_t)i;
	list_add(&t->free, &a->free_lists[i]);
	a->free_bitmap |= 1ull << i;
}

/* Take t off its free list (a's lock held). */
static inline void freelist_unlink_locked(struct arena *a, struct btag *t)
{
	struct list_head *l = &t->free;
	int i = t->freelist;

	assert_held(&a->lock);
	debug_assert(l->prev->next == l && l->next->prev == l);
	list_del(l);
	if (list_empty(&a->free_lists[i]))
		a->free_bitmap &= ~(1ull << i);
}

/* File t, a new tag or an allocated segment, as free (a's lock held). */
static inline void freelist_insert_locked(struct arena *a, struct btag *t)
{
	assert_held(&a->lock);
	debug_assert(t->type == BTAG_SPARE || t->type == BTAG_ALLOC);
	t->type = BTAG_FREE;
	freelist_link_locked(a, t, highbit(t->size));
	a->nr_free_segs++;
}

/* Take free segment t off its list (a's lock held). */
static inline void freelist_remove_locked(struct arena *a, struct btag *t)
{
	assert_held(&a->lock);
	debug_assert(t->type == BTAG_FREE);
	freelist_unlink_locked(a, t);
	a->nr_free_segs--;
}

/* File t on the list of its exact size class (a's lock held). */
static inline void freelist_refile_locked(struct arena *a, struct btag *t)
{
	assert_held(&a->lock);
	freelist_unlink_locked(a, t);
	freelist_link_locked(a, t, highbit(t->size));
}

/*
 * Free segment t shrank to [start, start + size). It may stay filed one
 * class too high (lazy reclassification, theory statement 3): a segment
 * cut at a power of two and merged back, over and over, never changes
 * lists. Further down than that, it moves. (a's lock held.)
 */
static inline void free_seg_shrink_locked(struct arena *a, struct btag *t,
					  uintptr_t start, size_t size)
{
	assert_held(&a->lock);
	debug_assert(t->type == BTAG_FREE);
	t->start = start;
	t->size = size;
	if (unlikely(highbit(size) + 1 < t->freelist))
		freelist_refile_locked(a, t);
}

/*
 * Free segment t grew to [start, start + size): never filed too low
 * (a's lock held).
 */
static inline void free_seg_grow_locked(struct arena *a, struct btag *t,
					uintptr_t start, size_t size)
{
	assert_held(&a->lock);
	debug_assert(t->type == BTAG_FREE);
	t->start = start;
	t->size = size;
	if (unlikely(highbit(size) > t->freelist))
		freelist_refile_locked(a, t);
}

/*
 * Instant fit of size (no constraints): the first segment of the lowest
 * non-empty list from the one where every segment is big enough. A
 * segment there that shrank below its list is refiled and the search goes
 * on; each such step fixes one stale entry, so the cost stays O(1)
 * amortised. NULL if no list is certain to fit. (a's lock held.)
 */
static inline struct btag *instant_fit_from_locked(struct arena *a, size_t size,
						   unsigned i)
{
	assert_held(&a->lock);
	for (;;) {
		uint64_t mask = a->free_bitmap >> i << i;
		struct btag *t;

		if (!mask)
			return NULL;
		t = freelist_first(a, (unsigned)lowbit(mask));
		if (likely(t->size >= size))
			return t;
		freelist_refile_locked(a, t);
	}
}

/* Instant fit of size, from its own class up (a's lock held). */
static inline struct btag *instant_fit_locked(struct arena *a, size_t size)
{
	unsigned i = highbit(size) + !is_pow2(size);

	assert_held(&a->lock);
	if (unlikely(i >= ARENA_NR_FREELISTS))
		return NULL;
	return instant_fit_from_locked(a, size, i);
}

/* ---- the allocation hash */

static inline struct btag **hash_bucket(const struct arena *a, uintptr_t addr)
{
	return &a->hash[hash_index64(addr, a->hash_shift)];
}

/*
 * Put t in its bucket; returns whether the bucket held another already
 * (a's lock held, as for all the hash).
 */
static inline bool hash_bucket_insert_locked(struct arena *a, struct btag *t)
{
	struct btag **b = hash_bucket(a, t->start);

	assert_held(&a->lock);
	t->hash_next = *b;
	*b = t;
	return t->hash_next != NULL;
}

/*
 * Record allocated segment t: it takes the hash_last slot, and the one
 * that was there goes into its bucket. Returns whether that bucket held
 * another already (a sign the table may be too small). a's lock held.
 */
static inline bool hash_insert_locked(struct arena *a, struct btag *t)
{
	struct btag *last = a->hash_last;

	assert_held(&a->lock);
	t->type = BTAG_ALLOC;
	a->hash_last = t;
	return last && hash_bucket_insert_locked(a, last);
}

/* Take the allocated segment starting at addr out of the hash (a's lock). */
static inline struct btag *hash_remove_locked(struct arena *a, uintptr_t addr)
{
	struct btag **pp, *t = a->hash_last;

	assert_held(&a->lock);
	/* the usual case: freed right after it was allocated */
	if (likely(t && t->start == addr)) {
		debug_assert(t->type == BTAG_ALLOC);
		a->hash_last = NULL;
		return t;
	}
	for (pp = hash_bucket(a, addr); (t = *pp) != NULL; pp = &t->hash_next) {
		if (t->start == addr) {
			debug_assert(t->type == BTAG_ALLOC);
			*pp = t->hash_next;
			return t;
		}
	}
	return NULL;
}

/*
 * The bucket count the hash should have now, or 0 if it is right (a's
 * lock held).
 */
static inline size_t hash_target_locked(const struct arena *a)
{
	size_t n = arena_nr_alloc_segs(a), buckets = a->hash_buckets;

	assert_held(&a->lock);
	if (a->hash_resizing)
		return 0;
	if (n > a->hash_grow_at)
		return buckets * 4;
	if (n < a->hash_shrink_at)
		return MAX(buckets / 4, (size_t)ARENA_HASH_INITIAL);
	return 0;
}
