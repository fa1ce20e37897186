/*
 * slab_sourced.h: the slab layer's internal creation function, for arena.c
 * only (its quantum caches); not part of the public API (slab.h).
 */
#pragma once

#include "arena.h"
#include "slab.h"

/*
 * kmem_cache_create, with the pair through which the cache takes its
 * slabs from source and gives them back (kmem_cache_create uses
 * arena_xalloc/arena_xfree over source).
 */
struct kmem_cache *
kmem_cache_create_sourced(const char *name, size_t obj_size, size_t align,
			  int flags, struct arena *source, arena_afunc_t afunc,
			  arena_ffunc_t ffunc,
			  int (*ctor)(void *obj, void *priv, int flags),
			  void (*dtor)(void *obj, void *priv), void *priv);
