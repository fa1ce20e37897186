/*
 * kmem_host.c: kmem_host_init, the host library's boot: memory from the
 * OS, described as a one-entry memory map, through the same
 * pmem_init_from_boot the kernel runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "host.h"
#include "kmem_host.h"
#include "kmalloc.h"
#include "page.h"
#include "pmem.h"
#include "slab.h"
#include "panic.h"

/* Less than this cannot hold the arenas' own structures. */
#define KMEM_HOST_MIN_RAM (64 * PGSIZE)

void kmem_host_init(size_t ram_bytes)
{
	static int called;
	static struct boot_info bi;
	void *ram;

	if (__atomic_exchange_n(&called, 1, __ATOMIC_ACQ_REL))
		panic("kmem_host_init: called twice (once per process)");
	if (ram_bytes < KMEM_HOST_MIN_RAM)
		panic("kmem_host_init: %zu bytes of RAM is too little; give at least %lu",
		      ram_bytes, (unsigned long)KMEM_HOST_MIN_RAM);
	ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		panic("kmem_host_init: mmap of %zu bytes failed: %s", ram_bytes,
		      strerror(errno));
	strcpy(bi.loader, "kmem_host_init");
	/* the debug modes, as the kernel takes them from its command line */
	if (getenv("KMEM_DEBUG")) {
		const char *modes = getenv("KMEM_DEBUG");
		size_t n = strlen("kmem_debug=") + strlen(modes);
		char *line = malloc(n + 1);

		if (line) {
			snprintf(line, n + 1, "kmem_debug=%s", modes);
			/* too long: ignored whole, never half of it */
			bootinfo_set_cmdline(&bi, line, n);
			free(line);
		}
		if (bi.cmdline_given > strlen(bi.cmdline))
			fprintf(stderr,
				"kmem_host_init: KMEM_DEBUG is %zu characters, more than the %d a command line keeps; ignored\n",
				strlen(modes),
				BOOTINFO_MAX_CMDLINE -
					(int)sizeof("kmem_debug="));
	}
	bi.memmap[0] = (struct memmap_entry){ (uintptr_t)ram, ram_bytes,
					      MEMMAP_USABLE };
	bi.nr_memmap = 1;
	/* the tables pmem_init prints are for KMEM_VERBOSE=1 only */
	host_console_quiet(!getenv("KMEM_VERBOSE"));
	pmem_init_from_boot(&bi);
	host_console_quiet(false);
}
