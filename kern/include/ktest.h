/*
 * ktest.h: the kernel's unit tests, written once, run in the kernel under
 * QEMU and in a host process under sanitizers.
 *
 * A test is a void function registered with a macro:
 *
 *	KTEST(arena, xalloc_nocross)
 *	{
 *		KT_EXPECT_EQ(arena_amt_free(a), 4096);
 *	}
 *
 * The macro puts a struct ktest into the linker section "ktests"; the
 * runner (kern/src/ktest.c) walks the section, groups tests by suite and
 * prints KTAP version 1. Its name is "suite.case"; the kernel command line
 * `ktest=<glob>[,<glob>...]` selects what runs (default: everything).
 *
 * Variants:
 *	KTEST_KERNEL(s, c)		needs the hardware: skipped on the host
 *	KTEST_PANICS(s, c, "frag", ...)	must panic, with a report holding
 *					every fragment; runs in its own boot
 *					(kernel) or child process (host)
 *	KTEST_KERNEL_PANICS(s, c, ...)	both of the above
 *	KTEST_MUST_FAIL(s, c)		fails on purpose: proves the runner
 *					reports failures; runs only with the
 *					command line word `ktest_selftest`
 *	KTEST_MUST_FAIL_PANICS(s, c, ...)	the same for a panic test
 *	KTEST_DEBUG(s, c, "modes")	needs the kmem_debug modes (e.g.
 *					"redzone,audit"): skipped unless on
 *	KTEST_DEBUG_PANICS(s, c, "modes", "frag", ...)	must panic, in a
 *					boot (kernel: `ktest_panic=<name>
 *					kmem_debug=<modes>`) or process (host:
 *					one started afresh) with those modes
 *
 * Tests run at boot and again at the monitor (`test GLOB`), in whatever
 * state the boot, the monitor and earlier tests left: a test that needs
 * exact global counters makes them known first (ktest_quiesce), and a
 * test that cannot get the memory it needs skips, naming what it lacks.
 * A file whose tests allocate defines KTEST_NEEDS_BASE (bytes free in
 * arena 'base') before it includes this header: the runner skips each of
 * its tests when base has less, even after a reclaim; KT_NEED_BASE(bytes)
 * asks for more in one test.
 *
 * KT_EXPECT_* report a failure and go on; KT_ASSERT_* report it and return
 * from the test function (use them in the test body itself). Each failure
 * prints the file, the line, the expression and the values compared.
 * Whatever a test prints while it runs (printk) is a KTAP diagnostic of
 * it: the runner begins each such line with "    # " (printk's line
 * prefix), so a test prints its lines without one.
 */
#pragma once

#include "compiler.h"

enum ktest_result { KTEST_PASS, KTEST_FAIL, KTEST_SKIP };

/* What ktest_main returns when the command line's globs match no test. */
#define KTEST_NONE_MATCHED (-1)

/*
 * The bytes free in arena 'base' that every test of a file needs before it
 * starts (its arenas' structures and tags, its caches' slabs all come from
 * base in the end); 0: the file's tests allocate nothing.
 */
#ifndef KTEST_NEEDS_BASE
#define KTEST_NEEDS_BASE 0
#endif

#define KTEST_KERNEL_ONLY (1u << 0)
#define KTEST_FAILS_ON_PURPOSE (1u << 1)

struct ktest {
	const char *suite;
	const char *name;
	const char *file;
	int line;
	unsigned flags;
	void (*fn)(void);
	/* NULL, or the NULL-terminated fragments the panic report must hold */
	const char *const *panic_fragments;
	/* NULL, or the kmem_debug modes the test needs ("redzone,poison") */
	const char *kmem_debug;
	/* bytes free in arena 'base' it needs to start (KTEST_NEEDS_BASE) */
	size_t needs_base;
};

/* Room for a test's full name "suite.case" (ktest_name). */
#define KTEST_NAME_MAX 160
#define KTEST_NAME_FITS_(suite_, name_)                                    \
	_Static_assert(sizeof(#suite_) + sizeof(#name_) <= KTEST_NAME_MAX, \
		       "the name " #suite_ "." #name_ " is too long")

/*
 * Room for the kmem_debug modes a test names, with the NUL: the skip
 * reasons that quote them are sized with it.
 */
#define KTEST_MODES_MAX 48
#define KTEST_MODES_FIT_(modes_)                          \
	_Static_assert(sizeof(modes_) <= KTEST_MODES_MAX, \
		       "the modes " modes_ " are too long")

#define KTEST_DEFINE_DEBUG_(suite_, name_, flags_, fragments_, modes_) \
	KTEST_NAME_FITS_(suite_, name_);                               \
	static void ktest_##suite_##_##name_(void);                    \
	static const struct ktest ktest_desc_##suite_##_##name_ __used \
		__section("ktests") __aligned(8) = {                   \
			.suite = #suite_,                              \
			.name = #name_,                                \
			.file = __FILE__,                              \
			.line = __LINE__,                              \
			.flags = (flags_),                             \
			.fn = ktest_##suite_##_##name_,                \
			.panic_fragments = (fragments_),               \
			.kmem_debug = (modes_),                        \
			.needs_base = KTEST_NEEDS_BASE,                \
		};                                                     \
	static void ktest_##suite_##_##name_(void)
#define KTEST_DEFINE_(suite_, name_, flags_, fragments_) \
	KTEST_DEFINE_DEBUG_(suite_, name_, flags_, fragments_, NULL)

#define KTEST_FRAGMENTS_(...) ((const char *const[]){ __VA_ARGS__, NULL })

#define KTEST(s, c) KTEST_DEFINE_(s, c, 0, NULL)
#define KTEST_KERNEL(s, c) KTEST_DEFINE_(s, c, KTEST_KERNEL_ONLY, NULL)
#define KTEST_PANICS(s, c, ...) \
	KTEST_DEFINE_(s, c, 0, KTEST_FRAGMENTS_(__VA_ARGS__))
#define KTEST_KERNEL_PANICS(s, c, ...) \
	KTEST_DEFINE_(s, c, KTEST_KERNEL_ONLY, KTEST_FRAGMENTS_(__VA_ARGS__))
#define KTEST_MUST_FAIL(s, c) KTEST_DEFINE_(s, c, KTEST_FAILS_ON_PURPOSE, NULL)
#define KTEST_DEBUG(s, c, modes) \
	KTEST_MODES_FIT_(modes); \
	KTEST_DEFINE_DEBUG_(s, c, 0, NULL, modes)
#define KTEST_DEBUG_PANICS(s, c, modes, ...) \
	KTEST_MODES_FIT_(modes);             \
	KTEST_DEFINE_DEBUG_(s, c, 0, KTEST_FRAGMENTS_(__VA_ARGS__), modes)
#define KTEST_MUST_FAIL_PANICS(s, c, ...)           \
	KTEST_DEFINE_(s, c, KTEST_FAILS_ON_PURPOSE, \
		      KTEST_FRAGMENTS_(__VA_ARGS__))

/* ---- comparisons */

enum ktest_op { KT_OP_EQ, KT_OP_NE, KT_OP_LT, KT_OP_LE, KT_OP_GT, KT_OP_GE };

/*
 * Whether an integer expression has a signed type (pointers: unsigned).
 * Kept out of clang-format, which does not know _Generic.
 */
/* clang-format off */
#define KT_IS_SIGNED_(x)                                                  \
	_Generic((x), char: ((char)-1 < 0), signed char: 1, short: 1,     \
		 int: 1, long: 1, long long: 1, default: 0)
/* clang-format on */

/* The bits of an integer or pointer value, widened to 64. */
#define KT_BITS_(x) ((uint64_t)(uintptr_t)(x))

/*
 * How a failure prints a value: KT_UNSIGNED_, KT_SIGNED_ (in decimal,
 * then hex) or KT_POINTER_ (in hex). __builtin_classify_type gives 5 for
 * a pointer, in gcc and clang.
 */
enum ktest_kind { KT_UNSIGNED_, KT_SIGNED_, KT_POINTER_ };
#define KT_KIND_(x)                                      \
	(__builtin_classify_type(x) == 5 ? KT_POINTER_ : \
	 KT_IS_SIGNED_(x)		 ? KT_SIGNED_ :  \
					   KT_UNSIGNED_)

bool ktest_compare(enum ktest_op op, uint64_t a, bool a_signed, uint64_t b,
		   bool b_signed);
/*
 * A failed comparison: "expected A op B, but A = 41 (0x29), B = ...",
 * where A and B are the expressions as written (a macro's name, not its
 * expansion); a side that is a number literal is not printed again, and
 * a pointer is printed in hex.
 */
void ktest_fail_compare(const char *file, int line, const char *a_text,
			enum ktest_op op, const char *b_text, uint64_t a,
			enum ktest_kind a_kind, uint64_t b,
			enum ktest_kind b_kind);
void ktest_fail_bool(const char *file, int line, const char *text,
		     bool expected);
void ktest_fail_pointer(const char *file, int line, const char *text,
			const void *p, bool expected_null);
bool ktest_check_streq(const char *file, int line, const char *a_text,
		       const char *b_text, const char *a, const char *b);
bool ktest_check_memeq(const char *file, int line, const char *a_text,
		       const char *b_text, const void *a, const void *b,
		       size_t n);
void ktest_skip(const char *reason);
void __printf(1, 2) ktest_skipf(const char *fmt, ...);

/*
 * Whether arena 'base' has @bytes free (reclaiming from the caches first
 * if it has not); if not, skip the running test, naming how much it needs
 * and how much there is, and return false.
 */
bool ktest_need_base(size_t bytes);

/*
 * Make the allocators' global state known before a test takes exact
 * baselines of it: every cache that takes its memory from base (through
 * kpages and the jumbo arenas) reaped, its magazines, depot and empty
 * slabs given back, and the spans they free returned to base. What the
 * boot, the monitor or earlier tests hold stays held; what they only
 * cached goes back.
 */
void ktest_quiesce(void);

/*
 * Under kmem_debug=check, skip the test (with that reason) and return
 * true: for a test that holds tens of thousands of live objects, where a
 * check after every operation would take hours.
 */
bool ktest_skip_under_check(void);

/*
 * Run body(arg) on every online CPU at once (arch_cpu_call): each CPU
 * waits until all have arrived, then runs it; returns when all have
 * returned, with how many ran it (arch_cpus_online()). On one CPU it
 * runs once, here. A failing check in the body counts against the test
 * and names its CPU; KT_ASSERT_* return from the body on that CPU only.
 * Results a body wants to compare go in arg, indexed by arch_cpu_id().
 */
int ktest_on_each_cpu(void (*body)(void *arg), void *arg);

/* What a failed check does next: KT_ASSERT_* return, KT_EXPECT_* go on. */
#define KT_AFTER_FAILURE_FATAL return
#define KT_AFTER_FAILURE_NONFATAL (void)0
#define KT_AFTER_FAILURE_(fatal) KT_AFTER_FAILURE_##fatal

/*
 * The checks' bodies. The expressions' texts come from the KT_EXPECT_*
 * and KT_ASSERT_* macros below, which stringify their own arguments: an
 * argument passed on to another macro is expanded first, and a failure
 * would then print MEM_WAIT as 1.
 */
#define KT_CMP_(fatal, op, a, b, a_text, b_text)                             \
	do {                                                                 \
		__auto_type kt_a_ = (a);                                     \
		__auto_type kt_b_ = (b);                                     \
		if (!ktest_compare(op, KT_BITS_(kt_a_),                      \
				   KT_KIND_(kt_a_) == KT_SIGNED_,            \
				   KT_BITS_(kt_b_),                          \
				   KT_KIND_(kt_b_) == KT_SIGNED_)) {         \
			ktest_fail_compare(__FILE__, __LINE__, a_text, op,   \
					   b_text, KT_BITS_(kt_a_),          \
					   KT_KIND_(kt_a_), KT_BITS_(kt_b_), \
					   KT_KIND_(kt_b_));                 \
			KT_AFTER_FAILURE_(fatal);                            \
		}                                                            \
	} while (0)

#define KT_BOOL_(fatal, cond, expected, text)                                \
	do {                                                                 \
		if ((bool)(cond) != (expected)) {                            \
			ktest_fail_bool(__FILE__, __LINE__, text, expected); \
			KT_AFTER_FAILURE_(fatal);                            \
		}                                                            \
	} while (0)

#define KT_PTR_(fatal, p, expect_null, text)                                \
	do {                                                                \
		const void *kt_p_ = (p);                                    \
		if ((kt_p_ == NULL) != (expect_null)) {                     \
			ktest_fail_pointer(__FILE__, __LINE__, text, kt_p_, \
					   expect_null);                    \
			KT_AFTER_FAILURE_(fatal);                           \
		}                                                           \
	} while (0)

#define KT_STREQ_(fatal, a, b, a_text, b_text)                             \
	do {                                                               \
		if (!ktest_check_streq(__FILE__, __LINE__, a_text, b_text, \
				       (a), (b)))                          \
			KT_AFTER_FAILURE_(fatal);                          \
	} while (0)

#define KT_MEMEQ_(fatal, a, b, n, a_text, b_text)                          \
	do {                                                               \
		if (!ktest_check_memeq(__FILE__, __LINE__, a_text, b_text, \
				       (a), (b), (n)))                     \
			KT_AFTER_FAILURE_(fatal);                          \
	} while (0)

#define KT_EXPECT_EQ(a, b) KT_CMP_(NONFATAL, KT_OP_EQ, a, b, #a, #b)
#define KT_EXPECT_NE(a, b) KT_CMP_(NONFATAL, KT_OP_NE, a, b, #a, #b)
#define KT_EXPECT_LT(a, b) KT_CMP_(NONFATAL, KT_OP_LT, a, b, #a, #b)
#define KT_EXPECT_LE(a, b) KT_CMP_(NONFATAL, KT_OP_LE, a, b, #a, #b)
#define KT_EXPECT_GT(a, b) KT_CMP_(NONFATAL, KT_OP_GT, a, b, #a, #b)
#define KT_EXPECT_GE(a, b) KT_CMP_(NONFATAL, KT_OP_GE, a, b, #a, #b)
#define KT_EXPECT_TRUE(c) KT_BOOL_(NONFATAL, c, true, #c)
#define KT_EXPECT_FALSE(c) KT_BOOL_(NONFATAL, c, false, #c)
#define KT_EXPECT_NULL(p) KT_PTR_(NONFATAL, p, true, #p)
#define KT_EXPECT_NOT_NULL(p) KT_PTR_(NONFATAL, p, false, #p)
#define KT_EXPECT_STREQ(a, b) KT_STREQ_(NONFATAL, a, b, #a, #b)
#define KT_EXPECT_MEMEQ(a, b, n) KT_MEMEQ_(NONFATAL, a, b, n, #a, #b)

#define KT_ASSERT_EQ(a, b) KT_CMP_(FATAL, KT_OP_EQ, a, b, #a, #b)
#define KT_ASSERT_NE(a, b) KT_CMP_(FATAL, KT_OP_NE, a, b, #a, #b)
#define KT_ASSERT_LT(a, b) KT_CMP_(FATAL, KT_OP_LT, a, b, #a, #b)
#define KT_ASSERT_LE(a, b) KT_CMP_(FATAL, KT_OP_LE, a, b, #a, #b)
#define KT_ASSERT_GT(a, b) KT_CMP_(FATAL, KT_OP_GT, a, b, #a, #b)
#define KT_ASSERT_GE(a, b) KT_CMP_(FATAL, KT_OP_GE, a, b, #a, #b)
#define KT_ASSERT_TRUE(c) KT_BOOL_(FATAL, c, true, #c)
#define KT_ASSERT_FALSE(c) KT_BOOL_(FATAL, c, false, #c)
#define KT_ASSERT_NULL(p) KT_PTR_(FATAL, p, true, #p)
#define KT_ASSERT_NOT_NULL(p) KT_PTR_(FATAL, p, false, #p)
#define KT_ASSERT_STREQ(a, b) KT_STREQ_(FATAL, a, b, #a, #b)
#define KT_ASSERT_MEMEQ(a, b, n) KT_MEMEQ_(FATAL, a, b, n, #a, #b)

/* Mark the running test skipped, with a reason, and return from it. */
#define KT_SKIP(reason)             \
	do {                        \
		ktest_skip(reason); \
		return;             \
	} while (0)

/* The same with a printf-style reason (it should name what is lacking). */
#define KT_SKIPF(...)                     \
	do {                              \
		ktest_skipf(__VA_ARGS__); \
		return;                   \
	} while (0)

/* Skip the test (returning from it) unless base has @bytes free. */
#define KT_NEED_BASE(bytes)                  \
	do {                                 \
		if (!ktest_need_base(bytes)) \
			return;              \
	} while (0)

/* ---- the runner */

/*
 * Run the tests the command line selects and print KTAP. Words it reads:
 *	ktest=<glob>[,<glob>...]	which tests (default: all)
 *	ktest_panic=<suite.case>	run that one panic test, in this boot
 *	ktest_selftest			also run the tests that fail on purpose
 * Returns the number of failed tests, or KTEST_NONE_MATCHED (after a line
 * saying so) when the globs match no test. ktest_panic never returns.
 */
int ktest_main(const char *cmdline);

/* The arch_exit status for what ktest_main returned. */
int ktest_exit_status(int failed);

/*
 * Run the tests matching @globs (comma-separated) again, in this boot,
 * leaving out those that must panic or fail on purpose; prints KTAP and
 * the closing line. Returns the number that failed (the monitor's `test`),
 * or -1, printing nothing, when no test that may run again matches.
 */
int ktest_rerun(const char *globs);

/*
 * Run one test that must panic, here and now, and never return: the panic
 * report is checked by ktest_on_panic(), which prints the verdict and
 * exits; a test that returns is a failure.
 */
__noreturn void ktest_run_isolated_panic(const struct ktest *t);

/* Whether the kmem_debug modes t needs (if any) are all on. */
bool ktest_debug_modes_on(const struct ktest *t);

/*
 * Called by panic() with each piece of the report as it is written, then
 * at its end; both return if no test expects the panic.
 */
void ktest_on_panic_text(const char *s, size_t n);
void ktest_on_panic(void);

/* The full name "suite.case" of t, in a static buffer. */
const char *ktest_name(const struct ktest *t);
