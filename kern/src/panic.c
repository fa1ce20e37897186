/*
 * panic.c: stop the kernel with a report.
 *
 * The report (message, registers, backtrace) is written to the console as
 * it is built, piece by piece, and each piece is handed to the hook the
 * test runner sets, so that a test which expects this panic
 * (ktest.h: KTEST_PANICS) can check what it says. No part of the report
 * is formatted into a buffer that could cut it, but for the registers and
 * the backtrace (ARCH_TEXT_MAX, whose bound is below). A panic while
 * panicking prints one line and stops at once.
 */
#include "panic.h"
#include "arch.h"
#include "printk.h"
#include "kprintf.h"
#include "kstring.h"

/*
 * Room for arch_format_registers (at most 8 lines of 64 characters) and
 * arch_format_backtrace (a heading and at most 32 frames, each "  #nn ",
 * 16 hex digits and a symbol+0xoffset): 32 frames of 256 characters. Only
 * symbol names of 200 characters and more could fill it; the report would
 * then say it was cut (report_arch_text).
 */
#define ARCH_TEXT_MAX 8192

static int panicking;
static bool capturing; /* printk writes into the report (panic_details) */
static void (*panic_hook_text)(const char *s, size_t n);
static void (*panic_hook_end)(void);

bool panic_on_this_cpu(void)
{
	return __atomic_load_n(&panicking, __ATOMIC_ACQUIRE) ==
	       arch_lock_owner();
}

void panic_set_hook(void (*text)(const char *s, size_t n), void (*end)(void))
{
	panic_hook_text = text;
	panic_hook_end = end;
}

/* Write text out as part of the report, and show it to the hook. */
static void report_add(const char *s, size_t n)
{
	arch_panic_write(s, n);
	if (panic_hook_text)
		panic_hook_text(s, n);
}

static void report_put(struct kfmt_sink *sink, const char *s, size_t n)
{
	(void)sink;
	report_add(s, n);
}

static void nested_put(struct kfmt_sink *sink, const char *s, size_t n)
{
	(void)sink;
	arch_panic_write(s, n);
}

/* Text the arch formatted into buf: should it ever fill buf, say so. */
static void report_arch_text(const char *buf, size_t n)
{
	static const char cut[] = "\n(cut here: more than ARCH_TEXT_MAX)\n";

	report_add(buf, n);
	if (n >= ARCH_TEXT_MAX - 1)
		report_add(cut, sizeof(cut) - 1);
}

bool panic_capture(const char *s, size_t n)
{
	if (!capturing)
		return false;
	report_add(s, n);
	return true;
}

static __noreturn void vpanic_regs(const struct arch_regs *regs,
				   void (*details)(void), const char *fmt,
				   va_list ap)
{
	static char buf[ARCH_TEXT_MAX];
	struct kfmt_sink nested = { nested_put }, sink = { report_put };
	size_t n;
	int me = arch_lock_owner(), first;

	arch_irq_save();
	first = __atomic_exchange_n(&panicking, me, __ATOMIC_ACQ_REL);
	if (first == me) {
		arch_panic_write("panic: nested panic: ", 21);
		kvformat(&nested, fmt, ap);
		arch_panic_write("\n", 1);
		arch_panic_stop();
	}
	if (first) /* another CPU reports: one report, one exit status */
		arch_halt_cpu();
	arch_panic_others();
	report_add("panic: ", 7);
	kvformat(&sink, fmt, ap);
	report_add("\n", 1);
	if (details) {
		capturing = true;
		details();
		capturing = false;
	}
	n = arch_format_registers(buf, sizeof(buf), regs);
	report_arch_text(buf, n);
	n = arch_format_backtrace(buf, sizeof(buf), regs);
	report_arch_text(buf, n);
	if (panic_hook_end)
		panic_hook_end();
	arch_panic_stop();
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpanic_regs(NULL, NULL, fmt, ap);
}

void panic_details(void (*details)(void), const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpanic_regs(NULL, details, fmt, ap);
}

void panic_regs(const struct arch_regs *regs, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpanic_regs(regs, NULL, fmt, ap);
}
