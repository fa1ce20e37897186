/* string.c: the freestanding string and memory helpers of kstring.h. */
#include "kstring.h"

void *kmemcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	/* words when both are aligned alike, bytes for the rest */
	if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
		for (; n && ((uintptr_t)d & 7); n--)
			*d++ = *s++;
		for (; n >= 8; n -= 8, d += 8, s += 8)
			*(uint64_t *)(void *)d =
				*(const uint64_t *)(const void *)s;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *kmemmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n)
		return kmemcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *kmemset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	uint64_t word = 0x0101010101010101ull * (unsigned char)c;

	for (; n && ((uintptr_t)d & 7); n--)
		*d++ = (unsigned char)c;
	for (; n >= 8; n -= 8, d += 8)
		*(uint64_t *)(void *)d = word;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int kmemcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

size_t kstrlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t kstrnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int kstrcmp(const char *a, const char *b)
{
	return kstrncmp(a, b, SIZE_MAX);
}

int kstrncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x != y)
			return x < y ? -1 : 1;
		if (x == 0)
			break;
	}
	return 0;
}

char *kstrchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (*s == 0)
			return NULL;
	}
}

char *kstrstr(const char *haystack, const char *needle)
{
	size_t n = kstrlen(needle);

	for (; *haystack; haystack++) {
		if (kstrncmp(haystack, needle, n) == 0)
			return (char *)haystack;
	}
	return n == 0 ? (char *)haystack : NULL;
}

size_t kstrlcpy(char *dst, const char *src, size_t size)
{
	size_t len = kstrlen(src);
	size_t copy = len < size ? len : size - 1;

	kmemcpy(dst, src, copy);
	dst[copy] = 0;
	return len;
}

bool kglob_match(const char *pattern, const char *str)
{
	/* Where to resume after the last `*`: classic backtracking match. */
	const char *star = NULL, *resume = NULL;

	while (*str) {
		if (*pattern == '*') {
			star = pattern++;
			resume = str;
		} else if (*pattern == '?' || *pattern == *str) {
			pattern++;
			str++;
		} else if (star) {
			pattern = star + 1;
			str = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == 0;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

bool kstrtou64(const char *s, const char **end, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	const char *p = s;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    digit_value(p[2]) < 16) {
		base = 16;
		p += 2;
	}
	if (digit_value(*p) >= (int)base)
		return false;
	for (; digit_value(*p) < (int)base; p++) {
		unsigned d = (unsigned)digit_value(*p);

		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (end)
		*end = p;
	*out = v;
	return true;
}

bool kstrtosize(const char *s, uint64_t *out)
{
	static const char suffixes[] = "kmgt"; /* each 10 bits more */
	unsigned int shift = 0;
	const char *end;
	uint64_t v;

	if (!kstrtou64(s, &end, &v))
		return false;
	for (unsigned int i = 0; *end && i < sizeof(suffixes) - 1; i++)
		if ((*end | 0x20) == suffixes[i])
			shift = 10 * (i + 1);
	if (shift)
		end++;
	if (*end || v > UINT64_MAX >> shift)
		return false;
	*out = v << shift;
	return true;
}
