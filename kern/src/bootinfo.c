/* bootinfo.c: naming and printing what the boot loader handed over. */
#include "bootinfo.h"
#include "printk.h"

const char *memmap_type_name(uint32_t type)
{
	static const char *const names[] = {
		[MEMMAP_USABLE] = "usable",
		[MEMMAP_RESERVED] = "reserved",
		[MEMMAP_ACPI_RECLAIMABLE] = "ACPI reclaimable",
		[MEMMAP_ACPI_NVS] = "ACPI NVS",
		[MEMMAP_BAD] = "bad memory",
	};

	if (type < ARRAY_SIZE(names) && names[type])
		return names[type];
	return "unknown";
}

void bootinfo_print_memmap(const struct boot_info *bi)
{
	printk("memory map from the boot loader (%zu entries):\n",
	       bi->nr_memmap);
	printk("  %-18s %-18s %-18s %s\n", "base", "end", "size", "type");
	for (size_t i = 0; i < bi->nr_memmap; i++) {
		const struct memmap_entry *e = &bi->memmap[i];

		printk("  0x%016llx 0x%016llx 0x%016llx %s (%u)\n",
		       (unsigned long long)e->base,
		       (unsigned long long)(e->base + e->length),
		       (unsigned long long)e->length, memmap_type_name(e->type),
		       e->type);
	}
	if (bi->nr_memmap_dropped)
		printk("  (%zu more entries did not fit in %d and were dropped)\n",
		       bi->nr_memmap_dropped, BOOTINFO_MAX_MEMMAP);
}
