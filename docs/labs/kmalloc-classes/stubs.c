/*
 * stubs.c: what `make lab-start LAB=kmalloc-classes` puts in place of the
 * lab's functions (found by name in kern/src/kmalloc.c and
 * kern/src/kmalloc_tag.c). Both are correct for every tag kmalloc
 * writes, so the kernel boots and every test but this lab's passes:
 * small_class answers the largest class, which holds any small request
 * (but every small buffer then costs 8192 bytes, and kmalloc(100) is not
 * an object of kmalloc_128); decode_small trusts the tag's offset, so a
 * tag whose check holds but whose offset no buffer has is read as a
 * buffer.
 */

static inline unsigned small_class(size_t need)
{
	/* LAB kmalloc-classes: the smallest class that holds need (README.md) */
	(void)need;
	return KMALLOC_NR_CACHES - 1;
}

static bool decode_small(struct kmalloc_view *v)
{
	/* LAB kmalloc-classes: refuse fields no small buffer has (README.md) */
	size_t obj_size = KMALLOC_MIN_OBJ << v->size_class;

	v->start = v->buf - v->offset;
	v->size = obj_size;
	v->usable = obj_size - v->offset;
	return true;
}
