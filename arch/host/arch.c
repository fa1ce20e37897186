/*
 * arch.c (host): kern/include/arch.h for a user-space process, so that the
 * kernel's own code and tests run under AddressSanitizer, UBSan, fuzzers
 * and valgrind. The console is stdout, panics go to stderr and abort, and
 * a test that must panic runs in a forked child whose output is checked.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "ktest.h"
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

void arch_console_write(const char *buf, size_t len)
{
	write_all(STDOUT_FILENO, buf, len);
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
	exit(status ? 1 : 0);
}

void arch_panic_stop(void)
{
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

/* Read everything from fd into a malloc'd, NUL-terminated string. */
static char *read_all(int fd)
{
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	ssize_t n;

	while (buf && (n = read(fd, buf + used, cap - used - 1)) > 0) {
		used += (size_t)n;
		if (cap - used - 1 == 0) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	if (buf)
		buf[used] = 0;
	return buf;
}

/* Print the child's output as KTAP diagnostics: every line behind "# ". */
static void print_as_diagnostics(const char *out)
{
	while (out && *out) {
		const char *nl = strchr(out, '\n');
		int n = nl ? (int)(nl - out) : (int)strlen(out);

		printf("    # | %.*s\n", n, out);
		out += n + (nl != NULL);
	}
	fflush(stdout);
}

int arch_run_panic_test(const struct ktest *t, const char **reason)
{
	int fds[2], status = 0;
	bool ok;
	char *out;
	pid_t pid;

	*reason = NULL;
	if (pipe(fds))
		return KTEST_FAIL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		ktest_run_isolated_panic(t);
	}
	close(fds[1]);
	out = read_all(fds[0]);
	close(fds[0]);
	waitpid(pid, &status, 0);
	/* The child's own verdict, and an independent look at its output. */
	ok = pid > 0 && out && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	     strstr(out, "panic: ");
	for (const char *const *f = t->panic_fragments; ok && *f; f++)
		ok = strstr(out, *f) != NULL;
	if (!ok)
		print_as_diagnostics(out);
	free(out);
	return ok ? KTEST_PASS : KTEST_FAIL;
}
