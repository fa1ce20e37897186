/*
 * arch_defs.h (host): the constants and inline functions of arch.h for a
 * user-space process. Its "physical" memory is memory it mapped itself,
 * so the direct map is the identity, and there are no interrupts to mask.
 */
#pragma once

#include "compiler.h"

#define ARCH_DIRECT_MAP_BASE 0ull

/* Threads that get a CPU number of their own; later ones share a slow path. */
#define NR_CPUS 64

/* Boot memory may lie anywhere: the process maps its own (memmap.h). */
#define ARCH_BOOT_MEMORY_END (~0ull)

static inline unsigned long arch_irq_save(void)
{
	return 0;
}

static inline void arch_irq_restore(unsigned long flags)
{
	(void)flags;
}

/* A hint inside a spin loop: the CPU's own where the compiler knows it. */
static inline void arch_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/*
 * One turn of a loop that waits for another thread (spins counts the
 * turns, from 0). A thread, unlike a CPU, can be descheduled: with more
 * threads than cores, the lock holder or the owner a visitor waits for
 * may not be running at all, and spinning would burn the rest of the
 * time slice it needs. So pause HOST_SPINS_BEFORE_YIELD times, then give
 * the core away on each turn.
 */
#define HOST_SPINS_BEFORE_YIELD 16

int sched_yield(void);

static inline void arch_spin_wait(unsigned int *spins)
{
	if (*spins < HOST_SPINS_BEFORE_YIELD) {
		++*spins;
		arch_cpu_relax();
	} else {
		sched_yield();
	}
}

/*
 * Each thread is a CPU: its number lives in thread-local storage, -1
 * until it first asks, -2 when all NR_CPUS numbers were taken; its slot
 * (the number plus one, 0 while it has none) beside it.
 */
/*
 * local-exec: libkmem.a is linked into programs, never into a shared
 * library, so the fast paths read the slot in one instruction.
 */
extern __thread int host_cpu __attribute__((tls_model("local-exec")));
extern __thread unsigned int host_cpu_slot
	__attribute__((tls_model("local-exec")));
int host_cpu_assign(void);

/* This thread's CPU number plus one if it has one yet, else 0. */
static inline unsigned int arch_cpu_slot(void)
{
	return host_cpu_slot;
}

static inline int arch_cpu_id(void)
{
	int cpu = host_cpu;

	if (__builtin_expect(cpu >= 0, 1))
		return cpu;
	return cpu == -1 ? host_cpu_assign() : -1;
}

/*
 * Who holds a spinlock (spinlock.h): a number the thread gets the first
 * time it takes a lock, plus one, kept until it exits. Not its CPU
 * number: a thread may have none, or get one while it holds a lock, and
 * numbers are reused when threads exit.
 */
extern __thread int host_lock_owner __attribute__((tls_model("local-exec")));
int host_lock_owner_assign(void);

static inline int arch_lock_owner(void)
{
	int owner = host_lock_owner;

	if (__builtin_expect(owner != 0, 1))
		return owner;
	return host_lock_owner_assign();
}

/* What the number of a lock's owner counts, for reports. */
#define ARCH_LOCK_OWNER "thread"
