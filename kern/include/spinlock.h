/*
 * spinlock.h: the kernel's one lock primitive, on C11 atomics so the same
 * code runs in the kernel and on the host. spin_lock_irqsave() disables
 * interrupts first (kernel) so a handler on this CPU cannot deadlock on a
 * lock its CPU holds.
 *
 * A held lock's word says who holds it: arch_lock_owner(), never 0 (the
 * kernel: the CPU number plus one; the host: the thread's own lock number
 * plus one, which it keeps whether or not it has a CPU number). So
 * assert_held(l) checks that this CPU holds l, not merely that someone
 * does, and assert_not_held(l) that this CPU does not (another may); a
 * failure panics naming the lock, the place, its owner and this CPU. They
 * are on in the kernel and the host test builds (DEBUG_ASSERTS, assert.h);
 * in the release library they compile to nothing and a held lock's word
 * is 1, so the lock paths are the same instructions as without them.
 */
#pragma once

#include "arch.h"
#include "assert.h"

struct spinlock {
	int locked; /* 0: free; else its owner (1 in a release build) */
};

#define SPINLOCK_INIT \
	{             \
		0     \
	}

/* What a lock taken here holds in its word. */
static inline int spin_owner_here(void)
{
	return DEBUG_ASSERTS ? arch_lock_owner() : 1;
}

/*
 * The panics of the assertions (kern/src/spinlock.c): what names the lock
 * (assert_held(&a->lock)) and where the assertion is.
 */
__noreturn __attribute__((cold)) void
spin_assert_failed(const struct spinlock *l, bool want_held, const char *what,
		   const char *file, int line, const char *func);
__noreturn __attribute__((cold)) void
spin_lock_recursive(const struct spinlock *l);

/*
 * Take l if it is free; whether it is ours now. With the assertions on,
 * a compare-and-swap: an exchange would write this CPU's number into a
 * lock that another holds. Without them, an exchange of 1.
 */
static inline bool spin_take(struct spinlock *l)
{
	int free = 0;

	if (!DEBUG_ASSERTS)
		return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
	return __atomic_compare_exchange_n(&l->locked, &free, spin_owner_here(),
					   false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

/* The lock was taken: spin (reading, not writing) until it is ours. */
static __attribute__((noinline, cold)) void
spin_lock_contended(struct spinlock *l)
{
	unsigned int spins = 0;

	/* by this CPU: it would wait for itself forever */
	if (DEBUG_ASSERTS &&
	    __atomic_load_n(&l->locked, __ATOMIC_RELAXED) == spin_owner_here())
		spin_lock_recursive(l);

	do {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			arch_spin_wait(&spins);
	} while (!spin_take(l));
}

static inline void spin_lock(struct spinlock *l)
{
	if (unlikely(!spin_take(l)))
		spin_lock_contended(l);
}

static inline bool spin_trylock(struct spinlock *l)
{
	return spin_take(l);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(const struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED);
}

/* Whether this CPU holds l (only where DEBUG_ASSERTS: else, anyone). */
static inline bool spin_held_here(const struct spinlock *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED) ==
	       spin_owner_here();
}

/*
 * assert_held(l): this CPU holds l. assert_not_held(l): it does not. Both
 * compile to nothing without DEBUG_ASSERTS.
 */
#define assert_held(l)                                                       \
	do {                                                                 \
		if (DEBUG_ASSERTS && unlikely(!spin_held_here(l)))           \
			spin_assert_failed((l), true, "assert_held(" #l ")", \
					   __FILE__, __LINE__, __func__);    \
	} while (0)

#define assert_not_held(l)                                                \
	do {                                                              \
		if (DEBUG_ASSERTS && unlikely(spin_held_here(l)))         \
			spin_assert_failed((l), false,                    \
					   "assert_not_held(" #l ")",     \
					   __FILE__, __LINE__, __func__); \
	} while (0)

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
