/*
 * panic.c: stop the kernel with a report.
 *
 * The report (message, registers, backtrace) is written to the console as
 * it is built and kept in a buffer, so that a test which expects this
 * panic (ktest.h: KTEST_PANICS) can check what it says, through the hook
 * the test runner sets. A panic while
 * panicking prints one line and stops at once.
 */
#include "printk.h"
#include "arch.h"
#include "kprintf.h"
#include "kstring.h"

#define REPORT_SIZE 8192

static char report[REPORT_SIZE];
static size_t report_len;
static int panicking;
static bool capturing; /* printk writes into the report (panic_details) */
static void (*panic_hook)(const char *report);

void panic_set_hook(void (*hook)(const char *report))
{
	panic_hook = hook;
}

/* Append text to the report and write it out. */
static void report_add(const char *s, size_t n)
{
	size_t room = sizeof(report) - 1 - report_len;
	size_t k = MIN(n, room);

	kmemcpy(report + report_len, s, k);
	report_len += k;
	report[report_len] = 0;
	arch_panic_write(s, n);
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
	static char buf[REPORT_SIZE];
	size_t n;

	arch_irq_save();
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_ACQ_REL)) {
		n = (size_t)kvsnprintf(buf, sizeof(buf), fmt, ap);
		arch_panic_write("panic: nested panic: ", 21);
		arch_panic_write(buf, MIN(n, sizeof(buf) - 1));
		arch_panic_write("\n", 1);
		arch_panic_stop();
	}
	report_add("panic: ", 7);
	n = (size_t)kvsnprintf(buf, sizeof(buf), fmt, ap);
	report_add(buf, MIN(n, sizeof(buf) - 1));
	report_add("\n", 1);
	if (details) {
		capturing = true;
		details();
		capturing = false;
	}
	n = arch_format_registers(buf, sizeof(buf), regs);
	report_add(buf, n);
	n = arch_format_backtrace(buf, sizeof(buf), regs);
	report_add(buf, n);
	if (panic_hook)
		panic_hook(report);
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
