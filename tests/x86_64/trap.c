/*
 * trap.c: the register dump of an exception report, formatted from a
 * frame whose every register holds a value that names it.
 */
#include "ktest.h"
#include "arch.h"
#include "kstring.h"
#include "trap.h"

KTEST(trap, register_dump_names_each_register)
{
	struct arch_regs r = {
		.rax = 0xa,
		.rbx = 0xb,
		.rcx = 0xc,
		.rdx = 0xd,
		.rsi = 0x51,
		.rdi = 0xd1,
		.rbp = 0xb9,
		.rsp = 0x59,
		.r8 = 8,
		.r9 = 9,
		.r10 = 10,
		.r11 = 11,
		.r12 = 12,
		.r13 = 13,
		.r14 = 14,
		.r15 = 15,
		.rip = 0x1b,
		.rflags = 0x202,
		.cs = 0x8,
		.ss = 0x10,
	};
	static const char want[] =
		"rax 000000000000000a rbx 000000000000000b rcx 000000000000000c\n"
		"rdx 000000000000000d rsi 0000000000000051 rdi 00000000000000d1\n"
		"rbp 00000000000000b9 rsp 0000000000000059 r8  0000000000000008\n"
		"r9  0000000000000009 r10 000000000000000a r11 000000000000000b\n"
		"r12 000000000000000c r13 000000000000000d r14 000000000000000e\n"
		"r15 000000000000000f rip 000000000000001b rflags 00000202\n"
		"cs 0008 ss 0010 cr0 ";
	char buf[640];
	size_t n = arch_format_registers(buf, sizeof(buf), &r);

	KT_EXPECT_EQ(n, kstrlen(buf));
	KT_EXPECT_MEMEQ(buf, want, sizeof(want) - 1);
	/* a buffer too short is cut, never overrun */
	buf[20] = 'x';
	KT_EXPECT_LT(arch_format_registers(buf, 20, &r), 20);
	KT_EXPECT_EQ(buf[20], 'x');
}
