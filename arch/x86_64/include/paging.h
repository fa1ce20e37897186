/*
 * paging.h: the x86_64 page tables: the direct map of all usable RAM at
 * ARCH_DIRECT_MAP_BASE and the kernel image at KERNEL_VMA (paging.c builds
 * both in arch_memory_init), what was built, and a walk of the live tables.
 */
#pragma once

#include "bootinfo.h"

/* The kernel image runs at KERNEL_VMA + its physical address (linker.ld). */
#define KERNEL_VMA 0xffffffff80000000ull

/* linker.ld: the physical extent of the kernel image, .bss included */
extern const char __kernel_start_pa[], __kernel_end_pa[];

/* What arch_memory_init built; all zero before it ran. */
struct paging_stats {
	bool pages_1g; /* the CPU has 1 GiB pages (CPUID pdpe1gb) */
	bool nx;       /* the CPU has no-execute; EFER.NXE is on */
	/* leaf entries of the direct map, by page size */
	size_t nr_1g, nr_2m, nr_4k;
	/* leaf entries (4 KiB) that map the kernel image */
	size_t nr_kernel_4k;
	/* page-table pages, PML4 included: [tables_base, tables_end) */
	size_t nr_tables;
	uint64_t tables_base, tables_end;
	/* of them, spare pages left for paging_map_phys/_identity */
	size_t nr_spare;
	/* 4 KiB pages paging_map_phys mapped outside the direct map */
	size_t nr_mapped;
};

/* What arch_memory_init built (counts are zero before it ran). */
const struct paging_stats *paging_stats(void);

/*
 * Walk the live page tables (CR3) for the virtual address @va. If it is
 * mapped, store its physical address in *@pa and the size of the page
 * that maps it (4 KiB, 2 MiB or 1 GiB) in *@page_size and return true;
 * return false for an address that is not mapped or not canonical. Works
 * before arch_memory_init too (the boot tables, through their identity
 * map) and reads the tables through the direct map after it.
 */
bool paging_translate(uint64_t va, uint64_t *pa, uint64_t *page_size);

/* What paging_map_phys maps: device registers, or firmware tables. */
enum paging_kind {
	PAGING_MMIO,	  /* writable, uncached (PCD, PWT), no-execute */
	PAGING_READ_ONLY, /* read-only, cached, no-execute */
};

/*
 * Make [pa, pa + len) reachable at KADDR(pa) after arch_memory_init: the
 * 4 KiB pages of it the direct map lacks are mapped as kind says; pages
 * already mapped (RAM) stay as they are. Returns KADDR(pa), or NULL (with
 * a line saying why) when the spare tables run out or the range lies
 * beyond the direct map's reach.
 */
void *paging_map_phys(uint64_t pa, size_t len, enum paging_kind kind);

/*
 * Map the page at pa (below 4 GiB) at its own address, writable and
 * executable, for a CPU's start (smp.c); and take that away again.
 */
void paging_map_identity(uint64_t pa);
void paging_unmap_identity(uint64_t pa);

/*
 * The boot loader's information as start.c read it (memory map, reserved
 * ranges): for tests that build usable ranges before memmap_sanitize.
 */
const struct boot_info *arch_boot_info(void);
