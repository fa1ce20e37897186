/*
 * multiboot2.c: a bounded reader of the multiboot2 information block.
 *
 * Nothing in the block is trusted: the total size is checked against what
 * may be read, every tag header and every tag against the total size, and
 * every memory map entry against its tag. A string must end inside its
 * tag. The first fault stops the walk with a message naming the tag, its
 * offset and the sizes involved.
 */
#include "multiboot2.h"
#include "kprintf.h"
#include "kstring.h"
#include "unaligned.h"

struct reader {
	const uint8_t *base;
	uint32_t total;
	char *err;
	size_t errlen;
	bool rsdp_new; /* bi->rsdp came from an "ACPI new" tag */
};

static int fail(struct reader *r, const char *fmt, ...) __printf(2, 3);

static int fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Check a tag's string payload ends inside it; copy it into dst (if any). */
static int read_string(struct reader *r, uint32_t offset, uint32_t size,
		       const char *what, char *dst, size_t dstlen)
{
	const char *s = (const char *)r->base + offset + 8;
	size_t room = size - 8;

	if (kstrnlen(s, room) == room)
		return fail(
			r,
			"multiboot2: %s tag at offset %u (size %u) is not NUL-terminated",
			what, offset, size);
	if (dst)
		kstrlcpy(dst, s, dstlen);
	return 0;
}

static int read_mmap(struct reader *r, uint32_t offset, uint32_t size,
		     struct boot_info *bi)
{
	const uint8_t *tag = r->base + offset;
	uint32_t entry_size, count;

	if (size < MB2_MMAP_HEADER_SIZE)
		return fail(
			r,
			"multiboot2: memory map tag at offset %u has size %u, less than its %d-byte header",
			offset, size, MB2_MMAP_HEADER_SIZE);
	entry_size = get_unaligned32(tag + 8);
	if (entry_size < MB2_MMAP_ENTRY_SIZE || entry_size % 8)
		return fail(
			r,
			"multiboot2: memory map tag at offset %u has entry_size %u; an entry needs %d bytes and a multiple of 8",
			offset, entry_size, MB2_MMAP_ENTRY_SIZE);
	count = (size - MB2_MMAP_HEADER_SIZE) / entry_size;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e =
			tag + MB2_MMAP_HEADER_SIZE + (size_t)i * entry_size;
		struct memmap_entry *m;

		if (bi->nr_memmap == BOOTINFO_MAX_MEMMAP) {
			bi->nr_memmap_dropped++;
			continue;
		}
		m = &bi->memmap[bi->nr_memmap++];
		m->base = get_unaligned64(e);
		m->length = get_unaligned64(e + 8);
		m->type = get_unaligned32(e + 16);
	}
	return 0;
}

/*
 * Keep the RSDP copy of an "ACPI old" or "ACPI new" tag: the payload, at
 * most BOOTINFO_MAX_RSDP bytes of it. A new one replaces any old one; an
 * old one never replaces a new one.
 */
static void read_rsdp(struct reader *r, uint32_t offset, uint32_t size,
		      bool is_new, struct boot_info *bi)
{
	size_t n = MIN((size_t)size - 8, (size_t)BOOTINFO_MAX_RSDP);

	if (r->rsdp_new && !is_new)
		return;
	r->rsdp_new = is_new;
	kmemcpy(bi->rsdp, r->base + offset + 8, n);
	bi->rsdp_len = n;
}

static int read_tag(struct reader *r, uint32_t offset, uint32_t type,
		    uint32_t size, struct boot_info *bi)
{
	const char *payload = (const char *)r->base + offset + 8;

	switch (type) {
	case MB2_TAG_CMDLINE:
		if (read_string(r, offset, size, "command line", NULL, 0))
			return -1;
		/* all of it, or the words that fit (bootinfo.h) */
		bootinfo_set_cmdline(bi, payload, kstrlen(payload));
		return 0;
	case MB2_TAG_LOADER_NAME:
		return read_string(r, offset, size, "boot loader name",
				   bi->loader, sizeof(bi->loader));
	case MB2_TAG_MMAP:
		return read_mmap(r, offset, size, bi);
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW:
		read_rsdp(r, offset, size, type == MB2_TAG_ACPI_NEW, bi);
		return 0;
	default:
		return 0; /* a tag we do not use */
	}
}

int multiboot2_parse(const void *info, size_t avail, struct boot_info *bi,
		     char *err, size_t errlen)
{
	struct reader r = { info, 0, err, errlen, false };
	uint64_t offset = 8; /* 64 bits: the sums below cannot wrap */

	kmemset(bi, 0, sizeof(*bi));
	bi->info_base = (uint64_t)(uintptr_t)info;
	if ((uintptr_t)info % 8)
		return fail(
			&r,
			"multiboot2: information block at %p is not 8-byte aligned",
			info);
	if (avail < 16)
		return fail(
			&r,
			"multiboot2: only %zu bytes readable, less than the 16 of an empty block",
			avail);
	r.total = get_unaligned32(r.base);
	bi->info_size = r.total;
	if (r.total < 16 || r.total > avail)
		return fail(&r, "multiboot2: total_size %u is outside 16..%zu",
			    r.total, avail);
	for (;;) {
		uint32_t type, size;

		if (offset + 8 > r.total)
			return fail(
				&r,
				"multiboot2: no end tag within total_size %u (a tag header at offset %llu would not fit)",
				r.total, (unsigned long long)offset);
		type = get_unaligned32(r.base + offset);
		size = get_unaligned32(r.base + offset + 4);
		if (size < 8)
			return fail(
				&r,
				"multiboot2: tag type %u at offset %llu has size %u, less than its 8-byte header",
				type, (unsigned long long)offset, size);
		if (size > r.total - offset)
			return fail(
				&r,
				"multiboot2: tag type %u at offset %llu has size %u, running past total_size %u",
				type, (unsigned long long)offset, size,
				r.total);
		if (type == MB2_TAG_END)
			return 0;
		if (read_tag(&r, (uint32_t)offset, type, size, bi))
			return -1;
		/* the next tag starts at the next 8-byte boundary */
		offset += ALIGN_UP((uint64_t)size, 8);
	}
}
