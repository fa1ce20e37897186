/*
 * arch.h: everything kern/ may ask of the machine.
 *
 * Two implementations: arch/x86_64 (the kernel under QEMU or on a PC) and
 * arch/host (a user-space process, so the same kern/ and lib/ code runs
 * under sanitizers, fuzzers and valgrind). kern/ includes nothing else
 * from arch/.
 */
#pragma once

#include "compiler.h"
/*
 * From arch/<arch>/include: constants (NR_CPUS, at least 64) and inlines
 * (arch_irq_save/restore, arch_cpu_id/slot, arch_cpu_relax,
 * arch_spin_wait).
 */
#include "arch_defs.h"

struct ktest;
struct mem_range;
struct boot_info;

/*
 * Registers captured at a trap or a panic. Opaque to kern/: only the arch
 * code that made it can print it or walk the stack from it.
 */
struct arch_regs;

/* Write len bytes to the console ("\n" becomes "\r\n" on a serial line). */
void arch_console_write(const char *buf, size_t len);

/*
 * Read one byte from the console, waiting for it (kernel: polls the
 * serial line; host: stdin). Returns the byte, or -1 at the end of input.
 */
int arch_console_getc(void);

/*
 * Leave the machine with a status: ARCH_EXIT_PASSED (0) means every test
 * passed, ARCH_EXIT_FAILED that some failed, ARCH_EXIT_NONE_RAN that the
 * command line's globs matched no test. The kernel asks QEMU to exit
 * through isa-debug-exit (see arch/x86_64/qemu.h for the codes); the host
 * process exits with 0, 1 and 2.
 */
#define ARCH_EXIT_PASSED 0
#define ARCH_EXIT_FAILED 1
#define ARCH_EXIT_NONE_RAN 2
__noreturn void arch_exit(int status);

/* Write part of a panic report: the console (kernel) or stderr (host). */
void arch_panic_write(const char *buf, size_t len);

/* Whether this is the real machine (false on the host): kernel-only tests. */
bool arch_on_hardware(void);

/* Stop after a panic report: QEMU exits with its panic code; host aborts. */
__noreturn void arch_panic_stop(void);

/*
 * The CPU that panics first stops the others before it reports (kernel:
 * an NMI each; host: nothing, the report ends the process), so the
 * report is the machine's only output. A CPU that panics while another
 * reports stops for good with arch_halt_cpu.
 */
void arch_panic_others(void);
__noreturn void arch_halt_cpu(void);

/*
 * Format the registers (regs, or the caller's own when NULL) and a
 * backtrace with symbol names into buf. Return the length written.
 */
size_t arch_format_registers(char *buf, size_t len,
			     const struct arch_regs *regs);
size_t arch_format_backtrace(char *buf, size_t len,
			     const struct arch_regs *regs);

/*
 * The return addresses of the calls active here, innermost first, into
 * pcs[0 .. max); returns how many. Frames the compiler inlined do not
 * appear. (The audit debug mode records allocators' callers with it.)
 */
int arch_stack_trace(uintptr_t *pcs, int max);

/*
 * Name return address pc for a report: "function+0x1c" where the symbol
 * is known, else its hex value. Returns the length written.
 */
size_t arch_format_pc(char *buf, size_t len, uintptr_t pc);

/*
 * Run a test that must panic, isolated from the rest of the run. Returns
 * KTEST_PASS, KTEST_FAIL or KTEST_SKIP; on SKIP, *reason says why. The
 * kernel skips (each one gets its own boot, `ktest_panic=<name>`); the host
 * runs it in a child process.
 */
int arch_run_panic_test(const struct ktest *t, const char **reason);

/*
 * The C library's vsnprintf, where there is one (host), so tests can hold
 * lib/kvsnprintf.c to it. Returns -1 and writes nothing in the kernel.
 */
int arch_libc_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/*
 * arch_cpu_id() (inline, arch_defs.h) is this CPU's number below NR_CPUS
 * (arch_defs.h), or -1 when it has none; arch_cpu_slot() is that
 * number plus one, without asking for a number: 0 where there is none
 * yet (the first arch_cpu_id() would hand one out) or none at all, so a
 * fast path indexes by it with no test. On the host each thread
 * is a CPU, and threads beyond NR_CPUS get -1 and a slower, locked path.
 * The host calls fn(cpu) when a thread that had a number exits, so its
 * per-CPU caches go back; the kernel's CPUs never leave.
 */
void arch_set_cpu_exit_hook(void (*fn)(int cpu));

/*
 * Make every CPU that runs this kernel (host: every thread of this
 * process) execute a full memory barrier before this returns. It lets a
 * fast path that only stores a flag and loads another, with no locked
 * instruction, be stopped safely by another CPU (kern/src/slab.c: the
 * magazine layer). Costly: for rare paths only.
 */
void arch_cpu_barrier(void);

/*
 * Start every CPU the firmware describes (as the command line allows:
 * `nosmp`, `maxcpus=N`), turn interrupts on, and print what runs. Called
 * once, after pmem_init (the CPUs' stacks come from kpages). The host
 * does nothing: its threads are its CPUs.
 */
void arch_cpus_init(const struct boot_info *bi);

/*
 * How many CPUs run this kernel: those arch_cpus_init started (host:
 * HOST_CPUS, the threads arch_cpu_call starts).
 */
int arch_cpus_online(void);

/*
 * Run fn(arg) on every online CPU, this one included, and return when all
 * have returned. fn runs as ordinary code with interrupts on (kernel: an
 * interrupt wakes each other CPU's idle loop, which calls it; host: a
 * thread per other CPU, each a CPU of its own while it runs). One call
 * at a time: a second caller waits. Not from interrupt context, and not
 * while holding a lock fn or the other CPUs may need.
 */
void arch_cpu_call(void (*fn)(void *arg), void *arg);

/*
 * Have fn(arg) called from this CPU's timer interrupt at every tick
 * (fn NULL: no more), for tests of allocation in interrupt context; and
 * this CPU's ticks so far. The host has no timer interrupt: the hook
 * returns false and the ticks stay 0.
 */
bool arch_timer_hook(void (*fn)(void *arg), void *arg);
uint64_t arch_timer_ticks(void);

/* What the machine knows of one CPU, for the monitor's and gdb's views. */
struct arch_cpu_info {
	uint32_t hw_id;	     /* x86_64: its local APIC ID */
	uint64_t ticks;	     /* timer interrupts taken */
	uint64_t interrupts; /* every interrupt taken */
	uint64_t nmis;	     /* NMIs (the barrier's and others) */
};

/* CPU cpu's information if it is online (cpu < arch_cpus_online()). */
bool arch_cpu_info(int cpu, struct arch_cpu_info *info);

/* Whether this CPU runs an interrupt (or NMI) handler now (host: never). */
bool arch_in_interrupt(void);

/* Time stamp counter (cycles on the kernel, a monotonic count on host). */
uint64_t arch_cycles(void);

/*
 * How many arch_cycles() make a millisecond (kernel: measured against the
 * PIT when the local APIC timer is calibrated; host: against the clock,
 * once). At least 1.
 */
uint64_t arch_cycles_per_ms(void);

/*
 * arch_irq_save() disables interrupts and returns the old state;
 * arch_irq_restore() puts it back. Inline, in arch_defs.h.
 */

/*
 * Make the usable ranges addressable at KADDR (x86_64: build the direct map
 * at ARCH_DIRECT_MAP_BASE and switch to it). Pages the arch takes for
 * itself (page tables) are cut out of ranges, which may change *nr (never
 * beyond max). The host does nothing: its memory is already mapped.
 */
void arch_memory_init(struct mem_range *ranges, size_t *nr, size_t max);

/* The kernel virtual address of physical address pa, and back. */
static inline void *KADDR(uint64_t pa)
{
	return (void *)(uintptr_t)(pa + ARCH_DIRECT_MAP_BASE);
}

static inline uint64_t PADDR(const void *va)
{
	return (uint64_t)(uintptr_t)va - ARCH_DIRECT_MAP_BASE;
}
