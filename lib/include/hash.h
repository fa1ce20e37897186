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

/*
 * Move every entry of the chained table old, of old_n buckets, into the
 * bucket that bucket_of(ctx, entry->key) gives in a new table. Entries
 * chain through their field next. The arena's allocation hash and the
 * slab layer's bufctl hash grow (and shrink) with it.
 */
#define hash_move_chains(old, old_n, next, key, bucket_of, ctx)    \
	do {                                                       \
		for (size_t i_ = 0; i_ < (old_n); i_++) {          \
			__typeof__((old)[0]) e_, n_;               \
                                                                   \
			for (e_ = (old)[i_]; e_; e_ = n_) {        \
				__typeof__(&(old)[0]) b_ =         \
					bucket_of((ctx), e_->key); \
                                                                   \
				n_ = e_->next;                     \
				e_->next = *b_;                    \
				*b_ = e_;                          \
			}                                          \
		}                                                  \
	} while (0)
