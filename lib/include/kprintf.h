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
#include <stdint.h>

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

/*
 * bytes as the monitor's views print sizes, in at most 5 characters: up
 * to 1023 as they are, then K, M, G, T, P or E (powers of 1024) with one
 * decimal below 10 (1.5K, 9.9M) and none from 10 on (528K, 256M). Rounded
 * down, so 4K means at least 4096 bytes. Returns what ksnprintf does.
 */
int ksize_short(char *buf, size_t size, uint64_t bytes);

/* Room for what ksize_short writes, with the NUL ("1023", "9.9K"). */
#define KSIZE_SHORT_MAX 8
