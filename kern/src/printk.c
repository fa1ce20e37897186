/*
 * printk.c: formatted console output. The formatter (lib/kvsnprintf.c)
 * writes straight to the console through a sink, so a message has no
 * length limit; a lock keeps messages from different CPUs whole.
 */
#include "printk.h"
#include "arch.h"
#include "kprintf.h"
#include "spinlock.h"

static struct spinlock console_lock = SPINLOCK_INIT;

static void console_put(struct kfmt_sink *sink, const char *s, size_t n)
{
	(void)sink;
	if (!panic_capture(s, n))
		arch_console_write(s, n);
}

int vprintk(const char *fmt, va_list ap)
{
	struct kfmt_sink sink = { console_put };
	unsigned long flags = spin_lock_irqsave(&console_lock);
	int n = kvformat(&sink, fmt, ap);

	spin_unlock_irqrestore(&console_lock, flags);
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
