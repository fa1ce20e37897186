/*
 * kstring.h: freestanding string and memory helpers for kernel and host.
 *
 * They carry a `k` prefix so a host build never replaces libc's own. The
 * kernel also defines memcpy/memset/memmove/memcmp (arch/x86_64/libc.c),
 * because the compiler may emit calls to them.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void *kmemcpy(void *dst, const void *src, size_t n);
void *kmemmove(void *dst, const void *src, size_t n);
void *kmemset(void *dst, int c, size_t n);
int kmemcmp(const void *a, const void *b, size_t n);
size_t kstrlen(const char *s);
size_t kstrnlen(const char *s, size_t max);
int kstrcmp(const char *a, const char *b);
int kstrncmp(const char *a, const char *b, size_t n);
char *kstrchr(const char *s, int c);
char *kstrstr(const char *haystack, const char *needle);

/*
 * Copy at most size - 1 bytes of src into dst and terminate it (size > 0).
 * Returns kstrlen(src), so a result >= size means it was cut short.
 */
size_t kstrlcpy(char *dst, const char *src, size_t size);

/*
 * Shell-style match of the whole of str against pattern: `*` matches any
 * run of characters (also none), `?` any one character; nothing else is
 * special.
 */
bool kglob_match(const char *pattern, const char *str);

/*
 * Parse an unsigned number: decimal, or hex with a 0x prefix. Stops at the
 * first character that is not a digit and stores its place in *end (when
 * end is not NULL). Returns false, leaving *out alone, when there is no
 * digit or the value does not fit in 64 bits.
 */
bool kstrtou64(const char *s, const char **end, uint64_t *out);

/*
 * Parse a whole string as a size: a number as kstrtou64 reads it, then
 * optionally one of K, M, G, T (either case: KiB, MiB, GiB, TiB), then
 * nothing. Returns false, leaving *out alone, for anything else or for a
 * value that does not fit in 64 bits.
 */
bool kstrtosize(const char *s, uint64_t *out);
