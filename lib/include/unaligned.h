/*
 * unaligned.h: reading little-endian fields at any address, as firmware
 * structures (multiboot2 tags, ACPI tables) lay them out. A copy through
 * kmemcpy is one load on x86_64 and never an unaligned access in C's
 * eyes (UBSan checks that in the host tests and fuzz targets).
 */
#pragma once

#include "compiler.h"
#include "kstring.h"

static inline uint16_t get_unaligned16(const void *p)
{
	uint16_t v;

	kmemcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t get_unaligned32(const void *p)
{
	uint32_t v;

	kmemcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t get_unaligned64(const void *p)
{
	uint64_t v;

	kmemcpy(&v, p, sizeof(v));
	return v;
}
