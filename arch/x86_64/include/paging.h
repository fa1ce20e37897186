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

/*
 * The boot loader's information as start.c read it (memory map, reserved
 * ranges): for tests that build usable ranges before memmap_sanitize.
 */
const struct boot_info *arch_boot_info(void);
