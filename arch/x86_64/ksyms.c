/* ksyms.c: address-to-name lookup in the link-time symbol table. */
#include "ksyms.h"

extern const char __text_start[], __text_end[];

const char *ksym_lookup(uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = nr_ksyms;

	*offset = 0;
	if (addr < (uint64_t)__text_start || addr >= (uint64_t)__text_end ||
	    nr_ksyms == 0 || addr < ksyms[0].addr)
		return NULL;
	/* the last symbol at or below addr */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ksyms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*offset = addr - ksyms[lo].addr;
	return ksym_names + ksyms[lo].name;
}
