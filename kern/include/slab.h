/*
 * slab.h: object caches, after Bonwick, "The Slab Allocator" (USENIX 1994),
 * with the per-CPU magazines and depot of Bonwick and Adams (USENIX 2001).
 * kern/src/slab.c opens with the theory. This is what callers use; the
 * structures are private to the slab layer (slab_impl.h).
 */
#pragma once

#include "arena.h"

/* Cache flags (kmem_cache_create). */
#define KMC_NOTOUCH (1 << 0) /* never write into objects: maybe not memory */
#define KMC_QCACHE (1 << 1)  /* an arena's quantum cache (a label only) */
/* internal: the cache's own structure with MEM_ATOMIC (arena_create's) */
#define KMC_CREATE_ATOMIC (1 << 9)

/* Bytes of a cache's name, NUL included: longer names are cut. */
#define KMEM_NAME_MAX 32

struct kmem_cache;

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

/*
 * Give cp's CPUs magazines of the next larger type, one step up the
 * table (slab.c's theory statement, 4); a cache whose depot lock is
 * contended does it by itself. Returns false when it did not: already
 * the largest, no magazine layer, in interrupt context, or another
 * resize running.
 */
bool kmem_cache_magazine_grow(struct kmem_cache *cp);

/* One CPU's magazines of a cache, as kmem_cache_cpu_stats reads them. */
struct kmem_cpu_stats {
	long loaded, previous; /* rounds in each (-1: no magazine) */
	size_t mag_size;       /* rounds a magazine of the cache holds */
	uint64_t hits;	       /* allocations its magazines served */
	uint64_t misses;       /* allocations they could not */
	uint64_t exchanges;    /* magazines it traded with the depot */
};

/*
 * CPU cpu's view of cp (visiting it as the tables do: no race with its
 * fast path); false when cpu is out of range or cp has no magazines.
 */
bool kmem_cache_cpu_stats(struct kmem_cache *cp, int cpu,
			  struct kmem_cpu_stats *st);

/* The cache named name, or NULL. */
struct kmem_cache *kmem_cache_find(const char *name);

/* Verify cp's invariants; 0 if sound, else print the first violation. */
int kmem_cache_check(struct kmem_cache *cp);

/* The slabinfo-style table of every cache. */
void kmem_cache_print_all(void);

/*
 * kmastat's table of every cache (the monitor): buffer size; objects in
 * use (out of the cache) and in its slabs; bytes in use and held in
 * magazines; slabs full, partial and empty; the share of slab memory
 * that holds no object (waste); allocations and failures.
 */
void kmem_cache_print_kmastat(void);

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
