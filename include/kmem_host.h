/*
 * kmem_host.h: the kernel's memory allocators as a user-space library
 * (build/host/libkmem.a), the way illumos offers libumem.
 *
 *	cc $(make -s host-cflags) prog.c build/host/libkmem.a -lpthread
 *
 * Call kmem_host_init(bytes) once: it maps that much memory from the OS,
 * describes it as the machine's memory map and builds the arenas on it,
 * as the kernel does at boot. Everything is thread-safe. A misuse panics:
 * a line starting with "panic:" on stderr, then abort().
 *
 * This header is self-contained: it repeats the declarations of the
 * kernel's arena.h, slab.h, kmalloc.h, pmem.h and mem_range.h
 * (arch/host/kmem_host_check.c compares them with this in every host
 * build, so the build fails if they drift apart). What each function does
 * is said there.
 */
#ifndef KMEM_HOST_H
#define KMEM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Take ram_bytes of memory from the OS and build the arenas over it. */
void kmem_host_init(size_t ram_bytes);

/* Flags: exactly one of MEM_WAIT and MEM_ATOMIC, at most one fit policy. */
#define MEM_WAIT (1 << 0)
#define MEM_ATOMIC (1 << 1)
#define ARENA_INSTANTFIT (1 << 4)
#define ARENA_BESTFIT (1 << 5)
#define ARENA_NEXTFIT (1 << 6)

struct arena;

typedef void *(*arena_afunc_t)(struct arena *source, size_t size, int flags);
typedef void (*arena_ffunc_t)(struct arena *source, void *addr, size_t size);

extern struct arena *base_arena, *kpages_arena;
extern struct arena *kpages_2m_arena, *kpages_1g_arena;

struct arena *arena_create(const char *name, void *base, size_t size,
			   size_t quantum, arena_afunc_t afunc,
			   arena_ffunc_t ffunc, struct arena *source,
			   size_t qcache_max, int flags);
void *arena_add(struct arena *arena, void *base, size_t size, int flags);
void arena_destroy(struct arena *arena);
void *arena_alloc(struct arena *arena, size_t size, int flags);
void arena_free(struct arena *arena, void *addr, size_t size);
void *arena_xalloc(struct arena *arena, size_t size, size_t align, size_t phase,
		   size_t nocross, void *minaddr, void *maxaddr, int flags);
void arena_xfree(struct arena *arena, void *addr, size_t size);
size_t arena_amt_free(struct arena *arena);
size_t arena_amt_total(struct arena *arena);
int arena_check(struct arena *arena);
void arena_print_stats(void);
#define ARENA_WALK_SPAN 0
#define ARENA_WALK_FREE 1
#define ARENA_WALK_ALLOC 2
size_t arena_walk(struct arena *arena,
		  void (*fn)(uintptr_t start, size_t size, int kind, void *arg),
		  void *arg);
void arena_reclaim(struct arena *arena);
void *base_alloc(struct arena *guess, size_t size, int flags);
void *base_zalloc(struct arena *guess, size_t size, int flags);
void base_free(struct arena *guess, void *addr, size_t size);

/* Object caches (the kernel's slab.h). */
#define KMC_NOTOUCH (1 << 0)
#define KMC_QCACHE (1 << 1)

struct kmem_cache;

struct kmem_cache *
kmem_cache_create(const char *name, size_t obj_size, size_t align, int flags,
		  struct arena *source,
		  int (*ctor)(void *obj, void *priv, int flags),
		  void (*dtor)(void *obj, void *priv), void *priv);
void kmem_cache_destroy(struct kmem_cache *cp);
void *kmem_cache_alloc(struct kmem_cache *cp, int flags);
void kmem_cache_free(struct kmem_cache *cp, void *obj);
void kmem_cache_reap(struct kmem_cache *cp);
bool kmem_cache_magazine_grow(struct kmem_cache *cp);
int kmem_cache_check(struct kmem_cache *cp);
void kmem_cache_print_all(void);

/* General-purpose buffers (the kernel's kmalloc.h). */
void *kmalloc(size_t size, int flags);
void *kzmalloc(size_t size, int flags);
void *kmalloc_align(size_t size, int flags, size_t align);
void *krealloc(void *buf, size_t size, int flags);
void kfree(void *buf);
size_t kmalloc_size(void *buf);

#ifndef KMEM_MEM_RANGE_H
#define KMEM_MEM_RANGE_H
/* [base, base + size) */
struct mem_range {
	uint64_t base;
	uint64_t size;
};
#endif

void pmem_init(const struct mem_range *usable, size_t nr_ranges);

#ifdef __cplusplus
}
#endif

#endif
