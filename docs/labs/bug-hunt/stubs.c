/*
 * stubs.c: what `make lab-start LAB=bug-hunt` puts in place of one
 * function of kern/src/kmalloc.c: a version with a bug planted. Find it
 * with the debug modes and the gdb helpers before you read this file
 * (README.md says how).
 */

void *krealloc(void *buf, size_t size, int flags)
{
	struct kmalloc_view v;
	void *new;

	if (!buf)
		return kmalloc_common(__func__, size, flags, TAG_SIZE);
	kmalloc_check_flags(__func__, size, flags);
	buffer_lookup(__func__, buf, &v);
	if (!size) {
		buffer_release(__func__, &v);
		return NULL;
	}
	if (size <= v.usable && !shrink_moves(&v, size))
		return buf;
	/* shrinking can always stay in place: never fail or wait for it */
	new = kmalloc_common(__func__, size,
			     size <= v.usable ? MEM_ATOMIC : flags, TAG_SIZE);
	if (!new)
		return size <= v.usable ? buf : NULL;
	buffer_release(__func__, &v);
	kmemcpy(new, buf, MIN(size, v.usable));
	return new;
}
