/*
 * arch.c: tests of the machine layer that need the hardware: exceptions
 * reach the IDT and are reported with their name, address and backtrace.
 */
#include "ktest.h"
#include "arch.h"
#include "assert.h"

/* Canonical, in the lower half, and mapped by nothing the kernel builds. */
#define UNMAPPED_ADDRESS 0x0000100000000000ull

KTEST_KERNEL_PANICS(arch, page_fault_report, "Page Fault (#PF)",
		    "cr2 0x100000000000", "page not present, write",
		    "ktest_arch_page_fault_report+")
{
	*(volatile uint64_t *)UNMAPPED_ADDRESS = 1;
}

KTEST_KERNEL_PANICS(arch, invalid_opcode_report, "Invalid Opcode (#UD)",
		    "ktest_arch_invalid_opcode_report+")
{
	__builtin_trap();
}

KTEST(arch, cycles_advance)
{
	uint64_t a = arch_cycles(), b = arch_cycles();

	KT_EXPECT_GT(b, a);
}

KTEST_PANICS(arch, assert_names_condition, "assertion failed: 1 + 1 == 3",
	     "tests/kern/arch.c:")
{
	assert(1 + 1 == 3);
}
