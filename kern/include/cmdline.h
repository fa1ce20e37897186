/*
 * cmdline.h: reading the kernel command line, a list of words separated by
 * spaces: `key=value` or a bare `flag`.
 */
#pragma once

#include "compiler.h"

/*
 * The value of the nth (from 0) `key=value` word, in place: *value points
 * into cmdline and *len is its length, however long (nothing is copied,
 * so nothing is cut). Returns false when there is no nth one. A bare
 * `key` (no '=') has no value and is not counted.
 */
bool cmdline_find_nth(const char *cmdline, const char *key, size_t nth,
		      const char **value, size_t *len);

/*
 * The next `key=value` word at or after *pos (start with 0): its value in
 * place, as cmdline_find_nth gives it, and *pos moved past it. Returns
 * false at the end of the line. Walking all of a key's values this way
 * reads the line once; asking find_nth for each would read it once each.
 */
bool cmdline_next(const char *cmdline, const char *key, size_t *pos,
		  const char **value, size_t *len);

/* How many `key=value` words there are. */
size_t cmdline_count(const char *cmdline, const char *key);

/*
 * Copy the value of the nth `key=value` word into buf (size len, always
 * terminated). Returns true when it was there and fit whole. A value too
 * long for buf is never cut short: the console gets a line naming the
 * option and both lengths, buf is left empty and the result is false.
 */
bool cmdline_get_nth(const char *cmdline, const char *key, size_t nth,
		     char *buf, size_t len);

/*
 * cmdline_get_nth for the last `key=value` word: for an option that takes
 * one value, the last one given counts (callers that care say so when
 * there are several: cmdline_count).
 */
bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len);

/* Whether the bare word `flag` (or `flag=...`) appears. */
bool cmdline_has(const char *cmdline, const char *flag);
