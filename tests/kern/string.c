/* string.c: tests of lib/'s string helpers, glob matching and numbers. */
#include "ktest.h"
#include "kstring.h"

KTEST(string, mem_functions)
{
	char buf[16] = "abcdefgh";

	KT_EXPECT_EQ(kmemcmp("abc", "abd", 3), -1);
	KT_EXPECT_EQ(kmemcmp("abd", "abc", 3), 1);
	KT_EXPECT_EQ(kmemcmp("abc", "abc", 3), 0);
	kmemmove(buf + 2, buf, 6); /* overlapping, forwards */
	KT_EXPECT_STREQ(buf, "ababcdef");
	kmemmove(buf, buf + 2, 7); /* overlapping, backwards */
	KT_EXPECT_STREQ(buf, "abcdef");
	kmemset(buf, 'z', 3);
	KT_EXPECT_STREQ(buf, "zzzdef");
	KT_EXPECT_EQ(kmemcpy(buf, "q", 1), buf);
}

KTEST(string, str_functions)
{
	char small[4];

	KT_EXPECT_EQ(kstrlen(""), 0);
	KT_EXPECT_EQ(kstrlen("four"), 4);
	KT_EXPECT_EQ(kstrnlen("four", 2), 2);
	KT_EXPECT_LT(kstrcmp("a", "b"), 0);
	KT_EXPECT_GT(kstrcmp("b", "a"), 0);
	KT_EXPECT_LT(kstrcmp("ab", "abc"), 0);
	KT_EXPECT_EQ(kstrncmp("abcx", "abcy", 3), 0);
	KT_EXPECT_STREQ(kstrchr("key=value", '='), "=value");
	KT_EXPECT_NULL(kstrchr("key", '='));
	KT_EXPECT_STREQ(kstrstr("the kernel", "kern"), "kernel");
	KT_EXPECT_NULL(kstrstr("the kernel", "kmem"));
	KT_EXPECT_EQ(kstrlcpy(small, "truncated", sizeof(small)), 9);
	KT_EXPECT_STREQ(small, "tru");
}

KTEST(string, glob)
{
	KT_EXPECT_TRUE(kglob_match("*", ""));
	KT_EXPECT_TRUE(kglob_match("*", "arena.xalloc"));
	KT_EXPECT_TRUE(kglob_match("arena.*", "arena.xalloc"));
	KT_EXPECT_FALSE(kglob_match("arena.*", "slab.magazine"));
	KT_EXPECT_TRUE(kglob_match("*.x?lloc", "arena.xalloc"));
	KT_EXPECT_TRUE(kglob_match("a*b*c", "aXXbYYc"));
	KT_EXPECT_FALSE(kglob_match("a*b*c", "aXXbYY"));
	KT_EXPECT_TRUE(kglob_match("a*a*a", "aaaa"));
	KT_EXPECT_FALSE(kglob_match("printk", "printk.decimal"));
	KT_EXPECT_FALSE(kglob_match("?", ""));
}

KTEST(string, numbers)
{
	uint64_t v = 7;
	const char *end;

	KT_EXPECT_TRUE(kstrtou64("4096", &end, &v));
	KT_EXPECT_EQ(v, 4096);
	KT_EXPECT_EQ(*end, 0);
	KT_EXPECT_TRUE(kstrtou64("0x1fK", &end, &v));
	KT_EXPECT_EQ(v, 0x1f);
	KT_EXPECT_EQ(*end, 'K');
	KT_EXPECT_TRUE(kstrtou64("18446744073709551615", NULL, &v));
	KT_EXPECT_EQ(v, UINT64_MAX);
	v = 7;
	KT_EXPECT_FALSE(kstrtou64("18446744073709551616", NULL, &v));
	KT_EXPECT_FALSE(kstrtou64("", NULL, &v));
	KT_EXPECT_FALSE(kstrtou64("x12", NULL, &v));
	KT_EXPECT_EQ(v, 7); /* untouched by the failures */
	KT_EXPECT_TRUE(kstrtou64("0x", &end, &v)); /* "0", then 'x' */
	KT_EXPECT_EQ(v, 0);
	KT_EXPECT_EQ(*end, 'x');
}
