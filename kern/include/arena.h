/*
 * arena.h: resource arenas in the style of Bonwick and Adams' vmem
 * ("Magazines and Vmem", USENIX 2001): allocators of integer ranges
 * (addresses, most often) with boundary tags, that import from a source
 * arena and give back to it. kern/src/arena.c opens with the theory.
 * This is what callers use; the structures are the layer's own
 * (arena_impl.h), so a caller reads an arena through the functions here.
 */
#pragma once

#include "compiler.h"
#include "list.h"
#include "spinlock.h"

/*
 * Flags. Every allocation names exactly one of MEM_WAIT (may not fail: with
 * nothing left it panics, printing the arena table) and MEM_ATOMIC (may
 * fail: returns NULL). A fit policy may be or'd in; instant fit is the
 * default.
 */
#define MEM_WAIT (1 << 0)
#define MEM_ATOMIC (1 << 1)
#define ARENA_INSTANTFIT (1 << 4)
#define ARENA_BESTFIT (1 << 5)
#define ARENA_NEXTFIT (1 << 6)

#define ARENA_NAME_MAX 32
#define ARENA_QCACHE_MAX 16 /* quantum caches per arena, at most */

struct arena;
struct kmem_cache;

typedef void *(*arena_afunc_t)(struct arena *source, size_t size, int flags);
typedef void (*arena_ffunc_t)(struct arena *source, void *addr, size_t size);

extern struct arena *base_arena, *kpages_arena;
extern struct arena *kpages_2m_arena, *kpages_1g_arena;

/*
 * The storage of the system's base arena, which pmem_init makes
 * base_arena with arena_init_base (the type is the layer's own: callers
 * take its address only).
 */
extern struct arena base_arena_storage;

/* @arena's name, as arena_create was given it. */
const char *arena_name(const struct arena *arena);

/* @arena's quantum: every size and start it hands out is a multiple. */
size_t arena_quantum(const struct arena *arena);

/*
 * Create an arena called @name over [@base, @base + @size) (no initial span
 * when @size is 0), handing out multiples of @quantum (any value > 0). With
 * a @source, it imports spans through @afunc(@source, size, flags) when it
 * runs out, and gives wholly free ones back through @ffunc. @qcache_max is
 * recorded for the quantum caches. @flags: MEM_WAIT or MEM_ATOMIC, for the
 * arena's own structure, its quantum caches and its first span's tags
 * (NULL if MEM_ATOMIC and any could not be had). Panics
 * on misuse: a zero quantum, a source without afunc/ffunc, a bad span.
 */
struct arena *arena_create(const char *name, void *base, size_t size,
			   size_t quantum, arena_afunc_t afunc,
			   arena_ffunc_t ffunc, struct arena *source,
			   size_t qcache_max, int flags);

/*
 * Give @arena the span [@base, @base + @size): it allocates from its
 * quantum-aligned part. Returns @base, or NULL when no tag could be had
 * (MEM_ATOMIC). A span holding address 0, wrapping past the top of the
 * address space, overlapping a span of the arena, or too small for one
 * quantum, is a misuse.
 */
void *arena_add(struct arena *arena, void *base, size_t size, int flags);

/*
 * Destroy @arena: give imported spans back to the source and free its
 * structures. Panics, naming what is still allocated, if anything is.
 * A base arena (arena_init_base) keeps its tags and hash in its own spans,
 * which belong to whoever added them: destroying it checks that nothing
 * else is allocated and takes it off the lists; its memory is then the
 * caller's again.
 */
void arena_destroy(struct arena *arena);

/*
 * Allocate @size bytes (rounded up to the quantum; 0 is a misuse) with the
 * fit policy in @flags. Returns the start, or NULL (MEM_ATOMIC only).
 */
void *arena_alloc(struct arena *arena, size_t size, int flags);

/* Free what arena_alloc gave: @size must be what was asked for. */
void arena_free(struct arena *arena, void *addr, size_t size);

/*
 * Allocate @size bytes with constraints: the result is congruent to
 * @phase modulo @align (0 or the quantum: no alignment beyond it;
 * otherwise a power of two that is a multiple of the quantum, with phase a
 * multiple of the quantum below it), the segment never crosses a multiple
 * of @nocross (0, or a power of two >= the rounded size), and it lies in
 * [@minaddr, @maxaddr) (NULL: no bound). Breaking one of these rules
 * panics, naming the argument; a request no free space can meet returns
 * NULL (MEM_ATOMIC) and leaves the arena as it was, or panics (MEM_WAIT).
 */
void *arena_xalloc(struct arena *arena, size_t size, size_t align, size_t phase,
		   size_t nocross, void *minaddr, void *maxaddr, int flags);

/* Free what arena_xalloc gave. */
void arena_xfree(struct arena *arena, void *addr, size_t size);

/* Bytes free (in the arena's own spans, not what its source could give). */
size_t arena_amt_free(struct arena *arena);

/* Bytes the arena manages: free and allocated segments. */
size_t arena_amt_total(struct arena *arena);

/*
 * Walk everything and verify the invariants (see the theory statement).
 * Returns 0 if sound; else prints the first violation, naming the arena
 * and the tag, and returns -1.
 */
int arena_check(struct arena *arena);

/* Print the table of all arenas (in the style of illumos mdb ::vmem). */
void arena_print_stats(void);

/*
 * Print @arena's spans and segments in list (address) order, under its
 * lock (the monitor's `arena NAME`).
 */
void arena_print_segments(struct arena *arena);

/*
 * The monitor's views (readable sizes: K, M, G). arena_print_rows: a row
 * per arena (in use, total, imported, allocations, frees, failures, the
 * largest free segment, the source); with tree, each importer below its
 * source, indented (`vmem`), else in creation order (kmastat's second
 * table). arena_print_summary: one arena in five lines (`arena NAME`).
 * arena_print_freelists: its free segments by size class, with the
 * fragmentation, 1 - largest free / free (`freelists`). arena_print_map:
 * its address space, a character for a fixed number of quanta (`map`).
 */
void arena_print_rows(bool tree);
void arena_print_summary(struct arena *arena);
void arena_print_freelists(struct arena *arena);
void arena_print_map(struct arena *arena);

/*
 * What arena_walk reports: a span, or a free or allocated segment in the
 * span before it.
 */
#define ARENA_WALK_SPAN 0
#define ARENA_WALK_FREE 1
#define ARENA_WALK_ALLOC 2

/*
 * Call @fn(start, size, kind, @arg) for each span and segment of @arena,
 * in address order (each span before its segments), under the arena's
 * lock: @fn must not call into the arenas. For pictures and tools
 * (tools/pictures.c). Returns how many it reported.
 */
size_t arena_walk(struct arena *arena,
		  void (*fn)(uintptr_t start, size_t size, int kind, void *arg),
		  void *arg);

/*
 * Print, for every arena with a span holding @addr, that span and the
 * segment holding it (free or allocated). Compares numbers only: never
 * reads memory at @addr. Returns how many arenas hold it.
 */
int arena_whatis(uintptr_t addr);

/*
 * A reclaim callback: arena_reclaim(arena) calls fn(arg) for each one
 * registered on arena (the slab layer registers each cache's reap with
 * its source). The caller owns the storage (the slab layer embeds it in
 * the cache), so registering never allocates.
 */
struct arena_reclaimer {
	struct list_head link; /* on the arena's reclaimers */
	void (*fn)(void *arg);
	void *arg;
};

/* Register r (fn(arg)) with arena's reclaim; and remove it. */
void arena_add_reclaim(struct arena *arena, struct arena_reclaimer *r,
		       void (*fn)(void *arg), void *arg);
void arena_remove_reclaim(struct arena *arena, struct arena_reclaimer *r);

/*
 * Ask everything that imports from arena to give back what it holds:
 * its reclaim callbacks run (a cache's reaps its magazines, depot and
 * empty slabs), its importing arenas do the same for theirs. An allocation that fails calls it and tries
 * once more before it returns NULL or panics.
 */
void arena_reclaim(struct arena *arena);

/* Call fn on every arena, under the global arena-list lock. */
void arena_for_each(void (*fn)(struct arena *arena, void *arg), void *arg);

/*
 * Bookkeeping memory from the base arena at the root of @guess's source
 * chain (NULL: base_arena). Sizes round up to its quantum (a page).
 */
void *base_alloc(struct arena *guess, size_t size, int flags);
void *base_zalloc(struct arena *guess, size_t size, int flags);
void base_free(struct arena *guess, void *addr, size_t size);

/*
 * Make @arena the base arena over nothing yet: quantum PGSIZE, no source,
 * tags from its own pages. pmem_init calls it once, then arena_add()s
 * each usable range. (Tests may build a private base arena the same way.)
 */
void arena_init_base(struct arena *arena, const char *name);
