/*
 * double_free.c: a misuse of libkmem.a must print a line starting with
 * "panic:" on stderr and abort (the harness checks both).
 */
#include <kmem_host.h>

int main(void)
{
	void *p;

	kmem_host_init(64 << 20);
	p = arena_alloc(kpages_arena, 4096, MEM_WAIT);
	arena_free(kpages_arena, p, 4096);
	arena_free(kpages_arena, p, 4096);
	return 0;
}
