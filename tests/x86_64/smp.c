/*
 * smp.c: the x86_64 side of many CPUs: per-CPU data through GS, the
 * start page taken away after bring-up, the stack canary, and a fault on
 * one CPU stopping all of them. (tests/kern/smp.c has the allocators on
 * every CPU.)
 */
#include "ktest.h"
#include "arch.h"
#include "paging.h"
#include "percpu.h"

struct ids {
	int id[NR_CPUS];
	int slot[NR_CPUS];
	uint32_t apic[NR_CPUS];
	bool seen[NR_CPUS];
	bool in_interrupt[NR_CPUS];
};

static void ids_body(void *arg)
{
	struct ids *ids = arg;
	struct cpu *c = this_cpu();

	ids->id[c->id] = arch_cpu_id();
	ids->slot[c->id] = (int)arch_cpu_slot();
	ids->apic[c->id] = c->apic_id;
	ids->seen[c->id] = true;
	ids->in_interrupt[c->id] = arch_in_interrupt();
}

KTEST_KERNEL(smp, each_cpu_knows_itself)
{
	static struct ids ids;
	int n = arch_cpus_online();

	KT_ASSERT_EQ(ktest_on_each_cpu(ids_body, &ids), n);
	for (int i = 0; i < n; i++) {
		KT_EXPECT_TRUE(ids.seen[i]);
		/* a call runs as ordinary code, with no handler below it */
		KT_EXPECT_FALSE(ids.in_interrupt[i]);
		KT_EXPECT_EQ(ids.id[i], i);
		KT_EXPECT_EQ(ids.slot[i], i + 1);
		KT_EXPECT_TRUE(cpus[i].online);
		KT_EXPECT_EQ(ids.apic[i], cpus[i].apic_id);
		for (int j = 0; j < i; j++)
			KT_EXPECT_NE(ids.apic[i], ids.apic[j]);
		/* each AP's stack is its own, and has its canary */
		KT_EXPECT_EQ(*(uint64_t *)cpus[i].stack_base,
			     0x5ca1ab1e0ddba11ull);
	}
	/* the timer ticks here: the count moves while this CPU waits */
	{
		uint64_t t = arch_timer_ticks();

		for (unsigned long spins = 0;
		     arch_timer_ticks() == t && spins < 1000000000ul; spins++)
			__asm__ volatile("sti; hlt" ::: "memory");
		KT_EXPECT_GT(arch_timer_ticks(), t);
	}
}

KTEST_KERNEL(smp, no_page_below_1_mib_stays_mapped)
{
	uint64_t pa, size;

	/* the start page was mapped at its own address only while CPUs came
	 * up: nothing in the low 1 MiB (the user half) is mapped now */
	for (uint64_t va = 0x1000; va < 0x100000; va += 0x1000)
		KT_EXPECT_FALSE(paging_translate(va, &pa, &size));
}

KTEST_KERNEL_PANICS(smp, stack_overflow_caught_by_the_timer, "CPU ",
		    ": stack overflow: the canary at the bottom of its stack")
{
	*(volatile uint64_t *)this_cpu()->stack_base = 0;
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}

/*
 * The last CPU faults while every other one spins with interrupts off:
 * one report, naming the CPU that faulted, and the machine stops (the
 * others by NMI, which their interrupts-off loop cannot refuse).
 */
static void fault_body(void *arg)
{
	(void)arg;
	if (arch_cpu_id() == arch_cpus_online() - 1)
		__asm__ volatile("ud2");
	arch_irq_save();
	for (;;)
		arch_cpu_relax();
}

KTEST_KERNEL_PANICS(smp, fault_on_one_cpu_stops_every_cpu, "CPU ",
		    ": Invalid Opcode (#UD) at rip")
{
	ktest_on_each_cpu(fault_body, NULL);
}
