/*
 * locks.c: the lock assertions (spinlock.h) are on in this build, pass
 * where this CPU holds the lock (or does not, for assert_not_held), and
 * panic naming the lock, the place and the owner where it does not. The
 * host runs the tests that need a second thread (arch/host/ktest_host.c,
 * suite host_locks).
 */
#define KTEST_NEEDS_BASE (1ul << 20) /* one arena */
#include "ktest.h"
#include "arena.h"
#include "arena_impl.h"
#include "assert.h"
#include "page.h"
#include "spinlock.h"

/* On in the kernel and the test builds: only libkmem.a leaves them out. */
KTEST(locks, assertions_on_in_this_build)
{
	KT_EXPECT_EQ(DEBUG_ASSERTS, 1);
}

/* A held lock's word is this CPU's owner number; a free one's is 0. */
KTEST(locks, word_names_owner)
{
	struct spinlock l = SPINLOCK_INIT;
	unsigned long irq;

	KT_EXPECT_FALSE(spin_held_here(&l));
	irq = spin_lock_irqsave(&l);
	KT_EXPECT_EQ(l.locked, arch_lock_owner());
	KT_EXPECT_NE(l.locked, 0);
	KT_EXPECT_TRUE(spin_held_here(&l));
	spin_unlock_irqrestore(&l, irq);
	KT_EXPECT_EQ(l.locked, 0);
	KT_EXPECT_FALSE(spin_held_here(&l));
}

KTEST(locks, held_passes_when_held_here)
{
	struct spinlock l = SPINLOCK_INIT;
	unsigned long irq = spin_lock_irqsave(&l);

	assert_held(&l);
	spin_unlock_irqrestore(&l, irq);
	KT_EXPECT_TRUE(spin_trylock(&l));
	assert_held(&l);
	KT_EXPECT_FALSE(spin_trylock(&l));
	/* the failed trylock left the owner as it was */
	assert_held(&l);
	spin_unlock(&l);
}

KTEST(locks, not_held_passes_when_free)
{
	struct spinlock l = SPINLOCK_INIT;

	assert_not_held(&l);
	spin_lock(&l);
	spin_unlock(&l);
	assert_not_held(&l);
}

KTEST_PANICS(locks, held_panics_when_free, "assert_held(&l) failed at ",
	     "tests/kern/locks.c:", "in ktest_locks_held_panics_when_free()",
	     "is not held (this is ")
{
	struct spinlock l = SPINLOCK_INIT;

	assert_held(&l);
}

KTEST_PANICS(locks, not_held_panics_when_held_here,
	     "assert_not_held(&l) failed at ", "tests/kern/locks.c:",
	     "in ktest_locks_not_held_panics_when_held_here()",
	     "is held by this ")
{
	struct spinlock l = SPINLOCK_INIT;

	spin_lock(&l);
	assert_not_held(&l);
}

/* Taking a lock this CPU holds would spin forever: it panics instead. */
KTEST_PANICS(locks, relock_panics, "spin_lock: lock ", "is held by this ",
	     "already: it would wait for itself forever")
{
	static struct spinlock l = SPINLOCK_INIT;

	spin_lock(&l);
	spin_lock(&l);
}

/*
 * The mistake the assertions are for: calling an arena while holding its
 * lock. It panics, naming the lock, where it would have hung.
 */
KTEST_PANICS(locks, arena_called_with_its_lock_held_panics, "spin_lock: lock ",
	     "is held by this ", "already: it would wait for itself forever")
{
	/* a range of numbers, never touched */
	struct arena *a =
		arena_create("locks_relock", (void *)0x100000000000, 1ul << 20,
			     PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);

	KT_ASSERT_NOT_NULL(a);
	spin_lock(&a->lock);
	arena_alloc(a, PGSIZE, MEM_WAIT);
}
