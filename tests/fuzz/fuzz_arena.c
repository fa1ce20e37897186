/*
 * fuzz_arena.c: libFuzzer target running arena operations against a model.
 *
 * The input builds one arena (a quantum that is a power of two from 1 to
 * 64K, or a multiple of 3, 5 or 7 of one; maybe quantum caches; maybe a
 * source arena of its own quantum to import from), then is read as a
 * sequence of operations: alloc, xalloc with constraints, free of a live
 * allocation, arena_add of a fresh span. The model is the list of live
 * allocations and of the spans given: every address returned must meet
 * its constraints, lie inside a span and overlap no live allocation, and
 * the arena's counters must agree with the model. arena_check() runs after
 * every operation. Two oracles by brute force: a best-fit allocation of an
 * arena without quantum caches takes a smallest free segment that holds
 * it, and a constrained xalloc of an importer fails only if its source,
 * asked for it pushed down, had no free segment that holds it. At the end everything is freed and the arenas are
 * destroyed, so each input starts from the same base and kpages arenas.
 *
 * The resources are plain integers far above the host's memory: a
 * non-base arena never touches what it hands out, only its own tags.
 */
#define FUZZ_TARGET "fuzz_arena"
#include "fuzz.h"
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "arena_impl.h"

#include "kmem_host.h"

#define MAX_LIVE 256
#define MAX_SPANS 64
#define MAX_OPS 2000
/* fresh spans are carved upward from here, never reused */
#define RESOURCE_BASE 0x100000000000ul

struct alloc {
	uintptr_t addr;
	size_t size;   /* as asked: what the free must name */
	size_t rsize;  /* rounded to the quantum: what the arena counts */
	bool xalloced; /* freed with arena_xfree */
};

struct span {
	uintptr_t start, end;
};

struct model {
	struct arena *a, *src;
	size_t q;
	bool exact_in_use; /* no quantum caches: in use is what we hold */
	size_t qcache_max; /* sizes up to this go to the quantum caches */
	struct alloc live[MAX_LIVE];
	size_t nr_live;
	/* spans the allocations may come from: a's, or the source's */
	struct span spans[MAX_SPANS];
	size_t nr_spans;
	size_t added_total;  /* a's own spans, quantum-aligned parts */
	uintptr_t next_free; /* where the next fresh span may start */
};

static size_t roundup(size_t x, size_t q)
{
	return (x + q - 1) / q * q;
}

static size_t rounddown(size_t x, size_t q)
{
	return x / q * q;
}

/* A quantum: 2^k (k 0..16), or 3, 5 or 7 times 2^k. */
static size_t get_quantum(struct cursor *c)
{
	static const size_t mult[8] = { 1, 1, 1, 1, 1, 3, 5, 7 };
	uint8_t b = get(c, 1);

	return mult[b >> 5] << (b & 31) % 17;
}

/*
 * A fresh span for arena a: past every earlier one, with unaligned edges
 * sometimes, and at least one whole quantum (less is a misuse).
 */
static void add_span(struct model *m, struct cursor *c, struct arena *a,
		     bool to_source)
{
	size_t q = arena_quantum(a);
	uintptr_t start = m->next_free + get(c, 1) * q + get(c, 1) % 4 * 0x11;
	size_t size = (get(c, 1) % 64 + 1) * q + get(c, 1) % 4 * 0x11;
	uintptr_t lo = roundup(start, q), hi = rounddown(start + size, q);

	if (m->nr_spans == MAX_SPANS)
		return;
	if (lo >= hi)
		size += q; /* one quantum past the rounding: always enough */
	if (arena_add(a, (void *)start, size, MEM_WAIT) != (void *)start)
		fail("arena_add of 0x%lx+0x%zx failed", start, size);
	m->next_free = start + size;
	lo = roundup(start, q);
	hi = rounddown(start + size, q);
	m->spans[m->nr_spans++] = (struct span){ start, start + size };
	if (!to_source)
		m->added_total += hi - lo;
}

static FUZZ_UNSTEERED void check_counters(struct model *m)
{
	size_t held = 0, total = arena_amt_total(m->a);
	size_t in_use = total - arena_amt_free(m->a);

	for (size_t i = 0; i < m->nr_live; i++)
		held += m->live[i].rsize;
	if (m->exact_in_use && in_use != held)
		fail("arena in use %zu, model %zu", in_use, held);
	if (in_use < held)
		fail("arena in use %zu below what the model holds %zu", in_use,
		     held);
	/* with a source, imports come on top of the spans added */
	if (m->src ? total < m->added_total : total != m->added_total)
		fail("arena total %zu, spans added %zu", total, m->added_total);
	if (arena_check(m->a) || (m->src && arena_check(m->src)))
		fail("arena_check failed");
}

struct constraints {
	size_t align, phase, nocross;
	uintptr_t min, max;
};

static FUZZ_UNSTEERED void record(struct model *m, uintptr_t addr, size_t size,
				  bool x, const struct constraints *k)
{
	size_t rsize = roundup(size, m->q);
	bool inside = false;

	if (addr % m->q)
		fail("0x%lx is not a multiple of the quantum %zu", addr, m->q);
	if (k->align > m->q && (addr - k->phase) % k->align)
		fail("0x%lx is not %zu modulo %zu", addr, k->phase, k->align);
	if (k->nocross && addr / k->nocross != (addr + rsize - 1) / k->nocross)
		fail("0x%lx+0x%zx crosses a multiple of 0x%zx", addr, rsize,
		     k->nocross);
	if (addr < k->min || (k->max && addr + rsize > k->max))
		fail("0x%lx+0x%zx outside [0x%lx, 0x%lx)", addr, rsize, k->min,
		     k->max);
	for (size_t i = 0; i < m->nr_spans && !inside; i++)
		inside = m->spans[i].start <= addr &&
			 addr + rsize <= m->spans[i].end;
	if (!inside)
		fail("0x%lx+0x%zx is in no span given", addr, rsize);
	for (size_t i = 0; i < m->nr_live; i++) {
		const struct alloc *l = &m->live[i];

		if (addr < l->addr + l->rsize && l->addr < addr + rsize)
			fail("0x%lx+0x%zx overlaps live 0x%lx+0x%zx", addr,
			     rsize, l->addr, l->rsize);
	}
	m->live[m->nr_live++] = (struct alloc){ addr, size, rsize, x };
}

static size_t get_size(struct model *m, struct cursor *c)
{
	uint8_t b = get(c, 1);

	/* mostly a few quanta, sometimes unaligned, sometimes big */
	if (b & 0x80)
		return (get(c, 2) % (64 * m->q)) + 1;
	return (b & 15) * m->q + (b & 0x10 ? b % m->q : 0) + !(b & 15);
}

static const int fits[4] = { 0, ARENA_INSTANTFIT, ARENA_BESTFIT,
			     ARENA_NEXTFIT };

/*
 * Best fit against brute force: the starts of a's free segments of the
 * smallest size that holds size (up to MAX_BEST of them), and that size
 * (0: none holds it).
 */
#define MAX_BEST 64

static size_t smallest_fits(struct arena *a, size_t size, uintptr_t *starts,
			    size_t *n)
{
	size_t best = 0;

	*n = 0;
	for (struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next) {
		if (t->type != BTAG_FREE || t->size < size ||
		    (best && t->size > best))
			continue;
		if (t->size != best)
			*n = 0;
		best = t->size;
		if (*n < MAX_BEST)
			starts[*n] = t->start;
		(*n)++;
	}
	return best;
}

static void op_alloc(struct model *m, struct cursor *c)
{
	struct constraints none = { 0 };
	size_t size = get_size(m, c), best = 0, n = 0;
	int flags = MEM_ATOMIC | fits[get(c, 1) & 3];
	uintptr_t starts[MAX_BEST];
	void *p;

	/* next fit of a size the quantum caches serve is a misuse (panics) */
	if ((flags & ARENA_NEXTFIT) && roundup(size, m->q) <= m->qcache_max)
		flags = MEM_ATOMIC;

	/* with no quantum caches, best fit must take a smallest segment */
	if ((flags & ARENA_BESTFIT) && m->exact_in_use)
		best = smallest_fits(m->a, roundup(size, m->q), starts, &n);
	p = arena_alloc(m->a, size, flags);
	if (best && n <= MAX_BEST) {
		size_t i = 0;

		while (i < n && starts[i] != (uintptr_t)p)
			i++;
		if (i == n)
			fail("best fit of %zu gave %p, not the start of a free segment of %zu, the smallest that holds it",
			     size, p, best);
	}
	if (p)
		record(m, (uintptr_t)p, size, false, &none);
}

/* An address in or near one of the spans, for minaddr/maxaddr. */
static uintptr_t get_bound(struct model *m, struct cursor *c)
{
	const struct span *s;
	uint8_t b = get(c, 1);

	if (!m->nr_spans || !(b & 1))
		return 0;
	s = &m->spans[(b >> 1) % m->nr_spans];
	/* quantum steps into it, or bytes (an unaligned bound) */
	return s->start +
	       get(c, 2) * (b & 0x80 ? 1 : m->q) % (s->end - s->start + 1);
}

/*
 * The oracle of constrained imports: whether [start, end) holds size at a
 * multiple of gran (a power of two) under k, by its own walk (first place
 * past lo that is aligned; past a nocross boundary, the first after it).
 */
static bool holds(uintptr_t start, uintptr_t end, size_t gran, size_t size,
		  const struct constraints *k)
{
	uintptr_t lo = MAX(start, k->min), hi = end, p;

	if (k->max && k->max < hi)
		hi = k->max;
	p = roundup(lo, gran);
	for (int tries = 0; tries < 3; tries++) {
		if (k->align)
			p += (k->phase - p) & (k->align - 1);
		if (p < lo || p >= hi || hi - p < size)
			return false;
		if (!k->nocross ||
		    p / k->nocross == (p + size - 1) / k->nocross)
			return true;
		p = roundup((p | (k->nocross - 1)) + 1, gran);
	}
	return false;
}

/*
 * An importer whose afunc is arena_alloc pushes its constraints down:
 * when the source's quantum can express them and is a multiple of ours,
 * a request the source has room for must not fail.
 */
static void check_pushed_down(struct model *m, size_t rsize,
			      const struct constraints *k)
{
	size_t sq = arena_quantum(m->src), s = roundup(rsize, sq);
	struct constraints down = *k;

	if (!(k->align || k->nocross || k->min || k->max) || (sq & (sq - 1)) ||
	    sq % m->q || (k->align && k->align % sq) || k->phase % sq ||
	    (k->nocross && k->nocross < s))
		return;
	for (struct btag *t = m->src->seg_head.seg_next; t != &m->src->seg_head;
	     t = t->seg_next)
		if (t->type == BTAG_FREE &&
		    holds(t->start, t->start + t->size, sq, s, &down))
			fail("xalloc of %zu (align %zu phase %zu nocross %zu window [%#lx, %#lx)) failed; the source's free [%#lx, %#lx) holds it",
			     rsize, k->align, k->phase, k->nocross,
			     (unsigned long)k->min, (unsigned long)k->max,
			     (unsigned long)t->start,
			     (unsigned long)(t->start + t->size));
}

static void op_xalloc(struct model *m, struct cursor *c)
{
	struct constraints k = { 0 };
	size_t size = get_size(m, c), rsize = roundup(size, m->q);
	uint8_t b = get(c, 1);
	bool pow2 = !(m->q & (m->q - 1));
	void *p;

	/* align: 0, the quantum, or a power-of-two multiple of it */
	if (b & 1)
		k.align = m->q;
	else if (b & 2 && pow2)
		k.align = m->q << (b >> 2 & 7);
	if (k.align > m->q)
		k.phase = get(c, 1) % (k.align / m->q) * m->q;
	/* nocross: a power of two at least the rounded size */
	if (b & 0x20) {
		k.nocross = 1;
		while (k.nocross < rsize)
			k.nocross <<= 1;
		k.nocross <<= get(c, 1) % 4;
	}
	k.min = get_bound(m, c);
	k.max = get_bound(m, c);
	p = arena_xalloc(m->a, size, k.align, k.phase, k.nocross, (void *)k.min,
			 (void *)k.max, MEM_ATOMIC | fits[b >> 6]);
	if (p)
		record(m, (uintptr_t)p, size, true, &k);
	else if (m->src)
		check_pushed_down(m, rsize, &k);
}

static void free_one(struct model *m, size_t i)
{
	struct alloc l = m->live[i];

	m->live[i] = m->live[--m->nr_live];
	if (l.xalloced)
		arena_xfree(m->a, (void *)l.addr, l.size);
	else
		arena_free(m->a, (void *)l.addr, l.size);
}

static void run(struct cursor *c)
{
	static struct model m;
	size_t q = get_quantum(c);
	uint8_t setup = get(c, 1);
	size_t qcache_quanta = setup & 2 ? get(c, 1) % 5 : 0;

	m = (struct model){ .q = q, .next_free = RESOURCE_BASE };
	m.exact_in_use = !qcache_quanta;
	m.qcache_max = qcache_quanta * q;
	if (setup & 1) {
		m.src = arena_create("fuzz_src", NULL, 0, get_quantum(c), NULL,
				     NULL, NULL, 0, MEM_WAIT);
		add_span(&m, c, m.src, true);
	}
	m.a = arena_create("fuzz", NULL, 0, q, m.src ? arena_alloc : NULL,
			   m.src ? arena_free : NULL, m.src, qcache_quanta * q,
			   MEM_WAIT);
	if (!m.src || setup & 4)
		add_span(&m, c, m.a, false);

	for (int n = 0; n < MAX_OPS && c->left; n++) {
		uint8_t op = get(c, 1);

		switch (op % 8) {
		case 0:
		case 1:
		case 2:
			if (m.nr_live < MAX_LIVE)
				op_alloc(&m, c);
			break;
		case 3:
		case 4:
			if (m.nr_live < MAX_LIVE)
				op_xalloc(&m, c);
			break;
		case 5:
		case 6:
			if (m.nr_live)
				free_one(&m, (op >> 3) % m.nr_live);
			break;
		default:
			/* with a source, a fresh span goes to either */
			if (m.src && op & 0x80)
				add_span(&m, c, m.src, true);
			else
				add_span(&m, c, m.a, false);
			break;
		}
		check_counters(&m);
	}
	while (m.nr_live)
		free_one(&m, m.nr_live - 1);
	check_counters(&m);
	arena_destroy(m.a);
	if (m.src)
		arena_destroy(m.src);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	kmem_host_init(64 << 20);
	return 0;
}

/*
 * Bytes of the base arena in use once every cache has given back what it
 * keeps for later (empty slabs, magazines): what is left is held for good.
 */
static FUZZ_UNSTEERED size_t base_held(void)
{
	arena_reclaim(base_arena);
	return arena_amt_total(base_arena) - arena_amt_free(base_arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	size_t before = base_held(), after;

	run(&c);
	if (arena_check(base_arena) || arena_check(kpages_arena))
		fail("arena_check of base or kpages failed");
	/*
	 * What the arenas took for their tags must go back. The slab layer
	 * creates some of its own caches on first need and keeps them, so
	 * growth once is allowed: the same input again must not grow it.
	 */
	after = base_held();
	if (after != before) {
		c = (struct cursor){ data, size };
		run(&c);
		if (base_held() != after)
			fail("base arena in use grows with each run: %zu, %zu, %zu",
			     before, after, base_held());
	}
	return 0;
}
