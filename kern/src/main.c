/*
 * main.c: kmain, where the arch-neutral kernel starts once the machine is
 * set up (arch/x86_64/start.c, or the host's main()). With the word
 * `monitor` on the command line it offers the serial monitor after the
 * tests instead of leaving.
 */
#include "bootinfo.h"
#include "arch.h"
#include "cmdline.h"
#include "ktest.h"
#include "monitor.h"
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
	if (cmdline_has(bi->cmdline, "monitor"))
		monitor_run(failed);
	arch_exit(ktest_exit_status(failed));
}
