/*
 * ksyms.h: the kernel's own symbol table, for backtraces.
 *
 * tools/mksyms.py writes it from `nm` of a first link into the section
 * .ksymtab, which linker.ld places last so that the second link moves no
 * other symbol (the build checks that it did not).
 */
#pragma once

#include "compiler.h"

struct ksym {
	uint64_t addr;
	uint32_t name; /* offset into ksym_names */
	uint32_t reserved;
};

extern const struct ksym ksyms[];
extern const size_t nr_ksyms;
extern const char ksym_names[];

/*
 * The function holding addr, with addr's offset into it; NULL when addr
 * lies outside the kernel's text.
 */
const char *ksym_lookup(uint64_t addr, uint64_t *offset);
