/*
 * pmem.h: physical memory, from the sanitised memory map to the arenas
 * every allocation in the kernel comes from.
 */
#pragma once

#include "arena.h"
#include "memmap.h"

/*
 * Build the arenas over the usable ranges (physical, page-aligned, made
 * addressable by arch_memory_init): base_arena over all of them, then
 * kpages_arena (pages, importing from base) and the jumbo arenas
 * kpages_2m_arena and kpages_1g_arena (importing aligned runs from base),
 * then the kmalloc caches (kmalloc_init). Prints one line with the ranges,
 * the usable MiB and the cycles it took, the arena table and the cache
 * table. Call once; a second call panics.
 */
void pmem_init(const struct mem_range *usable, size_t nr_ranges);

/*
 * From what the boot loader said to the arenas: sanitise the memory map
 * (carving out bi->reserved), print it, make RAM addressable
 * (arch_memory_init), then pmem_init. kmain and kmem_host_init call it.
 */
void pmem_init_from_boot(const struct boot_info *bi);

/*
 * The usable ranges pmem_init_from_boot found: as memmap_sanitize gave
 * them, and as arch_memory_init left them (what pmem_init got).
 */
const struct mem_range *pmem_ranges_sanitized(size_t *nr);
const struct mem_range *pmem_ranges(size_t *nr);

/* The cycles (arch_cycles) the last pmem_init took. */
extern uint64_t pmem_init_cycles;
