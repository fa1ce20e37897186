/*
 * bootinfo.h: what the boot loader told the kernel, in a form kern/ can use
 * without knowing multiboot2 (arch/x86_64/multiboot2.c fills it in; the
 * host fills in its own).
 */
#pragma once

#include "compiler.h"

/* Memory map entry types, as multiboot2 and the firmware (E820) number them. */
enum {
	MEMMAP_USABLE = 1,
	MEMMAP_RESERVED = 2,
	MEMMAP_ACPI_RECLAIMABLE = 3,
	MEMMAP_ACPI_NVS = 4,
	MEMMAP_BAD = 5,
};

/* One entry of the raw firmware memory map, exactly as it was given. */
struct memmap_entry {
	uint64_t base;
	uint64_t length;
	uint32_t type;
};

#define BOOTINFO_MAX_MEMMAP 128
/*
 * The command line keeps up to BOOTINFO_MAX_CMDLINE - 1 = 4095 characters.
 * A longer one keeps the words that fit whole; the rest, from the word
 * the limit falls in, is ignored (never half a word), and the boot says
 * so (bootinfo_set_cmdline, bootinfo_print_cmdline).
 */
#define BOOTINFO_MAX_CMDLINE 4096
/* How much of the first ignored word the boot line quotes. */
#define BOOTINFO_CMDLINE_QUOTE 40
#define BOOTINFO_MAX_LOADER 128
#define BOOTINFO_MAX_RESERVED 8
/* The longest ACPI RSDP copy kept (revision 2 has 36 bytes). */
#define BOOTINFO_MAX_RSDP 64

/* A physical range the kernel must not hand out (see memmap.h). */
struct boot_reserved {
	uint64_t base;
	uint64_t size;
	const char *what; /* "kernel image", "multiboot2 information" */
};

struct boot_info {
	char cmdline[BOOTINFO_MAX_CMDLINE];
	/* the length the loader gave; more than kept: the rest is ignored */
	size_t cmdline_given;
	/* the start of what was ignored (empty when nothing was) */
	char cmdline_ignored[BOOTINFO_CMDLINE_QUOTE + 1];
	char loader[BOOTINFO_MAX_LOADER];
	struct memmap_entry memmap[BOOTINFO_MAX_MEMMAP];
	size_t nr_memmap;
	/* entries the firmware gave beyond BOOTINFO_MAX_MEMMAP (dropped) */
	size_t nr_memmap_dropped;
	/* physical range of the boot information block itself */
	uint64_t info_base, info_size;
	/* what the arch says is in use already (kernel image, this block) */
	struct boot_reserved reserved[BOOTINFO_MAX_RESERVED];
	size_t nr_reserved;
	/*
	 * A copy of the ACPI RSDP, from the multiboot2 "ACPI new" tag (RSDP
	 * revision 2) if there is one, else the "ACPI old" tag (revision 0):
	 * rsdp_len bytes, 0 when the loader gave neither.
	 */
	uint8_t rsdp[BOOTINFO_MAX_RSDP];
	size_t rsdp_len;
};

/* The name of a memory map type ("usable", "reserved", ... "unknown"). */
const char *memmap_type_name(uint32_t type);

/*
 * Set bi->cmdline from the n characters at s (not necessarily terminated):
 * all of them, or when they do not fit, the words that fit whole.
 */
void bootinfo_set_cmdline(struct boot_info *bi, const char *s, size_t n);

/* Print the command line, and a line saying what was ignored, if any. */
void bootinfo_print_cmdline(const struct boot_info *bi);

/* Print the raw memory map as a table: base, end, size, type. */
void bootinfo_print_memmap(const struct boot_info *bi);

/* The kernel's arch-neutral entry: everything after the arch's setup. */
__noreturn void kmain(const struct boot_info *bi);
