/*
 * fuzz.h: what the fuzz targets share: reading the input and failing
 * loudly. A target defines FUZZ_TARGET (its name) before including this,
 * and FUZZ_QUIET if its inputs make the kernel print (lines about bad
 * option values), which would flood the terminal: this then defines its
 * LLVMFuzzerInitialize, which silences the console.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Say which invariant broke, and stop: libFuzzer keeps the input. */
#define fail(...)                                              \
	do {                                                   \
		fprintf(stderr, FUZZ_TARGET ": " __VA_ARGS__); \
		fputc('\n', stderr);                           \
		abort();                                       \
	} while (0)

/*
 * On a helper that tests/fuzz/coverage-ignore names (the targets' models
 * and byte loops): kept out of line, because code inlined into a steered
 * function is instrumented as part of it, and the ignore list would not
 * reach it.
 */
#define FUZZ_UNSTEERED __attribute__((noinline))

/* The input, read front to back; past its end every read gives 0. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

/* The next `bytes` bytes of the input as a little-endian number. */
static inline uint64_t get(struct cursor *c, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && c->left; i++, c->left--)
		v |= (uint64_t)*c->p++ << (8 * i);
	return v;
}

#ifdef FUZZ_QUIET
#include <stdbool.h>

#include "host.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	host_console_quiet(true);
	return 0;
}
#endif
