/*
 * arena_import.c: bringing spans in from the source, §4 of the theory
 * statement in arena.c: how much to import for a request, or how to push
 * its constraints down to the source so that it imports exactly that.
 */
#include "arena_impl.h"

/*
 * Whether an import for r can push all of r's constraints down to the
 * source: the arena imports with plain arena_alloc (so arena_xalloc on the
 * source is the same allocator, asked more precisely; the span goes back
 * with arena_xfree), the source's quantum is a power of two that fits the
 * alignment and phase, and the nocross still holds the size rounded to
 * the source's quantum (else the source's xalloc would refuse it as a
 * misuse). Then the import is exactly r's size, already placed: aligned,
 * inside r's boundary, inside r's window, instead of a bigger import
 * that holds a fitting piece somewhere (kmalloc_align of 1 GiB would
 * need 2) or, for a window, one that may fall outside it.
 */
static bool import_pushed_down(const struct arena *a, const struct request *r)
{
	const struct arena *src = a->source;

	return a->afunc == arena_alloc &&
	       (r->align || r->nocross || r->min || r->max) &&
	       src->quantum_shift >= 0 &&
	       (!r->align || r->align % src->quantum == 0) &&
	       r->phase % src->quantum == 0 &&
	       (!r->nocross || r->nocross >= quantum_roundup(src, r->size));
}

/*
 * How much to import for r when its constraints cannot be pushed down: a
 * span that holds a piece meeting them wherever the source puts it (the
 * bound of theory statement 4, before the quantum slack of a second
 * attempt). With align A (a power of two; 0: none) and nocross N, both
 * multiples of the quantum q when set:
 *
 * - A alone: the places p = phase (mod A) are A apart, so the first at or
 *   after a span's start s is below s + A: size + A - q holds one.
 * - N alone: a piece may start anywhere from a boundary up to N - size
 *   past it, so from s the first such place is less than size away:
 *   2 x size holds one (size <= N).
 * - Both: if A >= N, every place p = phase (mod A) has the same offset in
 *   its N-block, and if one is good all are: A apart, as for A alone. If
 *   N > A, the first place of every N-block, at offset phase mod A, is
 *   good if any is (the request is satisfiable only then), so good places
 *   are at most N apart. Either way size + max(A, N) - q holds one.
 *
 * A window is not covered: an import outside it is given back, and the
 * request fails (theory statement 4).
 */
static size_t import_size(const struct arena *a, const struct request *r)
{
	if (r->align && r->nocross)
		return r->size + MAX(r->align, r->nocross) - a->quantum;
	if (r->align)
		return r->size + r->align - a->quantum;
	if (r->nocross)
		return 2 * r->size;
	return r->size;
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
struct btag *arena_import_locked(struct arena *a, const struct request *r,
				 int attempt, unsigned long *irq,
				 uintptr_t *addr, bool *dry)
{
	struct arena *src = a->source;
	bool down = import_pushed_down(a, r);
	enum span_origin origin = down ? SPAN_IMPORTED_XALLOC : SPAN_IMPORTED;
	size_t want = import_size(a, r);
	size_t size;
	void *span;
	struct btag *seg;
	uintptr_t start, ret_start = 0;
	size_t ret_size = 0;

	if (down)
		want = r->size;
	else if (attempt > 0)
		want += a->quantum - arena_gcd(a->quantum, src->quantum);
	assert_held(&a->lock);
	size = quantum_roundup(src, want);
	if (!size || size < want)
		return NULL;
	spin_unlock_irqrestore(&a->lock, *irq);
	assert_not_held(&a->lock);
	assert_not_held(&src->lock);
	if (down)
		span = arena_xalloc(src, size, r->align, r->phase, r->nocross,
				    (void *)r->min, (void *)r->max,
				    r->flags & (MEM_WAIT | MEM_ATOMIC));
	else
		span = a->afunc(src, size, r->flags & (MEM_WAIT | MEM_ATOMIC));
	*irq = spin_lock_irqsave(&a->lock);
	*dry = span == NULL;
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
		arena_span_give_back(a, start, size, origin);
		*irq = spin_lock_irqsave(&a->lock);
		return NULL;
	}
	seg = arena_span_add_locked(a, start, size, origin);
	a->stats.imports++;
	if (seg && (*addr = arena_fit_in_segment(a, seg, r)) != 0)
		return seg;
	/* misaligned, or outside r's window: straight back */
	if (seg)
		arena_span_remove_locked(a, seg, &ret_start, &ret_size);
	else /* all of it went to tags: the span stays, as any would */
		return NULL;
	spin_unlock_irqrestore(&a->lock, *irq);
	arena_span_give_back(a, ret_start, ret_size, origin);
	*irq = spin_lock_irqsave(&a->lock);
	return NULL;
}
