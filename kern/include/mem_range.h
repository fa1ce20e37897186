/*
 * mem_range.h: a range of physical addresses. Its own header, with the
 * same guard as in include/kmem_host.h, so a file may include both.
 */
#ifndef KMEM_MEM_RANGE_H
#define KMEM_MEM_RANGE_H

#include <stdint.h>

/* [base, base + size) */
struct mem_range {
	uint64_t base;
	uint64_t size;
};

#endif
