/* cmdline.c: tests of reading the kernel command line. */
#include "ktest.h"
#include "cmdline.h"
#include "kstring.h"

KTEST(cmdline, get_values)
{
	char buf[32];
	const char *cl = "ktest=arena.* monitor  mem=64M ktest=slab.*";

	KT_EXPECT_TRUE(cmdline_get(cl, "mem", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "64M");
	/* the last one given wins */
	KT_EXPECT_TRUE(cmdline_get(cl, "ktest", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "slab.*");
	KT_EXPECT_FALSE(cmdline_get(cl, "monitor", buf, sizeof(buf)));
	KT_EXPECT_FALSE(cmdline_get(cl, "me", buf, sizeof(buf)));
	KT_EXPECT_FALSE(cmdline_get("", "mem", buf, sizeof(buf)));
}

KTEST(cmdline, value_too_long_is_refused)
{
	char buf[4];

	/* never cut short: refused whole, buf left empty */
	KT_EXPECT_FALSE(cmdline_get("name=abcdefgh", "name", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "");
	KT_EXPECT_FALSE(cmdline_get("name=abcd", "name", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "");
	/* exactly what fits */
	KT_EXPECT_TRUE(cmdline_get("name=abc", "name", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "abc");
	KT_EXPECT_TRUE(cmdline_get("name=", "name", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "");
	/* the last one is the one read, even when an earlier one fits */
	KT_EXPECT_FALSE(
		cmdline_get("name=ab name=abcdefgh", "name", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "");
}

KTEST(cmdline, find_in_place)
{
	const char *cl = "a=1 key=first\tkey=second-value key key=";
	const char *v = NULL;
	size_t len = 99;

	KT_EXPECT_EQ(cmdline_count(cl, "key"), 3);
	KT_EXPECT_EQ(cmdline_count(cl, "a"), 1);
	KT_EXPECT_EQ(cmdline_count(cl, "ke"), 0);
	KT_ASSERT_TRUE(cmdline_find_nth(cl, "key", 0, &v, &len));
	KT_EXPECT_EQ(len, 5);
	KT_EXPECT_EQ(v, cl + 8);
	KT_ASSERT_TRUE(cmdline_find_nth(cl, "key", 1, &v, &len));
	KT_EXPECT_EQ(len, 12);
	KT_EXPECT_EQ(v, cl + 18);
	KT_ASSERT_TRUE(cmdline_find_nth(cl, "key", 2, &v, &len));
	KT_EXPECT_EQ(len, 0);
	KT_EXPECT_FALSE(cmdline_find_nth(cl, "key", 3, &v, &len));
}

/* A value far longer than any buffer: found whole, in place. */
/* cmdline_next walks a key's values in order, each once, then stops. */
KTEST(cmdline, next_walks_each_value_once)
{
	const char *line = "a=1 b=2 a=33  a ab=5 a=4\ta=";
	/* a bare `a` has no value; `a=` has an empty one */
	static const char *const want[] = { "1", "33", "4", "" };
	const char *value;
	size_t pos = 0, len, n = 0;

	while (cmdline_next(line, "a", &pos, &value, &len)) {
		KT_ASSERT_LT(n, 4);
		KT_EXPECT_EQ(len, kstrlen(want[n]));
		KT_EXPECT_EQ(kstrncmp(value, want[n], len), 0);
		KT_EXPECT_EQ(pos, (size_t)(value - line) + len);
		n++;
	}
	KT_EXPECT_EQ(n, 4);
	KT_EXPECT_FALSE(cmdline_next(line, "a", &pos, &value, &len));
	KT_EXPECT_EQ(cmdline_count(line, "a"), 4);
	KT_EXPECT_EQ(cmdline_count(line, "b"), 1);
	KT_EXPECT_EQ(cmdline_count(line, "c"), 0);
}

KTEST(cmdline, find_long_value)
{
	static char cl[5000];
	const char *v;
	size_t len;

	kmemcpy(cl, "x=1 long=", 9);
	kmemset(cl + 9, 'v', 4000);
	kmemcpy(cl + 4009, " y=2", 5);
	KT_ASSERT_TRUE(cmdline_find_nth(cl, "long", 0, &v, &len));
	KT_EXPECT_EQ(len, 4000);
	KT_EXPECT_EQ(v, cl + 9);
	KT_EXPECT_EQ(cmdline_count(cl, "y"), 1);
}

KTEST(cmdline, flags)
{
	KT_EXPECT_TRUE(cmdline_has("a monitor b", "monitor"));
	KT_EXPECT_TRUE(cmdline_has("monitor=1", "monitor"));
	KT_EXPECT_FALSE(cmdline_has("monitors", "monitor"));
	KT_EXPECT_FALSE(cmdline_has("nomonitor", "monitor"));
	KT_EXPECT_FALSE(cmdline_has("", "monitor"));
}

KTEST(cmdline, nth_value)
{
	char buf[32];
	const char *cl = "memreserve=1M@2M x memreserve=4K@0x100000 memreserve";

	KT_EXPECT_TRUE(cmdline_get_nth(cl, "memreserve", 0, buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "1M@2M");
	KT_EXPECT_TRUE(cmdline_get_nth(cl, "memreserve", 1, buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "4K@0x100000");
	/* the bare word has no value and is not counted */
	KT_EXPECT_FALSE(cmdline_get_nth(cl, "memreserve", 2, buf, sizeof(buf)));
	KT_EXPECT_FALSE(cmdline_get_nth(cl, "x", 0, buf, sizeof(buf)));
	KT_EXPECT_FALSE(cmdline_get_nth("", "mem", 0, buf, sizeof(buf)));
}
