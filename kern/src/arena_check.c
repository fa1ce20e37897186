/*
 * arena_check.c: the invariants, §8 of the theory statement in
 * arena.c: arena_check walks an arena and verifies every one of them,
 * and kmem_debug=check runs it after each operation (after_check in
 * arena_impl.h), panicking at the first violation.
 */
#include "arena_impl.h"
#include "panic.h"
#include "printk.h"

struct check {
	struct arena *a;
	const struct btag *tag;
	const char *what;
};

/* Record the first violation, at tag t (or NULL), and fail. */
static bool arena_violation(struct check *c, const struct btag *t,
			    const char *what)
{
	c->tag = t;
	c->what = what;
	return false;
}

/* The free lists and the bitmap; counts free tags into *n. */
static bool arena_check_freelists(struct check *c, size_t *n)
{
	struct arena *a = c->a;
	size_t limit = a->nr_free_segs + 1;

	*n = 0;
	for (int i = 0; i < ARENA_NR_FREELISTS; i++) {
		struct list_head *head = &a->free_lists[i], *l;

		if (!!(a->free_bitmap & (1ull << i)) != (head->next != head))
			return arena_violation(
				c, NULL,
				"free_bitmap disagrees with the free lists");
		list_for_each (l, head) {
			struct btag *t = free_tag(l);

			if (++*n > limit)
				return arena_violation(
					c, t,
					"free lists longer than the free segment count (a cycle?)");
			if (t->type != BTAG_FREE)
				return arena_violation(
					c, t,
					"a tag on a free list is not free");
			/* its class, or one above (lazy reclassification) */
			if (t->freelist != i || (highbit(t->size) != i &&
						 highbit(t->size) + 1 != i))
				return arena_violation(
					c, t,
					"a free segment is on the wrong free list");
			if (l->next->prev != l)
				return arena_violation(
					c, t,
					"a free list's back link is wrong");
		}
	}
	return true;
}

/* The hash: only allocated segments, each in its bucket; counts them. */
static bool arena_check_hash(struct check *c, size_t *n)
{
	struct arena *a = c->a;

	*n = 0;
	if (a->hash_last) {
		if (a->hash_last->type != BTAG_ALLOC)
			return arena_violation(
				c, a->hash_last,
				"the hash's last-allocated slot holds a tag that is not allocated");
		*n = 1;
	}
	for (size_t i = 0; i < a->hash_buckets; i++) {
		for (struct btag *t = a->hash[i]; t; t = t->hash_next) {
			if (++*n > arena_nr_alloc_segs(a) + 1)
				return arena_violation(
					c, t,
					"hash chains longer than the allocation count (a cycle?)");
			if (t->type != BTAG_ALLOC)
				return arena_violation(
					c, t,
					"a tag in the hash is not allocated");
			if (hash_bucket(a, t->start) != &a->hash[i])
				return arena_violation(
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
static bool arena_check_span(struct check *c, const struct btag *span,
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
			return arena_violation(
				c, t,
				"segments do not tile their span (gap, overlap or unaligned size)");
		if (t->seg_next->seg_prev != t)
			return arena_violation(
				c, t, "the segment list's back link is wrong");
		if (t->type == BTAG_FREE && prev_free)
			return arena_violation(
				c, t,
				"two adjacent free segments (not coalesced)");
		if (t->type == BTAG_ALLOC &&
		    arena_hash_lookup_locked(a, t->start) != t)
			return arena_violation(
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
		return arena_violation(c, span,
				       "segments do not cover their span");
	*next = t;
	return true;
}

/*
 * No two spans overlap. Spans in address order (the usual case: ranges
 * added and imported upward) are disjoint when each starts at or past the
 * end of the one before, which one pass sees; otherwise every pair is
 * compared, O(spans x tags), fine for a checker.
 */
static bool arena_check_span_overlaps(struct check *c)
{
	struct arena *a = c->a;
	const struct btag *s, *u, *prev = NULL;

	for (s = a->seg_head.seg_next; s != &a->seg_head; s = s->seg_next) {
		if (s->type != BTAG_SPAN)
			continue;
		if (prev && s->start < prev->start + prev->size)
			break;
		prev = s;
	}
	if (s == &a->seg_head)
		return true; /* in address order, each past the last */
	for (s = a->seg_head.seg_next; s != &a->seg_head; s = s->seg_next) {
		if (s->type != BTAG_SPAN)
			continue;
		for (u = s->seg_next; u != &a->seg_head; u = u->seg_next) {
			if (u->type == BTAG_SPAN &&
			    u->start < s->start + s->size &&
			    s->start < u->start + u->size)
				return arena_violation(c, u,
						       "two spans overlap");
		}
	}
	return true;
}

/* Every invariant of theory statement 8, in turn (a's lock held). */
static bool arena_check_walk(struct check *c)
{
	struct arena *a = c->a;
	struct walk_totals w = { 0 };
	size_t nr_free_listed, nr_hashed, nr_spare = 0;
	const struct btag *t = a->seg_head.seg_next;

	if (!arena_check_freelists(c, &nr_free_listed) ||
	    !arena_check_hash(c, &nr_hashed))
		return false;
	while (t != &a->seg_head) {
		if (t->type != BTAG_SPAN)
			return arena_violation(c, t,
					       "a segment outside any span");
		w.rotor_seen |= t == a->rotor;
		if (!arena_check_span(c, t, &w, &t))
			return false;
	}
	if (w.nr_free != nr_free_listed || w.nr_free != a->nr_free_segs)
		return arena_violation(
			c, NULL,
			"free segment counts disagree (walk, lists, counter)");
	if (w.nr_alloc != nr_hashed || w.nr_alloc != arena_nr_alloc_segs(a))
		return arena_violation(
			c, NULL,
			"allocated segment counts disagree (walk, hash, counter)");
	if (w.total != a->total || w.in_use != a->in_use)
		return arena_violation(
			c, NULL, "byte totals disagree with the segments");
	if (w.nr_spans != a->nr_spans || w.imported != a->imported_bytes)
		return arena_violation(c, NULL,
				       "span count or imported bytes disagree");
	if (a->rotor && a->rotor != &a->seg_head && !w.rotor_seen)
		return arena_violation(
			c, a->rotor,
			"the next-fit rotor is not on the segment list");
	for (struct btag *s = a->spare_tags; s; s = s->spare_next) {
		if (s->type != BTAG_SPARE)
			return arena_violation(
				c, s, "a tag in the spare pool is not spare");
	}
	for (struct btag *s = a->reserve_tags; s; s = s->spare_next) {
		if (++nr_spare > a->nr_reserve_tags || s->type != BTAG_SPARE)
			return arena_violation(
				c, s,
				"the tag reserve disagrees with its count");
	}
	if (nr_spare != a->nr_reserve_tags ||
	    (a->is_base && a->total && nr_spare != BASE_TAG_RESERVE))
		return arena_violation(
			c, NULL, "the tag reserve disagrees with its count");
	return arena_check_span_overlaps(c);
}

/*
 * A violation is said by printk or panic with these formats, never
 * formatted into a buffer first: no name or address can cut it.
 */
#define CHECK_FMT "arena '%s': %s"
#define CHECK_TAG_FMT CHECK_FMT ": %s tag %p [0x%lx, 0x%lx)"
#define CHECK_TAG_ARGS(a_, c_, t_)                                             \
	(a_)->name, (c_)->what,                                                \
		(t_)->type <= BTAG_SPARE ? arena_btag_type_names[(t_)->type] : \
					   "bad",                              \
		(c_)->tag, (t_)->start, (t_)->start + (t_)->size

/*
 * Check a: true if sound, else false with the first violation in *c and
 * a copy of its tag (if it names one) in *tag, taken under the lock.
 */
static bool arena_check_copy(struct arena *a, struct check *c, struct btag *tag)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	bool ok = arena_check_walk(c);

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

/* kmem_debug=check: panic, naming fn, if a is not sound after it. */
void arena_debug_check(const char *fn, struct arena *a)
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
