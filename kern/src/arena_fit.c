/*
 * arena_fit.c: the allocation policies, §3 of the theory statement
 * in arena.c: instant, best and next fit over the free lists, under
 * arena_xalloc's constraints (fit_in_segment). The free lists' links,
 * and the instant fit that arena_alloc's fast path inlines, are in
 * arena_impl.h.
 */
#include "arena_impl.h"

/* The greatest common divisor of a and b. */
size_t arena_gcd(size_t a, size_t b)
{
	while (b) {
		size_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* ---- finding a fit */

/*
 * The lowest address in free segment t that meets r, or 0 if there is
 * none (no arena holds address 0, so 0 cannot be an answer).
 */
uintptr_t arena_fit_in_segment(const struct arena *a, const struct btag *t,
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
	 * otherwise it repeats every quantum / arena_gcd(quantum, nocross)
	 * boundaries. Look at that many, up to 64.
	 */
	if (r->nocross && a->quantum_shift < 0)
		passes = MIN(a->quantum / arena_gcd(a->quantum, r->nocross) + 1,
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

/* Whether r asks for nothing beyond its size. */
static bool request_is_plain(const struct request *r)
{
	return !r->align && !r->nocross && !r->min && !r->max;
}

/*
 * Next fit: the first fit at or after the rotor's place (rotor_addr, in
 * the rotor's span), then in the spans after it, then, wrapping, from the
 * arena's start (a's lock held). The walk starts at the rotor tag, which
 * is at or before that place; until it meets the next span, no address
 * below rotor_addr is taken.
 */
static struct btag *
find_next_fit_locked(struct arena *a, const struct request *r, uintptr_t *addr)
{
	struct request past = *r;
	struct btag *t = a->rotor;

	assert_held(&a->lock);
	if (t && t != &a->seg_head) {
		past.min = MAX(r->min, a->rotor_addr);
		for (; t != &a->seg_head; t = t->seg_next) {
			if (t != a->rotor && t->type == BTAG_SPAN)
				past.min = r->min; /* a later span: all of it */
			if (t->type == BTAG_FREE &&
			    (*addr = arena_fit_in_segment(a, t, &past)))
				return t;
		}
	}
	/* wrap: from the start, every address */
	for (t = a->seg_head.seg_next; t != &a->seg_head; t = t->seg_next)
		if (t->type == BTAG_FREE &&
		    (*addr = arena_fit_in_segment(a, t, r)))
			return t;
	return NULL;
}

/*
 * Best fit of a plain request (no constraint: a segment fits if it is big
 * enough, at its start): the smallest free segment of at least size. The
 * lists are visited through the bitmap, from size's class up; within one
 * the test is a compare of sizes, and an exact fit ends the search. Once
 * a list has given a fit, only the next one can still hold a smaller
 * (lazy refiling leaves a segment one list above its class), so the
 * search stops there. a's lock held.
 */
static struct btag *best_fit_plain_locked(struct arena *a, size_t size)
{
	uint64_t lists = a->free_bitmap & (~0ull << highbit(size));
	struct btag *best = NULL;
	size_t best_size = SIZE_MAX;
	int stop = ARENA_NR_FREELISTS;

	assert_held(&a->lock);
	while (lists) {
		int i = lowbit(lists);
		struct list_head *l;

		if (i >= stop)
			break;
		lists &= lists - 1;
		list_for_each (l, &a->free_lists[i]) {
			struct btag *t = free_tag(l);

			if (t->size < size || t->size >= best_size)
				continue;
			best = t;
			best_size = t->size;
			if (best_size == size)
				return best;
		}
		if (best && stop == ARENA_NR_FREELISTS)
			stop = i + 2;
	}
	return best;
}

/*
 * Find a free segment for r under policy, and the address in it. Instant
 * fit of a plain request is O(1); the rest searches list by list from the
 * request's size class up. Every segment big enough for r is filed there
 * or above (theory statement 3). Best fit takes the smallest fit of the
 * first list that has one and of the list after it (where segments of the
 * same class may be filed), which is the smallest of all. a's lock held.
 */
struct btag *arena_find_fit_locked(struct arena *a, const struct request *r,
				   int policy, uintptr_t *addr)
{
	int stop = ARENA_NR_FREELISTS;
	struct btag *best = NULL;
	struct list_head *l;
	uintptr_t best_addr = 0;

	assert_held(&a->lock);
	if (policy == ARENA_NEXTFIT)
		return find_next_fit_locked(a, r, addr);
	if (request_is_plain(r)) {
		struct btag *t = policy == ARENA_BESTFIT ?
					 best_fit_plain_locked(a, r->size) :
					 instant_fit_locked(a, r->size);

		if (t || policy == ARENA_BESTFIT) {
			*addr = t ? t->start : 0;
			return t;
		}
	}
	for (int i = highbit(r->size); i < stop; i++) {
		if (!(a->free_bitmap & (1ull << i)))
			continue;
		list_for_each (l, &a->free_lists[i]) {
			struct btag *t = free_tag(l);
			uintptr_t at = arena_fit_in_segment(a, t, r);

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
