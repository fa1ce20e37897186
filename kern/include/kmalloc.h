/*
 * kmalloc.h: general-purpose kernel memory, buffers of any size, over the
 * power-of-two caches "kmalloc_32" .. "kmalloc_8192" and kpages_arena.
 * kern/src/kmalloc.c opens with the layout of a buffer and its tag.
 */
#pragma once

#include "arena.h"

/* The largest alignment kmalloc_align takes. */
#define KMALLOC_ALIGN_MAX (1ul << 30)
/*
 * Under kmem_debug=redzone, the last bytes of a large buffer's segment
 * are its redzone: its usable size is this much smaller.
 */
#define KMALLOC_LARGE_REDZONE 16

/*
 * A buffer of at least @size bytes (0: a minimal one, which kfree takes),
 * aligned to 16 bytes. @flags: MEM_WAIT (never fails; panics when memory
 * is exhausted, after reclaim) or MEM_ATOMIC (returns NULL then). Naming
 * neither or both is a misuse (panic).
 */
void *kmalloc(size_t size, int flags);

/* kmalloc, with all kmalloc_size() usable bytes zeroed. */
void *kzmalloc(size_t size, int flags);

/*
 * kmalloc with the buffer aligned to @align: a power of two up to
 * KMALLOC_ALIGN_MAX (1 GiB); anything else panics, whatever @flags says.
 * Big alignments waste at most about a page, not @align bytes.
 */
void *kmalloc_align(size_t size, int flags, size_t align);

/*
 * Resize @buf to at least @size bytes: krealloc(NULL, n) is kmalloc(n);
 * krealloc(buf, 0) frees buf and returns NULL. A buffer that shrinks, or
 * grows within its usable size, stays where it is; else the old usable
 * bytes are copied to a new buffer (16-byte aligned: a kmalloc_align
 * alignment is not kept) and @buf is freed. Returns NULL (MEM_ATOMIC
 * only) when no new buffer could be had; @buf is then left as it was.
 */
void *krealloc(void *buf, size_t size, int flags);

/*
 * Give back a buffer of kmalloc, kzmalloc, kmalloc_align or krealloc
 * (NULL: nothing). Panics, naming the address and why, on a pointer
 * kmalloc never gave (no valid tag before it), a pointer inside a buffer,
 * a buffer freed already, or a tag that was overwritten.
 */
void kfree(void *buf);

/*
 * The usable bytes of @buf: from it to the end of what was allocated for
 * it, at least what was asked for (0 for NULL). Panics as kfree does on
 * anything but a live buffer.
 */
size_t kmalloc_size(void *buf);

/*
 * If addr lies in a kmalloc buffer, live or freed, print a line with the
 * buffer and what its tag says (the monitor's whatis); returns 1 if it
 * printed one, else 0.
 */
int kmalloc_whatis(uintptr_t addr);

/* Create the kmalloc caches (pmem_init calls it, once). */
void kmalloc_init(void);
