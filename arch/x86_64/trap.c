/*
 * trap.c: the GDT, the IDT and the report of a CPU exception.
 *
 * The kernel runs in ring 0 only, so every exception is a bug:
 * trap_handler() names it and the CPU it happened on, gives the error
 * code, RIP and (for a page fault) CR2 with what the error code means, and
 * panics with the trap's registers, so the backtrace starts at the
 * faulting instruction. Vectors 32 and up are interrupts (apic.c).
 *
 * A double fault has a stack of its own (IST1 in each CPU's TSS): when
 * the kernel stack overflows, the report still gets printed.
 */
#include "trap.h"
#include "cpu.h"
#include "kprintf.h"
#include "panic.h"
#include "ksyms.h"
#include "percpu.h"

#define IST_DOUBLE_FAULT 1

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type; /* 0x8e: present, ring 0, interrupt gate */
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct descriptor_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static struct idt_gate idt[NR_VECTORS];
extern const uint64_t trap_stubs[NR_VECTORS];

void gdt_init(struct cpu *c)
{
	struct tss *tss = &c->tss;
	uint64_t *gdt = c->gdt;
	uint64_t base = (uint64_t)tss, limit = sizeof(*tss) - 1;
	struct descriptor_pointer p = { sizeof(c->gdt) - 1, (uint64_t)gdt };

	tss->ist[IST_DOUBLE_FAULT - 1] = (uint64_t)c->double_fault_stack;
	tss->iomap_base = sizeof(*tss);
	gdt[0] = 0;
	gdt[1] = 0x00209a0000000000; /* 64-bit code, ring 0 */
	gdt[2] = 0x0000920000000000; /* data */
	/* 16-byte TSS descriptor: type 9 (available 64-bit TSS), present */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		 (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
		 (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;

	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(p), "i"(GDT_CODE), "r"(GDT_DATA), "r"(GDT_TSS)
			 : "rax", "memory");
}

void idt_init(void)
{
	static bool built;
	struct descriptor_pointer p = { sizeof(idt) - 1, (uint64_t)idt };

	for (int v = 0; !built && v < NR_VECTORS; v++) {
		uint64_t a = trap_stubs[v];

		idt[v] = (struct idt_gate){
			.offset_low = a & 0xffff,
			.selector = GDT_CODE,
			.ist = v == VECTOR_DOUBLE_FAULT ? IST_DOUBLE_FAULT : 0,
			.type = 0x8e,
			.offset_mid = (a >> 16) & 0xffff,
			.offset_high = a >> 32,
		};
	}
	built = true;
	__asm__ volatile("lidt %0" : : "m"(p));
}

const char *trap_name(uint64_t vector)
{
	static const char *const names[32] = {
		"Divide Error (#DE)",
		"Debug (#DB)",
		"Non-Maskable Interrupt (NMI)",
		"Breakpoint (#BP)",
		"Overflow (#OF)",
		"BOUND Range Exceeded (#BR)",
		"Invalid Opcode (#UD)",
		"Device Not Available (#NM)",
		"Double Fault (#DF)",
		"Coprocessor Segment Overrun",
		"Invalid TSS (#TS)",
		"Segment Not Present (#NP)",
		"Stack-Segment Fault (#SS)",
		"General Protection (#GP)",
		"Page Fault (#PF)",
		"reserved (15)",
		"x87 Floating-Point (#MF)",
		"Alignment Check (#AC)",
		"Machine Check (#MC)",
		"SIMD Floating-Point (#XM)",
		"Virtualization (#VE)",
		"Control Protection (#CP)",
		"reserved (22)",
		"reserved (23)",
		"reserved (24)",
		"reserved (25)",
		"reserved (26)",
		"reserved (27)",
		"Hypervisor Injection (#HV)",
		"VMM Communication (#VC)",
		"Security (#SX)",
		"reserved (31)",
	};

	return vector < 32 ? names[vector] : "unknown";
}

/* Say in words what a page fault's error code means. */
static void describe_page_fault(char *buf, size_t len, uint64_t error)
{
	ksnprintf(buf, len, "%s, %s, %s mode%s%s",
		  error & 1 ? "protection violation" : "page not present",
		  error & 2 ? "write" : "read", error & 4 ? "user" : "kernel",
		  error & 8 ? ", reserved bit set" : "",
		  error & 16 ? ", instruction fetch" : "");
}

void trap_handler(struct arch_regs *regs)
{
	/* ", cr2 0x<16 digits> (" and what, with every flag: under 128 */
	char detail[128] = "";
	uint64_t offset = 0;
	const char *fn;

	if (regs->vector >= VECTOR_FIRST_IRQ) {
		irq_handler(regs);
		return;
	}
	if (regs->vector == VECTOR_NMI) {
		smp_nmi(regs);
		return;
	}
	fn = ksym_lookup(regs->rip, &offset);
	if (regs->vector == VECTOR_PAGE_FAULT) {
		/* all five parts: 77 characters */
		char what[96];

		describe_page_fault(what, sizeof(what), regs->error);
		ksnprintf(detail, sizeof(detail), ", cr2 0x%llx (%s)",
			  (unsigned long long)read_cr2(), what);
	}
	panic_regs(regs,
		   "CPU %d: %s at rip 0x%llx (%s+0x%llx), error code 0x%llx%s",
		   arch_cpu_id(), trap_name(regs->vector),
		   (unsigned long long)regs->rip, fn ? fn : "?",
		   (unsigned long long)offset, (unsigned long long)regs->error,
		   detail);
}
