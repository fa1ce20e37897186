/*
 * main.c: kmain, where the arch-neutral kernel starts once the machine is
 * set up (arch/x86_64/start.c, or the host's main()).
 */
#include "bootinfo.h"
#include "arch.h"
#include "ktest.h"
#include "pmem.h"
#include "printk.h"

void kmain(const struct boot_info *bi)
{
	int failed;

	printk("\nkmem: a teaching kernel memory subsystem\n");
	printk("boot loader: %s\n", bi->loader[0] ? bi->loader : "(unknown)");
	printk("command line: '%s'\n", bi->cmdline);
	bootinfo_print_memmap(bi);
	pmem_init_from_boot(bi);

	failed = ktest_main(bi->cmdline);
	arch_exit(failed ? 1 : 0);
}
