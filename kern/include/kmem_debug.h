/*
 * kmem_debug.h: the allocators' debug modes, switched at boot by the
 * kernel command line `kmem_debug=<mode>[,<mode>...]` (on the host, by the
 * environment variable KMEM_DEBUG), with no rebuild. After illumos's
 * kmem_flags, Linux's slub_debug and Plan 9 pool's paranoia.
 *
 *   redzone  a guard area after every object and kmalloc buffer, checked
 *            when it is freed (and when a cache hands the object out)
 *   poison   freed objects are filled with a pattern that is checked when
 *            the object is handed out again; new objects with another
 *   audit    the last allocating and freeing callers of every object,
 *            shown in misuse panics and by whatis
 *   check    arena_check / kmem_cache_check after every operation on that
 *            arena or cache (slow: for hunting bugs)
 *   magazines the caches keep their magazines, and every push and pop on
 *            them is checked at the call: rounds in range, the object busy
 *            in a slab of the cache and in none of the CPU's magazines

 *
 * kern/src/slab.c's theory statement (7) says how a cache applies them.
 */
#pragma once

#include "compiler.h"

#define KMEM_DEBUG_REDZONE (1 << 0)
#define KMEM_DEBUG_POISON (1 << 1)
#define KMEM_DEBUG_AUDIT (1 << 2)
#define KMEM_DEBUG_CHECK (1 << 3)
#define KMEM_DEBUG_MAGAZINES (1 << 4)
/* The modes that take a cache off its magazines (to the slab layer). */
#define KMEM_DEBUG_BYPASS                                            \
	(KMEM_DEBUG_REDZONE | KMEM_DEBUG_POISON | KMEM_DEBUG_AUDIT | \
	 KMEM_DEBUG_CHECK)
#define KMEM_DEBUG_ALL (KMEM_DEBUG_BYPASS | KMEM_DEBUG_MAGAZINES)

/* What a freed object holds under poison, and a new one before its use. */
#define KMEM_POISON_FREE 0xdeadbeefdeadbeefull
#define KMEM_POISON_NEW 0xbaddcafebaddcafeull
/* What a redzone holds. */
#define KMEM_REDZONE_PATTERN 0xfeedfacefeedfaceull

/* Return addresses kept per allocation and per free under audit. */
#define KMEM_AUDIT_DEPTH 5
/* Room for one return address named "function+0x1c" (arch_format_pc). */
#define KMEM_AUDIT_PC_MAX 128
/*
 * Room for the audit lines a misuse report carries (kmem_audit_format):
 * two lines, "last allocated by:" and "last freed by:", of at most
 * KMEM_AUDIT_DEPTH names each, so the text cannot exceed it.
 */
#define KMEM_AUDIT_LINE_MAX                             \
	(sizeof("\n  last allocated by: (never)") - 1 + \
	 KMEM_AUDIT_DEPTH * (sizeof(" <- ") - 1 + KMEM_AUDIT_PC_MAX - 1))
#define KMEM_AUDIT_TEXT_MAX (2 * KMEM_AUDIT_LINE_MAX + 1)

/* The modes on (KMEM_DEBUG_*): set once at boot, before the first cache. */
extern int kmem_debug;

/*
 * Parse a comma-separated list of modes into *modes. Each unknown word is
 * reported on the console and ignored. Returns how many were unknown.
 */
int kmem_debug_parse(const char *list, int *modes);

/*
 * The modes the command line's kmem_debug= asks for, into *modes. The
 * value is read whole, however long. Given more than once, the last one
 * counts (as the host test binary relies on: KMEM_DEBUG= comes first,
 * its arguments after), and the console says so. Returns how many
 * kmem_debug= there were.
 */
size_t kmem_debug_from_cmdline(const char *cmdline, int *modes);

/*
 * Take the modes from the command line (kmem_debug_from_cmdline), and
 * print the line saying which are on. Before pmem_init only.
 */
void kmem_debug_init(const char *cmdline);

/* The modes' names, comma-separated, into buf ("off" for none). */
void kmem_debug_names(int modes, char *buf, size_t len);

/*
 * Byte o of an object under a pattern is the pattern's byte o % 8: fill
 * bytes [from, to) of obj so, or find the first of them that differs
 * (returns its offset, or -1). obj must be 8-aligned.
 */
void kmem_pattern_fill(void *obj, size_t from, size_t to, uint64_t pattern);
long kmem_pattern_find(const void *obj, size_t from, size_t to,
		       uint64_t pattern);

static inline uint8_t kmem_pattern_byte(uint64_t pattern, size_t offset)
{
	return (uint8_t)(pattern >> (8 * (offset % 8)));
}

/* The last allocation and free of an object: return addresses, innermost
 * first, 0 after the last one. */
struct kmem_audit {
	uintptr_t alloc[KMEM_AUDIT_DEPTH];
	uintptr_t free[KMEM_AUDIT_DEPTH];
};

/*
 * Record the stack of the current call into pcs, starting at the frame
 * that returns to caller (the allocator's public function's return
 * address), so the allocator's own frames are left out.
 */
void kmem_audit_record(uintptr_t *pcs, uintptr_t caller);

/*
 * Append to buf (holding a string) the lines "last allocated by: ..." and
 * "last freed by: ..." with symbol names. Returns the new length.
 */
size_t kmem_audit_format(char *buf, size_t len, const struct kmem_audit *a);
