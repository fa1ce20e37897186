/*
 * pmem.c: pmem_init, which turns the usable RAM into arenas:
 *
 *   base       all usable ranges, quantum PGSIZE, tags from its own pages
 *    +- kpages     quantum PGSIZE, imports with arena_alloc from base,
 *                  quantum caches for 1..8 pages in front
 *    +- kpages_2m  quantum 2 MiB, imports 2 MiB-aligned runs from base
 *    +- kpages_1g  quantum 1 GiB, imports 1 GiB-aligned runs from base
 *
 * and, over kpages, the kmalloc caches "kmalloc_32" .. "kmalloc_8192".
 *
 * The jumbo arenas import through arena_xalloc on base itself, not on
 * kpages: the aligned request goes as far down as it can (arena.c's FAQ).
 * Nothing here touches RAM beyond a tag page per range, so pmem_init costs
 * the same at 128 MiB and at 64 GiB.
 */
#include "pmem.h"
#include "arch.h"
#include "kmalloc.h"
#include "kmem_debug.h"
#include "page.h"
#include "kstring.h"
#include "panic.h"
#include "printk.h"
#include "slab.h"

uint64_t pmem_init_cycles;

static void *import_2m(struct arena *source, size_t size, int flags)
{
	return arena_xalloc(source, size, PGSIZE_2M, 0, 0, NULL, NULL, flags);
}

static void *import_1g(struct arena *source, size_t size, int flags)
{
	return arena_xalloc(source, size, PGSIZE_1G, 0, 0, NULL, NULL, flags);
}

void pmem_init(const struct mem_range *usable, size_t nr_ranges)
{
	uint64_t start = arch_cycles(), bytes = 0;

	if (base_arena)
		panic("pmem_init: called twice");
	arena_init_base(&base_arena_storage, "base");
	base_arena = &base_arena_storage;
	for (size_t i = 0; i < nr_ranges; i++) {
		arena_add(base_arena, KADDR(usable[i].base), usable[i].size,
			  MEM_WAIT);
		bytes += usable[i].size;
	}
	kmem_init();
	kpages_arena =
		arena_create("kpages", NULL, 0, PGSIZE, arena_alloc, arena_free,
			     base_arena, 8 * PGSIZE, MEM_WAIT);
	kpages_2m_arena =
		arena_create("kpages_2m", NULL, 0, PGSIZE_2M, import_2m,
			     arena_xfree, base_arena, 0, MEM_WAIT);
	kpages_1g_arena =
		arena_create("kpages_1g", NULL, 0, PGSIZE_1G, import_1g,
			     arena_xfree, base_arena, 0, MEM_WAIT);
	pmem_init_cycles = arch_cycles() - start;
	printk("pmem_init: %zu ranges, %llu MiB usable, %llu cycles\n",
	       nr_ranges, (unsigned long long)(bytes >> 20),
	       (unsigned long long)pmem_init_cycles);
	arena_print_stats();
	kmalloc_init();
	kmem_cache_print_all();
}

static struct mem_range sanitized[MEMMAP_MAX_RANGES], usable[MEMMAP_MAX_RANGES];
static size_t nr_sanitized, nr_usable;

const struct mem_range *pmem_ranges_sanitized(size_t *nr)
{
	*nr = nr_sanitized;
	return sanitized;
}

const struct mem_range *pmem_ranges(size_t *nr)
{
	*nr = nr_usable;
	return usable;
}

void pmem_init_from_boot(const struct boot_info *bi)
{
	/* the boot's ranges, memreserve= ones, and one above mem= */
	struct mem_range
		reserved[BOOTINFO_MAX_RESERVED + MEMMAP_MAX_MEMRESERVE + 1];
	struct memmap_options opt;
	size_t nr, nr_reserved = 0, dropped;

	for (size_t i = 0; i < bi->nr_reserved; i++)
		reserved[nr_reserved++] =
			(struct mem_range){ bi->reserved[i].base,
					    bi->reserved[i].size };
	kmem_debug_init(bi->cmdline);
	memmap_parse_options(bi->cmdline, &opt);
	memmap_options_check(&opt, bi->memmap, bi->nr_memmap, reserved,
			     nr_reserved);
	memmap_options_reserve(&opt, reserved, &nr_reserved,
			       ARRAY_SIZE(reserved));
	nr = memmap_sanitize(bi->memmap, bi->nr_memmap, reserved, nr_reserved,
			     usable, MEMMAP_MAX_RANGES, &dropped);
	memmap_print(usable, nr, dropped);
	kmemcpy(sanitized, usable, nr * sizeof(*usable));
	nr_sanitized = nr;
	arch_memory_init(usable, &nr, MEMMAP_MAX_RANGES);
	nr_usable = nr;
	pmem_init(usable, nr);
}
