/*
 * paging.c: the kernel's own page tables. arch_memory_init maps every
 * usable range of RAM at KADDR(pa) (the direct map) and the kernel image at
 * -2 GiB, then switches to them, dropping the boot tables' identity map;
 * paging_translate walks whatever tables are live.
 *
 * ---- Layout
 *
 * A virtual address splits into four 9-bit table indices and a 12-bit
 * offset; bits 63..48 repeat bit 47 (a canonical address):
 *
 *   63      48 47     39 38     30 29     21 20     12 11          0
 *  +----------+---------+---------+---------+---------+-------------+
 *  |  sign    |  PML4   |  PDPT   |   PD    |   PT    |   offset    |
 *  +----------+---------+---------+---------+---------+-------------+
 *                  |         |         |         '--> 4 KiB page
 *                  |         |         '--> PS set: a 2 MiB page
 *                  |         '--> PS set: a 1 GiB page (CPUID pdpe1gb)
 *                  '--> 512 GiB per slot
 *
 * An entry of a PDPT or a PD points to the next table, or (PS set) is the
 * leaf itself, mapping an aligned 1 GiB or 2 MiB at once. The PML4 built
 * here:
 *
 *  slot      virtual addresses            what
 *  0..255    0x0000000000000000 ..        nothing: the boot identity map
 *            0x00007fffffffffff           is gone, so NULL faults
 *  256..510  0xffff800000000000 ..        the direct map: KADDR(pa) =
 *            0xffffff7fffffffff           pa + 0xffff800000000000 for
 *                                         the usable ranges, physical
 *                                         addresses up to 255 x 512 GiB
 *  511       0xffffff8000000000 ..        the kernel image: PDPT[510]
 *            0xffffffffffffffff           maps KERNEL_VMA (-2 GiB) + pa
 *                                         for [__kernel_start_pa,
 *                                         __kernel_end_pa) with 4 KiB
 *                                         pages, text read-only, the
 *                                         rest no-execute
 *
 * The direct map is writable, supervisor-only and, where the CPU has it,
 * no-execute. Global pages would buy nothing with one address space.
 *
 * ---- The bump allocator
 *
 * Page-table pages come from the usable ranges themselves. Until the
 * switch, the boot tables identity-map 0..4 GiB: a page below 4 GiB can be
 * zeroed and filled at its physical address, a page above cannot. So we
 * bound the tables needed (per range: a PDPT per 512 GiB and a PD per
 * 1 GiB it touches, and two PTs for its edges; the same for the kernel
 * image, with a PT per 2 MiB; and the PML4), pick the highest range that
 * ends below 4 GiB and holds the bound, and hand out its pages downward
 * from its top, zeroing each. The ranges are mapped as they were given,
 * table pages included, so the live tables can be read through the
 * direct map; then the pages actually used are cut off the top of that
 * range (which shrinks, or disappears), and the caller never hands them
 * out. A range that crosses 4 GiB is never picked, as its top lies above
 * 4 GiB; on a PC the MMIO hole below 4 GiB keeps RAM from crossing it.
 *
 * ---- Page sizes
 *
 * Each range is mapped from its base upward, each time with the largest
 * page that is aligned there and ends inside the range: 1 GiB where the
 * CPU has it, then 2 MiB, then 4 KiB (KADDR adds a multiple of 512 GiB,
 * so virtual and physical alignment agree). As the ranges are
 * page-aligned, 4 KiB pages appear only between a range's base and the
 * first 2 MiB boundary in it and between the last one and its end: fewer
 * than 512 at either edge, at most two PTs per range. Everything else
 * takes one entry per 1 GiB (a PDPT per 512 GiB) or per 2 MiB (a PD per
 * GiB): the work is one entry written at a time, bounded by the tables
 * built, and no RAM but the tables is touched; nothing is kept per page
 * of RAM, and a 4 KiB map of everything (a PT per 2 MiB of RAM) is never
 * built. No page reaches past its range, so holes, MMIO and the
 * reserved ranges (the first MiB, the kernel image, the multiboot2 block:
 * the caller took them out) are not in the direct map.
 *
 * ---- After the switch
 *
 * Some physical pages outside RAM must still be reached: the local and
 * I/O APICs' registers, the ACPI tables, and the page the other CPUs
 * start from. paging_map_phys maps them at the same place the direct map
 * would, KADDR(pa), with 4 KiB pages (uncached for MMIO, read-only for
 * tables), and paging_map_identity maps the start page at its own
 * address for the moment a CPU turns paging on. Their tables come from
 * PAGING_SPARE_TABLES pages the bump allocator keeps below the ones it
 * used, cut out of RAM with them: a few mappings, made at boot, never
 * undone but for the identity page.
 */
#include "paging.h"
#include "arch.h"
#include "assert.h"
#include "cpu.h"
#include "kstring.h"
#include "memmap.h"
#include "page.h"
#include "panic.h"
#include "printk.h"
#include "spinlock.h"

/* Page-table entry bits (Intel SDM vol. 3A, section 4.5). */
#define PTE_P (1ull << 0)	       /* present */
#define PTE_W (1ull << 1)	       /* writable */
#define PTE_PWT (1ull << 3)	       /* write-through */
#define PTE_PCD (1ull << 4)	       /* cache disabled: with PWT, uncached */
#define PTE_PS (1ull << 7)	       /* a 2 MiB or 1 GiB leaf (PD, PDPT) */
#define PTE_NX (1ull << 63)	       /* no instruction fetch (EFER.NXE) */
#define PTE_ADDR 0x000ffffffffff000ull /* the next table, or the page */

/* Levels counted from the leaf: level l indexes bits 12 + 9l .. 20 + 9l. */
enum { LEVEL_PT, LEVEL_PD, LEVEL_PDPT, LEVEL_PML4 };

#define TABLE_ENTRIES 512
/* Table pages kept for paging_map_phys and paging_map_identity. */
#define PAGING_SPARE_TABLES 16
#define PML4_SLOT_SHIFT 39
#define IDENTITY_MAP_END (4ull << 30) /* what the boot tables map */
/* The direct map's slots (256..510) end where the kernel image's begins. */
#define DIRECT_MAP_END_PA (255ull << PML4_SLOT_SHIFT)

#define MSR_EFER 0xc0000080
#define EFER_NXE (1ull << 11)
#define CPUID_EXT_MAX 0x80000000
#define CPUID_EXT_FEATURES 0x80000001
#define CPUID_EDX_NX (1u << 20)
#define CPUID_EDX_PDPE1GB (1u << 26)

static_assert(IS_ALIGNED(ARCH_DIRECT_MAP_BASE, 1ull << PML4_SLOT_SHIFT),
	      "KADDR must keep every page size's alignment");

/* linker.ld: the kernel's text, at its virtual address */
extern const char __text_start[], __text_end[];

static struct paging_stats stats;

/* Whether our tables are live: tables are then read through KADDR. */
static bool switched;

/* The bump allocator: pages [floor, top) are left, handed out downward. */
static struct {
	uint64_t floor, top, end;
} bump;

const struct paging_stats *paging_stats(void)
{
	return &stats;
}

static uint64_t level_size(int level)
{
	return 1ull << (PGSHIFT + 9 * level);
}

static unsigned table_index(uint64_t va, int level)
{
	return (va >> (PGSHIFT + 9 * level)) % TABLE_ENTRIES;
}

/* A table by its physical address: identity-mapped until the switch. */
static uint64_t *table_at(uint64_t pa)
{
	if (switched)
		return KADDR(pa);
	assert(pa < IDENTITY_MAP_END);
	return (uint64_t *)(uintptr_t)pa;
}

/* ---- building the tables */

/* The next page-table page, zeroed: the bound makes running out a bug. */
static uint64_t table_alloc(void)
{
	assert(bump.top - bump.floor >= PGSIZE);
	if (switched)
		stats.nr_spare--;
	bump.top -= PGSIZE;
	kmemset(table_at(bump.top), 0, PGSIZE);
	return bump.top;
}

/* The entry for va in the table at level, making the tables above it. */
static uint64_t *entry_create(uint64_t pml4, uint64_t va, int level)
{
	uint64_t table = pml4;

	for (int l = LEVEL_PML4; l > level; l--) {
		uint64_t *e = &table_at(table)[table_index(va, l)];

		if (!(*e & PTE_P))
			*e = table_alloc() | PTE_P | PTE_W;
		assert(!(*e & PTE_PS));
		table = *e & PTE_ADDR;
	}
	return &table_at(table)[table_index(va, level)];
}

/* Map one page of level_size(level) at va to pa. */
static void map_page(uint64_t pml4, uint64_t va, uint64_t pa, int level,
		     uint64_t flags)
{
	uint64_t *e = entry_create(pml4, va, level);

	assert(!(*e & PTE_P));
	*e = pa | flags | PTE_P | (level > LEVEL_PT ? PTE_PS : 0);
}

static uint64_t nx_flag(void)
{
	return stats.nx ? PTE_NX : 0;
}

/* The level of the largest page aligned at pa that ends by end. */
static int leaf_level(uint64_t pa, uint64_t end)
{
	int level = stats.pages_1g ? LEVEL_PDPT : LEVEL_PD;

	for (; level > LEVEL_PT; level--) {
		uint64_t size = level_size(level);

		if (IS_ALIGNED(pa, size) && end - pa >= size)
			break;
	}
	return level;
}

static void count_leaf(int level)
{
	if (level == LEVEL_PDPT)
		stats.nr_1g++;
	else if (level == LEVEL_PD)
		stats.nr_2m++;
	else
		stats.nr_4k++;
}

static void map_direct(uint64_t pml4, const struct mem_range *r)
{
	uint64_t pa = r->base, end = r->base + r->size;

	while (pa < end) {
		int level = leaf_level(pa, end);

		map_page(pml4, (uint64_t)(uintptr_t)KADDR(pa), pa, level,
			 PTE_W | nx_flag());
		count_leaf(level);
		pa += level_size(level);
	}
}

/* The kernel image at KERNEL_VMA + pa: text read-only, the rest NX. */
static void map_kernel_image(uint64_t pml4)
{
	uint64_t pa = (uint64_t)__kernel_start_pa;

	for (; pa < (uint64_t)__kernel_end_pa; pa += PGSIZE) {
		uint64_t va = KERNEL_VMA + pa;
		bool text = va >= (uint64_t)__text_start &&
			    va < (uint64_t)__text_end;

		map_page(pml4, va, pa, LEVEL_PT, text ? 0 : PTE_W | nx_flag());
		stats.nr_kernel_4k++;
	}
}

/* ---- the bound, and where the tables come from */

/* How many aligned blocks of 2^shift bytes [base, end) touches. */
static uint64_t blocks(uint64_t base, uint64_t end, unsigned shift)
{
	return ((end - 1) >> shift) - (base >> shift) + 1;
}

/* At most how many tables below the PML4 map [va, va_end) take. */
static uint64_t tables_bound(uint64_t va, uint64_t va_end, uint64_t nr_pts)
{
	return blocks(va, va_end, PML4_SLOT_SHIFT) +
	       blocks(va, va_end, PGSHIFT_1G) + nr_pts;
}

/* At most how many bytes of tables the whole build takes. */
static uint64_t tables_needed(const struct mem_range *ranges, size_t nr)
{
	uint64_t kva = KERNEL_VMA + (uint64_t)__kernel_start_pa;
	uint64_t kva_end = KERNEL_VMA + (uint64_t)__kernel_end_pa;
	uint64_t n = 1 + tables_bound(kva, kva_end,
				      blocks(kva, kva_end, PGSHIFT_2M));

	for (size_t i = 0; i < nr; i++) {
		uint64_t va = (uint64_t)(uintptr_t)KADDR(ranges[i].base);

		n += tables_bound(va, va + ranges[i].size, 2);
	}
	return n * PGSIZE;
}

/* The highest range that ends below 4 GiB and holds need bytes. */
static size_t bump_pick(const struct mem_range *ranges, size_t nr,
			uint64_t need)
{
	for (size_t i = nr; i-- > 0;) {
		if (ranges[i].base + ranges[i].size <= IDENTITY_MAP_END &&
		    ranges[i].size >= need)
			return i;
	}
	panic("arch_memory_init: no usable range below 4 GiB holds the %llu page-table pages the direct map may need",
	      (unsigned long long)(need / PGSIZE));
}

/* Take the bump allocator's pages, used and spare, off ranges[i]'s top. */
static void bump_cut(struct mem_range *ranges, size_t *nr, size_t i)
{
	ranges[i].size -= bump.end - bump.floor;
	if (ranges[i].size)
		return;
	kmemmove(&ranges[i], &ranges[i + 1], (*nr - i - 1) * sizeof(ranges[0]));
	(*nr)--;
}

/* ---- the switch */

/* The contract of arch_memory_init, checked: a bad list panics. */
static void check_ranges(const struct mem_range *ranges, size_t nr)
{
	uint64_t prev_end = 0;

	if (nr == 0)
		panic("arch_memory_init: no usable memory to map");
	for (size_t i = 0; i < nr; i++) {
		uint64_t base = ranges[i].base, size = ranges[i].size;

		if (!IS_ALIGNED(base | size, PGSIZE) || size == 0 ||
		    base < MAX(prev_end, PGSIZE) || base >= DIRECT_MAP_END_PA ||
		    size > DIRECT_MAP_END_PA - base)
			panic("arch_memory_init: range %zu base 0x%llx size 0x%llx is not page-aligned, sorted, disjoint, above page 0 and below 0x%llx",
			      i, (unsigned long long)base,
			      (unsigned long long)size,
			      (unsigned long long)DIRECT_MAP_END_PA);
		prev_end = base + size;
	}
}

static void cpu_features(void)
{
	uint32_t a, b, c, d;

	cpuid(CPUID_EXT_MAX, 0, &a, &b, &c, &d);
	if (a < CPUID_EXT_FEATURES)
		return;
	cpuid(CPUID_EXT_FEATURES, 0, &a, &b, &c, &d);
	stats.pages_1g = d & CPUID_EDX_PDPE1GB;
	stats.nx = d & CPUID_EDX_NX;
}

/* Load the new PML4; NX bits are reserved unless EFER.NXE is on first. */
static void switch_tables(uint64_t pml4)
{
	if (stats.nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr3(pml4);
	switched = true;
}

/*
 * kern/include/arch.h has the contract. Here: the ranges must be
 * page-aligned, sorted, disjoint, clear of page 0 and within the direct
 * map's reach, and one of them, below 4 GiB, must hold the tables; else,
 * or on a second call, it panics. The cut only shrinks or drops a range,
 * so *nr never grows towards max. It prints one line: what it built.
 */
void arch_memory_init(struct mem_range *ranges, size_t *nr, size_t max)
{
	static bool done;
	size_t chosen;
	uint64_t pml4;

	if (done)
		panic("arch_memory_init: called twice");
	done = true;
	assert(*nr <= max);
	check_ranges(ranges, *nr);
	cpu_features();
	chosen = bump_pick(ranges, *nr,
			   tables_needed(ranges, *nr) +
				   PAGING_SPARE_TABLES * PGSIZE);
	bump.floor = ranges[chosen].base;
	bump.top = bump.end = ranges[chosen].base + ranges[chosen].size;

	pml4 = table_alloc();
	for (size_t i = 0; i < *nr; i++)
		map_direct(pml4, &ranges[i]);
	map_kernel_image(pml4);
	switch_tables(pml4);

	/* the spare pages stay below the used ones; both are cut out */
	bump.floor = bump.top - PAGING_SPARE_TABLES * PGSIZE;
	stats.nr_tables = (bump.end - bump.floor) / PGSIZE;
	stats.tables_base = bump.floor;
	stats.tables_end = bump.end;
	stats.nr_spare = PAGING_SPARE_TABLES;
	bump_cut(ranges, nr, chosen);
	printk("direct map: %zu x 1 GiB, %zu x 2 MiB, %zu x 4 KiB pages, %zu page-table pages (%zu spare)\n",
	       stats.nr_1g, stats.nr_2m, stats.nr_4k, stats.nr_tables,
	       stats.nr_spare);
}

/* ---- walking the live tables */

bool paging_translate(uint64_t va, uint64_t *pa, uint64_t *page_size)
{
	uint64_t table = read_cr3() & PTE_ADDR, e, size;
	int level;

	if ((uint64_t)((int64_t)(va << 16) >> 16) != va)
		return false;
	for (level = LEVEL_PML4;; level--) {
		e = table_at(table)[table_index(va, level)];
		if (!(e & PTE_P))
			return false;
		if (level == LEVEL_PT || (level < LEVEL_PML4 && (e & PTE_PS)))
			break;
		table = e & PTE_ADDR;
	}
	size = level_size(level);
	*pa = (e & PTE_ADDR & ~(size - 1)) + (va & (size - 1));
	*page_size = size;
	return true;
}

/* ---- mapping more after the switch */

static struct spinlock map_lock = SPINLOCK_INIT;

/* Whether one more page at va may need a new table of each level. */
static bool spare_enough(void)
{
	return stats.nr_spare >= LEVEL_PML4;
}

void *paging_map_phys(uint64_t pa, size_t len, enum paging_kind kind)
{
	uint64_t first = ALIGN_DOWN(pa, PGSIZE), end, flags, pml4, got, size;

	if (!switched || len == 0 || pa >= DIRECT_MAP_END_PA ||
	    len > DIRECT_MAP_END_PA - pa)
		return NULL;
	end = ALIGN_UP(pa + len, PGSIZE);
	flags = kind == PAGING_MMIO ? PTE_W | PTE_PCD | PTE_PWT | nx_flag() :
				      nx_flag();
	pml4 = read_cr3() & PTE_ADDR;
	spin_lock(&map_lock);
	for (uint64_t p = first; p < end; p += PGSIZE) {
		uint64_t va = (uint64_t)(uintptr_t)KADDR(p);

		if (paging_translate(va, &got, &size))
			continue; /* RAM of the direct map, or mapped before */
		if (!spare_enough()) {
			spin_unlock(&map_lock);
			printk("paging: no spare page tables left to map 0x%llx (%zu bytes at 0x%llx asked)\n",
			       (unsigned long long)p, len,
			       (unsigned long long)pa);
			return NULL;
		}
		map_page(pml4, va, p, LEVEL_PT, flags);
		stats.nr_mapped++;
	}
	spin_unlock(&map_lock);
	return KADDR(pa);
}

void paging_map_identity(uint64_t pa)
{
	uint64_t got, size;

	assert(switched && IS_ALIGNED(pa, PGSIZE) && pa < IDENTITY_MAP_END);
	spin_lock(&map_lock);
	if (!paging_translate(pa, &got, &size)) {
		if (!spare_enough())
			panic("paging: no spare page tables left to map page 0x%llx at its own address",
			      (unsigned long long)pa);
		map_page(read_cr3() & PTE_ADDR, pa, pa, LEVEL_PT, PTE_W);
	}
	spin_unlock(&map_lock);
}

void paging_unmap_identity(uint64_t pa)
{
	uint64_t *e;

	spin_lock(&map_lock);
	e = entry_create(read_cr3() & PTE_ADDR, pa, LEVEL_PT);
	*e = 0;
	__asm__ volatile("invlpg (%0)" : : "r"(pa) : "memory");
	spin_unlock(&map_lock);
}
