/*
 * arena_qcache.c: the quantum caches and reclaim, §7 of the theory
 * statement in arena.c: the object caches in front of an arena for its
 * small sizes, the source pair through which they take their slabs, and
 * the importer lists and callbacks a reclaim walks.
 */
#include "arena_impl.h"
#include "kprintf.h"
#include "slab.h"
#include "slab_sourced.h"

/* guards every arena's importer lists; held through a reclaim */
static struct spinlock importers_lock = SPINLOCK_INIT;

/* ---- quantum caches */

/* Mark (or unmark) the allocated segment at addr as a quantum cache slab. */
static void qslab_mark(struct arena *a, void *addr, bool on)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *t = arena_hash_lookup_locked(a, (uintptr_t)addr);

	assert(t);
	t->qslab = on;
	spin_unlock_irqrestore(&a->lock, irq);
}

/*
 * The source pair of a's quantum caches: their slabs are segments of a
 * (arena_xalloc/xfree, never a's quantum caches), marked so that a free
 * of a wrong size that happens to match a slab is caught, not obeyed.
 */
static void *qcache_slab_alloc(struct arena *a, size_t size, int flags)
{
	void *p = arena_xalloc(a, size, 0, 0, 0, NULL, NULL, flags);

	if (p)
		qslab_mark(a, p, true);
	return p;
}

static void qcache_slab_free(struct arena *a, void *addr, size_t size)
{
	qslab_mark(a, addr, false);
	arena_xfree(a, addr, size);
}

/*
 * Put quantum caches in front of a for sizes up to qcache_max: caches of
 * 1, 2, ... quanta, named "<arena>_<bytes>", that never touch the
 * resource and take their slabs from a with arena_xalloc. Under
 * MEM_ATOMIC, returns false when a cache could not be had; the ones made
 * are in a->qcache for arena_destroy.
 */
bool arena_qcaches_create(struct arena *a, size_t qcache_max, int flags)
{
	size_t n = MIN(qcache_max / a->quantum, (size_t)ARENA_QCACHE_MAX);
	int cflags = KMC_NOTOUCH | KMC_QCACHE |
		     (flags & MEM_ATOMIC ? KMC_CREATE_ATOMIC : 0);
	char name[ARENA_NAME_MAX];

	for (size_t i = 0; i < n; i++) {
		ksnprintf(name, sizeof(name), "%s_%zu", a->name,
			  (i + 1) * a->quantum);
		a->qcache[i] = kmem_cache_create_sourced(
			name, (i + 1) * a->quantum, 0, cflags, a,
			qcache_slab_alloc, qcache_slab_free, NULL, NULL, NULL);
		if (!a->qcache[i])
			return false;
	}
	/* only now: the fast path sends sizes up to qcache_max to them */
	a->qcache_max = n * a->quantum;
	return true;
}

/* ---- reclaim */

/* Put a, which has a source, on its source's importers (arena_create). */
void arena_importers_add(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&importers_lock);

	list_add_tail(&a->importer_link, &a->source->importer_arenas);
	spin_unlock_irqrestore(&importers_lock, irq);
}

/*
 * Take a off its source's importers (arena_destroy); panics if arenas or
 * caches still import from a.
 */
void arena_importers_remove(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&importers_lock);

	if (!list_empty(&a->importer_arenas) || !list_empty(&a->reclaimers)) {
		spin_unlock_irqrestore(&importers_lock, irq);
		panic("arena_destroy: arenas or caches still import from it: arena '%s'",
		      a->name);
	}
	list_del(&a->importer_link);
	spin_unlock_irqrestore(&importers_lock, irq);
}

void arena_add_reclaim(struct arena *a, struct arena_reclaimer *r,
		       void (*fn)(void *arg), void *arg)
{
	unsigned long irq;

	r->fn = fn;
	r->arg = arg;
	irq = spin_lock_irqsave(&importers_lock);
	list_add_tail(&r->link, &a->reclaimers);
	spin_unlock_irqrestore(&importers_lock, irq);
}

void arena_remove_reclaim(struct arena *a, struct arena_reclaimer *r)
{
	unsigned long irq = spin_lock_irqsave(&importers_lock);

	assert(!list_empty(&a->reclaimers));
	list_del(&r->link);
	spin_unlock_irqrestore(&importers_lock, irq);
}

/*
 * Run a's importers' reclaim callbacks, deepest first, then a's own
 * (its caches' reaps). Called with importers_lock held, never a's lock:
 * the reaps take the caches' locks and give slabs back to their sources,
 * a among them.
 */
static void reclaim_importers_locked(struct arena *a, int depth)
{
	struct list_head *pos;

	assert_held(&importers_lock);
	assert_not_held(&a->lock);
	/* the importer chain is short (kpages -> base); bound it anyway */
	if (depth > 8)
		return;
	list_for_each (pos, &a->importer_arenas)
		reclaim_importers_locked(
			list_entry(pos, struct arena, importer_link),
			depth + 1);
	list_for_each (pos, &a->reclaimers) {
		struct arena_reclaimer *r =
			list_entry(pos, struct arena_reclaimer, link);

		r->fn(r->arg);
	}
}

/* The lock owner (arch_lock_owner) running a reclaim now, or 0. */
static int reclaimer;

void arena_reclaim(struct arena *a)
{
	int me = arch_lock_owner();

	/*
	 * One reclaim at a time. A caller that finds one running on another
	 * CPU waits for it to end, then runs its own: memory that CPU's reaps
	 * freed may already be taken again, and giving up would make a
	 * MEM_WAIT allocation panic while memory was on its way back. The one
	 * exception is a reclaim nested in this CPU's own (reaping frees
	 * memory, and a free can shrink a hash with an allocation that fails):
	 * that one goes without, as waiting for itself would never end.
	 */
	for (;;) {
		unsigned long irq = arch_irq_save();

		if (spin_trylock(&importers_lock)) {
			__atomic_store_n(&reclaimer, me, __ATOMIC_RELAXED);
			reclaim_importers_locked(a, 0);
			__atomic_store_n(&reclaimer, 0, __ATOMIC_RELAXED);
			spin_unlock_irqrestore(&importers_lock, irq);
			return;
		}
		arch_irq_restore(irq);
		if (__atomic_load_n(&reclaimer, __ATOMIC_RELAXED) == me)
			return;
		arch_cpu_relax();
	}
}
