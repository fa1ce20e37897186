/* trap.h: the CPU exceptions, their frame, and the GDT/IDT that route them. */
#pragma once

#include "compiler.h"

/* What trap_entry.asm leaves on the stack; also the kernel's struct arch_regs. */
struct arch_regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

#define VECTOR_NMI 2
#define VECTOR_DOUBLE_FAULT 8
#define VECTOR_PAGE_FAULT 14
/* The first vector that is an interrupt, not an exception. */
#define VECTOR_FIRST_IRQ 32
#define NR_VECTORS 256

#define GDT_CODE 0x08
#define GDT_DATA 0x10
#define GDT_TSS 0x18

/* The 64-bit task state segment: only its stack pointers are used. */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct cpu;

/*
 * Load c's GDT (code, data, and c's TSS, whose IST1 is c's double-fault
 * stack) on this CPU.
 */
void gdt_init(struct cpu *c);

/* Build the IDT (once) and load it on this CPU: 256 gates. */
void idt_init(void);

/*
 * The common C handler: an exception (vector < 32) is reported and
 * panics; an interrupt goes to irq_handler (apic.c).
 */
void trap_handler(struct arch_regs *regs);
void irq_handler(struct arch_regs *regs);

/* "Page Fault (#PF)" and so on; "unknown" past 31. */
const char *trap_name(uint64_t vector);
