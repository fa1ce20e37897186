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
 * Every span and every segment has a struct btag (arena_impl.h), kept on one
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
 * enough is filed or above.
 *
 * Best fit returns the smallest fitting segment, exactly. It searches the
 * lists the bitmap says are not empty, from the request's class up, and
 * stops after the list following the first one that gave a fit: that one
 * may still hold a smaller segment of the same class (lazy filing), none
 * beyond can. A plain request (no constraint) needs no fit_in_segment: a
 * segment fits when it is big enough, so the scan is a compare of sizes,
 * and an exact fit ends it at once. We chose this over a size-ordered
 * structure (a tree, or finer lists as in TLSF) because it keeps one set
 * of free lists for all three policies, costs nothing on the paths that
 * free and merge, and the lists a search reads are the two a size can be
 * on: 519 instructions an operation on make bench-instr's random_best
 * (1000 live segments, one replaced at a time), against 3,184 with
 * fit_in_segment on every segment of the two lists. Constrained requests
 * still take fit_in_segment on each candidate.
 *
 * Next fit hands out addresses that advance through the arena and wrap
 * only at its end, so that an ID or a port just freed is not handed out
 * again at once. The rotor is a place, not a tag: rotor_addr, the end of
 * the last next-fit allocation, and rotor, a tag at or before it in its
 * span where the walk starts. The search takes nothing below rotor_addr
 * in that span, then goes on through the spans after it, then wraps to
 * the arena's start. Frees and merges move and remove tags but not
 * addresses: a merge that removes the rotor's tag leaves it on the tag
 * before (still at or before the place), and a span given back to its
 * source moves it to the next span's start. Unlike a marker tag in the
 * segment list (illumos's vmem rotor), nothing keeps the free segments
 * on either side of the place from merging. Next fit is for arenas whose
 * sizes do not go through quantum caches (ID arenas): asked of a size
 * the quantum caches serve, arena_alloc panics.
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
 * aligned segment of the size wanted.
 *
 * Constrained imports. An arena that imports with plain arena_alloc (kpages,
 * the jumbo arenas, most importers) pushes every constraint down instead,
 * alignment, phase, nocross and window: arena_xalloc on the source, of
 * exactly the size, and the span remembers it came that way and goes back
 * with arena_xfree (SPAN_IMPORTED_XALLOC). Every request the source can meet
 * is then met, level after level down to base. With any other afunc the
 * import is big enough to hold a fitting piece wherever it lands:
 * size + align - quantum for an alignment, twice the size for a nocross,
 * size + max(align, nocross) - quantum for both (import_size proves it). A
 * window cannot be met that way: an import that misses it goes straight
 * back, and the request fails.
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
 * 6. The life of an arena
 *
 * arena_create takes the arena's structure from base (base_zalloc), sets
 * it up empty (arena_setup: the segment list's sentinel, empty free
 * lists, the hash's first buckets inside the structure), puts it on the
 * list of all arenas (all_arenas, under arenas_lock: the tables, whatis
 * and gdb walk it) and on its source's list of importers, makes its
 * quantum caches, and adds its first span if it was given one. The base
 * arena is set up in place instead (arena_init_base, in storage its
 * caller owns) and then given every usable range with arena_add.
 * base_alloc serves every arena's bookkeeping (structures, tag pages,
 * hash tables) from the base arena at the root of its source chain.
 * arena_destroy undoes it all in the other order, and panics if anything
 * is still allocated from the arena or imports from it.
 *
 * 7. Quantum caches and reclaim
 *
 * An arena created with qcache_max > 0 puts object caches in front of
 * itself for the small sizes (1 .. qcache_max / quantum quanta), as the
 * paper does: arena_alloc and arena_free send those sizes to the cache of
 * their size, whose magazines serve them without the arena's lock. The
 * caches take their slabs from the arena with arena_xalloc, through the
 * source pair qcache_slab_alloc/free, and never touch the resource; the
 * segments holding their slabs are marked (qslab), so that a wrong-size
 * free landing on one is caught. Caches hold memory their arena may
 * need: an allocation about to fail reclaims once from everything that
 * imports from the arena (arena_reclaim: the importing arenas, deepest
 * first, and the callbacks registered on it with arena_add_reclaim; each
 * cache registers its reap with its source), then tries again.
 *
 * 8. Invariants (arena_check verifies them all)
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
 * 9. Locking
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
 * 10. Reports
 *
 * A misuse panics with a message naming the function, the arena, the
 * address and the sizes; arena_bad_free first finds out what the address
 * is (a wrong size, the inside of a segment, a free segment, another
 * arena's, outside every arena). A MEM_WAIT request that cannot be met
 * panics with the table of all arenas. The table (arena_print_stats),
 * one arena's segments (arena_print_segments) and arena_whatis serve the
 * monitor, the tests and the reader. All of this is cold code: it lives
 * apart from the hot paths, as the checker does.
 *
 * 11. FAQ
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
 * with nm: the arena_*.o objects name no other symbol of the slab_*.o
 * objects, and the slab objects name nothing of the arena layer that
 * arena.h does not declare.
 *
 * 12. The files
 *
 * Each part of this statement has a file, which opens by naming it:
 *
 *   arena.c         this statement; arena_alloc, arena_xalloc, arena_free,
 *                   arena_xfree, and the carving and importing behind them
 *                   (1, 4): the hot paths, in one compilation unit
 *   arena_tags.c    the tag supply, spans and the allocation hash (5, 2)
 *   arena_fit.c     the allocation policies (3)
 *   arena_life.c    creating, adding to and destroying arenas, base_alloc,
 *                   the list of all arenas (6)
 *   arena_qcache.c  the quantum caches and reclaim (7)
 *   arena_check.c   arena_check and kmem_debug=check (8)
 *   arena_report.c  misuse reports, the tables, whatis (10)
 *
 * kern/include/arena.h is what callers use; kern/include/arena_impl.h
 * holds the structures, what the files share, and the static inline
 * helpers the fast paths inline (segment and free list links, spare tags,
 * quantum rounding, instant fit, hash buckets).
 */
#include "arena_impl.h"
#include "panic.h"
#include "slab.h"

/* ---- carving */

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

/* ---- allocation */

/*
 * What a reclaim can give a's allocation: a's free bytes and its
 * source's (a's lock not held). Only compared, before and after.
 */
static size_t reclaim_gauge(struct arena *a)
{
	return arena_amt_free(a) + (a->source ? arena_amt_free(a->source) : 0);
}

/*
 * The allocation is about to fail: reclaim from a's importers (without
 * a's lock), once. Returns true if it did, so the caller tries again.
 * Never in interrupt context (there it is MEM_ATOMIC, and fails at once):
 * a reaping visitor sends every CPU an NMI and waits, which has no place
 * in an interrupt handler.
 */
static bool arena_reclaim_once(struct arena *a, bool *reclaimed,
			       unsigned long *irq)
{
	size_t before, after;

	if (*reclaimed || arch_in_interrupt())
		return false;
	*reclaimed = true;
	spin_unlock_irqrestore(&a->lock, *irq);
	assert_not_held(&a->lock);
	before = reclaim_gauge(a);
	arena_reclaim(a);
	after = reclaim_gauge(a);
	*irq = spin_lock_irqsave(&a->lock);
	/* nothing came back (here or to the source): no use asking again */
	return after > before;
}

/*
 * The allocator behind arena_alloc and arena_xalloc: find a fit, else
 * import and look again; fail (MEM_ATOMIC) or panic (MEM_WAIT).
 */
static void *arena_alloc_request(const char *fn, struct arena *a,
				 struct request *r)
{
	bool reclaimed = false, dry = false;
	int policy = r->flags & FIT_FLAGS;
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *t, *seg;
	uintptr_t addr;
	size_t resize;

	for (int attempt = 0;; attempt++) {
		if (!tags_ensure_locked(a, TAGS_PER_STEP, r->flags, &irq)) {
			if (arena_reclaim_once(a, &reclaimed, &irq)) {
				attempt = -1;
				continue;
			}
			break;
		}
		t = arena_find_fit_locked(a, r, policy, &addr);
		if (!t && a->source && attempt < 2)
			t = arena_import_locked(a, r, attempt, &irq, &addr,
						&dry);
		if (likely(t != NULL)) {
			seg = carve_locked(a, t, addr, r->size);
			if (policy == ARENA_NEXTFIT) {
				a->rotor = seg;
				a->rotor_addr = seg->start + seg->size;
			}
			a->stats.allocs++;
			resize = hash_target_locked(a);
			spin_unlock_irqrestore(&a->lock, irq);
			if (unlikely(resize))
				arena_hash_resize(a);
			return (void *)seg->start;
		}
		/*
		 * The exact import came back but could not hold r: once more,
		 * with the quantum slack. (A source that had nothing is not
		 * asked twice.)
		 */
		if (a->source && attempt == 0 && !dry)
			continue;
		if (arena_reclaim_once(a, &reclaimed, &irq)) {
			attempt = -1;
			continue;
		}
		break;
	}
	a->stats.fails++;
	spin_unlock_irqrestore(&a->lock, irq);
	if (r->flags & MEM_WAIT)
		arena_out_of_space(fn, a, r, reclaimed);
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
	if (unlikely(r.size <= a->qcache_max && (flags & ARENA_NEXTFIT)))
		panic("arena_alloc: next fit of a size the quantum caches serve: arena '%s' size %zu (quantum caches up to %zu; next fit is for arenas without them, such as ID arenas)",
		      a->name, size, a->qcache_max);
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
	arena_hash_resize(a);
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
	arena_check_xalloc(a, &r, size, align);
	return after_check(__func__, a, arena_alloc_request(__func__, a, &r));
}
/* ---- freeing */

/* Whether free segment t is the whole of an imported span. */
static inline bool seg_is_whole_import(const struct btag *t)
{
	return t->seg_prev->type == BTAG_SPAN && t->seg_prev->imported &&
	       (t->seg_next->type == BTAG_SPAN ||
		t->seg_next->type == BTAG_SENTINEL);
}

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
	enum span_origin origin = SPAN_ADDED;
	uintptr_t start = 0;
	size_t size = 0;
	bool shrink;

	if (a->source && seg_is_whole_import(seg))
		origin = arena_span_remove_locked(a, seg, &start, &size);
	shrink = arena_nr_alloc_segs(a) < a->hash_shrink_at;
	spin_unlock_irqrestore(&a->lock, irq);
	assert_not_held(&a->lock);
	if (size)
		arena_span_give_back(a, start, size, origin);
	if (shrink)
		arena_hash_resize(a);
	after_check("arena_free", a, NULL);
}

/*
 * The free behind arena_free and arena_xfree (fn names which): take the
 * segment at addr out of the hash, check its size, and free it.
 */
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
