/*
 * kmalloc_tag.c: reading a kmalloc tag back, and saying what a pointer
 * that has no live one is: the decoding and the diagnosis of "kfree(buf)"
 * and "Debug modes" in kmalloc.c's theory statement.
 */
#include "kmalloc_impl.h"
#include "arena_impl.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "panic.h"
#include "printk.h"

/*
 * Copy the tag before buf, or the large header: buf may be any pointer,
 * even into memory the sanitizer poisoned (a foreign one, or one kfree's
 * diagnosis looks at), so these loads are not checked.
 */
static __no_sanitize_address void tag_load(uintptr_t buf, struct kmalloc_tag *t)
{
	*t = *tag_of(buf);
}

static __no_sanitize_address void large_load(uintptr_t buf,
					     struct kmalloc_large *h)
{
	*h = *large_of(buf);
}

/* A small buffer's offset must leave at least 16 bytes of its object. */
static bool decode_small(struct kmalloc_view *v)
{
	size_t obj_size = KMALLOC_MIN_OBJ << v->size_class;

	if (v->offset < TAG_SIZE || v->offset % TAG_SIZE ||
	    v->offset > obj_size - TAG_SIZE)
		return false;
	v->start = v->buf - v->offset;
	v->size = obj_size;
	v->usable = obj_size - v->offset;
	return true;
}

/* A large buffer's header must name the page-aligned start before it. */
static bool decode_large(struct kmalloc_view *v)
{
	struct kmalloc_large h;

	if (v->size_class != KMALLOC_CLASS_PAGES &&
	    v->size_class != KMALLOC_CLASS_PAGES_ALIGNED)
		return false;
	if (v->offset < LARGE_ROOM || v->offset > PGSIZE ||
	    v->offset % TAG_SIZE || (v->buf - v->offset) % PGSIZE)
		return false;
	large_load(v->buf, &h);
	if (h.start != v->buf - v->offset || h.size % PGSIZE ||
	    h.size < v->offset + TAG_SIZE + large_redzone() ||
	    h.start + h.size < h.start)
		return false;
	v->start = h.start;
	v->size = h.size;
	v->usable = h.size - v->offset - large_redzone();
	return true;
}

/* Read and decode the tag before buf (no tag at all if buf is unaligned). */
void kmalloc_tag_decode(uintptr_t buf, struct kmalloc_view *v)
{
	struct kmalloc_tag t;

	*v = (struct kmalloc_view){ .buf = buf };
	if (buf % TAG_SIZE || buf < LARGE_ROOM)
		return;
	tag_load(buf, &t);
	v->info = tag_info(&t);
	if (t.check == tag_check(buf, v->info, KMALLOC_LIVE))
		v->state = KMALLOC_LIVE;
	else if (t.check == tag_check(buf, v->info, KMALLOC_FREED))
		v->state = KMALLOC_FREED;
	else
		return;
	v->owner = t.owner;
	v->size_class = t.size_class;
	v->offset = t.offset;
	if (t.zero)
		return;
	v->sound = v->size_class < KMALLOC_NR_CACHES ? decode_small(v) :
						       decode_large(v);
}

/* ---- misuse */

/* "cache" or "arena", and its name, for v's class. */
static const char *owner_kind(const struct kmalloc_view *v)
{
	return v->size_class < KMALLOC_NR_CACHES ? "cache" : "arena";
}

static const char *owner_name(const struct kmalloc_view *v)
{
	return v->size_class < KMALLOC_NR_CACHES ?
		       kmem_cache_name(kmalloc_caches[v->size_class]) :
		       arena_name(kpages_arena);
}

/*
 * A live buffer holding p whose tag lies in p's page, before p (error
 * paths only: up to a page of candidate tags).
 */
static bool find_enclosing(uintptr_t p, struct kmalloc_view *around)
{
	uintptr_t page = ALIGN_DOWN(p, PGSIZE);

	for (uintptr_t b = ALIGN_DOWN(p - 1, TAG_SIZE); b >= page + TAG_SIZE;
	     b -= TAG_SIZE) {
		kmalloc_tag_decode(b, around);
		if (view_is_live(around) && p < b + around->usable)
			return true;
	}
	return false;
}

/*
 * Under poison: if buf is in a free object of a kmalloc cache, its tag
 * holds the free poison, and fn met a freed buffer: panic saying so.
 */
static void poisoned_buffer(const char *fn, uintptr_t buf)
{
	void *start;
	struct kmem_cache *cp =
		kmem_cache_owner((void *)(buf - TAG_SIZE), &start);
	uintptr_t obj = (uintptr_t)start;
	char audit[KMEM_AUDIT_TEXT_MAX];

	for (unsigned c = 0; cp && obj && c < KMALLOC_NR_CACHES; c++) {
		if (kmalloc_caches[c] != cp)
			continue;
		if (buf - obj > kmem_cache_obj_size(cp) ||
		    kmem_pattern_find((void *)obj, buf - TAG_SIZE - obj,
				      buf - obj, KMEM_POISON_FREE) >= 0)
			return;
		panic("%s: %s (its tag holds the free poison): cache '%s' addr %p size %zu%s",
		      fn,
		      kstrcmp(fn, "kfree") ? "buffer already freed" :
					     "double free",
		      kmem_cache_name(cp), (void *)buf,
		      kmem_cache_obj_size(cp) - (buf - obj),
		      kmem_cache_audit_text(cp, (void *)obj, audit,
					    sizeof(audit)));
	}
}

/* Under audit, who last allocated and freed the small buffer v. */
static const char *audit_text(const struct kmalloc_view *v, char *buf,
			      size_t len)
{
	buf[0] = 0;
	if (v->sound && v->size_class < KMALLOC_NR_CACHES)
		kmem_cache_audit_text(kmalloc_caches[v->size_class],
				      (void *)v->start, buf, len);
	return buf;
}

/* fn met v, which is not a live buffer: say what it is, and panic. */
__noreturn void kmalloc_bad_buffer(const char *fn, const struct kmalloc_view *v)
{
	char audit[KMEM_AUDIT_TEXT_MAX];
	struct kmalloc_view around;
	void *buf = (void *)v->buf;

	if (v->state == KMALLOC_LIVE && v->sound)
		panic("%s: tag overwritten (owner %p, expected %p: an overrun of the memory before it?): %s '%s' addr %p size %zu%s",
		      fn, v->owner, class_owner(v), owner_kind(v),
		      owner_name(v), buf, v->usable,
		      audit_text(v, audit, sizeof(audit)));
	if (find_enclosing(v->buf, &around))
		panic("%s: pointer inside a buffer, not its start: %s '%s' addr %p is %zu bytes into buffer %p size %zu%s",
		      fn, owner_kind(&around), owner_name(&around), buf,
		      (size_t)(v->buf - around.buf), (void *)around.buf,
		      around.usable, audit_text(&around, audit, sizeof(audit)));
	if (v->state == KMALLOC_FREED && v->sound)
		panic("%s: %s (the tag says freed): %s '%s' addr %p size %zu%s",
		      fn,
		      kstrcmp(fn, "kfree") ? "buffer already freed" :
					     "double free",
		      owner_kind(v), owner_name(v), buf, v->usable,
		      audit_text(v, audit, sizeof(audit)));
	if (v->state)
		panic("%s: tag corrupted (its check holds, its fields do not): addr %p class %u offset %zu",
		      fn, buf, v->size_class, v->offset);
	if (kmem_debug & KMEM_DEBUG_POISON)
		poisoned_buffer(fn, v->buf);
	panic("%s: not a kmalloc buffer (no valid tag before it): addr %p", fn,
	      buf);
}

/* ---- whatis (the monitor) */

/* Say what v, a buffer holding addr, is: its tag, decoded. */
static void whatis_print(uintptr_t addr, const struct kmalloc_view *v)
{
	printk("kmalloc: 0x%lx is in buffer 0x%lx +0x%lx: tag at 0x%lx, %s, %s '%s', offset %zu, %zu usable\n",
	       addr, v->buf, addr - v->buf, v->buf - TAG_SIZE,
	       v->state == KMALLOC_LIVE ? "live" : "freed", owner_kind(v),
	       owner_name(v), v->offset, v->usable);
}

/* The buffer in object obj of kmalloc cache cp, if its tag says so. */
static bool whatis_small(uintptr_t addr, struct kmem_cache *cp, uintptr_t obj)
{
	size_t size = kmem_cache_obj_size(cp);

	for (size_t off = TAG_SIZE; off + TAG_SIZE <= size; off += TAG_SIZE) {
		struct kmalloc_view v;

		kmalloc_tag_decode(obj + off, &v);
		if (v.state && v.sound && v.owner == cp && v.offset == off) {
			whatis_print(addr, &v);
			return true;
		}
	}
	return false;
}

/* The large buffer whose kpages allocation starts at start, if any. */
static bool whatis_large(uintptr_t addr, uintptr_t start)
{
	for (size_t off = LARGE_ROOM; off <= PGSIZE; off += TAG_SIZE) {
		struct kmalloc_view v;

		kmalloc_tag_decode(start + off, &v);
		if (v.state && v.sound && v.start == start) {
			whatis_print(addr, &v);
			return true;
		}
	}
	return false;
}

int kmalloc_whatis(uintptr_t addr)
{
	void *obj;
	struct kmem_cache *cp = kmem_cache_owner((void *)addr, &obj);
	struct arena *a = kpages_arena;
	uintptr_t start = 0;
	unsigned long irq;
	struct btag *t;

	if (cp && obj) {
		for (int c = 0; c < KMALLOC_NR_CACHES; c++) {
			if (kmalloc_caches[c] == cp)
				return whatis_small(addr, cp, (uintptr_t)obj);
		}
		/* an object of kpages' quantum caches: a large buffer's pages */
		return whatis_large(addr, (uintptr_t)obj);
	}
	if (!a)
		return 0;
	irq = spin_lock_irqsave(&a->lock);
	t = arena_segment_containing_locked(a, addr);
	if (t && t->type == BTAG_ALLOC && !t->qslab)
		start = t->start;
	spin_unlock_irqrestore(&a->lock, irq);
	return start ? whatis_large(addr, start) : 0;
}
