/*
 * arch.c: the x86_64 kernel's side of kern/include/arch.h: console on the
 * serial line, leaving QEMU, registers and backtraces for panic reports,
 * interrupt state, the time stamp counter.
 */
#include "arch.h"
#include "apic.h"
#include "cpu.h"
#include "kprintf.h"
#include "ksyms.h"
#include "qemu.h"
#include "serial.h"
#include "trap.h"
#include "ktest.h"

#define KERNEL_HALF 0xffff800000000000ull
#define BACKTRACE_MAX_FRAMES 32

void qemu_exit(unsigned code)
{
	outb(QEMU_EXIT_PORT, (uint8_t)code);
}

void arch_console_write(const char *buf, size_t len)
{
	serial_write(buf, len);
}

int arch_console_getc(void)
{
	return serial_getc();
}

void arch_panic_write(const char *buf, size_t len)
{
	serial_write(buf, len);
}

bool arch_on_hardware(void)
{
	return true;
}

void arch_exit(int status)
{
	qemu_exit(status == ARCH_EXIT_PASSED   ? QEMU_EXIT_PASSED :
		  status == ARCH_EXIT_NONE_RAN ? QEMU_EXIT_NONE_RAN :
						 QEMU_EXIT_FAILED);
	/* Not under QEMU (or no isa-debug-exit): stop here. */
	halt_forever();
}

void arch_panic_stop(void)
{
	qemu_exit(QEMU_EXIT_PANIC);
	halt_forever();
}

int arch_libc_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	(void)buf, (void)size, (void)fmt, (void)ap;
	return -1;
}

uint64_t arch_cycles(void)
{
	return rdtsc();
}

uint64_t arch_cycles_per_ms(void)
{
	uint64_t n = apic_tsc_per_ms();

	return n ? n : 1;
}

#define WITH_MODES "panics: runs in its own boot with kmem_debug="

int arch_run_panic_test(const struct ktest *t, const char **reason)
{
	/* room for the longest modes a test may name (ktest.h) */
	static char with_modes[sizeof(WITH_MODES) + KTEST_MODES_MAX];

	*reason = "panics: runs in its own boot";
	if (t->kmem_debug) {
		/* the harness reads the words to add from here */
		ksnprintf(with_modes, sizeof(with_modes), WITH_MODES "%s",
			  t->kmem_debug);
		*reason = with_modes;
	}
	return KTEST_SKIP;
}

/* An appending formatter over a fixed buffer. */
struct text {
	char *buf;
	size_t len, used;
};

static void text_add(struct text *t, const char *fmt, ...) __printf(2, 3);

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->used + 1 >= t->len)
		return;
	va_start(ap, fmt);
	n = kvsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
	va_end(ap);
	t->used = MIN(t->used + (size_t)n, t->len - 1);
}

static uint64_t read_cr(int which)
{
	uint64_t v = 0;

	if (which == 0)
		__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	else if (which == 4)
		__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

/* The general registers in the order a register dump prints them. */
static const struct {
	char name[4];
	unsigned short offset;
} dump_regs[] = {
	{ "rax", offsetof(struct arch_regs, rax) },
	{ "rbx", offsetof(struct arch_regs, rbx) },
	{ "rcx", offsetof(struct arch_regs, rcx) },
	{ "rdx", offsetof(struct arch_regs, rdx) },
	{ "rsi", offsetof(struct arch_regs, rsi) },
	{ "rdi", offsetof(struct arch_regs, rdi) },
	{ "rbp", offsetof(struct arch_regs, rbp) },
	{ "rsp", offsetof(struct arch_regs, rsp) },
	{ "r8", offsetof(struct arch_regs, r8) },
	{ "r9", offsetof(struct arch_regs, r9) },
	{ "r10", offsetof(struct arch_regs, r10) },
	{ "r11", offsetof(struct arch_regs, r11) },
	{ "r12", offsetof(struct arch_regs, r12) },
	{ "r13", offsetof(struct arch_regs, r13) },
	{ "r14", offsetof(struct arch_regs, r14) },
	{ "r15", offsetof(struct arch_regs, r15) },
	{ "rip", offsetof(struct arch_regs, rip) },
};

size_t arch_format_registers(char *buf, size_t len, const struct arch_regs *r)
{
	struct text t = { buf, len, 0 };

	if (len)
		buf[0] = 0;
	if (r) {
		/* three to a line: "rax 0000000000000001 rbx ..." */
		for (size_t i = 0; i < ARRAY_SIZE(dump_regs); i++) {
			const uint64_t *v = (const void *)((const char *)r +
							   dump_regs[i].offset);

			text_add(&t, "%-3s %016llx%s", dump_regs[i].name,
				 (unsigned long long)*v,
				 i % 3 == 2 ? "\n" : " ");
		}
		text_add(&t, "rflags %08llx\ncs %04llx ss %04llx ",
			 (unsigned long long)r->rflags,
			 (unsigned long long)r->cs, (unsigned long long)r->ss);
	} else {
		uintptr_t frame = (uintptr_t)__builtin_frame_address(0);

		text_add(&t, "rsp %016llx rbp %016llx rflags %08llx\n",
			 (unsigned long long)frame, (unsigned long long)frame,
			 (unsigned long long)read_rflags());
	}
	text_add(&t, "cr0 %08llx cr2 %016llx cr3 %016llx cr4 %08llx\n",
		 (unsigned long long)read_cr(0), (unsigned long long)read_cr2(),
		 (unsigned long long)read_cr3(),
		 (unsigned long long)read_cr(4));
	return t.used;
}

/*
 * One line of a backtrace. A return address points after its call, which
 * may be past the end of a function that never returns: name pc - 1.
 */
static void add_frame(struct text *t, int depth, uint64_t pc,
		      bool return_address)
{
	uint64_t offset;
	const char *fn = ksym_lookup(pc - return_address, &offset);

	if (fn)
		text_add(t, "  #%-2d %016llx %s+0x%llx\n", depth,
			 (unsigned long long)pc, fn,
			 (unsigned long long)(offset + return_address));
	else
		text_add(t, "  #%-2d %016llx ?\n", depth,
			 (unsigned long long)pc);
}

/*
 * Walk the frame-pointer chain: each frame holds the caller's rbp at
 * [rbp] and the return address at [rbp + 8]. Stop at rbp 0 (boot.asm
 * clears it), at anything outside the kernel half or not aligned, at a
 * frame that does not move up the stack, or after 32 frames.
 */
size_t arch_format_backtrace(char *buf, size_t len, const struct arch_regs *r)
{
	struct text t = { buf, len, 0 };
	const uint64_t *fp;
	int depth = 0;

	if (len)
		buf[0] = 0;
	text_add(&t, "backtrace:\n");
	if (r) {
		add_frame(&t, depth++, r->rip, false);
		fp = (const uint64_t *)r->rbp;
	} else {
		fp = __builtin_frame_address(0);
	}
	while (depth < BACKTRACE_MAX_FRAMES && (uint64_t)fp >= KERNEL_HALF &&
	       IS_ALIGNED((uint64_t)fp, 8) && fp[1] != 0) {
		const uint64_t *next = (const uint64_t *)fp[0];

		add_frame(&t, depth++, fp[1], true);
		if (next <= fp)
			break;
		fp = next;
	}
	return t.used;
}

int arch_stack_trace(uintptr_t *pcs, int max)
{
	const uint64_t *fp = __builtin_frame_address(0);
	int n = 0;

	/* the same walk, and the same stops, as arch_format_backtrace */
	while (n < max && (uint64_t)fp >= KERNEL_HALF &&
	       IS_ALIGNED((uint64_t)fp, 8) && fp[1] != 0) {
		const uint64_t *next = (const uint64_t *)fp[0];

		pcs[n++] = fp[1];
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

size_t arch_format_pc(char *buf, size_t len, uintptr_t pc)
{
	uint64_t offset;
	/* a return address may lie past the end of a noreturn call's
	 * function: look up pc - 1 */
	const char *fn = ksym_lookup(pc - 1, &offset);
	int n = fn ? ksnprintf(buf, len, "%s+0x%llx", fn,
			       (unsigned long long)(offset + 1)) :
		     ksnprintf(buf, len, "0x%llx", (unsigned long long)pc);

	return MIN((size_t)n, len ? len - 1 : 0);
}

void arch_set_cpu_exit_hook(void (*fn)(int cpu))
{
	(void)fn; /* the kernel's CPUs never exit */
}

void arch_halt_cpu(void)
{
	halt_forever();
}
