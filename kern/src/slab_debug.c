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
 * magazines only where no other mode applies: those take the cache off
 * its magazines.
 */
int slab_debug_modes(int flags)
{
	int modes = kmem_debug;

	if (flags & KMC_NOMAGAZINE)
		return 0;
	if (flags & KMC_NOTOUCH)
		modes &= KMEM_DEBUG_AUDIT | KMEM_DEBUG_CHECK |
			 KMEM_DEBUG_MAGAZINES;
	if (modes & KMEM_DEBUG_BYPASS)
		modes &= ~KMEM_DEBUG_MAGAZINES;
	return modes;
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

/* ---- kmem_debug=magazines: the magazine layer's push and pop, checked */

#ifdef KMEM_FAULT_HOOKS
enum kmem_magazine_fault kmem_magazine_fault; /* tests plant bugs here */
#endif

/* The CPU number of cp's kmem_cpu_cache cc. */
static int cc_cpu(const struct kmem_cache *cp, const struct kmem_cpu_cache *cc)
{
	return (int)(cc - cp->cpu) - 1;
}

/* Whether obj is busy at cp's slab layer (in one of its slabs, out). */
static bool obj_busy(struct kmem_cache *cp, void *obj)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	bool busy = obj_busy_locked(cp, obj);

	spin_unlock_irqrestore(&cp->lock, irq);
	return busy;
}

/*
 * Where obj waits in cc's magazines, below round `below` of the loaded
 * one: "loaded" or "previous" and the round in *round; NULL if nowhere.
 */
static const char *magazine_find(const struct kmem_cpu_cache *cc,
				 const void *obj, long below, long *round)
{
	for (long i = 1; i < below; i++) {
		if (cc->loaded->round[i] == obj) {
			*round = i;
			return "loaded";
		}
	}
	for (long i = 1; cc->previous && i <= cc->prev_rounds; i++) {
		if (cc->previous->round[i] == obj) {
			*round = i;
			return "previous";
		}
	}
	return NULL;
}

/* cc's counts must agree with its magazines before fn's push or pop. */
static void magazine_check_cpu(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
			       const char *fn)
{
	long size = (long)cp->mag_size;

	if (cc->rounds < -1 || cc->rounds > size ||
	    (cc->rounds >= 0) != (cc->loaded != NULL) || cc->prev_rounds < -1 ||
	    cc->prev_rounds > size ||
	    (cc->prev_rounds >= 0) != (cc->previous != NULL))
		panic("%s: kmem_debug=magazines: cache '%s' CPU %d: rounds %ld (loaded %p) and %ld (previous %p) do not fit magazines of %ld rounds",
		      fn, cp->name, cc_cpu(cp, cc), cc->rounds, cc->loaded,
		      cc->prev_rounds, cc->previous, size);
}

/*
 * The pop of an allocation's slow path under kmem_debug=magazines (cc's
 * lock held, its count unfolded): the fast path's own pop, then what it
 * must have done. It took one round off the top and handed out the
 * object that was there; that object is busy at the slab layer (a
 * magazine holds allocated objects) and in none of this CPU's magazines
 * any more.
 */
bool magazine_checked_pop(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
			  void **obj)
{
	long before = cc->rounds, round;
	void *top = before > 0 ? cc->loaded->round[before] : NULL;
	const char *where;

	magazine_check_cpu(cp, cc, "kmem_cache_alloc");
	debug_assert(fast_cpu_cache(cp) == cc);
	if (!kmem_magazine_pop(cp, obj)) {
		if (before > 0 || cc->rounds != before)
			panic("kmem_cache_alloc: kmem_debug=magazines: cache '%s' CPU %d: the pop found no object in a magazine of %ld rounds and left %ld",
			      cp->name, cc_cpu(cp, cc), before, cc->rounds);
		return false;
	}
	if (cc->rounds != before - 1)
		panic("kmem_cache_alloc: kmem_debug=magazines: cache '%s' CPU %d: the pop of one object took the rounds from %ld to %ld: %s",
		      cp->name, cc_cpu(cp, cc), before, cc->rounds,
		      cc->rounds < before - 1 ? "a round lost" :
						"a round counted twice");
	if (*obj != top)
		panic("kmem_cache_alloc: kmem_debug=magazines: cache '%s' CPU %d: the pop handed out %p, but the top round (%ld) held %p",
		      cp->name, cc_cpu(cp, cc), *obj, before, top);
	if (!obj_busy(cp, *obj))
		panic("kmem_cache_alloc: kmem_debug=magazines: cache '%s' CPU %d: the pop handed out %p, which is not an allocated object of the cache's slabs",
		      cp->name, cc_cpu(cp, cc), *obj);
	where = magazine_find(cc, *obj, cc->rounds + 1, &round);
	if (where)
		panic("kmem_cache_alloc: kmem_debug=magazines: cache '%s' CPU %d: the pop handed out %p, which is still in the %s magazine at round %ld: it was pushed twice",
		      cp->name, cc_cpu(cp, cc), *obj, where, round);
	return true;
}

/*
 * The push of a free's slow path under kmem_debug=magazines (cc's lock
 * held, its count unfolded). Before it, obj must be an allocated object
 * of cp's slabs (slab_bad_free says what it is otherwise) in none of
 * this CPU's magazines: a double free is caught here, however deep the
 * first one lies. Then the fast path's own push, and what it must have
 * done: refused only a full magazine or none, or put obj on top, once,
 * with the count one up and within the magazine.
 */
bool magazine_checked_push(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
			   void *obj)
{
	long before = cc->rounds, size = (long)cp->mag_size, round;
	const char *where;

	magazine_check_cpu(cp, cc, "kmem_cache_free");
	if (!obj_busy(cp, obj))
		slab_bad_free(cp, obj);
	where = magazine_find(cc, obj, before + 1, &round);
	if (where)
		panic("kmem_cache_free: double free (kmem_debug=magazines: the object waits in CPU %d's %s magazine at round %ld): cache '%s' obj %p",
		      cc_cpu(cp, cc), where, round, cp->name, obj);
	debug_assert(fast_cpu_cache(cp) == cc);
	if (!kmem_magazine_push(cp, obj)) {
		if ((before >= 0 && before < size) || cc->rounds != before)
			panic("kmem_cache_free: kmem_debug=magazines: cache '%s' CPU %d: the push refused %p with %ld rounds of %ld and left %ld",
			      cp->name, cc_cpu(cp, cc), obj, before, size,
			      cc->rounds);
		return false;
	}
	if (cc->rounds > size)
		panic("kmem_cache_free: kmem_debug=magazines: cache '%s' CPU %d: the push of %p left %ld rounds in a magazine of %ld: it wrote past the magazine's end",
		      cp->name, cc_cpu(cp, cc), obj, cc->rounds, size);
	if (cc->rounds != before + 1)
		panic("kmem_cache_free: kmem_debug=magazines: cache '%s' CPU %d: the push of one object (%p) took the rounds from %ld to %ld%s",
		      cp->name, cc_cpu(cp, cc), obj, before, cc->rounds,
		      cc->rounds > before + 1 &&
				      magazine_find(cc, obj, cc->rounds,
						    &round) ?
			      ": it pushed the object twice" :
			      "");
	if (cc->loaded->round[cc->rounds] != obj)
		panic("kmem_cache_free: kmem_debug=magazines: cache '%s' CPU %d: the push of %p left %p on top (round %ld)",
		      cp->name, cc_cpu(cp, cc), obj,
		      cc->loaded->round[cc->rounds], cc->rounds);
	return true;
}
