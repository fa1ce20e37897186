/*
 * ktest.c: the test runner behind ktest.h, the same in the kernel and on
 * the host.
 *
 * Tests live in the linker section "ktests" (one struct ktest each, put
 * there by the KTEST macros). The runner picks those the command line
 * selects, sorts them by suite, file and line, and prints KTAP version 1
 * with one subtest per suite, as KUnit does:
 *
 *	KTAP version 1
 *	1..2
 *	    KTAP version 1
 *	    # Subtest: printk
 *	    1..2
 *	    ok 1 printk.basic
 *	    not ok 2 printk.width
 *	not ok 1 printk
 *	...
 *	ktest: 40 passed, 1 failed, 2 skipped
 *
 * A test that must panic cannot run in line: the arch runs it apart
 * (arch_run_panic_test) or skips it, and `ktest_panic=<name>` runs it
 * alone in a boot of its own, where panic() shows the report here as it
 * is written (ktest_on_panic_text, then ktest_on_panic) for the verdict.
 */
#include "ktest.h"
#include "spinlock.h"
#include "arch.h"
#include "arena.h"
#include "cmdline.h"
#include "kmem_debug.h"
#include "kprintf.h"
#include "kstring.h"
#include "memmap.h"
#include "panic.h"
#include "printk.h"

extern const struct ktest __start_ktests[], __stop_ktests[];

#define KTEST_MAX 4096
#define GLOBS_MAX 256
#define SUBTEST_INDENT "    "

/* The test running now; its failures so far and why it was skipped. */
static struct {
	const struct ktest *test;
	int failures;
	const char *skip_reason;
	bool isolated_panic;
} current;

static const struct ktest *selected[KTEST_MAX];

const char *ktest_name(const struct ktest *t)
{
	static char name[KTEST_NAME_MAX]; /* ktest.h checks each name fits */

	kstrlcpy(name, t->suite, sizeof(name));
	kstrlcpy(name + kstrlen(name), ".", sizeof(name) - kstrlen(name));
	kstrlcpy(name + kstrlen(name), t->name, sizeof(name) - kstrlen(name));
	return name;
}

/* ---- expectations */

/* Three-way comparison of two integers given as bits and signedness. */
static int compare3(uint64_t a, bool a_signed, uint64_t b, bool b_signed)
{
	bool a_neg = a_signed && (int64_t)a < 0;
	bool b_neg = b_signed && (int64_t)b < 0;

	if (a_neg != b_neg)
		return a_neg ? -1 : 1;
	/* Same side of zero: the bit patterns order the same way. */
	return a < b ? -1 : a > b;
}

bool ktest_compare(enum ktest_op op, uint64_t a, bool a_signed, uint64_t b,
		   bool b_signed)
{
	int c = compare3(a, a_signed, b, b_signed);

	switch (op) {
	case KT_OP_EQ:
		return c == 0;
	case KT_OP_NE:
		return c != 0;
	case KT_OP_LT:
		return c < 0;
	case KT_OP_LE:
		return c <= 0;
	case KT_OP_GT:
		return c > 0;
	case KT_OP_GE:
		return c >= 0;
	}
	return false;
}

/*
 * Begin a diagnostic line about the current test's failure at file:line
 * (printk's line prefix makes it a diagnostic: the test is running).
 */
static struct spinlock fail_lock = SPINLOCK_INIT;
/* ktest_on_each_cpu runs: failures name their CPU */
static bool on_each_cpu;

static void fail_begin(const char *file, int line)
{
	spin_lock(&fail_lock); /* one failure's line at a time */
	__atomic_add_fetch(&current.failures, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&on_each_cpu, __ATOMIC_RELAXED))
		printk("CPU %d: ", arch_cpu_id());
	printk("%s:%d: ", file, line);
}

static void fail_end(void)
{
	spin_unlock(&fail_lock);
}

/* Whether text is a number as written in C: 42, -1, 0x2aul. */
static bool is_literal(const char *text)
{
	const char *p = text + (*text == '-');
	bool hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	const char *digits = p + 2 * hex;
	const char *q = digits;

	while ((*q >= '0' && *q <= '9') ||
	       (hex && ((*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))))
		q++;
	if (q == digits)
		return false;
	while (*q == 'u' || *q == 'U' || *q == 'l' || *q == 'L')
		q++;
	return !*q;
}

/* "text = value" after sep: pointers in hex; numbers in decimal, hex. */
static void print_value(const char *sep, const char *text, uint64_t v,
			enum ktest_kind kind)
{
	if (kind == KT_POINTER_)
		printk("%s%s = 0x%llx", sep, text, (unsigned long long)v);
	else if (kind == KT_SIGNED_)
		printk("%s%s = %lld (0x%llx)", sep, text, (long long)v,
		       (unsigned long long)v);
	else
		printk("%s%s = %llu (0x%llx)", sep, text, (unsigned long long)v,
		       (unsigned long long)v);
}

void ktest_fail_compare(const char *file, int line, const char *a_text,
			enum ktest_op op, const char *b_text, uint64_t a,
			enum ktest_kind a_kind, uint64_t b,
			enum ktest_kind b_kind)
{
	static const char *const ops[] = { "==", "!=", "<", "<=", ">", ">=" };
	const char *sep = "";

	fail_begin(file, line);
	printk("expected %s %s %s, but ", a_text, ops[op], b_text);
	/* a literal says its value already: only the other side is news */
	if (!is_literal(a_text)) {
		print_value("", a_text, a, a_kind);
		sep = ", ";
	}
	if (!is_literal(b_text))
		print_value(sep, b_text, b, b_kind);
	else if (!*sep)
		printk("they differ");
	printk("\n");
	fail_end();
}

void ktest_fail_bool(const char *file, int line, const char *text,
		     bool expected)
{
	fail_begin(file, line);
	printk("expected %s to be %s, but it is %s\n", text,
	       expected ? "true" : "false", expected ? "false" : "true");
	fail_end();
}

void ktest_fail_pointer(const char *file, int line, const char *text,
			const void *p, bool expected_null)
{
	fail_begin(file, line);
	printk("expected %s to be %s, but it is %p\n", text,
	       expected_null ? "NULL" : "non-NULL", p);
	fail_end();
}

bool ktest_check_streq(const char *file, int line, const char *a_text,
		       const char *b_text, const char *a, const char *b)
{
	if (a == b || (a && b && kstrcmp(a, b) == 0))
		return true;
	fail_begin(file, line);
	printk("expected %s == %s, but ", a_text, b_text);
	/* a string literal says its value already (NULL is a value) */
	if (a_text[0] != '"')
		printk(a ? "%s = \"%s\"" : "%s = NULL", a_text, a);
	if (b_text[0] != '"')
		printk(b ? "%s%s = \"%s\"" : "%s%s = NULL",
		       a_text[0] != '"' ? ", " : "", b_text, b);
	if (a_text[0] == '"' && b_text[0] == '"')
		printk("they differ");
	printk("\n");
	fail_end();
	return false;
}

bool ktest_check_memeq(const char *file, int line, const char *a_text,
		       const char *b_text, const void *a, const void *b,
		       size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n && x[i] == y[i]; i++)
		;
	if (i == n)
		return true;
	fail_begin(file, line);
	printk("expected %zu bytes of %s and %s equal, but at offset %zu %s has 0x%02x and %s has 0x%02x\n",
	       n, a_text, b_text, i, a_text, x[i], b_text, y[i]);
	fail_end();
	return false;
}

bool ktest_skip_under_check(void)
{
	if (!(kmem_debug & KMEM_DEBUG_CHECK))
		return false;
	ktest_skip(
		"holds tens of thousands of live objects: too slow under kmem_debug=check");
	return true;
}

void ktest_skip(const char *reason)
{
	current.skip_reason = reason;
}

/* Where a formatted skip reason lives until the runner prints it. */
static char skip_text[160];

void ktest_skipf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(skip_text, sizeof(skip_text), fmt, ap);
	va_end(ap);
	current.skip_reason = skip_text;
}

/* Whether base has @bytes free, reclaiming once if not; else *why says. */
static bool base_has(size_t bytes, char *why, size_t n)
{
	char need[32], have[32];

	if (arena_amt_free(base_arena) >= bytes)
		return true;
	arena_reclaim(base_arena);
	if (arena_amt_free(base_arena) >= bytes)
		return true;
	memmap_format_size(need, sizeof(need), bytes);
	memmap_format_size(have, sizeof(have), arena_amt_free(base_arena));
	ksnprintf(why, n, "needs %s free in arena 'base', it has %s", need,
		  have);
	return false;
}

bool ktest_need_base(size_t bytes)
{
	if (base_has(bytes, skip_text, sizeof(skip_text)))
		return true;
	current.skip_reason = skip_text;
	return false;
}

/* ---- one body on every CPU */

struct each_cpu {
	void (*body)(void *arg);
	void *arg;
	int cpus, arrived, ran;
};

static void each_cpu_run(void *p)
{
	struct each_cpu *e = p;

	/*
	 * A number first (a host thread gets one when it first asks, and
	 * gives it back when it exits): every runner holds its own before
	 * any can finish, so bodies that index results by CPU never share.
	 */
	(void)arch_cpu_id();
	/* start together: the body's races are the point */
	__atomic_add_fetch(&e->arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&e->arrived, __ATOMIC_ACQUIRE) < e->cpus)
		arch_cpu_relax();
	e->body(e->arg);
	__atomic_add_fetch(&e->ran, 1, __ATOMIC_ACQ_REL);
}

int ktest_on_each_cpu(void (*body)(void *arg), void *arg)
{
	struct each_cpu e = { body, arg, arch_cpus_online(), 0, 0 };

	__atomic_store_n(&on_each_cpu, true, __ATOMIC_RELAXED);
	arch_cpu_call(each_cpu_run, &e);
	__atomic_store_n(&on_each_cpu, false, __ATOMIC_RELAXED);
	return e.ran;
}

void ktest_quiesce(void)
{
	/* twice: the first pass frees magazines into the magazine caches */
	arena_reclaim(base_arena);
	arena_reclaim(base_arena);
}

/* ---- selecting and ordering */

/* Whether t's full name matches one of the comma-separated globs. */
static bool selected_by(const struct ktest *t, const char *globs)
{
	char glob[GLOBS_MAX];
	const char *name = ktest_name(t);

	while (*globs) {
		const char *comma = kstrchr(globs, ',');
		size_t n = comma ? (size_t)(comma - globs) : kstrlen(globs);

		kstrlcpy(glob, globs, MIN(n + 1, sizeof(glob)));
		if (n && kglob_match(glob, name))
			return true;
		globs += n + (comma != NULL);
	}
	return false;
}

/* Order by suite, then by place in the source. */
static int test_order(const struct ktest *a, const struct ktest *b)
{
	int c = kstrcmp(a->suite, b->suite);

	if (c == 0)
		c = kstrcmp(a->file, b->file);
	if (c == 0)
		c = a->line - b->line;
	return c;
}

/* Fill `selected` with the chosen tests in order; returns how many. */
static size_t select_tests(const char *globs)
{
	size_t n = 0;

	for (const struct ktest *t = __start_ktests; t < __stop_ktests; t++) {
		if (globs[0] && !selected_by(t, globs))
			continue;
		if (n == KTEST_MAX)
			panic("ktest: more than %d tests; raise KTEST_MAX",
			      KTEST_MAX);
		/* insertion sort: a few hundred tests, once per boot */
		size_t i = n++;
		while (i > 0 && test_order(selected[i - 1], t) > 0) {
			selected[i] = selected[i - 1];
			i--;
		}
		selected[i] = t;
	}
	return n;
}

static const struct ktest *find_test(const char *name)
{
	for (const struct ktest *t = __start_ktests; t < __stop_ktests; t++) {
		if (kstrcmp(ktest_name(t), name) == 0)
			return t;
	}
	return NULL;
}

/* ---- running */

struct tally {
	int passed, failed, skipped;
};

bool ktest_debug_modes_on(const struct ktest *t)
{
	int modes;

	if (!t->kmem_debug)
		return true;
	kmem_debug_parse(t->kmem_debug, &modes);
	return (kmem_debug & modes) == modes;
}

/* Run one test in line; returns its result and sets *reason for a skip. */
static int run_one(const struct ktest *t, bool selftest, const char **reason)
{
	static char needs[sizeof("needs kmem_debug=") + KTEST_MODES_MAX];

	*reason = NULL;
	if ((t->flags & KTEST_FAILS_ON_PURPOSE) && !selftest) {
		*reason = "fails on purpose: run by the ktest self-test";
		return KTEST_SKIP;
	}
	if ((t->flags & KTEST_KERNEL_ONLY) && !arch_on_hardware()) {
		*reason = "kernel-only: needs the hardware";
		return KTEST_SKIP;
	}
	if (t->panic_fragments)
		return arch_run_panic_test(t, reason);
	if (!ktest_debug_modes_on(t)) {
		ksnprintf(needs, sizeof(needs), "needs kmem_debug=%s",
			  t->kmem_debug);
		*reason = needs;
		return KTEST_SKIP;
	}
	if (t->needs_base && !base_has(t->needs_base, needs, sizeof(needs))) {
		*reason = needs;
		return KTEST_SKIP;
	}

	current.test = t;
	current.failures = 0;
	current.skip_reason = NULL;
	/* what the test prints is a diagnostic of it, under its subtest */
	printk_set_line_prefix(SUBTEST_INDENT "# ");
	t->fn();
	printk_set_line_prefix(NULL);
	current.test = NULL;
	if (current.failures)
		return KTEST_FAIL;
	if (current.skip_reason) {
		*reason = current.skip_reason;
		return KTEST_SKIP;
	}
	return KTEST_PASS;
}

static void print_result(const char *indent, int result, int number,
			 const char *name, const char *reason)
{
	printk("%s%s %d %s", indent, result == KTEST_FAIL ? "not ok" : "ok",
	       number, name);
	if (result == KTEST_SKIP)
		printk(" # SKIP %s", reason);
	printk("\n");
}

/* Run the tests of one suite, selected[first .. end), as a KTAP subtest. */
static int run_suite(size_t first, size_t end, int number, bool selftest,
		     struct tally *tally)
{
	const char *suite = selected[first]->suite;
	int failed = 0;

	printk(SUBTEST_INDENT "KTAP version 1\n");
	printk(SUBTEST_INDENT "# Subtest: %s\n", suite);
	printk(SUBTEST_INDENT "1..%zu\n", end - first);
	for (size_t i = first; i < end; i++) {
		const char *reason;
		int result = run_one(selected[i], selftest, &reason);

		print_result(SUBTEST_INDENT, result, (int)(i - first + 1),
			     ktest_name(selected[i]), reason);
		tally->passed += result == KTEST_PASS;
		tally->failed += result == KTEST_FAIL;
		tally->skipped += result == KTEST_SKIP;
		failed += result == KTEST_FAIL;
	}
	print_result("", failed ? KTEST_FAIL : KTEST_PASS, number, suite, NULL);
	return failed;
}

static size_t count_suites(size_t n)
{
	size_t suites = 0;

	for (size_t i = 0; i < n; i++)
		suites += i == 0 || kstrcmp(selected[i]->suite,
					    selected[i - 1]->suite) != 0;
	return suites;
}

static void print_closing(const struct tally *t)
{
	printk("ktest: %d passed, %d failed, %d skipped\n", t->passed,
	       t->failed, t->skipped);
}

void ktest_run_isolated_panic(const struct ktest *t)
{
	printk("KTAP version 1\n1..1\n");
	printk("# ktest_panic: %s must panic with a report holding:",
	       ktest_name(t));
	for (const char *const *f = t->panic_fragments; f && *f; f++)
		printk(" '%s'", *f);
	printk("\n");
	if (!ktest_debug_modes_on(t)) {
		printk("# needs kmem_debug=%s on the command line\n",
		       t->kmem_debug);
		print_result("", KTEST_FAIL, 1, ktest_name(t), NULL);
		print_closing(&(struct tally){ .failed = 1 });
		arch_exit(1);
	}
	current.test = t;
	current.isolated_panic = true;
	printk_set_line_prefix("# ");
	if (t->panic_fragments)
		t->fn();
	printk_set_line_prefix(NULL);
	printk("# %s\n", t->panic_fragments ?
				 "the test returned without panicking" :
				 "not a test that must panic");
	print_result("", KTEST_FAIL, 1, ktest_name(t), NULL);
	print_closing(&(struct tally){ .failed = 1 });
	arch_exit(1);
}

/*
 * The fragments of the isolated panic test are looked for in the report
 * as it is written (no copy of it is kept, so none is cut): a search for
 * each, which has matched fragment_matched[i] characters of it so far
 * (Knuth-Morris-Pratt, its fallbacks found by comparing the fragment
 * with itself).
 */
#define PANIC_FRAGMENTS_MAX 16
static size_t fragment_matched[PANIC_FRAGMENTS_MAX];

/* The longest proper prefix of f[0..k) that is also its suffix. */
static size_t fragment_border(const char *f, size_t k)
{
	for (size_t b = k - 1; b > 0; b--) {
		if (!kmemcmp(f, f + k - b, b))
			return b;
	}
	return 0;
}

static void fragment_step(const char *f, size_t *k, char c)
{
	if (!f[*k])
		return; /* found already */
	while (f[*k] != c && *k > 0)
		*k = fragment_border(f, *k);
	if (f[*k] == c)
		++*k;
}

void ktest_on_panic_text(const char *s, size_t n)
{
	const struct ktest *t = current.test;

	if (!t || !current.isolated_panic)
		return;
	for (size_t i = 0; i < PANIC_FRAGMENTS_MAX && t->panic_fragments[i];
	     i++) {
		for (size_t j = 0; j < n; j++)
			fragment_step(t->panic_fragments[i],
				      &fragment_matched[i], s[j]);
	}
}

void ktest_on_panic(void)
{
	const struct ktest *t = current.test;
	bool ok = true;
	size_t i = 0;

	if (!t || !current.isolated_panic)
		return;
	current.isolated_panic = false;
	printk_set_line_prefix(NULL);
	for (const char *const *f = t->panic_fragments; *f; f++, i++) {
		if (i == PANIC_FRAGMENTS_MAX) {
			printk("# more than %d fragments: '%s' is not looked for\n",
			       PANIC_FRAGMENTS_MAX, *f);
			ok = false;
		} else if ((*f)[fragment_matched[i]]) {
			printk("# the panic report lacks '%s'\n", *f);
			ok = false;
		}
	}
	print_result("", ok ? KTEST_PASS : KTEST_FAIL, 1, ktest_name(t), NULL);
	print_closing(&(struct tally){ .passed = ok, .failed = !ok });
	arch_exit(ok ? 0 : 1);
}

/* Run selected[0 .. n) suite by suite; returns how many failed. */
static int run_selected(size_t n, bool selftest)
{
	struct tally tally = { 0 };
	size_t first = 0;
	int suite = 0;

	printk("KTAP version 1\n1..%zu\n", count_suites(n));
	for (size_t i = 1; i <= n; i++) {
		if (i < n &&
		    kstrcmp(selected[i]->suite, selected[first]->suite) == 0)
			continue;
		run_suite(first, i, ++suite, selftest, &tally);
		first = i;
	}
	print_closing(&tally);
	return tally.failed;
}

/* Whether the monitor may run t again: no panics, nothing on purpose. */
static bool rerunnable(const struct ktest *t)
{
	return !t->panic_fragments && !(t->flags & KTEST_FAILS_ON_PURPOSE);
}

int ktest_rerun(const char *globs)
{
	size_t n = 0;

	for (size_t i = 0, all = select_tests(globs); i < all; i++) {
		if (rerunnable(selected[i]))
			selected[n++] = selected[i];
	}
	return n ? run_selected(n, false) : -1;
}

int ktest_exit_status(int failed)
{
	if (failed == KTEST_NONE_MATCHED)
		return ARCH_EXIT_NONE_RAN;
	return failed ? ARCH_EXIT_FAILED : ARCH_EXIT_PASSED;
}

int ktest_main(const char *cmdline)
{
	static char globs[1024];
	bool selftest = cmdline_has(cmdline, "ktest_selftest");
	size_t n;

	panic_set_hook(ktest_on_panic_text, ktest_on_panic);
	if (cmdline_get(cmdline, "ktest_panic", globs, sizeof(globs))) {
		const struct ktest *t = find_test(globs);

		if (!t)
			panic("ktest: ktest_panic=%s names no test", globs);
		ktest_run_isolated_panic(t);
	}
	if (!cmdline_get(cmdline, "ktest", globs, sizeof(globs)))
		globs[0] = 0;
	n = select_tests(globs);
	if (n == 0) {
		printk("ktest: no test matches ktest=%s: nothing ran\n", globs);
		return KTEST_NONE_MATCHED;
	}
	return run_selected(n, selftest);
}
