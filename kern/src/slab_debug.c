/*
 * slab_debug.c: the debug modes, §7 of the theory statement in slab.c
 * (kmem_debug=redzone,poison,audit,check; kmem_debug.h). Which modes a
 * cache applies and the layout of an object that carries debug state,
 * chosen when the cache is made; the audit trail; and the allocation and
 * free of a cache with modes, which always reach the slab layer.
 */
#include "slab_impl.h"
#include "kmem_debug.h"
#include "kstring.h"
#include "panic.h"

/* ---- what a cache applies, chosen at its creation */

/*
 * The debug modes a cache applies: none for the slab layer's own
 * caches; for NOTOUCH ones, only those that never write into objects.
 */
int slab_debug_modes(int flags)
{
	if (flags & KMC_NOMAGAZINE)
		return 0;
	if (flags & KMC_NOTOUCH)
		return kmem_debug & (KMEM_DEBUG_AUDIT | KMEM_DEBUG_CHECK);
	return kmem_debug;
}

/*
 * The layout of an object that carries debug state after it:
 *
 *   [ object: obj_size ][ redzone ][ link ][ struct kmem_audit ]
 *   0                   obj_size   ^redzone_end        ^audit_offset
 *
 * The redzone (under redzone) runs to the next multiple of 8 plus 8
 * more; the free-list link lies past it, so poison covers the whole
 * object. Objects are 8-aligned at least, for the patterns.
 */
void slab_debug_layout(struct kmem_cache *cp)
{
	size_t end = ALIGN_UP(cp->obj_size, sizeof(uint64_t));

	cp->align = MAX(cp->align, sizeof(uint64_t));
	if (cp->debug & KMEM_DEBUG_REDZONE)
		end += sizeof(uint64_t);
	cp->redzone_end = end;
	cp->link_offset = end;
	end += sizeof(void *);
	if (cp->debug & KMEM_DEBUG_AUDIT) {
		cp->audit_offset = end;
		end += sizeof(struct kmem_audit);
	}
	cp->chunk = ALIGN_UP(end, cp->align);
}

/* ---- the audit trail (kmem_debug=audit) */

/*
 * The audit record of cp's object obj, allocated or free, or NULL if cp
 * keeps none (cp's lock held). In the object's trailer, or in its bufctl
 * for a NOTOUCH cache.
 */
static struct kmem_audit *audit_locked(struct kmem_cache *cp, const void *obj)
{
	struct kmem_bufctl *bc;
	struct kmem_slab *s;

	assert_held(&cp->lock);
	if (!(cp->debug & KMEM_DEBUG_AUDIT))
		return NULL;
	if (cp->audit_offset)
		return (struct kmem_audit *)((char *)obj + cp->audit_offset);
	/* an allocated object's bufctl is in the hash, a free one's on its
	 * slab's free list */
	bc = bufctl_hash_lookup_locked(cp, obj);
	if (!bc && (s = slab_containing_locked(cp, obj)) != NULL) {
		for (bc = s->free_bufctls; bc && bc->obj != obj; bc = bc->next)
			;
	}
	return bc ? (struct kmem_audit *)(bc + 1) : NULL;
}

/* Record the calling stack as obj's last allocation or free. */
static void audit_note(struct kmem_cache *cp, void *obj, bool alloc,
		       uintptr_t caller)
{
	uintptr_t pcs[KMEM_AUDIT_DEPTH];
	struct kmem_audit *a;
	unsigned long irq;

	kmem_audit_record(pcs, caller);
	irq = spin_lock_irqsave(&cp->lock);
	a = audit_locked(cp, obj);
	if (a)
		kmemcpy(alloc ? a->alloc : a->free, pcs, sizeof(pcs));
	spin_unlock_irqrestore(&cp->lock, irq);
}

const char *kmem_cache_audit_text(struct kmem_cache *cp, const void *addr,
				  char *buf, size_t len)
{
	struct kmem_audit a, *ap = NULL;
	struct kmem_slab *s;
	unsigned long irq;

	buf[0] = 0;
	if (!(cp->debug & KMEM_DEBUG_AUDIT))
		return buf;
	irq = spin_lock_irqsave(&cp->lock);
	s = slab_containing_locked(cp, addr);
	if (s && (uintptr_t)addr >= (uintptr_t)s->first) {
		size_t i = ((uintptr_t)addr - (uintptr_t)s->first) / cp->chunk;

		if (i < cp->objs_per_slab)
			ap = audit_locked(cp, (char *)s->first + i * cp->chunk);
	}
	if (ap)
		a = *ap;
	spin_unlock_irqrestore(&cp->lock, irq);
	if (ap)
		kmem_audit_format(buf, len, &a);
	return buf;
}

/* ---- the modes at work */

/* A new object's debug state: redzone and poison patterns, empty audit. */
void slab_debug_new_object(struct kmem_cache *cp, void *obj)
{
	if (cp->debug & KMEM_DEBUG_REDZONE)
		kmem_pattern_fill(obj, cp->obj_size, cp->redzone_end,
				  KMEM_REDZONE_PATTERN);
	if (cp->debug & KMEM_DEBUG_POISON)
		kmem_pattern_fill(obj, 0, cp->obj_size, KMEM_POISON_FREE);
	if (cp->audit_offset)
		kmemset((char *)obj + cp->audit_offset, 0,
			sizeof(struct kmem_audit));
}

/* Under check: cp must be sound after fn's work on obj. */
static inline void slab_debug_check(struct kmem_cache *cp, const char *fn,
				    void *obj)
{
	if (cp->debug & KMEM_DEBUG_CHECK)
		slab_debug_check_now(cp, fn, obj);
}

/* Under redzone: obj's redzone must hold its pattern. */
static void redzone_verify(struct kmem_cache *cp, const char *fn, void *obj)
{
	char audit[KMEM_AUDIT_TEXT_MAX];
	long o;

	if (!(cp->debug & KMEM_DEBUG_REDZONE))
		return;
	o = kmem_pattern_find(obj, cp->obj_size, cp->redzone_end,
			      KMEM_REDZONE_PATTERN);
	if (o >= 0)
		panic("%s: redzone violation: cache '%s' obj %p offset %ld (object size %zu): byte 0x%02x, expected 0x%02x%s",
		      fn, cp->name, obj, o, cp->obj_size, ((uint8_t *)obj)[o],
		      kmem_pattern_byte(KMEM_REDZONE_PATTERN, (size_t)o),
		      kmem_cache_audit_text(cp, obj, audit, sizeof(audit)));
}

/* Give back an object that a failed constructor left unconstructed. */
static void debug_unalloc(struct kmem_cache *cp, void *obj)
{
	unsigned long irq;

	kmem_pattern_fill(obj, 0, cp->obj_size, KMEM_POISON_FREE);
	slab_free(cp, obj);
	irq = spin_lock_irqsave(&cp->lock);
	cp->fails++;
	spin_unlock_irqrestore(&cp->lock, irq);
}

/*
 * An allocation from a cache with debug modes, always from the slab
 * layer: check what poison and redzone promise, note the caller, and
 * under poison construct the object now.
 */
void *slab_debug_alloc(struct kmem_cache *cp, int flags, uintptr_t caller)
{
	void *obj = slab_alloc(cp, flags);
	char audit[KMEM_AUDIT_TEXT_MAX];
	long o;

	if (!obj) {
		slab_debug_check(cp, "kmem_cache_alloc", NULL);
		return NULL;
	}
	if (cp->debug & KMEM_DEBUG_POISON) {
		o = kmem_pattern_find(obj, 0, cp->obj_size, KMEM_POISON_FREE);
		if (o >= 0)
			panic("kmem_cache_alloc: modified after free: cache '%s' obj %p offset %ld (object size %zu): byte 0x%02x, expected 0x%02x%s",
			      cp->name, obj, o, cp->obj_size,
			      ((uint8_t *)obj)[o],
			      kmem_pattern_byte(KMEM_POISON_FREE, (size_t)o),
			      kmem_cache_audit_text(cp, obj, audit,
						    sizeof(audit)));
	}
	redzone_verify(cp, "kmem_cache_alloc", obj);
	if (cp->debug & KMEM_DEBUG_AUDIT)
		audit_note(cp, obj, true, caller);
	if (cp->debug & KMEM_DEBUG_POISON) {
		kmem_pattern_fill(obj, 0, cp->obj_size, KMEM_POISON_NEW);
		if (cp->ctor && cp->ctor(obj, cp->priv, flags)) {
			if (flags & MEM_WAIT)
				panic("kmem_cache_alloc: constructor failed under MEM_WAIT: cache '%s' obj %p",
				      cp->name, obj);
			debug_unalloc(cp, obj);
			obj = NULL;
		}
	}
	slab_debug_check(cp, "kmem_cache_alloc", obj);
	return obj;
}

/*
 * A free to a cache with debug modes, always to the slab layer, which
 * sees any double free at the call: check the redzone, note the caller,
 * and under poison destroy the object and fill it with the pattern.
 */
void slab_debug_free(struct kmem_cache *cp, void *obj, uintptr_t caller)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	bool busy = obj_busy_locked(cp, obj);

	spin_unlock_irqrestore(&cp->lock, irq);
	if (!busy)
		slab_bad_free(cp, obj);
	redzone_verify(cp, "kmem_cache_free", obj);
	if (cp->debug & KMEM_DEBUG_AUDIT)
		audit_note(cp, obj, false, caller);
	if (cp->debug & KMEM_DEBUG_POISON) {
		if (cp->dtor)
			cp->dtor(obj, cp->priv);
		kmem_pattern_fill(obj, 0, cp->obj_size, KMEM_POISON_FREE);
	}
	slab_free(cp, obj);
	slab_debug_check(cp, "kmem_cache_free", obj);
}
