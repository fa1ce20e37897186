/*
 * libc.c: the four functions the compiler may call on its own (struct
 * copies, large initialisers), on top of lib/'s versions.
 */
#include "kstring.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	return kmemcpy(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n)
{
	return kmemmove(dst, src, n);
}

void *memset(void *dst, int c, size_t n)
{
	return kmemset(dst, c, n);
}

int memcmp(const void *a, const void *b, size_t n)
{
	return kmemcmp(a, b, n);
}
