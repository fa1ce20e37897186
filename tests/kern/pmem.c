/* pmem.c: tests of the arenas pmem_init builds over the usable RAM. */
#define KTEST_NEEDS_BASE (1ul << 20)
#include "ktest.h"
#include "arena.h"
#include "arena_impl.h"
#include "kstring.h"
#include "page.h"
#include "pmem.h"

KTEST(pmem, arenas_built)
{
	KT_ASSERT_NOT_NULL(base_arena);
	KT_EXPECT_STREQ(base_arena->name, "base");
	KT_EXPECT_EQ(base_arena->quantum, PGSIZE);
	KT_EXPECT_TRUE(base_arena->is_base);
	KT_EXPECT_NULL(base_arena->source);
	KT_EXPECT_STREQ(kpages_arena->name, "kpages");
	KT_EXPECT_EQ(kpages_arena->quantum, PGSIZE);
	KT_EXPECT_EQ(kpages_arena->source, base_arena);
	KT_EXPECT_EQ(kpages_arena->qcache_max, 8 * PGSIZE);
	KT_EXPECT_STREQ(kpages_2m_arena->name, "kpages_2m");
	KT_EXPECT_EQ(kpages_2m_arena->quantum, PGSIZE_2M);
	KT_EXPECT_EQ(kpages_2m_arena->source, base_arena);
	KT_EXPECT_STREQ(kpages_1g_arena->name, "kpages_1g");
	KT_EXPECT_EQ(kpages_1g_arena->quantum, PGSIZE_1G);
	KT_EXPECT_EQ(kpages_1g_arena->source, base_arena);
	KT_EXPECT_GT(pmem_init_cycles, 0);
	KT_EXPECT_EQ(arena_check(base_arena), 0);
	KT_EXPECT_EQ(arena_check(kpages_arena), 0);
}

KTEST(pmem, kpages_imports_from_base)
{
	/* 9 pages: above kpages' quantum caches (1..8 pages) */
	uint8_t *p;
	size_t base_free, kpages_total = arena_amt_total(kpages_arena);

	/* once, so that kpages has its tag page already */
	arena_free(kpages_arena,
		   arena_alloc(kpages_arena, 9 * PGSIZE, MEM_WAIT), 9 * PGSIZE);
	base_free = arena_amt_free(base_arena);
	p = arena_alloc(kpages_arena, 9 * PGSIZE, MEM_WAIT);
	KT_ASSERT_NOT_NULL(p);
	KT_EXPECT_EQ(arena_amt_free(base_arena), base_free - 9 * PGSIZE);
	/* it is memory: all of it can be written */
	kmemset(p, 0x5a, 9 * PGSIZE);
	KT_EXPECT_EQ(p[9 * PGSIZE - 1], 0x5a);
	KT_EXPECT_EQ(arena_check(kpages_arena), 0);
	arena_free(kpages_arena, p, 9 * PGSIZE);
	KT_EXPECT_EQ(arena_amt_free(base_arena), base_free);
	/* the imported span went back (kpages may hold others: the monitor's) */
	KT_EXPECT_EQ(arena_amt_total(kpages_arena), kpages_total);
}

KTEST(pmem, base_alloc_is_memory)
{
	uint8_t *p = base_zalloc(kpages_arena, 100, MEM_WAIT);

	KT_ASSERT_NOT_NULL(p);
	KT_EXPECT_EQ(p[0] + p[99], 0);
	KT_EXPECT_EQ((uintptr_t)p % PGSIZE, 0);
	base_free(kpages_arena, p, 100);
	KT_EXPECT_EQ(arena_check(base_arena), 0);
}

/* The boot builds the arenas once: a second pmem_init is a bug. */
KTEST_PANICS(pmem, init_twice, "pmem_init: called twice")
{
	pmem_init(NULL, 0);
}
