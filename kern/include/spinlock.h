/*
 * spinlock.h: the kernel's one lock primitive, on C11 atomics so the same
 * code runs in the kernel and on the host. spin_lock_irqsave() disables
 * interrupts first (kernel) so a handler on this CPU cannot deadlock on a
 * lock its CPU holds.
 */
#pragma once

#include "arch.h"

struct spinlock {
	int locked;
};

#define SPINLOCK_INIT \
	{             \
		0     \
	}

/* The lock was taken: spin (reading, not writing) until it is ours. */
static __attribute__((noinline, cold)) void
spin_lock_contended(struct spinlock *l)
{
	do {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			arch_cpu_relax();
	} while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE));
}

static inline void spin_lock(struct spinlock *l)
{
	if (unlikely(__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)))
		spin_lock_contended(l);
}

static inline bool spin_trylock(struct spinlock *l)
{
	return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(const struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED);
}

static inline unsigned long spin_lock_irqsave(struct spinlock *l)
{
	unsigned long flags = arch_irq_save();

	spin_lock(l);
	return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *l,
					  unsigned long flags)
{
	spin_unlock(l);
	arch_irq_restore(flags);
}
