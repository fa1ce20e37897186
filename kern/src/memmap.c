/*
 * memmap.c: from the firmware's memory map to the ranges of RAM the kernel
 * may use: sorted, disjoint, non-adjacent, page-aligned, with everything
 * that is not plainly usable RAM, the reserved ranges and the first MiB
 * cut out.
 *
 * The method is chosen to be obviously correct, not fast (the map has a
 * few hundred entries at most, and this runs once). The edges of all the
 * entries and reserved ranges cut the address space into elementary
 * intervals inside which nothing changes, so an interval is usable exactly
 * when its first byte is: held by some usable entry, and by no other entry
 * and no reserved range. A sweep walks the intervals upward from
 * MEMMAP_LOW_RESERVED, finding each next edge by scanning all the inputs
 * (O(n^2) in all, but no array to size, sort or overflow, whatever n is),
 * joins usable neighbours into runs, and cuts each run inward to whole
 * pages. Runs are separated by at least one unusable byte, so the ranges
 * that come out are never adjacent.
 *
 * An entry's end may lie past 2^64, which a uint64_t cannot hold: whether
 * x lies in [base, base + length) is tested as x - base < length, which
 * clips at 2^64 by itself, and an end that does not fit is no edge at all.
 * The sweep stops at MEMMAP_TOP = 2^64 - PGSIZE: the last page is never
 * usable, so base + size of every range fits in 64 bits.
 */
#include "memmap.h"
#include "arch.h"
#include "assert.h"
#include "kprintf.h"
#include "page.h"
#include "printk.h"
#include "cmdline.h"
#include "kstring.h"

/* Where the sweep stops; from here to 2^64 is never usable. */
#define MEMMAP_TOP (0 - (uint64_t)PGSIZE)

#define MIB (1ull << 20)
#define KIB (1ull << 10)

/* What memmap_sanitize was given. */
struct memmap_input {
	const struct memmap_entry *raw;
	size_t nr_raw;
	const struct mem_range *reserved;
	size_t nr_reserved;
};

/* Where memmap_sanitize puts what it finds. */
struct memmap_output {
	struct mem_range *out;
	size_t max_out;
	size_t nr;
	size_t dropped;
};

/* Whether [base, base + length), clipped at 2^64, holds address x. */
static bool span_holds(uint64_t base, uint64_t length, uint64_t x)
{
	return x >= base && x - base < length;
}

/* The lower of next and the edges of [base, base + length) above x. */
static uint64_t span_edge_after(uint64_t base, uint64_t length, uint64_t x,
				uint64_t next)
{
	if (base > x && base < next)
		next = base;
	/* an end at or past 2^64 is above every address: no edge */
	if (length <= UINT64_MAX - base && base + length > x &&
	    base + length < next)
		next = base + length;
	return next;
}

/* The lowest edge of any entry or reserved range above x, or MEMMAP_TOP. */
static uint64_t next_edge(const struct memmap_input *in, uint64_t x)
{
	uint64_t next = MEMMAP_TOP;

	for (size_t i = 0; i < in->nr_raw; i++)
		next = span_edge_after(in->raw[i].base, in->raw[i].length, x,
				       next);
	for (size_t i = 0; i < in->nr_reserved; i++)
		next = span_edge_after(in->reserved[i].base,
				       in->reserved[i].size, x, next);
	return next;
}

/* Whether byte x is usable RAM: some usable entry and nothing else holds it. */
static bool usable_at(const struct memmap_input *in, uint64_t x)
{
	bool usable = false;

	for (size_t i = 0; i < in->nr_raw; i++) {
		const struct memmap_entry *e = &in->raw[i];

		if (!span_holds(e->base, e->length, x))
			continue;
		if (e->type != MEMMAP_USABLE)
			return false;
		usable = true;
	}
	for (size_t i = 0; i < in->nr_reserved; i++)
		if (span_holds(in->reserved[i].base, in->reserved[i].size, x))
			return false;
	return usable;
}

/* Add the whole pages of the run [start, end) to the output, or count it. */
static void emit_run(struct memmap_output *o, uint64_t start, uint64_t end)
{
	uint64_t base = ALIGN_UP(start, PGSIZE);

	end = ALIGN_DOWN(end, PGSIZE);
	if (end <= base)
		return;
	if (o->nr < o->max_out)
		o->out[o->nr++] = (struct mem_range){ base, end - base };
	else
		o->dropped++;
}

size_t memmap_sanitize(const struct memmap_entry *raw, size_t nr_raw,
		       const struct mem_range *reserved, size_t nr_reserved,
		       struct mem_range *out, size_t max_out, size_t *dropped)
{
	const struct memmap_input in = { raw, nr_raw, reserved, nr_reserved };
	struct memmap_output o = { out, max_out, 0, 0 };
	uint64_t x = MEMMAP_LOW_RESERVED, run_start = 0;
	bool in_run = false;

	while (x < MEMMAP_TOP) {
		bool usable = usable_at(&in, x);

		if (usable && !in_run)
			run_start = x;
		else if (!usable && in_run)
			emit_run(&o, run_start, x);
		in_run = usable;
		x = next_edge(&in, x);
	}
	if (in_run)
		emit_run(&o, run_start, MEMMAP_TOP);
	*dropped = o.dropped;
	return o.nr;
}

void memmap_format_size(char *buf, size_t len, uint64_t size)
{
	unsigned long long mib = size / MIB, kib = size % MIB / KIB;

	if (mib && kib)
		ksnprintf(buf, len, "%llu MiB %llu KiB", mib, kib);
	else if (mib)
		ksnprintf(buf, len, "%llu MiB", mib);
	else
		ksnprintf(buf, len, "%llu KiB", kib);
}

/* Print one range: base, end, size in hex, then readably. */
static void print_range(const struct mem_range *r)
{
	char readable[48];

	memmap_format_size(readable, sizeof(readable), r->size);
	printk("  0x%016llx 0x%016llx 0x%016llx %s\n",
	       (unsigned long long)r->base,
	       (unsigned long long)(r->base + r->size),
	       (unsigned long long)r->size, readable);
}

void memmap_print(const struct mem_range *ranges, size_t nr, size_t dropped)
{
	uint64_t total = memmap_total(ranges, nr);

	printk("usable memory (%zu ranges):\n", nr);
	printk("  %-18s %-18s %s\n", "base", "end", "size");
	for (size_t i = 0; i < nr; i++)
		print_range(&ranges[i]);
	printk("  usable total: %llu MiB (%llu bytes)\n",
	       (unsigned long long)(total / MIB), (unsigned long long)total);
	if (dropped)
		printk("  (%zu more usable ranges were dropped: only MEMMAP_MAX_RANGES = %d fit)\n",
		       dropped, MEMMAP_MAX_RANGES);
}

uint64_t memmap_total(const struct mem_range *ranges, size_t nr)
{
	uint64_t total = 0;

	for (size_t i = 0; i < nr; i++)
		total += ranges[i].size;
	return total;
}

/* A value as long as the buffer may have been cut short: refuse it. */
#define OPTION_VALUE_MAX MEMMAP_OPTION_VALUE_MAX

/* Parse "<size>@<addr>" into r; false, with why set, when it is bad. */
static bool parse_memreserve(char *value, struct mem_range *r, const char **why)
{
	char *at = value;
	uint64_t size, addr;

	while (*at && *at != '@')
		at++;
	if (!*at) {
		*why = "expected <size>@<addr>";
		return false;
	}
	*at = 0;
	if (!kstrtosize(value, &size) || !kstrtosize(at + 1, &addr)) {
		*at = '@';
		*why = "bad number (decimal or 0x-hex, with K, M, G or T)";
		return false;
	}
	*at = '@';
	if (size == 0) {
		*why = "the size is 0";
		return false;
	}
	if (size - 1 > UINT64_MAX - addr) {
		*why = "the range runs past 2^64";
		return false;
	}
	*r = (struct mem_range){ addr, size };
	return true;
}

/*
 * The next key= at or after *pos (cmdline_next), copied into value
 * (OPTION_VALUE_MAX) when it fits; false when there is none. *why is set
 * for one too long to be any good (it is not copied: never half of it).
 */
static bool option_next(const char *cmdline, const char *key, size_t *pos,
			char *value, const char **why)
{
	const char *v;
	size_t len;

	*why = NULL;
	if (!cmdline_next(cmdline, key, pos, &v, &len))
		return false;
	if (len >= OPTION_VALUE_MAX) {
		*why = "too long";
		len = OPTION_VALUE_MAX - 4;
		kmemcpy(value + len, "...", 4);
	} else {
		value[len] = 0;
	}
	kmemcpy(value, v, len);
	return true;
}

int memmap_parse_options(const char *cmdline, struct memmap_options *opt)
{
	char value[OPTION_VALUE_MAX], counted[OPTION_VALUE_MAX];
	const char *why;
	size_t pos = 0;
	int bad = 0;

	kmemset(opt, 0, sizeof(*opt));
	while (option_next(cmdline, "mem", &pos, value, &why)) {
		uint64_t limit = 0;

		if (!why && !kstrtosize(value, &limit))
			why = "bad size (decimal or 0x-hex, with K, M, G or T)";
		else if (!why && limit < MEMMAP_MIN_MEM)
			why = "below the 16M the kernel needs";
		if (why) {
			printk("mem=%s: %s; ignored\n", value, why);
			bad++;
			continue;
		}
		if (opt->mem_limit)
			printk("mem=%s: replaces the earlier mem=%s (the last good one counts)\n",
			       value, counted);
		opt->mem_limit = limit; /* the last good one counts */
		kmemcpy(counted, value, sizeof(value));
	}
	pos = 0;
	while (option_next(cmdline, "memreserve", &pos, value, &why)) {
		struct mem_range r;

		if (!why && opt->nr_reserve == MEMMAP_MAX_MEMRESERVE)
			why = "too many memreserve= (at most 8)";
		else if (!why && parse_memreserve(value, &r, &why)) {
			kmemcpy(opt->reserve_given[opt->nr_reserve], value,
				sizeof(value));
			opt->reserve[opt->nr_reserve++] = r;
		}
		if (why) {
			printk("memreserve=%s: %s; ignored\n", value, why);
			bad++;
		}
	}
	return bad;
}

/*
 * Whether the raw map, less the nr ranges of with, leaves the kernel what
 * it needs: MEMMAP_MIN_USABLE in all, and as much below
 * ARCH_BOOT_MEMORY_END (where arch_memory_init finds its page tables).
 * If not, why goes into buf.
 */
static bool leaves_enough(const struct memmap_entry *raw, size_t nr_raw,
			  const struct mem_range *with, size_t nr, char *why,
			  size_t len)
{
	static struct mem_range out[MEMMAP_MAX_RANGES];
	size_t n, dropped;
	uint64_t total, low = 0;

	n = memmap_sanitize(raw, nr_raw, with, nr, out, ARRAY_SIZE(out),
			    &dropped);
	total = memmap_total(out, n);
	for (size_t i = 0; i < n && out[i].base < ARCH_BOOT_MEMORY_END; i++)
		low += MIN(out[i].size, ARCH_BOOT_MEMORY_END - out[i].base);
	if (total < MEMMAP_MIN_USABLE)
		ksnprintf(why, len, "would leave %llu KiB of usable memory",
			  (unsigned long long)(total / KIB));
	else if (low < MEMMAP_MIN_USABLE)
		ksnprintf(
			why, len,
			"would leave %llu KiB of usable memory below 0x%llx (where the boot finds its page tables)",
			(unsigned long long)(low / KIB),
			(unsigned long long)ARCH_BOOT_MEMORY_END);
	else
		return true;
	return false;
}

int memmap_options_check(struct memmap_options *opt,
			 const struct memmap_entry *raw, size_t nr_raw,
			 const struct mem_range *reserved, size_t nr_reserved)
{
	struct mem_range
		with[MEMMAP_MAX_RESERVED_IN + MEMMAP_MAX_MEMRESERVE + 1];
	size_t nr = 0, kept = 0;
	int refused = 0;
	char why[160];

	assert(nr_reserved <= MEMMAP_MAX_RESERVED_IN);
	kmemcpy(with, reserved, nr_reserved * sizeof(*reserved));
	nr = nr_reserved;
	if (opt->mem_limit) {
		with[nr] = (struct mem_range){ opt->mem_limit,
					       0 - opt->mem_limit };
		if (leaves_enough(raw, nr_raw, with, nr + 1, why,
				  sizeof(why))) {
			nr++;
		} else {
			printk("mem=0x%llx: %s, less than the %llu MiB the kernel needs; ignored\n",
			       (unsigned long long)opt->mem_limit, why,
			       (unsigned long long)(MEMMAP_MIN_USABLE / MIB));
			opt->mem_limit = 0;
			refused++;
		}
	}
	for (size_t i = 0; i < opt->nr_reserve; i++) {
		const struct mem_range *r = &opt->reserve[i];

		with[nr] = *r;
		if (!leaves_enough(raw, nr_raw, with, nr + 1, why,
				   sizeof(why))) {
			printk("memreserve=%s: %s, less than the %llu MiB the kernel needs; ignored\n",
			       opt->reserve_given[i], why,
			       (unsigned long long)(MEMMAP_MIN_USABLE / MIB));
			refused++;
			continue;
		}
		nr++;
		if (kept != i)
			kmemcpy(opt->reserve_given[kept], opt->reserve_given[i],
				sizeof(opt->reserve_given[i]));
		opt->reserve[kept++] = *r;
	}
	opt->nr_reserve = kept;
	return refused;
}

void memmap_options_reserve(const struct memmap_options *opt,
			    struct mem_range *reserved, size_t *nr, size_t max)
{
	/* the caller makes room for all of them: MEMMAP_MAX_MEMRESERVE + 1 */
	assert(*nr + opt->nr_reserve + 1 <= max);
	for (size_t i = 0; i < opt->nr_reserve; i++) {
		const struct mem_range *r = &opt->reserve[i];

		printk("memreserve: 0x%llx-0x%llx left alone\n",
		       (unsigned long long)r->base,
		       (unsigned long long)(r->base + r->size - 1));
		reserved[(*nr)++] = *r;
	}
	if (opt->mem_limit) {
		printk("mem=: no RAM used at or above 0x%llx\n",
		       (unsigned long long)opt->mem_limit);
		/* to 2^64: the size wraps, which span_holds allows for */
		reserved[(*nr)++] = (struct mem_range){ opt->mem_limit,
							0 - opt->mem_limit };
	}
}
