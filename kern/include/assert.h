/* assert.h: invariants that must hold; a failure panics with its place. */
#pragma once

#include "panic.h"

#define assert(cond)                                                          \
	do {                                                                  \
		if (unlikely(!(cond)))                                        \
			panic("assertion failed: %s at %s:%d in %s()", #cond, \
			      __FILE__, __LINE__, __func__);                  \
	} while (0)

#define static_assert _Static_assert

/*
 * DEBUG_ASSERTS is 1 in the kernel and the host test builds, 0 in the
 * release library (the Makefile's HOST_RELEASE_CFLAGS define KMEM_RELEASE).
 * debug_assert(cond) is assert(cond) where it is 1, and nothing (cond not
 * evaluated) where it is 0: for checks on paths a release cannot pay for.
 * assert() is always on; the lock assertions (spinlock.h) follow
 * DEBUG_ASSERTS.
 */
#ifdef KMEM_RELEASE
#define DEBUG_ASSERTS 0
#else
#define DEBUG_ASSERTS 1
#endif

#define debug_assert(cond)            \
	do {                          \
		if (DEBUG_ASSERTS)    \
			assert(cond); \
	} while (0)
