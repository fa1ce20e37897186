/*
 * kmalloc.c: buffers of any size. Small ones are objects of nine
 * power-of-two caches, "kmalloc_32" .. "kmalloc_8192" (the object size
 * counts the tag); bigger ones are segments of kpages_arena. A 16-byte
 * tag before every buffer says where it came from, so kfree needs no size
 * and can tell a foreign, an interior or a freed pointer from a buffer.
 * Reading a tag back and saying what a bad pointer is live in
 * kmalloc_tag.c; what both files share, in kmalloc_impl.h.
 *
 * ---- The tag
 *
 *   buf - 16            buf - 8  buf - 6      buf - 5  buf - 4    buf
 *   +-------------------+--------+------------+--------+----------+------
 *   | owner             | offset | size_class | zero   | check    | buffer
 *   | 8: cache or arena | u16    | u8         | u8     | u32      | ...
 *   +-------------------+--------+------------+--------+----------+------
 *
 *   owner       the kmem_cache of a small buffer, kpages_arena for a
 *               large one
 *   offset      bytes from the object (small) or segment (large) start
 *               to buf
 *   size_class  0..8 for kmalloc_<32 << size_class>; KMALLOC_CLASS_PAGES
 *               for a segment from arena_alloc, KMALLOC_CLASS_PAGES_ALIGNED
 *               for one from arena_xalloc
 *   check       KMALLOC_LIVE or KMALLOC_FREED xor a hash of buf and of the
 *               offset/size_class/zero word: a tag copied elsewhere, left
 *               behind by an old buffer at another address, or with its
 *               fields changed matches neither state.
 *
 * The slab layer keeps a free object's free-list link in its first word,
 * which is the owner word when the tag starts the object. So what kfree
 * needs to see a double free (offset, size_class, check) is in the second
 * word, which nothing but kmalloc and kfree writes.
 *
 * ---- Small buffers: an object of kmalloc_<2^k>, 2^k <= 8192
 *
 *   [ pad ][ tag ][ buffer ............................ ]
 *   ^obj          ^buf = obj + offset             obj + 2^k^
 *
 * kmalloc(n) takes the smallest cache with 16 + n <= 2^k: offset 16, no
 * pad, n rounded up to 16 (kmalloc(100): kmalloc_128, 112 usable).
 * kmalloc_align(n, a) takes one with 2^k >= a + roundup(max(n, 16), 16)
 * and puts buf at the first multiple of a at or after obj + 16, so
 * offset <= a. Usable: 2^k - offset.
 *
 * ---- Large buffers: a segment of kpages_arena
 *
 *   [ pad ][ start | size ][ tag ][ buffer ...................... ]
 *   ^start                        ^buf = start + offset   start + size^
 *
 * The 16 bytes before the tag hold what the arena gave, start and size,
 * so kfree gives back exactly that segment. With no alignment, or one up
 * to a page, offset is max(32, align) and the segment, roundup(offset + n,
 * PGSIZE), comes from arena_alloc (through kpages' quantum caches up to 8
 * pages). Above a page, the segment comes from arena_xalloc(align, phase
 * align - PGSIZE): it starts one page before a multiple of align, offset
 * is PGSIZE, and the waste is that page, not align bytes. Usable: start +
 * size - buf. All large buffers come from kpages_arena, none from
 * kpages_2m_arena: the room before the buffer keeps a request from ever
 * being whole 2 MiB pages, and the direct map already uses big pages.
 *
 * ---- kfree(buf)
 *
 * buf must be 16-aligned, and the tag before it LIVE, with fields that
 * agree (an offset inside the object; for large ones a header naming a
 * page-aligned start at buf - offset) and the owner its class implies.
 * Then the tag turns FREED and the object goes back to its cache at buf -
 * offset, or the segment to kpages with arena_free or arena_xfree. Anything
 * else panics, saying what buf is: a pointer into a live buffer whose tag
 * lies before it in buf's page (looked for only then, and only there: a
 * pointer deeper into a large buffer reads as foreign), a FREED buffer (a
 * double free), a LIVE tag whose owner word was overwritten (an overrun
 * of the memory before it), or no valid tag at all: not a kmalloc buffer.
  * Those reads may land anywhere near buf, so they bypass the sanitizer.
 *
 * ---- The fast paths
 *
 * The common case, a small buffer whose CPU's magazine can serve it, is a
 * straight line on both sides, with the magazine's pop and push inlined
 * (slab_impl.h):
 *
 *   kmalloc(n), n + 16 <= 8192, good flags:
 *     class = kmalloc_class_of[(n + 15) / 16]       one load (a table)
 *     obj = pop(class->cache)                       else kmalloc_slow
 *     tag = { cache, info | check << 32 }           two stores, where
 *       check << 32 = (hash(buf ^ info << 32) with its low half
 *                      cleared) ^ LIVE << 32        (class->live holds
 *                                                    info | LIVE << 32)
 *   kfree(buf), buf >= 32:
 *     word = the tag's second word
 *     (word ^ hash(buf ^ word << 32)) >> 32 == LIVE  one compare: state,
 *                                                    address and fields
 *     owner == kmalloc_caches[the class byte]       a small class's cache
 *     check ^= LIVE ^ FREED                         one xor
 *     push(owner, buf - offset)                     else kmem_cache_free
 *
 * Everything else (large and aligned-above-a-page buffers, bad flags,
 * NULL, empty or full magazines, caches with debug modes, which have no
 * magazines, and every misuse) leaves the line for kmalloc_common or
 * kfree_slow, where the checks above and the diagnosis are: a foreign,
 * interior or freed pointer fails the compare (or the owner test) and
 * gets the same message as before. The table of owners has a slot for
 * every class byte; those of no small class hold an owner no tag names.
 * Until kmalloc_init every class's cache is a zeroed one whose magazines
 * read empty, so the line needs no test for "not ready". kfree's push
 * skips the magazine's look at its top (kmem_cache_free's double-free
 * guard): the tag is FREED from the first kfree on, so a second one
 * fails the compare. The hash multiplies by a constant that fits a
 * 32-bit immediate (tag_hash). kmalloc(64)+kfree: 75 instructions
 * (make bench-instr, kmalloc_pair), against 225 through kmalloc_common.
 *
 * ---- Debug modes (kmem_debug.h)
 *
 * A small buffer is an object of its cache, so the cache applies the
 * modes: its redzone lies past the object (kmalloc_size's bytes end at
 * the object's end), poison fills the freed object, tag included, and
 * audit notes who called kmalloc and kfree. A freed tag then reads as
 * poison, not FREED: kfree recognises that pattern as a double free too.
 * A large buffer gets a redzone of its own under redzone: the last
 * LARGE_REDZONE bytes of its segment, past its usable bytes, checked by
 * kfree.
 *
 * There is no lock here: the caches and the arena have their own, and the
 * table of caches is written once, by kmalloc_init.
 */
#include "kmalloc.h"
#include "assert.h"
#include "bitops.h"
#include "hash.h"
#include "kmem_debug.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "panic.h"
#include "slab_impl.h"

#include "kmalloc_impl.h"

struct kmem_cache *kmalloc_caches[KMALLOC_CLASS_SLOTS] = {
	[KMALLOC_NR_CACHES... KMALLOC_CLASS_SLOTS - 1] = KMALLOC_NO_OWNER,
};
static_assert(KMALLOC_NR_CACHES <= KMALLOC_CLASS_SLOTS &&
		      KMALLOC_CLASS_PAGES_ALIGNED < KMALLOC_CLASS_SLOTS,
	      "every class has a slot");

/* Write a live tag before buf. */
static inline void tag_write(uintptr_t buf, void *owner, size_t offset,
			     unsigned size_class)
{
	struct kmalloc_tag *t = tag_of(buf);

	t->owner = owner;
	t->offset = (uint16_t)offset;
	t->size_class = (uint8_t)size_class;
	t->zero = 0;
	t->check = tag_check(buf, tag_info(t), KMALLOC_LIVE);
}

/* The live buffer buf, decoded into v; anything else panics, from fn. */
static inline void buffer_lookup(const char *fn, void *buf,
				 struct kmalloc_view *v)
{
	kmalloc_tag_decode((uintptr_t)buf, v);
	if (unlikely(!view_is_live(v)))
		kmalloc_bad_buffer(fn, v);
}

static inline void kmalloc_check_flags(const char *fn, size_t size, int flags)
{
	if (unlikely(flags != MEM_WAIT && flags != MEM_ATOMIC))
		panic("%s: bad flags 0x%x (name exactly one of MEM_WAIT and MEM_ATOMIC): size %zu",
		      fn, flags, size);
}

/* ---- allocating and freeing */

/* An object of cache class c, with buf at the first multiple of align. */
static void *small_alloc(unsigned c, size_t align, int flags)
{
	struct kmem_cache *cp = kmalloc_caches[c];
	uintptr_t obj = (uintptr_t)kmem_cache_alloc(cp, flags), buf;

	if (unlikely(!obj))
		return NULL;
	buf = ALIGN_UP(obj + TAG_SIZE, align);
	tag_write(buf, cp, buf - obj, c);
	return (void *)buf;
}

/* A segment of kpages for size bytes at a multiple of align. */
static void *large_alloc(size_t size, size_t align, int flags)
{
	bool aligned = align > PGSIZE;
	size_t offset = aligned ? PGSIZE : MAX(align, LARGE_ROOM);
	/* room for 16 bytes at least, as a small buffer has: else a size of
	 * 0 would put buf at the segment's end, where no tag decodes */
	size_t seg = ALIGN_UP(MAX(size, TAG_SIZE) + offset + large_redzone(),
			      PGSIZE);
	void *start;
	uintptr_t buf;

	if (aligned)
		start = arena_xalloc(kpages_arena, seg, align, align - PGSIZE,
				     0, NULL, NULL, flags);
	else
		start = arena_alloc(kpages_arena, seg, flags);
	if (!start)
		return NULL;
	buf = (uintptr_t)start + offset;
	*large_of(buf) = (struct kmalloc_large){ (uintptr_t)start, seg };
	if (large_redzone())
		kmem_pattern_fill((void *)buf, seg - offset - LARGE_REDZONE,
				  seg - offset, KMEM_REDZONE_PATTERN);
	tag_write(buf, kpages_arena, offset,
		  aligned ? KMALLOC_CLASS_PAGES_ALIGNED : KMALLOC_CLASS_PAGES);
	return (void *)buf;
}

/* The smallest class whose objects hold need bytes (need <= 8192). */
static inline unsigned small_class(size_t need)
{
	return need <= KMALLOC_MIN_OBJ ?
		       0 :
		       (unsigned)highbit(need - 1) + 1 - KMALLOC_MIN_SHIFT;
}

/*
 * kmalloc and kmalloc_align (align a power of two, 16 meaning none):
 * a cache if the object, tag and alignment room included, fits one.
 */
static void *kmalloc_common(const char *fn, size_t size, int flags,
			    size_t align)
{
	size_t need;

	kmalloc_check_flags(fn, size, flags);
	if (unlikely(!kmalloc_caches[KMALLOC_NR_CACHES - 1]))
		panic("%s: called before kmalloc_init: size %zu", fn, size);
	if (unlikely(size > KMALLOC_SIZE_MAX)) {
		if (flags & MEM_ATOMIC)
			return NULL;
		panic("%s: size %zu is more than any machine has (at most %lu)",
		      fn, size, KMALLOC_SIZE_MAX);
	}
	if (align <= TAG_SIZE)
		need = size + TAG_SIZE;
	else
		need = ALIGN_UP(MAX(size, TAG_SIZE), TAG_SIZE) + align;
	if (need <= KMALLOC_MAX_OBJ)
		return small_alloc(small_class(need), align, flags);
	return large_alloc(size, align, flags);
}

/*
 * Under redzone, the bytes after large buffer v must be untouched. Out of
 * line: inlined, it would make kfree's small-buffer path save registers.
 */
static __attribute__((noinline)) void
large_redzone_verify(const char *fn, const struct kmalloc_view *v)
{
	long o;

	if (!large_redzone())
		return;
	o = kmem_pattern_find((void *)v->buf, v->usable,
			      v->usable + LARGE_REDZONE, KMEM_REDZONE_PATTERN);
	if (o >= 0)
		panic("%s: redzone violation: arena '%s' buffer %p offset %ld (usable size %zu): byte 0x%02x, expected 0x%02x",
		      fn, arena_name(kpages_arena), (void *)v->buf, o,
		      v->usable, ((uint8_t *)v->buf)[o],
		      kmem_pattern_byte(KMEM_REDZONE_PATTERN, (size_t)o));
}

/* Give back the live buffer v describes; its tag says freed from now. */
static void buffer_release(const char *fn, const struct kmalloc_view *v)
{
	if (v->size_class >= KMALLOC_NR_CACHES)
		large_redzone_verify(fn, v);
	tag_of(v->buf)->check = tag_check(v->buf, v->info, KMALLOC_FREED);
	if (v->size_class < KMALLOC_NR_CACHES)
		kmem_cache_free(v->owner, (void *)v->start);
	else if (v->size_class == KMALLOC_CLASS_PAGES)
		arena_free(kpages_arena, (void *)v->start, v->size);
	else
		arena_xfree(kpages_arena, (void *)v->start, v->size);
}

/* ---- the fast paths */

/*
 * What kmalloc's fast path needs of a small class: its cache and the two
 * constants its tags are made of. A tag's second word is info | check <<
 * 32 with check = LIVE ^ the high half of h = hash_mix64(buf ^ info <<
 * 32), so it is (h with its low half cleared) ^ live.
 */
struct kmalloc_class {
	struct kmem_cache *cache;
	uint64_t info_high; /* SMALL_INFO(c) << 32 */
	uint64_t live;	    /* SMALL_INFO(c) | KMALLOC_LIVE << 32 */
};

/*
 * Until kmalloc_init, every class's cache is this one: zeroed, so every
 * CPU's magazine of it reads empty (rounds 0) and the fast path falls to
 * kmalloc_common, which says kmalloc is not ready. It saves the fast path
 * a test.
 */
static struct kmem_cache kmalloc_not_ready;

static struct kmalloc_class kmalloc_classes[KMALLOC_NR_CACHES] = {
	[0 ... KMALLOC_NR_CACHES - 1] = { .cache = &kmalloc_not_ready },
};

/* The class of a request of n bytes (n + 16 <= 8192), at (n + 15) / 16. */
static const struct kmalloc_class *kmalloc_class_of[KMALLOC_MAX_OBJ / TAG_SIZE];

/* Fill the fast path's tables (kmalloc_init, once the caches exist). */
static void fast_tables_init(void)
{
	for (unsigned c = 0; c < KMALLOC_NR_CACHES; c++)
		kmalloc_classes[c] = (struct kmalloc_class){
			.cache = kmalloc_caches[c],
			.info_high = (uint64_t)SMALL_INFO(c) << 32,
			.live = SMALL_INFO(c) | (uint64_t)KMALLOC_LIVE << 32,
		};
	for (size_t i = 0; i < ARRAY_SIZE(kmalloc_class_of); i++)
		kmalloc_class_of[i] =
			&kmalloc_classes[small_class(i * TAG_SIZE + TAG_SIZE)];
}

/*
 * The tag's words before buf, read without the sanitizer's check: buf may
 * be any pointer, even an unaligned one (kfree's diagnosis decides what
 * it is).
 */
static __no_sanitize_address inline uint64_t tag_word_load(uintptr_t buf)
{
	uint64_t w;

	__builtin_memcpy(&w, (const void *)(buf - sizeof(w)), sizeof(w));
	return w;
}

/* A live tag's check turned FREED: the states differ by their xor. */
static inline void tag_check_freed(uintptr_t buf)
{
	typedef uint32_t __attribute__((may_alias)) check_t;

	*(check_t *)(buf - sizeof(check_t)) ^= KMALLOC_LIVE ^ KMALLOC_FREED;
}

static __no_sanitize_address inline uint8_t tag_class_load(uintptr_t buf)
{
	uint8_t c;

	__builtin_memcpy(
		&c,
		(const void *)(buf - TAG_SIZE +
			       offsetof(struct kmalloc_tag, size_class)),
		sizeof(c));
	return c;
}

static __no_sanitize_address inline void *tag_owner_load(uintptr_t buf)
{
	void *owner;

	__builtin_memcpy(&owner, (const void *)(buf - TAG_SIZE), sizeof(owner));
	return owner;
}

/* ---- the interface */

/* kmalloc beyond its fast path (a call of its own: no registers to move). */
static __attribute__((noinline)) void *kmalloc_slow(size_t size, int flags)
{
	return kmalloc_common("kmalloc", size, flags, TAG_SIZE);
}

/*
 * The fast path: n + 16 <= 8192, good flags, and an object on the CPU's
 * magazine of the class's cache. The class by table, the pop inlined
 * (slab_impl.h), the tag in two stores. Anything else (large sizes, bad
 * flags, before kmalloc_init, an empty magazine, a cache whose debug
 * modes keep it from its magazines) takes kmalloc_common, which checks
 * and reports.
 */
void *kmalloc(size_t size, int flags)
{
	if (likely(size <= KMALLOC_MAX_OBJ - TAG_SIZE) &&
	    likely((unsigned int)flags - 1 <= 1)) {
		const struct kmalloc_class *k =
			kmalloc_class_of[(size + TAG_SIZE - 1) / TAG_SIZE];
		struct kmem_cache *cp = k->cache;
		void *obj;

		if (likely(kmem_magazine_pop(cp, &obj))) {
			uintptr_t buf = (uintptr_t)obj + TAG_SIZE;
			uint64_t h = tag_hash(buf ^ k->info_high);

			tag_of(buf)->owner = cp;
			*tag_word_of(buf) = (h & ~0xffffffffull) ^ k->live;
			return (void *)buf;
		}
	}
	return kmalloc_slow(size, flags);
}

void *kzmalloc(size_t size, int flags)
{
	void *buf = kmalloc_common(__func__, size, flags, TAG_SIZE);

	if (buf)
		kmemset(buf, 0, kmalloc_size(buf));
	return buf;
}

void *kmalloc_align(size_t size, int flags, size_t align)
{
	if (unlikely(!is_pow2(align)))
		panic("kmalloc_align: align %zu is not a power of two: size %zu",
		      align, size);
	if (unlikely(align > KMALLOC_ALIGN_MAX))
		panic("kmalloc_align: align %zu is above 1 GiB: size %zu",
		      align, size);
	return kmalloc_common(__func__, size, flags, align);
}

/* kfree beyond its fast path: NULL, large or aligned buffers, misuse. */
static __attribute__((noinline)) void kfree_slow(void *buf)
{
	struct kmalloc_view v;

	if (!buf)
		return;
	buffer_lookup("kfree", buf, &v);
	buffer_release("kfree", &v);
}

/*
 * The fast path takes a small buffer: a tag whose second word is exactly
 * the live word its own info implies at buf (one compare: the check xor
 * the hash of buf and info is LIVE), with an owner that is its class's
 * cache. Then FREED is one xor of the check away, and the object, buf
 * less the tag's offset, goes on the CPU's magazine. Anything else (NULL,
 * large buffers, misuse) goes to kfree_slow, which says what it is.
 */
void kfree(void *p)
{
	uintptr_t buf = (uintptr_t)p;

	if (likely(buf >= LARGE_ROOM)) {
		uint64_t word = tag_word_load(buf);
		uint64_t h = tag_hash(buf ^ word << 32);
		struct kmem_cache *cp = kmalloc_caches[tag_class_load(buf)];

		if (likely((uint32_t)((word ^ h) >> 32) == KMALLOC_LIVE) &&
		    likely(tag_owner_load(buf) == cp)) {
			void *obj = (void *)(buf - (uint16_t)word);

			tag_check_freed(buf);
			if (likely(kmem_magazine_push_unlooked(cp, obj)))
				return;
			kmem_cache_free(cp, obj);
			return;
		}
	}
	kfree_slow(p);
}

size_t kmalloc_size(void *buf)
{
	struct kmalloc_view v;

	if (!buf)
		return 0;
	buffer_lookup(__func__, buf, &v);
	return v.usable;
}

/*
 * Whether a buffer of size would take less than half of what v holds:
 * only then does a shrinking buffer move.
 */
static bool shrink_moves(const struct kmalloc_view *v, size_t size)
{
	return size + TAG_SIZE <= v->size / 2;
}

void *krealloc(void *buf, size_t size, int flags)
{
	struct kmalloc_view v;
	void *new;

	if (!buf)
		return kmalloc_common(__func__, size, flags, TAG_SIZE);
	kmalloc_check_flags(__func__, size, flags);
	buffer_lookup(__func__, buf, &v);
	if (!size) {
		buffer_release(__func__, &v);
		return NULL;
	}
	if (size <= v.usable && !shrink_moves(&v, size))
		return buf;
	/* shrinking can always stay in place: never fail or wait for it */
	new = kmalloc_common(__func__, size,
			     size <= v.usable ? MEM_ATOMIC : flags, TAG_SIZE);
	if (!new)
		return size <= v.usable ? buf : NULL;
	kmemcpy(new, buf, MIN(size, v.usable));
	buffer_release(__func__, &v);
	return new;
}

void kmalloc_init(void)
{
	char name[KMEM_NAME_MAX];

	if (kmalloc_caches[KMALLOC_NR_CACHES - 1])
		panic("kmalloc_init: called twice");
	/* the last one is the sign that kmalloc is ready */
	for (unsigned c = 0; c < KMALLOC_NR_CACHES; c++) {
		size_t obj_size = KMALLOC_MIN_OBJ << c;

		ksnprintf(name, sizeof(name), "kmalloc_%zu", obj_size);
		kmalloc_caches[c] =
			kmem_cache_create(name, obj_size, TAG_SIZE, 0,
					  kpages_arena, NULL, NULL, NULL);
	}
	fast_tables_init();
}
