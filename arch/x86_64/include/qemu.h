/*
 * qemu.h: leaving QEMU through its isa-debug-exit device (port 0xf4).
 *
 * Writing v makes QEMU exit with status (v << 1) | 1, so no code we write
 * can produce 0, which is what a triple fault under -no-reboot gives. The
 * harness (tests/qemu.py) knows these statuses.
 */
#pragma once

#define QEMU_EXIT_PORT 0xf4
#define QEMU_EXIT_PASSED 0x10 /* QEMU status 33: every test passed */
#define QEMU_EXIT_FAILED 0x11 /* QEMU status 35: some test failed */
#define QEMU_EXIT_PANIC 0x12  /* QEMU status 37: the kernel panicked */
#define QEMU_EXIT_BOOT 0x13 /* QEMU status 39: boot checks failed (boot.asm) */
#define QEMU_EXIT_NONE_RAN 0x14 /* QEMU status 41: ktest= matched no test */

void qemu_exit(unsigned code);
