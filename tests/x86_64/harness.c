/*
 * harness.c: kernel-only tests that break the machine on purpose, so the
 * QEMU harness (tests/run_tests.py) can show that it reports a triple
 * fault and a hung kernel as failures with their reason, never as a pass.
 * They run only when the harness boots them alone (`ktest_panic=` with
 * `ktest_selftest`); in any other run they are skipped.
 */
#include "ktest.h"

KTEST_MUST_FAIL_PANICS(ktest_selftest, triple_fault,
		       "never printed: the CPU resets")
{
	/* An empty IDT: int3 cannot be delivered, nor #GP, nor #DF. */
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };

	__asm__ volatile("lidt %0; int3" : : "m"(empty));
}

KTEST_MUST_FAIL_PANICS(ktest_selftest, hang, "never printed: the kernel hangs")
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
