/*
 * arch.c (host): kern/include/arch.h for a user-space process, so that the
 * kernel's own code and tests run under AddressSanitizer, UBSan, fuzzers
 * and valgrind, and so that libkmem.a works in any program. The console is
 * stdout, panics go to stderr and abort. (Running tests that must panic
 * is the test binary's business: arch/host/ktest_host.c.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "host.h"
#include "kprintf.h"

#define BACKTRACE_MAX_FRAMES 32

/* write() all of buf to fd, across short writes. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static bool console_quiet;

void host_console_quiet(bool quiet)
{
	console_quiet = quiet;
}

void arch_console_write(const char *buf, size_t len)
{
	if (!console_quiet)
		write_all(STDOUT_FILENO, buf, len);
}

int arch_console_getc(void)
{
	unsigned char c;

	return read(STDIN_FILENO, &c, 1) == 1 ? c : -1;
}

void arch_panic_write(const char *buf, size_t len)
{
	write_all(STDERR_FILENO, buf, len);
}

bool arch_on_hardware(void)
{
	return false;
}

void arch_exit(int status)
{
	exit(status == ARCH_EXIT_PASSED	  ? 0 :
	     status == ARCH_EXIT_NONE_RAN ? 2 :
					    1);
}

#ifdef KMEM_COVERAGE
/* libgcov's: write this process's counters now (make coverage's build) */
void __gcov_dump(void);
#endif

void arch_panic_stop(void)
{
#ifdef KMEM_COVERAGE
	/* abort() skips the write at exit: the code that led here counts */
	__gcov_dump();
#endif
	abort();
}

int arch_libc_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

uint64_t arch_cycles(void)
{
	return __builtin_ia32_rdtsc();
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The TSC against the monotonic clock over 10 ms, measured once. */
uint64_t arch_cycles_per_ms(void)
{
	static uint64_t per_ms;
	uint64_t n = __atomic_load_n(&per_ms, __ATOMIC_RELAXED);

	if (!n) {
		uint64_t t0 = now_ns(), c0 = arch_cycles(), t, c;

		do
			t = now_ns();
		while (t - t0 < 10000000u);
		c = arch_cycles();
		n = (c - c0) * 1000000u / (t - t0);
		n = n ? n : 1;
		__atomic_store_n(&per_ms, n, __ATOMIC_RELAXED);
	}
	return n;
}

void arch_memory_init(struct mem_range *ranges, size_t *nr, size_t max)
{
	(void)ranges, (void)nr, (void)max;
}

size_t arch_format_registers(char *buf, size_t len,
			     const struct arch_regs *regs)
{
	int n = ksnprintf(
		buf, len,
		"(registers are not shown for a host process; run it under gdb)\n");

	(void)regs;
	return MIN((size_t)n, len - 1);
}

int arch_stack_trace(uintptr_t *pcs, int max)
{
	void *frames[BACKTRACE_MAX_FRAMES];
	int n = backtrace(frames, BACKTRACE_MAX_FRAMES);

	/* frames[0] is in this function: start at its caller's */
	for (int i = 1; i < n && i - 1 < max; i++)
		pcs[i - 1] = (uintptr_t)frames[i];
	return MAX(0, MIN(n - 1, max));
}

size_t arch_format_pc(char *buf, size_t len, uintptr_t pc)
{
	Dl_info info;
	int n, found;

	/*
	 * names of exported symbols only (the test binary links with
	 * -rdynamic); a static function shows as its binary and the offset
	 * in it, which `addr2line -f -e build/host/ktest 0x...` names
	 */
	found = dladdr((void *)(pc - 1), &info);
	if (found && info.dli_sname)
		n = ksnprintf(buf, len, "%s+0x%lx", info.dli_sname,
			      (unsigned long)(pc - (uintptr_t)info.dli_saddr));
	else if (found && info.dli_fname && info.dli_fbase)
		n = ksnprintf(buf, len, "%s+0x%lx",
			      strrchr(info.dli_fname, '/') ?
				      strrchr(info.dli_fname, '/') + 1 :
				      info.dli_fname,
			      (unsigned long)(pc - (uintptr_t)info.dli_fbase));
	else
		n = ksnprintf(buf, len, "0x%lx", (unsigned long)pc);
	return MIN((size_t)n, len ? len - 1 : 0);
}

size_t arch_format_backtrace(char *buf, size_t len,
			     const struct arch_regs *regs)
{
	void *pcs[BACKTRACE_MAX_FRAMES];
	int n = backtrace(pcs, BACKTRACE_MAX_FRAMES);
	char **names = backtrace_symbols(pcs, n);
	size_t used = 0;

	(void)regs;
	used += (size_t)ksnprintf(buf, len, "backtrace:\n");
	for (int i = 0; i < n && used < len; i++)
		used += (size_t)ksnprintf(buf + used, len - used,
					  "  #%-2d %s\n", i,
					  names ? names[i] : "?");
	free(names);
	return MIN(used, len - 1);
}
