/*
 * fuzz_cmdline.c: libFuzzer target for the kernel command line as a whole:
 * the input is one line, cut at the boot's limit (BOOTINFO_MAX_CMDLINE - 1
 * characters, as bootinfo.c keeps it), and every option the kernel reads
 * is read from it, the way the boot reads it: kmem_debug=, mem=,
 * memreserve=, ktest=, ktest_panic=, and the flags ktest_selftest and
 * monitor. (fuzz_memmap goes deeper into mem= and memreserve=, with a
 * memory map.)
 *
 * Checked for one of those keys (the first byte picks it) and for a key
 * taken from the line itself, on its first two values and its last:
 * cmdline_count agrees with cmdline_find_nth (there is an nth value for n
 * below the count and none at it); each value lies inside the line, holds
 * no space and follows "key="; cmdline_get_nth into a buffer of any size
 * leaves it terminated and says true exactly when the value fits whole,
 * which it then equals; kmem_debug= gives only known modes.
 */
#define FUZZ_TARGET "fuzz_cmdline"
#define FUZZ_QUIET /* the options' lines about bad values */
#include "fuzz.h"
#include <string.h>

#include "bootinfo.h"
#include "cmdline.h"
#include "kmem_debug.h"
#include "memmap.h"

static char line[BOOTINFO_MAX_CMDLINE];
static size_t line_len;

static void check_key(const char *key, size_t buf_len)
{
	size_t count = cmdline_count(line, key), klen = strlen(key);
	char buf[65];

	/*
	 * Values 0 and 1, then the last and one past it: each lookup reads
	 * the line from its start, so all of them would be quadratic.
	 */
	for (size_t n = 0; n <= count;
	     n = n == 1 && count > 3 ? count - 1 : n + 1) {
		const char *value = NULL;
		size_t len = 0;
		bool found = cmdline_find_nth(line, key, n, &value, &len);
		bool fits;

		if (found != (n < count))
			fail("%s: value %zu of %zu is %s", key, n, count,
			     found ? "there" : "missing");
		if (!found)
			break;
		if (value < line + klen + 1 || value + len > line + line_len)
			fail("%s: value %zu lies outside the line", key, n);
		if (memcmp(value - klen - 1, key, klen) || value[-1] != '=')
			fail("%s: value %zu does not follow '%s='", key, n,
			     key);
		if (memchr(value, ' ', len))
			fail("%s: value %zu holds a space", key, n);
		memset(buf, 'x', buf_len);
		fits = cmdline_get_nth(line, key, n, buf, buf_len);
		if (!memchr(buf, 0, buf_len))
			fail("%s: value %zu left a %zu-byte buffer unterminated",
			     key, n, buf_len);
		if (fits != (len < buf_len))
			fail("%s: value %zu of %zu bytes %s a %zu-byte buffer",
			     key, n, len, fits ? "fit" : "did not fit",
			     buf_len);
		if (fits && (strlen(buf) != len || memcmp(buf, value, len)))
			fail("%s: value %zu copied wrong", key, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "kmem_debug", "mem", "memreserve",
					    "ktest", "ktest_panic" };
	size_t n = size < sizeof(line) - 1 ? size : sizeof(line) - 1;
	const size_t nr_keys = sizeof(keys) / sizeof(keys[0]);
	/* the first byte picks the key and the size of the copy's buffer */
	size_t which = size ? data[0] % nr_keys : 0;
	size_t buf_len = size ? data[0] / nr_keys + 1 : 1;
	struct memmap_options opt;
	char key[16];
	int modes;

	memcpy(line, data, n);
	line[n] = 0;
	line_len = strlen(line);
	check_key(keys[which], buf_len);
	/* a key the line itself names: its first word, up to '=' */
	snprintf(key, sizeof(key), "%.*s", (int)strcspn(line, " ="), line);
	if (key[0])
		check_key(key, buf_len);
	kmem_debug_from_cmdline(line, &modes);
	if (modes & ~KMEM_DEBUG_ALL)
		fail("kmem_debug= gave unknown modes 0x%x", modes);
	memmap_parse_options(line, &opt);
	if (opt.nr_reserve > MEMMAP_MAX_MEMRESERVE)
		fail("%zu memreserve= kept, at most %d", opt.nr_reserve,
		     MEMMAP_MAX_MEMRESERVE);
	(void)cmdline_has(line, "ktest_selftest");
	(void)cmdline_has(line, "monitor");
	return 0;
}
