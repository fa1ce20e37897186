/*
 * printk.c: tests of the formatter behind printk (lib/kvsnprintf.c).
 *
 * Every case states the text it expects. The kernel checks kvsnprintf
 * against that text; the host also checks the C library's vsnprintf
 * against it, so each expectation is the C standard's answer, not ours.
 */
#include "ktest.h"
#include "arch.h"
#include "kprintf.h"
#include "kstring.h"
#include "printk.h"

static int format_cases;

/*
 * Format fmt with a buffer of size bytes; expect the buffer to hold
 * expected and the return value to be ret. Reports the case's line.
 */
static void check_format_sized(int line, size_t size, const char *expected,
			       int ret, const char *fmt, ...) __printf(5, 6);

static void check_format_sized(int line, size_t size, const char *expected,
			       int ret, const char *fmt, ...)
{
	char ours[128], theirs[128];
	va_list ap, ap2;
	int n, m;

	format_cases++;
	kmemset(ours, 0x5a, sizeof(ours));
	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = kvsnprintf(ours, size, fmt, ap);
	m = arch_libc_vsnprintf(theirs, size, fmt, ap2);
	va_end(ap2);
	va_end(ap);

	if (size && kstrcmp(ours, expected) != 0) {
		printk("case at line %d: format \"%s\"\n", line, fmt);
		KT_EXPECT_STREQ(ours, expected);
	}
	if (n != ret) {
		printk("case at line %d: format \"%s\"\n", line, fmt);
		KT_EXPECT_EQ(n, ret);
	}
	/* not a byte past size (for size 0, not even the NUL) */
	if (size < sizeof(ours))
		KT_EXPECT_EQ(ours[size], 0x5a);
	if (m >= 0 && (m != ret || (size && kstrcmp(theirs, expected) != 0))) {
		printk("case at line %d: the C library gives \"%s\" (%d) for \"%s\"\n",
		       line, theirs, m, fmt);
		KT_EXPECT_STREQ(theirs, expected);
		KT_EXPECT_EQ(m, ret);
	}
}

#define CHECK(expected, ...)                                                \
	check_format_sized(__LINE__, 128, expected, (int)kstrlen(expected), \
			   __VA_ARGS__)
#define CHECK_SIZED(size, expected, ret, ...) \
	check_format_sized(__LINE__, size, expected, ret, __VA_ARGS__)

KTEST(printk, decimal)
{
	CHECK("0", "%d", 0);
	CHECK("42", "%d", 42);
	CHECK("-42", "%d", -42);
	CHECK("2147483647", "%d", 2147483647);
	CHECK("-2147483648", "%d", (int)-2147483648LL);
	CHECK("17", "%i", 17);
	CHECK("4294967295", "%u", 4294967295u);
	CHECK("0", "%u", 0u);
	CHECK("x=5 y=-6", "x=%d y=%d", 5, -6);
}

KTEST(printk, hex_and_octal)
{
	CHECK("ff", "%x", 255u);
	CHECK("FF", "%X", 255u);
	CHECK("deadbeef", "%x", 0xdeadbeefu);
	CHECK("0xff", "%#x", 255u);
	CHECK("0XFF", "%#X", 255u);
	CHECK("0", "%#x", 0u);
	CHECK("17", "%o", 15u);
	CHECK("017", "%#o", 15u);
	CHECK("0", "%#o", 0u);
}

KTEST(printk, length_modifiers)
{
	CHECK("-9223372036854775808", "%lld",
	      (long long)(-9223372036854775807LL - 1));
	CHECK("18446744073709551615", "%llu", 18446744073709551615ull);
	CHECK("ffffffffffffffff", "%llx", 18446744073709551615ull);
	CHECK("-1", "%ld", -1l);
	CHECK("123456789012", "%lu", 123456789012ul);
	CHECK("4096", "%zu", (size_t)4096);
	CHECK("fffff", "%zx", (size_t)0xfffff);
	CHECK("-3", "%zd", (ptrdiff_t)-3);
	CHECK("-1", "%hhd", (signed char)-1);
	CHECK("255", "%hhu", (unsigned char)255);
	CHECK("-2", "%hd", (short)-2);
	CHECK("65535", "%hu", (unsigned short)65535);
	CHECK("-7", "%td", (ptrdiff_t)-7);
	CHECK("99", "%jd", (intmax_t)99);
}

KTEST(printk, width_and_padding)
{
	CHECK("   42", "%5d", 42);
	CHECK("42   ", "%-5d", 42);
	CHECK("00042", "%05d", 42);
	CHECK("-0042", "%05d", -42);
	CHECK("  -42", "%5d", -42);
	CHECK("+42", "%+d", 42);
	CHECK(" 42", "% d", 42);
	CHECK("+0042", "%+05d", 42);
	CHECK("0x00ff", "%#06x", 255u);
	CHECK("00000000deadbeef", "%016llx", 0xdeadbeefull);
	CHECK("   ab", "%*x", 5, 0xabu);
	CHECK("ab   |", "%*x|", -5, 0xabu);
	CHECK("42", "%1d", 42);
	/* The compiler warns of these flag mixes; C defines what they do. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
	CHECK("42   ", "%-05d", 42);  /* '-' beats '0' */
	CHECK("  042", "%05.3d", 42); /* precision turns '0' off */
#pragma GCC diagnostic pop
}

KTEST(printk, precision)
{
	CHECK("00042", "%.5d", 42);
	CHECK("  00042", "%7.5d", 42);
	CHECK("-00042", "%.5d", -42);
	CHECK("", "%.0d", 0);
	CHECK("   ", "%3.0d", 0);
	CHECK("hel", "%.3s", "hello");
	CHECK("hello", "%.*s", 10, "hello");
	CHECK("  hel", "%5.3s", "hello");
	CHECK("000ff", "%.5x", 255u);
}

KTEST(printk, strings_chars_pointers)
{
	CHECK("hello", "%s", "hello");
	CHECK("", "%s", "");
	CHECK("   hi", "%5s", "hi");
	CHECK("hi   |", "%-5s|", "hi");
	CHECK("x", "%c", 'x');
	CHECK("  x", "%3c", 'x');
	CHECK("x  |", "%-3c|", 'x');
	CHECK("100%", "100%%");
	CHECK("a%b", "a%%b");
	CHECK("0x1234", "%p", (void *)0x1234);
	CHECK("0xffff800000000000", "%p", (void *)0xffff800000000000ull);
	CHECK("(nil)", "%p", NULL);
	CHECK("        0x10", "%12p", (void *)0x10);
	CHECK("0x10        |", "%-12p|", (void *)0x10);
	CHECK("plain text", "plain text");
}

KTEST(printk, truncation)
{
	CHECK_SIZED(6, "hello", 11, "hello world");
	CHECK_SIZED(1, "", 5, "%d", 12345);
	CHECK_SIZED(0, "", 5, "%s", "abcde");
	CHECK_SIZED(4, "000", 8, "%08d", 123);
	CHECK_SIZED(3, "ab", 4, "%s%s", "ab", "cd");
	CHECK_SIZED(5, "0xde", 10, "%#x", 0xdeadbeefu);
	CHECK_SIZED(12, "hello world", 11, "hello world");
}

KTEST(printk, case_count)
{
	/* The table above must hold at least 60 cases (issue: kvsnprintf). */
	format_cases = 0;
	ktest_printk_decimal();
	ktest_printk_hex_and_octal();
	ktest_printk_length_modifiers();
	ktest_printk_width_and_padding();
	ktest_printk_precision();
	ktest_printk_strings_chars_pointers();
	ktest_printk_truncation();
	KT_EXPECT_GE(format_cases, 60);
}

KTEST(printk, returns_length)
{
	/* printk returns what it wrote, like snprintf would */
	KT_EXPECT_EQ(printk("printk returns its length: %d%s\n", 7, "!"), 30);
}

/* Sizes as the monitor's views print them: short, rounded down. */
KTEST(printk, size_short)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ 1023, "1023" },
		{ 1024, "1K" },
		{ 1536, "1.5K" },
		{ 1024 + 101, "1K" }, /* 1.098: one decimal, rounded down */
		{ 10 * 1024 + 512, "10K" },
		{ 540672, "528K" },
		{ 1024 * 1024 - 1, "1023K" },
		{ 10 * 1024 * 1024 - 1, "9.9M" },
		{ 268435456, "256M" },
		{ 1ull << 40, "1T" },
		{ 3ull << 59, "1.5E" },
		{ UINT64_MAX, "15E" },
	};
	char buf[KSIZE_SHORT_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int n = ksize_short(buf, sizeof(buf), cases[i].bytes);

		KT_EXPECT_STREQ(buf, cases[i].text);
		KT_EXPECT_EQ(n, (int)kstrlen(cases[i].text));
		KT_EXPECT_LT(n, KSIZE_SHORT_MAX);
	}
}
