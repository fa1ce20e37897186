/*
 * arch_defs.h (x86_64): the constants and inline functions of arch.h that
 * must be fast or known at compile time. kern/include/arch.h includes it;
 * arch/host/include has the host's version under the same name.
 */
#pragma once

#include "compiler.h"

/* All RAM is mapped here: KADDR(pa) = pa + ARCH_DIRECT_MAP_BASE. */
#define ARCH_DIRECT_MAP_BASE 0xffff800000000000ull

/* The most CPUs the per-CPU arrays hold (the design asks for 64 at least). */
#define NR_CPUS 64

/*
 * arch_memory_init takes the direct map's page tables from RAM below
 * this, which the boot page tables map; memreserve= must leave some
 * there (memmap.h).
 */
#define ARCH_BOOT_MEMORY_END (4ull << 30)

/* Disable interrupts, returning the old RFLAGS; restore them. */
static inline unsigned long arch_irq_save(void)
{
	unsigned long flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void arch_irq_restore(unsigned long flags)
{
	if (flags & (1ul << 9)) /* RFLAGS.IF */
		__asm__ volatile("sti" : : : "memory");
}

/* A hint inside a spin loop: pause. */
static inline void arch_cpu_relax(void)
{
	__builtin_ia32_pause();
}

/*
 * One turn of a loop that waits for another CPU (spins counts the turns,
 * from 0). A CPU here is never taken away from the one it waits for, so
 * it only pauses.
 */
static inline void arch_spin_wait(unsigned int *spins)
{
	(void)spins;
	__builtin_ia32_pause();
}

/*
 * Per-CPU data (percpu.h) is reached through the GS base: each CPU's
 * struct cpu holds its number at this offset and its slot at the next.
 */
#define ARCH_CPU_OFFSET_ID 8
#define ARCH_CPU_OFFSET_SLOT 12

/*
 * This CPU's number: one load. Not volatile, so the compiler may reuse
 * it: code never moves to another CPU while it runs (no preemption).
 */
static inline int arch_cpu_id(void)
{
	int id;

	__asm__("movl %%gs:%c1, %0" : "=r"(id) : "i"(ARCH_CPU_OFFSET_ID));
	return id;
}

/* arch_cpu_id() + 1: the CPU's slot in per-CPU arrays (0: no number). */
static inline unsigned int arch_cpu_slot(void)
{
	unsigned int slot;

	__asm__("movl %%gs:%c1, %0" : "=r"(slot) : "i"(ARCH_CPU_OFFSET_SLOT));
	return slot;
}

/* Who holds a spinlock (spinlock.h): this CPU's number plus one. */
static inline int arch_lock_owner(void)
{
	return (int)arch_cpu_slot();
}

/* What the number of a lock's owner counts, for reports. */
#define ARCH_LOCK_OWNER "CPU"
