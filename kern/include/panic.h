/*
 * panic.h: stop the kernel with a report (kern/src/panic.c). Misuse of an
 * allocator, a failed assert and a trap all end here.
 */
#pragma once

#include "compiler.h"

struct arch_regs;

/*
 * Stop the kernel: print "panic: <message>", the registers and a backtrace
 * with symbol names, then leave (QEMU exits with its panic code; the host
 * aborts). A test that expects the panic is told first.
 */
__noreturn void panic(const char *fmt, ...) __printf(1, 2);

/*
 * panic, with more after the message line: what details() prints (with
 * printk) goes into the report too, so tests that expect the panic can
 * check it (arena exhaustion prints the arena table so).
 */
__noreturn void panic_details(void (*details)(void), const char *fmt, ...)
	__printf(2, 3);

/* While panic_details prints details: add s to the report (true). */
bool panic_capture(const char *s, size_t n);

/* Whether this CPU is writing a panic report (the console lock yields). */
bool panic_on_this_cpu(void);

/*
 * Have text(s, n) called with each piece of a panic report as it is
 * written, and end() after the last, before the kernel stops (the test
 * runner checks tests that must panic this way; the report is never kept
 * whole, so no buffer limits it).
 */
void panic_set_hook(void (*text)(const char *s, size_t n), void (*end)(void));

/* The same, for a trap: registers and backtrace are those of regs. */
__noreturn void panic_regs(const struct arch_regs *regs, const char *fmt, ...)
	__printf(2, 3);
