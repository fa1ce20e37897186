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

#define VECTOR_DOUBLE_FAULT 8
#define VECTOR_PAGE_FAULT 14

/* Load the kernel's GDT (code, data, TSS with an IST stack for #DF). */
void gdt_init(void);

/* Load the IDT with the 32 exception handlers. */
void idt_init(void);

/* The common C handler: reports the exception and panics. */
void trap_handler(struct arch_regs *regs);

/* "Page Fault (#PF)" and so on; "unknown" past 31. */
const char *trap_name(uint64_t vector);
