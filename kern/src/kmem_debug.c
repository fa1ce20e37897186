/*
 * kmem_debug.c: the debug modes' switch (kmem_debug=), the patterns that
 * redzone and poison write and check, and the audit trail's stacks. The
 * caches apply the modes (slab.c, theory statement 7), kmalloc its large
 * buffers' redzones, the arenas the checks.
 */
#include "kmem_debug.h"
#include "arch.h"
#include "assert.h"
#include "cmdline.h"
#include "kprintf.h"
#include "kstring.h"
#include "printk.h"

int kmem_debug;

static const struct {
	const char *name;
	int mode;
} modes_known[] = {
	/* clang-format off */
	{ "redzone", KMEM_DEBUG_REDZONE },
	{ "poison", KMEM_DEBUG_POISON },
	{ "audit", KMEM_DEBUG_AUDIT },
	{ "check", KMEM_DEBUG_CHECK },
	{ "magazines", KMEM_DEBUG_MAGAZINES },
	/* clang-format on */
};

/* Room for the names of all the modes, comma-separated. */
#define MODE_LIST_MAX 128

/* Append to the string in buf[len]; *used may pass len (truncated). */
static void __printf(4, 5)
	append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	size_t at = MIN(*used, len - 1);
	va_list ap;

	va_start(ap, fmt);
	*used = at + (size_t)kvsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
}

/* Parse the n characters of list (a value in place: no copy, no limit). */
static int parse_n(const char *list, size_t len, int *modes)
{
	const char *stop = list + len;
	int bad = 0;

	*modes = 0;
	while (list < stop) {
		const char *end = list;
		size_t n;
		bool known = false;

		while (end < stop && *end != ',')
			end++;
		n = (size_t)(end - list);
		for (size_t i = 0; n && i < ARRAY_SIZE(modes_known); i++) {
			if (kstrlen(modes_known[i].name) == n &&
			    !kstrncmp(modes_known[i].name, list, n)) {
				*modes |= modes_known[i].mode;
				known = true;
			}
		}
		if (n && !known) {
			printk("kmem_debug: unknown mode '%.*s%s' (known: redzone, poison, audit, check, magazines); ignored\n",
			       (int)MIN(n, (size_t)32), list,
			       n > 32 ? "..." : "");
			bad++;
		}
		list = end < stop ? end + 1 : end;
	}
	return bad;
}

int kmem_debug_parse(const char *list, int *modes)
{
	return parse_n(list, kstrlen(list), modes);
}

size_t kmem_debug_from_cmdline(const char *cmdline, int *modes)
{
	size_t given = cmdline_count(cmdline, "kmem_debug"), len;
	const char *list;

	*modes = 0;
	if (!given)
		return 0;
	cmdline_find_nth(cmdline, "kmem_debug", given - 1, &list, &len);
	if (given > 1)
		printk("kmem_debug: given %zu times; the last one counts: kmem_debug=%.*s%s\n",
		       given, (int)MIN(len, (size_t)64), list,
		       len > 64 ? "..." : "");
	parse_n(list, len, modes);
	return given;
}

void kmem_debug_names(int modes, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(modes_known); i++) {
		if (modes & modes_known[i].mode)
			append(buf, len, &used, "%s%s", used ? "," : "",
			       modes_known[i].name);
	}
	if (!used)
		ksnprintf(buf, len, "off");
}

void kmem_debug_init(const char *cmdline)
{
	char names[MODE_LIST_MAX];
	const char *how = "";
	int modes;

	kmem_debug_from_cmdline(cmdline, &modes);
	kmem_debug = modes;
	kmem_debug_names(modes, names, sizeof(names));
	if (modes & KMEM_DEBUG_BYPASS)
		how = " (the caches they apply to bypass their magazines)";
	else if (modes)
		how = " (the caches keep their magazines; every push and pop is checked)";
	printk("kmem_debug: %s%s\n", names, how);
}

/* ---- patterns */

void kmem_pattern_fill(void *obj, size_t from, size_t to, uint64_t pattern)
{
	uint8_t *p = obj;
	size_t o = from;

	for (; o < to && o % 8; o++)
		p[o] = kmem_pattern_byte(pattern, o);
	for (; o + 8 <= to; o += 8)
		*(uint64_t *)(p + o) = pattern;
	for (; o < to; o++)
		p[o] = kmem_pattern_byte(pattern, o);
}

long kmem_pattern_find(const void *obj, size_t from, size_t to,
		       uint64_t pattern)
{
	const uint8_t *p = obj;
	size_t o = from;

	for (; o < to && o % 8; o++)
		if (p[o] != kmem_pattern_byte(pattern, o))
			return (long)o;
	for (; o + 8 <= to && *(const uint64_t *)(p + o) == pattern; o += 8)
		;
	for (; o < to; o++)
		if (p[o] != kmem_pattern_byte(pattern, o))
			return (long)o;
	return -1;
}

/* ---- audit */

#define AUDIT_STACK_MAX 24

void kmem_audit_record(uintptr_t *pcs, uintptr_t caller)
{
	uintptr_t stack[AUDIT_STACK_MAX];
	int n = arch_stack_trace(stack, AUDIT_STACK_MAX), first = 0;

	/* leave out the allocator's own frames: start where it returns */
	while (first < n && stack[first] != caller)
		first++;
	if (first == n) {
		/* the walk missed it (no frame to walk): the caller alone */
		stack[0] = caller;
		first = 0;
		n = 1;
	}
	for (int i = 0; i < KMEM_AUDIT_DEPTH; i++)
		pcs[i] = first + i < n ? stack[first + i] : 0;
}

/* One line of at most KMEM_AUDIT_LINE_MAX characters (kmem_debug.h). */
static void format_stack(char *buf, size_t len, size_t *used, const char *what,
			 const uintptr_t *pcs)
{
	static_assert(sizeof("allocated") >= sizeof("freed"),
		      "KMEM_AUDIT_LINE_MAX counts the longer word");
	append(buf, len, used, "\n  last %s by:%s", what,
	       pcs[0] ? "" : " (never)");
	for (int i = 0; i < KMEM_AUDIT_DEPTH && pcs[i]; i++) {
		char name[KMEM_AUDIT_PC_MAX];

		arch_format_pc(name, sizeof(name), pcs[i]);
		append(buf, len, used, "%s%s", i ? " <- " : " ", name);
	}
}

size_t kmem_audit_format(char *buf, size_t len, const struct kmem_audit *a)
{
	size_t used = kstrlen(buf);

	format_stack(buf, len, &used, "allocated", a->alloc);
	format_stack(buf, len, &used, "freed", a->free);
	return MIN(used, len - 1);
}
