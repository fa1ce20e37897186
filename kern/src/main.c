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

/*
 * The runner's options take one value each: given more than once, the
 * last one counts; say so (mem= and kmem_debug= say it themselves).
 */
static void say_repeated(const char *cmdline)
{
	static const char *const single[] = { "ktest", "ktest_panic" };

	for (size_t i = 0; i < ARRAY_SIZE(single); i++) {
		size_t n = cmdline_count(cmdline, single[i]), len;
		const char *v;

		if (n < 2 ||
		    !cmdline_find_nth(cmdline, single[i], n - 1, &v, &len))
			continue;
		printk("%s: given %zu times; the last one counts: %s=%.*s%s\n",
		       single[i], n, single[i], (int)MIN(len, (size_t)64), v,
		       len > 64 ? "..." : "");
	}
}

void kmain(const struct boot_info *bi)
{
	int failed;

	printk("\nkmem: a teaching kernel memory subsystem\n");
	printk("boot loader: %s\n", bi->loader[0] ? bi->loader : "(unknown)");
	bootinfo_print_cmdline(bi);
	say_repeated(bi->cmdline);
	bootinfo_print_memmap(bi);
	pmem_init_from_boot(bi);
	arch_cpus_init(bi);

	failed = ktest_main(bi->cmdline);
	if (cmdline_has(bi->cmdline, "monitor"))
		monitor_run(failed);
	arch_exit(ktest_exit_status(failed));
}
