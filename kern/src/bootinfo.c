/* bootinfo.c: naming and printing what the boot loader handed over. */
#include "bootinfo.h"
#include "kstring.h"
#include "printk.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

void bootinfo_set_cmdline(struct boot_info *bi, const char *s, size_t n)
{
	size_t keep = n, skip;

	bi->cmdline_given = n;
	bi->cmdline_ignored[0] = 0;
	if (n > BOOTINFO_MAX_CMDLINE - 1) {
		keep = BOOTINFO_MAX_CMDLINE - 1;
		/* the limit falls inside a word: leave all of it out */
		while (keep && !is_space(s[keep]) && !is_space(s[keep - 1]))
			keep--;
		while (keep && is_space(s[keep - 1]))
			keep--;
		for (skip = keep; skip < n && is_space(s[skip]); skip++)
			;
		kmemcpy(bi->cmdline_ignored, s + skip,
			MIN(n - skip, (size_t)BOOTINFO_CMDLINE_QUOTE));
		bi->cmdline_ignored[MIN(n - skip,
					(size_t)BOOTINFO_CMDLINE_QUOTE)] = 0;
	}
	kmemcpy(bi->cmdline, s, keep);
	bi->cmdline[keep] = 0;
}

void bootinfo_print_cmdline(const struct boot_info *bi)
{
	size_t kept = kstrlen(bi->cmdline);

	printk("command line: '%s'\n", bi->cmdline);
	if (bi->cmdline_given > kept)
		printk("command line: %zu characters, more than the %d kept; the %zu from '%s%s' on are ignored\n",
		       bi->cmdline_given, BOOTINFO_MAX_CMDLINE - 1,
		       bi->cmdline_given - kept, bi->cmdline_ignored,
		       kstrlen(bi->cmdline_ignored) == BOOTINFO_CMDLINE_QUOTE ?
			       "..." :
			       "");
}

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
