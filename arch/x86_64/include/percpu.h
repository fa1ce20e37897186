/*
 * percpu.h: what the kernel keeps per CPU, reached through the GS base.
 *
 * Each CPU's IA32_GS_BASE points at its own struct cpu, whose first word
 * points at itself, so "this CPU" is one load from %gs:0 and its number is
 * one load from %gs:CPU_OFFSET_ID (arch_defs.h reads those offsets; the
 * static_asserts below keep them true). The boot CPU's GS base is set
 * first thing in arch_start64, before anything asks for a CPU number.
 */
#pragma once

#include "arch.h"
#include "assert.h"
#include "trap.h"

/* One CPU's descriptor tables: each has its own TSS, hence its own GDT. */
#define GDT_ENTRIES 5

struct cpu {
	struct cpu *self;  /* %gs:0 */
	int id;		   /* %gs:8: index in cpus[], below NR_CPUS */
	unsigned int slot; /* %gs:12: id + 1 */
	uint32_t apic_id;
	bool online;	     /* it runs kernel code and takes interrupts */
	uint64_t ticks;	     /* LAPIC timer interrupts taken */
	uint64_t interrupts; /* every interrupt taken (not exceptions) */
	void *stack_base;    /* the kernel stack: [stack_base, stack_top) */
	void *stack_top;
	uint64_t gdt[GDT_ENTRIES] __aligned(8);
	struct tss tss;
	uint8_t *double_fault_stack; /* IST1: its own stack (top) */
	/*
	 * arch_cpu_barrier (smp.c): requests other CPUs made of this one,
	 * and how many of them it has answered, in its NMI handler.
	 */
	uint64_t barrier_requests, barrier_answered;
	uint64_t nmis;	     /* NMIs taken */
	uint64_t calls_done; /* arch_cpu_call requests this CPU ran */
	int in_interrupt;    /* interrupt and NMI handlers running here */
	void (*tick_hook)(void *arg); /* arch_timer_hook */
	void *tick_arg;
};

static_assert(offsetof(struct cpu, self) == 0, "this_cpu() reads %gs:0");
static_assert(offsetof(struct cpu, id) == ARCH_CPU_OFFSET_ID,
	      "arch_cpu_id() reads %gs:ARCH_CPU_OFFSET_ID");
static_assert(offsetof(struct cpu, slot) == ARCH_CPU_OFFSET_SLOT,
	      "arch_cpu_slot() reads %gs:ARCH_CPU_OFFSET_SLOT");

extern struct cpu cpus[NR_CPUS];

/* How many CPUs are online (cpus[0 .. nr_cpus_online) in bring-up order). */
extern int nr_cpus_online;

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	__asm__("movq %%gs:0, %0" : "=r"(c));
	return c;
}

#define MSR_GS_BASE 0xc0000101

/* Point this CPU's GS base at c (and c at itself). */
void percpu_load(struct cpu *c, int id);

/*
 * The boot CPU's part, first thing in arch_start64: its GS base, GDT and
 * TSS, and the IDT.
 */
void smp_boot_cpu_early(void);

/* An NMI came (trap.c): answer barriers, or stop for a panic. */
void smp_nmi(struct arch_regs *regs);
