/*
 * slab_check.c: the invariants, §5 of the theory statement in slab.c, and
 * kmem_cache_check, which walks a cache and verifies each of them: its
 * slabs and their free lists or bufctls, the busy hash, every CPU's
 * magazines and the depot. Under kmem_debug=check (§7) it runs after
 * every allocation and free.
 */
#include "slab_impl.h"
#include "panic.h"
#include "printk.h"

struct slab_check {
	struct kmem_cache *cp;
	const void *where;
	const char *what;
};

/* Note the first violation c found, and say the cache is not sound. */
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

/* A cache's lists of slabs. */
enum slab_list { SLAB_LIST_EMPTY, SLAB_LIST_PARTIAL, SLAB_LIST_FULL };

/* The list a slab belongs on, by how many of its objects are out. */
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
	int slot;

	spin_unlock_irqrestore(&cp->lock, irq);
	/* lock order: a CPU's lock, then the depot's, then the cache's */
	for_each_used_cpu (cp, slot) {
		long rounds;

		if (!ok)
			break;
		irq = cpu_cache_enter(cp, &cp->cpu[slot], &rounds);
		spin_lock(&cp->lock);
		ok = check_cpu_locked(c, &cp->cpu[slot], rounds);
		spin_unlock(&cp->lock);
		cpu_cache_leave(cp, &cp->cpu[slot], rounds, irq);
	}
	/* slot 0, for threads without a number, never has magazines */
	if (ok && (cp->cpu[0].loaded || cp->cpu[0].previous))
		ok = slab_violation(
			c, &cp->cpu[0],
			"the slot of CPUs without a number has magazines");
	if (ok && cache_mag_size(cp)) {
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

/* Under kmem_debug=check: panic, naming fn and obj, unless cp is sound. */
void slab_debug_check_now(struct kmem_cache *cp, const char *fn, void *obj)
{
	struct slab_check c = { .cp = cp };

	if (!cache_check(cp, &c))
		panic("%s: kmem_debug=check: cache '%s' is inconsistent after this call (obj %p): %s: at %p",
		      fn, cp->name, obj, c.what, c.where);
}
