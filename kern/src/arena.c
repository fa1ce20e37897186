/*
 * arena.c: resource arenas with boundary tags, after Bonwick and Adams,
 * "Magazines and Vmem: Extending the Slab Allocator to Many CPUs and
 * Arbitrary Resources" (USENIX 2001), section 4.
 *
 * ---- Theory statement
 *
 * 1. Concepts
 *
 * An arena hands out ranges of integers, [addr, addr + size), in multiples
 * of its quantum. Usually they are kernel virtual addresses of the direct
 * map, but an arena never touches its resource (only the base arena, which
 * is memory by definition, writes into its own pages), so it can manage
 * anything: fake ranges, IDs, I/O space.
 *
 * A span is a range the arena was given: by arena_add(), or imported from
 * its source arena through afunc when it ran out. A span is cut into
 * segments, each free or allocated. A span imported from the source is
 * given back through ffunc when all of it is free again.
 *
 * 2. Boundary tags
 *
 * Every span and every segment has a struct btag (arena.h), kept on one
 * circular list per arena, headed by arena->seg_head:
 *
 *   seg_head <-> [SPAN A] <-> [FREE] <-> [ALLOC] <-> [FREE] <-> [SPAN B] ...
 *                 ^ what was given       ^ segments of A, in address
 *                                          order, tiling A's aligned part
 *
 * Segments follow their span in address order and tile the span's
 * quantum-aligned part exactly, so a segment's neighbours on the list are
 * its neighbours in memory: coalescing on free is O(1), as in illumos.
 * Spans themselves are kept in the order they arrived (as illumos does):
 * keeping them sorted would cost a search on every import.
 *
 * Free segments are also on one of 64 free lists: list i holds sizes in
 * [2^i, 2^(i+1)) bytes, and bit i of free_bitmap says list i is not empty.
 * (A segment that shrinks may stay one list too high: see 3.)
 *
 *   list:  12        13        14        ...   39
 *   sizes: 4K..8K-1  8K..16K-1 16K..32K-1      512G..1T-1
 *
 * Allocated segments are in a hash table keyed by start address, so
 * arena_free(addr, size) finds the tag in O(1) and checks the size. The
 * table starts with ARENA_HASH_INITIAL buckets inside the arena and grows
 * (x4) past 2 segments per bucket (the fast path looks when an insert
 * collides, the slow path every time), shrinks (/4) below 1 per 8. The most
 * recent allocation waits in hash_last and enters its bucket when the next
 * one comes: a free right after its allocation, the commonest pattern, never
 * touches a bucket.
 *
 * 3. Allocation policies
 *
 * Instant fit (the default): a size that is not a power of two is rounded
 * up to the next one, and any segment on that list or above fits, so the
 * lowest set bit of free_bitmap at or above it gives a segment in O(1).
 * Only when there is none is the list just below searched.
 *
 * Lazy reclassification: a free segment that shrinks (an allocation cut
 * from it) may stay on the list one above its class; one that grows (a
 * merge) moves up at once. Without this, a segment whose size sits at a
 * power of two (all of a 1 TiB arena, say) would change lists on every
 * split and on every merge back. Instant fit checks the segment it takes
 * and, if it has shrunk below the request, refiles it and looks again;
 * searches start at the request's own class, where any segment big
 * enough is filed or above. Best fit
 * searches for the smallest fitting segment, list by list from the
 * request's own. Next fit walks the segment list from a rotor left after
 * the previous next-fit allocation, so addresses are not reused soon.
 *
 * arena_xalloc() adds constraints: alignment with a phase, a boundary not
 * to cross (nocross), and a window [minaddr, maxaddr). A segment fits if
 * some address in it meets them all; fit_in_segment() finds the lowest.
 *
 * 4. Quanta and the import_scale rule
 *
 * Sizes round up to the quantum, which need not be a power of two, and
 * segments start at multiples of it. A span from arena_add() or from the
 * source need not be aligned to it: the span tag records the range as
 * given, and its segments tile [roundup(start), rounddown(end)) only.
 * When the source's quantum does not divide ours (say 4096 under 3 x
 * 4096), an import of exactly the request may come back misaligned, with
 * too little room once rounded. The import_scale rule: import exactly
 * first (no waste when the source aligns, as the jumbo arenas' imports
 * do), and if the aligned part cannot hold the request, give that span
 * back at once and import again with quantum - gcd(quantum, source
 * quantum) more, the most misalignment can cost, which always holds an
 * aligned segment of the size wanted. A nocross request imports twice its
 * size, which holds a piece that crosses no boundary. An arena that
 * imports with plain arena_alloc (kpages) pushes an aligned request down
 * instead: arena_xalloc on the source, of exactly the size.
 *
 * 5. Tags come from somewhere
 *
 * Splitting a segment or adding a span needs new tags. Each arena keeps a
 * pool of spare tags, filled a page at a time: an ordinary arena gets the
 * page with base_alloc(); the base arena carves it from the end of its
 * largest free segment, so tag pages gather at the top instead of breaking
 * up RAM (and, when a span is added with too few spare tags, it takes the
 * span's first page). Spare tags are kept for reuse, not given back. Every
 * operation first makes sure the pool holds what its worst case needs
 * (TAGS_PER_STEP; an import, two more for the span), before changing
 * anything, so it can never fail or recurse half-way, and an imported span is
 * carved before the lock is dropped; the fast path of arena_alloc needs one
 * tag and only looks whether the stack of spares is empty. The base arena
 * keeps BASE_TAG_RESERVE tags apart: taking a page for tags from itself needs
 * a tag.
 *
 * 6. Invariants (arena_check verifies them all)
 *
 * - the list starts with a span; each span's segments tile its aligned
 *   part; segment starts and sizes are multiples of the quantum;
 * - no two spans overlap; no two adjacent free segments (coalesced);
 * - every free segment is on list highbit(size) or the one above, and
 *   only those are; free_bitmap bit i is set exactly when list i is
 *   non-empty;
 * - the hash (hash_last and the buckets) holds exactly the allocated
 *   segments, each in its bucket;
 * - total = bytes of all segments, in_use = bytes of allocated ones, and
 *   the segment and span counts agree with the lists;
 * - the spare tags are all spare; base's reserve holds BASE_TAG_RESERVE;
 * - the number of allocated segments is stats.allocs - stats.frees.
 *
 * 7. Locking
 *
 * Each arena has one spinlock, taken with interrupts saved; it guards
 * everything in the arena. Functions named *_locked expect it held. The
 * code never calls another arena (the source, or base for tags or hash
 * tables) with its own lock held: it drops it and, when it takes it again,
 * looks at the arena afresh. Lock order: an arena's lock is never held
 * while another's is taken, except arenas_lock (the list of all arenas),
 * which may be held while taking any arena's lock, and importers_lock
 * (every arena's importer lists), which a reclaim holds while it reaps
 * caches and so takes their locks and arenas'.
 *
 * The rules are checked, not only stated (spinlock.h): a held lock's word
 * names its owner CPU, every *_locked function begins with assert_held()
 * of the lock it needs (a's lock; reclaim_importers_locked: importers_lock
 * and not a's), and every place that drops the lock to call the source or
 * base first asserts with assert_not_held() that this CPU holds it no
 * more (and not the source's either, where it knows the source). Cheap
 * invariants of the segment and free list helpers (the type of a tag
 * going in or out, the links of the neighbours touched) are
 * debug_assert()s. All of them are on in the kernel and the test builds
 * and compile to nothing in libkmem.a.
 *
 * 8. FAQ
 *
 * Why does arena_free need the size? So that the arena can check it: a
 * wrong size is a bug in the caller, caught at once (and quantum caches,
 * with the slab work, pick their cache by size without a lookup).
 *
 * Why do the jumbo arenas import from base and not from kpages? kpages
 * would have to find a 2 MiB-aligned run inside its own spans, which it
 * imports page by page from base, so it would usually import anyway, and
 * then with 2 MiB of slack to align. Pushing the aligned request down to
 * base, which holds all of RAM in a few large segments, lets arena_xalloc
 * find the aligned run directly.
 *
 * Why does base need a tag reserve? Base has no arena below it: when it
 * needs tags it takes a page from its own free segments, and that
 * allocation may itself split a segment and need a tag. The reserve
 * guarantees those tags exist, so refilling never recurses and never
 * fails half-way.
 *
 * What can a free not catch? A free into the source of memory its
 * importer holds (arena_free(base, p) for p from kpages) looks like a
 * free of the importer's span; as in illumos, the source cannot tell. A
 * wrong-size free that matches a quantum cache's slab is caught: those
 * segments are marked (qslab).
 *
 * Why a hash for allocated segments but lists for free ones? Free needs to
 * find a segment by address, allocation needs one by size: each structure
 * answers one question in O(1).
 *
 * Which way do calls go between arenas and caches? Down: a cache takes
 * its slabs through the source pair it was created with, and reclaim
 * runs the callbacks registered on an arena (arena_add_reclaim; each
 * cache registers its reap with its source), so this file never names a
 * cache's reap or its slabs. The single exception is the paper's own
 * upward call: arena_alloc/arena_free serve small sizes from the arena's
 * quantum caches (kmem_cache_alloc/free), which arena_create and
 * arena_destroy make and unmake (kmem_cache_create_sourced, giving them
 * qcache_slab_alloc/free, and kmem_cache_destroy). make test checks it
 * (nm -u of arena.o names no other slab symbol).
 */
#include "arena.h"
#include "assert.h"
#include "bitops.h"
#include "hash.h"
#include "kmem_debug.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "panic.h"
#include "printk.h"
#include "slab.h"
#include "slab_sourced.h"

/*
 * Tags one step may take, at most: carving a fit out of the middle of a
 * free segment makes a lead and a trail (2, carve_locked); adding a span
 * makes its span tag and its free segment (2, span_add_locked). An import
 * is both, so it asks for TAGS_PER_STEP + 2.
 */
#define TAGS_PER_STEP 2
/* Base only: taking a page for tags from itself may split a segment. */
#define BASE_TAG_RESERVE 2
#define FIT_FLAGS (ARENA_INSTANTFIT | ARENA_BESTFIT | ARENA_NEXTFIT)

struct arena *base_arena, *kpages_arena;
struct arena *kpages_2m_arena, *kpages_1g_arena;

static struct spinlock arenas_lock = SPINLOCK_INIT;
static struct arena *all_arenas;
/* guards every arena's importer lists; held through a reclaim */
static struct spinlock importers_lock = SPINLOCK_INIT;

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

static const char *const btag_type_names[] = {
	[BTAG_SENTINEL] = "sentinel", [BTAG_SPAN] = "span",
	[BTAG_FREE] = "free",	      [BTAG_ALLOC] = "allocated",
	[BTAG_SPARE] = "spare",
};

static void arena_debug_check(const char *fn, struct arena *a);

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

static size_t gcd(size_t a, size_t b)
{
	while (b) {
		size_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* ---- the segment list */

static void seg_insert_after(struct btag *pos, struct btag *t)
{
	debug_assert(pos->seg_next->seg_prev == pos);
	t->seg_prev = pos;
	t->seg_next = pos->seg_next;
	pos->seg_next->seg_prev = t;
	pos->seg_next = t;
}

static void seg_insert_before(struct btag *pos, struct btag *t)
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
static bool spares_at_least(const struct arena *a, size_t n)
{
	const struct btag *t = a->spare_tags;

	for (; n && t; n--)
		t = t->spare_next;
	return n == 0;
}

/* Base only: whether its spares and reserve cover a step of need tags. */
static bool base_tags_ready(const struct arena *a, size_t need)
{
	return a->nr_reserve_tags == BASE_TAG_RESERVE &&
	       spares_at_least(a, need);
}

/* Base only: top the reserve up from the spares (a's lock held). */
static void reserve_fill_locked(struct arena *a)
{
	assert_held(&a->lock);
	while (a->nr_reserve_tags < BASE_TAG_RESERVE && a->spare_tags) {
		struct btag *t = tag_get_locked(a);

		t->type = BTAG_SPARE;
		t->spare_next = a->reserve_tags;
		a->reserve_tags = t;
		a->nr_reserve_tags++;
	}
}

/*
 * Base only: a tag for taking a page for tags: a spare, else reserve
 * (a's lock held).
 */
static struct btag *tag_get_for_refill_locked(struct arena *a)
{
	struct btag *t = a->spare_tags;

	assert_held(&a->lock);
	if (t)
		return tag_get_locked(a);
	t = a->reserve_tags;
	assert(t);
	a->reserve_tags = t->spare_next;
	a->nr_reserve_tags--;
	return t;
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
	if (unlikely(a->rotor == t))
		a->rotor = t->seg_next;
	t->seg_prev->seg_next = t->seg_next;
	t->seg_next->seg_prev = t->seg_prev;
	tag_put_locked(a, t);
}

/*
 * Carve a page into spare tags (a's lock held). The first word links the
 * arena's pages.
 */
static void tag_page_add_locked(struct arena *a, void *page)
{
	struct btag *tags = (struct btag *)((char *)page + sizeof(void *) * 2);
	size_t n = (PGSIZE - sizeof(void *) * 2) / sizeof(struct btag);

	assert_held(&a->lock);
	/* fields a tag keeps across uses (qslab) must start out clear */
	kmemset(tags, 0, n * sizeof(*tags));
	*(void **)page = a->tag_pages;
	a->tag_pages = page;
	a->nr_tag_pages++;
	for (size_t i = 0; i < n; i++)
		tag_put_locked(a, &tags[i]);
}

/* ---- free lists */

/*
 * Free list i is a circular list headed by a->free_lists[i], so linking
 * and unlinking take no branches; bit i of free_bitmap says it is not
 * empty.
 */
static inline struct btag *free_tag(struct btag_link *l)
{
	return container_of(l, struct btag, free);
}

/* The first segment on non-empty free list i. */
static inline struct btag *freelist_first(struct arena *a, unsigned long i)
{
	return free_tag(a->free_lists[i].next);
}

/* Put t on free list i (a's lock held, as for all the free lists). */
static inline void freelist_link_locked(struct arena *a, struct btag *t, int i)
{
	struct btag_link *head = &a->free_lists[i], *l = &t->free;

	assert_held(&a->lock);
	t->freelist = (uint8_t)i;
	l->next = head->next;
	l->prev = head;
	head->next->prev = l;
	head->next = l;
	a->free_bitmap |= 1ull << i;
}

/* Take t off its free list. */
static inline void freelist_unlink_locked(struct arena *a, struct btag *t)
{
	struct btag_link *l = &t->free;
	int i = t->freelist;

	assert_held(&a->lock);
	debug_assert(l->prev->next == l && l->next->prev == l);
	l->prev->next = l->next;
	l->next->prev = l->prev;
	if (a->free_lists[i].next == &a->free_lists[i])
		a->free_bitmap &= ~(1ull << i);
}

/* File t, a new tag or an allocated segment, as free. */
static inline void freelist_insert_locked(struct arena *a, struct btag *t)
{
	assert_held(&a->lock);
	debug_assert(t->type == BTAG_SPARE || t->type == BTAG_ALLOC);
	t->type = BTAG_FREE;
	freelist_link_locked(a, t, highbit(t->size));
	a->nr_free_segs++;
}

/* Take free segment t off its list. */
static inline void freelist_remove_locked(struct arena *a, struct btag *t)
{
	assert_held(&a->lock);
	debug_assert(t->type == BTAG_FREE);
	freelist_unlink_locked(a, t);
	a->nr_free_segs--;
}

/* File t on the list of its exact size class. */
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
 * another already (a sign the table may be too small).
 */
static inline bool hash_insert_locked(struct arena *a, struct btag *t)
{
	struct btag *last = a->hash_last;

	assert_held(&a->lock);
	t->type = BTAG_ALLOC;
	a->hash_last = t;
	return last && hash_bucket_insert_locked(a, last);
}

/* Take the allocated segment starting at addr out of the hash. */
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

static struct btag *hash_lookup_locked(const struct arena *a, uintptr_t addr)
{
	struct btag *t = a->hash_last;

	assert_held(&a->lock);
	if (t && t->start == addr)
		return t;
	for (t = *hash_bucket(a, addr); t; t = t->hash_next) {
		if (t->start == addr)
			return t;
	}
	return NULL;
}

/* The bucket count the hash should have now, or 0 if it is right. */
static size_t hash_target_locked(const struct arena *a)
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

/*
 * Use table of n buckets. It should grow past 2 segments per bucket and
 * shrink below 1 per 8; the fast paths compare against these thresholds.
 */
static void hash_set_size(struct arena *a, struct btag **table, size_t n)
{
	a->hash = table;
	a->hash_buckets = n;
	a->hash_shift = 64 - highbit(n);
	a->hash_grow_at = 2 * n;
	a->hash_shrink_at = n > ARENA_HASH_INITIAL ? n / 8 : 0;
	a->free_slow = frees_need_tail(a);
}

/* The base arena that bookkeeping for a comes from. */
static struct arena *root_base(struct arena *a)
{
	while (a && !a->is_base)
		a = a->source;
	return a ? a : base_arena;
}

/*
 * Grow or shrink a's hash to the size it should have. Called without the
 * lock, after an operation that left it too full or too empty; gives up
 * quietly if no memory is at hand (the chains are longer, nothing more).
 */
static void hash_resize(struct arena *a)
{
	struct arena *base = root_base(a);
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t n = hash_target_locked(a), old_n = a->hash_buckets;
	struct btag **table, **old = a->hash;

	if (n)
		a->hash_resizing = true;
	spin_unlock_irqrestore(&a->lock, irq);
	if (!n)
		return;
	/* base may be a itself: the lock is dropped either way */
	assert_not_held(&a->lock);
	if (n == ARENA_HASH_INITIAL)
		table = a->hash_initial;
	else
		table = base ? arena_alloc(base, n * sizeof(*table),
					   MEM_ATOMIC) :
			       NULL;
	irq = spin_lock_irqsave(&a->lock);
	if (table) {
		kmemset(table, 0, n * sizeof(*table));
		hash_set_size(a, table, n);
		for (size_t i = 0; i < old_n; i++) {
			struct btag *t, *next;

			for (t = old[i]; t; t = next) {
				struct btag **b = hash_bucket(a, t->start);

				next = t->hash_next;
				t->hash_next = *b;
				*b = t;
			}
		}
		a->stats.hash_resizes++;
	}
	a->hash_resizing = false;
	spin_unlock_irqrestore(&a->lock, irq);
	assert_not_held(&a->lock);
	if (table && old != a->hash_initial)
		arena_free(base, old, old_n * sizeof(*old));
}

/* ---- misuse */

static void arena_check_flags(const char *fn, const struct arena *a, int flags)
{
	int mem = flags & (MEM_WAIT | MEM_ATOMIC);
	int fit = flags & FIT_FLAGS;

	if ((mem != MEM_WAIT && mem != MEM_ATOMIC) || (fit && !is_pow2(fit)) ||
	    (flags & ~(MEM_WAIT | MEM_ATOMIC | FIT_FLAGS)))
		panic("%s: bad flags 0x%x (name exactly one of MEM_WAIT and MEM_ATOMIC, at most one fit policy): arena '%s'",
		      fn, flags, a->name);
}

/* The span of a holding addr, or NULL (a's lock held). Error paths only. */
static struct btag *span_containing_locked(struct arena *a, uintptr_t addr)
{
	assert_held(&a->lock);
	for (struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next) {
		if (t->type == BTAG_SPAN && addr >= t->start &&
		    addr - t->start < t->size)
			return t;
	}
	return NULL;
}

/* The segment of a holding addr, or NULL (a's lock held). Error paths. */
static struct btag *segment_containing_locked(struct arena *a, uintptr_t addr)
{
	assert_held(&a->lock);
	for (struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next) {
		if ((t->type == BTAG_FREE || t->type == BTAG_ALLOC) &&
		    addr >= t->start && addr - t->start < t->size)
			return t;
	}
	return NULL;
}

struct owner_search {
	uintptr_t addr;
	struct arena *owner;
};

static void find_owner(struct arena *a, void *arg)
{
	struct owner_search *s = arg;
	unsigned long irq = spin_lock_irqsave(&a->lock);

	if (!s->owner && span_containing_locked(a, s->addr))
		s->owner = a;
	spin_unlock_irqrestore(&a->lock, irq);
}

/* Whether src is a's source, or its source's, and so on. */
static bool is_source_of(const struct arena *src, const struct arena *a)
{
	for (a = a->source; a; a = a->source) {
		if (a == src)
			return true;
	}
	return false;
}

/*
 * arena_free/xfree was given something that is not an allocation of a
 * with that size: say exactly what it is, and panic. Called without the
 * lock held.
 */
static __noreturn void arena_bad_free(const char *fn, struct arena *a,
				      uintptr_t addr, size_t size)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *t = hash_lookup_locked(a, addr);
	struct btag *seg = t ? t : segment_containing_locked(a, addr);
	uintptr_t seg_start = seg ? seg->start : 0, seg_end = 0;
	int type = seg ? seg->type : BTAG_SENTINEL;
	struct owner_search owner = { addr, NULL };

	if (seg)
		seg_end = seg->start + seg->size;
	spin_unlock_irqrestore(&a->lock, irq);

	if (t && t->qslab)
		panic("%s: address is the slab of a quantum cache, not an allocation of this size: arena '%s' addr 0x%lx size %zu (slab of %zu)",
		      fn, a->name, addr, size, seg_end - seg_start);
	if (t)
		panic("%s: wrong size: arena '%s' addr 0x%lx size %zu expected %zu",
		      fn, a->name, addr, size, seg_end - seg_start);
	if (type == BTAG_ALLOC)
		panic("%s: address inside an allocated segment, not its start: arena '%s' addr 0x%lx size %zu (segment 0x%lx-0x%lx)",
		      fn, a->name, addr, size, seg_start, seg_end);
	if (type == BTAG_FREE)
		panic("%s: not allocated (a double free, or never allocated): arena '%s' addr 0x%lx size %zu (free segment 0x%lx-0x%lx)",
		      fn, a->name, addr, size, seg_start, seg_end);
	arena_for_each(find_owner, &owner);
	if (owner.owner && is_source_of(owner.owner, a))
		panic("%s: not allocated (a double free, or never allocated): arena '%s' addr 0x%lx size %zu (its span is back in the source, arena '%s')",
		      fn, a->name, addr, size, owner.owner->name);
	if (owner.owner && owner.owner != a)
		panic("%s: address of another arena: arena '%s' addr 0x%lx size %zu belongs to arena '%s'",
		      fn, a->name, addr, size, owner.owner->name);
	panic("%s: address outside the arena: arena '%s' addr 0x%lx size %zu",
	      fn, a->name, addr, size);
}

/* ---- spans */

/*
 * Add the span [start, start + size) and one free segment over its
 * aligned part (which the caller checked is not empty). The base arena,
 * when short of tags, first turns the span's first page into tags (an
 * allocated segment). Returns the free segment, or NULL if the tag page
 * took the whole span. a's lock held.
 */
static struct btag *span_add_locked(struct arena *a, uintptr_t start,
				    size_t size, bool imported)
{
	uintptr_t seg_start = quantum_roundup(a, start);
	uintptr_t seg_end = quantum_rounddown(a, start + size);
	struct btag *span, *seg;

	assert_held(&a->lock);
	if (a->is_base && !base_tags_ready(a, TAGS_PER_STEP)) {
		tag_page_add_locked(a, (void *)seg_start);
		reserve_fill_locked(a);
		span = tag_get_locked(a);
		*span = (struct btag){ .start = start,
				       .size = size,
				       .type = BTAG_SPAN,
				       .imported = imported };
		seg_insert_before(&a->seg_head, span);
		seg = tag_get_locked(a);
		seg->start = seg_start;
		seg->size = PGSIZE;
		seg_insert_after(span, seg);
		hash_insert_locked(a, seg);
		a->in_use += PGSIZE;
		a->stats.allocs++;
		a->total += PGSIZE;
		seg_start += PGSIZE;
	} else {
		span = tag_get_locked(a);
		*span = (struct btag){ .start = start,
				       .size = size,
				       .type = BTAG_SPAN,
				       .imported = imported };
		seg_insert_before(&a->seg_head, span);
	}
	a->nr_spans++;
	if (imported)
		a->imported_bytes += size;
	if (seg_start == seg_end)
		return NULL;
	seg = tag_get_locked(a);
	seg->start = seg_start;
	seg->size = seg_end - seg_start;
	seg_insert_before(&a->seg_head, seg);
	freelist_insert_locked(a, seg);
	a->total += seg->size;
	return seg;
}

/*
 * The free segment seg is all of its (imported) span: take both off the
 * lists (a's lock held). The caller gives the span back to the source
 * after unlocking.
 */
static void span_remove_locked(struct arena *a, struct btag *seg,
			       uintptr_t *start, size_t *size)
{
	struct btag *span = seg->seg_prev;

	assert_held(&a->lock);
	debug_assert(seg->type == BTAG_FREE);
	assert(span->type == BTAG_SPAN && span->imported);
	*start = span->start;
	*size = span->size;
	freelist_remove_locked(a, seg);
	a->total -= seg->size;
	a->imported_bytes -= span->size;
	a->nr_spans--;
	a->stats.span_returns++;
	seg_remove_locked(a, seg);
	seg_remove_locked(a, span);
}

/* Whether free segment t is the whole of an imported span. */
static inline bool seg_is_whole_import(const struct btag *t)
{
	return t->seg_prev->type == BTAG_SPAN && t->seg_prev->imported &&
	       (t->seg_next->type == BTAG_SPAN ||
		t->seg_next->type == BTAG_SENTINEL);
}

/* Whether [start, start + size) overlaps a span of a (a's lock held). */
static bool span_overlaps_locked(struct arena *a, uintptr_t start, size_t size)
{
	assert_held(&a->lock);
	for (struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next) {
		if (t->type == BTAG_SPAN && start < t->start + t->size &&
		    t->start < start + size)
			return true;
	}
	return false;
}

/* ---- tag supply */

/*
 * Base only: turn the last page of its largest free segment into tags.
 * Allocations take the front of segments, so tag pages gather at the top
 * of a segment instead of being strewn through RAM, where they would break
 * up the long runs the jumbo arenas need. Uses at most one spare tag (the
 * reserve guarantees it). Returns false if base has no free page. a's
 * lock held.
 */
static bool base_tag_page_locked(struct arena *a)
{
	struct btag *t, *page;

	assert_held(&a->lock);
	if (!a->free_bitmap)
		return false;
	t = freelist_first(a, highbit(a->free_bitmap));
	if (t->size == PGSIZE) {
		freelist_remove_locked(a, t);
		page = t;
	} else {
		page = tag_get_for_refill_locked(a);
		page->start = t->start + t->size - PGSIZE;
		page->size = PGSIZE;
		seg_insert_after(t, page);
		free_seg_shrink_locked(a, t, t->start, t->size - PGSIZE);
	}
	hash_insert_locked(a, page);
	a->in_use += PGSIZE;
	a->stats.allocs++;
	tag_page_add_locked(a, (void *)page->start);
	reserve_fill_locked(a);
	return true;
}

/*
 * Make sure a has need spare tags (base: plus its reserve), without
 * changing anything else. Called with a's lock held, and returns with it.
 * An ordinary arena drops its lock to get a page from base; base carves
 * one from its own free segments. Returns false when no page could be had.
 */
static bool tags_ensure_locked(struct arena *a, size_t need, int flags,
			       unsigned long *irq)
{
	assert_held(&a->lock);
	while (a->is_base ? !base_tags_ready(a, need) :
			    !spares_at_least(a, need)) {
		void *page;

		if (a->is_base) {
			if (!base_tag_page_locked(a))
				return false;
			continue;
		}
		spin_unlock_irqrestore(&a->lock, *irq);
		assert_not_held(&a->lock);
		assert_not_held(&root_base(a)->lock);
		page = base_alloc(a, PGSIZE, flags & (MEM_WAIT | MEM_ATOMIC));
		*irq = spin_lock_irqsave(&a->lock);
		if (!page)
			return false;
		tag_page_add_locked(a, page);
	}
	return true;
}

/* ---- finding a fit */

/*
 * The lowest address in free segment t that meets r, or 0 if there is
 * none (no arena holds address 0, so 0 cannot be an answer).
 */
static uintptr_t fit_in_segment(const struct arena *a, const struct btag *t,
				const struct request *r)
{
	uintptr_t lo = MAX(t->start, r->min), end = t->start + t->size;
	uintptr_t addr;
	size_t passes = 2;

	if (r->max && r->max < end)
		end = r->max;
	/*
	 * Past a nocross boundary the first quantum-aligned address is the
	 * same each time for a power-of-two quantum (two passes settle it);
	 * otherwise it repeats every quantum / gcd(quantum, nocross)
	 * boundaries. Look at that many, up to 64.
	 */
	if (r->nocross && a->quantum_shift < 0)
		passes = MIN(a->quantum / gcd(a->quantum, r->nocross) + 1,
			     (size_t)64);
	addr = quantum_roundup(a, lo);
	for (size_t pass = 0; pass < passes; pass++) {
		if (r->align)
			addr += (r->phase - addr) & (r->align - 1);
		if (addr < lo || addr >= end || end - addr < r->size)
			return 0;
		if (!r->nocross ||
		    !((addr ^ (addr + r->size - 1)) & ~(r->nocross - 1)))
			return addr;
		/* crosses: try from the next boundary */
		addr = quantum_roundup(a, (addr | (r->nocross - 1)) + 1);
		if (!addr)
			return 0;
	}
	return 0;
}

static bool request_is_plain(const struct request *r)
{
	return !r->align && !r->nocross && !r->min && !r->max;
}

/*
 * Next fit: the first fitting free segment from the rotor on, wrapping
 * (a's lock held).
 */
static struct btag *
find_next_fit_locked(struct arena *a, const struct request *r, uintptr_t *addr)
{
	struct btag *first = a->rotor, *t;

	assert_held(&a->lock);
	if (!first || first == &a->seg_head)
		first = a->seg_head.seg_next;
	if (first == &a->seg_head)
		return NULL;
	t = first;
	do {
		if (t->type == BTAG_FREE && (*addr = fit_in_segment(a, t, r)))
			return t;
		t = t->seg_next;
		if (t == &a->seg_head)
			t = t->seg_next;
	} while (t != first);
	return NULL;
}

/*
 * Find a free segment for r under policy, and the address in it. Instant
 * fit of a plain request is O(1); the rest searches list by list from the
 * request's size class up. Every segment big enough for r is filed there
 * or above (theory statement 3). Best fit takes the smallest fit of the
 * first list that has one and of the list after it (where segments of the
 * same class may be filed), which is the smallest of all. a's lock held.
 */
static struct btag *find_fit_locked(struct arena *a, const struct request *r,
				    int policy, uintptr_t *addr)
{
	int stop = ARENA_NR_FREELISTS;
	struct btag *best = NULL;
	uintptr_t best_addr = 0;

	assert_held(&a->lock);
	if (policy == ARENA_NEXTFIT)
		return find_next_fit_locked(a, r, addr);
	if (policy != ARENA_BESTFIT && request_is_plain(r)) {
		struct btag *t = instant_fit_locked(a, r->size);

		if (t) {
			*addr = t->start;
			return t;
		}
	}
	for (int i = highbit(r->size); i < stop; i++) {
		if (!(a->free_bitmap & (1ull << i)))
			continue;
		for (struct btag_link *l = a->free_lists[i].next;
		     l != &a->free_lists[i]; l = l->next) {
			struct btag *t = free_tag(l);
			uintptr_t at = fit_in_segment(a, t, r);

			if (!at || (best && best->size <= t->size))
				continue;
			best = t;
			best_addr = at;
			if (policy != ARENA_BESTFIT)
				goto found;
		}
		if (best && stop == ARENA_NR_FREELISTS)
			stop = MIN(i + 2, ARENA_NR_FREELISTS);
	}
	if (!best)
		return NULL;
found:
	*addr = best_addr;
	return best;
}

/* Allocate the front of free segment t: one new tag, or none (a's lock). */
static inline __attribute__((always_inline)) struct btag *
carve_front_locked(struct arena *a, struct btag *t, size_t size)
{
	uintptr_t start = t->start;
	size_t rest = t->size - size;
	struct btag *seg, *prev;

	assert_held(&a->lock);
	debug_assert(t->type == BTAG_FREE && t->size >= size);
	if (unlikely(!rest)) {
		freelist_remove_locked(a, t);
		seg = t;
	} else {
		/* seg goes between t and the tag before it */
		seg = tag_get_locked(a);
		prev = t->seg_prev;
		seg->start = start;
		seg->size = size;
		seg->seg_prev = prev;
		seg->seg_next = t;
		prev->seg_next = seg;
		t->seg_prev = seg;
		/* t stays free, and stays on its list unless its class drops */
		free_seg_shrink_locked(a, t, start + size, rest);
	}
	a->in_use += size;
	return seg;
}

/*
 * Allocate [addr, addr + size) from free segment t: up to two new tags
 * for the free pieces before and after. Returns the allocated segment.
 * a's lock held.
 */
static struct btag *carve_locked(struct arena *a, struct btag *t,
				 uintptr_t addr, size_t size)
{
	assert_held(&a->lock);
	debug_assert(t->type == BTAG_FREE && addr >= t->start &&
		     addr - t->start <= t->size - size);
	if (addr == t->start) {
		t = carve_front_locked(a, t, size);
		hash_insert_locked(a, t);
		return t;
	}
	freelist_remove_locked(a, t);
	if (addr > t->start) {
		struct btag *lead = tag_get_locked(a);

		lead->start = t->start;
		lead->size = addr - t->start;
		seg_insert_before(t, lead);
		freelist_insert_locked(a, lead);
		t->start = addr;
		t->size -= lead->size;
	}
	if (t->size > size) {
		struct btag *trail = tag_get_locked(a);

		trail->start = addr + size;
		trail->size = t->size - size;
		seg_insert_after(t, trail);
		freelist_insert_locked(a, trail);
		t->size = size;
	}
	hash_insert_locked(a, t);
	a->in_use += size;
	return t;
}

/* ---- importing */

/*
 * Whether an import for r can push r's alignment down to the source: the
 * arena imports with plain arena_alloc (so an arena_xalloc segment of the
 * source, freed with arena_free, is the same thing), the source's quantum
 * fits the alignment and phase, the nocross still holds the size rounded
 * to the source's quantum (else the source's xalloc would refuse it as a
 * misuse), and the size is beyond the source's quantum caches. Then the
 * import is exactly r's size, already aligned, instead of size + align of
 * slack (kmalloc_align of 1 GiB would need 2).
 */
static bool import_aligned(const struct arena *a, const struct request *r)
{
	const struct arena *src = a->source;

	return a->afunc == arena_alloc && (r->align || r->nocross) &&
	       src->quantum_shift >= 0 &&
	       (!r->align || r->align % src->quantum == 0) &&
	       r->phase % src->quantum == 0 &&
	       (!r->nocross || r->nocross >= quantum_roundup(src, r->size)) &&
	       quantum_roundup(src, r->size) > src->qcache_max;
}

/*
 * Bring a span in from the source for r (see the import_scale rule in the
 * theory statement): exactly r's size (plus alignment room, or twice it
 * under nocross) on the first attempt, and the most a quantum-aligned
 * segment can lose to misalignment more on the second. Called with a's
 * lock held; drops and retakes it. Returns the free segment over the
 * span, with *addr where r fits in it and the tags to carve it at hand;
 * or NULL if the source had nothing, or its span cannot hold r (then it
 * went straight back).
 */
static struct btag *import_locked(struct arena *a, const struct request *r,
				  int attempt, unsigned long *irq,
				  uintptr_t *addr)
{
	struct arena *src = a->source;
	size_t want = r->size + (r->align ? r->align - a->quantum : 0);
	size_t size;
	void *span;
	struct btag *seg;
	uintptr_t start, ret_start = 0;
	size_t ret_size = 0;

	bool aligned = import_aligned(a, r);

	/* twice the size holds a piece that crosses no nocross boundary */
	if (r->nocross && !aligned)
		want = MAX(want, 2 * r->size);
	if (aligned)
		want = r->size;
	else if (attempt > 0)
		want += a->quantum - gcd(a->quantum, src->quantum);
	assert_held(&a->lock);
	size = quantum_roundup(src, want);
	if (!size || size < want)
		return NULL;
	spin_unlock_irqrestore(&a->lock, *irq);
	assert_not_held(&a->lock);
	assert_not_held(&src->lock);
	if (aligned)
		span = arena_xalloc(src, size, r->align, r->phase, r->nocross,
				    NULL, NULL,
				    r->flags & (MEM_WAIT | MEM_ATOMIC));
	else
		span = a->afunc(src, size, r->flags & (MEM_WAIT | MEM_ATOMIC));
	*irq = spin_lock_irqsave(&a->lock);
	if (!span)
		return NULL;
	start = (uintptr_t)span;
	/*
	 * Tags for the span and its segment, and for the carve the caller
	 * makes next, all before the span goes in: from here to the carve
	 * the lock is not dropped, so no one can take the span first.
	 */
	if (!tags_ensure_locked(a, TAGS_PER_STEP + 2, r->flags, irq) ||
	    quantum_roundup(a, start) >= quantum_rounddown(a, start + size)) {
		spin_unlock_irqrestore(&a->lock, *irq);
		assert_not_held(&a->lock);
		a->ffunc(src, span, size);
		*irq = spin_lock_irqsave(&a->lock);
		return NULL;
	}
	seg = span_add_locked(a, start, size, true);
	a->stats.imports++;
	if (seg && (*addr = fit_in_segment(a, seg, r)) != 0)
		return seg;
	/* misaligned, or outside r's window: straight back */
	if (seg)
		span_remove_locked(a, seg, &ret_start, &ret_size);
	spin_unlock_irqrestore(&a->lock, *irq);
	assert_not_held(&a->lock);
	a->ffunc(src, (void *)ret_start, ret_size);
	*irq = spin_lock_irqsave(&a->lock);
	return NULL;
}

/* ---- allocation */

static __noreturn void out_of_space(const char *fn, struct arena *a,
				    const struct request *r, bool reclaimed)
{
	/* the arena table follows the message, inside the report */
	panic_details(
		arena_print_stats,
		"%s: out of space: arena '%s' size %zu align %zu phase %zu nocross %zu window 0x%lx-0x%lx%s",
		fn, a->name, r->size, r->align, r->phase, r->nocross, r->min,
		r->max,
		reclaimed ? " (after reclaiming from its importers)" : "");
}

/*
 * The allocation is about to fail: reclaim from a's importers (without
 * a's lock), once. Returns true if it did, so the caller tries again.
 */
static bool reclaim_once(struct arena *a, bool *reclaimed, unsigned long *irq)
{
	if (*reclaimed)
		return false;
	*reclaimed = true;
	spin_unlock_irqrestore(&a->lock, *irq);
	assert_not_held(&a->lock);
	arena_reclaim(a);
	*irq = spin_lock_irqsave(&a->lock);
	return true;
}

/*
 * The allocator behind arena_alloc and arena_xalloc: find a fit, else
 * import and look again; fail (MEM_ATOMIC) or panic (MEM_WAIT).
 */
static void *arena_alloc_request(const char *fn, struct arena *a,
				 struct request *r)
{
	bool reclaimed = false;
	int policy = r->flags & FIT_FLAGS;
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *t, *seg;
	uintptr_t addr;
	size_t resize;

	for (int attempt = 0;; attempt++) {
		if (!tags_ensure_locked(a, TAGS_PER_STEP, r->flags, &irq)) {
			if (reclaim_once(a, &reclaimed, &irq)) {
				attempt = -1;
				continue;
			}
			break;
		}
		t = find_fit_locked(a, r, policy, &addr);
		if (!t && a->source && attempt < 2)
			t = import_locked(a, r, attempt, &irq, &addr);
		if (likely(t != NULL)) {
			seg = carve_locked(a, t, addr, r->size);
			if (policy == ARENA_NEXTFIT)
				a->rotor = seg->seg_next;
			a->stats.allocs++;
			resize = hash_target_locked(a);
			spin_unlock_irqrestore(&a->lock, irq);
			if (unlikely(resize))
				hash_resize(a);
			return (void *)seg->start;
		}
		/* the exact import failed: once more, with the quantum slack */
		if (a->source && attempt == 0)
			continue;
		if (reclaim_once(a, &reclaimed, &irq)) {
			attempt = -1;
			continue;
		}
		break;
	}
	a->stats.fails++;
	spin_unlock_irqrestore(&a->lock, irq);
	if (r->flags & MEM_WAIT)
		out_of_space(fn, a, r, reclaimed);
	return NULL;
}

/*
 * The fast path of arena_alloc: instant fit of a plain request that the
 * free lists can meet with the tags at hand, in O(1). Returns NULL to send
 * the request down the general path. a's lock held.
 */
static inline __attribute__((always_inline)) struct btag *
alloc_fast_locked(struct arena *a, size_t size, bool *grow)
{
	/* the list certain to fit; size <= 2^62 keeps it below 64 */
	unsigned i = highbit((size - 1) | 1) + 1;
	struct btag *t;

	assert_held(&a->lock);
	/* one spare tag is all the fast path needs (base's reserve is apart) */
	if (unlikely(!a->spare_tags))
		return NULL;
	t = instant_fit_from_locked(a, size, i);
	if (unlikely(!t))
		return NULL;
	t = carve_front_locked(a, t, size);
	/* a collision is the moment to see if the hash is full */
	if (unlikely(hash_insert_locked(a, t)) &&
	    arena_nr_alloc_segs(a) >= a->hash_grow_at)
		*grow = true;
	return t;
}

/* Everything but the fast path: check the call, then search and import. */
static __attribute__((noinline)) void *arena_alloc_slow(struct arena *a,
							size_t size, int flags)
{
	struct request r = { .size = quantum_roundup(a, size), .flags = flags };

	arena_check_flags("arena_alloc", a, flags);
	if (unlikely(!size || !r.size))
		panic("arena_alloc: bad size: arena '%s' size %zu", a->name,
		      size);
	if (r.size <= a->qcache_max)
		return after_check(
			"arena_alloc", a,
			kmem_cache_alloc(a->qcache[r.size / a->quantum - 1],
					 flags & (MEM_WAIT | MEM_ATOMIC)));
	return after_check("arena_alloc", a,
			   arena_alloc_request("arena_alloc", a, &r));
}

/* The fast path's rare ending, out of its way: grow the hash. */
static __attribute__((noinline)) void *alloc_grow_hash(struct arena *a,
						       struct btag *seg)
{
	hash_resize(a);
	return (void *)seg->start;
}

void *arena_alloc(struct arena *a, size_t size, int flags)
{
	unsigned mem = (unsigned)flags & ~ARENA_INSTANTFIT;

	/*
	 * The fast path: MEM_WAIT or MEM_ATOMIC (mem - 1 is 0 or 1), instant
	 * fit, a size above the quantum caches' that rounds without wrapping,
	 * a power-of-two quantum.
	 */
	if (likely(size - 1 - a->qcache_max < a->fast_limit && mem - 1 < 2)) {
		size_t rounded = (size + a->quantum - 1) & ~(a->quantum - 1);
		unsigned long irq = spin_lock_irqsave(&a->lock);
		bool grow = false;
		struct btag *seg = alloc_fast_locked(a, rounded, &grow);

		if (likely(seg != NULL)) {
			a->stats.allocs++;
			spin_unlock_irqrestore(&a->lock, irq);
			if (unlikely(grow))
				return alloc_grow_hash(a, seg);
			return (void *)seg->start;
		}
		spin_unlock_irqrestore(&a->lock, irq);
	}
	return arena_alloc_slow(a, size, flags);
}

/* Check arena_xalloc's arguments against the rules of arena.h. */
static void check_xalloc(struct arena *a, const struct request *r, size_t size,
			 size_t align)
{
	const char *n = a->name;

	if (!size || !r->size)
		panic("arena_xalloc: bad size: arena '%s' size %zu", n, size);
	if (align && align != a->quantum &&
	    (!is_pow2(align) || align % a->quantum))
		panic("arena_xalloc: align %zu is not a power of two multiple of the quantum %zu: arena '%s' size %zu",
		      align, a->quantum, n, size);
	if (r->phase &&
	    (r->phase % a->quantum || !r->align || r->phase >= r->align))
		panic("arena_xalloc: phase %zu is not a multiple of the quantum %zu below align %zu: arena '%s' size %zu",
		      r->phase, a->quantum, align, n, size);
	if (r->nocross && (!is_pow2(r->nocross) || r->nocross < r->size))
		panic("arena_xalloc: nocross %zu is not a power of two at least the size %zu: arena '%s'",
		      r->nocross, r->size, n);
}

void *arena_xalloc(struct arena *a, size_t size, size_t align, size_t phase,
		   size_t nocross, void *minaddr, void *maxaddr, int flags)
{
	struct request r = {
		.size = quantum_roundup(a, size),
		.align = align > a->quantum ? align : 0,
		.phase = phase,
		.nocross = nocross,
		.min = (uintptr_t)minaddr,
		.max = (uintptr_t)maxaddr,
		.flags = flags,
	};

	arena_check_flags(__func__, a, flags);
	check_xalloc(a, &r, size, align);
	return after_check(__func__, a, arena_alloc_request(__func__, a, &r));
}

/* ---- freeing */

/*
 * Free allocated segment t (off the hash already): coalesce with free
 * neighbours, growing one of them in place where there is one (it stays
 * on its list unless its size class changes). Returns the free segment
 * that now holds t. a's lock held.
 */
static inline __attribute__((always_inline)) struct btag *
free_segment_locked(struct arena *a, struct btag *t)
{
	struct btag *next = t->seg_next, *prev = t->seg_prev;
	bool next_free = next->type == BTAG_FREE;

	assert_held(&a->lock);
	debug_assert(t->type == BTAG_ALLOC);
	a->in_use -= t->size;
	if (prev->type == BTAG_FREE) {
		size_t size = prev->size + t->size;

		if (next_free) {
			size += next->size;
			freelist_remove_locked(a, next);
			seg_remove_locked(a, next);
		}
		seg_remove_locked(a, t);
		free_seg_grow_locked(a, prev, prev->start, size);
		return prev;
	}
	if (next_free) {
		free_seg_grow_locked(a, next, t->start, t->size + next->size);
		seg_remove_locked(a, t);
		return next;
	}
	freelist_insert_locked(a, t);
	return t;
}

/*
 * The end of a free in an arena with a source or a big hash: if the free
 * made segment seg all of an imported span, take the span off and give
 * it back to the source; then shrink the hash if it is due. Unlocks.
 */
static __attribute__((noinline)) void
free_tail_slow(struct arena *a, struct btag *seg, unsigned long irq)
{
	uintptr_t start = 0;
	size_t size = 0;
	bool shrink;

	if (a->source && seg_is_whole_import(seg))
		span_remove_locked(a, seg, &start, &size);
	shrink = arena_nr_alloc_segs(a) < a->hash_shrink_at;
	spin_unlock_irqrestore(&a->lock, irq);
	assert_not_held(&a->lock);
	if (size)
		a->ffunc(a->source, (void *)start, size);
	if (shrink)
		hash_resize(a);
	after_check("arena_free", a, NULL);
}

static inline __attribute__((always_inline)) void
arena_free_common(const char *fn, struct arena *a, void *addr, size_t size,
		  bool qcached)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *t = hash_remove_locked(a, (uintptr_t)addr);

	/*
	 * size must round up to t->size: t->size - quantum < size <= t->size
	 * (also false for size 0, and for any size above t->size). In an
	 * arena with quantum caches, a segment holding a cache's slab is
	 * the slab layer's to give back.
	 */
	if (unlikely(!t || t->size - size >= a->quantum ||
		     (qcached && t->qslab))) {
		if (t)
			hash_insert_locked(a, t);
		spin_unlock_irqrestore(&a->lock, irq);
		arena_bad_free(fn, a, (uintptr_t)addr, size);
	}
	t = free_segment_locked(a, t);
	a->stats.frees++;
	if (unlikely(a->free_slow))
		return free_tail_slow(a, t, irq);
	spin_unlock_irqrestore(&a->lock, irq);
}

/*
 * Frees in an arena with quantum caches: sizes the caches serve go back
 * to them; the rest as usual, but not into a cache's slab.
 */
static __attribute__((noinline)) void
arena_free_qcached(struct arena *a, void *addr, size_t size, bool xfree)
{
	if (!xfree && size - 1 < a->qcache_max) {
		kmem_cache_free(
			a->qcache[quantum_roundup(a, size) / a->quantum - 1],
			addr);
		after_check("arena_free", a, NULL);
		return;
	}
	if (xfree)
		arena_free_common("arena_xfree", a, addr, size, true);
	else
		arena_free_common("arena_free", a, addr, size, true);
}

void arena_free(struct arena *a, void *addr, size_t size)
{
	if (unlikely(a->qcache_max))
		return arena_free_qcached(a, addr, size, false);
	arena_free_common(__func__, a, addr, size, false);
}

void arena_xfree(struct arena *a, void *addr, size_t size)
{
	if (unlikely(a->qcache_max))
		return arena_free_qcached(a, addr, size, true);
	arena_free_common(__func__, a, addr, size, false);
}

/* Mark (or unmark) the allocated segment at addr as a quantum cache slab. */
static void qslab_mark(struct arena *a, void *addr, bool on)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *t = hash_lookup_locked(a, (uintptr_t)addr);

	assert(t);
	t->qslab = on;
	spin_unlock_irqrestore(&a->lock, irq);
}

/*
 * The source pair of a's quantum caches: their slabs are segments of a
 * (arena_xalloc/xfree, never a's quantum caches), marked so that a free
 * of a wrong size that happens to match a slab is caught, not obeyed.
 */
static void *qcache_slab_alloc(struct arena *a, size_t size, int flags)
{
	void *p = arena_xalloc(a, size, 0, 0, 0, NULL, NULL, flags);

	if (p)
		qslab_mark(a, p, true);
	return p;
}

static void qcache_slab_free(struct arena *a, void *addr, size_t size)
{
	qslab_mark(a, addr, false);
	arena_free_common("arena_xfree", a, addr, size, false);
}

/* ---- creating and destroying */

static void arena_setup(struct arena *a, const char *name, size_t quantum)
{
	kstrlcpy(a->name, name, sizeof(a->name));
	a->lock = (struct spinlock)SPINLOCK_INIT;
	a->quantum = quantum;
	a->quantum_shift = is_pow2(quantum) ? highbit(quantum) : -1;
	/* kmem_debug=check: every allocation takes the checked path */
	a->fast_limit = is_pow2(quantum) && !(kmem_debug & KMEM_DEBUG_CHECK) ?
				1ul << 62 :
				0;
	list_init(&a->importer_arenas);
	list_init(&a->reclaimers);
	list_init(&a->importer_link);
	a->seg_head.type = BTAG_SENTINEL;
	a->seg_head.seg_next = a->seg_head.seg_prev = &a->seg_head;
	for (int i = 0; i < ARENA_NR_FREELISTS; i++)
		a->free_lists[i].next = a->free_lists[i].prev =
			&a->free_lists[i];
	hash_set_size(a, a->hash_initial, ARENA_HASH_INITIAL);
}

static void arena_list_add(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&arenas_lock);

	a->all_next = all_arenas;
	all_arenas = a;
	spin_unlock_irqrestore(&arenas_lock, irq);
}

static void arena_list_remove(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&arenas_lock);
	struct arena **pp = &all_arenas;

	while (*pp && *pp != a)
		pp = &(*pp)->all_next;
	if (*pp)
		*pp = a->all_next;
	spin_unlock_irqrestore(&arenas_lock, irq);
}

void arena_init_base(struct arena *a, const char *name)
{
	kmemset(a, 0, sizeof(*a));
	arena_setup(a, name, PGSIZE);
	a->is_base = true;
	arena_list_add(a);
}

/*
 * Put quantum caches in front of a for sizes up to qcache_max: caches of
 * 1, 2, ... quanta, named "<arena>_<bytes>", that never touch the
 * resource and take their slabs from a with arena_xalloc. Under
 * MEM_ATOMIC, returns false when a cache could not be had; the ones made
 * are in a->qcache for arena_destroy.
 */
static bool qcaches_create(struct arena *a, size_t qcache_max, int flags)
{
	size_t n = MIN(qcache_max / a->quantum, (size_t)ARENA_QCACHE_MAX);
	int cflags = KMC_NOTOUCH | KMC_QCACHE |
		     (flags & MEM_ATOMIC ? KMC_CREATE_ATOMIC : 0);
	char name[ARENA_NAME_MAX];

	for (size_t i = 0; i < n; i++) {
		ksnprintf(name, sizeof(name), "%s_%zu", a->name,
			  (i + 1) * a->quantum);
		a->qcache[i] = kmem_cache_create_sourced(
			name, (i + 1) * a->quantum, 0, cflags, a,
			qcache_slab_alloc, qcache_slab_free, NULL, NULL, NULL);
		if (!a->qcache[i])
			return false;
	}
	/* only now: the fast path sends sizes up to qcache_max to them */
	a->qcache_max = n * a->quantum;
	return true;
}

struct arena *arena_create(const char *name, void *base, size_t size,
			   size_t quantum, arena_afunc_t afunc,
			   arena_ffunc_t ffunc, struct arena *source,
			   size_t qcache_max, int flags)
{
	struct arena *a;

	if (!quantum)
		panic("arena_create: quantum 0: arena '%s'", name);
	if (!source != !afunc || !source != !ffunc)
		panic("arena_create: a source needs afunc and ffunc, and they need a source: arena '%s'",
		      name);
	if (flags & ~(MEM_WAIT | MEM_ATOMIC) ||
	    (flags != MEM_WAIT && flags != MEM_ATOMIC))
		panic("arena_create: bad flags 0x%x: arena '%s'", flags, name);
	a = base_zalloc(source, sizeof(*a), flags);
	if (!a)
		return NULL;
	arena_setup(a, name, quantum);
	a->allocated = true;
	a->source = source;
	a->afunc = afunc;
	a->ffunc = ffunc;
	a->free_slow = frees_need_tail(a);
	arena_list_add(a);
	if (source) {
		unsigned long irq = spin_lock_irqsave(&importers_lock);

		list_add_tail(&a->importer_link, &source->importer_arenas);
		spin_unlock_irqrestore(&importers_lock, irq);
	}
	if (!qcaches_create(a, qcache_max, flags) ||
	    (size && !arena_add(a, base, size, flags))) {
		arena_destroy(a);
		return NULL;
	}
	return a;
}

void *arena_add(struct arena *a, void *base, size_t size, int flags)
{
	uintptr_t start = (uintptr_t)base;
	unsigned long irq;

	arena_check_flags(__func__, a, flags);
	if (!start || !size || start + size < start || start + size == 0)
		panic("arena_add: span holds address 0, is empty, or wraps past the top: arena '%s' addr 0x%lx size %zu",
		      a->name, start, size);
	if (quantum_roundup(a, start) >= quantum_rounddown(a, start + size))
		panic("arena_add: span too small for one quantum %zu: arena '%s' addr 0x%lx size %zu",
		      a->quantum, a->name, start, size);
	irq = spin_lock_irqsave(&a->lock);
	if (!a->is_base && !tags_ensure_locked(a, TAGS_PER_STEP, flags, &irq)) {
		spin_unlock_irqrestore(&a->lock, irq);
		return NULL;
	}
	/* after the last time the lock was dropped: a racing add is seen */
	if (span_overlaps_locked(a, start, size)) {
		spin_unlock_irqrestore(&a->lock, irq);
		panic("arena_add: span overlaps one the arena has: arena '%s' addr 0x%lx size %zu",
		      a->name, start, size);
	}
	span_add_locked(a, start, size, false);
	spin_unlock_irqrestore(&a->lock, irq);
	return after_check(__func__, a, base);
}

/* What a base arena holds for itself: its tag pages and a grown hash. */
static size_t base_own_bytes(const struct arena *a)
{
	size_t bytes = a->nr_tag_pages * PGSIZE;

	if (a->hash != a->hash_initial)
		bytes += a->hash_buckets * sizeof(*a->hash);
	return bytes;
}

/* List up to a few live allocations of a, for arena_destroy's panic. */
static __noreturn void destroy_busy(struct arena *a)
{
	/* room for 4 of the longest " 0x%lx+%zu": the list is never cut */
	char list[4 * sizeof(" 0xffffffffffffffff+18446744073709551615")];
	size_t used = 0, shown = 0;

	list[0] = 0;
	for (struct btag *t = a->seg_head.seg_next;
	     t != &a->seg_head && shown < 4; t = t->seg_next) {
		if (t->type != BTAG_ALLOC)
			continue;
		used += (size_t)ksnprintf(list + used, sizeof(list) - used,
					  " 0x%lx+%zu", t->start, t->size);
		used = MIN(used, sizeof(list) - 1);
		shown++;
	}
	panic("arena_destroy: %zu allocations still live: arena '%s' in use %zu:%s%s",
	      arena_nr_alloc_segs(a), a->name, a->in_use, list,
	      arena_nr_alloc_segs(a) > shown ? " ..." : "");
}

void arena_destroy(struct arena *a)
{
	struct btag *t, *next;
	unsigned long irq;
	void *page;

	for (size_t i = 0; i < ARENA_QCACHE_MAX && a->qcache[i]; i++)
		kmem_cache_destroy(a->qcache[i]);
	a->qcache_max = 0;
	irq = spin_lock_irqsave(&a->lock);
	/*
	 * A base arena's own tag pages and hash table are allocations in its
	 * own spans; they are all that may be left.
	 */
	if (a->is_base ? a->in_use != base_own_bytes(a) :
			 arena_nr_alloc_segs(a) != 0)
		destroy_busy(a);
	spin_unlock_irqrestore(&a->lock, irq);
	arena_list_remove(a);
	irq = spin_lock_irqsave(&importers_lock);
	if (!list_empty(&a->importer_arenas) || !list_empty(&a->reclaimers)) {
		spin_unlock_irqrestore(&importers_lock, irq);
		panic("arena_destroy: arenas or caches still import from it: arena '%s'",
		      a->name);
	}
	list_del(&a->importer_link);
	spin_unlock_irqrestore(&importers_lock, irq);
	/*
	 * A base arena's spans, and the tags and hash inside them, belong to
	 * whoever added them: forgetting the arena is all there is to do.
	 */
	if (a->is_base)
		return;
	/* nobody else may use a now: give imported spans back */
	assert_not_held(&a->lock);
	for (t = a->seg_head.seg_next; t != &a->seg_head; t = next) {
		next = t->seg_next;
		if (t->type == BTAG_SPAN && t->imported)
			a->ffunc(a->source, (void *)t->start, t->size);
	}
	if (a->hash != a->hash_initial)
		base_free(a, a->hash, a->hash_buckets * sizeof(*a->hash));
	while ((page = a->tag_pages) != NULL) {
		a->tag_pages = *(void **)page;
		base_free(a, page, PGSIZE);
	}
	if (a->allocated)
		base_free(a->source, a, sizeof(*a));
}

/* ---- reclaim */

void arena_add_reclaim(struct arena *a, struct arena_reclaimer *r,
		       void (*fn)(void *arg), void *arg)
{
	unsigned long irq;

	r->fn = fn;
	r->arg = arg;
	irq = spin_lock_irqsave(&importers_lock);
	list_add_tail(&r->link, &a->reclaimers);
	spin_unlock_irqrestore(&importers_lock, irq);
}

void arena_remove_reclaim(struct arena *a, struct arena_reclaimer *r)
{
	unsigned long irq = spin_lock_irqsave(&importers_lock);

	assert(!list_empty(&a->reclaimers));
	list_del(&r->link);
	spin_unlock_irqrestore(&importers_lock, irq);
}

/*
 * Run a's importers' reclaim callbacks, deepest first, then a's own
 * (its caches' reaps). Called with importers_lock held, never a's lock:
 * the reaps take the caches' locks and give slabs back to their sources,
 * a among them.
 */
static void reclaim_importers_locked(struct arena *a, int depth)
{
	struct list_head *pos;

	assert_held(&importers_lock);
	assert_not_held(&a->lock);
	/* the importer chain is short (kpages -> base); bound it anyway */
	if (depth > 8)
		return;
	list_for_each (pos, &a->importer_arenas)
		reclaim_importers_locked(
			list_entry(pos, struct arena, importer_link),
			depth + 1);
	list_for_each (pos, &a->reclaimers) {
		struct arena_reclaimer *r =
			list_entry(pos, struct arena_reclaimer, link);

		r->fn(r->arg);
	}
}

void arena_reclaim(struct arena *a)
{
	unsigned long irq = arch_irq_save();

	/*
	 * One reclaim at a time. Reaping frees memory, and a free can shrink
	 * a hash with an allocation that fails and would reclaim again: that
	 * one, and any on another CPU meanwhile, goes without.
	 */
	if (!spin_trylock(&importers_lock)) {
		arch_irq_restore(irq);
		return;
	}
	reclaim_importers_locked(a, 0);
	spin_unlock_irqrestore(&importers_lock, irq);
}

/* ---- base_alloc */

void *base_alloc(struct arena *guess, size_t size, int flags)
{
	return arena_alloc(root_base(guess), size, flags);
}

void *base_zalloc(struct arena *guess, size_t size, int flags)
{
	void *p = base_alloc(guess, size, flags);

	if (p)
		kmemset(p, 0, size);
	return p;
}

void base_free(struct arena *guess, void *addr, size_t size)
{
	arena_free(root_base(guess), addr, size);
}

/* ---- queries */

size_t arena_amt_free(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t n = a->total - a->in_use;

	spin_unlock_irqrestore(&a->lock, irq);
	return n;
}

size_t arena_amt_total(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t n = a->total;

	spin_unlock_irqrestore(&a->lock, irq);
	return n;
}

void arena_for_each(void (*fn)(struct arena *, void *), void *arg)
{
	unsigned long irq = spin_lock_irqsave(&arenas_lock);

	for (struct arena *a = all_arenas; a; a = a->all_next)
		fn(a, arg);
	spin_unlock_irqrestore(&arenas_lock, irq);
}

/*
 * One row of the table: the counts are read under the arena's lock (not
 * the whole struct: its lock word changes under other CPUs' hands).
 */
static void print_one(struct arena *a, void *arg)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t in_use = a->in_use, total = a->total;
	struct arena_stats stats = a->stats;
	size_t segs = a->nr_free_segs + arena_nr_alloc_segs(a);

	(void)arg;
	spin_unlock_irqrestore(&a->lock, irq);
	printk("%-14s %10zu %14zu %14zu %9llu %9llu %6llu %7llu %8zu  %s\n",
	       a->name, a->quantum, in_use, total,
	       (unsigned long long)stats.allocs,
	       (unsigned long long)stats.frees, (unsigned long long)stats.fails,
	       (unsigned long long)stats.imports, segs,
	       a->source ? a->source->name : "-");
}

void arena_print_stats(void)
{
	printk("%-14s %10s %14s %14s %9s %9s %6s %7s %8s  %s\n", "arena",
	       "quantum", "in use", "total", "allocs", "frees", "fails",
	       "imports", "segments", "source");
	arena_for_each(print_one, NULL);
}

/* One tag of a's segment list, as the monitor's `arena NAME` shows it. */
static void print_tag(const struct btag *t)
{
	if (t->type == BTAG_SPAN) {
		printk("span  [0x%lx, 0x%lx) %zu bytes, %s\n", t->start,
		       t->start + t->size, t->size,
		       t->imported ? "imported" : "added");
		return;
	}
	printk("  %-9s [0x%lx, 0x%lx) %zu bytes%s\n", btag_type_names[t->type],
	       t->start, t->start + t->size, t->size,
	       t->qslab ? " (quantum cache slab)" : "");
}

void arena_print_segments(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);

	printk("arena '%s': quantum %zu, %zu spans, %zu bytes in use of %zu\n",
	       a->name, a->quantum, a->nr_spans, a->in_use, a->total);
	for (struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next)
		print_tag(t);
	spin_unlock_irqrestore(&a->lock, irq);
}

struct whatis {
	uintptr_t addr;
	int found;
};

/* Say which span and segment of a hold w->addr (numbers only: no reads). */
static void whatis_one(struct arena *a, void *arg)
{
	struct whatis *w = arg;
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *span = span_containing_locked(a, w->addr);
	struct btag *seg = span ? segment_containing_locked(a, w->addr) : NULL;
	struct btag sp = span ? *span : (struct btag){ 0 };
	struct btag sg = seg ? *seg : (struct btag){ 0 };

	spin_unlock_irqrestore(&a->lock, irq);
	if (!span)
		return;
	w->found++;
	printk("arena '%s': span [0x%lx, 0x%lx)", a->name, sp.start,
	       sp.start + sp.size);
	if (seg)
		printk(", %s segment [0x%lx, 0x%lx) +0x%lx%s\n",
		       btag_type_names[sg.type], sg.start, sg.start + sg.size,
		       w->addr - sg.start,
		       sg.qslab ? " (quantum cache slab)" : "");
	else
		printk(", outside its segments (span slack)\n");
}

int arena_whatis(uintptr_t addr)
{
	struct whatis w = { addr, 0 };

	arena_for_each(whatis_one, &w);
	return w.found;
}

/* ---- checking */

struct check {
	struct arena *a;
	const struct btag *tag;
	const char *what;
};

static bool violation(struct check *c, const struct btag *t, const char *what)
{
	c->tag = t;
	c->what = what;
	return false;
}

/* The free lists and the bitmap; counts free tags into *n. */
static bool check_freelists(struct check *c, size_t *n)
{
	struct arena *a = c->a;
	size_t limit = a->nr_free_segs + 1;

	*n = 0;
	for (int i = 0; i < ARENA_NR_FREELISTS; i++) {
		struct btag_link *head = &a->free_lists[i], *l;

		if (!!(a->free_bitmap & (1ull << i)) != (head->next != head))
			return violation(
				c, NULL,
				"free_bitmap disagrees with the free lists");
		for (l = head->next; l != head; l = l->next) {
			struct btag *t = free_tag(l);

			if (++*n > limit)
				return violation(
					c, t,
					"free lists longer than the free segment count (a cycle?)");
			if (t->type != BTAG_FREE)
				return violation(
					c, t,
					"a tag on a free list is not free");
			/* its class, or one above (lazy reclassification) */
			if (t->freelist != i || (highbit(t->size) != i &&
						 highbit(t->size) + 1 != i))
				return violation(
					c, t,
					"a free segment is on the wrong free list");
			if (l->next->prev != l)
				return violation(
					c, t,
					"a free list's back link is wrong");
		}
	}
	return true;
}

/* The hash: only allocated segments, each in its bucket; counts them. */
static bool check_hash(struct check *c, size_t *n)
{
	struct arena *a = c->a;

	*n = 0;
	if (a->hash_last) {
		if (a->hash_last->type != BTAG_ALLOC)
			return violation(
				c, a->hash_last,
				"the hash's last-allocated slot holds a tag that is not allocated");
		*n = 1;
	}
	for (size_t i = 0; i < a->hash_buckets; i++) {
		for (struct btag *t = a->hash[i]; t; t = t->hash_next) {
			if (++*n > arena_nr_alloc_segs(a) + 1)
				return violation(
					c, t,
					"hash chains longer than the allocation count (a cycle?)");
			if (t->type != BTAG_ALLOC)
				return violation(
					c, t,
					"a tag in the hash is not allocated");
			if (hash_bucket(a, t->start) != &a->hash[i])
				return violation(
					c, t,
					"an allocated segment is in the wrong hash bucket");
		}
	}
	return true;
}

struct walk_totals {
	size_t total, in_use, nr_free, nr_alloc, nr_spans, imported;
	bool rotor_seen;
};

/* One span and its segments; *next gets the tag after them. */
static bool check_span(struct check *c, const struct btag *span,
		       struct walk_totals *w, const struct btag **next)
{
	struct arena *a = c->a;
	uintptr_t pos = quantum_roundup(a, span->start);
	uintptr_t end = quantum_rounddown(a, span->start + span->size);
	const struct btag *t;
	bool prev_free = false;

	w->nr_spans++;
	if (span->imported)
		w->imported += span->size;
	for (t = span->seg_next; t->type == BTAG_FREE || t->type == BTAG_ALLOC;
	     t = t->seg_next) {
		w->rotor_seen |= t == a->rotor;
		if (t->start != pos || !t->size || t->size % a->quantum)
			return violation(
				c, t,
				"segments do not tile their span (gap, overlap or unaligned size)");
		if (t->seg_next->seg_prev != t)
			return violation(
				c, t, "the segment list's back link is wrong");
		if (t->type == BTAG_FREE && prev_free)
			return violation(
				c, t,
				"two adjacent free segments (not coalesced)");
		if (t->type == BTAG_ALLOC &&
		    hash_lookup_locked(a, t->start) != t)
			return violation(
				c, t,
				"an allocated segment is not in the hash");
		w->nr_free += t->type == BTAG_FREE;
		w->nr_alloc += t->type == BTAG_ALLOC;
		w->in_use += t->type == BTAG_ALLOC ? t->size : 0;
		prev_free = t->type == BTAG_FREE;
		w->total += t->size;
		pos += t->size;
	}
	if (pos != end)
		return violation(c, span, "segments do not cover their span");
	*next = t;
	return true;
}

/* No two spans overlap: every pair, O(spans^2), fine for a checker. */
static bool check_span_overlaps(struct check *c)
{
	struct arena *a = c->a;
	const struct btag *s, *u;

	for (s = a->seg_head.seg_next; s != &a->seg_head; s = s->seg_next) {
		if (s->type != BTAG_SPAN)
			continue;
		for (u = s->seg_next; u != &a->seg_head; u = u->seg_next) {
			if (u->type == BTAG_SPAN &&
			    u->start < s->start + s->size &&
			    s->start < u->start + u->size)
				return violation(c, u, "two spans overlap");
		}
	}
	return true;
}

static bool check_walk(struct check *c)
{
	struct arena *a = c->a;
	struct walk_totals w = { 0 };
	size_t nr_free_listed, nr_hashed, nr_spare = 0;
	const struct btag *t = a->seg_head.seg_next;

	if (!check_freelists(c, &nr_free_listed) || !check_hash(c, &nr_hashed))
		return false;
	while (t != &a->seg_head) {
		if (t->type != BTAG_SPAN)
			return violation(c, t, "a segment outside any span");
		w.rotor_seen |= t == a->rotor;
		if (!check_span(c, t, &w, &t))
			return false;
	}
	if (w.nr_free != nr_free_listed || w.nr_free != a->nr_free_segs)
		return violation(
			c, NULL,
			"free segment counts disagree (walk, lists, counter)");
	if (w.nr_alloc != nr_hashed || w.nr_alloc != arena_nr_alloc_segs(a))
		return violation(
			c, NULL,
			"allocated segment counts disagree (walk, hash, counter)");
	if (w.total != a->total || w.in_use != a->in_use)
		return violation(c, NULL,
				 "byte totals disagree with the segments");
	if (w.nr_spans != a->nr_spans || w.imported != a->imported_bytes)
		return violation(c, NULL,
				 "span count or imported bytes disagree");
	if (a->rotor && a->rotor != &a->seg_head && !w.rotor_seen)
		return violation(
			c, a->rotor,
			"the next-fit rotor is not on the segment list");
	for (struct btag *s = a->spare_tags; s; s = s->spare_next) {
		if (s->type != BTAG_SPARE)
			return violation(
				c, s, "a tag in the spare pool is not spare");
	}
	for (struct btag *s = a->reserve_tags; s; s = s->spare_next) {
		if (++nr_spare > a->nr_reserve_tags || s->type != BTAG_SPARE)
			return violation(
				c, s,
				"the tag reserve disagrees with its count");
	}
	if (nr_spare != a->nr_reserve_tags ||
	    (a->is_base && a->total && nr_spare != BASE_TAG_RESERVE))
		return violation(c, NULL,
				 "the tag reserve disagrees with its count");
	return check_span_overlaps(c);
}

/*
 * Check a: true if sound, else false with the first violation in *c and
 * a copy of its tag (if it names one) in *tag, taken under the lock. The
 * report is said by printk or panic with these formats, never formatted
 * into a buffer first: no name or address can cut it.
 */
#define CHECK_FMT "arena '%s': %s"
#define CHECK_TAG_FMT CHECK_FMT ": %s tag %p [0x%lx, 0x%lx)"
#define CHECK_TAG_ARGS(a_, c_, t_)                                       \
	(a_)->name, (c_)->what,                                          \
		(t_)->type <= BTAG_SPARE ? btag_type_names[(t_)->type] : \
					   "bad",                        \
		(c_)->tag, (t_)->start, (t_)->start + (t_)->size

static bool arena_check_copy(struct arena *a, struct check *c, struct btag *tag)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	bool ok = check_walk(c);

	*tag = c->tag ? *c->tag : (struct btag){ 0 };
	spin_unlock_irqrestore(&a->lock, irq);
	return ok;
}

int arena_check(struct arena *a)
{
	struct check c = { .a = a };
	struct btag t;

	if (arena_check_copy(a, &c, &t))
		return 0;
	if (c.tag)
		printk("arena_check: " CHECK_TAG_FMT "\n",
		       CHECK_TAG_ARGS(a, &c, &t));
	else
		printk("arena_check: " CHECK_FMT "\n", a->name, c.what);
	return -1;
}

static void arena_debug_check(const char *fn, struct arena *a)
{
	static const char why[] =
		"kmem_debug=check: the arena is inconsistent after this call";
	struct check c = { .a = a };
	struct btag t;

	if (arena_check_copy(a, &c, &t))
		return;
	if (c.tag)
		panic("%s: %s: " CHECK_TAG_FMT, fn, why,
		      CHECK_TAG_ARGS(a, &c, &t));
	panic("%s: %s: " CHECK_FMT, fn, why, a->name, c.what);
}
