/*
 * kmem_debug.c: tests of the debug modes (kern/include/kmem_debug.h):
 * parsing kmem_debug=, the patterns, and for each mode the error it is
 * meant to catch, committed on purpose: an overrun by one byte (redzone),
 * a write after free (poison), a double free of an object that would
 * have sat deep in a magazine (any mode; audit names its callers), a
 * free list broken by a stray write (check). Each of those must panic,
 * in a boot or process of its own with the mode on (KTEST_DEBUG_PANICS).
 */
#define KTEST_NEEDS_BASE (1ul << 20)
#include "ktest.h"
#include "arena.h"
#include "arena_impl.h"
#include "kmalloc.h"
#include "kmem_debug.h"
#include "kstring.h"
#include "page.h"
#include "slab_impl.h"

/* the test's name, less "ktest_" (at most 31 characters are kept) */
#define TEST_NAME (__func__ + 6)
/* A fake range: never memory; in QEMU, any touch would page-fault. */
#define FAKE_BASE 0x200000000000ul

/*
 * The places the audit tests allocate and free from: global and never
 * inlined, so their names show in the kernel's symbols and in the host
 * test binary's dynamic ones.
 */
__attribute__((noinline)) void *
kmem_debug_test_alloc_site(struct kmem_cache *cp)
{
	void *obj = kmem_cache_alloc(cp, MEM_WAIT);

	__asm__ volatile("" ::: "memory"); /* not a tail call */
	return obj;
}

__attribute__((noinline)) void kmem_debug_test_free_site(struct kmem_cache *cp,
							 void *obj)
{
	kmem_cache_free(cp, obj);
	__asm__ volatile("" ::: "memory");
}

/* ---- the switch and the patterns */

KTEST(kmem_debug, parse_modes)
{
	char names[64];
	int modes;

	KT_EXPECT_EQ(kmem_debug_parse("redzone,poison", &modes), 0);
	KT_EXPECT_EQ(modes, KMEM_DEBUG_REDZONE | KMEM_DEBUG_POISON);
	KT_EXPECT_EQ(kmem_debug_parse("audit,,check,", &modes), 0);
	KT_EXPECT_EQ(modes, KMEM_DEBUG_AUDIT | KMEM_DEBUG_CHECK);
	KT_EXPECT_EQ(kmem_debug_parse("", &modes), 0);
	KT_EXPECT_EQ(modes, 0);
	/* unknown words are reported and ignored; the rest still count */
	KT_EXPECT_EQ(kmem_debug_parse("bogus,redzone,Poison", &modes), 2);
	KT_EXPECT_EQ(modes, KMEM_DEBUG_REDZONE);
	KT_EXPECT_EQ(kmem_debug_parse("redzonex,audi", &modes), 2);
	KT_EXPECT_EQ(modes, 0);
	kmem_debug_names(KMEM_DEBUG_ALL, names, sizeof(names));
	KT_EXPECT_STREQ(names, "redzone,poison,audit,check,magazines");
	kmem_debug_names(KMEM_DEBUG_AUDIT, names, sizeof(names));
	KT_EXPECT_STREQ(names, "audit");
	kmem_debug_names(0, names, sizeof(names));
	KT_EXPECT_STREQ(names, "off");
}

KTEST(kmem_debug, cmdline_long_value)
{
	/* 20 x "redzone," then poison: 166 characters, once cut at 127
	 * (poison lost, half a word reported unknown); read whole now */
	static char cl[256];
	size_t at = 0;
	int modes = -1;

	kmemcpy(cl, "ktest=x kmem_debug=", 19);
	at = 19;
	for (int i = 0; i < 20; i++, at += 8)
		kmemcpy(cl + at, "redzone,", 8);
	kmemcpy(cl + at, "poison mem=64M", 15);
	KT_EXPECT_EQ(kmem_debug_from_cmdline(cl, &modes), 1);
	KT_EXPECT_EQ(modes, KMEM_DEBUG_REDZONE | KMEM_DEBUG_POISON);
	/* the value ends at its word, not at the line's end */
	KT_EXPECT_EQ(kmem_debug_from_cmdline("kmem_debug=audit check", &modes),
		     1);
	KT_EXPECT_EQ(modes, KMEM_DEBUG_AUDIT);
	KT_EXPECT_EQ(kmem_debug_from_cmdline("ktest=x", &modes), 0);
	KT_EXPECT_EQ(modes, 0);
}

KTEST(kmem_debug, cmdline_repeated_last_counts)
{
	int modes = -1;

	/* the last one counts, whole: no mix of the two */
	KT_EXPECT_EQ(
		kmem_debug_from_cmdline(
			"kmem_debug=redzone,poison x kmem_debug=check", &modes),
		2);
	KT_EXPECT_EQ(modes, KMEM_DEBUG_CHECK);
	KT_EXPECT_EQ(
		kmem_debug_from_cmdline(
			"kmem_debug=audit kmem_debug=a kmem_debug=", &modes),
		3);
	KT_EXPECT_EQ(modes, 0);
}

KTEST(kmem_debug, patterns)
{
	static uint64_t words[8];
	uint8_t *b = (uint8_t *)words;

	kmemset(words, 0, sizeof(words));
	kmem_pattern_fill(words, 3, 45, KMEM_REDZONE_PATTERN);
	KT_EXPECT_EQ(b[2], 0);
	KT_EXPECT_EQ(b[45], 0);
	/* byte o is the pattern's byte o % 8, little-endian: ce fa ed fe */
	KT_EXPECT_EQ(b[3], 0xfe);
	KT_EXPECT_EQ(b[8], 0xce);
	KT_EXPECT_EQ(b[44], 0xce);
	KT_EXPECT_EQ(words[2], KMEM_REDZONE_PATTERN);
	KT_EXPECT_EQ(kmem_pattern_find(words, 3, 45, KMEM_REDZONE_PATTERN), -1);
	KT_EXPECT_EQ(kmem_pattern_find(words, 2, 45, KMEM_REDZONE_PATTERN), 2);
	b[30] ^= 1;
	KT_EXPECT_EQ(kmem_pattern_find(words, 3, 45, KMEM_REDZONE_PATTERN), 30);
	KT_EXPECT_EQ(kmem_pattern_find(words, 3, 30, KMEM_REDZONE_PATTERN), -1);
	b[44] = 0;
	KT_EXPECT_EQ(kmem_pattern_find(words, 31, 45, KMEM_REDZONE_PATTERN),
		     44);
	KT_EXPECT_EQ(kmem_pattern_byte(KMEM_POISON_FREE, 9), 0xbe);
}

/* ---- how caches take the modes */

KTEST_DEBUG(kmem_debug, caches_take_the_modes, "redzone,poison,audit")
{
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 24, 0, 0, NULL, NULL, NULL, NULL);
	struct kmem_cache *qc = kpages_arena->qcache[0];
	uint8_t *obj;

	KT_EXPECT_EQ(cp->debug & ~KMEM_DEBUG_CHECK,
		     KMEM_DEBUG_REDZONE | KMEM_DEBUG_POISON | KMEM_DEBUG_AUDIT);
	KT_EXPECT_EQ(cp->mag_size, 0); /* every call reaches the slabs */
	/* [24 object][8 redzone][8 link][audit] */
	KT_EXPECT_EQ(cp->redzone_end, 32);
	KT_EXPECT_EQ(cp->link_offset, 32);
	KT_EXPECT_EQ(cp->audit_offset, 40);
	KT_EXPECT_EQ(cp->chunk, ALIGN_UP(40 + sizeof(struct kmem_audit), 16));
	obj = kmem_debug_test_alloc_site(cp);
	KT_ASSERT_NOT_NULL(obj);
	/* a new object holds the "uninitialised" pattern, then its redzone */
	KT_EXPECT_EQ(kmem_pattern_find(obj, 0, 24, KMEM_POISON_NEW), -1);
	KT_EXPECT_EQ(kmem_pattern_find(obj, 24, 32, KMEM_REDZONE_PATTERN), -1);
	kmemset(obj, 0x77, 24); /* all of it is the caller's */
	kmem_debug_test_free_site(cp, obj);
	/* freed: poisoned, whole */
	KT_EXPECT_EQ(kmem_pattern_find(obj, 0, 24, KMEM_POISON_FREE), -1);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_destroy(cp);

	/* a NOTOUCH quantum cache keeps only audit (and check) */
	KT_ASSERT_NOT_NULL(qc);
	KT_EXPECT_EQ(qc->debug & ~KMEM_DEBUG_CHECK, KMEM_DEBUG_AUDIT);
	KT_EXPECT_EQ(qc->chunk, PGSIZE);
	KT_EXPECT_EQ(qc->audit_offset, 0);
}

/* Arena over a range that is not memory: in QEMU a touch would fault. */
KTEST_DEBUG(kmem_debug, notouch_never_written, "redzone,poison,audit")
{
	/* room for a slab (8 objects) of each of the 4 quantum caches */
	struct arena *a =
		arena_create(TEST_NAME, (void *)FAKE_BASE, 256 * PGSIZE, PGSIZE,
			     NULL, NULL, NULL, 4 * PGSIZE, MEM_WAIT);
	void *p[16];

	for (int i = 0; i < 16; i++) {
		p[i] = arena_alloc(a, (size_t)(i % 4 + 1) * PGSIZE, MEM_ATOMIC);
		KT_ASSERT_NOT_NULL(p[i]);
	}
	for (int i = 0; i < 16; i++)
		arena_free(a, p[i], (size_t)(i % 4 + 1) * PGSIZE);
	for (int i = 0; i < 4; i++)
		KT_EXPECT_EQ(kmem_cache_check(a->qcache[i]), 0);
	arena_reclaim(a);
	KT_EXPECT_EQ(arena_amt_free(a), 256 * PGSIZE);
	arena_destroy(a);
}

/* The callers of the last allocation and free, with their names. */
KTEST_DEBUG(kmem_debug, audit_names_callers, "audit")
{
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	struct kmem_cache *qc = kpages_arena->qcache[1];
	char text[512];
	void *obj = kmem_debug_test_alloc_site(cp), *pages;

	KT_ASSERT_NOT_NULL(obj);
	kmem_cache_audit_text(cp, obj, text, sizeof(text));
	KT_EXPECT_NOT_NULL(kstrstr(
		text, "last allocated by: kmem_debug_test_alloc_site+0x"));
	KT_EXPECT_NOT_NULL(kstrstr(text, "last freed by: (never)"));
	kmem_debug_test_free_site(cp, obj);
	kmem_cache_audit_text(cp, obj, text, sizeof(text));
	KT_EXPECT_NOT_NULL(kstrstr(
		text, "last allocated by: kmem_debug_test_alloc_site+0x"));
	KT_EXPECT_NOT_NULL(
		kstrstr(text, "last freed by: kmem_debug_test_free_site+0x"));
	/* an address inside the object names the same record */
	kmem_cache_audit_text(cp, (char *)obj + 33, text, sizeof(text));
	KT_EXPECT_NOT_NULL(
		kstrstr(text, "last freed by: kmem_debug_test_free_site+0x"));
	kmem_cache_destroy(cp);

	/* a NOTOUCH cache keeps the record in the bufctl, freed or not */
	pages = kmem_debug_test_alloc_site(qc);
	KT_ASSERT_NOT_NULL(pages);
	kmem_cache_audit_text(qc, pages, text, sizeof(text));
	KT_EXPECT_NOT_NULL(kstrstr(
		text, "last allocated by: kmem_debug_test_alloc_site+0x"));
	kmem_debug_test_free_site(qc, pages);
	kmem_cache_audit_text(qc, pages, text, sizeof(text));
	KT_EXPECT_NOT_NULL(
		kstrstr(text, "last freed by: kmem_debug_test_free_site+0x"));
}

/* Under poison, constructors run at allocation, destructors at free. */
static int ctor_calls, dtor_calls, ctor_fail;

static int counting_ctor(void *obj, void *priv, int flags)
{
	(void)flags;
	if (ctor_fail)
		return -1;
	ctor_calls++;
	*(uintptr_t *)obj = (uintptr_t)obj ^ (uintptr_t)priv;
	return 0;
}

static void counting_dtor(void *obj, void *priv)
{
	(void)obj, (void)priv;
	dtor_calls++;
}

KTEST_DEBUG(kmem_debug, poison_constructs_on_alloc, "poison")
{
	void *mem = arena_alloc(kpages_arena, 64 * PGSIZE, MEM_WAIT);
	struct arena *a = arena_create(TEST_NAME, mem, 64 * PGSIZE, PGSIZE,
				       NULL, NULL, NULL, 0, MEM_WAIT);
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, a, counting_ctor,
				  counting_dtor, (void *)0x5eed);
	uintptr_t *p, *q;

	ctor_calls = dtor_calls = ctor_fail = 0;
	p = kmem_cache_alloc(cp, MEM_WAIT);
	KT_ASSERT_NOT_NULL(p);
	KT_EXPECT_EQ(ctor_calls, 1); /* this object only, not its slab */
	KT_EXPECT_EQ(*p, (uintptr_t)p ^ 0x5eed);
	q = kmem_cache_alloc(cp, MEM_WAIT);
	KT_EXPECT_EQ(ctor_calls, 2);
	kmem_cache_free(cp, p);
	KT_EXPECT_EQ(dtor_calls, 1);
	KT_EXPECT_EQ(kmem_pattern_find(p, 0, 64, KMEM_POISON_FREE), -1);
	/* a failing constructor under MEM_ATOMIC: NULL, counted, no leak */
	ctor_fail = 1;
	KT_EXPECT_NULL(kmem_cache_alloc(cp, MEM_ATOMIC));
	KT_EXPECT_EQ(cp->fails, 1);
	KT_EXPECT_EQ(kmem_cache_nr_live(cp), 1);
	ctor_fail = 0;
	kmem_cache_free(cp, q);
	KT_EXPECT_EQ(dtor_calls, 2);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	kmem_cache_reap(cp);
	KT_EXPECT_EQ(dtor_calls, 2); /* nothing constructed was left */
	KT_EXPECT_EQ(arena_amt_free(a), 64 * PGSIZE);
	kmem_cache_destroy(cp);
	arena_destroy(a);
	arena_free(kpages_arena, mem, 64 * PGSIZE);
}

/* ---- the errors each mode catches (each panics in a boot of its own) */

KTEST_DEBUG_PANICS(
	kmem_debug, redzone_overrun_by_one, "redzone",
	"kmem_cache_free: redzone violation: cache 'rz_overrun' obj 0x",
	"offset 24 (object size 24): byte 0x00, expected 0xce")
{
	struct kmem_cache *cp = kmem_cache_create("rz_overrun", 24, 0, 0, NULL,
						  NULL, NULL, NULL);
	uint8_t *obj = kmem_cache_alloc(cp, MEM_WAIT);

	obj[24] = 0; /* one past the end */
	kmem_cache_free(cp, obj);
}

KTEST_DEBUG_PANICS(
	kmem_debug, redzone_kmalloc_overrun, "redzone",
	"kmem_cache_free: redzone violation: cache 'kmalloc_128' obj 0x",
	"offset 128 (object size 128): byte 0x78, expected 0xce")
{
	uint8_t *buf = kmalloc(112, MEM_WAIT);

	/* kmalloc_size says 112: the byte after them */
	buf[kmalloc_size(buf)] = 0x78;
	kfree(buf);
}

KTEST_DEBUG_PANICS(kmem_debug, redzone_kmalloc_large_overrun, "redzone",
		   "kfree: redzone violation: arena 'kpages' buffer 0x",
		   "offset 20432 (usable size 20432): byte 0x78, expected 0xce")
{
	uint8_t *buf = kmalloc(20000, MEM_WAIT);

	buf[kmalloc_size(buf)] = 0x78;
	kfree(buf);
}

KTEST_DEBUG_PANICS(
	kmem_debug, poison_write_after_free, "poison",
	"kmem_cache_alloc: modified after free: cache 'poison_uaf' obj 0x",
	"offset 9 (object size 64): byte 0x11, expected 0xbe")
{
	struct kmem_cache *cp = kmem_cache_create("poison_uaf", 64, 0, 0, NULL,
						  NULL, NULL, NULL);
	uint8_t *obj = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_cache_free(cp, obj);
	obj[9] = 0x11; /* after the free */
	/* the slab hands the same object out next, and finds the write */
	kmem_cache_alloc(cp, MEM_WAIT);
}

/*
 * Without debug modes, the second free of a would land in the magazine
 * and be caught only when the object reaches the slab layer; with any
 * mode it is caught at the call, and audit names both earlier calls.
 */
KTEST_DEBUG_PANICS(
	kmem_debug, audit_double_free_deep_in_magazine, "audit",
	"kmem_cache_free: double free (object not allocated): cache 'audit_deep' obj 0x",
	"last allocated by: kmem_debug_test_alloc_site+0x",
	"last freed by: kmem_debug_test_free_site+0x")
{
	struct kmem_cache *cp = kmem_cache_create("audit_deep", 64, 0, 0, NULL,
						  NULL, NULL, NULL);
	void *a = kmem_debug_test_alloc_site(cp);
	void *b = kmem_cache_alloc(cp, MEM_WAIT);
	void *c = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_debug_test_free_site(cp, a);
	kmem_cache_free(cp, b);
	kmem_cache_free(cp, c);
	kmem_cache_free(cp, a); /* a sits under b and c */
}

KTEST_DEBUG_PANICS(
	kmem_debug, audit_kfree_twice, "poison,audit",
	"kfree: double free (its tag holds the free poison): cache 'kmalloc_64' addr 0x",
	" size 48", "last allocated by: ", "last freed by: ")
{
	void *buf = kmalloc(40, MEM_WAIT);

	kfree(buf);
	kfree(buf);
}

/*
 * A stray write into a free object breaks its slab's free list: under
 * check, the call that next takes an object finds it at once (without,
 * a later allocation would follow the bad link).
 */
KTEST_DEBUG_PANICS(
	kmem_debug, check_finds_broken_free_list, "check",
	"kmem_cache_alloc: kmem_debug=check: cache 'check_list' is inconsistent after this call",
	"a slab's free list leaves the slab or loops")
{
	struct kmem_cache *cp = kmem_cache_create("check_list", 64, 0, 0, NULL,
						  NULL, NULL, NULL);
	void **a = kmem_cache_alloc(cp, MEM_WAIT);
	void **b = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_cache_free(cp, b);
	*b = (void *)0x1234;		/* b's free-list link, after its free */
	kmem_cache_alloc(cp, MEM_WAIT); /* b again: its link becomes the head */
	kmem_cache_free(cp, a);
}

KTEST_DEBUG_PANICS(
	kmem_debug, check_finds_broken_arena, "check",
	"arena_alloc: kmem_debug=check: the arena is inconsistent after this call: arena 'check_arena': byte totals disagree")
{
	struct arena *a =
		arena_create("check_arena", (void *)FAKE_BASE, 16 * PGSIZE,
			     PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);

	KT_ASSERT_NOT_NULL(arena_alloc(a, PGSIZE, MEM_WAIT));
	a->in_use += PGSIZE; /* a counter gone wrong */
	arena_alloc(a, PGSIZE, MEM_WAIT);
}

/* ---- kmem_debug=magazines */

/*
 * Under magazines a cache keeps its magazines, its CPU's count folded
 * while no lock is held (so the fast paths leave every push and pop to
 * the checked slow paths), and everything still adds up: the tables see
 * the true count, the checker finds the cache sound, reap empties it.
 */
KTEST_DEBUG(kmem_debug, magazines_kept_and_checked, "magazines")
{
	struct kmem_cache *cp =
		kmem_cache_create(TEST_NAME, 64, 0, 0, NULL, NULL, NULL, NULL);
	struct kmem_cache *qc = kpages_arena->qcache[0];
	int cpu = arch_cpu_id();
	struct kmem_cpu_cache *cc = &cp->cpu[cpu + 1];
	struct kmem_cpu_stats st;
	enum { N = 70 };
	void *objs[N], *pages[3];

	KT_ASSERT_GE(cpu, 0);
	KT_EXPECT_EQ(cp->debug & ~KMEM_DEBUG_CHECK, KMEM_DEBUG_MAGAZINES);
	KT_EXPECT_EQ(cp->mag_size, KMEM_MAGAZINE_ROUNDS_MAX);
	KT_EXPECT_EQ(cp->chunk, 64); /* no debug state in the object */
	for (int i = 0; i < N; i++) {
		objs[i] = kmem_cache_alloc(cp, MEM_WAIT);
		KT_ASSERT_NOT_NULL(objs[i]);
	}
	for (int i = 0; i < N; i++)
		kmem_cache_free(cp, objs[i]);
	/* 70 frees: a full previous magazine, 10 rounds in the loaded one */
	KT_ASSERT_TRUE(kmem_cache_cpu_stats(cp, cpu, &st));
	KT_EXPECT_EQ(st.loaded, 10);
	KT_EXPECT_EQ(st.previous, 30);
	KT_EXPECT_EQ(cc->rounds, KMEM_ROUNDS_FOLDED - 10);
	KT_EXPECT_EQ(cp->depot.nr_full, 1);
	/* the next 10 allocations pop the loaded magazine, newest first */
	for (int i = 0; i < 10; i++)
		KT_EXPECT_EQ(kmem_cache_alloc(cp, MEM_WAIT), objs[N - 1 - i]);
	KT_ASSERT_TRUE(kmem_cache_cpu_stats(cp, cpu, &st));
	KT_EXPECT_EQ(st.loaded, 0);
	KT_EXPECT_EQ(st.hits, 10);
	KT_EXPECT_EQ(kmem_cache_check(cp), 0);
	for (int i = 0; i < 10; i++)
		kmem_cache_free(cp, objs[N - 1 - i]);
	kmem_cache_reap(cp);
	KT_EXPECT_EQ(cp->nr_busy, 0);
	KT_EXPECT_EQ(cp->nr_slabs, 0);
	KT_EXPECT_EQ(cc->rounds, KMEM_ROUNDS_FOLDED + 1); /* none: -1 */
	kmem_cache_destroy(cp);

	/* a NOTOUCH quantum cache checks its magazines too (off-slab) */
	KT_ASSERT_NOT_NULL(qc);
	KT_EXPECT_EQ(qc->debug & ~KMEM_DEBUG_CHECK, KMEM_DEBUG_MAGAZINES);
	KT_EXPECT_GT(qc->mag_size, 0);
	for (int i = 0; i < 3; i++) {
		pages[i] = arena_alloc(kpages_arena, PGSIZE, MEM_WAIT);
		KT_ASSERT_NOT_NULL(pages[i]);
	}
	for (int i = 0; i < 3; i++)
		arena_free(kpages_arena, pages[i], PGSIZE);
	KT_EXPECT_EQ(kmem_cache_check(qc), 0);
}

/* Under magazines, a double free is caught at the call, however deep. */
KTEST_DEBUG_PANICS(
	kmem_debug, magazines_double_free_at_the_call, "magazines",
	"kmem_cache_free: double free (kmem_debug=magazines: the object waits in CPU 0's loaded magazine at round 1): cache 'mag_double_free' obj 0x")
{
	struct kmem_cache *cp = kmem_cache_create("mag_double_free", 64, 0, 0,
						  NULL, NULL, NULL, NULL);
	void *a = kmem_cache_alloc(cp, MEM_WAIT);
	void *b = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_cache_free(cp, a);
	kmem_cache_free(cp, b);
	kmem_cache_free(cp, a); /* below b: the top look cannot see it */
}

/* A cache of 64-byte objects whose loaded magazine holds n of them. */
static struct kmem_cache *cache_with_rounds(const char *name, int n)
{
	struct kmem_cache *cp =
		kmem_cache_create(name, 64, 0, 0, NULL, NULL, NULL, NULL);
	void *objs[8];

	for (int i = 0; i < n; i++)
		objs[i] = kmem_cache_alloc(cp, MEM_WAIT);
	for (int i = 0; i < n; i++)
		kmem_cache_free(cp, objs[i]);
	return cp;
}

/*
 * Bugs planted in the fast path's push and pop (slab_impl.h's
 * MAGAZINE_FAULT, host test builds only): each is caught by the call
 * that makes it, not later, far away.
 */
#ifdef KMEM_FAULT_HOOKS
KTEST_DEBUG_PANICS(
	kmem_debug, magazines_catch_a_push_past_the_end, "magazines",
	"kmem_cache_free: kmem_debug=magazines: cache 'mag_past_end' CPU 0: the push of 0x",
	"left 31 rounds in a magazine of 30: it wrote past the magazine's end")
{
	struct kmem_cache *cp = kmem_cache_create("mag_past_end", 64, 0, 0,
						  NULL, NULL, NULL, NULL);
	void *objs[KMEM_MAGAZINE_ROUNDS_MAX + 1];

	for (int i = 0; i <= KMEM_MAGAZINE_ROUNDS_MAX; i++)
		objs[i] = kmem_cache_alloc(cp, MEM_WAIT);
	kmem_magazine_fault = KMEM_FAULT_PAST_END; /* bound one too high */
	for (int i = 0; i <= KMEM_MAGAZINE_ROUNDS_MAX; i++)
		kmem_cache_free(cp, objs[i]); /* the last: a full magazine */
}

KTEST_DEBUG_PANICS(
	kmem_debug, magazines_catch_a_lost_round, "magazines",
	"kmem_cache_alloc: kmem_debug=magazines: cache 'mag_lost_round' CPU 0: the pop of one object took the rounds from 3 to 1: a round lost")
{
	struct kmem_cache *cp = cache_with_rounds("mag_lost_round", 3);

	kmem_magazine_fault = KMEM_FAULT_LOST_ROUND; /* count one too low */
	kmem_cache_alloc(cp, MEM_WAIT);
}

KTEST_DEBUG_PANICS(
	kmem_debug, magazines_catch_a_double_push, "magazines",
	"kmem_cache_free: kmem_debug=magazines: cache 'mag_double_push' CPU 0: the push of one object (0x",
	"took the rounds from 1 to 3: it pushed the object twice")
{
	struct kmem_cache *cp = kmem_cache_create("mag_double_push", 64, 0, 0,
						  NULL, NULL, NULL, NULL);
	void *a = kmem_cache_alloc(cp, MEM_WAIT);
	void *b = kmem_cache_alloc(cp, MEM_WAIT);

	kmem_cache_free(cp, a);
	kmem_magazine_fault = KMEM_FAULT_DOUBLE_PUSH; /* stores it twice */
	kmem_cache_free(cp, b);
}

KTEST_DEBUG_PANICS(
	kmem_debug, magazines_catch_a_pop_under_the_top, "magazines",
	"kmem_cache_alloc: kmem_debug=magazines: cache 'mag_under_top' CPU 0: the pop handed out 0x",
	", but the top round (3) held 0x")
{
	struct kmem_cache *cp = cache_with_rounds("mag_under_top", 3);

	kmem_magazine_fault = KMEM_FAULT_POP_UNDER_TOP; /* round 2, not 3 */
	kmem_cache_alloc(cp, MEM_WAIT);
}

KTEST_DEBUG_PANICS(
	kmem_debug, magazines_catch_a_pop_that_finds_nothing, "magazines",
	"kmem_cache_alloc: kmem_debug=magazines: cache 'mag_pop_refuses' CPU 0: the pop found no object in a magazine of 3 rounds and left 3")
{
	struct kmem_cache *cp = cache_with_rounds("mag_pop_refuses", 3);

	kmem_magazine_fault = KMEM_FAULT_POP_REFUSES;
	kmem_cache_alloc(cp, MEM_WAIT);
}

KTEST_DEBUG_PANICS(
	kmem_debug, magazines_catch_a_push_that_refuses_room, "magazines",
	"kmem_cache_free: kmem_debug=magazines: cache 'mag_push_refuses' CPU 0: the push refused 0x",
	"with 1 rounds of 30 and left 1")
{
	struct kmem_cache *cp = cache_with_rounds("mag_push_refuses", 1);
	void *obj = kmem_cache_alloc(cp, MEM_WAIT); /* from the slab layer */

	kmem_cache_free(cp, kmem_cache_alloc(cp, MEM_WAIT));
	kmem_magazine_fault = KMEM_FAULT_PUSH_REFUSES;
	kmem_cache_free(cp, obj);
}

KTEST_DEBUG_PANICS(
	kmem_debug, magazines_catch_a_push_over_the_top, "magazines",
	"kmem_cache_free: kmem_debug=magazines: cache 'mag_overwrites' CPU 0: the push of 0x",
	" on top (round 3)")
{
	struct kmem_cache *cp = cache_with_rounds("mag_overwrites", 4);
	void *fourth = kmem_cache_alloc(cp, MEM_WAIT); /* round 4 */

	kmem_cache_alloc(cp, MEM_WAIT); /* round 3's stays there, stale */
	kmem_magazine_fault = KMEM_FAULT_PUSH_OVERWRITES; /* over round 2 */
	kmem_cache_free(cp, fourth); /* the count says 3: the stale one */
}
#endif

/*
 * Counts that do not fit the magazines (a previous count with no
 * previous magazine) are caught before the push that would trust them.
 */
KTEST_DEBUG_PANICS(
	kmem_debug, magazines_catch_counts_that_do_not_fit, "magazines",
	"kmem_cache_free: kmem_debug=magazines: cache 'mag_bad_counts' CPU 0: rounds ",
	"and 5 (previous (nil)) do not fit magazines of 30 rounds")
{
	struct kmem_cache *cp = cache_with_rounds("mag_bad_counts", 0);
	void *obj = kmem_cache_alloc(cp, MEM_WAIT);

	cp->cpu[arch_cpu_slot()].prev_rounds = 5;
	kmem_cache_free(cp, obj);
}
