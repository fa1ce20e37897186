/*
 * slab_resize.c: growing a cache's magazines while its CPUs use them,
 * part of §4 of the theory statement in slab.c (magazines and the
 * depot): the resize holds every CPU at once, as §6's visitor holds one.
 */
#include "slab_impl.h"
#include "assert.h"

/* One resize at a time, machine-wide: it holds every CPU of a cache. */
static struct spinlock grow_lock = SPINLOCK_INIT;

/* What a resize took from the CPUs, drained once they are let go. */
static struct {
	struct kmem_magazine *loaded, *previous;
	long rounds, prev_rounds;
} grow_taken[NR_CPUS + 1];

/*
 * Hold every CPU slot of cp at once, as cpu_cache_enter holds one: each
 * lock, rounds exchanged for HELD, one barrier for all, every busy seen
 * 0; again while an exchange finds a count a late push or pop stored.
 */
static void cpus_hold_all(struct kmem_cache *cp)
{
	bool again = true;

	for (int slot = 1; slot <= NR_CPUS; slot++) {
		struct kmem_cpu_cache *cc = &cp->cpu[slot];

		spin_lock(&cc->lock);
		grow_taken[slot].rounds = rounds_unfold(
			cp, __atomic_exchange_n(&cc->rounds, KMEM_ROUNDS_HELD,
						__ATOMIC_ACQ_REL));
	}
	while (again) {
		again = false;
		arch_cpu_barrier();
		for (int slot = 1; slot <= NR_CPUS; slot++) {
			struct kmem_cpu_cache *cc = &cp->cpu[slot];
			unsigned int spins = 0;
			long now;

			while (__atomic_load_n(&cc->busy, __ATOMIC_ACQUIRE))
				arch_spin_wait(&spins);
			now = __atomic_exchange_n(&cc->rounds, KMEM_ROUNDS_HELD,
						  __ATOMIC_ACQ_REL);
			if (now != KMEM_ROUNDS_HELD) {
				grow_taken[slot].rounds =
					rounds_unfold(cp, now);
				again = true;
			}
		}
	}
}

bool kmem_cache_magazine_grow(struct kmem_cache *cp)
{
	struct kmem_cache *old_mc, *new_mc;
	struct kmem_magazine *full, *empty, *next;
	size_t old_size = cache_mag_size(cp), new_size;
	unsigned long irq;

	if (!old_size || arch_in_interrupt() ||
	    !magazine_type_larger(old_size, &new_size, &new_mc))
		return false;
	irq = arch_irq_save();
	if (!spin_trylock(&grow_lock)) {
		arch_irq_restore(irq);
		return false;
	}
	if (cache_mag_size(cp) != old_size) { /* another resize came first */
		spin_unlock_irqrestore(&grow_lock, irq);
		return false;
	}
	old_mc = cp->mag_cache; /* only a resize changes it: none runs */
	cpus_hold_all(cp);
	for (int slot = 1; slot <= NR_CPUS; slot++) {
		struct kmem_cpu_cache *cc = &cp->cpu[slot];

		grow_taken[slot].loaded = cc->loaded;
		grow_taken[slot].previous = cc->previous;
		grow_taken[slot].prev_rounds = cc->prev_rounds;
		cc->loaded = cc->previous = NULL;
		cc->prev_rounds = -1;
	}
	spin_lock(&cp->depot.lock);
	full = cp->depot.full;
	empty = cp->depot.empty;
	cp->depot.full = cp->depot.empty = NULL;
	cp->depot.nr_full = cp->depot.nr_empty = 0;
	/* no magazine of the old size is left anywhere: the size may change */
	__atomic_store_n(&cp->mag_size, new_size, __ATOMIC_RELAXED);
	__atomic_store_n(&cp->mag_cache, new_mc, __ATOMIC_RELAXED);
	cp->resizes++;
	__atomic_store_n(
		&cp->depot.contended_at_resize,
		__atomic_load_n(&cp->depot.contended, __ATOMIC_RELAXED),
		__ATOMIC_RELAXED);
	spin_unlock(&cp->depot.lock);
	for (int slot = NR_CPUS; slot >= 1; slot--) {
		struct kmem_cpu_cache *cc = &cp->cpu[slot];

		__atomic_store_n(&cc->rounds, rounds_fold(cp, -1),
				 __ATOMIC_RELEASE);
		spin_unlock(&cc->lock);
	}
	for (int slot = 1; slot <= NR_CPUS; slot++) {
		if (grow_taken[slot].loaded)
			magazine_drain(cp, old_mc, grow_taken[slot].loaded,
				       grow_taken[slot].rounds);
		if (grow_taken[slot].previous)
			magazine_drain(cp, old_mc, grow_taken[slot].previous,
				       grow_taken[slot].prev_rounds);
	}
	for (; full; full = next) {
		next = full->next;
		magazine_drain(cp, old_mc, full, (long)old_size);
	}
	for (; empty; empty = next) {
		next = empty->next;
		kmem_cache_free(old_mc, empty);
	}
	spin_unlock_irqrestore(&grow_lock, irq);
	return true;
}
