/*
 * printk.c: formatted console output. The formatter (lib/kvsnprintf.c)
 * writes straight to the console through a sink, so a message has no
 * length limit; a lock keeps messages from different CPUs whole.
 *
 * Two things for the test runner: a line prefix (while a test runs, each
 * line it prints becomes a KTAP diagnostic, "    # ...") and a capture
 * (a test keeps a copy of what is printed, to check a report's text).
 */
#include "panic.h"
#include "printk.h"
#include "arch.h"
#include "kprintf.h"
#include "kstring.h"
#include "spinlock.h"

static struct spinlock console_lock = SPINLOCK_INIT;
static const char *line_prefix; /* NULL: none */
static bool mid_line;		/* the last text written ended no line */
static int mid_line_cpu;	/* and which CPU wrote it */

/*
 * Take the console: interrupts off, then the lock. A CPU that panics
 * writes its report while the others are stopped, wherever they are: one
 * of them may hold the lock, so it goes on without.
 */
static unsigned long console_take(bool *locked)
{
	unsigned long flags = arch_irq_save();

	while (!(*locked = spin_trylock(&console_lock))) {
		if (panic_on_this_cpu())
			break;
		arch_cpu_relax();
	}
	return flags;
}

static void console_give(bool locked, unsigned long flags)
{
	if (locked)
		spin_unlock(&console_lock);
	arch_irq_restore(flags);
}
static struct {
	char *buf;
	size_t size, len; /* len: all captured, even past size - 1 */
} capture;

static void capture_add(const char *s, size_t n)
{
	if (capture.buf && capture.len + 1 < capture.size) {
		size_t k = MIN(n, capture.size - 1 - capture.len);

		kmemcpy(capture.buf + capture.len, s, k);
		capture.buf[capture.len + k] = 0;
	}
	if (capture.buf)
		capture.len += n;
}

/* Write s to the console, the line prefix before each line it begins. */
static void console_write_lines(const char *s, size_t n)
{
	while (n) {
		const char *nl = s;
		size_t k;

		while (nl < s + n && *nl != '\n')
			nl++;
		k = (size_t)(nl - s) + (nl < s + n);
		if (mid_line && mid_line_cpu != arch_cpu_id()) {
			/* another CPU's line is unfinished: never join it */
			arch_console_write("\n", 1);
			mid_line = false;
		}
		if (!mid_line && line_prefix)
			arch_console_write(line_prefix, kstrlen(line_prefix));
		arch_console_write(s, k);
		mid_line = s[k - 1] != '\n';
		mid_line_cpu = arch_cpu_id();
		s += k;
		n -= k;
	}
}

static void console_put(struct kfmt_sink *sink, const char *s, size_t n)
{
	(void)sink;
	if (panic_capture(s, n))
		return;
	capture_add(s, n);
	console_write_lines(s, n);
}

int vprintk(const char *fmt, va_list ap)
{
	struct kfmt_sink sink = { console_put };
	bool locked;
	unsigned long flags = console_take(&locked);
	int n = kvformat(&sink, fmt, ap);

	console_give(locked, flags);
	return n;
}

int printk(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(fmt, ap);
	va_end(ap);
	return n;
}

void printk_set_line_prefix(const char *prefix)
{
	bool locked;
	unsigned long flags = console_take(&locked);

	if (mid_line)
		console_write_lines("\n", 1);
	line_prefix = prefix;
	console_give(locked, flags);
}

void printk_capture_begin(char *buf, size_t size)
{
	bool locked;
	unsigned long flags = console_take(&locked);

	capture.buf = size ? buf : NULL;
	capture.size = size;
	capture.len = 0;
	if (size)
		buf[0] = 0;
	console_give(locked, flags);
}

size_t printk_capture_end(void)
{
	bool locked;
	unsigned long flags = console_take(&locked);
	size_t len = capture.len;

	capture.buf = NULL;
	console_give(locked, flags);
	return len;
}
