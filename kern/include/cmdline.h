/*
 * cmdline.h: reading the kernel command line, a list of words separated by
 * spaces: `key=value` or a bare `flag`.
 */
#pragma once

#include "compiler.h"

/*
 * Copy the value of the last `key=value` word into buf (size len, always
 * terminated). Returns true when key was given with a value; a value too
 * long for buf is cut short and still counts.
 */
bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);

/*
 * Like cmdline_get, for a key that may be given more than once: the value
 * of the nth (from 0) `key=value` word. Returns false when there is none.
 */
bool cmdline_get_nth(const char *cmdline, const char *key, size_t nth,
		     char *buf, size_t len);

/* Whether the bare word `flag` (or `flag=...`) appears. */
bool cmdline_has(const char *cmdline, const char *flag);
