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
