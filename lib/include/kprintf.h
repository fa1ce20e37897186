/*
 * kprintf.h: printf-style formatting without libc, for kernel and host.
 *
 * Conversions: %d %i %u %x %X %o %p %s %c %%. Flags: - 0 + space #.
 * Width and precision, as digits or `*`. Length modifiers: hh h l ll z t j.
 * The output matches C's snprintf for all of these; %p prints like glibc
 * ("0x" and hex digits, "(nil)" for NULL), %s of NULL prints "(null)".
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

/* Where formatted text goes: put() is called with each piece in order. */
struct kfmt_sink {
	void (*put)(struct kfmt_sink *sink, const char *s, size_t n);
};

/* Format into a sink; returns the number of characters produced. */
int kvformat(struct kfmt_sink *sink, const char *fmt, va_list ap);

/*
 * Format into buf, writing at most size bytes including the terminating
 * NUL (nothing at all when size is 0). Returns the length the whole output
 * would have, so a result >= size means it was truncated.
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
