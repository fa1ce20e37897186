/*
 * arena_life.c: the life of an arena, §6 of the theory statement
 * in arena.c: creating one (arena_setup, arena_create, arena_init_base),
 * giving it spans (arena_add), destroying it, the list of all arenas, the
 * base arena's service to the others (base_alloc), and the queries.
 */
#include "arena_impl.h"
#include "kstring.h"
#include "page.h"
#include "panic.h"
#include "slab.h"

struct arena *base_arena, *kpages_arena;
struct arena *kpages_2m_arena, *kpages_1g_arena;
struct arena base_arena_storage;

static struct spinlock arenas_lock = SPINLOCK_INIT;
static struct arena *all_arenas;

/* ---- creating and destroying */

/* Set a up empty: no spans, empty lists, the hash's first buckets. */
static void arena_setup(struct arena *a, const char *name, size_t quantum)
{
	kstrlcpy(a->name, name, sizeof(a->name));
	a->lock = (struct spinlock)SPINLOCK_INIT;
	a->quantum = quantum;
	a->quantum_shift = is_pow2(quantum) ? highbit(quantum) : -1;
	/* kmem_debug=check: every allocation takes the checked path */
	a->fast_limit = is_pow2(quantum) && !(kmem_debug & KMEM_DEBUG_CHECK) ?
				1ul << 62 :
				0;
	list_init(&a->importer_arenas);
	list_init(&a->reclaimers);
	list_init(&a->importer_link);
	a->seg_head.type = BTAG_SENTINEL;
	a->seg_head.seg_next = a->seg_head.seg_prev = &a->seg_head;
	for (int i = 0; i < ARENA_NR_FREELISTS; i++)
		list_init(&a->free_lists[i]);
	arena_hash_set_size(a, a->hash_initial, ARENA_HASH_INITIAL);
}

/* Put a on the list of all arenas. */
static void arena_list_add(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&arenas_lock);

	a->all_next = all_arenas;
	all_arenas = a;
	spin_unlock_irqrestore(&arenas_lock, irq);
}

/* Take a off the list of all arenas, if it is on it. */
static void arena_list_remove(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&arenas_lock);
	struct arena **pp = &all_arenas;

	while (*pp && *pp != a)
		pp = &(*pp)->all_next;
	if (*pp)
		*pp = a->all_next;
	spin_unlock_irqrestore(&arenas_lock, irq);
}

void arena_init_base(struct arena *a, const char *name)
{
	kmemset(a, 0, sizeof(*a));
	arena_setup(a, name, PGSIZE);
	a->is_base = true;
	arena_list_add(a);
}

struct arena *arena_create(const char *name, void *base, size_t size,
			   size_t quantum, arena_afunc_t afunc,
			   arena_ffunc_t ffunc, struct arena *source,
			   size_t qcache_max, int flags)
{
	struct arena *a;

	if (!quantum)
		panic("arena_create: quantum 0: arena '%s'", name);
	if (!source != !afunc || !source != !ffunc)
		panic("arena_create: a source needs afunc and ffunc, and they need a source: arena '%s'",
		      name);
	if (flags & ~(MEM_WAIT | MEM_ATOMIC) ||
	    (flags != MEM_WAIT && flags != MEM_ATOMIC))
		panic("arena_create: bad flags 0x%x: arena '%s'", flags, name);
	a = base_zalloc(source, sizeof(*a), flags);
	if (!a)
		return NULL;
	arena_setup(a, name, quantum);
	a->allocated = true;
	a->source = source;
	a->afunc = afunc;
	a->ffunc = ffunc;
	a->free_slow = frees_need_tail(a);
	arena_list_add(a);
	if (source)
		arena_importers_add(a);
	if (!arena_qcaches_create(a, qcache_max, flags) ||
	    (size && !arena_add(a, base, size, flags))) {
		arena_destroy(a);
		return NULL;
	}
	return a;
}

void *arena_add(struct arena *a, void *base, size_t size, int flags)
{
	uintptr_t start = (uintptr_t)base;
	unsigned long irq;

	arena_check_flags(__func__, a, flags);
	if (!start || !size || start + size < start || start + size == 0)
		panic("arena_add: span holds address 0, is empty, or wraps past the top: arena '%s' addr 0x%lx size %zu",
		      a->name, start, size);
	if (quantum_roundup(a, start) >= quantum_rounddown(a, start + size))
		panic("arena_add: span too small for one quantum %zu: arena '%s' addr 0x%lx size %zu",
		      a->quantum, a->name, start, size);
	irq = spin_lock_irqsave(&a->lock);
	if (!a->is_base && !tags_ensure_locked(a, TAGS_PER_STEP, flags, &irq)) {
		spin_unlock_irqrestore(&a->lock, irq);
		return NULL;
	}
	/* after the last time the lock was dropped: a racing add is seen */
	if (arena_span_overlaps_locked(a, start, size)) {
		spin_unlock_irqrestore(&a->lock, irq);
		panic("arena_add: span overlaps one the arena has: arena '%s' addr 0x%lx size %zu",
		      a->name, start, size);
	}
	arena_span_add_locked(a, start, size, SPAN_ADDED);
	spin_unlock_irqrestore(&a->lock, irq);
	return after_check(__func__, a, base);
}

/* What a base arena holds for itself: its tag pages and a grown hash. */
static size_t base_own_bytes(const struct arena *a)
{
	size_t bytes = a->nr_tag_pages * PGSIZE;

	if (a->hash != a->hash_initial)
		bytes += a->hash_buckets * sizeof(*a->hash);
	return bytes;
}

void arena_destroy(struct arena *a)
{
	struct btag *t, *next;
	unsigned long irq;
	void *page;

	for (size_t i = 0; i < ARENA_QCACHE_MAX && a->qcache[i]; i++)
		kmem_cache_destroy(a->qcache[i]);
	a->qcache_max = 0;
	irq = spin_lock_irqsave(&a->lock);
	/*
	 * A base arena's own tag pages and hash table are allocations in its
	 * own spans; they are all that may be left.
	 */
	if (a->is_base ? a->in_use != base_own_bytes(a) :
			 arena_nr_alloc_segs(a) != 0)
		arena_destroy_busy(a);
	spin_unlock_irqrestore(&a->lock, irq);
	arena_list_remove(a);
	arena_importers_remove(a);
	/*
	 * A base arena's spans, and the tags and hash inside them, belong to
	 * whoever added them: forgetting the arena is all there is to do.
	 */
	if (a->is_base)
		return;
	/* nobody else may use a now: give imported spans back */
	assert_not_held(&a->lock);
	for (t = a->seg_head.seg_next; t != &a->seg_head; t = next) {
		next = t->seg_next;
		if (t->type == BTAG_SPAN && t->imported)
			arena_span_give_back(a, t->start, t->size, t->imported);
	}
	if (a->hash != a->hash_initial)
		base_free(a, a->hash, a->hash_buckets * sizeof(*a->hash));
	while ((page = a->tag_pages) != NULL) {
		a->tag_pages = *(void **)page;
		base_free(a, page, PGSIZE);
	}
	if (a->allocated)
		base_free(a->source, a, sizeof(*a));
}

/* ---- base_alloc */

void *base_alloc(struct arena *guess, size_t size, int flags)
{
	return arena_alloc(arena_root_base(guess), size, flags);
}

void *base_zalloc(struct arena *guess, size_t size, int flags)
{
	void *p = base_alloc(guess, size, flags);

	if (p)
		kmemset(p, 0, size);
	return p;
}

void base_free(struct arena *guess, void *addr, size_t size)
{
	arena_free(arena_root_base(guess), addr, size);
}

/* ---- queries */

size_t arena_amt_free(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t n = a->total - a->in_use;

	spin_unlock_irqrestore(&a->lock, irq);
	return n;
}

size_t arena_amt_total(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t n = a->total;

	spin_unlock_irqrestore(&a->lock, irq);
	return n;
}

const char *arena_name(const struct arena *a)
{
	return a->name;
}

size_t arena_quantum(const struct arena *a)
{
	return a->quantum;
}

void arena_for_each(void (*fn)(struct arena *, void *), void *arg)
{
	unsigned long irq = spin_lock_irqsave(&arenas_lock);

	for (struct arena *a = all_arenas; a; a = a->all_next)
		fn(a, arg);
	spin_unlock_irqrestore(&arenas_lock, irq);
}
