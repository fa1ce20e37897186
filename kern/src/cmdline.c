/* cmdline.c: finding words in the kernel command line (see cmdline.h). */
#include "cmdline.h"
#include "kstring.h"
#include "printk.h"

/* The next word of s at or after *pos; returns its length, 0 at the end. */
static size_t next_word(const char *s, size_t *pos)
{
	size_t start, end;

	while (s[*pos] == ' ' || s[*pos] == '\t')
		(*pos)++;
	start = end = *pos;
	while (s[end] && s[end] != ' ' && s[end] != '\t')
		end++;
	*pos = end;
	return end - start;
}

/* Whether the word of length n at w is key, or starts with "key=". */
static bool word_is_key(const char *w, size_t n, const char *key,
			size_t key_len)
{
	return n >= key_len && kstrncmp(w, key, key_len) == 0 &&
	       (n == key_len || w[key_len] == '=');
}

bool cmdline_next(const char *cmdline, const char *key, size_t *pos,
		  const char **value, size_t *len)
{
	size_t key_len = kstrlen(key), n;

	while ((n = next_word(cmdline, pos)) != 0) {
		const char *w = cmdline + *pos - n;

		if (!word_is_key(w, n, key, key_len) || n == key_len)
			continue;
		*value = w + key_len + 1;
		*len = n - key_len - 1;
		return true;
	}
	return false;
}

bool cmdline_find_nth(const char *cmdline, const char *key, size_t nth,
		      const char **value, size_t *len)
{
	size_t pos = 0;

	while (cmdline_next(cmdline, key, &pos, value, len))
		if (nth-- == 0)
			return true;
	return false;
}

size_t cmdline_count(const char *cmdline, const char *key)
{
	size_t pos = 0, count = 0, len;
	const char *value;

	while (cmdline_next(cmdline, key, &pos, &value, &len))
		count++;
	return count;
}

bool cmdline_get_nth(const char *cmdline, const char *key, size_t nth,
		     char *buf, size_t len)
{
	const char *value;
	size_t vlen;

	buf[0] = 0;
	if (!cmdline_find_nth(cmdline, key, nth, &value, &vlen))
		return false;
	if (vlen >= len) {
		printk("%s=%.*s%s: %zu characters, more than the %zu this option takes; ignored\n",
		       key, (int)MIN(vlen, (size_t)32), value,
		       vlen > 32 ? "..." : "", vlen, len - 1);
		return false;
	}
	kmemcpy(buf, value, vlen);
	buf[vlen] = 0;
	return true;
}

bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
	size_t n = cmdline_count(cmdline, key);

	buf[0] = 0;
	return n && cmdline_get_nth(cmdline, key, n - 1, buf, len);
}

bool cmdline_has(const char *cmdline, const char *flag)
{
	size_t flag_len = kstrlen(flag), pos = 0, n;

	while ((n = next_word(cmdline, &pos)) != 0) {
		if (word_is_key(cmdline + pos - n, n, flag, flag_len))
			return true;
	}
	return false;
}
