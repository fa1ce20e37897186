/*
 * cache_lookup.h: finding caches by name, for the tests of kmalloc and of
 * running out of memory (included by tests/kern/kmalloc.c and oom.c).
 */
#pragma once

#include "kprintf.h"
#include "kstring.h"
#include "slab_impl.h"

struct cache_search {
	const char *name;
	struct kmem_cache *found;
};

static inline void cache_search_match(struct kmem_cache *cp, void *arg)
{
	struct cache_search *s = arg;

	if (!kstrcmp(cp->name, s->name))
		s->found = cp;
}

/* The cache named name, or NULL. */
static inline struct kmem_cache *cache_named(const char *name)
{
	struct cache_search s = { name, NULL };

	kmem_cache_for_each(cache_search_match, &s);
	return s.found;
}

/* The kmalloc cache of objects of 32 << size_class bytes. */
static inline struct kmem_cache *kmalloc_cache(int size_class)
{
	char name[KMEM_NAME_MAX];

	ksnprintf(name, sizeof(name), "kmalloc_%lu", 32ul << size_class);
	return cache_named(name);
}
