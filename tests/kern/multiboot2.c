/*
 * multiboot2.c: tests of the bounded multiboot2 parser with well-formed
 * and malformed information blocks. Each malformed block must get its own
 * clear error, and (on the host, under AddressSanitizer) no read outside
 * the bytes the parser was allowed.
 */
#include "ktest.h"
#include "kstring.h"
#include "multiboot2.h"

#define BLOB_WORDS 1024

/* A block under construction, 8-byte aligned. */
struct blob {
	uint64_t words[BLOB_WORDS];
	uint32_t used;
};

static struct blob blob;
/* The parser reads a copy placed at the very end of this array, so that
 * on the host AddressSanitizer catches a read past the block's end. */
static uint64_t tail[BLOB_WORDS];
static struct boot_info bi;
static char err[160];

static uint8_t *blob_bytes(void)
{
	return (uint8_t *)blob.words;
}

static void put32(uint32_t offset, uint32_t v)
{
	kmemcpy(blob_bytes() + offset, &v, 4);
}

static void put64(uint32_t offset, uint64_t v)
{
	kmemcpy(blob_bytes() + offset, &v, 8);
}

static void blob_begin(void)
{
	kmemset(&blob, 0, sizeof(blob));
	blob.used = 8;
}

/* Add a tag with a payload of n bytes; returns the payload's offset. */
static uint32_t add_tag(uint32_t type, const void *payload, uint32_t n)
{
	uint32_t at = blob.used;

	put32(at, type);
	put32(at + 4, 8 + n);
	if (payload)
		kmemcpy(blob_bytes() + at + 8, payload, n);
	blob.used = ALIGN_UP(at + 8 + n, 8u);
	return at + 8;
}

static void add_string(uint32_t type, const char *s)
{
	add_tag(type, s, (uint32_t)kstrlen(s) + 1);
}

/* A memory map tag of count entries of entry_size bytes (base i GiB). */
static uint32_t add_mmap(uint32_t count, uint32_t entry_size)
{
	uint32_t at = blob.used;

	add_tag(MB2_TAG_MMAP, NULL, 8 + count * entry_size);
	put32(at + 8, entry_size);
	put32(at + 12, 0);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t e = at + MB2_MMAP_HEADER_SIZE + i * entry_size;

		put64(e, (uint64_t)i << 30);
		put64(e + 8, 1ull << 30);
		put32(e + 16, i % 2 ? MEMMAP_RESERVED : MEMMAP_USABLE);
	}
	return at;
}

/* Close the block with an end tag and set total_size. */
static void blob_end(void)
{
	add_tag(MB2_TAG_END, NULL, 0);
	put32(0, blob.used);
}

static int parse(void)
{
	uint8_t *copy =
		(uint8_t *)tail + sizeof(tail) - ALIGN_UP(blob.used, 8u);

	kmemcpy(copy, blob.words, blob.used);
	err[0] = 0;
	return multiboot2_parse(copy, blob.used, &bi, err, sizeof(err));
}

KTEST(multiboot2, well_formed)
{
	blob_begin();
	add_string(MB2_TAG_CMDLINE, "ktest=arena.* monitor");
	add_string(MB2_TAG_LOADER_NAME, "GRUB 2.06");
	add_tag(21, "ignored", 7); /* a tag the kernel does not use */
	add_mmap(3, MB2_MMAP_ENTRY_SIZE);
	blob_end();

	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_STREQ(err, "");
	KT_EXPECT_STREQ(bi.cmdline, "ktest=arena.* monitor");
	KT_EXPECT_STREQ(bi.loader, "GRUB 2.06");
	KT_ASSERT_EQ(bi.nr_memmap, 3);
	KT_EXPECT_EQ(bi.memmap[1].base, 1ull << 30);
	KT_EXPECT_EQ(bi.memmap[1].length, 1ull << 30);
	KT_EXPECT_EQ(bi.memmap[1].type, MEMMAP_RESERVED);
	KT_EXPECT_EQ(bi.memmap[2].type, MEMMAP_USABLE);
	KT_EXPECT_EQ(bi.nr_memmap_dropped, 0);
	KT_EXPECT_EQ(bi.info_size, blob.used);
}

KTEST(multiboot2, larger_entry_size)
{
	/* a later version may grow entries: step by entry_size */
	blob_begin();
	add_mmap(4, 32);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_ASSERT_EQ(bi.nr_memmap, 4);
	KT_EXPECT_EQ(bi.memmap[3].base, 3ull << 30);
	KT_EXPECT_EQ(bi.memmap[3].type, MEMMAP_RESERVED);
}

KTEST(multiboot2, truncated_tag)
{
	blob_begin();
	add_mmap(3, MB2_MMAP_ENTRY_SIZE);
	blob_end();
	/* cut the block in the middle of the memory map */
	blob.used = 40;
	put32(0, blob.used);
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "running past total_size 40"));
}

KTEST(multiboot2, tag_size_past_total)
{
	uint32_t at;

	blob_begin();
	at = blob.used;
	add_string(MB2_TAG_CMDLINE, "x");
	blob_end();
	put32(at + 4, 0xfffffff9); /* would wrap a 32-bit offset */
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "size 4294967289, running past"));
}

KTEST(multiboot2, zero_size_tag)
{
	uint32_t at;

	blob_begin();
	at = blob.used;
	add_string(MB2_TAG_CMDLINE, "x");
	blob_end();
	put32(at + 4, 0);
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(
		kstrstr(err, "has size 0, less than its 8-byte header"));
}

KTEST(multiboot2, missing_end_tag)
{
	blob_begin();
	add_string(MB2_TAG_CMDLINE, "no end");
	put32(0, blob.used);
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "no end tag"));
	/* what came before the fault is kept */
	KT_EXPECT_STREQ(bi.cmdline, "no end");
}

KTEST(multiboot2, entry_size_too_small)
{
	blob_begin();
	add_mmap(2, 16);
	blob_end();
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "entry_size 16"));
	KT_EXPECT_EQ(bi.nr_memmap, 0);
}

KTEST(multiboot2, entry_size_zero)
{
	blob_begin();
	add_mmap(0, 0);
	blob_end();
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "entry_size 0"));
}

KTEST(multiboot2, mmap_tag_shorter_than_header)
{
	blob_begin();
	add_tag(MB2_TAG_MMAP, "abcd", 4);
	blob_end();
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "less than its 16-byte header"));
}

KTEST(multiboot2, entry_count_overflow)
{
	const uint32_t count = BOOTINFO_MAX_MEMMAP + 72;

	blob_begin();
	add_mmap(count, MB2_MMAP_ENTRY_SIZE);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.nr_memmap, BOOTINFO_MAX_MEMMAP);
	KT_EXPECT_EQ(bi.nr_memmap_dropped, 72);
	KT_EXPECT_EQ(bi.memmap[BOOTINFO_MAX_MEMMAP - 1].base,
		     (uint64_t)(BOOTINFO_MAX_MEMMAP - 1) << 30);
}

KTEST(multiboot2, misaligned_block)
{
	blob_begin();
	blob_end();
	err[0] = 0;
	KT_EXPECT_EQ(multiboot2_parse(blob_bytes() + 4, blob.used, &bi, err,
				      sizeof(err)),
		     -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "not 8-byte aligned"));
}

KTEST(multiboot2, misaligned_tag_padding)
{
	uint32_t at;

	/*
	 * A tag of size 13 is followed by padding to 16; a total_size that
	 * ends inside the padding leaves no room for the end tag.
	 */
	blob_begin();
	at = blob.used;
	add_tag(21, "12345", 5);
	put32(0, at + 13);
	blob.used = at + 13;
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "no end tag"));
}

KTEST(multiboot2, total_size_bounds)
{
	blob_begin();
	blob_end();
	put32(0, blob.used + 8); /* claims more than may be read */
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "total_size 24 is outside 16..16"));
	put32(0, 8);
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "total_size 8 is outside"));
	err[0] = 0;
	KT_EXPECT_EQ(multiboot2_parse(blob.words, 12, &bi, err, sizeof(err)),
		     -1);
	KT_EXPECT_NOT_NULL(kstrstr(err, "only 12 bytes readable"));
}

KTEST(multiboot2, unterminated_string)
{
	blob_begin();
	add_tag(MB2_TAG_CMDLINE, "abcdefgh", 8); /* no NUL */
	blob_end();
	KT_EXPECT_EQ(parse(), -1);
	KT_EXPECT_NOT_NULL(kstrstr(
		err,
		"command line tag at offset 8 (size 16) is not NUL-terminated"));
}

/* ---- the ACPI tags (RSDP copies) */

/* An RSDP-like payload of n bytes: byte i is first + i. */
static const uint8_t *rsdp_bytes(uint8_t first, size_t n)
{
	static uint8_t bytes[2][128];
	static int which;
	uint8_t *b = bytes[which ^= 1];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(first + i);
	return b;
}

KTEST(multiboot2, acpi_old_tag)
{
	blob_begin();
	add_tag(MB2_TAG_ACPI_OLD, rsdp_bytes(1, 20), 20);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.rsdp_len, 20);
	KT_EXPECT_MEMEQ(bi.rsdp, rsdp_bytes(1, 20), 20);
}

KTEST(multiboot2, acpi_new_wins_after_old)
{
	blob_begin();
	add_tag(MB2_TAG_ACPI_OLD, rsdp_bytes(1, 20), 20);
	add_tag(MB2_TAG_ACPI_NEW, rsdp_bytes(100, 36), 36);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.rsdp_len, 36);
	KT_EXPECT_MEMEQ(bi.rsdp, rsdp_bytes(100, 36), 36);
}

KTEST(multiboot2, acpi_new_wins_before_old)
{
	blob_begin();
	add_tag(MB2_TAG_ACPI_NEW, rsdp_bytes(100, 36), 36);
	add_tag(MB2_TAG_ACPI_OLD, rsdp_bytes(1, 20), 20);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.rsdp_len, 36);
	KT_EXPECT_MEMEQ(bi.rsdp, rsdp_bytes(100, 36), 36);
	/* nothing of the old copy is left past the new one's end */
	KT_EXPECT_EQ(bi.rsdp[36], 0);
}

KTEST(multiboot2, acpi_none)
{
	blob_begin();
	add_string(MB2_TAG_CMDLINE, "nosmp");
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.rsdp_len, 0);
}

KTEST(multiboot2, acpi_tag_longer_than_kept)
{
	/* a 100-byte copy keeps its first BOOTINFO_MAX_RSDP bytes */
	blob_begin();
	add_tag(MB2_TAG_ACPI_NEW, rsdp_bytes(7, 100), 100);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.rsdp_len, BOOTINFO_MAX_RSDP);
	KT_EXPECT_MEMEQ(bi.rsdp, rsdp_bytes(7, BOOTINFO_MAX_RSDP),
			BOOTINFO_MAX_RSDP);
}

KTEST(multiboot2, acpi_tag_short_or_empty)
{
	/* the copy is bounded by the tag: 5 bytes, then none at all */
	blob_begin();
	add_tag(MB2_TAG_ACPI_OLD, rsdp_bytes(9, 5), 5);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.rsdp_len, 5);
	KT_EXPECT_MEMEQ(bi.rsdp, rsdp_bytes(9, 5), 5);
	KT_EXPECT_EQ(bi.rsdp[5], 0);
	blob_begin();
	add_tag(MB2_TAG_ACPI_NEW, NULL, 0);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.rsdp_len, 0);
}

/* ---- long command lines (BOOTINFO_MAX_CMDLINE) */

#define CMDLINE_KEEP (BOOTINFO_MAX_CMDLINE - 1)

static char long_line[5100];

/*
 * A line of n characters: "x=aaa...a" padding, a space, then tail, so
 * that tail ends exactly at n (tail empty: the padding alone).
 */
static const char *line_of(size_t n, const char *tail)
{
	size_t t = kstrlen(tail);

	kmemset(long_line, 'a', n);
	long_line[0] = 'x';
	long_line[1] = '=';
	if (t) {
		long_line[n - t - 1] = ' ';
		kmemcpy(long_line + n - t, tail, t);
	}
	long_line[n] = 0;
	return long_line;
}

KTEST(multiboot2, cmdline_exactly_at_limit)
{
	const char *s = line_of(CMDLINE_KEEP, "memreserve=16M@0x2000000");

	bootinfo_set_cmdline(&bi, s, kstrlen(s));
	KT_EXPECT_EQ(kstrlen(bi.cmdline), CMDLINE_KEEP);
	KT_EXPECT_EQ(bi.cmdline_given, CMDLINE_KEEP);
	KT_EXPECT_STREQ(bi.cmdline_ignored, "");
	KT_EXPECT_STREQ(bi.cmdline + CMDLINE_KEEP - 24,
			"memreserve=16M@0x2000000");
}

KTEST(multiboot2, cmdline_one_past_limit)
{
	/* the last word loses its last character to the limit: all of it
	 * is left out, the words before are kept */
	const char *s = line_of(CMDLINE_KEEP + 1, "memreserve=16M@0x2000000");

	bootinfo_set_cmdline(&bi, s, kstrlen(s));
	KT_EXPECT_EQ(bi.cmdline_given, CMDLINE_KEEP + 1);
	KT_EXPECT_EQ(kstrlen(bi.cmdline), CMDLINE_KEEP + 1 - 25);
	KT_EXPECT_NULL(kstrstr(bi.cmdline, "memreserve"));
	KT_EXPECT_STREQ(bi.cmdline_ignored, "memreserve=16M@0x2000000");
}

KTEST(multiboot2, cmdline_word_ends_at_limit)
{
	/* a word that ends exactly at the limit is whole: kept */
	const char *s = line_of(CMDLINE_KEEP, "mem=64M");

	kmemcpy(long_line + CMDLINE_KEEP, " ktest=arena.*", 15);
	bootinfo_set_cmdline(&bi, s, kstrlen(s));
	KT_EXPECT_EQ(kstrlen(bi.cmdline), CMDLINE_KEEP);
	KT_EXPECT_STREQ(bi.cmdline + CMDLINE_KEEP - 8, " mem=64M");
	KT_EXPECT_STREQ(bi.cmdline_ignored, "ktest=arena.*");
	KT_EXPECT_EQ(bi.cmdline_given, CMDLINE_KEEP + 14);
}

KTEST(multiboot2, cmdline_option_straddles_limit)
{
	/* memreserve=16M@0x2000000 with the limit after "@0x20": never
	 * half of it (it would protect the wrong range) */
	const char *s =
		line_of(CMDLINE_KEEP + 9, "memreserve=16M@0x2000000 y=1");
	char quote[BOOTINFO_CMDLINE_QUOTE + 1];

	KT_ASSERT_EQ(kstrncmp(s + CMDLINE_KEEP - 19, "memreserve=16M@0x20", 19),
		     0);
	bootinfo_set_cmdline(&bi, s, kstrlen(s));
	KT_EXPECT_EQ(kstrlen(bi.cmdline), CMDLINE_KEEP - 20);
	KT_EXPECT_NULL(kstrstr(bi.cmdline, "memreserve"));
	KT_EXPECT_NULL(kstrstr(bi.cmdline, "y=1"));
	kstrlcpy(quote, "memreserve=16M@0x2000000 y=1", sizeof(quote));
	KT_EXPECT_STREQ(bi.cmdline_ignored, quote);
}

KTEST(multiboot2, cmdline_one_word_past_limit)
{
	/* one word longer than the limit: nothing is kept, the quote is
	 * cut at BOOTINFO_CMDLINE_QUOTE */
	const char *s = line_of(CMDLINE_KEEP + 10, "");

	bootinfo_set_cmdline(&bi, s, kstrlen(s));
	KT_EXPECT_STREQ(bi.cmdline, "");
	KT_EXPECT_EQ(kstrlen(bi.cmdline_ignored), BOOTINFO_CMDLINE_QUOTE);
	KT_EXPECT_EQ(kstrncmp(bi.cmdline_ignored, "x=aaa", 5), 0);
}

KTEST(multiboot2, long_cmdline_tag)
{
	/* through the parser: a 5,000-character tag */
	const char *s = line_of(5000, "memreserve=16M@0x2000000");

	for (size_t i = 100; i < 4900; i += 100)
		long_line[i] = ' '; /* words of 99 characters */
	blob_begin();
	add_string(MB2_TAG_CMDLINE, s);
	add_mmap(1, MB2_MMAP_ENTRY_SIZE);
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_EQ(bi.cmdline_given, 5000);
	KT_EXPECT_EQ(kstrlen(bi.cmdline), 4000);
	KT_EXPECT_EQ(bi.nr_memmap, 1);
	KT_EXPECT_EQ(kstrncmp(bi.cmdline_ignored, "aaaa", 4), 0);
	/* a short one leaves nothing ignored */
	blob_begin();
	add_string(MB2_TAG_CMDLINE, "mem=64M");
	blob_end();
	KT_ASSERT_EQ(parse(), 0);
	KT_EXPECT_STREQ(bi.cmdline, "mem=64M");
	KT_EXPECT_EQ(bi.cmdline_given, 7);
	KT_EXPECT_STREQ(bi.cmdline_ignored, "");
}
