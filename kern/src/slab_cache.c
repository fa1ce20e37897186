/*
 * slab_cache.c: making a cache, §9 of the theory statement in slab.c: the
 * magazine types, a cache's geometry (slab size, objects per slab, colour,
 * on- or off-slab: §2), kmem_cache_create and destroy, the slab layer's
 * own caches (kmem_init), and the list of every cache.
 */
#include "slab_impl.h"
#include "slab_sourced.h"
#include "assert.h"
#include "bitops.h"
#include "kmem_debug.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "panic.h"

/* on-slab chunks: an eighth of a page at most, so 7 or more objects fit
 * beside the 128-byte header */
#define ON_SLAB_MAX_CHUNK (PGSIZE / 8)
#define MIN_OBJS_PER_SLAB 8 /* off-slab: chunks per slab, at least */
static_assert(
	sizeof(struct kmem_slab) == 128,
	"the header ON_SLAB_MAX_CHUNK allows for, and kmem.py's SLAB_FMT");

static struct spinlock caches_lock = SPINLOCK_INIT;
static struct list_head all_caches = LIST_HEAD_INIT(all_caches);

/*
 * The magazine types, after illumos's kmem_magtype[]: a cache of objects
 * up to chunk_max bytes (its chunk) gets magazines of `rounds` rounds,
 * objects of the cache kmem_magazine_<rounds>, `size` bytes each: the
 * link, the floor and the rounds, 4 to 32 words. Bigger objects get fewer
 * rounds. kmem_init makes the caches in this order; the last row has the
 * most rounds, KMEM_MAGAZINE_ROUNDS_MAX, the fast path's bound.
 */
#define MAGAZINE_TYPE(r, max)                          \
	{                                              \
		.rounds = (r), .chunk_max = (max),     \
		.size = sizeof(struct kmem_magazine) + \
			(1 + (r)) * sizeof(void *)     \
	}

static struct kmem_magazine_type {
	size_t rounds;
	size_t chunk_max;
	size_t size;
	struct kmem_cache *cache; /* kmem_magazine_<rounds> */
} kmem_magazine_types[] = {
	MAGAZINE_TYPE(2, SIZE_MAX),
	MAGAZINE_TYPE(6, 4096),
	MAGAZINE_TYPE(14, 1024),
	MAGAZINE_TYPE(KMEM_MAGAZINE_ROUNDS_MAX, 256),
};

/* ---- creating and destroying */

/* The magazine type for objects of chunk bytes (bigger: fewer rounds). */
static const struct kmem_magazine_type *magazine_type_for(size_t chunk)
{
	size_t i = ARRAY_SIZE(kmem_magazine_types) - 1;

	while (chunk > kmem_magazine_types[i].chunk_max)
		i--;
	return &kmem_magazine_types[i];
}

bool magazine_type_larger(size_t rounds, size_t *larger,
			  struct kmem_cache **mag_cache)
{
	for (size_t i = 0; i + 1 < ARRAY_SIZE(kmem_magazine_types); i++) {
		if (kmem_magazine_types[i].rounds == rounds) {
			*larger = kmem_magazine_types[i + 1].rounds;
			*mag_cache = kmem_magazine_types[i + 1].cache;
			return true;
		}
	}
	return false;
}

/* Choose slab size, objects per slab, colour range, on- or off-slab. */
static void cache_geometry(struct kmem_cache *cp)
{
	size_t q = arena_quantum(cp->source), room;

	cp->on_slab = !(cp->flags & KMC_NOTOUCH) && q == PGSIZE &&
		      cp->chunk <= ON_SLAB_MAX_CHUNK &&
		      cp->chunk >= sizeof(void *);
	if (cp->on_slab) {
		cp->slab_size = PGSIZE;
		room = PGSIZE - sizeof(struct kmem_slab);
	} else {
		size_t want = cp->chunk * MIN_OBJS_PER_SLAB;

		cp->slab_size = (want + q - 1) / q * q;
		room = cp->slab_size;
	}
	cp->objs_per_slab = room / cp->chunk;
	if (cp->on_slab && cp->objs_per_slab > SLAB_MAP_WORDS * 64)
		cp->objs_per_slab = SLAB_MAP_WORDS * 64;
	/* colour spreads cache lines: pointless for NOTOUCH, and it would
	 * break their quantum alignment */
	cp->colour_max = room - cp->objs_per_slab * cp->chunk;
	cp->colour_max -= cp->colour_max % cp->align;
	if (cp->flags & KMC_NOTOUCH)
		cp->colour_max = 0;
}

/* Check kmem_cache_create's arguments. */
static size_t cache_align(const char *name, size_t obj_size, size_t align,
			  int flags)
{
	if (!obj_size)
		panic("kmem_cache_create: object size 0: cache '%s'", name);
	if (flags & ~KMC_VALID_FLAGS)
		panic("kmem_cache_create: bad flags 0x%x: cache '%s'", flags,
		      name);
	if (align && !is_pow2(align))
		panic("kmem_cache_create: align %zu is not a power of two: cache '%s'",
		      align, name);
	if (align)
		return align;
	if (flags & KMC_NOTOUCH)
		return 1;
	return obj_size >= 16 ? 16 : obj_size >= 8 ? 8 : sizeof(void *);
}

/* Fill in a zeroed cache: its geometry, debug modes, magazine type. */
static void cache_setup(struct kmem_cache *cp, const char *name,
			size_t obj_size, size_t align, int flags,
			struct arena *source, arena_afunc_t slab_alloc,
			arena_ffunc_t slab_free, bool has_ctor)
{
	kstrlcpy(cp->name, name, sizeof(cp->name));
	cp->obj_size = obj_size;
	cp->align = align;
	cp->flags = flags;
	cp->source = source;
	cp->slab_alloc = slab_alloc;
	cp->slab_free = slab_free;
	cp->debug = slab_debug_modes(flags);
	/*
	 * A free on-slab object holds a link: in its first word, or after
	 * it when a constructed object must keep its first word. NOTOUCH
	 * objects hold nothing.
	 */
	cp->link_offset = has_ctor ? ALIGN_UP(obj_size, sizeof(void *)) : 0;
	cp->chunk = ALIGN_UP(obj_size, align);
	if (!(flags & KMC_NOTOUCH))
		cp->chunk = ALIGN_UP(
			MAX(obj_size, cp->link_offset + sizeof(void *)), align);
	if ((cp->debug & ~(KMEM_DEBUG_CHECK | KMEM_DEBUG_MAGAZINES)) &&
	    !(flags & KMC_NOTOUCH))
		slab_debug_layout(cp);
	if (flags & KMC_NOTOUCH) {
		/* a whole number of quanta, which need not be a power of two */
		size_t q = arena_quantum(source);

		cp->chunk = (cp->chunk + q - 1) / q * q;
	}
	cp->lock = (struct spinlock)SPINLOCK_INIT;
	cp->depot.lock = (struct spinlock)SPINLOCK_INIT;
	list_init(&cp->full);
	list_init(&cp->partial);
	list_init(&cp->empty);
	bufctl_hash_set(cp, cp->hash_initial, KMEM_HASH_INITIAL);
	for (int i = 0; i <= NR_CPUS; i++) {
		cp->cpu[i].lock = (struct spinlock)SPINLOCK_INIT;
		cp->cpu[i].prev_rounds = -1;
		cp->cpu[i].rounds = rounds_fold(cp, -1);
	}
	cache_geometry(cp);
	/* debug modes work at every call: they go to the slab layer (but
	 * kmem_debug=magazines checks the magazines) */
	if (!(flags & KMC_NOMAGAZINE) && !(cp->debug & KMEM_DEBUG_BYPASS)) {
		const struct kmem_magazine_type *t =
			magazine_type_for(cp->chunk);

		cp->mag_cache = t->cache;
		cp->mag_size = t->rounds;
	}
}

/* An arena's reclaim reaps the caches that import from it. */
static void cache_reclaim(void *cp)
{
	kmem_cache_reap(cp);
}

struct kmem_cache *
kmem_cache_create_sourced(const char *name, size_t obj_size, size_t align,
			  int flags, struct arena *source, arena_afunc_t afunc,
			  arena_ffunc_t ffunc, int (*ctor)(void *, void *, int),
			  void (*dtor)(void *, void *), void *priv)
{
	struct kmem_cache *cp;
	unsigned long irq;

	align = cache_align(name, obj_size, align, flags);
	if (!source)
		source = kpages_arena;
	if (!source)
		panic("kmem_cache_create: no source arena yet (before pmem_init): cache '%s'",
		      name);
	if (!(flags & KMC_NOMAGAZINE) && !kmem_magazine_types[0].cache)
		panic("kmem_cache_create: the slab layer is not set up (kmem_init): cache '%s'",
		      name);
	cp = base_zalloc(source, sizeof(*cp),
			 flags & KMC_CREATE_ATOMIC ? MEM_ATOMIC : MEM_WAIT);
	if (!cp)
		return NULL;
	flags &= ~KMC_CREATE_ATOMIC;
	cache_setup(cp, name, obj_size, align, flags, source, afunc, ffunc,
		    ctor != NULL);
	cp->ctor = ctor;
	cp->dtor = dtor;
	cp->priv = priv;
	irq = spin_lock_irqsave(&caches_lock);
	list_add_tail(&cp->all_link, &all_caches);
	spin_unlock_irqrestore(&caches_lock, irq);
	arena_add_reclaim(source, &cp->reclaimer, cache_reclaim, cp);
	return cp;
}

struct kmem_cache *kmem_cache_create(const char *name, size_t obj_size,
				     size_t align, int flags,
				     struct arena *source,
				     int (*ctor)(void *, void *, int),
				     void (*dtor)(void *, void *), void *priv)
{
	return kmem_cache_create_sourced(name, obj_size, align, flags, source,
					 slab_memory_xalloc, arena_xfree, ctor,
					 dtor, priv);
}

void kmem_cache_destroy(struct kmem_cache *cp)
{
	unsigned long irq;

	kmem_cache_reap(cp);
	if (cp->nr_busy)
		panic("kmem_cache_destroy: %zu objects still live: cache '%s' object size %zu",
		      cp->nr_busy, cp->name, cp->obj_size);
	arena_remove_reclaim(cp->source, &cp->reclaimer);
	irq = spin_lock_irqsave(&caches_lock);
	list_del(&cp->all_link);
	spin_unlock_irqrestore(&caches_lock, irq);
	if (cp->hash != cp->hash_initial)
		base_free(cp->source, cp->hash,
			  cp->hash_buckets * sizeof(*cp->hash));
	base_free(cp->source, cp, sizeof(*cp));
}

/* Create one of the slab layer's own caches, over base, no magazines. */
struct kmem_cache *slab_internal_cache(const char *name, size_t size)
{
	struct kmem_cache *cp = base_zalloc(NULL, sizeof(*cp), MEM_WAIT);

	cache_setup(cp, name, size, sizeof(void *), KMC_NOMAGAZINE, base_arena,
		    slab_memory_xalloc, arena_xfree, false);
	list_add_tail(&cp->all_link, &all_caches);
	arena_add_reclaim(base_arena, &cp->reclaimer, cache_reclaim, cp);
	return cp;
}

void kmem_init(void)
{
	char name[KMEM_NAME_MAX];

	if (kmem_magazine_types[0].cache)
		panic("kmem_init: called twice");
	for (size_t i = 0; i < ARRAY_SIZE(kmem_magazine_types); i++) {
		struct kmem_magazine_type *t = &kmem_magazine_types[i];

		ksnprintf(name, sizeof(name), "kmem_magazine_%zu", t->rounds);
		t->cache = slab_internal_cache(name, t->size);
	}
	slab_layer_init();
	arch_set_cpu_exit_hook(kmem_cpu_exit);
}

/* ---- every cache */

void kmem_cache_for_each(void (*fn)(struct kmem_cache *, void *), void *arg)
{
	unsigned long irq = spin_lock_irqsave(&caches_lock);
	struct list_head *pos;

	list_for_each (pos, &all_caches)
		fn(list_entry(pos, struct kmem_cache, all_link), arg);
	spin_unlock_irqrestore(&caches_lock, irq);
}
