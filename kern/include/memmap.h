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

/* Write size readably into buf: "3 MiB", "1 MiB 12 KiB" or "8 KiB". */
void memmap_format_size(char *buf, size_t len, uint64_t size);

/*
 * Memory options of the kernel command line, for experiments and tests:
 *
 *	mem=<size>		use no RAM at or above <size>
 *	memreserve=<size>@<addr>	leave [addr, addr + size) alone; repeatable
 *
 * Sizes and addresses are read by kstrtosize: decimal or 0x-hex, with an
 * optional K, M, G or T suffix. A bad value is reported on the console and
 * ignored: the boot goes on as if it had not been given; so is a
 * memreserve= that would leave too little (memmap_options_check). mem=
 * given more than once: the last good one counts, and the console says
 * it replaced an earlier one. A value is at most 47 characters.
 */
#define MEMMAP_MAX_MEMRESERVE 8

/* The least mem= accepts: below this the kernel cannot build its arenas. */
#define MEMMAP_MIN_MEM (16ull << 20)

/* A value of mem= or memreserve= is at most this long, its NUL included. */
#define MEMMAP_OPTION_VALUE_MAX 48

struct memmap_options {
	uint64_t mem_limit; /* 0: no limit */
	struct mem_range reserve[MEMMAP_MAX_MEMRESERVE];
	/* each memreserve= as it was given, for the console */
	char reserve_given[MEMMAP_MAX_MEMRESERVE][MEMMAP_OPTION_VALUE_MAX];
	size_t nr_reserve;
};

/*
 * Fill *opt from the command line. Each bad value gets a line on the
 * console naming the option and why, and is left out. Returns the number
 * of values left out.
 */
int memmap_parse_options(const char *cmdline, struct memmap_options *opt);

/*
 * The least usable RAM a memreserve= may leave, in all and below
 * ARCH_BOOT_MEMORY_END (arch_defs.h: x86_64 4 GiB, the host no limit):
 * what the kernel needs to build its page tables and arenas and run its
 * tests (mem=16M leaves 14 MiB).
 */
#define MEMMAP_MIN_USABLE (8ull << 20)

/* The most ranges memmap_options_check takes besides the options' own. */
#define MEMMAP_MAX_RESERVED_IN 16

/*
 * Drop from *opt a mem= that would leave less than MEMMAP_MIN_USABLE of
 * the raw map usable, in all or below ARCH_BOOT_MEMORY_END (a mem= may
 * lie below all the RAM: the host's is high up); then each memreserve=
 * that, with mem= and the memreserve= kept before it, would do the same.
 * reserved: the boot's own ranges, at most MEMMAP_MAX_RESERVED_IN. Each
 * gets a line on the console naming it, what it would leave and the least
 * the kernel needs; the boot goes on as if it had not been given.
 * Returns how many were dropped.
 */
int memmap_options_check(struct memmap_options *opt,
			 const struct memmap_entry *raw, size_t nr_raw,
			 const struct mem_range *reserved, size_t nr_reserved);

/*
 * Append the ranges *opt keeps from the kernel to reserved (which holds
 * *nr of max, with room for MEMMAP_MAX_MEMRESERVE + 1 more): its
 * memreserve= ranges, and everything from mem_limit to 2^64. Prints a line
 * for each, so the boot log shows their effect.
 */
void memmap_options_reserve(const struct memmap_options *opt,
			    struct mem_range *reserved, size_t *nr, size_t max);
