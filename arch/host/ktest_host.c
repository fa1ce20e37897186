/*
 * ktest_host.c: the host test binary's way to run a test that must panic:
 * in a forked child, whose output is read back and checked (the child's
 * own verdict, and independently the fragments the panic must hold).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch.h"
#include "ktest.h"

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

/*
 * In the child: the test needs kmem_debug modes this process was not
 * started with (they are chosen before the first cache exists), so run
 * it in the test binary started afresh with them.
 */
static __noreturn void run_with_modes(const struct ktest *t)
{
	char panic_word[sizeof("ktest_panic=") + KTEST_NAME_MAX];
	char modes_word[sizeof("kmem_debug=") + KTEST_MODES_MAX];

	snprintf(panic_word, sizeof(panic_word), "ktest_panic=%s.%s", t->suite,
		 t->name);
	snprintf(modes_word, sizeof(modes_word), "kmem_debug=%s",
		 t->kmem_debug);
	execl("/proc/self/exe", "ktest", panic_word, modes_word, (char *)NULL);
	printf("# exec of /proc/self/exe failed\n");
	_exit(127);
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
		if (!ktest_debug_modes_on(t))
			run_with_modes(t);
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
