/*
 * memmap.h: from the firmware's memory map to the ranges of RAM the kernel
 * may use.
 */
#pragma once

#include "bootinfo.h"
#include "mem_range.h"

/* The most usable ranges the kernel keeps (the rest are dropped, loudly). */
#define MEMMAP_MAX_RANGES 128

/* Everything below this is left alone (BIOS data, real-mode structures). */
#define MEMMAP_LOW_RESERVED (1ull << 20)

/*
 * Turn the raw firmware map into usable RAM: sorted, non-overlapping,
 * page-aligned (inward) ranges.
 *
 * @raw, @nr_raw: the map as the firmware gave it, in any order, with
 *	overlaps, zero lengths, unaligned edges, entries whose end wraps past
 *	2^64 (clipped at 2^64), and types we do not know (reserved). Only
 *	MEMMAP_USABLE is usable; where usable and anything else overlap, the
 *	other wins.
 * @reserved, @nr_reserved: ranges to carve out as well (the kernel image,
 *	the multiboot2 information); the first MiB is always carved out.
 * @out, @max_out: where the result goes.
 * @dropped: set to the number of usable ranges beyond @max_out, which are
 *	left out (the lowest @max_out ranges are kept).
 *
 * Returns the number of ranges written to @out.
 */
size_t memmap_sanitize(const struct memmap_entry *raw, size_t nr_raw,
		       const struct mem_range *reserved, size_t nr_reserved,
		       struct mem_range *out, size_t max_out, size_t *dropped);

/* Print ranges as a table (base, end, size) with the usable total. */
void memmap_print(const struct mem_range *ranges, size_t nr, size_t dropped);

/* The sum of the sizes of ranges. */
uint64_t memmap_total(const struct mem_range *ranges, size_t nr);
