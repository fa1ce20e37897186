/*
 * slab_report.c: the reports, §10 of the theory statement in slab.c: the
 * misuse kmem_cache_free meets, classified and reported with the audit
 * trail (§7); the owner of an address; the slabinfo-style table; and
 * whatis, for the monitor. All cold: the hot paths in slab.c only call in
 * here to panic.
 */
#include "slab_impl.h"
#include "kprintf.h"
#include "kstring.h"
#include "kmem_debug.h"
#include "page.h"
#include "panic.h"
#include "printk.h"

/* ---- misuse */

struct owner_search {
	const void *obj;
	struct kmem_cache *owner;
	void *start; /* of the object holding obj, or NULL */
};

/* kmem_cache_owner's visit: does one of cp's slabs hold s->obj? */
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

/*
 * kmem_cache_free met an object that cp's slab layer cannot take back:
 * say what it is and panic (called without cp's lock).
 */
__noreturn void slab_bad_free(struct kmem_cache *cp, const void *obj)
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
__noreturn void slab_wrong_owner(struct kmem_cache *cp, const void *obj)
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
__noreturn void slab_freed_twice(struct kmem_cache *cp, const void *obj)
{
	panic("kmem_cache_free: double free (the object this CPU freed last): cache '%s' obj %p",
	      cp->name, obj);
}

/* ---- tables */

struct cache_counts {
	size_t in_magazines, full_mags, empty_mags;
	uint64_t allocs;
};

/* Objects held in cp's magazines, and the per-CPU counters. */
static void count_magazines(struct kmem_cache *cp, struct cache_counts *c)
{
	unsigned long irq;
	int slot;

	*c = (struct cache_counts){ 0 };
	for_each_used_cpu (cp, slot) {
		struct kmem_cpu_cache *cc = &cp->cpu[slot];
		long rounds;

		irq = cpu_cache_enter(cp, cc, &rounds);
		c->in_magazines += (size_t)MAX(rounds, 0) +
				   (size_t)MAX(cc->prev_rounds, 0);
		c->allocs += cc->allocs;
		cpu_cache_leave(cp, cc, rounds, irq);
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

bool kmem_cache_cpu_stats(struct kmem_cache *cp, int cpu,
			  struct kmem_cpu_stats *st)
{
	struct kmem_cpu_cache *cc;
	unsigned long irq;
	long rounds;

	if (cpu < 0 || cpu >= NR_CPUS || !cache_mag_size(cp))
		return false;
	cc = &cp->cpu[cpu + 1];
	irq = cpu_cache_enter(cp, cc, &rounds);
	*st = (struct kmem_cpu_stats){
		.loaded = cc->loaded ? rounds : -1,
		.previous = cc->previous ? cc->prev_rounds : -1,
		.mag_size = cp->mag_size,
		.hits = cc->allocs,
		.misses = cc->misses,
		.exchanges = cc->exchanges,
	};
	cpu_cache_leave(cp, cc, rounds, irq);
	return true;
}

struct cache_by_name {
	const char *name;
	struct kmem_cache *found;
};

static void match_cache(struct kmem_cache *cp, void *arg)
{
	struct cache_by_name *m = arg;

	if (!m->found && kstrcmp(cp->name, m->name) == 0)
		m->found = cp;
}

struct kmem_cache *kmem_cache_find(const char *name)
{
	struct cache_by_name m = { name, NULL };

	kmem_cache_for_each(match_cache, &m);
	return m.found;
}

/* The length of list l (the cache's lock held). */
static size_t list_length(const struct list_head *l)
{
	size_t n = 0;

	for (const struct list_head *pos = l->next; pos != l; pos = pos->next)
		n++;
	return n;
}

/*
 * What the tables read of a cache: the magazines' counts (visiting each
 * CPU), then the slab layer's, under the cache's lock; with lists, the
 * lengths of the slab lists too (kmastat).
 */
struct cache_snapshot {
	struct cache_counts c;
	size_t busy, slabs, total, full, partial, empty;
	uint64_t allocs, fails; /* all allocations: slab layer and magazines */
};

static void cache_snapshot(struct kmem_cache *cp, struct cache_snapshot *s,
			   bool lists)
{
	unsigned long irq;

	count_magazines(cp, &s->c);
	irq = spin_lock_irqsave(&cp->lock);
	s->busy = cp->nr_busy;
	s->slabs = cp->nr_slabs;
	s->allocs = cp->slab_allocs + s->c.allocs;
	s->fails = cp->fails;
	s->full = lists ? list_length(&cp->full) : 0;
	s->partial = lists ? list_length(&cp->partial) : 0;
	s->empty = lists ? list_length(&cp->empty) : 0;
	spin_unlock_irqrestore(&cp->lock, irq);
	s->total = s->slabs * cp->objs_per_slab;
}

/* One row of kmem_cache_print_all's table. */
static void print_cache(struct kmem_cache *cp, void *arg)
{
	struct cache_snapshot s;

	(void)arg;
	cache_snapshot(cp, &s, false);
	printk("%-20s %8zu %8zu %7zu %5zu %5zu %4zu %6zu %5zu %5zu %10llu %5llu\n",
	       cp->name, s.busy - s.c.in_magazines, s.total, cp->obj_size,
	       cp->objs_per_slab, cp->slab_size / PGSIZE, cache_mag_size(cp),
	       s.c.in_magazines, s.c.full_mags, s.c.empty_mags,
	       (unsigned long long)s.allocs, (unsigned long long)s.fails);
}

void kmem_cache_print_all(void)
{
	printk("%-20s %8s %8s %7s %5s %5s %4s %6s %5s %5s %10s %5s\n", "cache",
	       "active", "total", "size", "/slab", "pages", "mag", "inmags",
	       "full", "empty", "allocs", "fails");
	kmem_cache_for_each(print_cache, NULL);
}

/* ---- kmastat (the monitor) */

/* One row of kmastat's table of caches. */
static void kmastat_cache(struct kmem_cache *cp, void *arg)
{
	struct cache_snapshot s;
	size_t slab_bytes = 0, in_use, waste = 0;
	char mem[KSIZE_SHORT_MAX], mags[KSIZE_SHORT_MAX];
	char lists[3 * 21];

	(void)arg;
	cache_snapshot(cp, &s, true);
	slab_bytes = s.slabs * cp->slab_size;
	in_use = s.busy - s.c.in_magazines;
	ksize_short(mem, sizeof(mem), (uint64_t)in_use * cp->obj_size);
	ksize_short(mags, sizeof(mags),
		    (uint64_t)s.c.in_magazines * cp->obj_size);
	ksnprintf(lists, sizeof(lists), "%zu/%zu/%zu", s.full, s.partial,
		  s.empty);
	/* slab memory that holds no object: padding, slack, colour, header */
	if (slab_bytes)
		waste = (slab_bytes - (uint64_t)s.total * cp->obj_size) * 100 /
			slab_bytes;
	printk("%-20s %6zu %8zu %8zu %6s %6s %11s %4zu%% %10llu %5llu\n",
	       cp->name, cp->obj_size, in_use, s.total, mem, mags, lists, waste,
	       (unsigned long long)s.allocs, (unsigned long long)s.fails);
}

void kmem_cache_print_kmastat(void)
{
	printk("%-20s %6s %8s %8s %6s %6s %11s %5s %10s %5s\n", "cache", "buf",
	       "in use", "total", "memuse", "inmags", "slabs f/p/e", "waste",
	       "allocs", "fails");
	kmem_cache_for_each(kmastat_cache, NULL);
}

/* ---- whatis (the monitor) */

struct obj_whatis {
	uintptr_t addr;
	int found;
};

/* Whether m, holding rounds objects, holds obj. */
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
	int slot;

	for_each_used_cpu (cp, slot) {
		struct kmem_cpu_cache *cc = &cp->cpu[slot];
		long rounds;

		if (found)
			break;
		irq = cpu_cache_enter(cp, cc, &rounds);
		found = magazine_holds(cc->loaded, rounds, obj) ||
			magazine_holds(cc->previous, cc->prev_rounds, obj);
		cpu_cache_leave(cp, cc, rounds, irq);
	}
	if (found || !cache_mag_size(cp))
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
