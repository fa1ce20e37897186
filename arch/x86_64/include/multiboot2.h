/*
 * multiboot2.h: reading the multiboot2 information block that GRUB hands
 * the kernel (the Multiboot2 Specification, section 3.6), every read
 * bounded by the block's size.
 *
 * Layout: u32 total_size, u32 reserved, then tags, each starting on an
 * 8-byte boundary: u32 type, u32 size (of the tag, header included, not
 * counting padding), payload. The list ends with a tag of type 0, size 8.
 */
#pragma once

#include "bootinfo.h"

#define MB2_BOOT_MAGIC 0x36d76289

enum {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_LOADER_NAME = 2,
	MB2_TAG_MMAP = 6,
	MB2_TAG_ACPI_OLD = 14, /* a copy of the RSDP, revision 0 */
	MB2_TAG_ACPI_NEW = 15, /* a copy of the RSDP, revision 2 and up */
};

/* The memory map tag's header size and its entry (u64 base, len; u32 type, reserved). */
#define MB2_MMAP_HEADER_SIZE 16
#define MB2_MMAP_ENTRY_SIZE 24

/*
 * Parse the information block at info, of which at most avail bytes may
 * be read, into bi (command line, boot loader name, memory map, the ACPI
 * RSDP copy: the "new" tag's whatever the order, else the "old" one's,
 * cut at BOOTINFO_MAX_RSDP bytes). Returns 0
 * on success. On a malformed block returns -1 and writes a one-line
 * reason into err (size errlen); what was read before the fault is kept
 * in bi. More memory map entries than bi holds is not an error: the
 * excess is counted in bi->nr_memmap_dropped.
 */
int multiboot2_parse(const void *info, size_t avail, struct boot_info *bi,
		     char *err, size_t errlen);
