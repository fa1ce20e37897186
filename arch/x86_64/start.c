/*
 * start.c: the first C code of the kernel. boot.asm calls arch_start64 in
 * long mode, on the boot stack, at the kernel's -2 GiB address, with the
 * physical address of the multiboot2 information block. The low 4 GiB are
 * identity-mapped (until arch_memory_init replaces the boot page tables),
 * so that block is read where it is, into a copy kern/ keeps using.
 */
#include "arch.h"
#include "cpu.h"
#include "multiboot2.h"
#include "paging.h"
#include "percpu.h"
#include "panic.h"
#include "printk.h"
#include "serial.h"
#include "trap.h"

#define IDENTITY_MAP_END (4ull << 30)
#define MB2_INFO_MAX (1u << 20)

__noreturn void arch_start64(uint64_t info_pa);

static struct boot_info boot_info;

const struct boot_info *arch_boot_info(void)
{
	return &boot_info;
}

/* How much of the block may be read: its stated size, within the map. */
static size_t info_readable(uint64_t info_pa)
{
	uint32_t stated = *(const uint32_t *)info_pa;
	uint64_t room = IDENTITY_MAP_END - info_pa;

	return (size_t)MIN(MIN((uint64_t)stated, room), (uint64_t)MB2_INFO_MAX);
}

void arch_start64(uint64_t info_pa)
{
	char err[160];

	smp_boot_cpu_early(); /* GS base first: arch_cpu_id() reads it */
	serial_init();
	if (info_pa == 0 || info_pa + 16 > IDENTITY_MAP_END)
		panic("multiboot2: information block at 0x%llx is outside the boot identity map (0..4 GiB)",
		      (unsigned long long)info_pa);
	if (multiboot2_parse((const void *)info_pa, info_readable(info_pa),
			     &boot_info, err, sizeof(err)))
		printk("%s; going on with what was read before it\n", err);
	boot_info.reserved[0] = (struct boot_reserved){
		(uint64_t)__kernel_start_pa,
		(uint64_t)(__kernel_end_pa - __kernel_start_pa), "kernel image"
	};
	boot_info.reserved[1] =
		(struct boot_reserved){ info_pa, boot_info.info_size,
					"multiboot2 information" };
	boot_info.nr_reserved = 2;
	kmain(&boot_info);
}
