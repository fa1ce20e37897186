/*
 * kmem_host_check.c: proves that include/kmem_host.h says what the
 * kernel's headers say. The public header repeats their declarations (it
 * must be self-contained); this unit, compiled in the host build and never
 * linked, sees both, so the build fails when they drift apart:
 *
 * - a prototype, extern or typedef that differs: "conflicting types";
 * - a flag whose value differs: the macro is "redefined" (-Werror);
 * - struct mem_range: kmem_host.h's copy and kern/include/mem_range.h
 *   share a guard, so the kernel's is read a second time under another
 *   tag below and compared field by field.
 *
 * tests/run_tests.py compiles it against changed copies of kmem_host.h
 * and expects each to fail.
 */
#include <stddef.h>

#include "kmem_host.h"

#include "arena.h"
#include "kmalloc.h"
#include "pmem.h"
#include "slab.h"

/* The kernel's struct mem_range, as struct kernel_mem_range. */
#undef KMEM_MEM_RANGE_H
#define mem_range kernel_mem_range
#include "mem_range.h"
#undef mem_range

/* Field f in kmem_host.h's struct mem_range and in the kernel's. */
#define HOST_FIELD(f) (((struct mem_range *)0)->f)
#define KERNEL_FIELD(f) (((struct kernel_mem_range *)0)->f)
#define SAME_OFFSET(f) \
	(offsetof(struct mem_range, f) == offsetof(struct kernel_mem_range, f))
#define SAME_TYPE(f)                                            \
	__builtin_types_compatible_p(__typeof__(HOST_FIELD(f)), \
				     __typeof__(KERNEL_FIELD(f)))
#define SAME_FIELD(f)                                        \
	_Static_assert(SAME_OFFSET(f) && SAME_TYPE(f),       \
		       "kmem_host.h: struct mem_range's " #f \
		       " differs from kern/include/mem_range.h")

SAME_FIELD(base);
SAME_FIELD(size);
_Static_assert(sizeof(struct mem_range) == sizeof(struct kernel_mem_range),
	       "kmem_host.h: struct mem_range differs in size from "
	       "kern/include/mem_range.h");
