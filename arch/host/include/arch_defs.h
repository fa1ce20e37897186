/*
 * arch_defs.h (host): the constants and inline functions of arch.h for a
 * user-space process. Its "physical" memory is memory it mapped itself,
 * so the direct map is the identity, and there are no interrupts to mask.
 */
#pragma once

#include "compiler.h"

#define ARCH_DIRECT_MAP_BASE 0ull

static inline unsigned long arch_irq_save(void)
{
	return 0;
}

static inline void arch_irq_restore(unsigned long flags)
{
	(void)flags;
}
