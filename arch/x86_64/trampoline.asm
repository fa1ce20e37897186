; trampoline.asm: where another CPU starts (smp.c copies this page below
; 1 MiB and sends it start-up IPIs).
;
; A start-up IPI with vector V starts the CPU in real mode at V:0000, that
; is at physical address V * 4096, where this code is copied. It goes
; straight to long mode: it loads a GDT of its own (in this page), turns
; on PAE, loads the kernel's page tables (their top below 4 GiB, this
; page mapped at its own address), sets EFER (long mode, no-execute),
; turns on protection and paging together, and jumps far into 64-bit
; code here. That code takes its stack, its struct cpu and the kernel's
; C entry (ap_start64) from the parameter block smp.c filled in, and
; jumps there, at the kernel's address.
;
; The code runs at whatever address it was copied to: the 16-bit part
; addresses through DS = CS (offsets from the start of the page), the
; 64-bit part RIP-relative, and the two absolute addresses it needs (the
; GDT's and the 64-bit entry's) are filled in by smp.c.

global trampoline_start
global trampoline_end

CR4_PAE     equ 1 << 5
CR0_PE_WP_PG equ (1 << 0) | (1 << 16) | (1 << 31)
MSR_EFER    equ 0xc0000080
GDT_CODE64  equ 0x08
GDT_DATA    equ 0x10

; The parameter block (struct trampoline_params in smp.c), at offset 8.
P_GDT_LIMIT  equ 8
P_GDT_BASE   equ 10
P_LONG_ENTRY equ 16       ; offset (32 bits), then the selector (16 bits)
P_CR3        equ 24
P_EFER       equ 28
P_STACK      equ 32
P_CPU        equ 40
P_ENTRY      equ 48
P_GDT        equ 56       ; three descriptors: null, 64-bit code, data
P_END        equ 80

section .rodata
align 16
bits 16
trampoline_start:
	cli
	jmp short real_mode
	align 8, db 0
	times P_END - 8 db 0
real_mode:
	cld
	mov ax, cs
	mov ds, ax
	o32 lgdt [P_GDT_LIMIT]
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, [P_CR3]
	mov cr3, eax
	mov ecx, MSR_EFER
	mov eax, [P_EFER]
	xor edx, edx
	wrmsr
	mov eax, cr0
	or eax, CR0_PE_WP_PG
	mov cr0, eax
	jmp dword far [P_LONG_ENTRY]

bits 64
global trampoline_long
trampoline_long:
	mov ax, GDT_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	lea rbx, [rel trampoline_start]
	mov rsp, [rbx + P_STACK]
	mov rdi, [rbx + P_CPU]
	mov rax, [rbx + P_ENTRY]
	xor ebp, ebp                    ; the end of every backtrace
	push 0                          ; a null return address ends it too
	jmp rax                         ; ap_start64(cpu) never returns
trampoline_end:

section .note.GNU-stack noalloc noexec nowrite progbits
