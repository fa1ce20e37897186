/*
 * kvsnprintf.c: the printf-style formatter behind printk, panic and every
 * message the kernel builds (see kprintf.h for what it understands).
 *
 * One pass over the format: parse a conversion into struct conv, render
 * its body (digits or string) into a small buffer, then emit
 *	[left pad] [sign or 0x] [zero pad] [body] [right pad]
 * through the sink, which is a bounded buffer for kvsnprintf or the
 * console for printk.
 */
#include <stdint.h>
#include <stdbool.h>
#include "kprintf.h"
#include "kstring.h"

enum length {
	LEN_INT,
	LEN_CHAR,
	LEN_SHORT,
	LEN_LONG,
	LEN_LLONG,
	LEN_SIZE,
	LEN_PTRDIFF,
	LEN_INTMAX
};

struct conv {
	bool left, zero, plus, space, alt;
	int width;     /* 0: none */
	int precision; /* -1: none */
	enum length length;
	char spec;
};

struct emitter {
	struct kfmt_sink *sink;
	int count;
};

static void emit(struct emitter *e, const char *s, size_t n)
{
	if (n == 0)
		return;
	e->sink->put(e->sink, s, n);
	e->count += (int)n;
}

static void emit_repeat(struct emitter *e, char c, int n)
{
	char chunk[16];

	kmemset(chunk, c, sizeof(chunk));
	while (n > 0) {
		int k = n < (int)sizeof(chunk) ? n : (int)sizeof(chunk);

		emit(e, chunk, (size_t)k);
		n -= k;
	}
}

/* Parse flags, width, precision and length; returns the char after. */
static const char *parse_conv(const char *f, struct conv *c, va_list *ap)
{
	*c = (struct conv){ .precision = -1 };
	for (;; f++) {
		if (*f == '-')
			c->left = true;
		else if (*f == '0')
			c->zero = true;
		else if (*f == '+')
			c->plus = true;
		else if (*f == ' ')
			c->space = true;
		else if (*f == '#')
			c->alt = true;
		else
			break;
	}
	if (*f == '*') {
		c->width = va_arg(*ap, int);
		if (c->width < 0) {
			c->left = true;
			c->width = -c->width;
		}
		f++;
	} else {
		while (*f >= '0' && *f <= '9')
			c->width = c->width * 10 + (*f++ - '0');
	}
	if (*f == '.') {
		f++;
		c->precision = 0;
		if (*f == '*') {
			c->precision = va_arg(*ap, int);
			if (c->precision < 0)
				c->precision = -1;
			f++;
		} else {
			while (*f >= '0' && *f <= '9')
				c->precision = c->precision * 10 + (*f++ - '0');
		}
	}
	switch (*f) {
	case 'h':
		f++;
		c->length = LEN_SHORT;
		if (*f == 'h') {
			f++;
			c->length = LEN_CHAR;
		}
		break;
	case 'l':
		f++;
		c->length = LEN_LONG;
		if (*f == 'l') {
			f++;
			c->length = LEN_LLONG;
		}
		break;
	case 'z':
		f++;
		c->length = LEN_SIZE;
		break;
	case 't':
		f++;
		c->length = LEN_PTRDIFF;
		break;
	case 'j':
		f++;
		c->length = LEN_INTMAX;
		break;
	}
	c->spec = *f;
	return f;
}

static int64_t fetch_signed(const struct conv *c, va_list *ap)
{
	switch (c->length) {
	case LEN_CHAR:
		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	case LEN_SIZE:
	case LEN_PTRDIFF:
		return va_arg(*ap, ptrdiff_t);
	case LEN_INTMAX:
		return va_arg(*ap, intmax_t);
	default:
		return va_arg(*ap, int);
	}
}

static uint64_t fetch_unsigned(const struct conv *c, va_list *ap)
{
	switch (c->length) {
	case LEN_CHAR:
		return (unsigned char)va_arg(*ap, unsigned);
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned);
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
	case LEN_PTRDIFF:
		return va_arg(*ap, size_t);
	case LEN_INTMAX:
		return va_arg(*ap, uintmax_t);
	default:
		return va_arg(*ap, unsigned);
	}
}

/* Emit body with padding: [pad][prefix][zeros][body][pad]. */
static void emit_padded(struct emitter *e, const struct conv *c,
			const char *prefix, int zeros, const char *body,
			int body_len)
{
	int prefix_len = (int)kstrlen(prefix);
	int pad = c->width - prefix_len - zeros - body_len;

	if (pad < 0)
		pad = 0;
	if (!c->left)
		emit_repeat(e, ' ', pad);
	emit(e, prefix, (size_t)prefix_len);
	emit_repeat(e, '0', zeros);
	emit(e, body, (size_t)body_len);
	if (c->left)
		emit_repeat(e, ' ', pad);
}

/* Render an integer conversion of magnitude v (sign given apart). */
static void format_integer(struct emitter *e, const struct conv *c, uint64_t v,
			   bool negative)
{
	const char *digits =
		c->spec == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned base = 10;
	char buf[24];
	int len = 0, zeros = 0;
	const char *prefix = "";

	if (c->spec == 'x' || c->spec == 'X' || c->spec == 'p')
		base = 16;
	else if (c->spec == 'o')
		base = 8;
	for (uint64_t t = v; t; t /= base)
		len++;
	for (int i = len; i > 0; i--, v /= base)
		buf[i - 1] = digits[v % base];
	if (len == 0 && c->precision != 0)
		buf[len++] = '0'; /* zero prints as "0" unless ".0" */

	if (negative)
		prefix = "-";
	else if ((c->spec == 'd' || c->spec == 'i') && c->plus)
		prefix = "+";
	else if ((c->spec == 'd' || c->spec == 'i') && c->space)
		prefix = " ";
	else if (c->spec == 'p' ||
		 (c->alt && base == 16 && len && buf[0] != '0'))
		prefix = c->spec == 'X' ? "0X" : "0x";

	if (c->precision > len)
		zeros = c->precision - len;
	if (c->alt && base == 8 && zeros == 0 && (len == 0 || buf[0] != '0'))
		zeros = 1; /* "%#o" always starts with a 0 */
	if (c->zero && !c->left && c->precision < 0) {
		int room = c->width - (int)kstrlen(prefix) - len;

		if (room > zeros)
			zeros = room;
	}
	emit_padded(e, c, prefix, zeros, buf, len);
}

static void format_string(struct emitter *e, const struct conv *c,
			  const char *s)
{
	int len;

	if (!s)
		s = "(null)";
	len = (int)(c->precision >= 0 ? kstrnlen(s, (size_t)c->precision) :
					kstrlen(s));
	emit_padded(e, c, "", 0, s, len);
}

static void format_one(struct emitter *e, const struct conv *c, va_list *ap)
{
	switch (c->spec) {
	case 'd':
	case 'i': {
		int64_t v = fetch_signed(c, ap);
		uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

		format_integer(e, c, mag, v < 0);
		break;
	}
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		format_integer(e, c, fetch_unsigned(c, ap), false);
		break;
	case 'p': {
		void *p = va_arg(*ap, void *);
		struct conv pc = *c;

		if (!p) {
			pc.precision = -1;
			format_string(e, &pc, "(nil)");
		} else {
			format_integer(e, c, (uintptr_t)p, false);
		}
		break;
	}
	case 's':
		format_string(e, c, va_arg(*ap, const char *));
		break;
	case 'c': {
		char ch = (char)va_arg(*ap, int);

		emit_padded(e, c, "", 0, &ch, 1);
		break;
	}
	case '%':
		emit(e, "%", 1);
		break;
	default:
		/* Not a conversion we know: print it as written. */
		emit(e, "%", 1);
		if (c->spec)
			emit(e, &c->spec, 1);
		break;
	}
}

int kvformat(struct kfmt_sink *sink, const char *fmt, va_list ap)
{
	struct emitter e = { .sink = sink };
	struct conv c;
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		const char *start = fmt;

		while (*fmt && *fmt != '%')
			fmt++;
		emit(&e, start, (size_t)(fmt - start));
		if (!*fmt)
			break;
		fmt = parse_conv(fmt + 1, &c, &args);
		format_one(&e, &c, &args);
		if (*fmt)
			fmt++;
	}
	va_end(args);
	return e.count;
}

struct buffer_sink {
	struct kfmt_sink sink;
	char *buf;
	size_t size, used; /* used < size whenever size > 0 */
};

static void buffer_put(struct kfmt_sink *sink, const char *s, size_t n)
{
	struct buffer_sink *b = (struct buffer_sink *)sink;
	size_t room = b->size ? b->size - 1 - b->used : 0;
	size_t k = n < room ? n : room;

	kmemcpy(b->buf + b->used, s, k);
	b->used += k;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buffer_sink b = { { buffer_put }, buf, size, 0 };
	int n = kvformat(&b.sink, fmt, ap);

	if (size)
		buf[b.used] = 0;
	return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int ksize_short(char *buf, size_t size, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	unsigned int shift = 10, u = 0;
	uint64_t tenths;

	if (bytes < 1024)
		return ksnprintf(buf, size, "%llu", (unsigned long long)bytes);
	while (u + 1 < sizeof(units) - 1 && bytes >> (shift + 10))
		shift += 10, u++;
	/* rounded down: bytes >> (shift - 10) is below 2^20 here */
	tenths = ((bytes >> (shift - 10)) * 10) >> 10;
	if (tenths < 100 && tenths % 10)
		return ksnprintf(buf, size, "%llu.%llu%c",
				 (unsigned long long)(tenths / 10),
				 (unsigned long long)(tenths % 10), units[u]);
	return ksnprintf(buf, size, "%llu%c", (unsigned long long)(tenths / 10),
			 units[u]);
}
