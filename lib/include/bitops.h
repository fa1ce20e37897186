/*
 * bitops.h: bit arithmetic on 64-bit words, written once for every layer.
 * Static inlines over compiler builtins: each is one or two instructions
 * on the hot paths that use them.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Index of the highest set bit of x > 0: floor(log2(x)). */
static inline int highbit(uint64_t x)
{
	return 63 ^ __builtin_clzll(x);
}

/* Index of the lowest set bit of x > 0: the number of trailing zeros. */
static inline int lowbit(uint64_t x)
{
	return __builtin_ctzll(x);
}

/* Whether x is a power of two (0 is not). */
static inline bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}
