/*
 * slab_impl.h: the slab layer's private half, for kern/src/slab.c and its
 * other rooms (slab_*.c) only: the structures (slab.c's theory statement
 * says what each is for), the helpers the rooms share, and the fast
 * paths' inline magazine pop and push. Callers use slab.h; kmalloc.c
 * reads a cache through the accessors below.
 */
#pragma once

#include "arch.h" /* NR_CPUS */
#include "bitops.h"
#include "kmem_debug.h"

#include "list.h"
#include "page.h"
#include "slab.h"
#include "spinlock.h"

#define KMC_NOMAGAZINE (1 << 8) /* internal: no per-CPU layer (metadata) */
/* every flag kmem_cache_create takes */
#define KMC_VALID_FLAGS \
	(KMC_NOTOUCH | KMC_QCACHE | KMC_NOMAGAZINE | KMC_CREATE_ATOMIC)

#define KMEM_HASH_INITIAL 16
#define SLAB_MAGIC 0x51ab5eedu
#define SLAB_MAP_WORDS 8 /* busy bitmap: up to 512 objects per slab */
/*
 * The most rounds a magazine has: the largest magazine type's, 32 words
 * less the link and the floor (slab_cache.c's table gives its last row
 * this many). The fast alloc path's bound: it pops from counts 1 .. this.
 */
#define KMEM_MAGAZINE_ROUNDS_MAX 30

/* An off-slab object's record: where it is, and its slab. */
struct kmem_bufctl {
	struct kmem_bufctl *next; /* slab's free list, or hash chain */
	void *obj;
	struct kmem_slab *slab;
};

/*
 * A magazine: a stack of constructed objects, M rounds deep. A magazine
 * holding n objects keeps them in round[1 .. n]; round[0] is always NULL,
 * the floor, so the free path's look at the top, round[n], needs no test
 * for an empty magazine.
 */
struct kmem_magazine {
	struct kmem_magazine *next; /* on a depot list */
	void *round[];
};

/* A CPU's rounds while another CPU holds its magazines (slab.c, 6). */
#define KMEM_ROUNDS_HELD (-2L)

/*
 * Under kmem_debug=magazines (slab.c, theory 7), a CPU's count n is kept
 * folded, KMEM_ROUNDS_FOLDED - n (-3 for no magazine, -4 for an empty
 * one ...), whenever its lock is free: below HELD, a count no fast path
 * can use, so every push and pop comes to the slow paths, which unfold
 * it under the lock and check the fast path's own push and pop there.
 */
#define KMEM_ROUNDS_FOLDED (-4L)

/*
 * One CPU's view of a cache: its loaded and previous magazines. rounds is
 * how many objects the loaded magazine holds (-1: no magazine yet). Only
 * this CPU uses it on the fast path, with no lock: busy, and rounds set
 * to KMEM_ROUNDS_HELD, let another CPU keep it out (slab.c, theory 6).
 */
struct kmem_cpu_cache {
	struct spinlock lock;
	int busy; /* the owner is in its fast path (a plain store) */
	long rounds, prev_rounds;
	struct kmem_magazine *loaded, *previous;
	uint64_t allocs; /* served from magazines */
	/* counted on the slow paths only */
	uint64_t misses;    /* allocations the magazines could not serve */
	uint64_t exchanges; /* magazines traded with the depot */
} __aligned(64);

/* A cache's stock of magazines beyond the CPUs' own. */
struct kmem_depot {
	struct spinlock lock;
	struct kmem_magazine *full, *empty;
	size_t nr_full, nr_empty;
	uint64_t exchanges;
	/* times a CPU found the lock taken; the count at the last resize */
	uint64_t contended, contended_at_resize;
};

/*
 * A cache whose depot lock was found taken this many times since its
 * last resize grows its magazines (kmem_cache_magazine_grow).
 */
#define KMEM_DEPOT_CONTENTION_GROW 16

struct kmem_cache {
	/*
	 * By CPU slot (arch_cpu_slot): CPU c's is cpu[c + 1]; cpu[0], where
	 * threads without a CPU number land, never has magazines.
	 */
	struct kmem_cpu_cache cpu[NR_CPUS + 1];

	struct spinlock lock; /* the slab layer: lists, counts, hash */
	char name[KMEM_NAME_MAX];
	size_t obj_size; /* as asked */
	size_t chunk;	 /* obj_size rounded up to the alignment */
	/* on-slab: where a free object keeps its free-list link: 0, or past
	 * the object when a constructor\'s work must survive in free ones */
	size_t link_offset;
	size_t align;
	int flags;
	/* kmem_debug modes this cache applies (slab.c, theory 7); its
	 * redzone is bytes [obj_size, redzone_end) of each object; its
	 * audit record at audit_offset (0: in the bufctl, NOTOUCH) */
	int debug;
	size_t redzone_end, audit_offset;
	struct arena *source;
	int (*ctor)(void *obj, void *priv, int flags);
	void (*dtor)(void *obj, void *priv);
	void *priv;

	/* slabs */
	size_t slab_size; /* bytes taken from the source per slab */
	size_t objs_per_slab;
	size_t colour_max, colour_next; /* offset of the first object */
	bool on_slab; /* slab header and free list inside the slab */
	struct list_head full, partial, empty;
	size_t nr_slabs;
	size_t nr_busy; /* objects out of the slab layer */

	/* off-slab: allocated objects' bufctls, by address */
	struct kmem_bufctl **hash;
	size_t hash_buckets;
	int hash_shift;
	size_t nr_hashed;
	uint64_t hash_resizes; /* times the hash grew or shrank */
	struct kmem_bufctl *hash_initial[KMEM_HASH_INITIAL];

	/* magazines */
	size_t mag_size; /* rounds per magazine; 0: no magazine layer */
	struct kmem_cache *mag_cache;
	struct kmem_depot depot;
	uint64_t cpus_used; /* bit c: CPU c has had a magazine of this cache */
	uint64_t resizes;   /* times its magazines grew */

	/* statistics beyond the per-CPU ones */
	uint64_t slab_allocs, slab_frees, fails, slabs_created;
	uint64_t slabs_destroyed;

	/* how slabs come from source and go back */
	arena_afunc_t slab_alloc;
	arena_ffunc_t slab_free;

	struct list_head all_link;	  /* every cache */
	struct arena_reclaimer reclaimer; /* source's reclaim reaps it */
};

/* A slab's header: at the end of the slab (on-slab) or in cache kmem_slab. */
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

/* Whether cp checks its magazines (kmem_debug=magazines). */
static inline bool cache_checks_magazines(const struct kmem_cache *cp)
{
	return cp->debug & KMEM_DEBUG_MAGAZINES;
}

/* A CPU's count n as its rounds hold it while its lock is free. */
static inline long rounds_fold(const struct kmem_cache *cp, long n)
{
	return cache_checks_magazines(cp) ? KMEM_ROUNDS_FOLDED - n : n;
}

/* The count a CPU's rounds r hold (the inverse of rounds_fold). */
static inline long rounds_unfold(const struct kmem_cache *cp, long r)
{
	return cache_checks_magazines(cp) ? KMEM_ROUNDS_FOLDED - r : r;
}

/* ---- accessors (for kmalloc.c) */

static inline const char *kmem_cache_name(const struct kmem_cache *cp)
{
	return cp->name;
}

/* The object size cp was created with (without debug state or padding). */
static inline size_t kmem_cache_obj_size(const struct kmem_cache *cp)
{
	return cp->obj_size;
}

/*
 * cp's magazine size, read where no lock orders it against a resize
 * (kmem_cache_magazine_grow stores it while it holds every CPU and the
 * depot): relaxed, a plain load on x86. Zero stays zero; a non-zero size
 * only grows.
 */
static inline size_t cache_mag_size(const struct kmem_cache *cp)
{
	return __atomic_load_n(&cp->mag_size, __ATOMIC_RELAXED);
}

/*
 * The fast push's bound. It reads mag_size before it knows whether its
 * CPU is held: when it is (rounds HELD, a huge unsigned count), the
 * compare fails whatever the value, so the value read then never
 * matters, and when rounds is a count the CPU may use, the resize that
 * last changed the size released it with that count (theory 4 and 6).
 * So the read races only where its value is ignored, and a plain load
 * (folded into the compare: one instruction less than a separate atomic
 * load) is kept for the kernel and libkmem.a, as Linux keeps data_race()
 * reads. ThreadSanitizer, which cannot know that, gets the relaxed atomic
 * load instead.
 */
static inline size_t fast_mag_size(const struct kmem_cache *cp)
{
#if defined(__SANITIZE_THREAD__)
	return cache_mag_size(cp);
#else
	return cp->mag_size;
#endif
}

/* ---- objects in slabs */

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
static inline long obj_index(const struct kmem_cache *cp,
			     const struct kmem_slab *s, const void *obj)
{
	uintptr_t off = (uintptr_t)obj - (uintptr_t)s->first;

	if ((uintptr_t)obj < (uintptr_t)s->first ||
	    off >= cp->objs_per_slab * cp->chunk || off % cp->chunk)
		return -1;
	return (long)(off / cp->chunk);
}

/* Whether object i of on-slab slab s is out of the slab layer. */
static inline bool busy_test(const struct kmem_slab *s, long i)
{
	return s->busy[i / 64] & (1ull << (i % 64));
}

/* ---- reaching a CPU's magazines (slab.c) */

/*
 * The first CPU slot after slot that ever had a magazine of cp, or 0:
 * only those need a visit (bit slot - 1 of cpus_used).
 */
static inline int cpu_next_used(struct kmem_cache *cp, int slot)
{
	uint64_t used = __atomic_load_n(&cp->cpus_used, __ATOMIC_ACQUIRE);
	uint64_t later = slot < 64 ? used & (~0ull << slot) : 0;

	return later ? lowbit(later) + 1 : 0;
}

/* Each CPU slot that ever had a magazine of cp, in increasing order. */
#define for_each_used_cpu(cp, slot)                       \
	for ((slot) = cpu_next_used((cp), 0); (slot) > 0; \
	     (slot) = cpu_next_used((cp), (slot)))

/*
 * Take cc from anywhere but its owner's fast path, and return its rounds
 * (slab.c); cpu_cache_leave gives it back.
 */
unsigned long cpu_cache_enter(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
			      long *rounds);
void cpu_cache_leave(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
		     long rounds, unsigned long irq);

/*
 * Bugs the host tests plant in the push and pop below, to show that
 * kmem_debug=magazines catches each at the call that makes it
 * (tests/kern/kmem_debug.c). Only the host test build has the hooks
 * (KMEM_FAULT_HOOKS); elsewhere MAGAZINE_FAULT is 0 and costs nothing.
 */
enum kmem_magazine_fault {
	KMEM_FAULT_NONE,
	KMEM_FAULT_PAST_END,	    /* the push's bound one too high */
	KMEM_FAULT_LOST_ROUND,	    /* the pop's new count one too low */
	KMEM_FAULT_DOUBLE_PUSH,	    /* the push stores its object twice */
	KMEM_FAULT_POP_UNDER_TOP,   /* the pop hands out the round below */
	KMEM_FAULT_POP_REFUSES,	    /* the pop says empty with rounds */
	KMEM_FAULT_PUSH_REFUSES,    /* the push says full with room */
	KMEM_FAULT_PUSH_OVERWRITES, /* the push stores over the top round */
};
#ifdef KMEM_FAULT_HOOKS
extern enum kmem_magazine_fault kmem_magazine_fault;
#define MAGAZINE_FAULT(f) (unlikely(kmem_magazine_fault == (f)))
#else
#define MAGAZINE_FAULT(f) 0
#endif

/* ---- the fast paths (kmem_cache_alloc, kmem_cache_free in slab.c) */

/*
 * This CPU's kmem_cpu_cache of cp, for the fast paths, as one pointer in a
 * register: the empty asm keeps the compiler from folding the index into
 * every access (which cost it an address register for busy and another
 * for rounds: two instructions a path).
 */
static inline struct kmem_cpu_cache *fast_cpu_cache(struct kmem_cache *cp)
{
	struct kmem_cpu_cache *cc = &cp->cpu[arch_cpu_slot()];

	__asm__("" : "+r"(cc));
	return cc;
}

/*
 * The owner's fast path: it enters with a plain store of busy, then
 * loads rounds, which another CPU may have set to KMEM_ROUNDS_HELD (no
 * locked instruction: see slab.c's theory statement, 6).
 */
static inline void fast_enter(struct kmem_cpu_cache *cc)
{
	__atomic_store_n(&cc->busy, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The loaded magazine's count, for the owner (acquire: theory 6). */
static inline long fast_rounds(struct kmem_cpu_cache *cc)
{
	return __atomic_load_n(&cc->rounds, __ATOMIC_ACQUIRE);
}

/* The owner's new count after its push or pop. */
static inline void fast_set_rounds(struct kmem_cpu_cache *cc, long rounds)
{
	__atomic_store_n(&cc->rounds, rounds, __ATOMIC_RELAXED);
}

/* The owner leaves its fast path (release: theory 6). */
static inline void fast_leave(struct kmem_cpu_cache *cc)
{
	__atomic_store_n(&cc->busy, 0, __ATOMIC_RELEASE);
}

/*
 * The fast path's pop: an object of this CPU's loaded magazine into *obj,
 * with no lock and no locked instruction (slab.c's theory statement, 6);
 * false if the magazine is empty, missing or held by another CPU, for the
 * caller's slow path.
 */
static inline bool kmem_magazine_pop(struct kmem_cache *cp, void **obj)
{
	struct kmem_cpu_cache *cc = fast_cpu_cache(cp);
	unsigned long irq = arch_irq_save();
	unsigned long r;

	fast_enter(cc);
	/* empty (0), none (-1), held (-2), folded (-3 ...): huge */
	r = (unsigned long)fast_rounds(cc) - 1;
	if (unlikely(r >= KMEM_MAGAZINE_ROUNDS_MAX) ||
	    MAGAZINE_FAULT(KMEM_FAULT_POP_REFUSES)) {
		fast_leave(cc);
		arch_irq_restore(irq);
		return false;
	}
	*obj = cc->loaded->round[r + 1 -
				 MAGAZINE_FAULT(KMEM_FAULT_POP_UNDER_TOP)];
	fast_set_rounds(cc, (long)r - MAGAZINE_FAULT(KMEM_FAULT_LOST_ROUND));
	cc->allocs++;
	fast_leave(cc);
	arch_irq_restore(irq);
	return true;
}

/*
 * The fast path's push of obj on this CPU's loaded magazine, after the
 * always-on look at its top if look (obj is not the object this CPU freed
 * last; the floor makes the look safe when it is empty); false if the
 * magazine is full, missing or held by another CPU, or obj is on top, for
 * the caller's slow path. kfree pushes without the look: its tag, FREED
 * from the first kfree on, catches the second.
 */
static inline __attribute__((always_inline)) bool
magazine_push(struct kmem_cache *cp, void *obj, bool look)
{
	struct kmem_cpu_cache *cc = fast_cpu_cache(cp);
	unsigned long irq = arch_irq_save();
	struct kmem_magazine *m;
	unsigned long r;

	fast_enter(cc);
	r = (unsigned long)fast_rounds(cc); /* -1 and below (pop): huge */
	if (unlikely(r >=
		     fast_mag_size(cp) + MAGAZINE_FAULT(KMEM_FAULT_PAST_END)) ||
	    MAGAZINE_FAULT(KMEM_FAULT_PUSH_REFUSES))
		goto leave; /* full, none, or held by another CPU */
	/* only now is loaded ours to read (slab.c's theory statement, 6) */
	m = cc->loaded;
	if (look && unlikely(m->round[r] == obj))
		goto leave; /* on top already: reported slowly */
	m->round[r + 1 - MAGAZINE_FAULT(KMEM_FAULT_PUSH_OVERWRITES)] = obj;
	if (MAGAZINE_FAULT(KMEM_FAULT_DOUBLE_PUSH) &&
	    r + 2 <= fast_mag_size(cp))
		m->round[++r + 1] = obj;
	fast_set_rounds(cc, (long)r + 1);
	fast_leave(cc);
	arch_irq_restore(irq);
	return true;
leave:
	fast_leave(cc);
	arch_irq_restore(irq);
	return false;
}

static inline bool kmem_magazine_push(struct kmem_cache *cp, void *obj)
{
	return magazine_push(cp, obj, true);
}

/* The push for a caller that has ruled out obj being on top (kfree). */
static inline bool kmem_magazine_push_unlooked(struct kmem_cache *cp, void *obj)
{
	return magazine_push(cp, obj, false);
}

/* ---- shared between the rooms, by room */

/* slab.c: a thread (host CPU) leaves: its magazines go back. */
void kmem_cpu_exit(int cpu);

/*
 * slab.c: empty magazine m of n rounds into the slab layer; free it to
 * mc, the magazine cache it came from (read under a lock that kept a
 * resize away: cp->mag_cache may have changed since).
 */
void magazine_drain(struct kmem_cache *cp, struct kmem_cache *mc,
		    struct kmem_magazine *m, long n);

/* slab_cache.c: the magazine type after the one of `rounds`, if any. */
bool magazine_type_larger(size_t rounds, size_t *larger,
			  struct kmem_cache **mag_cache);

/* slab_cache.c: one of the slab layer's own caches (kmem_init). */
struct kmem_cache *slab_internal_cache(const char *name, size_t size);

/* slab_layer.c: the slab layer (theory 2 and 3) */
void slab_layer_init(void);
void bufctl_hash_set(struct kmem_cache *cp, struct kmem_bufctl **t, size_t n);
struct kmem_bufctl *bufctl_hash_lookup_locked(struct kmem_cache *cp,
					      const void *obj);
struct kmem_slab *slab_containing_locked(struct kmem_cache *cp,
					 const void *obj);
bool obj_busy_locked(struct kmem_cache *cp, void *obj);
void *slab_memory_xalloc(struct arena *source, size_t size, int flags);
void slab_destroy(struct kmem_cache *cp, struct kmem_slab *s);
void *slab_alloc(struct kmem_cache *cp, int flags);
void slab_free(struct kmem_cache *cp, void *obj);

/* slab_debug.c: the debug modes (theory 7) */
bool magazine_checked_pop(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
			  void **obj);
bool magazine_checked_push(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
			   void *obj);
int slab_debug_modes(int flags);
void slab_debug_layout(struct kmem_cache *cp);
void slab_debug_new_object(struct kmem_cache *cp, void *obj);
void *slab_debug_alloc(struct kmem_cache *cp, int flags, uintptr_t caller);
void slab_debug_free(struct kmem_cache *cp, void *obj, uintptr_t caller);

/* slab_check.c: under kmem_debug=check, panic unless cp is sound. */
void slab_debug_check_now(struct kmem_cache *cp, const char *fn, void *obj);

/* slab_report.c: misuse kmem_cache_free meets (theory 10) */
__noreturn void slab_bad_free(struct kmem_cache *cp, const void *obj);
__noreturn void slab_wrong_owner(struct kmem_cache *cp, const void *obj);
__noreturn void slab_freed_twice(struct kmem_cache *cp, const void *obj);
