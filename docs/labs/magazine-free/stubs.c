/*
 * stubs.c: what `make lab-start LAB=magazine-free` puts in place of the
 * lab's functions (found by name in kern/include/slab_impl.h and
 * kern/src/slab.c). They are correct, so the kernel boots and every
 * other test passes, but no freed object ever goes into a magazine: each
 * free reaches the slab layer, and the magazines stay empty.
 */

static inline __attribute__((always_inline)) bool
magazine_push(struct kmem_cache *cp, void *obj, bool look)
{
	/* LAB magazine-free: the fast path's push (README.md) */
	(void)cp;
	(void)obj;
	(void)look;
	return false;
}

static __attribute__((noinline)) void
cpu_free_slow(struct kmem_cache *cp, struct kmem_cpu_cache *cc, void *obj)
{
	/* LAB magazine-free: the slow path: swap, depot, a new magazine */
	(void)cc;
	slab_free(cp, obj);
}
