; trap_entry.asm: entry stubs for all 256 vectors: the 32 CPU exceptions,
; then the interrupts (32..255, none with an error code).
;
; Each stub makes the stack look the same: it pushes a 0 where the CPU
; pushes no error code, then the vector number, and jumps to trap_common,
; which saves the general registers and calls trap_handler(frame) with
; frame pointing at a struct trap_frame (arch/x86_64/include/trap.h):
;
;   r15 r14 ... rax | vector | error | rip cs rflags rsp ss (by the CPU)
;   ^ rsp at the call
;
; 15 registers + vector + error + 5 CPU words = 22 * 8 = 176 bytes: the
; stack stays 16-byte aligned for the call.

extern trap_handler
global trap_stubs

%macro STUB_NOERR 1
trap_stub_%1:
	push 0
	push %1
	jmp trap_common
	align 16
%endmacro

%macro STUB_ERR 1
trap_stub_%1:
	push %1
	jmp trap_common
	align 16
%endmacro

section .text
bits 64
align 16
trap_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	cld
	call trap_handler
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16                     ; vector and error code
	iretq

align 16
; Vectors 8, 10-14, 17, 21, 29 and 30 come with an error code.
STUB_NOERR 0
STUB_NOERR 1
STUB_NOERR 2
STUB_NOERR 3
STUB_NOERR 4
STUB_NOERR 5
STUB_NOERR 6
STUB_NOERR 7
STUB_ERR   8
STUB_NOERR 9
STUB_ERR   10
STUB_ERR   11
STUB_ERR   12
STUB_ERR   13
STUB_ERR   14
STUB_NOERR 15
STUB_NOERR 16
STUB_ERR   17
STUB_NOERR 18
STUB_NOERR 19
STUB_NOERR 20
STUB_ERR   21
STUB_NOERR 22
STUB_NOERR 23
STUB_NOERR 24
STUB_NOERR 25
STUB_NOERR 26
STUB_NOERR 27
STUB_NOERR 28
STUB_ERR   29
STUB_ERR   30
STUB_NOERR 31
%assign i 32
%rep 224
STUB_NOERR %[i]
%assign i i + 1
%endrep

section .rodata
align 8
trap_stubs:
%assign i 0
%rep 256
	dq trap_stub_ %+ i
%assign i i + 1
%endrep

section .note.GNU-stack noalloc noexec nowrite progbits
