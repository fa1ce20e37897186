/*
 * spinlock.c: the reports of the lock assertions (spinlock.h), out of the
 * way of the code that checks: which lock, where, who holds it, and who
 * asked.
 */
#include "spinlock.h"
#include "printk.h"

void spin_assert_failed(const struct spinlock *l, bool want_held,
			const char *what, const char *file, int line,
			const char *func)
{
	int owner = __atomic_load_n(&l->locked, __ATOMIC_RELAXED);
	int self = arch_lock_owner();

	if (want_held && !owner)
		panic("%s failed at %s:%d in %s(): lock %p is not held (this is " ARCH_LOCK_OWNER
		      " %d)",
		      what, file, line, func, (const void *)l, self - 1);
	if (want_held)
		panic("%s failed at %s:%d in %s(): lock %p is held by " ARCH_LOCK_OWNER
		      " %d, not by this " ARCH_LOCK_OWNER " (%d)",
		      what, file, line, func, (const void *)l, owner - 1,
		      self - 1);
	panic("%s failed at %s:%d in %s(): lock %p is held by this " ARCH_LOCK_OWNER
	      " (%d)",
	      what, file, line, func, (const void *)l, self - 1);
}

void spin_lock_recursive(const struct spinlock *l)
{
	panic("spin_lock: lock %p is held by this " ARCH_LOCK_OWNER
	      " (%d) already: it would wait for itself forever",
	      (const void *)l, arch_lock_owner() - 1);
}
