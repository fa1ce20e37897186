/*
 * paging.c: tests of the direct map on the real machine. kmain gave
 * arch_memory_init the sanitised ranges (pmem.h records them before and
 * after); these tests check what it built through paging_translate: every range mapped at KADDR with the
 * largest pages that fit, nothing else mapped, the page tables cut out of
 * the ranges below 4 GiB, the kernel image still mapped and the low
 * identity map gone. They touch a few bytes per range, never more: a
 * 64 GiB guest need not have the memory behind it.
 */
#include "ktest.h"
#include "arch.h"
#include "cpu.h"
#include "kstring.h"
#include "memmap.h"
#include "page.h"
#include "paging.h"
#include "pmem.h"
#include "printk.h"

#define NOT_MAPPED (~0ull)
#define IDENTITY_MAP_END (4ull << 30)

/* The usable ranges given to arch_memory_init, and as it left them. */
static struct mem_range given[MEMMAP_MAX_RANGES], left[MEMMAP_MAX_RANGES];
static size_t nr_given, nr_left;

/* Fetch, once, what kmain's pmem_init_from_boot recorded of the ranges. */
static void paging_init_once(void)
{
	const struct mem_range *r;

	if (nr_given)
		return;
	r = pmem_ranges_sanitized(&nr_given);
	kmemcpy(given, r, nr_given * sizeof(*r));
	r = pmem_ranges(&nr_left);
	kmemcpy(left, r, nr_left * sizeof(*r));
}

static uint64_t va_of(uint64_t pa)
{
	return (uint64_t)(uintptr_t)KADDR(pa);
}

/* The physical address va maps to, or NOT_MAPPED; the page size too. */
static uint64_t translated(uint64_t va, uint64_t *page_size)
{
	uint64_t pa;

	*page_size = 0;
	return paging_translate(va, &pa, page_size) ? pa : NOT_MAPPED;
}

static uint64_t range_end(const struct mem_range *r)
{
	return r->base + r->size;
}

KTEST_KERNEL(paging, direct_map_covers_every_range)
{
	uint64_t size;

	paging_init_once();
	KT_ASSERT_GT(nr_given, 0);
	for (size_t i = 0; i < nr_given; i++) {
		uint64_t base = given[i].base, last = range_end(&given[i]) - 1;

		KT_EXPECT_EQ(translated(va_of(base), &size), base);
		KT_EXPECT_EQ(translated(va_of(last), &size), last);
	}
}

/* Holes between ranges, the first MiB and the kernel image are not mapped. */
KTEST_KERNEL(paging, direct_map_leaves_holes_unmapped)
{
	uint64_t size;

	paging_init_once();
	KT_EXPECT_EQ(translated(va_of(0), &size), NOT_MAPPED);
	KT_EXPECT_EQ(translated(va_of(MEMMAP_LOW_RESERVED), &size), NOT_MAPPED);
	for (size_t i = 0; i < nr_given; i++) {
		uint64_t before = given[i].base - PGSIZE;
		uint64_t after = range_end(&given[i]);

		if (i == 0 || range_end(&given[i - 1]) <= before)
			KT_EXPECT_EQ(translated(va_of(before), &size),
				     NOT_MAPPED);
		if (i + 1 == nr_given || given[i + 1].base > after)
			KT_EXPECT_EQ(translated(va_of(after), &size),
				     NOT_MAPPED);
	}
}

/* Asked of the CPU here, not taken from what paging.c found. */
static bool cpu_has_1g_pages(void)
{
	uint32_t a, b, c, d;

	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x80000001)
		return false;
	cpuid(0x80000001, 0, &a, &b, &c, &d);
	return d & (1u << 26); /* pdpe1gb */
}

/* The next page size up from size, or 0 when there is none. */
static uint64_t larger_page(uint64_t size)
{
	if (size == PGSIZE)
		return PGSIZE_2M;
	if (size == PGSIZE_2M && cpu_has_1g_pages())
		return PGSIZE_1G;
	return 0;
}

/* Whether the next larger page around pa would have fitted in r. */
static bool could_be_larger(const struct mem_range *r, uint64_t pa,
			    uint64_t size)
{
	uint64_t big = larger_page(size), base;

	if (!big)
		return false;
	base = ALIGN_DOWN(pa, big);
	return base >= r->base && base + big <= range_end(r);
}

/*
 * Walk r page by page as mapped (a step is one 1 GiB, 2 MiB or 4 KiB
 * page, so this is cheap) and count the pages of each size in counts[]
 * (4 KiB, 2 MiB, 1 GiB). Each must start where the walk is, lie inside r
 * and be the largest page that fits there; stop at the first that is not.
 */
static void count_pages(const struct mem_range *r, size_t counts[3])
{
	uint64_t pa = r->base, size, got;

	for (; pa < range_end(r); pa += size) {
		got = translated(va_of(pa), &size);
		if (got != pa || !IS_ALIGNED(pa, size) ||
		    size > range_end(r) - pa || could_be_larger(r, pa, size)) {
			printk("range 0x%llx..0x%llx, page at 0x%llx of size 0x%llx:\n",
			       (unsigned long long)r->base,
			       (unsigned long long)range_end(r),
			       (unsigned long long)pa,
			       (unsigned long long)size);
			KT_EXPECT_EQ(got, pa);
			KT_EXPECT_EQ(pa & (size - 1), 0);
			KT_EXPECT_LE(size, range_end(r) - pa);
			KT_EXPECT_FALSE(could_be_larger(r, pa, size));
			return;
		}
		counts[size == PGSIZE_1G ? 2 : size == PGSIZE_2M]++;
	}
}

KTEST_KERNEL(paging, direct_map_uses_largest_pages)
{
	const struct paging_stats *s;
	size_t counts[3] = { 0, 0, 0 };

	paging_init_once();
	s = paging_stats();
	for (size_t i = 0; i < nr_given; i++)
		count_pages(&given[i], counts);
	KT_EXPECT_EQ(counts[0], s->nr_4k);
	KT_EXPECT_EQ(counts[1], s->nr_2m);
	KT_EXPECT_EQ(counts[2], s->nr_1g);
	KT_EXPECT_EQ(s->pages_1g, cpu_has_1g_pages());
	if (!cpu_has_1g_pages())
		KT_EXPECT_EQ(counts[2], 0);
	/* at most 511 pages of 4 KiB at either edge of a range */
	KT_EXPECT_LE(s->nr_4k, nr_given * 2 * 511);
}

/* Whether [base, end) lies inside one of the given ranges. */
static bool inside_given(uint64_t base, uint64_t end)
{
	for (size_t i = 0; i < nr_given; i++)
		if (given[i].base <= base && end <= range_end(&given[i]))
			return true;
	return false;
}

static uint64_t total(const struct mem_range *ranges, size_t nr)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < nr; i++)
		sum += ranges[i].size;
	return sum;
}

/*
 * The tables lie below 4 GiB, inside the usable ranges, CR3 among them,
 * mapped in the direct map; the ranges left are the ones given less
 * exactly those pages: sorted, disjoint, inside the given ones, clear of
 * the tables, and short by the tables' size in all.
 */
KTEST_KERNEL(paging, tables_cut_out_of_ranges)
{
	const struct paging_stats *s;
	uint64_t cr3 = ALIGN_DOWN(read_cr3(), PGSIZE), size;

	paging_init_once();
	s = paging_stats();
	KT_ASSERT_GE(s->nr_tables, 4); /* PML4, PDPT, PD, PT at least */
	KT_EXPECT_EQ(s->tables_end - s->tables_base, s->nr_tables * PGSIZE);
	KT_EXPECT_EQ(s->tables_base % PGSIZE, 0);
	KT_EXPECT_LE(s->tables_end, IDENTITY_MAP_END);
	KT_EXPECT_TRUE(inside_given(s->tables_base, s->tables_end));
	KT_EXPECT_GE(cr3, s->tables_base);
	KT_EXPECT_LT(cr3, s->tables_end);
	KT_EXPECT_EQ(translated(va_of(s->tables_base), &size), s->tables_base);
	KT_EXPECT_EQ(total(left, nr_left) + s->nr_tables * PGSIZE,
		     total(given, nr_given));
	for (size_t i = 0; i < nr_left; i++) {
		uint64_t base = left[i].base, end = range_end(&left[i]);
		bool clear = end <= s->tables_base || base >= s->tables_end;

		KT_EXPECT_EQ((base | end) % PGSIZE, 0);
		KT_EXPECT_GT(end, base);
		KT_EXPECT_TRUE(inside_given(base, end));
		KT_EXPECT_TRUE(clear);
		if (i > 0)
			KT_EXPECT_LE(range_end(&left[i - 1]), base);
	}
}

/* Write through KADDR to the first and last 8 bytes of each range left. */
static void check_writable(uint64_t pa)
{
	volatile uint64_t *p = KADDR(pa);
	uint64_t old = *p, pattern = 0x5a5aa5a5c3c33c3cull ^ pa;

	*p = pattern;
	KT_EXPECT_EQ(*p, pattern);
	*p = old;
}

KTEST_KERNEL(paging, direct_map_is_writable)
{
	paging_init_once();
	for (size_t i = 0; i < nr_left; i++) {
		check_writable(left[i].base);
		check_writable(range_end(&left[i]) - 8);
	}
}

static uint64_t kernel_bss_word;

/* The test runs, so the image is mapped; check it is where it belongs. */
KTEST_KERNEL(paging, kernel_image_mapped)
{
	uint64_t text = (uint64_t)(uintptr_t)paging_init_once;
	uint64_t bss = (uint64_t)(uintptr_t)&kernel_bss_word, size;

	paging_init_once();
	kernel_bss_word = 42;
	KT_EXPECT_EQ(kernel_bss_word, 42);
	KT_EXPECT_EQ(translated(text, &size), text - KERNEL_VMA);
	KT_EXPECT_EQ(size, PGSIZE);
	KT_EXPECT_EQ(translated(bss, &size), bss - KERNEL_VMA);
	KT_EXPECT_EQ(
		paging_stats()->nr_kernel_4k * PGSIZE,
		(uint64_t)(uintptr_t)(__kernel_end_pa - __kernel_start_pa));
}

/* The boot identity map of 0..4 GiB is gone: low addresses fault. */
KTEST_KERNEL(paging, identity_map_gone)
{
	uint64_t size;

	paging_init_once();
	KT_EXPECT_EQ(translated(0, &size), NOT_MAPPED);
	KT_EXPECT_EQ(translated(MEMMAP_LOW_RESERVED, &size), NOT_MAPPED);
	KT_EXPECT_EQ(translated(arch_boot_info()->info_base, &size),
		     NOT_MAPPED);
	KT_EXPECT_EQ(translated(IDENTITY_MAP_END - PGSIZE, &size), NOT_MAPPED);
}

KTEST_KERNEL_PANICS(paging, null_dereference_faults, "Page Fault (#PF)",
		    "cr2 0x0 (page not present, read")
{
	volatile uint64_t *null = NULL;

	paging_init_once();
	/* hide the constant from the compiler, which may trap on it */
	__asm__ volatile("" : "+r"(null));
	(void)*null;
}

/* The kernel's text is read-only now (CR0.WP holds ring 0 to it too). */
KTEST_KERNEL_PANICS(paging, kernel_text_read_only, "Page Fault (#PF)",
		    "protection violation, write")
{
	volatile uint8_t *text = (volatile uint8_t *)paging_init_once;

	paging_init_once();
	*text = *text;
}

/*
 * The direct map is no-execute: a ret placed in RAM faults on the fetch.
 * (On a CPU without NX the ret returns, and the test fails for not
 * panicking.)
 */
KTEST_KERNEL_PANICS(paging, direct_map_no_execute, "Page Fault (#PF)",
		    "instruction fetch")
{
	volatile uint8_t *ram;

	paging_init_once();
	ram = KADDR(left[0].base);
	*ram = 0xc3; /* ret */
	((void (*)(void))ram)();
}
