/*
 * main.c (host): the test binary's entry. Its arguments are the kernel
 * command line (`build/host/ktest ktest=printk.*`), and it runs kmain as
 * the kernel does after boot.
 */
#include <string.h>

#include "bootinfo.h"

static struct boot_info boot_info;

int main(int argc, char **argv)
{
	size_t used = 0;

	strcpy(boot_info.loader, "host process");
	for (int i = 1; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (used + n + 2 > sizeof(boot_info.cmdline))
			break;
		if (used)
			boot_info.cmdline[used++] = ' ';
		memcpy(boot_info.cmdline + used, argv[i], n + 1);
		used += n;
	}
	kmain(&boot_info);
}
