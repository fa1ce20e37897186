/*
 * main.c (host): the test binary's entry. Its arguments are the kernel
 * command line (`build/host/ktest ktest=printk.*`), and it runs kmain as
 * the kernel does after boot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bootinfo.h"

/*
 * The test binary's "RAM": address space reserved, not committed, so the
 * tests that need 4 GiB (a 1 GiB jumbo page) cost only what they touch.
 */
#define HOST_TEST_RAM (6ull << 30)

static struct boot_info boot_info;

/* Describe a fresh mapping as the machine's one usable range. */
static void host_memory(struct boot_info *bi, size_t bytes)
{
	void *ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (ram == MAP_FAILED) {
		perror("ktest: mmap of the test RAM");
		return;
	}
	bi->memmap[0] =
		(struct memmap_entry){ (uintptr_t)ram, bytes, MEMMAP_USABLE };
	bi->nr_memmap = 1;
}

int main(int argc, char **argv)
{
	/* longer than the kernel keeps: bootinfo_set_cmdline cuts it as a
	 * boot loader's would be */
	static char line[4 * BOOTINFO_MAX_CMDLINE];
	size_t used = 0;

	strcpy(boot_info.loader, "host process");
	host_memory(&boot_info, HOST_TEST_RAM);
	/* KMEM_DEBUG=<modes> is kmem_debug=<modes>; one in argv comes later,
	 * and the last one counts */
	if (getenv("KMEM_DEBUG"))
		used = (size_t)snprintf(line, sizeof(line), "kmem_debug=%s",
					getenv("KMEM_DEBUG"));
	used = MIN(used, sizeof(line) - 1);
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (used + n + 2 > sizeof(line))
			break;
		if (used)
			line[used++] = ' ';
		memcpy(line + used, argv[i], n + 1);
		used += n;
	}
	bootinfo_set_cmdline(&boot_info, line, used);
	kmain(&boot_info);
}
