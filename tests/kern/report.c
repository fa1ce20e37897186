/*
 * report.c: tests that reports are never cut. The checkers' reports and
 * panics, with names as long as they may be and 64-bit addresses, are
 * captured (printk_capture_begin) or matched in the panic report, and
 * compared with the whole text they must hold.
 */
#define KTEST_NEEDS_BASE (1ul << 20) /* an arena and a cache each */
#include "ktest.h"
#include "arena.h"
#include "arena_impl.h"
#include "assert.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "panic.h"
#include "printk.h"
#include "slab_impl.h"

/* Names of the longest length an arena or a cache may have. */
#define LONG_ARENA_NAME "report_arena_with_longest_name_"
#define LONG_CACHE_NAME "report_cache_with_longest_name_"
static_assert(sizeof(LONG_ARENA_NAME) == ARENA_NAME_MAX,
	      "LONG_ARENA_NAME is not of the longest length");
static_assert(sizeof(LONG_CACHE_NAME) == KMEM_NAME_MAX,
	      "LONG_CACHE_NAME is not of the longest length");

/* An arena of addresses with 16 hex digits (not memory: never touched). */
#define HIGH_BASE 0xffffffffffe00000ul
#define HIGH_SIZE (1ul << 20)

#define TEXT_MAX 1024

KTEST(report, capture_keeps_what_printk_wrote)
{
	char small[8];

	printk_capture_begin(small, sizeof(small));
	printk("captured %d\n", 42);
	KT_EXPECT_EQ(printk_capture_end(), 12);
	KT_EXPECT_STREQ(small, "capture");
	printk("not captured\n");
	KT_EXPECT_STREQ(small, "capture");
}

/* The arena test of arena.c's checker, with the longest name. */
KTEST(report, arena_check_is_never_cut)
{
	static char got[TEXT_MAX], want[TEXT_MAX];
	struct arena *a =
		arena_create(LONG_ARENA_NAME, (void *)HIGH_BASE, HIGH_SIZE,
			     PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);
	void *p = arena_alloc(a, 2 * PGSIZE, MEM_WAIT);
	struct btag *seg = a->seg_head.seg_next->seg_next;
	struct btag *free_seg = seg->seg_next;
	size_t n;
	int want_len;

	KT_ASSERT_EQ(seg->start, HIGH_BASE);
	KT_ASSERT_EQ(seg->start, (uintptr_t)p);
	want_len = ksnprintf(
		want, sizeof(want),
		"arena_check: arena '%s': segments do not tile their span (gap, overlap or unaligned size): free tag %p [0x%lx, 0x%lx)\n",
		LONG_ARENA_NAME, (void *)free_seg, HIGH_BASE + 2 * PGSIZE,
		HIGH_BASE + HIGH_SIZE);
	KT_ASSERT_LT(want_len, TEXT_MAX);
	KT_EXPECT_GT(want_len, 160); /* where reports were cut */

	seg->size += PGSIZE; /* overlaps the free segment after it */
	printk_capture_begin(got, sizeof(got));
	KT_EXPECT_EQ(arena_check(a), -1);
	n = printk_capture_end();
	seg->size -= PGSIZE;

	KT_EXPECT_EQ(n, (size_t)want_len);
	KT_EXPECT_STREQ(got, want);
	KT_EXPECT_EQ(arena_check(a), 0);
	arena_free(a, p, 2 * PGSIZE);
	arena_destroy(a);
}

KTEST(report, cache_check_is_never_cut)
{
	static char got[TEXT_MAX], want[TEXT_MAX];
	struct kmem_cache *cp = kmem_cache_create(LONG_CACHE_NAME, 64, 0, 0,
						  NULL, NULL, NULL, NULL);
	struct kmem_magazine *none = NULL;
	size_t n;
	int want_len;

	KT_ASSERT_NOT_NULL(cp);
	want_len = ksnprintf(
		want, sizeof(want),
		"kmem_cache_check: cache '%s': the slot of CPUs without a number has magazines: at %p\n",
		LONG_CACHE_NAME, (void *)&cp->cpu[0]);
	KT_ASSERT_LT(want_len, TEXT_MAX);

	/* the checker only looks whether slot 0 has one: never used */
	cp->cpu[0].previous = (struct kmem_magazine *)&none;
	printk_capture_begin(got, sizeof(got));
	KT_EXPECT_EQ(kmem_cache_check(cp), -1);
	n = printk_capture_end();
	cp->cpu[0].previous = NULL;

	KT_EXPECT_EQ(n, (size_t)want_len);
	KT_EXPECT_STREQ(got, want);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_destroy(cp);
}

/*
 * Under kmem_debug=check the same violation is a panic: its message holds
 * the whole report.
 */
KTEST_DEBUG_PANICS(
	report, arena_check_panic_is_never_cut, "check",
	"arena_alloc: kmem_debug=check: the arena is inconsistent after this call: arena '" LONG_ARENA_NAME
	"': segments do not tile their span (gap, overlap or unaligned size): allocated tag 0x",
	" [0xffffffffffe02000, 0xffffffffffe03000)")
{
	struct arena *a =
		arena_create(LONG_ARENA_NAME, (void *)HIGH_BASE, HIGH_SIZE,
			     PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);
	struct btag *seg;

	arena_alloc(a, 2 * PGSIZE, MEM_WAIT);
	seg = a->seg_head.seg_next->seg_next;
	seg->size += PGSIZE; /* overlaps the free segment after it */
	/* the next page is handed out, and now seg overlaps it */
	arena_alloc(a, PGSIZE, MEM_WAIT);
}

/* Far more than a panic once kept (8192 bytes) in the details. */
static void many_lines(void)
{
	for (int i = 0; i < 200; i++)
		printk("report: a line of the details, number %3d of 200\n", i);
}

/*
 * A message longer than the buffer panic once formatted it into (8,999
 * filler dots, then a tail), and details longer than the report it kept:
 * the end of each is there.
 */
KTEST_PANICS(report, panic_is_never_cut, "....: the end of a long message",
	     "number 199 of 200", "backtrace:")
{
	static char filler[9000];

	kmemset(filler, '.', sizeof(filler) - 1);
	panic_details(many_lines, "%s: the end of a long message", filler);
}

/* ---- the monitor's views at their edges (kern/src/arena_report.c) */

/* An arena of addresses only, never touched. */
#define VIEW_BASE 0x10000000ul
#define VIEW_OTHER 0x20000000ul

struct walk_row {
	uintptr_t start;
	size_t size;
	int kind;
};

struct walk_log {
	struct walk_row rows[8];
	size_t n;
};

static void walk_record(uintptr_t start, size_t size, int kind, void *arg)
{
	struct walk_log *log = arg;

	if (log->n < ARRAY_SIZE(log->rows))
		log->rows[log->n] = (struct walk_row){ start, size, kind };
	log->n++;
}

/*
 * arena_walk (the pictures' source) reports each span, then the
 * segments that tile it, in address order, and counts what it reported.
 */
KTEST(report, arena_walk_reports_spans_then_their_segments)
{
	struct arena *a =
		arena_create("report_walk", (void *)VIEW_BASE, 16 * PGSIZE,
			     PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);
	const struct walk_row want[] = {
		{ VIEW_BASE, 16 * PGSIZE, ARENA_WALK_SPAN },
		{ VIEW_BASE, 4 * PGSIZE, ARENA_WALK_FREE },
		{ VIEW_BASE + 4 * PGSIZE, 2 * PGSIZE, ARENA_WALK_ALLOC },
		{ VIEW_BASE + 6 * PGSIZE, 10 * PGSIZE, ARENA_WALK_FREE },
		{ VIEW_OTHER, 4 * PGSIZE, ARENA_WALK_SPAN },
		{ VIEW_OTHER, 4 * PGSIZE, ARENA_WALK_ALLOC },
	};
	struct walk_log log = { .n = 0 };
	void *x, *y;

	KT_ASSERT_NOT_NULL(a);
	KT_ASSERT_NOT_NULL(
		arena_add(a, (void *)VIEW_OTHER, 4 * PGSIZE, MEM_WAIT));
	x = arena_xalloc(a, 2 * PGSIZE, 0, 0, 0,
			 (void *)(VIEW_BASE + 4 * PGSIZE),
			 (void *)(VIEW_BASE + 6 * PGSIZE), MEM_WAIT);
	y = arena_xalloc(a, 4 * PGSIZE, 0, 0, 0, (void *)VIEW_OTHER, NULL,
			 MEM_WAIT);
	KT_EXPECT_EQ(x, (void *)(VIEW_BASE + 4 * PGSIZE));
	KT_EXPECT_EQ(y, (void *)VIEW_OTHER);
	KT_EXPECT_EQ(arena_walk(a, walk_record, &log), ARRAY_SIZE(want));
	KT_ASSERT_EQ(log.n, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		KT_EXPECT_EQ(log.rows[i].start, want[i].start);
		KT_EXPECT_EQ(log.rows[i].size, want[i].size);
		KT_EXPECT_EQ(log.rows[i].kind, want[i].kind);
	}
	arena_free(a, x, 2 * PGSIZE);
	arena_free(a, y, 4 * PGSIZE);
	arena_destroy(a);
}

/* `map` of an arena with no span says so, and draws nothing. */
KTEST(report, map_of_an_arena_without_spans)
{
	struct arena *a = arena_create("report_no_span", NULL, 0, PGSIZE, NULL,
				       NULL, NULL, 0, MEM_WAIT);
	char got[TEXT_MAX];

	KT_ASSERT_NOT_NULL(a);
	printk_capture_begin(got, sizeof(got));
	arena_print_map(a);
	printk_capture_end();
	KT_EXPECT_STREQ(
		got, "arena 'report_no_span' has no span: nothing to draw\n");
	arena_destroy(a);
}

/*
 * `freelists` names the top size class [8E, 16E): a free segment of
 * 2^63 bytes (addresses only) is in it, and is all the free space: no
 * fragmentation (its percentage once overflowed into 100%).
 */
KTEST(report, freelists_name_the_top_class)
{
	struct arena *a = arena_create("report_huge", (void *)PGSIZE, 1ul << 63,
				       PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);
	char got[TEXT_MAX];

	KT_ASSERT_NOT_NULL(a);
	printk_capture_begin(got, sizeof(got));
	arena_print_freelists(a);
	printk_capture_end();
	KT_EXPECT_NOT_NULL(kstrstr(
		got,
		"8E free in 1 segments, the largest 8E: fragmentation 0%"));
	KT_EXPECT_NOT_NULL(kstrstr(
		got,
		"[8E, 16E)             1      8E  ****************************************\n"));
	arena_destroy(a);
}
