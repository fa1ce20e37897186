/* cmdline.c: finding words in the kernel command line (see cmdline.h). */
#include "cmdline.h"
#include "kstring.h"

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

bool cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
	size_t key_len = kstrlen(key), pos = 0, n;
	bool found = false;

	while ((n = next_word(cmdline, &pos)) != 0) {
		const char *w = cmdline + pos - n;
		size_t vlen;

		if (!word_is_key(w, n, key, key_len) || n == key_len)
			continue;
		vlen = MIN(n - key_len - 1, len - 1);
		kmemcpy(buf, w + key_len + 1, vlen);
		buf[vlen] = 0;
		found = true;
	}
	return found;
}

bool cmdline_get_nth(const char *cmdline, const char *key, size_t nth,
		     char *buf, size_t len)
{
	size_t key_len = kstrlen(key), pos = 0, n;

	while ((n = next_word(cmdline, &pos)) != 0) {
		const char *w = cmdline + pos - n;
		size_t vlen;

		if (!word_is_key(w, n, key, key_len) || n == key_len)
			continue;
		if (nth-- > 0)
			continue;
		vlen = MIN(n - key_len - 1, len - 1);
		kmemcpy(buf, w + key_len + 1, vlen);
		buf[vlen] = 0;
		return true;
	}
	return false;
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
