/* cmdline.c: tests of reading the kernel command line. */
#include "ktest.h"
#include "cmdline.h"

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

KTEST(cmdline, value_cut_to_buffer)
{
	char buf[4];

	KT_EXPECT_TRUE(cmdline_get("name=abcdefgh", "name", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "abc");
	KT_EXPECT_TRUE(cmdline_get("name=", "name", buf, sizeof(buf)));
	KT_EXPECT_STREQ(buf, "");
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
