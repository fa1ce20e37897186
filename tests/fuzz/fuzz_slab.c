/*
 * fuzz_slab.c: libFuzzer target for object caches and kmalloc, with a
 * shadow record of every live object.
 *
 * The input creates a few caches (its bytes choose object sizes and
 * alignments; two have a constructor, one of which fails now and then),
 * then is read as operations: kmem_cache_alloc/free, kmalloc, kzmalloc,
 * kmalloc_align, krealloc and kfree. Every object gets a pattern of its
 * own written into it, checked before it is freed (or resized), so a
 * buffer handed out twice, or scribbled on by the allocator, shows; every
 * new object is checked against the live ones for overlap. Objects of a
 * cache with a constructor must come out constructed and go back so.
 * At the end of each input kmem_cache_check runs on the input's caches
 * with their objects still live, then, all freed, on every cache.
 */
#define FUZZ_TARGET "fuzz_slab"
#include "fuzz.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "kmalloc.h"
#include "kmem_host.h"
#include "slab_impl.h"

#define NR_CACHES 4
#define MAX_LIVE 256
#define MAX_OPS 1000
/*
 * Bytes of a big object that carry the pattern, and that the constructor
 * check reads: its head and its tail (a neighbour that overlaps or is
 * written past shows there). 128: at 512, the byte loops were a third of
 * the target's time.
 */
#define PATTERN_EDGE 128
#define KMALLOC_MAX (1u << 20)

struct cache {
	struct kmem_cache *cp;
	size_t size, align;
	uint8_t ctor_byte; /* what the constructor fills an object with */
	bool ctor, failing;
	unsigned int ctor_calls;
};

enum kind { KIND_CACHE, KIND_KMALLOC };

struct object {
	uint8_t *p;
	size_t size; /* as asked */
	enum kind kind;
	int cache;
	uint8_t seed;
};

static struct cache caches[NR_CACHES];
static struct object live[MAX_LIVE];
static size_t nr_live;

/*
 * Byte i of an object of seed s holds s ^ stripe[i]: the stripe, made
 * once, changes with i (31 i + i / 256), the seed with the object. A
 * constructed object is the same with no stripe (flat: zeros) and the
 * constructor's byte for seed. So both are written and checked eight
 * bytes at a time, as words (a byte at a time, it took a tenth of the
 * target's time).
 */
#define STRIPE_LEN (KMALLOC_MAX + 16384) /* past any object's last byte */
static uint8_t stripe[STRIPE_LEN + 8];
static const uint8_t flat[STRIPE_LEN + 8];

static void stripe_init(void)
{
	for (size_t i = 0; i < sizeof(stripe); i++)
		stripe[i] = (uint8_t)(i * 31 + (i >> 8));
}

static inline uint8_t pattern(uint8_t seed, size_t i)
{
	return seed ^ stripe[i];
}

static inline uint64_t seed_word(uint8_t seed)
{
	return seed * 0x0101010101010101ull;
}

/* Write the pattern of seed over bytes [from, to) of p. */
static FUZZ_UNSTEERED void fill_range(uint8_t *p, size_t from, size_t to,
				      uint8_t seed)
{
	uint64_t s = seed_word(seed), w;
	size_t i = from;

	for (; i + 8 <= to; i += 8) {
		memcpy(&w, stripe + i, 8);
		w ^= s;
		memcpy(p + i, &w, 8);
	}
	for (; i < to; i++)
		p[i] = pattern(seed, i);
}

/* The first byte i of [from, to) of p that is not seed ^ base[i], or to. */
static FUZZ_UNSTEERED size_t check_range(const uint8_t *p, size_t from,
					 size_t to, uint8_t seed,
					 const uint8_t *base)
{
	uint64_t s = seed_word(seed), w, got;
	size_t i = from;

	for (; i + 8 <= to; i += 8) {
		memcpy(&w, base + i, 8);
		memcpy(&got, p + i, 8);
		if (got != (w ^ s))
			break; /* the byte loop finds which */
	}
	for (; i < to; i++)
		if (p[i] != (seed ^ base[i]))
			return i;
	return to;
}

/*
 * The bytes of an object of size bytes that carry the pattern (or the
 * constructor's byte), as two ranges [from, to): all of a small object,
 * the first range; the head and the tail of a big one.
 */
static inline void edges(size_t size, size_t r[2][2])
{
	bool small = size <= 2 * PATTERN_EDGE;

	r[0][0] = 0;
	r[0][1] = small ? size : PATTERN_EDGE;
	r[1][0] = small ? size : size - PATTERN_EDGE;
	r[1][1] = size;
}

static FUZZ_UNSTEERED void fill(uint8_t *p, size_t size, uint8_t seed)
{
	size_t r[2][2];

	edges(size, r);
	fill_range(p, r[0][0], r[0][1], seed);
	fill_range(p, r[1][0], r[1][1], seed);
}

/* Check the pattern of an object of size bytes, up to byte limit. */
static FUZZ_UNSTEERED void verify(const struct object *o, size_t limit)
{
	size_t end = limit < o->size ? limit : o->size, r[2][2];

	edges(o->size, r);
	for (int k = 0; k < 2; k++) {
		size_t to = r[k][1] < end ? r[k][1] : end, i;

		if (r[k][0] >= to)
			continue;
		i = check_range(o->p, r[k][0], to, o->seed, stripe);
		if (i < to)
			fail("object %p size %zu (%s %d): byte %zu is 0x%02x, "
			     "not 0x%02x",
			     (void *)o->p, o->size,
			     o->kind == KIND_CACHE ? "cache" : "kmalloc",
			     o->cache, i, o->p[i], pattern(o->seed, i));
	}
}

static FUZZ_UNSTEERED int ctor(void *obj, void *priv, int flags)
{
	struct cache *c = priv;

	(void)flags;
	/* the failing cache refuses every seventh object */
	if (c->failing && ++c->ctor_calls % 7 == 0)
		return -1;
	memset(obj, c->ctor_byte, c->size);
	return 0;
}

/* Whether obj is as the constructor left it (its head and tail). */
static FUZZ_UNSTEERED void
check_constructed(struct cache *c, const uint8_t *obj, const char *when)
{
	size_t r[2][2];

	edges(c->size, r);
	for (int k = 0; k < 2; k++) {
		size_t i =
			check_range(obj, r[k][0], r[k][1], c->ctor_byte, flat);

		if (i < r[k][1])
			fail("%s: object %p of cache %s byte %zu is 0x%02x, "
			     "not constructed (0x%02x)",
			     when, (void *)obj, c->cp->name, i, obj[i],
			     c->ctor_byte);
	}
}

static FUZZ_UNSTEERED void dtor(void *obj, void *priv)
{
	check_constructed(priv, obj, "dtor");
}

static FUZZ_UNSTEERED void add_live(uint8_t *p, size_t size, enum kind kind,
				    int cache, uint8_t seed)
{
	/* a zero-size kmalloc still takes a byte of room */
	size_t span = size ? size : 1;

	for (size_t i = 0; i < nr_live; i++) {
		const struct object *o = &live[i];
		size_t ospan = o->size ? o->size : 1;

		if (p < o->p + ospan && o->p < p + span)
			fail("new object %p+%zu overlaps live %p+%zu",
			     (void *)p, size, (void *)o->p, o->size);
	}
	live[nr_live++] = (struct object){ p, size, kind, cache, seed };
	fill(p, size, seed);
}

static void free_one(size_t i)
{
	struct object o = live[i];

	verify(&o, o.size);
	live[i] = live[--nr_live];
	if (o.kind == KIND_KMALLOC) {
		kfree(o.p);
		return;
	}
	/* objects go back constructed */
	if (caches[o.cache].ctor)
		memset(o.p, caches[o.cache].ctor_byte, o.size);
	kmem_cache_free(caches[o.cache].cp, o.p);
}

static void op_cache_alloc(struct cursor *c)
{
	int i = get(c, 1) % NR_CACHES;
	struct cache *cc = &caches[i];
	uint8_t *p = kmem_cache_alloc(cc->cp, MEM_ATOMIC);

	if (!p) {
		if (!cc->failing)
			fail("cache %s: MEM_ATOMIC alloc failed", cc->cp->name);
		return;
	}
	if ((uintptr_t)p % (cc->align ? cc->align : 1))
		fail("cache %s: %p not aligned to %zu", cc->cp->name, (void *)p,
		     cc->align);
	if (cc->ctor)
		check_constructed(cc, p, "alloc");
	add_live(p, cc->size, KIND_CACHE, i, (uint8_t)get(c, 1));
}

static size_t get_kmalloc_size(struct cursor *c)
{
	uint8_t b = get(c, 1);

	/* mostly the small caches' sizes and their edges; sometimes pages */
	switch (b >> 6) {
	case 0:
		return b & 63;
	case 1:
		/* a kmalloc class (32 .. 8192 less the tag), one less, one more */
		return ((size_t)16 << (b & 7)) + (b >> 3) % 3 - 1;
	case 2:
		return get(c, 2) % 8300;
	default:
		return get(c, 3) % KMALLOC_MAX;
	}
}

/*
 * kzmalloc's buffer p, asked for size bytes: all it holds is zero. A page
 * at a time against a page of zeros (memcmp: a byte loop here took a
 * sixth of the target's time), then the byte, if one differs.
 */
static FUZZ_UNSTEERED void check_zeroed(const uint8_t *p, size_t size)
{
	static const uint8_t zero[4096];
	size_t n = kmalloc_size((void *)p);

	for (size_t at = 0; at < n; at += sizeof(zero)) {
		size_t len = n - at < sizeof(zero) ? n - at : sizeof(zero);

		if (!memcmp(p + at, zero, len))
			continue;
		for (size_t i = at; i < at + len; i++)
			if (p[i])
				fail("kzmalloc(%zu): byte %zu of %p is 0x%02x",
				     size, i, (const void *)p, p[i]);
	}
}

static FUZZ_UNSTEERED void check_kmalloc(uint8_t *p, size_t size, size_t align)
{
	if ((uintptr_t)p % align)
		fail("kmalloc: %p of %zu not aligned to %zu", (void *)p, size,
		     align);
	if (kmalloc_size(p) < size)
		fail("kmalloc_size(%p) %zu below the %zu asked", (void *)p,
		     kmalloc_size(p), size);
}

static void op_kmalloc(struct cursor *c)
{
	uint8_t b = get(c, 1);
	size_t size = get_kmalloc_size(c), align = 16;
	uint8_t *p;

	if (b & 1) {
		align = (size_t)1 << (get(c, 1) % 17);
		p = kmalloc_align(size, MEM_ATOMIC, align);
	} else if (b & 2) {
		p = kzmalloc(size, MEM_ATOMIC);
		if (p)
			check_zeroed(p, size);
	} else {
		p = kmalloc(size, MEM_ATOMIC);
	}
	if (!p)
		fail("kmalloc of %zu (align %zu) failed with memory to spare",
		     size, align);
	check_kmalloc(p, size, align < 16 ? 16 : align);
	add_live(p, size, KIND_KMALLOC, -1, b);
}

static void op_krealloc(struct cursor *c, size_t i)
{
	struct object o = live[i];
	size_t size = get_kmalloc_size(c);
	uint8_t *p;

	verify(&o, o.size);
	live[i] = live[--nr_live];
	p = krealloc(o.p, size, MEM_ATOMIC);
	if (!size) {
		if (p)
			fail("krealloc(%p, 0) returned %p", (void *)o.p,
			     (void *)p);
		return;
	}
	if (!p)
		fail("krealloc of %zu failed with memory to spare", size);
	check_kmalloc(p, size, 16);
	/* the bytes both sizes hold must have moved with it */
	o.p = p;
	verify(&o, size);
	add_live(p, size, KIND_KMALLOC, -1, o.seed + 1);
}

static void create_caches(struct cursor *c)
{
	static const size_t aligns[8] = { 0, 0, 8, 16, 32, 64, 256, 4096 };

	for (int i = 0; i < NR_CACHES; i++) {
		struct cache *cc = &caches[i];
		uint8_t b = get(c, 1);
		char name[KMEM_NAME_MAX];

		*cc = (struct cache){ 0 };
		cc->size = b & 0x80 ? get(c, 2) % 9000 + 1 :
				      (uint64_t)(b & 0x7f) + 1;
		cc->align = aligns[get(c, 1) & 7];
		/* caches 2 and 3 construct their objects, 3 fails sometimes */
		cc->ctor = i >= 2;
		cc->failing = i == 3;
		cc->ctor_byte = 0xc0 + i;
		snprintf(name, sizeof(name), "fuzz_%d", i);
		cc->cp = kmem_cache_create(name, cc->size, cc->align, 0, NULL,
					   cc->ctor ? ctor : NULL,
					   cc->ctor ? dtor : NULL, cc);
	}
}

static void check_cache(struct kmem_cache *cp, void *arg)
{
	(void)arg;
	if (kmem_cache_check(cp))
		fail("kmem_cache_check of cache %s failed", cp->name);
}

static void run(struct cursor *c)
{
	create_caches(c);
	nr_live = 0;
	for (int n = 0; n < MAX_OPS && c->left; n++) {
		uint8_t op = get(c, 1);

		switch (op % 8) {
		case 0:
		case 1:
		case 2:
			if (nr_live < MAX_LIVE)
				op_cache_alloc(c);
			break;
		case 3:
		case 4:
			if (nr_live < MAX_LIVE)
				op_kmalloc(c);
			break;
		case 5:
		case 6:
			if (nr_live)
				free_one((op >> 3) % nr_live);
			break;
		default:
			/* krealloc of a kmalloc buffer, the first one found */
			for (size_t k = 0; k < nr_live; k++) {
				size_t i = (k + (op >> 3)) % nr_live;

				if (live[i].kind == KIND_KMALLOC) {
					op_krealloc(c, i);
					break;
				}
			}
			break;
		}
	}
	/* the input's caches as it leaves them; every cache once all is freed
	 * (every cache twice was a tenth of the target's time) */
	for (int i = 0; i < NR_CACHES; i++)
		check_cache(caches[i].cp, NULL);
	while (nr_live)
		free_one(nr_live - 1);
	kmem_cache_for_each(check_cache, NULL);
	for (int i = 0; i < NR_CACHES; i++)
		kmem_cache_destroy(caches[i].cp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	kmem_host_init(512 << 20);
	stripe_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };

	run(&c);
	if (arena_check(kpages_arena) || arena_check(base_arena))
		fail("arena_check of kpages or base failed");
	return 0;
}
