/*
 * arena_tags.c: where boundary tags come from, §5 of the theory
 * statement in arena.c; and the structures of §2 the tags make
 * up beyond the links arena_impl.h keeps: the spans, and the allocation
 * hash (its lookup and its resizing).
 */
#include "arena_impl.h"
#include "kstring.h"
#include "page.h"

/* ---- spare tags */

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
 * The slow part of tags_ensure_locked: while a has too few tags, an
 * ordinary arena drops its lock to get a page from base; base carves one
 * from its own free segments. Returns false when no page could be had.
 * a's lock held; returns with it.
 */
bool arena_tags_refill_locked(struct arena *a, size_t need, int flags,
			      unsigned long *irq)
{
	assert_held(&a->lock);
	while (!tags_ready(a, need)) {
		void *page;

		if (a->is_base) {
			if (!base_tag_page_locked(a))
				return false;
			continue;
		}
		spin_unlock_irqrestore(&a->lock, *irq);
		assert_not_held(&a->lock);
		assert_not_held(&arena_root_base(a)->lock);
		page = base_alloc(a, PGSIZE, flags & (MEM_WAIT | MEM_ATOMIC));
		*irq = spin_lock_irqsave(&a->lock);
		if (!page)
			return false;
		tag_page_add_locked(a, page);
	}
	return true;
}

/* ---- spans */

/*
 * Add the span [start, start + size) and one free segment over its
 * aligned part (which the caller checked is not empty). The base arena,
 * when short of tags, first turns the span's first page into tags (an
 * allocated segment). Returns the free segment, or NULL if the tag page
 * took the whole span. a's lock held.
 */
struct btag *arena_span_add_locked(struct arena *a, uintptr_t start,
				   size_t size, enum span_origin origin)
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
				       .imported = (uint8_t)origin };
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
				       .imported = (uint8_t)origin };
		seg_insert_before(&a->seg_head, span);
	}
	a->nr_spans++;
	if (origin != SPAN_ADDED)
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
enum span_origin arena_span_remove_locked(struct arena *a, struct btag *seg,
					  uintptr_t *start, size_t *size)
{
	struct btag *span = seg->seg_prev;
	enum span_origin origin = span->imported;

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
	return origin;
}

/*
 * Give a span back to a's source the way it came (a's lock not held): an
 * arena_xalloc segment of the source with arena_xfree, which never goes
 * through the source's quantum caches; anything else with a's ffunc.
 */
void arena_span_give_back(struct arena *a, uintptr_t start, size_t size,
			  enum span_origin origin)
{
	assert_not_held(&a->lock);
	if (origin == SPAN_IMPORTED_XALLOC)
		arena_xfree(a->source, (void *)start, size);
	else
		a->ffunc(a->source, (void *)start, size);
}

/* Whether [start, start + size) overlaps a span of a (a's lock held). */
bool arena_span_overlaps_locked(struct arena *a, uintptr_t start, size_t size)
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

/* ---- the allocation hash */

/* The allocated segment starting at addr, or NULL (a's lock held). */
struct btag *arena_hash_lookup_locked(const struct arena *a, uintptr_t addr)
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

/*
 * Use table of n buckets. It should grow past 2 segments per bucket and
 * shrink below 1 per 8; the fast paths compare against these thresholds.
 */
void arena_hash_set_size(struct arena *a, struct btag **table, size_t n)
{
	a->hash = table;
	a->hash_buckets = n;
	a->hash_shift = 64 - highbit(n);
	a->hash_grow_at = 2 * n;
	a->hash_shrink_at = n > ARENA_HASH_INITIAL ? n / 8 : 0;
	a->free_slow = frees_need_tail(a);
}

/* The base arena that bookkeeping for a comes from. */
struct arena *arena_root_base(struct arena *a)
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
void arena_hash_resize(struct arena *a)
{
	struct arena *base = arena_root_base(a);
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
		arena_hash_set_size(a, table, n);
		hash_move_chains(old, old_n, hash_next, start, hash_bucket, a);
		a->stats.hash_resizes++;
	}
	a->hash_resizing = false;
	spin_unlock_irqrestore(&a->lock, irq);
	assert_not_held(&a->lock);
	if (table && old != a->hash_initial)
		arena_free(base, old, old_n * sizeof(*old));
}
