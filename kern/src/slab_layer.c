/*
 * slab_layer.c: the slab layer, §2 and §3 of the theory statement in slab.c
 * (slabs, constructors). Slabs taken from the source and given back, their
 * headers and bufctls, the off-slab hash of allocated objects, and
 * slab_alloc/slab_free, where the magazine layer (slab.c) sends what it
 * cannot serve. Everything here is cp's lock's (theory statement, 6).
 */
#include "slab_impl.h"
#include "assert.h"
#include "bitops.h"
#include "hash.h"
#include "kmem_debug.h"
#include "kstring.h"
#include "page.h"
#include "panic.h"

/* The slab layer's own caches, over base_arena, without magazines. */
static struct kmem_cache *slab_header_cache, *bufctl_cache;
/* under audit, a bufctl carries its NOTOUCH object's struct kmem_audit */
static bool bufctl_audit;

/* Make the slab layer's own caches (kmem_init, after the magazines'). */
void slab_layer_init(void)
{
	slab_header_cache =
		slab_internal_cache("kmem_slab", sizeof(struct kmem_slab));
	bufctl_audit = kmem_debug & KMEM_DEBUG_AUDIT;
	bufctl_cache = slab_internal_cache(
		"kmem_bufctl",
		sizeof(struct kmem_bufctl) +
			(bufctl_audit ? sizeof(struct kmem_audit) : 0));
}

/* ---- small helpers */

/* Mark object i of s out of the slab layer, or back in. */
static void busy_flip(struct kmem_slab *s, long i)
{
	s->busy[i / 64] ^= 1ull << (i % 64);
}

/* ---- the off-slab hash of allocated objects */

/* The hash chain obj's bufctl is on while obj is allocated. */
static inline struct kmem_bufctl **bufctl_bucket(const struct kmem_cache *cp,
						 const void *obj)
{
	return &cp->hash[hash_index64((uintptr_t)obj, cp->hash_shift)];
}

/* Make t, of n buckets (a power of two), cp's hash. */
void bufctl_hash_set(struct kmem_cache *cp, struct kmem_bufctl **t, size_t n)
{
	cp->hash = t;
	cp->hash_buckets = n;
	cp->hash_shift = 64 - highbit(n);
}

/*
 * Put allocated object bc in cp's hash (cp's lock held: the hash is that
 * lock's, as everything of the slab layer).
 */
static void bufctl_hash_insert_locked(struct kmem_cache *cp,
				      struct kmem_bufctl *bc)
{
	struct kmem_bufctl **b = bufctl_bucket(cp, bc->obj);

	assert_held(&cp->lock);
	bc->next = *b;
	*b = bc;
	cp->nr_hashed++;
}

/* Take obj's bufctl out of cp's hash, or NULL if not there (cp's lock). */
static struct kmem_bufctl *bufctl_hash_remove_locked(struct kmem_cache *cp,
						     const void *obj)
{
	struct kmem_bufctl **pp = bufctl_bucket(cp, obj), *bc;

	assert_held(&cp->lock);
	for (; (bc = *pp) != NULL; pp = &bc->next) {
		if (bc->obj == obj) {
			*pp = bc->next;
			cp->nr_hashed--;
			return bc;
		}
	}
	return NULL;
}

/* obj's bufctl if obj is allocated, else NULL (cp's lock held). */
struct kmem_bufctl *bufctl_hash_lookup_locked(struct kmem_cache *cp,
					      const void *obj)
{
	assert_held(&cp->lock);
	for (struct kmem_bufctl *bc = *bufctl_bucket(cp, obj); bc;
	     bc = bc->next) {
		if (bc->obj == obj)
			return bc;
	}
	return NULL;
}

/*
 * The size cp's hash should have (cp's lock held), or 0 if it is right:
 * as an arena's, x4 once it holds over 2 per bucket, /4 (not below the
 * initial table inside the cache) once it holds under 1 per 8.
 */
static size_t bufctl_hash_target_locked(const struct kmem_cache *cp)
{
	size_t n = cp->nr_hashed, buckets = cp->hash_buckets;

	assert_held(&cp->lock);
	if (cp->on_slab)
		return 0;
	if (n > 2 * buckets)
		return buckets * 4;
	if (buckets > KMEM_HASH_INITIAL && n < buckets / 8)
		return MAX(buckets / 4, (size_t)KMEM_HASH_INITIAL);
	return 0;
}

/*
 * Grow or shrink cp's hash to the size it should have (called unlocked,
 * after an operation that left it too full or too empty); without memory
 * for a new table it stays as it is: longer chains, nothing worse.
 */
static void bufctl_hash_resize(struct kmem_cache *cp)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	size_t n = bufctl_hash_target_locked(cp), old_n = cp->hash_buckets;
	struct kmem_bufctl **t, **old = cp->hash;

	spin_unlock_irqrestore(&cp->lock, irq);
	if (!n)
		return;
	assert_not_held(&cp->lock);
	t = n == KMEM_HASH_INITIAL ?
		    NULL :
		    base_zalloc(cp->source, n * sizeof(*t), MEM_ATOMIC);
	if (!t && n != KMEM_HASH_INITIAL)
		return;
	irq = spin_lock_irqsave(&cp->lock);
	if (cp->hash != old || bufctl_hash_target_locked(cp) != n) {
		/* someone else resized it, or it no longer needs this size */
		spin_unlock_irqrestore(&cp->lock, irq);
		if (t)
			base_free(cp->source, t, n * sizeof(*t));
		return;
	}
	if (!t) {
		t = cp->hash_initial;
		kmemset(t, 0, sizeof(cp->hash_initial));
	}
	bufctl_hash_set(cp, t, n);
	hash_move_chains(old, old_n, next, obj, bufctl_bucket, cp);
	cp->hash_resizes++;
	spin_unlock_irqrestore(&cp->lock, irq);
	assert_not_held(&cp->lock);
	if (old != cp->hash_initial)
		base_free(cp->source, old, old_n * sizeof(*old));
}

/* ---- finding an object's slab */

/* Whether obj lies inside one of cp's slabs (cp's lock; error paths). */
struct kmem_slab *slab_containing_locked(struct kmem_cache *cp, const void *obj)
{
	struct list_head *lists[] = { &cp->full, &cp->partial, &cp->empty };

	assert_held(&cp->lock);
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		struct list_head *pos;

		list_for_each (pos, lists[i]) {
			struct kmem_slab *s =
				list_entry(pos, struct kmem_slab, link);
			uintptr_t o = (uintptr_t)obj, b = (uintptr_t)s->base;

			if (o >= b && o - b < cp->slab_size)
				return s;
		}
	}
	return NULL;
}

/* Whether obj is out of cp's slab layer (busy there; cp's lock held). */
bool obj_busy_locked(struct kmem_cache *cp, void *obj)
{
	assert_held(&cp->lock);
	if (cp->on_slab) {
		struct kmem_slab *s = on_slab_header(obj);
		long i = s->cache == cp ? obj_index(cp, s, obj) : -1;

		return i >= 0 && busy_test(s, i);
	}
	return bufctl_hash_lookup_locked(cp, obj) != NULL;
}

/* ---- making and unmaking slabs */

/* Give a slab's memory back to the source (none of cp's locks held). */
static void slab_memory_free(struct kmem_cache *cp, void *base)
{
	assert_not_held(&cp->lock);
	cp->slab_free(cp->source, base, cp->slab_size);
}

/* The source pair of an ordinary cache: plain segments of its source. */
void *slab_memory_xalloc(struct arena *source, size_t size, int flags)
{
	return arena_xalloc(source, size, 0, 0, 0, NULL, NULL, flags);
}

/*
 * Run the constructor on every object of s; undo all if one fails.
 * (Under poison, objects are constructed when handed out instead.)
 */
static bool slab_construct(struct kmem_cache *cp, struct kmem_slab *s,
			   int flags)
{
	if (!cp->ctor || (cp->debug & KMEM_DEBUG_POISON))
		return true;
	for (size_t i = 0; i < cp->objs_per_slab; i++) {
		void *obj = (char *)s->first + i * cp->chunk;

		if (cp->ctor(obj, cp->priv, flags) == 0)
			continue;
		if (flags & MEM_WAIT)
			panic("kmem_cache_alloc: constructor failed under MEM_WAIT: cache '%s' obj %p",
			      cp->name, obj);
		while (cp->dtor && i--)
			cp->dtor((char *)s->first + i * cp->chunk, cp->priv);
		return false;
	}
	return true;
}

/* Run the destructor on every object of s (under poison: at each free). */
static void slab_destruct(struct kmem_cache *cp, struct kmem_slab *s)
{
	if (cp->debug & KMEM_DEBUG_POISON)
		return;
	for (size_t i = 0; cp->dtor && i < cp->objs_per_slab; i++)
		cp->dtor((char *)s->first + i * cp->chunk, cp->priv);
}

/* The next colour offset for a new slab (called with cp's lock). */
static size_t next_colour_locked(struct kmem_cache *cp)
{
	size_t c = cp->colour_next;

	assert_held(&cp->lock);
	cp->colour_next += cp->align;
	if (cp->colour_next > cp->colour_max)
		cp->colour_next = 0;
	return c;
}

/* Give a slab's bufctls back (off-slab), from the free list. */
static void free_bufctls(struct kmem_slab *s)
{
	struct kmem_bufctl *bc, *next;

	for (bc = s->free_bufctls; bc; bc = next) {
		next = bc->next;
		kmem_cache_free(bufctl_cache, bc);
	}
}

/* Build the free list (or bufctls) of a new slab; false if out of memory. */
static bool slab_fill(struct kmem_cache *cp, struct kmem_slab *s, int flags)
{
	for (size_t i = cp->objs_per_slab; i-- > 0;) {
		void *obj = (char *)s->first + i * cp->chunk;
		struct kmem_bufctl *bc;

		if ((cp->debug & KMEM_DEBUG_BYPASS) &&
		    !(cp->flags & KMC_NOTOUCH))
			slab_debug_new_object(cp, obj);
		if (cp->on_slab) {
			*obj_link(cp, obj) = s->free;
			s->free = obj;
			continue;
		}
		bc = kmem_cache_alloc(bufctl_cache, flags);
		if (!bc) {
			free_bufctls(s);
			return false;
		}
		bc->obj = obj;
		bc->slab = s;
		if (bufctl_audit)
			kmemset(bc + 1, 0, sizeof(struct kmem_audit));
		bc->next = s->free_bufctls;
		s->free_bufctls = bc;
	}
	return true;
}

/*
 * This CPU holds none of cp's locks (its own, the depot's, the CPUs'),
 * as it must when it calls the source. Nothing without DEBUG_ASSERTS.
 */
static void assert_cache_unlocked(struct kmem_cache *cp)
{
	assert_not_held(&cp->lock);
	assert_not_held(&cp->depot.lock);
	for (int slot = 0; DEBUG_ASSERTS && slot <= NR_CPUS; slot++)
		assert_not_held(&cp->cpu[slot].lock);
}

/*
 * Make a slab for cp (without any of cp's locks): memory from the source,
 * header, free list, constructed objects. NULL if anything failed; then
 * nothing is kept.
 */
static struct kmem_slab *slab_create(struct kmem_cache *cp, int flags)
{
	int mem = flags & (MEM_WAIT | MEM_ATOMIC);
	struct kmem_slab *s;
	unsigned long irq;
	size_t colour;
	void *base;

	assert_cache_unlocked(cp);
	base = cp->slab_alloc(cp->source, cp->slab_size, mem);
	if (!base)
		return NULL;
	s = cp->on_slab ?
		    (struct kmem_slab *)((char *)base + PGSIZE - sizeof(*s)) :
		    kmem_cache_alloc(slab_header_cache, mem);
	if (!s)
		goto no_header;
	irq = spin_lock_irqsave(&cp->lock);
	colour = next_colour_locked(cp);
	spin_unlock_irqrestore(&cp->lock, irq);
	*s = (struct kmem_slab){ .magic = SLAB_MAGIC,
				 .cache = cp,
				 .base = base,
				 .first = (char *)base + colour };
	list_init(&s->link);
	if (!slab_fill(cp, s, mem))
		goto no_bufctls;
	if (!slab_construct(cp, s, mem))
		goto no_objects;
	return s;

no_objects:
	if (!cp->on_slab)
		free_bufctls(s);
no_bufctls:
	if (!cp->on_slab)
		kmem_cache_free(slab_header_cache, s);
no_header:
	slab_memory_free(cp, base);
	return NULL;
}

/* Unmake an empty slab taken off cp's lists (without any of cp's locks). */
void slab_destroy(struct kmem_cache *cp, struct kmem_slab *s)
{
	void *base = s->base;

	assert_cache_unlocked(cp);
	debug_assert(s->nr_busy == 0 && s->cache == cp);
	slab_destruct(cp, s);
	if (!cp->on_slab) {
		free_bufctls(s);
		kmem_cache_free(slab_header_cache, s);
	} else {
		s->magic = 0;
		s->cache = NULL;
	}
	slab_memory_free(cp, base);
}

/* ---- the slab layer */

/* Move s to the list its count says (cp's lock held, as for all slabs). */
static void slab_relist_locked(struct kmem_cache *cp, struct kmem_slab *s)
{
	struct list_head *to = s->nr_busy == 0		       ? &cp->empty :
			       s->nr_busy == cp->objs_per_slab ? &cp->full :
								 &cp->partial;

	assert_held(&cp->lock);
	debug_assert(s->cache == cp && s->nr_busy <= cp->objs_per_slab);
	list_move(&s->link, to);
}

/* Take one object from slab s (which has a free one; cp's lock held). */
static void *slab_take_locked(struct kmem_cache *cp, struct kmem_slab *s)
{
	void *obj;

	assert_held(&cp->lock);
	debug_assert(s->nr_busy < cp->objs_per_slab);
	if (cp->on_slab) {
		obj = s->free;
		s->free = *obj_link(cp, obj);
		busy_flip(s, obj_index(cp, s, obj));
	} else {
		struct kmem_bufctl *bc = s->free_bufctls;

		s->free_bufctls = bc->next;
		obj = bc->obj;
		bufctl_hash_insert_locked(cp, bc);
	}
	s->nr_busy++;
	cp->nr_busy++;
	cp->slab_allocs++;
	slab_relist_locked(cp, s);
	return obj;
}

/* An object from the slab layer, making a slab if there is none. */
void *slab_alloc(struct kmem_cache *cp, int flags)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	struct kmem_slab *s;
	bool grow;
	void *obj;

	while (list_empty(&cp->partial) && list_empty(&cp->empty)) {
		spin_unlock_irqrestore(&cp->lock, irq);
		assert_not_held(&cp->lock);
		s = slab_create(cp, flags);
		irq = spin_lock_irqsave(&cp->lock);
		if (!s) {
			cp->fails++;
			spin_unlock_irqrestore(&cp->lock, irq);
			return NULL;
		}
		list_add(&s->link, &cp->empty);
		cp->nr_slabs++;
		cp->slabs_created++;
	}
	s = list_first_entry(list_empty(&cp->partial) ? &cp->empty :
							&cp->partial,
			     struct kmem_slab, link);
	obj = slab_take_locked(cp, s);
	grow = !cp->on_slab && cp->nr_hashed > 2 * cp->hash_buckets;
	spin_unlock_irqrestore(&cp->lock, irq);
	if (grow)
		bufctl_hash_resize(cp);
	return obj;
}

/*
 * Give obj back to its slab; false (with no change) if it is not busy.
 * cp's lock held.
 */
static bool slab_put_locked(struct kmem_cache *cp, void *obj)
{
	struct kmem_slab *s;

	assert_held(&cp->lock);
	if (cp->on_slab) {
		long i;

		s = on_slab_header(obj);
		i = s->cache == cp ? obj_index(cp, s, obj) : -1;
		if (i < 0 || !busy_test(s, i))
			return false;
		busy_flip(s, i);
		*obj_link(cp, obj) = s->free;
		s->free = obj;
	} else {
		struct kmem_bufctl *bc = bufctl_hash_remove_locked(cp, obj);

		if (!bc)
			return false;
		s = bc->slab;
		bc->next = s->free_bufctls;
		s->free_bufctls = bc;
	}
	debug_assert(s->nr_busy > 0);
	s->nr_busy--;
	cp->nr_busy--;
	cp->slab_frees++;
	slab_relist_locked(cp, s);
	return true;
}

/* Give obj back to its slab; an object it cannot take is reported. */
void slab_free(struct kmem_cache *cp, void *obj)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	bool ok = slab_put_locked(cp, obj);
	bool shrink = !cp->on_slab && cp->hash_buckets > KMEM_HASH_INITIAL &&
		      cp->nr_hashed < cp->hash_buckets / 8;

	spin_unlock_irqrestore(&cp->lock, irq);
	if (!ok)
		slab_bad_free(cp, obj);
	if (shrink)
		bufctl_hash_resize(cp);
}
