/* printk.h: formatted output to the console (panic: panic.h). */
#pragma once

#include "compiler.h"

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
