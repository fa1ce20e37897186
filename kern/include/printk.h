/* printk.h: formatted output to the console, and panic. */
#pragma once

#include "compiler.h"

struct arch_regs;

/* Format like kvsnprintf (lib/include/kprintf.h) and write to the console. */
int printk(const char *fmt, ...) __printf(1, 2);
int vprintk(const char *fmt, va_list ap);

/*
 * Begin every line printk writes from now on with prefix (NULL: nothing).
 * The test runner sets the KTAP diagnostic prefix ("    # ") while a test
 * runs, so what a test prints is a diagnostic of that test. An unfinished
 * line is ended first. prefix must stay valid while it is in use.
 */
void printk_set_line_prefix(const char *prefix);

/*
 * For tests: from printk_capture_begin() to printk_capture_end(), keep a
 * copy of what printk writes (without line prefixes) in buf, as a string
 * of at most size - 1 characters. The console still gets everything.
 * printk_capture_end() returns the length of all that was printed, which
 * is size or more when buf could not hold it all.
 */
void printk_capture_begin(char *buf, size_t size);
size_t printk_capture_end(void);

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
