/*
 * slab.c: object caches. Bonwick, "The Slab Allocator: An Object-Caching
 * Kernel Memory Allocator" (USENIX 1994) for the slab layer; Bonwick and
 * Adams, "Magazines and Vmem" (USENIX 2001) for the per-CPU layer.
 *
 * ---- Theory statement
 *
 * 1. Two layers
 *
 * A cache hands out constructed objects of one size. Its upper layer is
 * per-CPU: each CPU has a loaded and a previous magazine (stacks of up to
 * mag_size objects), and allocation and free are a pop or a push on the
 * loaded one. When it runs dry or full, the CPU swaps in the previous
 * one, then trades with the cache's depot (lists of full and empty
 * magazines). Only when the depot cannot help does a request reach the
 * lower layer, the slabs, where objects are really carved and freed.
 *
 *   kmem_cache_alloc -> cpu[c].loaded -> cpu[c].previous -> depot -> slabs
 *                                                               -> source
 *
 * 2. Slabs
 *
 * A slab is a run of slab_size bytes from the source arena (taken with
 * arena_xalloc, which never goes through the source's own quantum caches)
 * cut into objs_per_slab objects of `chunk` bytes, the first one colour
 * bytes in: successive slabs start their objects at different offsets so
 * that their first objects do not all compete for the same cache lines.
 *
 * On-slab caches (small objects, memory that may be written, a source
 * quantum of one page) keep the slab header at the end of a one-page slab
 * and their free list inside the free objects:
 *
 *   page:  [colour][obj][obj][obj]...[obj][slack][struct kmem_slab]
 *          free objects' first word -> next free object
 *
 * so the slab of an object is found without a lookup, which gives the
 * always-on check that a freed object belongs to the cache it is freed
 * to. A bitmap in the header says which objects are out, so a double free
 * is caught when the object reaches the slab layer.
 *
 * Off-slab caches (big objects, and every KMC_NOTOUCH cache, whose
 * objects might not be memory) keep slab headers and bufctls (one per
 * object: its address and slab) in the kmem_slab and kmem_bufctl caches,
 * and find an allocated object's bufctl in a hash by address, which grows
 * like an arena's.
 *
 * Slabs are on one of three lists: full (no free object), partial, empty.
 * Allocation prefers partial slabs, so empty ones stay empty and can go
 * back: kmem_cache_reap() and reclaim return them to the source.
 *
 * 3. Constructors
 *
 * The constructor runs on every object when its slab is made; objects
 * stay constructed in slabs and magazines, and the destructor runs when
 * a slab goes back. A constructor that fails under MEM_ATOMIC undoes the
 * ones before it and the slab goes back: nothing leaks.
 *
 * 4. Magazines and the depot
 *
 * Each struct kmem_cpu_cache keeps `rounds`, the fill of its loaded
 * magazine (-1: none yet), next to the pointer, so the fast path touches
 * one cache line. A magazine keeps its n objects in round[1 .. n] above
 * a NULL floor, round[0], so the free path's look at the top (is obj the
 * one this CPU freed last?) is one compare, empty magazine or not. The
 * magazines come from the kmem_magazine_<M> caches, which have no
 * magazine layer themselves: getting a magazine never recurses into a
 * cache that needs one.
 *
 * The CPU array is indexed by slot, the CPU number plus one
 * (arch_cpu_slot): slot 0 is where a thread without a number lands, and
 * it never gets a magazine (its rounds stay -1), so the fast paths need
 * no test for "no number yet": they fall to the slow path, which asks for
 * one.
 *
 * 5. Invariants (kmem_cache_check)
 *
 * - each slab is on the list its count says; counts add up to nr_busy
 *   and nr_slabs; free lists (or free bufctls) hold exactly the free
 *   objects, each inside its slab at an object boundary;
 * - on-slab: the busy bitmap agrees with the free list; off-slab: the
 *   hash holds exactly the busy objects' bufctls;
 * - every object in a magazine is busy at the slab layer; rounds are
 *   within 0..mag_size; the depot's counts agree with its lists.
 *
 * 6. Locking
 *
 * Lock order: cpu[c].lock, then depot.lock, then the cache's lock, then
 * arenas and other caches. The slab layer never holds the cache's lock
 * while it calls an arena or another cache (making or freeing a slab
 * happens outside it), and the magazine layer never holds a CPU's lock
 * while it allocates a magazine: so reclaim, which reaps caches from
 * inside an arena's failing allocation, cannot deadlock on a lock its
 * caller holds.
 *
 * Checked, not only stated (spinlock.h): every *_locked function asserts
 * the locks it needs (assert_held: the cache's for the slab layer; the
 * CPU's for cpu_*_refill_locked, which take the depot's themselves and
 * assert they do not hold it yet; both for the checkers), and making or
 * unmaking a slab, growing the hash and allocating a magazine first
 * assert that this CPU holds none of the cache's locks that would be
 * wrong there (assert_not_held). On in the kernel and the test builds,
 * nothing in libkmem.a; the fast paths below have no lock to assert.
 *
 * The fast path takes no lock and no locked instruction. Its CPU stores
 * busy = 1, then loads rounds; if it is a count the pop or push can use,
 * it does it, stores the new count, then busy = 0 (release). Anyone else
 * who must touch that CPU's magazines (reap, the checker, the tables)
 * takes cpu[c].lock, exchanges rounds for KMEM_ROUNDS_HELD (which no
 * fast path can use), makes every CPU run a memory barrier
 * (arch_cpu_barrier: on the host, Linux's membarrier), then waits for
 * busy to be 0. After the barrier the owner has either loaded HELD (and
 * takes the slow path, which waits for the lock) or made its busy
 * visible: it cannot be inside unseen. But a push or pop that loaded the
 * count before the exchange stores its new count after it; so the
 * visitor exchanges again: HELD means no such store came, and the count
 * it kept is true; a count is the true one (the owner finished that push
 * or pop), and it waits again (cpu_cache_enter). When done it stores the
 * count back (release) and unlocks. The owner's own slow path needs only
 * the lock: it cannot race its own fast path. In the kernel the fast
 * path also keeps interrupts off, so nothing on its CPU comes between.
 *
 * Why this is race-free in the C11 model, and why ThreadSanitizer can
 * tell. A visitor writes loaded, previous, prev_rounds and the magazines
 * only between its first exchange and the store that gives the count
 * back. The owner's fast path reads none of them until it has loaded a
 * count it can use (alloc: 1..M, free: 0..M-1); loading anything else,
 * it leaves without another look (the free path reads loaded only after
 * its range check). So every pair of accesses the two make to those
 * fields is ordered by a release that an acquire reads:
 *   - visitor, then owner: the owner's acquire load of rounds reads the
 *     count cpu_cache_leave stored with release (or the owner takes the
 *     slow path, and the lock orders it);
 *   - owner, then visitor: the visitor's acquire load of busy reads the
 *     owner's release store of 0 at the end of the push or pop it waited
 *     for (or of a later one).
 * The barrier orders nothing by itself: it decides which values those
 * loads can return (after it, an owner inside its fast path has its
 * busy = 1 visible, so the wait cannot read an old 0 and miss it).
 * ThreadSanitizer does not model membarrier, and needs no edge from it:
 * it judges by the values really read, and each edge above is an atomic
 * release read by an atomic acquire. So the ThreadSanitizer build needs
 * no annotation. tests/host/threads.c runs a visitor (check, reap,
 * reclaim, the tables) against 2, 4 and 8 owners under ThreadSanitizer
 * in make test, two programs at once; make stress loops it 200 times.
 *
 * 7. Debug modes (kmem_debug=, kmem_debug.h)
 *
 * A cache takes the modes on at creation (cp->debug): all of them, but
 * only audit and check for NOTOUCH caches (redzone and poison write into
 * objects), and none for the slab layer's own caches. A cache with any
 * mode has no magazine layer: every allocation and free reaches the slab
 * layer (debug_alloc, debug_free), where the object's state is known, so
 * a double free is caught at the call, wherever the object would have
 * sat in a magazine; the fast paths pay nothing, as mag_size 0 sends
 * them to the slow ones. An object then carries its debug state after it
 * (debug_layout): a redzone checked at every free and allocation, the
 * free-list link past it (so poison covers the whole object), and the
 * audit record; a NOTOUCH cache keeps the audit record in the object's
 * bufctl. Under poison a free object holds KMEM_POISON_FREE, checked
 * when it is handed out; the constructor runs then (after a fill with
 * KMEM_POISON_NEW) and the destructor at the free, as illumos does. Under
 * check, kmem_cache_check runs after every call.
 *
 * 8. FAQ
 *
 * Why not simply take the CPU's lock on the fast path, as the paper
 * does? An uncontended lock is still a locked instruction: about 20
 * cycles each way, which made a 64-byte pair slower than glibc's. The
 * busy/HELD handshake moves that cost to the rare visitor (a barrier on
 * every CPU) and leaves the fast path plain stores and loads, with
 * release and acquire where ThreadSanitizer needs to see the order. A
 * separate "stop" flag would be simpler to explain, but it costs the
 * fast path a load and a branch each way; folded into rounds, the one
 * range check the fast path makes anyway keeps visitors out too.
 *
 * Why do NOTOUCH caches exist? An arena's quantum caches cache ranges of
 * its resource, which may be I/O space or IDs: writing a free-list link
 * into them would be wrong, or fault.
 *
 * Why is free not checked fully on the fast path? A double free deep in a
 * magazine would need a search; the paper's fast path does not pay for
 * it. The object is caught when it reaches the slab layer (its bit is
 * already clear, or its bufctl is not in the hash).
 */
#include "slab.h"
#include "slab_sourced.h"
#include "arch.h"
#include "assert.h"
#include "bitops.h"
#include "hash.h"
#include "kprintf.h"
#include "kmem_debug.h"
#include "kstring.h"
#include "page.h"
#include "panic.h"
#include "printk.h"

#define SLAB_MAGIC 0x51ab5eedu
#define ON_SLAB_MAX_CHUNK (PGSIZE / 8)
#define SLAB_MAP_WORDS 8 /* busy bitmap: up to 512 objects per slab */
#define MIN_OBJS_PER_SLAB 8
/* more rounds than any magazine has: the fast path's bound */
#define NR_MAGAZINE_ROUNDS_MAX 64

/* A slab's header: at the end of the slab (on-slab) or in kmem_slab_cache. */
struct kmem_slab {
	uint32_t magic;
	uint32_t nr_busy;
	struct kmem_cache *cache;
	struct list_head link; /* on the cache's full, partial or empty list */
	void *base;	       /* what came from the source */
	void *first;	       /* the first object: base + colour */
	void *free;	       /* on-slab: free objects, linked inside */
	struct kmem_bufctl *free_bufctls; /* off-slab */
	uint64_t busy[SLAB_MAP_WORDS];	  /* on-slab: objects out */
};

static struct spinlock caches_lock = SPINLOCK_INIT;
static struct list_head all_caches = LIST_HEAD_INIT(all_caches);

/* The slab layer's own caches, over base_arena, without magazines. */
static struct kmem_cache *slab_cache, *bufctl_cache;
/* under audit, a bufctl carries its NOTOUCH object's struct kmem_audit */
static bool bufctl_audit;
static struct kmem_cache *magazine_caches[4];
/* rounds per magazine: with the link and the floor, 4 to 32 words */
static const size_t magazine_sizes[4] = { 2, 6, 14, 30 };

/* ---- small helpers */

/* The header of the on-slab slab holding obj: no lookup. */
static inline struct kmem_slab *on_slab_header(const void *obj)
{
	uintptr_t page = (uintptr_t)obj & ~(uintptr_t)(PGSIZE - 1);

	return (struct kmem_slab *)(page + PGSIZE - sizeof(struct kmem_slab));
}

/* Where free on-slab object obj keeps the link to the next free one. */
static inline void **obj_link(const struct kmem_cache *cp, void *obj)
{
	return (void **)((char *)obj + cp->link_offset);
}

/* Index of obj in its slab, or -1 if it is not at an object boundary. */
static long obj_index(const struct kmem_cache *cp, const struct kmem_slab *s,
		      const void *obj)
{
	uintptr_t off = (uintptr_t)obj - (uintptr_t)s->first;

	if ((uintptr_t)obj < (uintptr_t)s->first ||
	    off >= cp->objs_per_slab * cp->chunk || off % cp->chunk)
		return -1;
	return (long)(off / cp->chunk);
}

static bool busy_test(const struct kmem_slab *s, long i)
{
	return s->busy[i / 64] & (1ull << (i % 64));
}

static void busy_flip(struct kmem_slab *s, long i)
{
	s->busy[i / 64] ^= 1ull << (i % 64);
}

/* ---- the off-slab hash of allocated objects */

static inline struct kmem_bufctl **bufctl_bucket(const struct kmem_cache *cp,
						 const void *obj)
{
	return &cp->hash[hash_index64((uintptr_t)obj, cp->hash_shift)];
}

static void hash_set(struct kmem_cache *cp, struct kmem_bufctl **t, size_t n)
{
	cp->hash = t;
	cp->hash_buckets = n;
	cp->hash_shift = 64 - highbit(n);
}

/* The hash is cp's lock's, as everything of the slab layer. */
static void bufctl_hash_insert_locked(struct kmem_cache *cp,
				      struct kmem_bufctl *bc)
{
	struct kmem_bufctl **b = bufctl_bucket(cp, bc->obj);

	assert_held(&cp->lock);
	bc->next = *b;
	*b = bc;
	cp->nr_hashed++;
}

static struct kmem_bufctl *bufctl_hash_remove_locked(struct kmem_cache *cp,
						     const void *obj)
{
	struct kmem_bufctl **pp = bufctl_bucket(cp, obj), *bc;

	assert_held(&cp->lock);
	for (; (bc = *pp) != NULL; pp = &bc->next) {
		if (bc->obj == obj) {
			*pp = bc->next;
			cp->nr_hashed--;
			return bc;
		}
	}
	return NULL;
}

static struct kmem_bufctl *bufctl_hash_lookup_locked(struct kmem_cache *cp,
						     const void *obj)
{
	assert_held(&cp->lock);
	for (struct kmem_bufctl *bc = *bufctl_bucket(cp, obj); bc;
	     bc = bc->next) {
		if (bc->obj == obj)
			return bc;
	}
	return NULL;
}

/* Grow the hash x4 once it holds over 2 per bucket (called unlocked). */
static void bufctl_hash_grow(struct kmem_cache *cp)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	size_t n = cp->hash_buckets * 4, old_n = cp->hash_buckets;
	struct kmem_bufctl **t, **old = cp->hash;

	if (cp->nr_hashed <= 2 * old_n) {
		spin_unlock_irqrestore(&cp->lock, irq);
		return;
	}
	spin_unlock_irqrestore(&cp->lock, irq);
	assert_not_held(&cp->lock);
	t = base_zalloc(cp->source, n * sizeof(*t), MEM_ATOMIC);
	if (!t)
		return; /* longer chains, nothing worse */
	irq = spin_lock_irqsave(&cp->lock);
	if (cp->hash != old) { /* someone else grew it */
		spin_unlock_irqrestore(&cp->lock, irq);
		base_free(cp->source, t, n * sizeof(*t));
		return;
	}
	hash_set(cp, t, n);
	for (size_t i = 0; i < old_n; i++) {
		struct kmem_bufctl *bc, *next;

		for (bc = old[i]; bc; bc = next) {
			struct kmem_bufctl **b = bufctl_bucket(cp, bc->obj);

			next = bc->next;
			bc->next = *b;
			*b = bc;
		}
	}
	spin_unlock_irqrestore(&cp->lock, irq);
	assert_not_held(&cp->lock);
	if (old != cp->hash_initial)
		base_free(cp->source, old, old_n * sizeof(*old));
}

/* ---- misuse */

struct owner_search {
	const void *obj;
	struct kmem_cache *owner;
	void *start; /* of the object holding obj, or NULL */
};

/* Whether obj lies inside one of cp's slabs (cp's lock; error paths). */
static struct kmem_slab *slab_containing_locked(struct kmem_cache *cp,
						const void *obj)
{
	struct list_head *lists[] = { &cp->full, &cp->partial, &cp->empty };

	assert_held(&cp->lock);
	for (int i = 0; i < 3; i++) {
		struct list_head *pos;

		list_for_each (pos, lists[i]) {
			struct kmem_slab *s =
				list_entry(pos, struct kmem_slab, link);
			uintptr_t o = (uintptr_t)obj, b = (uintptr_t)s->base;

			if (o >= b && o - b < cp->slab_size)
				return s;
		}
	}
	return NULL;
}

static void find_cache_owner(struct kmem_cache *cp, void *arg)
{
	struct owner_search *s = arg;
	struct kmem_slab *slab;
	unsigned long irq;

	if (s->owner)
		return;
	irq = spin_lock_irqsave(&cp->lock);
	slab = slab_containing_locked(cp, s->obj);
	if (slab) {
		uintptr_t o = (uintptr_t)s->obj, first = (uintptr_t)slab->first;
		size_t i = (o - first) / cp->chunk;

		s->owner = cp;
		if (o >= first && i < cp->objs_per_slab)
			s->start = (char *)slab->first + i * cp->chunk;
	}
	spin_unlock_irqrestore(&cp->lock, irq);
}

struct kmem_cache *kmem_cache_owner(const void *addr, void **obj)
{
	struct owner_search owner = { addr, NULL, NULL };

	kmem_cache_for_each(find_cache_owner, &owner);
	if (obj)
		*obj = owner.start;
	return owner.owner;
}

/* ---- the audit trail (kmem_debug=audit) */

/*
 * The audit record of cp's object obj, allocated or free, or NULL if cp
 * keeps none (cp's lock held). In the object's trailer, or in its bufctl
 * for a NOTOUCH cache.
 */
static struct kmem_audit *audit_locked(struct kmem_cache *cp, const void *obj)
{
	struct kmem_bufctl *bc;
	struct kmem_slab *s;

	assert_held(&cp->lock);
	if (!(cp->debug & KMEM_DEBUG_AUDIT))
		return NULL;
	if (cp->audit_offset)
		return (struct kmem_audit *)((char *)obj + cp->audit_offset);
	/* an allocated object's bufctl is in the hash, a free one's on its
	 * slab's free list */
	bc = bufctl_hash_lookup_locked(cp, obj);
	if (!bc && (s = slab_containing_locked(cp, obj)) != NULL) {
		for (bc = s->free_bufctls; bc && bc->obj != obj; bc = bc->next)
			;
	}
	return bc ? (struct kmem_audit *)(bc + 1) : NULL;
}

/* Record the calling stack as obj's last allocation or free. */
static void audit_note(struct kmem_cache *cp, void *obj, bool alloc,
		       uintptr_t caller)
{
	uintptr_t pcs[KMEM_AUDIT_DEPTH];
	struct kmem_audit *a;
	unsigned long irq;

	kmem_audit_record(pcs, caller);
	irq = spin_lock_irqsave(&cp->lock);
	a = audit_locked(cp, obj);
	if (a)
		kmemcpy(alloc ? a->alloc : a->free, pcs, sizeof(pcs));
	spin_unlock_irqrestore(&cp->lock, irq);
}

const char *kmem_cache_audit_text(struct kmem_cache *cp, const void *addr,
				  char *buf, size_t len)
{
	struct kmem_audit a, *ap = NULL;
	struct kmem_slab *s;
	unsigned long irq;

	buf[0] = 0;
	if (!(cp->debug & KMEM_DEBUG_AUDIT))
		return buf;
	irq = spin_lock_irqsave(&cp->lock);
	s = slab_containing_locked(cp, addr);
	if (s && (uintptr_t)addr >= (uintptr_t)s->first) {
		size_t i = ((uintptr_t)addr - (uintptr_t)s->first) / cp->chunk;

		if (i < cp->objs_per_slab)
			ap = audit_locked(cp, (char *)s->first + i * cp->chunk);
	}
	if (ap)
		a = *ap;
	spin_unlock_irqrestore(&cp->lock, irq);
	if (ap)
		kmem_audit_format(buf, len, &a);
	return buf;
}

/*
 * kmem_cache_free met an object that cp's slab layer cannot take back:
 * say what it is and panic (called without cp's lock).
 */
static __noreturn void slab_bad_free(struct kmem_cache *cp, const void *obj)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	struct kmem_slab *s = slab_containing_locked(cp, obj);
	long i = s ? obj_index(cp, s, obj) : -1;
	struct kmem_cache *owner;
	char audit[KMEM_AUDIT_TEXT_MAX];

	spin_unlock_irqrestore(&cp->lock, irq);
	if (s && i < 0)
		panic("kmem_cache_free: pointer inside an object: cache '%s' obj %p (object size %zu)%s",
		      cp->name, obj, cp->obj_size,
		      kmem_cache_audit_text(cp, obj, audit, sizeof(audit)));
	if (s)
		panic("kmem_cache_free: double free (object not allocated): cache '%s' obj %p%s",
		      cp->name, obj,
		      kmem_cache_audit_text(cp, obj, audit, sizeof(audit)));
	owner = kmem_cache_owner(obj, NULL);
	if (owner)
		panic("kmem_cache_free: object of another cache: cache '%s' obj %p belongs to cache '%s'%s",
		      cp->name, obj, owner->name,
		      kmem_cache_audit_text(owner, obj, audit, sizeof(audit)));
	panic("kmem_cache_free: not an object of any cache: cache '%s' obj %p",
	      cp->name, obj);
}

/* An on-slab object whose slab header does not name cp. */
static __noreturn __attribute__((noinline)) void
wrong_owner(struct kmem_cache *cp, const void *obj)
{
	const struct kmem_slab *s = on_slab_header(obj);
	char audit[KMEM_AUDIT_TEXT_MAX];

	if (s->magic == SLAB_MAGIC && s->cache)
		panic("kmem_cache_free: object of another cache: cache '%s' obj %p belongs to cache '%s'%s",
		      cp->name, obj, s->cache->name,
		      kmem_cache_audit_text(s->cache, obj, audit,
					    sizeof(audit)));
	slab_bad_free(cp, obj);
}

/* obj is the one this CPU freed last. */
static __noreturn __attribute__((noinline)) void
freed_twice(struct kmem_cache *cp, const void *obj)
{
	panic("kmem_cache_free: double free (the object this CPU freed last): cache '%s' obj %p",
	      cp->name, obj);
}

/* ---- making and unmaking slabs */

/* Give a slab's memory back to the source (none of cp's locks held). */
static void slab_memory_free(struct kmem_cache *cp, void *base)
{
	assert_not_held(&cp->lock);
	cp->slab_free(cp->source, base, cp->slab_size);
}

/* The source pair of an ordinary cache: plain segments of its source. */
static void *slab_memory_xalloc(struct arena *source, size_t size, int flags)
{
	return arena_xalloc(source, size, 0, 0, 0, NULL, NULL, flags);
}

/*
 * Run the constructor on every object of s; undo all if one fails.
 * (Under poison, objects are constructed when handed out instead.)
 */
static bool slab_construct(struct kmem_cache *cp, struct kmem_slab *s,
			   int flags)
{
	if (!cp->ctor || (cp->debug & KMEM_DEBUG_POISON))
		return true;
	for (size_t i = 0; i < cp->objs_per_slab; i++) {
		void *obj = (char *)s->first + i * cp->chunk;

		if (cp->ctor(obj, cp->priv, flags) == 0)
			continue;
		if (flags & MEM_WAIT)
			panic("kmem_cache_alloc: constructor failed under MEM_WAIT: cache '%s' obj %p",
			      cp->name, obj);
		while (cp->dtor && i--)
			cp->dtor((char *)s->first + i * cp->chunk, cp->priv);
		return false;
	}
	return true;
}

static void slab_destruct(struct kmem_cache *cp, struct kmem_slab *s)
{
	if (cp->debug & KMEM_DEBUG_POISON)
		return;
	for (size_t i = 0; cp->dtor && i < cp->objs_per_slab; i++)
		cp->dtor((char *)s->first + i * cp->chunk, cp->priv);
}

/* The next colour offset for a new slab (called with cp's lock). */
static size_t next_colour_locked(struct kmem_cache *cp)
{
	size_t c = cp->colour_next;

	assert_held(&cp->lock);
	cp->colour_next += cp->align;
	if (cp->colour_next > cp->colour_max)
		cp->colour_next = 0;
	return c;
}

/* Give a slab's bufctls back (off-slab), from the free list. */
static void free_bufctls(struct kmem_slab *s)
{
	struct kmem_bufctl *bc, *next;

	for (bc = s->free_bufctls; bc; bc = next) {
		next = bc->next;
		kmem_cache_free(bufctl_cache, bc);
	}
}

/* A new object's debug state: redzone and poison patterns, empty audit. */
static void debug_new_object(struct kmem_cache *cp, void *obj)
{
	if (cp->debug & KMEM_DEBUG_REDZONE)
		kmem_pattern_fill(obj, cp->obj_size, cp->redzone_end,
				  KMEM_REDZONE_PATTERN);
	if (cp->debug & KMEM_DEBUG_POISON)
		kmem_pattern_fill(obj, 0, cp->obj_size, KMEM_POISON_FREE);
	if (cp->audit_offset)
		kmemset((char *)obj + cp->audit_offset, 0,
			sizeof(struct kmem_audit));
}

/* Build the free list (or bufctls) of a new slab; false if out of memory. */
static bool slab_fill(struct kmem_cache *cp, struct kmem_slab *s, int flags)
{
	for (size_t i = cp->objs_per_slab; i-- > 0;) {
		void *obj = (char *)s->first + i * cp->chunk;
		struct kmem_bufctl *bc;

		if (cp->debug && !(cp->flags & KMC_NOTOUCH))
			debug_new_object(cp, obj);
		if (cp->on_slab) {
			*obj_link(cp, obj) = s->free;
			s->free = obj;
			continue;
		}
		bc = kmem_cache_alloc(bufctl_cache, flags);
		if (!bc) {
			free_bufctls(s);
			return false;
		}
		bc->obj = obj;
		bc->slab = s;
		if (bufctl_audit)
			kmemset(bc + 1, 0, sizeof(struct kmem_audit));
		bc->next = s->free_bufctls;
		s->free_bufctls = bc;
	}
	return true;
}

/*
 * This CPU holds none of cp's locks (its own, the depot's, the CPUs'),
 * as it must when it calls the source. Nothing without DEBUG_ASSERTS.
 */
static void assert_cache_unlocked(struct kmem_cache *cp)
{
	assert_not_held(&cp->lock);
	assert_not_held(&cp->depot.lock);
	for (int slot = 0; DEBUG_ASSERTS && slot <= NR_CPUS; slot++)
		assert_not_held(&cp->cpu[slot].lock);
}

/*
 * Make a slab for cp (without any of cp's locks): memory from the source,
 * header, free list, constructed objects. NULL if anything failed; then
 * nothing is kept.
 */
static struct kmem_slab *slab_create(struct kmem_cache *cp, int flags)
{
	int mem = flags & (MEM_WAIT | MEM_ATOMIC);
	struct kmem_slab *s;
	unsigned long irq;
	size_t colour;
	void *base;

	assert_cache_unlocked(cp);
	base = cp->slab_alloc(cp->source, cp->slab_size, mem);
	if (!base)
		return NULL;
	s = cp->on_slab ?
		    (struct kmem_slab *)((char *)base + PGSIZE - sizeof(*s)) :
		    kmem_cache_alloc(slab_cache, mem);
	if (!s)
		goto no_header;
	irq = spin_lock_irqsave(&cp->lock);
	colour = next_colour_locked(cp);
	spin_unlock_irqrestore(&cp->lock, irq);
	*s = (struct kmem_slab){ .magic = SLAB_MAGIC,
				 .cache = cp,
				 .base = base,
				 .first = (char *)base + colour };
	list_init(&s->link);
	if (!slab_fill(cp, s, mem))
		goto no_bufctls;
	if (!slab_construct(cp, s, mem))
		goto no_objects;
	return s;

no_objects:
	if (!cp->on_slab)
		free_bufctls(s);
no_bufctls:
	if (!cp->on_slab)
		kmem_cache_free(slab_cache, s);
no_header:
	slab_memory_free(cp, base);
	return NULL;
}

/* Unmake an empty slab taken off cp's lists (without any of cp's locks). */
static void slab_destroy(struct kmem_cache *cp, struct kmem_slab *s)
{
	void *base = s->base;

	assert_cache_unlocked(cp);
	debug_assert(s->nr_busy == 0 && s->cache == cp);
	slab_destruct(cp, s);
	if (!cp->on_slab) {
		free_bufctls(s);
		kmem_cache_free(slab_cache, s);
	} else {
		s->magic = 0;
		s->cache = NULL;
	}
	slab_memory_free(cp, base);
}

/* ---- the slab layer */

/* Move s to the list its count says (cp's lock held, as for all slabs). */
static void slab_relist_locked(struct kmem_cache *cp, struct kmem_slab *s)
{
	struct list_head *to = s->nr_busy == 0		       ? &cp->empty :
			       s->nr_busy == cp->objs_per_slab ? &cp->full :
								 &cp->partial;

	assert_held(&cp->lock);
	debug_assert(s->cache == cp && s->nr_busy <= cp->objs_per_slab);
	list_move(&s->link, to);
}

/* Take one object from slab s (which has a free one; cp's lock held). */
static void *slab_take_locked(struct kmem_cache *cp, struct kmem_slab *s)
{
	void *obj;

	assert_held(&cp->lock);
	debug_assert(s->nr_busy < cp->objs_per_slab);
	if (cp->on_slab) {
		obj = s->free;
		s->free = *obj_link(cp, obj);
		busy_flip(s, obj_index(cp, s, obj));
	} else {
		struct kmem_bufctl *bc = s->free_bufctls;

		s->free_bufctls = bc->next;
		obj = bc->obj;
		bufctl_hash_insert_locked(cp, bc);
	}
	s->nr_busy++;
	cp->nr_busy++;
	cp->slab_allocs++;
	slab_relist_locked(cp, s);
	return obj;
}

/* An object from the slab layer, making a slab if there is none. */
static void *slab_alloc(struct kmem_cache *cp, int flags)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	struct kmem_slab *s;
	bool grow;
	void *obj;

	while (list_empty(&cp->partial) && list_empty(&cp->empty)) {
		spin_unlock_irqrestore(&cp->lock, irq);
		assert_not_held(&cp->lock);
		s = slab_create(cp, flags);
		irq = spin_lock_irqsave(&cp->lock);
		if (!s) {
			cp->fails++;
			spin_unlock_irqrestore(&cp->lock, irq);
			return NULL;
		}
		list_add(&s->link, &cp->empty);
		cp->nr_slabs++;
		cp->slabs_created++;
	}
	s = list_first_entry(list_empty(&cp->partial) ? &cp->empty :
							&cp->partial,
			     struct kmem_slab, link);
	obj = slab_take_locked(cp, s);
	grow = !cp->on_slab && cp->nr_hashed > 2 * cp->hash_buckets;
	spin_unlock_irqrestore(&cp->lock, irq);
	if (grow)
		bufctl_hash_grow(cp);
	return obj;
}

/*
 * Give obj back to its slab; false (with no change) if it is not busy.
 * cp's lock held.
 */
static bool slab_put_locked(struct kmem_cache *cp, void *obj)
{
	struct kmem_slab *s;

	assert_held(&cp->lock);
	if (cp->on_slab) {
		long i;

		s = on_slab_header(obj);
		i = s->cache == cp ? obj_index(cp, s, obj) : -1;
		if (i < 0 || !busy_test(s, i))
			return false;
		busy_flip(s, i);
		*obj_link(cp, obj) = s->free;
		s->free = obj;
	} else {
		struct kmem_bufctl *bc = bufctl_hash_remove_locked(cp, obj);

		if (!bc)
			return false;
		s = bc->slab;
		bc->next = s->free_bufctls;
		s->free_bufctls = bc;
	}
	debug_assert(s->nr_busy > 0);
	s->nr_busy--;
	cp->nr_busy--;
	cp->slab_frees++;
	slab_relist_locked(cp, s);
	return true;
}

static void slab_free(struct kmem_cache *cp, void *obj)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	bool ok = slab_put_locked(cp, obj);

	spin_unlock_irqrestore(&cp->lock, irq);
	if (!ok)
		slab_bad_free(cp, obj);
}

/* ---- reaching a CPU's magazines */

/* Whether CPU slot ever had a magazine of cp (others need no visit). */
static inline bool cpu_used(struct kmem_cache *cp, int slot)
{
	return __atomic_load_n(&cp->cpus_used, __ATOMIC_ACQUIRE) &
	       (1ull << (slot - 1));
}

static inline void cpu_mark_used(struct kmem_cache *cp,
				 struct kmem_cpu_cache *cc)
{
	uint64_t bit = 1ull << (cc - cp->cpu - 1);

	if (!(__atomic_load_n(&cp->cpus_used, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(&cp->cpus_used, bit, __ATOMIC_RELEASE);
}

/*
 * The owner's fast path: it enters with a plain store of busy, then
 * loads rounds, which another CPU may have set to KMEM_ROUNDS_HELD (no
 * locked instruction: see the theory statement, 6).
 */
static inline void fast_enter(struct kmem_cpu_cache *cc)
{
	__atomic_store_n(&cc->busy, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline long fast_rounds(struct kmem_cpu_cache *cc)
{
	return __atomic_load_n(&cc->rounds, __ATOMIC_ACQUIRE);
}

static inline void fast_set_rounds(struct kmem_cpu_cache *cc, long rounds)
{
	__atomic_store_n(&cc->rounds, rounds, __ATOMIC_RELAXED);
}

static inline void fast_leave(struct kmem_cpu_cache *cc)
{
	__atomic_store_n(&cc->busy, 0, __ATOMIC_RELEASE);
}

/*
 * Take cc from anywhere but its owner's fast path, and return its
 * rounds: its lock, then rounds exchanged for KMEM_ROUNDS_HELD, then a
 * barrier on every CPU, then wait until the owner is out of its fast
 * path. After the barrier the owner either loads HELD (and takes the
 * slow path, which waits for the lock) or has made its busy visible. A
 * push or pop it began before the exchange stores rounds when it ends:
 * if the second exchange finds a count, that is the true one, and the
 * wait starts again.
 */
static unsigned long cpu_cache_enter(struct kmem_cpu_cache *cc, long *rounds)
{
	unsigned long irq = spin_lock_irqsave(&cc->lock);
	long held = __atomic_exchange_n(&cc->rounds, KMEM_ROUNDS_HELD,
					__ATOMIC_ACQ_REL);

	for (;;) {
		long now;

		arch_cpu_barrier();
		while (__atomic_load_n(&cc->busy, __ATOMIC_ACQUIRE))
			arch_cpu_relax();
		now = __atomic_exchange_n(&cc->rounds, KMEM_ROUNDS_HELD,
					  __ATOMIC_ACQ_REL);
		if (now == KMEM_ROUNDS_HELD)
			break;
		held = now;
	}
	*rounds = held;
	return irq;
}

/* Give cc back to its owner with rounds as its count. */
static void cpu_cache_leave(struct kmem_cpu_cache *cc, long rounds,
			    unsigned long irq)
{
	__atomic_store_n(&cc->rounds, rounds, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&cc->lock, irq);
}

/*
 * Take cc on its owner's CPU, outside the fast path: the owner cannot be
 * in its own fast path now, so the lock alone keeps the others out.
 */
static unsigned long cpu_cache_own(struct kmem_cpu_cache *cc)
{
	return spin_lock_irqsave(&cc->lock);
}

static void cpu_cache_unown(struct kmem_cpu_cache *cc, unsigned long irq)
{
	spin_unlock_irqrestore(&cc->lock, irq);
}

/* ---- magazines */

static struct kmem_magazine *magazine_alloc(struct kmem_cache *cp)
{
	struct kmem_magazine *m = kmem_cache_alloc(cp->mag_cache, MEM_ATOMIC);

	if (m)
		m->round[0] = NULL; /* the floor */
	return m;
}

/* Empty a magazine of n rounds into the slab layer, and free it. */
static void magazine_drain(struct kmem_cache *cp, struct kmem_magazine *m,
			   long n)
{
	for (long i = 1; i <= n; i++)
		slab_free(cp, m->round[i]);
	kmem_cache_free(cp->mag_cache, m);
}

/*
 * The loaded magazine is empty: swap in the previous one if it has
 * rounds, else trade the previous (empty) for a full one from the depot.
 * Returns an object, or NULL to go to the slab layer. Called with cc's
 * lock held (not the depot's: it takes that itself, inside).
 */
static void *cpu_alloc_refill_locked(struct kmem_cache *cp,
				     struct kmem_cpu_cache *cc)
{
	struct kmem_magazine *full;

	assert_held(&cc->lock);
	assert_not_held(&cp->depot.lock);
	if (cc->prev_rounds > 0) {
		struct kmem_magazine *m = cc->loaded;
		long r = cc->rounds;

		cc->loaded = cc->previous;
		cc->rounds = cc->prev_rounds;
		cc->previous = m;
		cc->prev_rounds = r;
		return cc->loaded->round[cc->rounds--];
	}
	spin_lock(&cp->depot.lock);
	full = cp->depot.full;
	if (!full) {
		spin_unlock(&cp->depot.lock);
		return NULL;
	}
	cp->depot.full = full->next;
	cp->depot.nr_full--;
	cp->depot.exchanges++;
	if (cc->previous) {
		cc->previous->next = cp->depot.empty;
		cp->depot.empty = cc->previous;
		cp->depot.nr_empty++;
	}
	spin_unlock(&cp->depot.lock);
	cpu_mark_used(cp, cc);
	cc->previous = cc->loaded;
	cc->prev_rounds = cc->rounds < 0 ? -1 : 0;
	cc->loaded = full;
	cc->rounds = (long)cp->mag_size;
	return full->round[cc->rounds--];
}

/*
 * The loaded magazine is full (or there is none): swap in the previous
 * one if it is empty, else put the previous (full) in the depot and load
 * an empty one from the depot. Returns false if there is no empty
 * magazine at hand; the caller then gets one without cc's lock. Called
 * with cc's lock held (not the depot's: it takes that itself, inside).
 */
static bool cpu_free_refill_locked(struct kmem_cache *cp,
				   struct kmem_cpu_cache *cc,
				   struct kmem_magazine *spare)
{
	struct kmem_magazine *empty;

	assert_held(&cc->lock);
	assert_not_held(&cp->depot.lock);
	if (cc->prev_rounds == 0) {
		struct kmem_magazine *m = cc->loaded;
		long r = cc->rounds;

		cc->loaded = cc->previous;
		cc->rounds = 0;
		cc->previous = m;
		cc->prev_rounds = r;
		return true;
	}
	spin_lock(&cp->depot.lock);
	empty = spare;
	if (!empty && cp->depot.empty) {
		empty = cp->depot.empty;
		cp->depot.empty = empty->next;
		cp->depot.nr_empty--;
	}
	if (!empty) {
		spin_unlock(&cp->depot.lock);
		return false;
	}
	if (cc->previous) {
		/* previous is full here (prev_rounds is mag_size) */
		cc->previous->next = cp->depot.full;
		cp->depot.full = cc->previous;
		cp->depot.nr_full++;
		cp->depot.exchanges++;
	}
	spin_unlock(&cp->depot.lock);
	cpu_mark_used(cp, cc);
	cc->previous = cc->loaded;
	cc->prev_rounds = cc->rounds; /* full, or -1 if there was none */
	cc->loaded = empty;
	cc->rounds = 0;
	return true;
}

/* ---- debug modes (theory statement 7) */

static bool obj_busy_locked(struct kmem_cache *cp, void *obj);

static void slab_debug_check_now(struct kmem_cache *cp, const char *fn,
				 void *obj);

/* Under check: cp must be sound after fn's work on obj. */
static inline void slab_debug_check(struct kmem_cache *cp, const char *fn,
				    void *obj)
{
	if (cp->debug & KMEM_DEBUG_CHECK)
		slab_debug_check_now(cp, fn, obj);
}

/* Under redzone: obj's redzone must hold its pattern. */
static void redzone_verify(struct kmem_cache *cp, const char *fn, void *obj)
{
	char audit[KMEM_AUDIT_TEXT_MAX];
	long o;

	if (!(cp->debug & KMEM_DEBUG_REDZONE))
		return;
	o = kmem_pattern_find(obj, cp->obj_size, cp->redzone_end,
			      KMEM_REDZONE_PATTERN);
	if (o >= 0)
		panic("%s: redzone violation: cache '%s' obj %p offset %ld (object size %zu): byte 0x%02x, expected 0x%02x%s",
		      fn, cp->name, obj, o, cp->obj_size, ((uint8_t *)obj)[o],
		      kmem_pattern_byte(KMEM_REDZONE_PATTERN, (size_t)o),
		      kmem_cache_audit_text(cp, obj, audit, sizeof(audit)));
}

/* Give back an object that a failed constructor left unconstructed. */
static void debug_unalloc(struct kmem_cache *cp, void *obj)
{
	unsigned long irq;

	kmem_pattern_fill(obj, 0, cp->obj_size, KMEM_POISON_FREE);
	slab_free(cp, obj);
	irq = spin_lock_irqsave(&cp->lock);
	cp->fails++;
	spin_unlock_irqrestore(&cp->lock, irq);
}

/*
 * An allocation from a cache with debug modes, always from the slab
 * layer: check what poison and redzone promise, note the caller, and
 * under poison construct the object now.
 */
static __attribute__((noinline)) void *debug_alloc(struct kmem_cache *cp,
						   int flags, uintptr_t caller)
{
	void *obj = slab_alloc(cp, flags);
	char audit[KMEM_AUDIT_TEXT_MAX];
	long o;

	if (!obj) {
		slab_debug_check(cp, "kmem_cache_alloc", NULL);
		return NULL;
	}
	if (cp->debug & KMEM_DEBUG_POISON) {
		o = kmem_pattern_find(obj, 0, cp->obj_size, KMEM_POISON_FREE);
		if (o >= 0)
			panic("kmem_cache_alloc: modified after free: cache '%s' obj %p offset %ld (object size %zu): byte 0x%02x, expected 0x%02x%s",
			      cp->name, obj, o, cp->obj_size,
			      ((uint8_t *)obj)[o],
			      kmem_pattern_byte(KMEM_POISON_FREE, (size_t)o),
			      kmem_cache_audit_text(cp, obj, audit,
						    sizeof(audit)));
	}
	redzone_verify(cp, "kmem_cache_alloc", obj);
	if (cp->debug & KMEM_DEBUG_AUDIT)
		audit_note(cp, obj, true, caller);
	if (cp->debug & KMEM_DEBUG_POISON) {
		kmem_pattern_fill(obj, 0, cp->obj_size, KMEM_POISON_NEW);
		if (cp->ctor && cp->ctor(obj, cp->priv, flags)) {
			if (flags & MEM_WAIT)
				panic("kmem_cache_alloc: constructor failed under MEM_WAIT: cache '%s' obj %p",
				      cp->name, obj);
			debug_unalloc(cp, obj);
			obj = NULL;
		}
	}
	slab_debug_check(cp, "kmem_cache_alloc", obj);
	return obj;
}

/*
 * A free to a cache with debug modes, always to the slab layer, which
 * sees any double free at the call: check the redzone, note the caller,
 * and under poison destroy the object and fill it with the pattern.
 */
static __attribute__((noinline)) void debug_free(struct kmem_cache *cp,
						 void *obj, uintptr_t caller)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	bool busy = obj_busy_locked(cp, obj);

	spin_unlock_irqrestore(&cp->lock, irq);
	if (!busy)
		slab_bad_free(cp, obj);
	redzone_verify(cp, "kmem_cache_free", obj);
	if (cp->debug & KMEM_DEBUG_AUDIT)
		audit_note(cp, obj, false, caller);
	if (cp->debug & KMEM_DEBUG_POISON) {
		if (cp->dtor)
			cp->dtor(obj, cp->priv);
		kmem_pattern_fill(obj, 0, cp->obj_size, KMEM_POISON_FREE);
	}
	slab_free(cp, obj);
	slab_debug_check(cp, "kmem_cache_free", obj);
}

/* ---- the interface */

/*
 * Everything but a hit in the loaded magazine: the previous magazine, the
 * depot, the slabs; also CPUs without a number, caches without magazines,
 * and a loaded magazine another CPU holds (this waits for its lock).
 */
static __attribute__((noinline)) void *
kmem_cache_alloc_slow(struct kmem_cache *cp, int flags, uintptr_t caller)
{
	int cpu = arch_cpu_id();
	void *obj;

	if (unlikely(flags != MEM_WAIT && flags != MEM_ATOMIC))
		panic("kmem_cache_alloc: bad flags 0x%x (name exactly one of MEM_WAIT and MEM_ATOMIC): cache '%s'",
		      flags, cp->name);
	if (cpu >= 0 && cp->mag_size) {
		struct kmem_cpu_cache *cc = &cp->cpu[cpu + 1];
		unsigned long irq = cpu_cache_own(cc);

		if (cc->rounds > 0)
			obj = cc->loaded->round[cc->rounds--];
		else
			obj = cpu_alloc_refill_locked(cp, cc);
		cc->allocs += obj != NULL;
		cpu_cache_unown(cc, irq);
		if (obj)
			return obj;
	}
	if (unlikely(cp->debug))
		return debug_alloc(cp, flags, caller);
	return slab_alloc(cp, flags);
}

/*
 * The fast path: a pop from this CPU's loaded magazine, with no lock and
 * no locked instruction (theory statement, 6). Anything else goes to
 * kmem_cache_alloc_slow.
 */
void *kmem_cache_alloc(struct kmem_cache *cp, int flags)
{
	struct kmem_cpu_cache *cc = &cp->cpu[arch_cpu_slot()];
	unsigned long irq;
	unsigned long r;
	void *obj;

	/* flags exactly MEM_WAIT (1) or MEM_ATOMIC (2), else the slow path
	 * reports the misuse */
	if (unlikely((unsigned int)flags - 1 > 1))
		return kmem_cache_alloc_slow(
			cp, flags, (uintptr_t)__builtin_return_address(0));
	irq = arch_irq_save();
	fast_enter(cc);
	/* empty (0), no magazine (-1), held by another CPU (-2): huge */
	r = (unsigned long)fast_rounds(cc) - 1;
	if (unlikely(r >= NR_MAGAZINE_ROUNDS_MAX)) {
		fast_leave(cc);
		arch_irq_restore(irq);
		return kmem_cache_alloc_slow(
			cp, flags, (uintptr_t)__builtin_return_address(0));
	}
	obj = cc->loaded->round[r + 1];
	fast_set_rounds(cc, (long)r);
	cc->allocs++;
	fast_leave(cc);
	arch_irq_restore(irq);
	return obj;
}

/* The free path beyond the loaded magazine: swaps, the depot, or slabs. */
static __attribute__((noinline)) void
cpu_free_slow(struct kmem_cache *cp, struct kmem_cpu_cache *cc, void *obj)
{
	struct kmem_magazine *spare = NULL;
	unsigned long irq;

	for (;;) {
		irq = cpu_cache_own(cc);
		if (cc->rounds >= 0 && cc->rounds < (long)cp->mag_size)
			break;
		if (cpu_free_refill_locked(cp, cc, spare)) {
			spare = NULL;
			break;
		}
		cpu_cache_unown(cc, irq);
		/* no empty magazine: make one without holding cc */
		assert_not_held(&cc->lock);
		spare = magazine_alloc(cp);
		if (!spare) {
			slab_free(cp, obj);
			return;
		}
	}
	if (cc->loaded->round[cc->rounds] == obj) {
		cpu_cache_unown(cc, irq);
		freed_twice(cp, obj);
	}
	cc->loaded->round[++cc->rounds] = obj;
	cpu_cache_unown(cc, irq);
	if (spare)
		kmem_cache_free(cp->mag_cache, spare);
}

/*
 * Free beyond the fast path: no CPU number, no magazines, debug modes, a
 * magazine another CPU holds; and misuse the fast path saw (reported
 * here, so that the fast path makes no call and needs no stack frame).
 */
static __attribute__((noinline)) void
kmem_cache_free_slow(struct kmem_cache *cp, void *obj, uintptr_t caller)
{
	int cpu = arch_cpu_id();

	if (cp->on_slab && on_slab_header(obj)->cache != cp)
		wrong_owner(cp, obj);
	if (unlikely(cp->debug))
		debug_free(cp, obj, caller);
	else if (cpu >= 0 && cp->mag_size)
		cpu_free_slow(cp, &cp->cpu[cpu + 1], obj);
	else
		slab_free(cp, obj);
}

/*
 * The fast path: the always-on checks (an on-slab object's header names
 * this cache; it is not the object this CPU freed last, at the top of
 * the magazine, whose floor makes the look safe when it is empty), then
 * a push on this CPU's loaded magazine. Anything else goes to the slow
 * paths.
 */
void kmem_cache_free(struct kmem_cache *cp, void *obj)
{
	struct kmem_cpu_cache *cc = &cp->cpu[arch_cpu_slot()];
	struct kmem_magazine *m;
	unsigned long irq;
	unsigned long r;

	if (cp->on_slab && unlikely(on_slab_header(obj)->cache != cp))
		goto slow; /* object of another cache: reported there */
	irq = arch_irq_save();
	fast_enter(cc);
	r = (unsigned long)fast_rounds(cc); /* -1 or -2 (see alloc): huge */
	if (unlikely(r >= cp->mag_size))
		goto leave; /* full, none, or held by another CPU */
	/* only now is loaded ours to read (theory statement, 6) */
	m = cc->loaded;
	if (unlikely(m->round[r] == obj))
		goto leave; /* on top already: reported slowly */
	m->round[r + 1] = obj;
	fast_set_rounds(cc, (long)r + 1);
	fast_leave(cc);
	arch_irq_restore(irq);
	return;
leave:
	fast_leave(cc);
	arch_irq_restore(irq);
slow:
	kmem_cache_free_slow(cp, obj, (uintptr_t)__builtin_return_address(0));
}

/*
 * Take the magazines of CPU slot out of cp, and drain them into the slab
 * layer. owner: called on that CPU itself (a host thread leaving).
 */
static void cpu_flush(struct kmem_cache *cp, int slot, bool owner)
{
	struct kmem_cpu_cache *cc = &cp->cpu[slot];
	struct kmem_magazine *loaded, *previous;
	long rounds, prev_rounds;
	unsigned long irq;

	if (owner) {
		irq = cpu_cache_own(cc);
		rounds = cc->rounds;
	} else {
		irq = cpu_cache_enter(cc, &rounds);
	}
	loaded = cc->loaded;
	previous = cc->previous;
	prev_rounds = cc->prev_rounds;
	cc->loaded = cc->previous = NULL;
	cc->prev_rounds = -1;
	if (owner) {
		cc->rounds = -1;
		cpu_cache_unown(cc, irq);
	} else {
		cpu_cache_leave(cc, -1, irq);
	}
	if (loaded)
		magazine_drain(cp, loaded, rounds);
	if (previous)
		magazine_drain(cp, previous, prev_rounds);
}

/* Drain the depot into the slab layer. */
static void depot_flush(struct kmem_cache *cp)
{
	unsigned long irq = spin_lock_irqsave(&cp->depot.lock);
	struct kmem_magazine *full = cp->depot.full, *empty = cp->depot.empty;
	struct kmem_magazine *next;

	cp->depot.full = cp->depot.empty = NULL;
	cp->depot.nr_full = cp->depot.nr_empty = 0;
	spin_unlock_irqrestore(&cp->depot.lock, irq);
	for (; full; full = next) {
		next = full->next;
		magazine_drain(cp, full, (long)cp->mag_size);
	}
	for (; empty; empty = next) {
		next = empty->next;
		kmem_cache_free(cp->mag_cache, empty);
	}
}

void kmem_cache_reap(struct kmem_cache *cp)
{
	struct list_head doomed, *pos, *n;
	unsigned long irq;

	for (int slot = 1; cp->mag_size && slot <= NR_CPUS; slot++)
		if (cpu_used(cp, slot))
			cpu_flush(cp, slot, false);
	if (cp->mag_size)
		depot_flush(cp);
	list_init(&doomed);
	irq = spin_lock_irqsave(&cp->lock);
	list_for_each_safe (pos, n, &cp->empty) {
		list_move(pos, &doomed);
		cp->nr_slabs--;
		cp->slabs_destroyed++;
	}
	spin_unlock_irqrestore(&cp->lock, irq);
	assert_not_held(&cp->lock);
	list_for_each_safe (pos, n, &doomed) {
		list_del(pos);
		slab_destroy(cp, list_entry(pos, struct kmem_slab, link));
	}
}

/* A thread (host CPU) leaves: its magazines go back, objects to slabs. */
static void kmem_cpu_exit(int cpu)
{
	struct list_head *pos;
	unsigned long irq = spin_lock_irqsave(&caches_lock);

	list_for_each (pos, &all_caches) {
		struct kmem_cache *cp =
			list_entry(pos, struct kmem_cache, all_link);

		if (cp->mag_size)
			cpu_flush(cp, cpu + 1, true);
	}
	spin_unlock_irqrestore(&caches_lock, irq);
}

/* ---- creating and destroying */

/* The magazine cache for objects of chunk bytes (bigger: fewer rounds). */
static struct kmem_cache *magazine_cache_for(size_t chunk)
{
	int i = chunk <= 256 ? 3 : chunk <= 1024 ? 2 : chunk <= 4096 ? 1 : 0;

	return magazine_caches[i];
}

/* Choose slab size, objects per slab, colour range, on- or off-slab. */
static void cache_geometry(struct kmem_cache *cp)
{
	size_t q = cp->source->quantum, room;

	cp->on_slab = !(cp->flags & KMC_NOTOUCH) && q == PGSIZE &&
		      cp->chunk <= ON_SLAB_MAX_CHUNK &&
		      cp->chunk >= sizeof(void *);
	if (cp->on_slab) {
		cp->slab_size = PGSIZE;
		room = PGSIZE - sizeof(struct kmem_slab);
	} else {
		size_t want = cp->chunk * MIN_OBJS_PER_SLAB;

		cp->slab_size = (want + q - 1) / q * q;
		room = cp->slab_size;
	}
	cp->objs_per_slab = room / cp->chunk;
	if (cp->on_slab && cp->objs_per_slab > SLAB_MAP_WORDS * 64)
		cp->objs_per_slab = SLAB_MAP_WORDS * 64;
	/* colour spreads cache lines: pointless for NOTOUCH, and it would
	 * break their quantum alignment */
	cp->colour_max = room - cp->objs_per_slab * cp->chunk;
	cp->colour_max -= cp->colour_max % cp->align;
	if (cp->flags & KMC_NOTOUCH)
		cp->colour_max = 0;
}

/* Check kmem_cache_create's arguments. */
static size_t cache_align(const char *name, size_t obj_size, size_t align,
			  int flags)
{
	if (!obj_size)
		panic("kmem_cache_create: object size 0: cache '%s'", name);
	if (flags & ~KMC_VALID_FLAGS)
		panic("kmem_cache_create: bad flags 0x%x: cache '%s'", flags,
		      name);
	if (align && !is_pow2(align))
		panic("kmem_cache_create: align %zu is not a power of two: cache '%s'",
		      align, name);
	if (align)
		return align;
	if (flags & KMC_NOTOUCH)
		return 1;
	return obj_size >= 16 ? 16 : obj_size >= 8 ? 8 : sizeof(void *);
}

/*
 * The debug modes a cache applies: none for the slab layer's own
 * caches; for NOTOUCH ones, only those that never write into objects.
 */
static int cache_debug_modes(int flags)
{
	if (flags & KMC_NOMAGAZINE)
		return 0;
	if (flags & KMC_NOTOUCH)
		return kmem_debug & (KMEM_DEBUG_AUDIT | KMEM_DEBUG_CHECK);
	return kmem_debug;
}

/*
 * The layout of an object that carries debug state after it:
 *
 *   [ object: obj_size ][ redzone ][ link ][ struct kmem_audit ]
 *   0                   obj_size   ^redzone_end        ^audit_offset
 *
 * The redzone (under redzone) runs to the next multiple of 8 plus 8
 * more; the free-list link lies past it, so poison covers the whole
 * object. Objects are 8-aligned at least, for the patterns.
 */
static void debug_layout(struct kmem_cache *cp)
{
	size_t end = ALIGN_UP(cp->obj_size, sizeof(uint64_t));

	cp->align = MAX(cp->align, sizeof(uint64_t));
	if (cp->debug & KMEM_DEBUG_REDZONE)
		end += sizeof(uint64_t);
	cp->redzone_end = end;
	cp->link_offset = end;
	end += sizeof(void *);
	if (cp->debug & KMEM_DEBUG_AUDIT) {
		cp->audit_offset = end;
		end += sizeof(struct kmem_audit);
	}
	cp->chunk = ALIGN_UP(end, cp->align);
}

static void cache_setup(struct kmem_cache *cp, const char *name,
			size_t obj_size, size_t align, int flags,
			struct arena *source, arena_afunc_t slab_alloc,
			arena_ffunc_t slab_free, bool has_ctor)
{
	kstrlcpy(cp->name, name, sizeof(cp->name));
	cp->obj_size = obj_size;
	cp->align = align;
	cp->flags = flags;
	cp->source = source;
	cp->slab_alloc = slab_alloc;
	cp->slab_free = slab_free;
	cp->debug = cache_debug_modes(flags);
	/*
	 * A free on-slab object holds a link: in its first word, or after
	 * it when a constructed object must keep its first word. NOTOUCH
	 * objects hold nothing.
	 */
	cp->link_offset = has_ctor ? ALIGN_UP(obj_size, sizeof(void *)) : 0;
	cp->chunk = ALIGN_UP(obj_size, align);
	if (!(flags & KMC_NOTOUCH))
		cp->chunk = ALIGN_UP(
			MAX(obj_size, cp->link_offset + sizeof(void *)), align);
	if ((cp->debug & ~KMEM_DEBUG_CHECK) && !(flags & KMC_NOTOUCH))
		debug_layout(cp);
	if ((flags & KMC_NOTOUCH) && cp->chunk % source->quantum)
		cp->chunk = (cp->chunk + source->quantum - 1) /
			    source->quantum * source->quantum;
	cp->lock = (struct spinlock)SPINLOCK_INIT;
	cp->depot.lock = (struct spinlock)SPINLOCK_INIT;
	list_init(&cp->full);
	list_init(&cp->partial);
	list_init(&cp->empty);
	hash_set(cp, cp->hash_initial, KMEM_HASH_INITIAL);
	for (int i = 0; i <= NR_CPUS; i++) {
		cp->cpu[i].lock = (struct spinlock)SPINLOCK_INIT;
		cp->cpu[i].rounds = cp->cpu[i].prev_rounds = -1;
	}
	cache_geometry(cp);
	/* debug modes work at every call: they go to the slab layer */
	if (!(flags & KMC_NOMAGAZINE) && !cp->debug) {
		cp->mag_cache = magazine_cache_for(cp->chunk);
		/* the rounds, after the link and the floor */
		cp->mag_size = (cp->mag_cache->obj_size -
				sizeof(struct kmem_magazine)) /
				       sizeof(void *) -
			       1;
	}
}

/* An arena's reclaim reaps the caches that import from it. */
static void cache_reclaim(void *cp)
{
	kmem_cache_reap(cp);
}

struct kmem_cache *
kmem_cache_create_sourced(const char *name, size_t obj_size, size_t align,
			  int flags, struct arena *source, arena_afunc_t afunc,
			  arena_ffunc_t ffunc, int (*ctor)(void *, void *, int),
			  void (*dtor)(void *, void *), void *priv)
{
	struct kmem_cache *cp;
	unsigned long irq;

	align = cache_align(name, obj_size, align, flags);
	if (!source)
		source = kpages_arena;
	if (!source)
		panic("kmem_cache_create: no source arena yet (before pmem_init): cache '%s'",
		      name);
	if (!(flags & KMC_NOMAGAZINE) && !magazine_caches[0])
		panic("kmem_cache_create: the slab layer is not set up (kmem_init): cache '%s'",
		      name);
	cp = base_zalloc(source, sizeof(*cp),
			 flags & KMC_CREATE_ATOMIC ? MEM_ATOMIC : MEM_WAIT);
	if (!cp)
		return NULL;
	flags &= ~KMC_CREATE_ATOMIC;
	cache_setup(cp, name, obj_size, align, flags, source, afunc, ffunc,
		    ctor != NULL);
	cp->ctor = ctor;
	cp->dtor = dtor;
	cp->priv = priv;
	irq = spin_lock_irqsave(&caches_lock);
	list_add_tail(&cp->all_link, &all_caches);
	spin_unlock_irqrestore(&caches_lock, irq);
	arena_add_reclaim(source, &cp->reclaimer, cache_reclaim, cp);
	return cp;
}

struct kmem_cache *kmem_cache_create(const char *name, size_t obj_size,
				     size_t align, int flags,
				     struct arena *source,
				     int (*ctor)(void *, void *, int),
				     void (*dtor)(void *, void *), void *priv)
{
	return kmem_cache_create_sourced(name, obj_size, align, flags, source,
					 slab_memory_xalloc, arena_xfree, ctor,
					 dtor, priv);
}

void kmem_cache_destroy(struct kmem_cache *cp)
{
	unsigned long irq;

	kmem_cache_reap(cp);
	if (cp->nr_busy)
		panic("kmem_cache_destroy: %zu objects still live: cache '%s' object size %zu",
		      cp->nr_busy, cp->name, cp->obj_size);
	arena_remove_reclaim(cp->source, &cp->reclaimer);
	irq = spin_lock_irqsave(&caches_lock);
	list_del(&cp->all_link);
	spin_unlock_irqrestore(&caches_lock, irq);
	if (cp->hash != cp->hash_initial)
		base_free(cp->source, cp->hash,
			  cp->hash_buckets * sizeof(*cp->hash));
	base_free(cp->source, cp, sizeof(*cp));
}

/* Create one of the slab layer's own caches, over base, no magazines. */
static struct kmem_cache *internal_cache(const char *name, size_t size)
{
	struct kmem_cache *cp = base_zalloc(NULL, sizeof(*cp), MEM_WAIT);

	cache_setup(cp, name, size, sizeof(void *), KMC_NOMAGAZINE, base_arena,
		    slab_memory_xalloc, arena_xfree, false);
	list_add_tail(&cp->all_link, &all_caches);
	arena_add_reclaim(base_arena, &cp->reclaimer, cache_reclaim, cp);
	return cp;
}

void kmem_init(void)
{
	char name[KMEM_NAME_MAX];

	if (slab_cache)
		panic("kmem_init: called twice");
	for (int i = 0; i < 4; i++) {
		ksnprintf(name, sizeof(name), "kmem_magazine_%zu",
			  magazine_sizes[i]);
		magazine_caches[i] = internal_cache(
			name, sizeof(struct kmem_magazine) +
				      (1 + magazine_sizes[i]) * sizeof(void *));
	}
	slab_cache = internal_cache("kmem_slab", sizeof(struct kmem_slab));
	bufctl_audit = kmem_debug & KMEM_DEBUG_AUDIT;
	bufctl_cache = internal_cache(
		"kmem_bufctl",
		sizeof(struct kmem_bufctl) +
			(bufctl_audit ? sizeof(struct kmem_audit) : 0));
	arch_set_cpu_exit_hook(kmem_cpu_exit);
}

/* ---- queries and tables */

void kmem_cache_for_each(void (*fn)(struct kmem_cache *, void *), void *arg)
{
	unsigned long irq = spin_lock_irqsave(&caches_lock);
	struct list_head *pos;

	list_for_each (pos, &all_caches)
		fn(list_entry(pos, struct kmem_cache, all_link), arg);
	spin_unlock_irqrestore(&caches_lock, irq);
}

struct cache_counts {
	size_t in_magazines, full_mags, empty_mags;
	uint64_t allocs;
};

/* Objects held in cp's magazines, and the per-CPU counters. */
static void count_magazines(struct kmem_cache *cp, struct cache_counts *c)
{
	unsigned long irq;

	*c = (struct cache_counts){ 0 };
	for (int slot = 1; slot <= NR_CPUS; slot++) {
		struct kmem_cpu_cache *cc = &cp->cpu[slot];
		long rounds;

		if (!cpu_used(cp, slot))
			continue;
		irq = cpu_cache_enter(cc, &rounds);
		c->in_magazines += (size_t)MAX(rounds, 0) +
				   (size_t)MAX(cc->prev_rounds, 0);
		c->allocs += cc->allocs;
		cpu_cache_leave(cc, rounds, irq);
	}
	irq = spin_lock_irqsave(&cp->depot.lock);
	c->full_mags = cp->depot.nr_full;
	c->empty_mags = cp->depot.nr_empty;
	c->in_magazines += cp->depot.nr_full * cp->mag_size;
	spin_unlock_irqrestore(&cp->depot.lock, irq);
}

size_t kmem_cache_nr_live(struct kmem_cache *cp)
{
	struct cache_counts c;
	unsigned long irq;
	size_t busy;

	count_magazines(cp, &c);
	irq = spin_lock_irqsave(&cp->lock);
	busy = cp->nr_busy;
	spin_unlock_irqrestore(&cp->lock, irq);
	return busy - c.in_magazines;
}

static void print_cache(struct kmem_cache *cp, void *arg)
{
	struct cache_counts c;
	size_t busy, slabs, total;
	uint64_t allocs, fails;
	unsigned long irq;

	(void)arg;
	count_magazines(cp, &c);
	irq = spin_lock_irqsave(&cp->lock);
	busy = cp->nr_busy;
	slabs = cp->nr_slabs;
	allocs = cp->slab_allocs;
	fails = cp->fails;
	spin_unlock_irqrestore(&cp->lock, irq);
	total = slabs * cp->objs_per_slab;
	printk("%-20s %8zu %8zu %7zu %5zu %5zu %4zu %5zu %5zu %10llu %5llu\n",
	       cp->name, busy - c.in_magazines, total, cp->obj_size,
	       cp->objs_per_slab, cp->slab_size / PGSIZE, cp->mag_size,
	       c.full_mags, c.empty_mags,
	       (unsigned long long)(allocs + c.allocs),
	       (unsigned long long)fails);
}

void kmem_cache_print_all(void)
{
	printk("%-20s %8s %8s %7s %5s %5s %4s %5s %5s %10s %5s\n", "cache",
	       "active", "total", "size", "/slab", "pages", "mag", "full",
	       "empty", "allocs", "fails");
	kmem_cache_for_each(print_cache, NULL);
}

/* ---- whatis (the monitor) */

struct obj_whatis {
	uintptr_t addr;
	int found;
};

static bool magazine_holds(struct kmem_magazine *m, long rounds, void *obj)
{
	for (long i = 1; m && i <= rounds; i++) {
		if (m->round[i] == obj)
			return true;
	}
	return false;
}

/* Whether obj waits in one of cp's magazines (a CPU's or the depot's). */
static bool obj_in_magazines(struct kmem_cache *cp, void *obj)
{
	bool found = false;
	unsigned long irq;

	for (int slot = 1; !found && cp->mag_size && slot <= NR_CPUS; slot++) {
		struct kmem_cpu_cache *cc = &cp->cpu[slot];
		long rounds;

		if (!cpu_used(cp, slot))
			continue;
		irq = cpu_cache_enter(cc, &rounds);
		found = magazine_holds(cc->loaded, rounds, obj) ||
			magazine_holds(cc->previous, cc->prev_rounds, obj);
		cpu_cache_leave(cc, rounds, irq);
	}
	if (found || !cp->mag_size)
		return found;
	irq = spin_lock_irqsave(&cp->depot.lock);
	for (struct kmem_magazine *m = cp->depot.full; m && !found; m = m->next)
		found = magazine_holds(m, (long)cp->mag_size, obj);
	spin_unlock_irqrestore(&cp->depot.lock, irq);
	return found;
}

/*
 * Find w->addr in one of cp's slabs: its object, and whether the slab
 * layer has it out. Reads only slab headers and bitmaps, never the object.
 */
static void whatis_cache(struct kmem_cache *cp, void *arg)
{
	struct obj_whatis *w = arg;
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	struct kmem_slab *s = slab_containing_locked(cp, (void *)w->addr);
	uintptr_t base = s ? (uintptr_t)s->base : 0;
	uintptr_t first = s ? (uintptr_t)s->first : 0, obj = 0;
	long i = -1;
	bool busy = false;

	if (s && w->addr >= first)
		i = (long)((w->addr - first) / cp->chunk);
	if (i >= (long)cp->objs_per_slab)
		i = -1;
	if (i >= 0) {
		obj = first + (uintptr_t)i * cp->chunk;
		busy = cp->on_slab ?
			       busy_test(s, i) :
			       bufctl_hash_lookup_locked(cp, (void *)obj) !=
				       NULL;
	}
	spin_unlock_irqrestore(&cp->lock, irq);
	if (!s)
		return;
	w->found++;
	printk("cache '%s': slab [0x%lx, 0x%lx)", cp->name, base,
	       base + cp->slab_size);
	if (i < 0) {
		printk(", outside its objects (colour or slack)\n");
		return;
	}
	printk(", object %ld at 0x%lx +0x%lx, %s\n", i, obj, w->addr - obj,
	       !busy				 ? "free in its slab" :
	       obj_in_magazines(cp, (void *)obj) ? "free in a magazine" :
						   "allocated");
	if (cp->debug & KMEM_DEBUG_AUDIT) {
		char audit[KMEM_AUDIT_TEXT_MAX];

		printk("  audit:%s\n",
		       kmem_cache_audit_text(cp, (void *)obj, audit,
					     sizeof(audit)));
	}
}

int kmem_cache_whatis(uintptr_t addr)
{
	struct obj_whatis w = { addr, 0 };

	kmem_cache_for_each(whatis_cache, &w);
	return w.found;
}

/* ---- checking */

struct slab_check {
	struct kmem_cache *cp;
	const void *where;
	const char *what;
};

static bool slab_violation(struct slab_check *c, const void *where,
			   const char *what)
{
	c->where = where;
	c->what = what;
	return false;
}

/* Count the free objects of s, checking each is a free object of s. */
static bool check_slab_free(struct slab_check *c, struct kmem_slab *s,
			    size_t *nr_free)
{
	struct kmem_cache *cp = c->cp;

	*nr_free = 0;
	if (cp->on_slab) {
		for (void *o = s->free; o; o = *obj_link(cp, o)) {
			long i = obj_index(cp, s, o);

			if (++*nr_free > cp->objs_per_slab || i < 0)
				return slab_violation(
					c, o,
					"a slab's free list leaves the slab or loops");
			if (busy_test(s, i))
				return slab_violation(
					c, o,
					"an object on a slab's free list is marked busy");
		}
		return true;
	}
	for (struct kmem_bufctl *bc = s->free_bufctls; bc; bc = bc->next) {
		if (++*nr_free > cp->objs_per_slab || bc->slab != s ||
		    obj_index(cp, s, bc->obj) < 0)
			return slab_violation(
				c, bc->obj,
				"a slab's free bufctls are wrong (other slab, not an object, or a loop)");
		if (bufctl_hash_lookup_locked(cp, bc->obj))
			return slab_violation(
				c, bc->obj,
				"a free object is also in the busy hash");
	}
	return true;
}

/* The list a slab belongs on, by how many of its objects are out. */
enum slab_list { SLAB_LIST_EMPTY, SLAB_LIST_PARTIAL, SLAB_LIST_FULL };

static enum slab_list slab_list_for(const struct kmem_cache *cp,
				    const struct kmem_slab *s)
{
	if (s->nr_busy == 0)
		return SLAB_LIST_EMPTY;
	return s->nr_busy == cp->objs_per_slab ? SLAB_LIST_FULL :
						 SLAB_LIST_PARTIAL;
}

/* One list of slabs, cp's list which: each slab in it belongs there. */
static bool check_slab_list(struct slab_check *c, struct list_head *list,
			    enum slab_list which, size_t *slabs, size_t *busy)
{
	struct kmem_cache *cp = c->cp;
	struct list_head *pos;

	list_for_each (pos, list) {
		struct kmem_slab *s = list_entry(pos, struct kmem_slab, link);
		size_t nr_free;

		if (++*slabs > cp->nr_slabs)
			return slab_violation(
				c, s,
				"more slabs on the lists than nr_slabs (a loop?)");
		if (s->magic != SLAB_MAGIC || s->cache != cp)
			return slab_violation(
				c, s,
				"a slab header with a bad magic or another cache");
		if (slab_list_for(cp, s) != which)
			return slab_violation(
				c, s, "a slab on the wrong list for its count");
		if (!check_slab_free(c, s, &nr_free))
			return false;
		if (nr_free + s->nr_busy != cp->objs_per_slab)
			return slab_violation(
				c, s,
				"a slab's free and busy counts do not add up");
		*busy += s->nr_busy;
	}
	return true;
}

/* Whether obj is out of cp's slab layer (busy there; cp's lock held). */
static bool obj_busy_locked(struct kmem_cache *cp, void *obj)
{
	assert_held(&cp->lock);
	if (cp->on_slab) {
		struct kmem_slab *s = on_slab_header(obj);
		long i = s->cache == cp ? obj_index(cp, s, obj) : -1;

		return i >= 0 && busy_test(s, i);
	}
	return bufctl_hash_lookup_locked(cp, obj) != NULL;
}

/*
 * Magazine m holds n rounds above its floor, each busy in the slab
 * layer, none twice.
 */
static bool check_magazine(struct slab_check *c, struct kmem_magazine *m,
			   long n)
{
	if (n < 0 || (size_t)n > c->cp->mag_size)
		return slab_violation(
			c, m, "a magazine's round count is out of range");
	if (m->round[0])
		return slab_violation(c, m, "a magazine's floor is not NULL");
	for (long i = 1; i <= n; i++) {
		if (!obj_busy_locked(c->cp, m->round[i]))
			return slab_violation(
				c, m->round[i],
				"an object in a magazine is free in its slab (a double free?)");
		for (int j = 1; j < i; j++)
			if (m->round[j] == m->round[i])
				return slab_violation(
					c, m->round[i],
					"an object twice in one magazine (a double free)");
	}
	return true;
}

/*
 * One CPU's magazines, rounds in the loaded one (its lock held, and the
 * cache's: the slab layer says which objects are busy).
 */
static bool check_cpu_locked(struct slab_check *c, struct kmem_cpu_cache *cc,
			     long rounds)
{
	assert_held(&cc->lock);
	assert_held(&c->cp->lock);
	if ((cc->loaded == NULL) != (rounds == -1) ||
	    (cc->previous == NULL) != (cc->prev_rounds == -1))
		return slab_violation(
			c, cc,
			"a CPU's round counts disagree with its magazines");
	return (!cc->loaded || check_magazine(c, cc->loaded, rounds)) &&
	       (!cc->previous ||
		check_magazine(c, cc->previous, cc->prev_rounds));
}

/* The depot's lists (its lock and the cache's held). */
static bool check_depot_locked(struct slab_check *c)
{
	struct kmem_cache *cp = c->cp;
	size_t n = 0;

	assert_held(&cp->depot.lock);
	assert_held(&cp->lock);
	for (struct kmem_magazine *m = cp->depot.full; m; m = m->next) {
		if (++n > cp->depot.nr_full)
			return slab_violation(
				c, m,
				"the depot's full list disagrees with its count");
		if (!check_magazine(c, m, (long)cp->mag_size))
			return false;
	}
	if (n != cp->depot.nr_full)
		return slab_violation(
			c, NULL,
			"the depot's full list disagrees with its count");
	n = 0;
	for (struct kmem_magazine *m = cp->depot.empty; m; m = m->next) {
		if (++n > cp->depot.nr_empty)
			return slab_violation(
				c, m,
				"the depot's empty list disagrees with its count");
	}
	return n == cp->depot.nr_empty ||
	       slab_violation(
		       c, NULL,
		       "the depot's empty list disagrees with its count");
}

/* The slab layer of the cache (its lock held). */
static bool check_cache_locked(struct slab_check *c)
{
	struct kmem_cache *cp = c->cp;
	size_t slabs = 0, busy = 0;

	assert_held(&cp->lock);
	if (!check_slab_list(c, &cp->empty, SLAB_LIST_EMPTY, &slabs, &busy) ||
	    !check_slab_list(c, &cp->partial, SLAB_LIST_PARTIAL, &slabs,
			     &busy) ||
	    !check_slab_list(c, &cp->full, SLAB_LIST_FULL, &slabs, &busy))
		return false;
	if (slabs != cp->nr_slabs)
		return slab_violation(c, NULL,
				      "nr_slabs disagrees with the lists");
	if (busy != cp->nr_busy)
		return slab_violation(c, NULL,
				      "nr_busy disagrees with the slabs");
	if (!cp->on_slab && cp->nr_hashed != cp->nr_busy)
		return slab_violation(
			c, NULL,
			"the busy hash does not hold exactly the busy objects");
	return true;
}

/* Check cp: true if sound, else c says the first violation. */
static bool cache_check(struct kmem_cache *cp, struct slab_check *c)
{
	unsigned long irq = spin_lock_irqsave(&cp->lock);
	bool ok = check_cache_locked(c);

	spin_unlock_irqrestore(&cp->lock, irq);
	/* lock order: a CPU's lock, then the depot's, then the cache's */
	for (int slot = 1; ok && cp->mag_size && slot <= NR_CPUS; slot++) {
		long rounds;

		if (!cpu_used(cp, slot))
			continue;
		irq = cpu_cache_enter(&cp->cpu[slot], &rounds);
		spin_lock(&cp->lock);
		ok = check_cpu_locked(c, &cp->cpu[slot], rounds);
		spin_unlock(&cp->lock);
		cpu_cache_leave(&cp->cpu[slot], rounds, irq);
	}
	/* slot 0, for threads without a number, never has magazines */
	if (ok && (cp->cpu[0].loaded || cp->cpu[0].previous))
		ok = slab_violation(
			c, &cp->cpu[0],
			"the slot of CPUs without a number has magazines");
	if (ok && cp->mag_size) {
		irq = spin_lock_irqsave(&cp->depot.lock);
		spin_lock(&cp->lock);
		ok = check_depot_locked(c);
		spin_unlock(&cp->lock);
		spin_unlock_irqrestore(&cp->depot.lock, irq);
	}
	return ok;
}

int kmem_cache_check(struct kmem_cache *cp)
{
	struct slab_check c = { .cp = cp };

	if (cache_check(cp, &c))
		return 0;
	printk("kmem_cache_check: cache '%s': %s: at %p\n", cp->name, c.what,
	       c.where);
	return -1;
}

static void slab_debug_check_now(struct kmem_cache *cp, const char *fn,
				 void *obj)
{
	struct slab_check c = { .cp = cp };

	if (!cache_check(cp, &c))
		panic("%s: kmem_debug=check: cache '%s' is inconsistent after this call (obj %p): %s: at %p",
		      fn, cp->name, obj, c.what, c.where);
}
