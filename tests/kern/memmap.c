/*
 * memmap.c: tests of memmap_sanitize, which turns the firmware's memory
 * map into the ranges of RAM the kernel may use.
 *
 * Each case states the ranges it expects, in tables of struct map_case.
 * Every result is also checked for soundness (sorted, disjoint, not
 * adjacent, page-aligned, not empty, above the first MiB). A randomized
 * test holds the result for a few hundred small maps to a page-by-page
 * model that shares no code with memmap_sanitize.
 */
#include "ktest.h"
#include "arch.h"
#include "memmap.h"
#include "page.h"
#include "kstring.h"
#include "printk.h"
#include "kprintf.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* The last page below 2^64 is never usable: no range ends above this. */
#define TOP (0 - (uint64_t)PGSIZE)

/* Brace lists in macros, which clang-format would spread over lines. */
/* clang-format off */
#define ENTRY(b, l, t) { (b), (l), (t) }
#define CASE(...) { .line = __LINE__, __VA_ARGS__ }
/* clang-format on */
#define USABLE(b, l) ENTRY(b, l, MEMMAP_USABLE)
#define RESERVED(b, l) ENTRY(b, l, MEMMAP_RESERVED)

/* The number of elements in a brace list of the given type. */
#define COUNT(type, ...) (sizeof((type[]){ __VA_ARGS__ }) / sizeof(type))

/* A map, the reserved list, and the ranges memmap_sanitize must give. */
struct map_case {
	int line;
	struct memmap_entry raw[8];
	size_t nr_raw;
	struct mem_range reserved[4];
	size_t nr_reserved;
	struct mem_range want[6];
	size_t nr_want;
};

/*
 * A case reads CASE(RAW(entries...), RES(ranges...), WANT(ranges...)),
 * each list counted by COUNT; a list left out is empty.
 */
#define RAW(...)                \
	.raw = { __VA_ARGS__ }, \
	.nr_raw = COUNT(struct memmap_entry, __VA_ARGS__)
#define RES(...)                     \
	.reserved = { __VA_ARGS__ }, \
	.nr_reserved = COUNT(struct mem_range, __VA_ARGS__)
#define WANT(...) \
	.want = { __VA_ARGS__ }, .nr_want = COUNT(struct mem_range, __VA_ARGS__)

static struct mem_range out[MEMMAP_MAX_RANGES];
static size_t nr_out, dropped;

/* Print ranges as diagnostic lines, each with a label. */
static void print_ranges(const char *label, const struct mem_range *r,
			 size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		printk("%s[%zu]: [0x%llx, 0x%llx)\n", label, i,
		       (unsigned long long)r[i].base,
		       (unsigned long long)(r[i].base + r[i].size));
}

/*
 * Whether r[0..nr) is sorted, disjoint, not adjacent, page-aligned, not
 * empty, above the first MiB and below TOP; if not, says why.
 */
static bool ranges_sound(const struct mem_range *r, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		const char *why = NULL;

		if (!IS_ALIGNED(r[i].base, PGSIZE) ||
		    !IS_ALIGNED(r[i].size, PGSIZE))
			why = "not page-aligned";
		else if (r[i].size == 0)
			why = "empty";
		else if (r[i].base < MEMMAP_LOW_RESERVED)
			why = "in the first MiB";
		else if (r[i].base >= TOP || r[i].size > TOP - r[i].base)
			why = "past 2^64 - PGSIZE";
		else if (i > 0 && r[i - 1].base + r[i - 1].size >= r[i].base)
			why = "overlaps or touches the one before";
		if (why) {
			printk("range %zu [0x%llx, +0x%llx) is %s\n", i,
			       (unsigned long long)r[i].base,
			       (unsigned long long)r[i].size, why);
			return false;
		}
	}
	return true;
}

/* Sanitise into out (at most max_out ranges); whether the result is sound. */
static bool sanitize(const struct memmap_entry *raw, size_t nr_raw,
		     const struct mem_range *reserved, size_t nr_reserved,
		     size_t max_out)
{
	dropped = 0xdeadbeef;
	nr_out = memmap_sanitize(raw, nr_raw, reserved, nr_reserved, out,
				 max_out, &dropped);
	return nr_out <= max_out && ranges_sound(out, nr_out);
}

/* Whether c gives exactly the ranges it wants; if not, prints both. */
static bool case_ok(const struct map_case *c)
{
	bool ok = sanitize(c->raw, c->nr_raw, c->reserved, c->nr_reserved,
			   MEMMAP_MAX_RANGES) &&
		  nr_out == c->nr_want && dropped == 0;

	for (size_t i = 0; ok && i < c->nr_want; i++)
		ok = out[i].base == c->want[i].base &&
		     out[i].size == c->want[i].size;
	if (!ok) {
		printk("case at line %d: got %zu ranges (%zu dropped), want %zu\n",
		       c->line, nr_out, dropped, c->nr_want);
		print_ranges("got", out, nr_out);
		print_ranges("want", c->want, c->nr_want);
	}
	return ok;
}

/* Check every case of a table. */
static void check_cases(const struct map_case *cases, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		KT_EXPECT_TRUE(case_ok(&cases[i]));
}

KTEST(memmap, overlapping_usable_merge)
{
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(2 * MiB, 4 * MiB), USABLE(4 * MiB, 4 * MiB)),
		     WANT({ 2 * MiB, 6 * MiB })),
		/* one inside another */
		CASE(RAW(USABLE(2 * MiB, 8 * MiB), USABLE(3 * MiB, MiB)),
		     WANT({ 2 * MiB, 8 * MiB })),
		/* a chain of three, unsorted, overlapping at odd bytes */
		CASE(RAW(USABLE(6 * MiB + 3, 4 * MiB),
			 USABLE(2 * MiB, 3 * MiB + 5),
			 USABLE(4 * MiB + 1, 2 * MiB + 9)),
		     WANT({ 2 * MiB, 8 * MiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, adjacent_usable_merge)
{
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(2 * MiB, 2 * MiB), USABLE(4 * MiB, 4 * MiB)),
		     WANT({ 2 * MiB, 6 * MiB })),
		/* the page split between two entries is whole RAM */
		CASE(RAW(USABLE(2 * MiB, 0x800),
			 USABLE(2 * MiB + 0x800, 2 * MiB - 0x800)),
		     WANT({ 2 * MiB, 2 * MiB })),
		/* three entries meeting at unaligned edges */
		CASE(RAW(USABLE(3 * MiB + 0x10, MiB),
			 USABLE(2 * MiB + 0x123, MiB - 0x113),
			 USABLE(2 * MiB, 0x123)),
		     WANT({ 2 * MiB, 2 * MiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, duplicates)
{
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(2 * MiB, 2 * MiB), USABLE(2 * MiB, 2 * MiB),
			 USABLE(2 * MiB, 2 * MiB)),
		     WANT({ 2 * MiB, 2 * MiB })),
		CASE(RAW(USABLE(2 * MiB, 4 * MiB), RESERVED(3 * MiB, 4 * KiB),
			 RESERVED(3 * MiB, 4 * KiB)),
		     WANT({ 2 * MiB, MiB },
			  { 3 * MiB + 4 * KiB, 3 * MiB - 4 * KiB })),
		/* the same range usable and reserved, in either order */
		CASE(RAW(USABLE(2 * MiB, 2 * MiB), RESERVED(2 * MiB, 2 * MiB))),
		CASE(RAW(RESERVED(2 * MiB, 2 * MiB), USABLE(2 * MiB, 2 * MiB))),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, reserved_inside_splits)
{
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(2 * MiB, 8 * MiB), RESERVED(4 * MiB, MiB)),
		     WANT({ 2 * MiB, 2 * MiB }, { 5 * MiB, 5 * MiB })),
		CASE(RAW(USABLE(2 * MiB, 8 * MiB), RESERVED(3 * MiB, 4 * KiB),
			 RESERVED(6 * MiB, 8 * KiB)),
		     WANT({ 2 * MiB, MiB },
			  { 3 * MiB + 4 * KiB, 3 * MiB - 4 * KiB },
			  { 6 * MiB + 8 * KiB, 4 * MiB - 8 * KiB })),
		/* one reserved byte takes its whole page */
		CASE(RAW(USABLE(2 * MiB, 8 * MiB), RESERVED(5 * MiB + 100, 1)),
		     WANT({ 2 * MiB, 3 * MiB },
			  { 5 * MiB + 4 * KiB, 5 * MiB - 4 * KiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, overlap_reserved_wins)
{
	static const struct map_case cases[] = {
		/* reserved over both edges, listed before and after */
		CASE(RAW(RESERVED(MiB + 512 * KiB, MiB + 512 * KiB),
			 USABLE(2 * MiB, 8 * MiB), RESERVED(9 * MiB, 3 * MiB)),
		     WANT({ 3 * MiB, 6 * MiB })),
		CASE(RAW(USABLE(2 * MiB, 8 * MiB), RESERVED(9 * MiB, 3 * MiB),
			 RESERVED(MiB + 512 * KiB, MiB + 512 * KiB)),
		     WANT({ 3 * MiB, 6 * MiB })),
		/* reserved over all of it */
		CASE(RAW(USABLE(4 * MiB, MiB), RESERVED(3 * MiB, 4 * MiB))),
		/* reserved on the first and last page exactly */
		CASE(RAW(USABLE(2 * MiB, 4 * MiB), RESERVED(2 * MiB, 4 * KiB),
			 RESERVED(6 * MiB - 4 * KiB, 4 * KiB)),
		     WANT({ 2 * MiB + 4 * KiB, 4 * MiB - 8 * KiB })),
		/* reserved ending where usable starts, and starting at its end */
		CASE(RAW(RESERVED(MiB, MiB), USABLE(2 * MiB, 2 * MiB),
			 RESERVED(4 * MiB, MiB)),
		     WANT({ 2 * MiB, 2 * MiB })),
		/* unaligned reserved edges take the pages they touch */
		CASE(RAW(USABLE(2 * MiB, 8 * MiB), RESERVED(MiB, MiB + 1),
			 RESERVED(10 * MiB - 1, 5)),
		     WANT({ 2 * MiB + 4 * KiB, 8 * MiB - 8 * KiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, unsorted_input)
{
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(64 * MiB, 16 * MiB), USABLE(2 * MiB, 2 * MiB),
			 RESERVED(70 * MiB, MiB), USABLE(8 * MiB, 8 * MiB),
			 USABLE(5 * GiB, GiB)),
		     WANT({ 2 * MiB, 2 * MiB }, { 8 * MiB, 8 * MiB },
			  { 64 * MiB, 6 * MiB }, { 71 * MiB, 9 * MiB },
			  { 5 * GiB, GiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, unaligned_rounded_inward)
{
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(2 * MiB + 1, 2 * MiB - 2)),
		     WANT({ 2 * MiB + 4 * KiB, 2 * MiB - 8 * KiB })),
		CASE(RAW(USABLE(2 * MiB + 0x10, 8 * KiB)),
		     WANT({ 2 * MiB + 4 * KiB, 4 * KiB })),
		/* a page's worth of bytes straddling two pages: nothing */
		CASE(RAW(USABLE(2 * MiB + 0x10, 4 * KiB))),
		/* less than a page */
		CASE(RAW(USABLE(2 * MiB, 4 * KiB - 1))),
		CASE(RAW(USABLE(2 * MiB + 1, 4 * KiB - 1))),
		/* the small one goes, the large one is cut inward */
		CASE(RAW(USABLE(3 * MiB + 0x800, 0x1000),
			 USABLE(4 * MiB - 0x10, 8 * KiB + 0x20)),
		     WANT({ 4 * MiB, 8 * KiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, zero_length_ignored)
{
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(2 * MiB, 0))),
		CASE(RAW(USABLE(2 * MiB, 4 * MiB), RESERVED(3 * MiB, 0),
			 ENTRY(4 * MiB, 0, MEMMAP_BAD), USABLE(8 * MiB, 0)),
		     WANT({ 2 * MiB, 4 * MiB })),
		CASE(RAW(USABLE(2 * MiB, 4 * MiB)), RES({ 3 * MiB, 0 }),
		     WANT({ 2 * MiB, 4 * MiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, end_wraps_past_2_64)
{
	static const struct map_case cases[] = {
		/* usable to 2^64: cut at the last page */
		CASE(RAW(USABLE(0xffffffff00000000, 8 * GiB)),
		     WANT({ 0xffffffff00000000, 4 * GiB - 4 * KiB })),
		CASE(RAW(USABLE(2 * MiB, UINT64_MAX)),
		     WANT({ 2 * MiB, TOP - 2 * MiB })),
		/* an end of exactly 2^64 (base + length is 0 in 64 bits) */
		CASE(RAW(USABLE(TOP - 8 * KiB, 12 * KiB)),
		     WANT({ TOP - 8 * KiB, 8 * KiB })),
		/* reserved from 6 GiB to 2^64 */
		CASE(RAW(USABLE(4 * GiB, 4 * GiB),
			 RESERVED(6 * GiB, UINT64_MAX)),
		     WANT({ 4 * GiB, 2 * GiB })),
		/* a wrapping entry does not wrap around to low memory */
		CASE(RAW(USABLE(2 * MiB, 2 * MiB), RESERVED(TOP, 8 * MiB)),
		     WANT({ 2 * MiB, 2 * MiB })),
		CASE(RAW(USABLE(2 * MiB, 2 * MiB)),
		     RES({ TOP + 0x800, 8 * MiB }), WANT({ 2 * MiB, 2 * MiB })),
		CASE(RAW(USABLE(2 * MiB, 2 * MiB), USABLE(TOP + 1, 8 * MiB)),
		     WANT({ 2 * MiB, 2 * MiB })),
		/* nothing in the last page is usable */
		CASE(RAW(USABLE(TOP, 4 * KiB))),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

/* Check that entries of type never give usable memory, nor let any through. */
static void check_type_not_usable(uint32_t type)
{
	const struct map_case cases[] = {
		CASE(RAW(ENTRY(2 * MiB, 8 * MiB, type))),
		CASE(RAW(USABLE(2 * MiB, 8 * MiB), ENTRY(4 * MiB, MiB, type)),
		     WANT({ 2 * MiB, 2 * MiB }, { 5 * MiB, 5 * MiB })),
		CASE(RAW(ENTRY(MiB, 16 * MiB, type), USABLE(2 * MiB, 8 * MiB))),
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool ok = case_ok(&cases[i]);

		if (!ok)
			printk("with type %u\n", type);
		KT_EXPECT_TRUE(ok);
	}
}

KTEST(memmap, unknown_types_reserved)
{
	static const uint32_t types[] = { 0, 6, 7, 12, 20, 0xffff, 0xffffffff };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		check_type_not_usable(types[i]);
}

KTEST(memmap, acpi_and_bad_not_usable)
{
	static const uint32_t types[] = { MEMMAP_RESERVED,
					  MEMMAP_ACPI_RECLAIMABLE,
					  MEMMAP_ACPI_NVS, MEMMAP_BAD };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		check_type_not_usable(types[i]);
}

#define MANY 200

/*
 * MANY one-page ranges, 8 KiB apart from 2 MiB, given highest first:
 * cut_by_reserved says whether the gaps come from the reserved list (one
 * usable entry) or from the map (one usable entry per range).
 */
static size_t many_ranges(struct memmap_entry *raw, struct mem_range *res,
			  bool cut_by_reserved, size_t *nr_res)
{
	*nr_res = 0;
	if (cut_by_reserved) {
		raw[0] = (struct memmap_entry)USABLE(2 * MiB, MANY * 8 * KiB);
		for (size_t i = 0; i < MANY; i++)
			res[(*nr_res)++] = (struct mem_range){
				2 * MiB + (MANY - 1 - i) * 8 * KiB + 4 * KiB,
				4 * KiB
			};
		return 1;
	}
	for (size_t i = 0; i < MANY; i++)
		raw[i] = (struct memmap_entry)USABLE(
			2 * MiB + (MANY - 1 - i) * 8 * KiB, 4 * KiB);
	return MANY;
}

KTEST(memmap, too_many_ranges_dropped)
{
	static struct memmap_entry raw[MANY];
	static struct mem_range res[MANY];
	static const size_t max_outs[] = { MEMMAP_MAX_RANGES, 3, 1, 0 };

	for (int by_reserved = 0; by_reserved < 2; by_reserved++) {
		size_t nr_res;
		size_t nr_raw = many_ranges(raw, res, by_reserved, &nr_res);

		for (size_t m = 0; m < ARRAY_SIZE(max_outs); m++) {
			size_t max = max_outs[m];

			out[0] = (struct mem_range){ 1, 1 };
			KT_ASSERT_TRUE(sanitize(raw, nr_raw, res, nr_res, max));
			KT_EXPECT_EQ(nr_out, max);
			KT_EXPECT_EQ(dropped, MANY - max);
			for (size_t i = 0; i < nr_out; i++) {
				KT_EXPECT_EQ(out[i].base,
					     2 * MiB + i * 8 * KiB);
				KT_EXPECT_EQ(out[i].size, 4 * KiB);
			}
			if (max == 0)
				KT_EXPECT_EQ(out[0].base, 1);
		}
	}
}

KTEST(memmap, all_reserved_gives_nothing)
{
	static const struct map_case cases[] = {
		CASE(RAW(RESERVED(0, 4 * GiB))),
		CASE(RAW(RESERVED(0, 640 * KiB), ENTRY(MiB, GiB, MEMMAP_BAD),
			 ENTRY(2 * GiB, MiB, MEMMAP_ACPI_NVS),
			 ENTRY(3 * GiB, MiB, MEMMAP_ACPI_RECLAIMABLE))),
		/* an empty map */
		CASE(.nr_raw = 0),
		/* usable, but all of it in the reserved list */
		CASE(RAW(USABLE(2 * MiB, 2 * MiB), USABLE(8 * MiB, 2 * MiB)),
		     RES({ MiB, 16 * MiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, first_mib_carved)
{
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(0, 4 * MiB)), WANT({ MiB, 3 * MiB })),
		CASE(RAW(USABLE(0, 640 * KiB))),
		CASE(RAW(USABLE(MiB - 4 * KiB, 8 * KiB)),
		     WANT({ MiB, 4 * KiB })),
		CASE(RAW(USABLE(512 * KiB, MiB)), WANT({ MiB, 512 * KiB })),
		CASE(RAW(USABLE(MiB, 4 * KiB)), WANT({ MiB, 4 * KiB })),
		CASE(RAW(USABLE(MiB - 1, 4 * KiB + 1)), WANT({ MiB, 4 * KiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, reserved_list_carved)
{
	static const struct map_case cases[] = {
		/* kernel image and multiboot2 information */
		CASE(RAW(USABLE(MiB, 63 * MiB)),
		     RES({ MiB, 2 * MiB }, { 10 * MiB, 8 * KiB }),
		     WANT({ 3 * MiB, 7 * MiB },
			  { 10 * MiB + 8 * KiB, 54 * MiB - 8 * KiB })),
		/* reserved ranges outside RAM change nothing */
		CASE(RAW(USABLE(2 * MiB, 2 * MiB), RESERVED(8 * MiB, MiB)),
		     RES({ 8 * MiB, 4 * KiB }, { 100 * MiB, MiB }),
		     WANT({ 2 * MiB, 2 * MiB })),
		/* overlapping reserved ranges */
		CASE(RAW(USABLE(2 * MiB, 8 * MiB)),
		     RES({ 4 * MiB, 2 * MiB }, { 5 * MiB, 2 * MiB },
			 { 4 * MiB, 4 * KiB }),
		     WANT({ 2 * MiB, 2 * MiB }, { 7 * MiB, 3 * MiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, reserved_list_unaligned)
{
	static const struct map_case cases[] = {
		/* a kernel image ending mid-page */
		CASE(RAW(USABLE(2 * MiB, 8 * MiB)), RES({ MiB, 0x123456 }),
		     WANT({ 0x224000, 10 * MiB - 0x224000 })),
		/* inside a page, across two pages, the last byte of a page */
		CASE(RAW(USABLE(2 * MiB, 8 * MiB)),
		     RES({ 4 * MiB + 0x800, 0x10 }, { 5 * MiB - 1, 2 },
			 { 6 * MiB + 4 * KiB - 1, 1 }),
		     WANT({ 2 * MiB, 2 * MiB },
			  { 4 * MiB + 4 * KiB, MiB - 8 * KiB },
			  { 5 * MiB + 4 * KiB, MiB - 4 * KiB },
			  { 6 * MiB + 4 * KiB, 4 * MiB - 4 * KiB })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, qemu_map)
{
	/* what GRUB passes from SeaBIOS with -m 512M, and our reserved list */
	static const struct map_case cases[] = {
		CASE(RAW(USABLE(0, 0x9fc00), RESERVED(0x9fc00, 0x400),
			 RESERVED(0xf0000, 0x10000),
			 USABLE(0x100000, 0x1fee0000),
			 RESERVED(0x1ffe0000, 0x20000),
			 RESERVED(0xfffc0000, 0x40000),
			 RESERVED(0xfd00000000, 0x300000000)),
		     RES({ 0x100000, 0x2a000 }, { 0x1fb8f000 + 0x7b8, 0x370 }),
		     WANT({ 0x12a000, 0x1fb8f000 - 0x12a000 },
			  { 0x1fb90000, 0x1ffe0000 - 0x1fb90000 })),
	};

	check_cases(cases, ARRAY_SIZE(cases));
}

KTEST(memmap, total_and_print)
{
	static const struct mem_range ranges[] = {
		{ MiB, 3 * MiB },
		{ 8 * MiB, 8 * KiB },
		{ 16 * MiB, MiB + 12 * KiB },
		{ 4 * GiB, 60 * GiB },
	};

	KT_EXPECT_EQ(memmap_total(ranges, 0), 0);
	KT_EXPECT_EQ(memmap_total(ranges, 3), 4 * MiB + 20 * KiB);
	KT_EXPECT_EQ(memmap_total(ranges, 4), 60 * GiB + 4 * MiB + 20 * KiB);
	/* the tables land in the log, for a reader to see */
	memmap_print(ranges, ARRAY_SIZE(ranges), 0);
	memmap_print(ranges, 2, 7);
}

/* ---- randomized maps against a page-by-page model */

#define RANDOM_MAPS 300
#define RANDOM_SPACE (16 * MiB)
#define RANDOM_MAX_RAW 10
#define RANDOM_MAX_RESERVED 3

struct random_map {
	struct memmap_entry raw[RANDOM_MAX_RAW];
	size_t nr_raw;
	struct mem_range reserved[RANDOM_MAX_RESERVED];
	size_t nr_reserved;
};

static uint64_t xorshift_state;

/* xorshift64 (Marsaglia 2003): a tiny PRNG with a fixed seed. */
static uint64_t random_next(void)
{
	uint64_t x = xorshift_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return xorshift_state = x;
}

/* A random number below n (n > 0). */
static uint64_t random_below(uint64_t n)
{
	return random_next() % n;
}

/* A page-aligned value half of the time, any byte otherwise. */
static uint64_t random_maybe_aligned(uint64_t v)
{
	return random_below(2) ? ALIGN_DOWN(v, PGSIZE) : v;
}

/*
 * A random span: inside RANDOM_SPACE and mostly up to max_length long,
 * sometimes empty, sometimes tiny, now and then running to or past 2^64.
 * No span ends between RANDOM_SPACE and the last page, which
 * matches_model relies on.
 */
static void random_span(uint64_t max_length, uint64_t *base, uint64_t *length)
{
	uint64_t b = random_maybe_aligned(random_below(RANDOM_SPACE));
	uint64_t l;

	*base = b;
	switch (random_below(16)) {
	case 0:
		*length = 0;
		return;
	case 1:
		*length = UINT64_MAX - random_below(b + 1);
		return;
	case 2:
	case 3:
		l = 1 + random_below(3 * PGSIZE);
		break;
	default:
		l = random_maybe_aligned(1 + random_below(max_length));
	}
	*length = MIN(l, RANDOM_SPACE - b);
}

/* Usable two times in three, else a known or unknown other type. */
static uint32_t random_type(void)
{
	static const uint32_t others[] = { 2, 3, 4, 5, 7, 12, 0xffffffff };

	if (random_below(3))
		return MEMMAP_USABLE;
	return others[random_below(ARRAY_SIZE(others))];
}

/*
 * A random map of 1..RANDOM_MAX_RAW entries and a few reserved ranges:
 * like a real map, usable entries are long, the others mostly short.
 */
static void random_map_fill(struct random_map *m)
{
	m->nr_raw = 1 + random_below(RANDOM_MAX_RAW);
	for (size_t i = 0; i < m->nr_raw; i++) {
		struct memmap_entry *e = &m->raw[i];

		e->type = random_type();
		random_span(e->type == MEMMAP_USABLE ? RANDOM_SPACE :
						       RANDOM_SPACE / 16,
			    &e->base, &e->length);
	}
	m->nr_reserved = random_below(RANDOM_MAX_RESERVED + 1);
	for (size_t i = 0; i < m->nr_reserved; i++)
		random_span(RANDOM_SPACE / 64, &m->reserved[i].base,
			    &m->reserved[i].size);
}

/* Whether [base, base + length), clipped at 2^64, touches page p. */
static bool model_touches(uint64_t base, uint64_t length, uint64_t p)
{
	if (length == 0 || base >= p + PGSIZE)
		return false;
	return base >= p || p - base < length;
}

/* Whether the usable entries of m together hold every byte of page p. */
static bool model_covered(const struct random_map *m, uint64_t p)
{
	uint64_t x = p; /* the bytes [p, x) are held */
	bool progress = true;

	while (x < p + PGSIZE && progress) {
		progress = false;
		for (size_t i = 0; i < m->nr_raw; i++) {
			const struct memmap_entry *e = &m->raw[i];
			uint64_t left;

			if (e->type != MEMMAP_USABLE || x < e->base ||
			    x - e->base >= e->length)
				continue;
			left = e->length - (x - e->base);
			x = left >= p + PGSIZE - x ? p + PGSIZE : x + left;
			progress = true;
		}
	}
	return x >= p + PGSIZE;
}

/* The model: whether page p is usable RAM by the rules in memmap.h. */
static bool model_usable(const struct random_map *m, uint64_t p)
{
	if (p < MEMMAP_LOW_RESERVED || !model_covered(m, p))
		return false;
	for (size_t i = 0; i < m->nr_raw; i++)
		if (m->raw[i].type != MEMMAP_USABLE &&
		    model_touches(m->raw[i].base, m->raw[i].length, p))
			return false;
	for (size_t i = 0; i < m->nr_reserved; i++)
		if (model_touches(m->reserved[i].base, m->reserved[i].size, p))
			return false;
	return true;
}

/*
 * Whether out holds exactly the pages the model calls usable. Pages are
 * compared one by one up to and including the one at RANDOM_SPACE; above
 * it no edge lies below the last page, so all is like that page: the
 * range holding it is the last and runs to TOP if it is usable, and no
 * range runs past RANDOM_SPACE otherwise.
 */
static bool matches_model(const struct random_map *m)
{
	size_t j = 0;
	bool ok, top_usable = false;
	uint64_t last_end;

	for (uint64_t p = 0; p <= RANDOM_SPACE; p += PGSIZE) {
		bool got, want = model_usable(m, p);

		while (j < nr_out && out[j].base + out[j].size <= p)
			j++;
		got = j < nr_out && out[j].base <= p;
		if (got != want) {
			printk("page 0x%llx: got %s, the model says %s\n",
			       (unsigned long long)p,
			       got ? "usable" : "not usable",
			       want ? "usable" : "not usable");
			return false;
		}
		top_usable = want;
	}
	last_end = nr_out ? out[nr_out - 1].base + out[nr_out - 1].size : 0;
	ok = top_usable ? j == nr_out - 1 && last_end == TOP :
			  last_end <= RANDOM_SPACE;
	if (!ok)
		printk("above 0x%llx the model says: %s\n",
		       (unsigned long long)RANDOM_SPACE,
		       top_usable ? "all usable up to TOP" : "nothing usable");
	return ok;
}

/* Print a random map, so a failure can be replayed by hand. */
static void random_map_print(const struct random_map *m)
{
	for (size_t i = 0; i < m->nr_raw; i++)
		printk("raw[%zu]: base 0x%llx length 0x%llx type %u\n", i,
		       (unsigned long long)m->raw[i].base,
		       (unsigned long long)m->raw[i].length, m->raw[i].type);
	for (size_t i = 0; i < m->nr_reserved; i++)
		printk("reserved[%zu]: base 0x%llx size 0x%llx\n", i,
		       (unsigned long long)m->reserved[i].base,
		       (unsigned long long)m->reserved[i].size);
	print_ranges("got", out, nr_out);
}

/* Reverse the order of m's entries (the result must not change). */
static void random_map_reverse(struct random_map *m)
{
	for (size_t i = 0, j = m->nr_raw - 1; i < j; i++, j--) {
		struct memmap_entry t = m->raw[i];

		m->raw[i] = m->raw[j];
		m->raw[j] = t;
	}
}

/*
 * Whether m sanitises to what the model says; with room for only half the
 * ranges, to the lowest half; and with its entries reversed, to the same
 * again (which is left in out).
 */
static bool random_map_ok(struct random_map *m)
{
	static struct mem_range full[MEMMAP_MAX_RANGES];
	size_t nr_full, half;

	if (!sanitize(m->raw, m->nr_raw, m->reserved, m->nr_reserved,
		      MEMMAP_MAX_RANGES) ||
	    dropped != 0 || !matches_model(m))
		return false;
	nr_full = nr_out;
	for (size_t i = 0; i < nr_full; i++)
		full[i] = out[i];

	half = nr_full / 2;
	if (!sanitize(m->raw, m->nr_raw, m->reserved, m->nr_reserved, half) ||
	    nr_out != half || dropped != nr_full - half ||
	    kmemcmp(out, full, half * sizeof(full[0])) != 0) {
		printk("with room for %zu of %zu ranges: %zu kept, %zu dropped\n",
		       half, nr_full, nr_out, dropped);
		return false;
	}

	random_map_reverse(m);
	if (!sanitize(m->raw, m->nr_raw, m->reserved, m->nr_reserved,
		      MEMMAP_MAX_RANGES) ||
	    nr_out != nr_full ||
	    kmemcmp(out, full, nr_full * sizeof(full[0])) != 0) {
		printk("reversing the entries changes the result\n");
		return false;
	}
	return true;
}

KTEST(memmap, random_against_page_model)
{
	static struct random_map m;
	int several_ranges = 0, up_to_top = 0;

	xorshift_state = 0x6d656d6d61702121; /* "memmap!!" */
	for (int i = 0; i < RANDOM_MAPS; i++) {
		bool ok;

		random_map_fill(&m);
		ok = random_map_ok(&m);
		if (!ok) {
			printk("map %d of the fixed seed:\n", i);
			random_map_print(&m);
		}
		KT_ASSERT_TRUE(ok);
		several_ranges += nr_out > 1;
		up_to_top += nr_out &&
			     out[nr_out - 1].base + out[nr_out - 1].size == TOP;
	}
	/* the maps are not trivial: most give several ranges, some reach TOP */
	KT_EXPECT_GT(several_ranges, RANDOM_MAPS / 2);
	KT_EXPECT_GT(up_to_top, RANDOM_MAPS / 20);
}

/* Sizes with suffixes, as mem=, memreserve= and the monitor read them. */
KTEST(string, strtosize)
{
	static const struct {
		const char *s;
		bool ok;
		uint64_t want;
	} cases[] = {
		{ "0", true, 0 },
		{ "4096", true, 4096 },
		{ "64M", true, 64 * MiB },
		{ "64m", true, 64 * MiB },
		{ "2K", true, 2 * KiB },
		{ "4G", true, 4 * GiB },
		{ "3t", true, 3ull << 40 },
		{ "0x2000000", true, 32 * MiB },
		{ "0X10k", true, 16 * KiB },
		{ "0xffffffffffffffff", true, UINT64_MAX },
		{ "18446744073709551615", true, UINT64_MAX },
		{ "17179869183G", true, 17179869183ull << 30 },
		{ "18446744073709551616", false, 0 }, /* 2^64 */
		{ "0x10000000000000000", false, 0 },
		{ "17179869184G", false, 0 }, /* 2^64 after the suffix */
		{ "", false, 0 },
		{ "M", false, 0 },
		{ "0x", false, 0 },
		{ "12Q", false, 0 },
		{ "12MB", false, 0 },
		{ "-1", false, 0 },
		{ "1 2", false, 0 },
		{ "0x1g0", false, 0 },
		{ "12ab", false, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 12345;
		bool ok = kstrtosize(cases[i].s, &v);

		if (ok != cases[i].ok)
			printk("kstrtosize(\"%s\")\n", cases[i].s);
		KT_EXPECT_EQ(ok, cases[i].ok);
		/* a refused value leaves *out alone */
		KT_EXPECT_EQ(v, cases[i].ok ? cases[i].want : 12345);
	}
}

KTEST(memmap, parse_options_good)
{
	struct memmap_options opt;

	KT_EXPECT_EQ(memmap_parse_options("ktest=x", &opt), 0);
	KT_EXPECT_EQ(opt.mem_limit, 0);
	KT_EXPECT_EQ(opt.nr_reserve, 0);

	KT_EXPECT_EQ(memmap_parse_options("mem=1G memreserve=16M@0x2000000 "
					  "mem=64M memreserve=4K@1M",
					  &opt),
		     0);
	KT_EXPECT_EQ(opt.mem_limit, 64 * MiB); /* the last one counts */
	KT_ASSERT_EQ(opt.nr_reserve, 2);
	KT_EXPECT_EQ(opt.reserve[0].base, 32 * MiB);
	KT_EXPECT_EQ(opt.reserve[0].size, 16 * MiB);
	KT_EXPECT_EQ(opt.reserve[1].base, 1 * MiB);
	KT_EXPECT_EQ(opt.reserve[1].size, 4 * KiB);
	/* a range that ends exactly at 2^64 is fine */
	KT_EXPECT_EQ(
		memmap_parse_options("memreserve=4K@0xfffffffffffff000", &opt),
		0);
	KT_EXPECT_EQ(opt.nr_reserve, 1);
}

KTEST(memmap, parse_options_bad)
{
	static const char *const bad[] = {
		"mem=",
		"mem=abc",
		"mem=12MB",
		"mem=1M",
		"mem=0",
		"mem=99999999999999999999",
		"mem=0x0000000000000000000000000000000000000000000000004000000",
		"memreserve=",
		"memreserve=1M",
		"memreserve=@1M",
		"memreserve=1M@",
		"memreserve=0@1M",
		"memreserve=1X@1M",
		"memreserve=8K@0xfffffffffffff000",
		"memreserve=1M@2M@3M",
	};
	struct memmap_options opt;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		/* each is reported on the console, naming itself */
		KT_EXPECT_EQ(memmap_parse_options(bad[i], &opt), 1);
		/* the safe default: as if it had not been given */
		KT_EXPECT_EQ(opt.mem_limit, 0);
		KT_EXPECT_EQ(opt.nr_reserve, 0);
	}
	/* a bad value does not undo a good one */
	KT_EXPECT_EQ(memmap_parse_options("mem=64M mem=2", &opt), 1);
	KT_EXPECT_EQ(opt.mem_limit, 64 * MiB);
}

KTEST(memmap, parse_options_too_many_reserves)
{
	char cl[512] = "";
	size_t len = 0;
	struct memmap_options opt;

	for (int i = 0; i < MEMMAP_MAX_MEMRESERVE + 2; i++)
		len += ksnprintf(cl + len, sizeof(cl) - len,
				 "memreserve=4K@%dM ", 2 + i);
	KT_EXPECT_EQ(memmap_parse_options(cl, &opt), 2);
	KT_ASSERT_EQ(opt.nr_reserve, MEMMAP_MAX_MEMRESERVE);
	KT_EXPECT_EQ(opt.reserve[MEMMAP_MAX_MEMRESERVE - 1].base,
		     (uint64_t)(MEMMAP_MAX_MEMRESERVE + 1) * MiB);
}

/* The options take effect through the reserved list memmap_sanitize cuts. */
KTEST(memmap, options_cut_the_map)
{
	const struct memmap_entry raw[] = { USABLE(0, 4 * GiB) };
	struct mem_range reserved[MEMMAP_MAX_MEMRESERVE + 1];
	struct memmap_options opt;
	size_t nr = 0, n, lost;

	KT_ASSERT_EQ(
		memmap_parse_options("mem=64M memreserve=16M@0x2000000", &opt),
		0);
	memmap_options_reserve(&opt, reserved, &nr, ARRAY_SIZE(reserved));
	KT_ASSERT_EQ(nr, 2);
	n = memmap_sanitize(raw, ARRAY_SIZE(raw), reserved, nr, out,
			    MEMMAP_MAX_RANGES, &lost);
	KT_ASSERT_EQ(n, 2);
	KT_EXPECT_EQ(lost, 0);
	KT_EXPECT_EQ(out[0].base, 1 * MiB);
	KT_EXPECT_EQ(out[0].size, 31 * MiB);
	KT_EXPECT_EQ(out[1].base, 48 * MiB);
	KT_EXPECT_EQ(out[1].size, 16 * MiB);
	KT_EXPECT_EQ(memmap_total(out, n), 47 * MiB);
}

/* memreserve= may not leave less than MEMMAP_MIN_USABLE: refused, whole. */
KTEST(memmap, options_check_refuses_too_big_reserves)
{
	const struct memmap_entry raw[] = { USABLE(0, 64 * MiB) };
	const struct mem_range kernel[] = { { 1 * MiB, 1 * MiB } };
	struct memmap_options opt;

	/* memreserve=1T@0 once panicked: "no usable memory to map" */
	KT_ASSERT_EQ(memmap_parse_options("memreserve=1T@0", &opt), 0);
	KT_EXPECT_EQ(memmap_options_check(&opt, raw, 1, kernel, 1), 1);
	KT_EXPECT_EQ(opt.nr_reserve, 0);

	/* in order: the second would leave 6 MiB with the first, the third
	 * is fine again */
	KT_ASSERT_EQ(
		memmap_parse_options("memreserve=16M@32M memreserve=56M@2M "
				     "memreserve=4K@0x100000",
				     &opt),
		0);
	KT_EXPECT_EQ(memmap_options_check(&opt, raw, 1, kernel, 1), 1);
	KT_ASSERT_EQ(opt.nr_reserve, 2);
	KT_EXPECT_EQ(opt.reserve[0].base, 32 * MiB);
	KT_EXPECT_EQ(opt.reserve[0].size, 16 * MiB);
	KT_EXPECT_EQ(opt.reserve[1].base, 1 * MiB);
	KT_EXPECT_EQ(opt.reserve[1].size, 4 * KiB);

	/* with mem=: 2..16 MiB usable, 8 MiB of it reserved leaves 6 */
	KT_ASSERT_EQ(memmap_parse_options("mem=16M memreserve=8M@4M", &opt), 0);
	KT_EXPECT_EQ(memmap_options_check(&opt, raw, 1, kernel, 1), 1);
	KT_EXPECT_EQ(opt.nr_reserve, 0);
	KT_EXPECT_EQ(opt.mem_limit, 16 * MiB);
}

KTEST(memmap, options_check_at_the_minimum)
{
	/* 1..64 MiB usable: leaving exactly 8 MiB is fine, a page less not */
	const struct memmap_entry raw[] = { USABLE(0, 64 * MiB) };
	const struct memmap_entry high[] = { USABLE(64 * GiB, 1 * GiB) };
	struct memmap_options opt;

	KT_ASSERT_EQ(memmap_parse_options("memreserve=55M@1M", &opt), 0);
	KT_EXPECT_EQ(memmap_options_check(&opt, raw, 1, NULL, 0), 0);
	KT_EXPECT_EQ(opt.nr_reserve, 1);
	KT_ASSERT_EQ(memmap_parse_options("memreserve=0x3701000@1M", &opt), 0);
	KT_EXPECT_EQ(memmap_options_check(&opt, raw, 1, NULL, 0), 1);
	KT_EXPECT_EQ(opt.nr_reserve, 0);
	/* a mem= below all the RAM (the host's is high up) is refused */
	KT_ASSERT_EQ(memmap_parse_options("mem=64M", &opt), 0);
	KT_EXPECT_EQ(memmap_options_check(&opt, high, 1, NULL, 0), 1);
	KT_EXPECT_EQ(opt.mem_limit, 0);
	/* nothing to check: nothing changes */
	KT_ASSERT_EQ(memmap_parse_options("mem=32M", &opt), 0);
	KT_EXPECT_EQ(memmap_options_check(&opt, raw, 1, NULL, 0), 0);
	KT_EXPECT_EQ(opt.mem_limit, 32 * MiB);
}

/* A value past OPTION_VALUE_MAX is refused whole; 47 characters fit. */
KTEST(memmap, options_long_values)
{
	struct memmap_options opt;

	/* 47 characters: 0x and 45 hex digits of value 16M; 48 is one too many */
	KT_EXPECT_EQ(
		memmap_parse_options(
			"mem=0x000000000000000000000000000000000000001000000",
			&opt),
		0);
	KT_EXPECT_EQ(opt.mem_limit, 16 * MiB);
	KT_EXPECT_EQ(
		memmap_parse_options(
			"mem=0x0000000000000000000000000000000000000001000000",
			&opt),
		1);
	KT_EXPECT_EQ(opt.mem_limit, 0);
	/* mem= given twice, both good: the last counts (and is said so) */
	KT_EXPECT_EQ(memmap_parse_options("mem=1G mem=64M", &opt), 0);
	KT_EXPECT_EQ(opt.mem_limit, 64 * MiB);
}

/* x86_64 finds its page tables below 4 GiB: a memreserve= may not take
 * all of that (memreserve=4G@0 panicked "no usable range below 4 GiB");
 * the host has no such bound */
KTEST(memmap, options_check_boot_memory)
{
	const struct memmap_entry raw[] = { USABLE(0, 3 * GiB),
					    USABLE(4 * GiB, 2 * GiB) };
	struct memmap_options opt;
	int bounded = ARCH_BOOT_MEMORY_END <= 4 * GiB;

	KT_ASSERT_EQ(memmap_parse_options("memreserve=4G@0", &opt), 0);
	KT_EXPECT_EQ(memmap_options_check(&opt, raw, 2, NULL, 0), bounded);
	KT_EXPECT_EQ(opt.nr_reserve, 1 - bounded);
	/* 8 MiB left below 4 GiB is enough */
	KT_ASSERT_EQ(memmap_parse_options("memreserve=0xbf700000@1M", &opt), 0);
	KT_EXPECT_EQ(memmap_options_check(&opt, raw, 2, NULL, 0), 0);
	KT_EXPECT_EQ(opt.nr_reserve, 1);
}
