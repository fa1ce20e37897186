/*
 * hash.h: multiplicative (Fibonacci) hashing, written once for the
 * arena's and the slab layer's allocation hashes and kmalloc's tag check.
 */
#pragma once

#include <stdint.h>

/* 2^64 divided by the golden ratio, odd: spreads any key over all bits. */
#define HASH_GOLDEN_64 0x9e3779b97f4a7c15ull

/* x scrambled: its high bits depend on every bit of x. */
static inline uint64_t hash_mix64(uint64_t x)
{
	return x * HASH_GOLDEN_64;
}

/* A bucket index below 2^(64 - shift) for key x (0 < shift < 64). */
static inline uint64_t hash_index64(uint64_t x, unsigned shift)
{
	return hash_mix64(x) >> shift;
}
