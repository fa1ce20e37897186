/*
 * kmalloc_impl.h: what kmalloc.c and kmalloc_tag.c share: the tag's
 * layout and constants, its hash and check, and the view kfree's
 * diagnosis decodes a tag into (kmalloc.c's theory statement).
 */
#pragma once

#include "arena.h"
#include "compiler.h"
#include "kmalloc.h"
#include "kmem_debug.h"
#include "slab_impl.h"

#define TAG_SIZE 16 /* also the alignment of every buffer */
#define KMALLOC_MIN_SHIFT 5
#define KMALLOC_MAX_SHIFT 13
#define KMALLOC_NR_CACHES (KMALLOC_MAX_SHIFT - KMALLOC_MIN_SHIFT + 1)
#define KMALLOC_MIN_OBJ (1ul << KMALLOC_MIN_SHIFT)
#define KMALLOC_MAX_OBJ (1ul << KMALLOC_MAX_SHIFT)
#define KMALLOC_CLASS_PAGES 0x10
#define KMALLOC_CLASS_PAGES_ALIGNED 0x11
#define LARGE_ROOM 32 /* header and tag before an unaligned large buffer */
#define LARGE_REDZONE KMALLOC_LARGE_REDZONE /* kmem_debug=redzone */
/* No machine has this much: larger requests fail before any arithmetic. */
#define KMALLOC_SIZE_MAX (1ul << 47)

/* The states of a tag (xor the hash): kmalloc writes LIVE, kfree FREED. */
#define KMALLOC_LIVE 0x6b6c6976u  /* "kliv" */
#define KMALLOC_FREED 0x6b667265u /* "kfre" */

struct kmalloc_tag {
	void *owner;
	uint16_t offset;
	uint8_t size_class;
	uint8_t zero;
	uint32_t check;
};

static_assert(sizeof(struct kmalloc_tag) == TAG_SIZE, "the tag is 16 bytes");

/* Just before a large buffer's tag: the segment the arena gave. */
struct kmalloc_large {
	uintptr_t start;
	size_t size;
};

static_assert(sizeof(struct kmalloc_large) + TAG_SIZE == LARGE_ROOM,
	      "large header and tag fill LARGE_ROOM");

/* What the tag before a buffer says, read and decoded. */
struct kmalloc_view {
	uintptr_t buf;
	uint32_t state; /* KMALLOC_LIVE, KMALLOC_FREED, or 0: no valid tag */
	bool sound;	/* offset, class and header agree */
	uint32_t info;	/* the offset/class word, as the check hashed it */
	void *owner;
	unsigned size_class;
	size_t offset;
	uintptr_t start; /* of the object or segment */
	size_t size;	 /* of the object or segment */
	size_t usable;	 /* from buf to the end of it */
};

/*
 * The caches by class. The slots past the last small class (the large
 * classes among them) hold an owner no tag names, so that kfree's fast
 * path may index the table with any class byte and find a cache only for
 * a small one.
 */
#define KMALLOC_CLASS_SLOTS 256
#define KMALLOC_NO_OWNER ((struct kmem_cache *)~0ul)
extern struct kmem_cache *kmalloc_caches[KMALLOC_CLASS_SLOTS];

static inline struct kmalloc_tag *tag_of(uintptr_t buf)
{
	return (struct kmalloc_tag *)(buf - TAG_SIZE);
}

static inline struct kmalloc_large *large_of(uintptr_t buf)
{
	return (struct kmalloc_large *)(buf - LARGE_ROOM);
}

/*
 * The tag's hash: x times an odd constant whose high half is all ones, so
 * that it is a 32-bit immediate, sign-extended, to the multiply. The high
 * half of the product still depends on every bit of x (bits 32..63 through
 * their product with the constant's low half, the others through the
 * carry), and a multiply by an odd number loses no bit of x.
 */
#define TAG_HASH_MUL 0xffffffff9e3779b1ull

static inline uint64_t tag_hash(uint64_t x)
{
	return x * TAG_HASH_MUL;
}

/* The check word of a tag in state at buf with offset/class word info. */
static inline uint32_t tag_check(uintptr_t buf, uint32_t info, uint32_t state)
{
	uint64_t h = tag_hash(buf ^ (uint64_t)info << 32);

	return state ^ (uint32_t)(h >> 32);
}

static inline uint32_t tag_info(const struct kmalloc_tag *t)
{
	return t->offset | (uint32_t)t->size_class << 16 |
	       (uint32_t)t->zero << 24;
}

/*
 * The tag's second word read or written whole, as one number: the
 * offset/class word info below, the check above (the struct's layout,
 * little-endian). It aliases the fields.
 */
typedef uint64_t __attribute__((may_alias)) tag_word_t;

static inline tag_word_t *tag_word_of(uintptr_t buf)
{
	return (tag_word_t *)(buf - sizeof(tag_word_t));
}

/* The info word of a small buffer of class c that kmalloc gave (offset 16). */
#define SMALL_INFO(c) (TAG_SIZE | (uint32_t)(c) << 16)

/* The owner a tag of v's class must name. */
static inline void *class_owner(const struct kmalloc_view *v)
{
	return v->size_class < KMALLOC_NR_CACHES ?
		       (void *)kmalloc_caches[v->size_class] :
		       (void *)kpages_arena;
}

/* The redzone after a large buffer: none unless kmem_debug=redzone. */
static inline size_t large_redzone(void)
{
	return (kmem_debug & KMEM_DEBUG_REDZONE) ? LARGE_REDZONE : 0;
}

static inline bool view_is_live(const struct kmalloc_view *v)
{
	return v->state == KMALLOC_LIVE && v->sound &&
	       v->owner == class_owner(v);
}

/* Read and decode the tag before buf (no tag at all if buf is unaligned). */
void kmalloc_tag_decode(uintptr_t buf, struct kmalloc_view *v);

/* fn met v, which is not a live buffer: say what it is, and panic. */
__noreturn void kmalloc_bad_buffer(const char *fn,
				   const struct kmalloc_view *v);
