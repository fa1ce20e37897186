/*
 * ktest.c: tests of the test runner itself.
 *
 * The suite "ktest" checks the comparison helpers and skipping. The suite
 * "ktest_selftest" fails on purpose: it runs only with the command line
 * word `ktest_selftest`, and the harness (tests/run_tests.py) checks that
 * each of its tests is reported `not ok` with the values it compared.
 */
#include "ktest.h"
#include "arena.h"
#include "kstring.h"
#include "panic.h"

KTEST(ktest, compare_mixed_signs)
{
	/* -1 is less than any unsigned value, however the bits look */
	KT_EXPECT_TRUE(ktest_compare(KT_OP_LT, (uint64_t)-1, true, 0, false));
	KT_EXPECT_TRUE(ktest_compare(KT_OP_GT, (uint64_t)-1, false, 0, true));
	KT_EXPECT_FALSE(ktest_compare(KT_OP_EQ, (uint64_t)-1, true,
				      (uint64_t)-1, false));
	KT_EXPECT_TRUE(ktest_compare(KT_OP_LE, 5, false, 5, true));
	KT_EXPECT_TRUE(ktest_compare(KT_OP_NE, 4, false, 5, true));
	KT_EXPECT_TRUE(ktest_compare(KT_OP_GE, (uint64_t)-2, true, (uint64_t)-3,
				     true));
	KT_EXPECT_LT(-1, 0u);
	KT_EXPECT_GT(SIZE_MAX, 0);
}

KTEST(ktest, pointers_and_strings)
{
	int x = 0;
	const char *s = "abc";

	KT_EXPECT_NULL(NULL);
	KT_EXPECT_NOT_NULL(&x);
	KT_EXPECT_EQ(&x, &x);
	KT_EXPECT_STREQ(s, "abc");
	KT_EXPECT_MEMEQ("abcd", "abcx", 3);
}

KTEST(ktest, skip_reports_reason)
{
	KT_SKIP("shows that a skipped test is reported as a SKIP");
}

KTEST(ktest, name_is_suite_dot_case)
{
	KT_EXPECT_STREQ(ktest_name(&ktest_desc_ktest_name_is_suite_dot_case),
			"ktest.name_is_suite_dot_case");
}

KTEST_PANICS(ktest, panic_message_matches, "panic: ktest: on purpose 42")
{
	panic("ktest: on purpose %d", 42);
}

/* ---- failing on purpose: the harness expects every one of these to fail */

KTEST_MUST_FAIL(ktest_selftest, expect_eq_fails)
{
	int answer = 41;

	KT_EXPECT_EQ(answer, 42);
}

KTEST_MUST_FAIL(ktest_selftest, assert_stops_the_test)
{
	KT_ASSERT_EQ(1 + 1, 3);
	ktest_fail_bool(__FILE__, __LINE__, "reached after a failed assert",
			false);
}

/* A macro is named as written; a pointer is printed in hex. */
KTEST_MUST_FAIL(ktest_selftest, expect_names_macros_and_pointers)
{
	int flags = MEM_ATOMIC;
	char byte;
	char *p = &byte;

	KT_EXPECT_EQ(flags, MEM_WAIT);
	KT_EXPECT_EQ(p, NULL);
}

KTEST_MUST_FAIL(ktest_selftest, streq_fails)
{
	KT_EXPECT_STREQ("apple", "apricot");
}

KTEST_MUST_FAIL_PANICS(ktest_selftest, panic_wrong_message,
		       "a fragment the panic does not contain")
{
	panic("ktest: a different message");
}

KTEST_MUST_FAIL_PANICS(ktest_selftest, panic_never_happens, "panic: never")
{
}
