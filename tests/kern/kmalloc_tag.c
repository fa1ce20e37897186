/*
 * kmalloc_tag.c: tests of reading a kmalloc tag back (kern/src/kmalloc_tag.c)
 * against tags whose check holds but whose fields do not. Only someone
 * who computes the check writes one (a stray write matches it once in
 * 2^32), so each is forged here, on a live buffer, with kmalloc's own
 * helpers (kmalloc_impl.h). Reading such a tag back must refuse it, not
 * trust its offset.
 */
#define KTEST_NEEDS_BASE (1ul << 20)
#include "ktest.h"
#include "kmalloc.h"
#include "kmalloc_impl.h"
#include "page.h"

/* Write a live tag with these fields before buf, as kmalloc would. */
static void tag_forge(void *buf, size_t offset, unsigned size_class)
{
	struct kmalloc_tag *t = tag_of((uintptr_t)buf);

	t->offset = (uint16_t)offset;
	t->size_class = (uint8_t)size_class;
	t->zero = 0;
	t->check = tag_check((uintptr_t)buf, tag_info(t), KMALLOC_LIVE);
}

KTEST_PANICS(
	kmalloc, forged_tag_offset_off_the_grid,
	"kmalloc_size: tag corrupted (its check holds, its fields do not): addr 0x",
	" class 2 offset 24")
{
	void *p = kmalloc(100, MEM_WAIT);

	tag_forge(p, 24, 2); /* offsets are multiples of 16 */
	kmalloc_size(p);
}

KTEST_PANICS(
	kmalloc, forged_tag_offset_past_the_object,
	"krealloc: tag corrupted (its check holds, its fields do not): addr 0x",
	" class 2 offset 128")
{
	void *p = kmalloc(100, MEM_WAIT);

	tag_forge(p, 128, 2); /* a kmalloc_128 buffer starts by 112 */
	krealloc(p, 200, MEM_WAIT);
}

KTEST_PANICS(
	kmalloc, forged_tag_offset_inside_the_tag,
	"kmalloc_size: tag corrupted (its check holds, its fields do not): addr 0x",
	" class 0 offset 0")
{
	void *p = kmalloc(8, MEM_WAIT);

	tag_forge(p, 0, 0); /* the tag itself lies in the first 16 bytes */
	kmalloc_size(p);
}

KTEST_PANICS(
	kmalloc, forged_tag_class_of_nothing,
	"kmalloc_size: tag corrupted (its check holds, its fields do not): addr 0x",
	" class 12 offset 16")
{
	void *p = kmalloc(100, MEM_WAIT);

	tag_forge(p, 16, 12); /* neither a cache's class nor a pages one */
	kmalloc_size(p);
}

/* A large buffer's header names where its segment starts: it must agree. */
KTEST_PANICS(
	kmalloc, large_header_disagrees,
	"kfree: tag corrupted (its check holds, its fields do not): addr 0x",
	" class 16 offset 32")
{
	uint8_t *p = kmalloc(20000, MEM_WAIT);

	large_of((uintptr_t)p)->start += PGSIZE;
	kfree(p);
}
