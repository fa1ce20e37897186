; boot.asm: the multiboot2 header and the 32-bit entry from GRUB to long mode.
;
; GRUB jumps to _start in 32-bit protected mode, paging off, with
;   eax = 0x36d76289 (the multiboot2 magic), ebx = physical address of the
;   multiboot2 information block.
; We check both that magic and that the CPU has long mode, load a GDT of our
; own, build the boot page tables, turn on PAE, long mode and paging, and
; jump to 64-bit code at the kernel's higher-half address with the info
; address in rdi.
;
; Boot page tables (2 MiB pages):
;
;   PML4[0]   -> pdpt_low:  [0..3] -> pd0..pd3   identity map of 0..4 GiB
;   PML4[511] -> pdpt_high: [510]  -> pd0        -2 GiB -> 0..1 GiB
;
; The identity map covers the multiboot2 info wherever GRUB put it below
; 4 GiB; the -2 GiB map covers the kernel image (linked there, loaded at
; 1 MiB). Both live in .boot.bss, inside the first PT_LOAD segment, so
; GRUB zeroes them.
;
; A failed check prints its reason on COM1 and the VGA text screen, asks
; QEMU to exit through isa-debug-exit with BOOT_FAILURE, and halts.

MB2_MAGIC        equ 0xe85250d6
MB2_BOOT_MAGIC   equ 0x36d76289
MB2_ARCH_I386    equ 0
KERNEL_VMA       equ 0xffffffff80000000
COM1             equ 0x3f8
QEMU_EXIT_PORT   equ 0xf4
BOOT_FAILURE     equ 0x13           ; QEMU exits with (0x13 << 1) | 1 = 39
PTE_P            equ 1 << 0
PTE_W            equ 1 << 1
PTE_PS           equ 1 << 7
CR4_PAE          equ 1 << 5
CR0_PE           equ 1 << 0
CR0_WP           equ 1 << 16
CR0_PG           equ 1 << 31
MSR_EFER         equ 0xc0000080
EFER_LME         equ 1 << 8
BOOT_STACK_SIZE  equ 16384
GDT_CODE64       equ 0x08           ; selectors in gdt64 below
GDT_DATA64       equ 0x10

extern arch_start64                 ; arch/x86_64/start.c (higher half)
global _start
global boot_stack
global boot_stack_top

section .multiboot2 align=8
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; end tag: type 0, flags 0, size 8
	dw 0
	dw 0
	dd 8
mb2_header_end:

section .boot.text progbits alloc exec nowrite align=16
bits 32
_start:
	cli
	cld
	mov esp, boot_stack32_top
	mov edi, eax                    ; keep magic and info across calls
	mov esi, ebx

	cmp edi, MB2_BOOT_MAGIC
	jne .no_multiboot2

	; CPUID must offer leaf 0x80000001, and it must report LM (edx bit 29).
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode

	call build_page_tables

	mov eax, boot_pml4
	mov cr3, eax
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_PE | CR0_WP
	mov cr0, eax

	lgdt [gdt_pointer32]
	jmp GDT_CODE64:long_mode_low

.no_multiboot2:
	mov ebx, msg_no_multiboot2
	jmp boot_fail
.no_long_mode:
	mov ebx, msg_no_long_mode
	jmp boot_fail

; build_page_tables: fill the tables drawn at the top of this file.
build_page_tables:
	mov dword [boot_pml4], pdpt_low + (PTE_P | PTE_W)
	mov dword [boot_pml4 + 511 * 8], pdpt_high + (PTE_P | PTE_W)
	mov dword [pdpt_high + 510 * 8], pd0 + (PTE_P | PTE_W)
	mov dword [pdpt_low + 0 * 8], pd0 + (PTE_P | PTE_W)
	mov dword [pdpt_low + 1 * 8], pd0 + 4096 + (PTE_P | PTE_W)
	mov dword [pdpt_low + 2 * 8], pd0 + 8192 + (PTE_P | PTE_W)
	mov dword [pdpt_low + 3 * 8], pd0 + 12288 + (PTE_P | PTE_W)
	; pd0..pd3 are contiguous: 2048 entries of 2 MiB cover 4 GiB.
	xor ecx, ecx
.next_pde:
	mov eax, ecx
	shl eax, 21                     ; low 32 bits of ecx * 2 MiB
	or eax, PTE_P | PTE_W | PTE_PS
	mov edx, ecx
	shr edx, 11                     ; high bits: ecx * 2 MiB >> 32
	mov [pd0 + ecx * 8], eax
	mov [pd0 + ecx * 8 + 4], edx
	inc ecx
	cmp ecx, 2048
	jne .next_pde
	ret

; boot_fail: print the string at ebx on COM1 and VGA, exit QEMU, halt.
boot_fail:
	mov esi, ebx
	mov edi, 0xb8000
.next_char:
	lodsb
	test al, al
	jz .halt
	mov ah, 0x4f                    ; white on red
	mov [edi], ax
	add edi, 2
	mov bl, al
	mov dx, COM1 + 5
.wait_tx:
	in al, dx
	test al, 0x20
	jz .wait_tx
	mov al, bl
	mov dx, COM1
	out dx, al
	jmp .next_char
.halt:
	mov al, BOOT_FAILURE
	out QEMU_EXIT_PORT, al
.hang:
	hlt
	jmp .hang

bits 64
long_mode_low:
	; Still running at the physical address: reload the data segments and
	; jump to the higher-half copy of the kernel.
	mov ax, GDT_DATA64
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor ax, ax
	mov fs, ax
	mov gs, ax
	mov rsp, boot_stack_top
	xor ebp, ebp                    ; the end of every backtrace
	mov edi, esi                    ; multiboot2 info (physical)
	mov rax, arch_start64
	push 0                          ; a null return address ends backtraces
	jmp rax                         ; arch_start64 never returns
.hang64:
	cli
	hlt
	jmp .hang64

section .boot.data progbits alloc noexec write align=16
gdt64:
	dq 0                            ; null descriptor
	dq 0x00209a0000000000           ; 0x08: 64-bit code, present, ring 0
	dq 0x0000920000000000           ; 0x10: data, present, writable
gdt64_end:
gdt_pointer32:
	dw gdt64_end - gdt64 - 1
	dd gdt64

msg_no_multiboot2:
	db "boot: not started by a multiboot2 loader (bad magic in eax); boot this kernel from GRUB with 'multiboot2'", 13, 10, 0
msg_no_long_mode:
	db "boot: this CPU has no long mode (CPUID 0x80000001 EDX.LM); a 64-bit CPU is needed", 13, 10, 0

section .boot.bss nobits alloc noexec write align=4096
boot_pml4:  resb 4096
pdpt_low:   resb 4096
pdpt_high:  resb 4096
pd0:        resb 4 * 4096
boot_stack32:
	resb 1024
boot_stack32_top:

section .bss nobits alloc noexec write align=16
boot_stack:
	resb BOOT_STACK_SIZE
boot_stack_top:

section .note.GNU-stack noalloc noexec nowrite progbits
