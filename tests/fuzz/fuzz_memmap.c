/*
 * fuzz_memmap.c: libFuzzer target for what the kernel reads at boot before
 * it trusts anything: the multiboot2 information block, the raw firmware
 * memory map (memmap_sanitize) and the memory options of the command line.
 *
 * The first byte picks what the rest is fed to:
 *	0: a multiboot2 information block, then the boot's own pipeline
 *	   (options from its command line, sanitise its memory map);
 *	1: raw map entries and reserved ranges in a compact encoding;
 *	2: a command line for memmap_parse_options.
 *
 * memmap_sanitize's output is checked against its inputs by a method
 * independent of its sweep: per output range, coverage by usable entries
 * is walked entry by entry, and every non-usable entry or reserved range
 * is intersected with it. Inputs are small, so O(n^2) is fine.
 */
#define FUZZ_TARGET "fuzz_memmap"
#define FUZZ_QUIET /* the options' lines about bad values */
#include "fuzz.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memmap.h"
#include "multiboot2.h"
#include "page.h"

#define MAX_RAW 32
#define MAX_RES 8
/* room for the boot pipeline's reserved ranges: image, options, block */
#define MAX_BOOT_RES (MEMMAP_MAX_MEMRESERVE + 4)
#define TOP ((unsigned __int128)1 << 64)

/* [base, end) with the end clipped at 2^64, as memmap.h defines entries */
static unsigned __int128 end_of(uint64_t base, uint64_t length)
{
	unsigned __int128 end = (unsigned __int128)base + length;

	return end > TOP ? TOP : end;
}

static bool overlaps(uint64_t base, uint64_t length, uint64_t b,
		     unsigned __int128 e)
{
	return length && base < e && end_of(base, length) > b;
}

/* Whether anything but usable RAM touches [b, e). */
static bool hits_unusable(const struct memmap_entry *raw, size_t nr_raw,
			  const struct mem_range *res, size_t nr_res,
			  uint64_t b, unsigned __int128 e)
{
	for (size_t i = 0; i < nr_raw; i++)
		if (raw[i].type != MEMMAP_USABLE &&
		    overlaps(raw[i].base, raw[i].length, b, e))
			return true;
	for (size_t i = 0; i < nr_res; i++)
		if (overlaps(res[i].base, res[i].size, b, e))
			return true;
	return false;
}

/* Whether usable entries (their union) cover all of [b, e). */
static bool covered(const struct memmap_entry *raw, size_t nr_raw, uint64_t b,
		    unsigned __int128 e)
{
	unsigned __int128 p = b;

	/* each step passes the end of one entry: at most nr_raw steps */
	while (p < e) {
		unsigned __int128 best = p;

		for (size_t i = 0; i < nr_raw; i++) {
			const struct memmap_entry *r = &raw[i];

			if (r->type == MEMMAP_USABLE && r->length &&
			    r->base <= p && end_of(r->base, r->length) > best)
				best = end_of(r->base, r->length);
		}
		if (best == p)
			return false;
		p = best;
	}
	return true;
}

static void check_sanitized(const struct memmap_entry *raw, size_t nr_raw,
			    const struct mem_range *res, size_t nr_res,
			    const struct mem_range *out, size_t nr,
			    size_t max_out, size_t dropped)
{
	if (nr > max_out)
		fail("%zu ranges written, room for %zu", nr, max_out);
	if (dropped && nr != max_out)
		fail("%zu dropped with only %zu of %zu written", dropped, nr,
		     max_out);
	for (size_t i = 0; i < nr; i++) {
		uint64_t b = out[i].base, s = out[i].size;
		unsigned __int128 e = (unsigned __int128)b + s;

		if (!s || b % PGSIZE || s % PGSIZE)
			fail("range %zu 0x%lx+0x%lx empty or not page-aligned",
			     i, b, s);
		if (b < MEMMAP_LOW_RESERVED)
			fail("range %zu 0x%lx below the first MiB", i, b);
		if (e > TOP - PGSIZE)
			fail("range %zu 0x%lx+0x%lx reaches the last page", i,
			     b, s);
		/* sorted, disjoint and non-adjacent in one test */
		if (i && out[i - 1].base + out[i - 1].size >= b)
			fail("range %zu 0x%lx not above range %zu's end + 1", i,
			     b, i - 1);
		if (!covered(raw, nr_raw, b, e))
			fail("range %zu 0x%lx+0x%lx not all usable RAM", i, b,
			     s);
		if (hits_unusable(raw, nr_raw, res, nr_res, b, e))
			fail("range %zu 0x%lx+0x%lx holds reserved bytes", i, b,
			     s);
	}
	if (dropped)
		return;
	/*
	 * The other direction, sampled: a whole page inside a usable entry
	 * that nothing else touches must be in the output.
	 */
	for (size_t i = 0; i < nr_raw; i++) {
		const struct memmap_entry *r = &raw[i];
		unsigned __int128 end = end_of(r->base, r->length);
		unsigned __int128 first, last, pages[3];

		if (r->type != MEMMAP_USABLE || !r->length)
			continue;
		first = ((unsigned __int128)r->base + PGSIZE - 1) &
			~(unsigned __int128)(PGSIZE - 1);
		last = (end & ~(unsigned __int128)(PGSIZE - 1)) - PGSIZE;
		if (end < PGSIZE || first > last)
			continue;
		pages[0] = first;
		pages[1] = last;
		pages[2] =
			first + ((last - first) / 2 & ~(uint64_t)(PGSIZE - 1));
		for (int k = 0; k < 3; k++) {
			unsigned __int128 p = pages[k];
			bool found = false;

			if (p < MEMMAP_LOW_RESERVED ||
			    p + PGSIZE > TOP - PGSIZE ||
			    hits_unusable(raw, nr_raw, res, nr_res, (uint64_t)p,
					  p + PGSIZE))
				continue;
			for (size_t j = 0; j < nr && !found; j++)
				found = out[j].base <= p &&
					p + PGSIZE <=
						(unsigned __int128)out[j].base +
							out[j].size;
			if (!found)
				fail("usable page 0x%lx of entry %zu left out",
				     (uint64_t)p, i);
		}
	}
}

static void sanitize_and_check(const struct memmap_entry *raw, size_t nr_raw,
			       const struct mem_range *res, size_t nr_res,
			       size_t max_out)
{
	static struct mem_range out[MEMMAP_MAX_RANGES];
	size_t dropped = 12345, nr;

	nr = memmap_sanitize(raw, nr_raw, res, nr_res, out, max_out, &dropped);
	check_sanitized(raw, nr_raw, res, nr_res, out, nr, max_out, dropped);
}

/* An address or size: mostly small page counts, so edges meet and overlap. */
static uint64_t get_addr(struct cursor *c, uint8_t tag)
{
	uint64_t v;

	if (tag & 0x80)
		return get(c, 8); /* anything, wrapping past 2^64 included */
	v = get(c, 2) << PGSHIFT;
	if (tag & 0x40)
		v += get(c, 1) << 32;
	if (tag & 0x20)
		v += get(c, 2); /* an unaligned edge */
	return v;
}

static const uint32_t types[8] = {
	MEMMAP_USABLE,
	MEMMAP_USABLE,
	MEMMAP_RESERVED,
	MEMMAP_ACPI_RECLAIMABLE,
	MEMMAP_ACPI_NVS,
	MEMMAP_BAD,
	0,
	0xdeadbeef, /* types nobody knows */
};

static void fuzz_raw(struct cursor *c)
{
	struct memmap_entry raw[MAX_RAW];
	struct mem_range res[MAX_RES];
	size_t nr_raw = get(c, 1) % (MAX_RAW + 1);
	size_t nr_res = get(c, 1) % (MAX_RES + 1);
	size_t max_out = get(c, 1) % MEMMAP_MAX_RANGES + 1;

	for (size_t i = 0; i < nr_raw; i++) {
		uint8_t tag = get(c, 1);

		raw[i].base = get_addr(c, tag);
		raw[i].length = get_addr(c, tag);
		raw[i].type = types[tag & 7];
	}
	for (size_t i = 0; i < nr_res; i++) {
		uint8_t tag = get(c, 1);

		res[i].base = get_addr(c, tag);
		res[i].size = get_addr(c, tag);
	}
	sanitize_and_check(raw, nr_raw, res, nr_res, max_out);
}

static void check_options(const struct memmap_options *opt)
{
	char line[64];
	struct memmap_options again;

	if (opt->mem_limit && opt->mem_limit < MEMMAP_MIN_MEM)
		fail("mem= limit 0x%lx below the minimum", opt->mem_limit);
	if (opt->nr_reserve > MEMMAP_MAX_MEMRESERVE)
		fail("%zu memreserve= ranges kept", opt->nr_reserve);
	for (size_t i = 0; i < opt->nr_reserve; i++) {
		const struct mem_range *r = &opt->reserve[i];

		if (!r->size || r->size - 1 > UINT64_MAX - r->base)
			fail("memreserve= range 0x%lx+0x%lx empty or wrapping",
			     r->base, r->size);
	}
	/* what was kept must read back the same when written plainly */
	if (!opt->mem_limit)
		return;
	snprintf(line, sizeof(line), "x mem=0x%lx y", opt->mem_limit);
	if (memmap_parse_options(line, &again) ||
	    again.mem_limit != opt->mem_limit)
		fail("'%s' does not read back as 0x%lx", line, opt->mem_limit);
}

/* The options of cmdline, then the map the boot would use with them. */
static void boot_pipeline(const char *cmdline, const struct memmap_entry *raw,
			  size_t nr_raw, const struct mem_range *arch_res,
			  size_t nr_arch_res)
{
	struct memmap_options opt;
	struct mem_range res[MAX_BOOT_RES];
	size_t nr_res = nr_arch_res;

	static struct mem_range out[MEMMAP_MAX_RANGES];
	uint64_t before, after;
	size_t lost;

	memmap_parse_options(cmdline, &opt);
	check_options(&opt);
	memmap_options_check(&opt, raw, nr_raw, arch_res, nr_arch_res);
	check_options(&opt);
	memcpy(res, arch_res, nr_arch_res * sizeof(*res));
	memmap_options_reserve(&opt, res, &nr_res, MAX_BOOT_RES);
	if (nr_res > MAX_BOOT_RES)
		fail("memmap_options_reserve wrote %zu of %d", nr_res,
		     MAX_BOOT_RES);
	sanitize_and_check(raw, nr_raw, res, nr_res, MEMMAP_MAX_RANGES);
	/* the options never take the usable RAM below MEMMAP_MIN_USABLE */
	before = memmap_total(out, memmap_sanitize(raw, nr_raw, arch_res,
						   nr_arch_res, out,
						   MEMMAP_MAX_RANGES, &lost));
	after = memmap_total(out, memmap_sanitize(raw, nr_raw, res, nr_res, out,
						  MEMMAP_MAX_RANGES, &lost));
	if (before >= MEMMAP_MIN_USABLE && after < MEMMAP_MIN_USABLE)
		fail("the options leave 0x%lx usable of 0x%lx", after, before);
}

/* A firmware map of a small PC, for command lines to act on. */
static const struct memmap_entry pc_map[] = {
	{ 0, 0x9fc00, MEMMAP_USABLE },
	{ 0x9fc00, 0x400, MEMMAP_RESERVED },
	{ 0xf0000, 0x10000, MEMMAP_RESERVED },
	{ 0x100000, 0x1fee0000, MEMMAP_USABLE },
	{ 0x1ffe0000, 0x20000, MEMMAP_RESERVED },
	{ 0xfffc0000, 0x40000, MEMMAP_RESERVED },
	{ 0x100000000, 0x40000000, MEMMAP_USABLE },
};
static const struct mem_range image = { 0x100000, 0x200000 };

static void fuzz_cmdline(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);

	/* exactly the bytes given and a NUL: ASan sees any read beyond */
	memcpy(line, data, size);
	line[size] = 0;
	boot_pipeline(line, pc_map, sizeof(pc_map) / sizeof(pc_map[0]), &image,
		      1);
	free(line);
}

static void fuzz_multiboot2(const uint8_t *data, size_t size)
{
	static struct boot_info bi;
	char err[160];
	/* malloc aligns to 16, as the parser requires 8; ASan bounds it */
	uint8_t *block = malloc(size ? size : 1);
	struct mem_range res[2] = { image };
	int rc;

	memcpy(block, data, size);
	memset(&bi, 0, sizeof(bi));
	err[0] = 0;
	rc = multiboot2_parse(block, size, &bi, err, sizeof(err));
	if (rc && (rc != -1 || !err[0] || !memchr(err, 0, sizeof(err))))
		fail("parse returned %d with error '%.*s'", rc,
		     (int)sizeof(err), err);
	if (bi.nr_memmap > BOOTINFO_MAX_MEMMAP)
		fail("%zu memory map entries kept", bi.nr_memmap);
	if (!memchr(bi.cmdline, 0, sizeof(bi.cmdline)) ||
	    !memchr(bi.loader, 0, sizeof(bi.loader)))
		fail("command line or loader name not NUL-terminated");
	if (!rc) {
		if (bi.info_size > size || bi.info_size < 16)
			fail("info_size %lu of %zu readable", bi.info_size,
			     size);
		/* the block itself is reserved, as the arch does at boot */
		res[1] = (struct mem_range){ 0x300000, bi.info_size };
		boot_pipeline(bi.cmdline, bi.memmap, bi.nr_memmap, res, 2);
	}
	free(block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { data + 1, size ? size - 1 : 0 };

	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_multiboot2(data + 1, size - 1);
		break;
	case 1:
		fuzz_raw(&c);
		break;
	default:
		fuzz_cmdline(data + 1, size - 1);
		break;
	}
	return 0;
}
