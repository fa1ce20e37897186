/*
 * slab.h: object caches, after Bonwick, "The Slab Allocator" (USENIX 1994),
 * with the per-CPU magazines and depot of Bonwick and Adams (USENIX 2001).
 * kern/src/slab.c opens with the theory.
 */
#pragma once

#include "arch.h" /* NR_CPUS */
#include "arena.h"
#include "list.h"
#include "spinlock.h"

/* Cache flags (kmem_cache_create). */
#define KMC_NOTOUCH (1 << 0)	/* never write into objects: maybe not memory */
#define KMC_QCACHE (1 << 1)	/* an arena's quantum cache (a label only) */
#define KMC_NOMAGAZINE (1 << 8) /* internal: no per-CPU layer (metadata) */
/* internal: the cache's own structure with MEM_ATOMIC (arena_create's) */
#define KMC_CREATE_ATOMIC (1 << 9)
/* every flag kmem_cache_create takes */
#define KMC_VALID_FLAGS \
	(KMC_NOTOUCH | KMC_QCACHE | KMC_NOMAGAZINE | KMC_CREATE_ATOMIC)

#define KMEM_NAME_MAX 32
#define KMEM_HASH_INITIAL 16

struct kmem_cache;
struct kmem_slab;

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
} __aligned(64);

/* A cache's stock of magazines beyond the CPUs' own. */
struct kmem_depot {
	struct spinlock lock;
	struct kmem_magazine *full, *empty;
	size_t nr_full, nr_empty;
	uint64_t exchanges;
};

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
	struct kmem_bufctl *hash_initial[KMEM_HASH_INITIAL];

	/* magazines */
	size_t mag_size; /* rounds per magazine; 0: no magazine layer */
	struct kmem_cache *mag_cache;
	struct kmem_depot depot;
	uint64_t cpus_used; /* bit c: CPU c has had a magazine of this cache */

	/* statistics beyond the per-CPU ones */
	uint64_t slab_allocs, slab_frees, fails, slabs_created;
	uint64_t slabs_destroyed;

	/* how slabs come from source and go back */
	arena_afunc_t slab_alloc;
	arena_ffunc_t slab_free;

	struct list_head all_link;	  /* every cache */
	struct arena_reclaimer reclaimer; /* source's reclaim reaps it */
};

/*
 * Create a cache of objects of obj_size bytes aligned to align (0: 16, or
 * less for small objects; else a power of two), from source (NULL:
 * kpages_arena). ctor, if any, builds each object when its slab is
 * created (returning non-zero for failure); dtor undoes it before the
 * slab goes back. flags: 0, KMC_NOTOUCH, KMC_QCACHE; with KMC_CREATE_ATOMIC
 * (arena_create under MEM_ATOMIC) it returns NULL when no memory is left
 * for the cache's own structure, instead of panicking. Panics on misuse.
 */
struct kmem_cache *
kmem_cache_create(const char *name, size_t obj_size, size_t align, int flags,
		  struct arena *source,
		  int (*ctor)(void *obj, void *priv, int flags),
		  void (*dtor)(void *obj, void *priv), void *priv);

/* Destroy an empty cache (panics, naming how many objects are live). */
void kmem_cache_destroy(struct kmem_cache *cp);

/* An object of cp (constructed), or NULL (MEM_ATOMIC only). */
void *kmem_cache_alloc(struct kmem_cache *cp, int flags);

/* Give obj back to cp. */
void kmem_cache_free(struct kmem_cache *cp, void *obj);

/*
 * Give back all cp holds: every CPU's magazines to the depot, the depot's
 * objects to their slabs, empty slabs (destructed) to the source.
 */
void kmem_cache_reap(struct kmem_cache *cp);

/* Verify cp's invariants; 0 if sound, else print the first violation. */
int kmem_cache_check(struct kmem_cache *cp);

/* The slabinfo-style table of every cache. */
void kmem_cache_print_all(void);

/* Call fn on every cache, under the cache-list lock. */
void kmem_cache_for_each(void (*fn)(struct kmem_cache *cp, void *arg),
			 void *arg);

/* Objects allocated and not freed (all CPUs and the slab layer). */
size_t kmem_cache_nr_live(struct kmem_cache *cp);

/*
 * Print, for every cache with a slab holding @addr, the slab, the object
 * and whether it is allocated, free in its slab or free in a magazine.
 * Reads slab headers only, never the object. Returns how many caches.
 */
int kmem_cache_whatis(uintptr_t addr);

/*
 * The cache with a slab holding addr, or NULL (walks every cache); *obj
 * (if obj is not NULL) the object holding addr, or NULL.
 */
struct kmem_cache *kmem_cache_owner(const void *addr, void **obj);

/*
 * Under kmem_debug=audit: the lines naming the last allocation and free
 * of cp's object holding addr, into buf (and returned); else "".
 */
const char *kmem_cache_audit_text(struct kmem_cache *cp, const void *addr,
				  char *buf, size_t len);

/* Set up the slab layer's own caches (pmem_init calls it). */
void kmem_init(void);
