/*
 * ktest_host.c: the host test binary's way to run a test that must panic:
 * in a forked child, whose output is read back and checked (the child's
 * own verdict, and independently the fragments the panic must hold); and
 * the tests of the host arch itself (threads as CPUs, and as lock
 * owners), which the kernel has no threads to run.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch.h"
#include "ktest.h"
#include "slab.h"

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

/* ---- threads as CPUs */

#define MANY_THREADS (NR_CPUS + 6)
#define MANY_OBJECTS 32

static struct {
	struct kmem_cache *cache;
	pthread_barrier_t all_alive, all_allocated;
	int cpu[MANY_THREADS];
	int got[MANY_THREADS];
} many;

/* Take a CPU number, allocate and free while every thread is alive. */
static void *many_threads_body(void *arg)
{
	long me = (long)arg;
	void *objs[MANY_OBJECTS];

	pthread_barrier_wait(&many.all_alive);
	many.cpu[me] = arch_cpu_id();
	for (int i = 0; i < MANY_OBJECTS; i++) {
		objs[i] = kmem_cache_alloc(many.cache, MEM_ATOMIC);
		if (objs[i]) {
			memset(objs[i], (int)me, 48);
			many.got[me]++;
		}
	}
	pthread_barrier_wait(&many.all_allocated);
	for (int i = 0; i < MANY_OBJECTS; i++)
		if (objs[i])
			kmem_cache_free(many.cache, objs[i]);
	return NULL;
}

/*
 * More live threads than NR_CPUS: the ones beyond get no number (-1) and
 * the cache's locked path, never a panic (nor, under UBSan, the
 * undefined lowbit(0) of a full bitmap).
 */
KTEST(host_cpu, more_threads_than_cpus)
{
	pthread_t threads[MANY_THREADS];
	bool taken[NR_CPUS] = { false };
	int started = 0, without = 0, twice = 0, got = 0;

	memset(&many, 0, sizeof(many));
	many.cache = kmem_cache_create("host_cpu_many", 48, 0, 0, NULL, NULL,
				       NULL, NULL);
	pthread_barrier_init(&many.all_alive, NULL, MANY_THREADS);
	pthread_barrier_init(&many.all_allocated, NULL, MANY_THREADS);
	for (long i = 0; i < MANY_THREADS; i++)
		if (!pthread_create(&threads[i], NULL, many_threads_body,
				    (void *)i))
			started++;
	KT_ASSERT_EQ(started, MANY_THREADS);
	for (int i = 0; i < MANY_THREADS; i++) {
		pthread_join(threads[i], NULL);
		got += many.got[i];
		if (many.cpu[i] < 0) {
			without++;
			continue;
		}
		twice += taken[many.cpu[i]];
		taken[many.cpu[i]] = true;
	}
	/* at most NR_CPUS numbers (this thread may hold one as well) */
	KT_EXPECT_GE(without, MANY_THREADS - NR_CPUS);
	KT_EXPECT_EQ(twice, 0);
	KT_EXPECT_EQ(got, MANY_THREADS * MANY_OBJECTS);
	KT_EXPECT_EQ(kmem_cache_check(many.cache), 0);
	kmem_cache_destroy(many.cache);
	pthread_barrier_destroy(&many.all_alive);
	pthread_barrier_destroy(&many.all_allocated);
}

/* ---- lock owners: a lock another thread holds (spinlock.h) */

static struct {
	struct spinlock lock;
	pthread_barrier_t taken, done;
	bool held_here, without_cpu, kept_after_cpu;
} other;

/* Take other.lock and hold it until the test thread is done looking. */
static void *other_holds_body(void *arg)
{
	(void)arg;
	spin_lock(&other.lock);
	pthread_barrier_wait(&other.taken);
	pthread_barrier_wait(&other.done);
	spin_unlock(&other.lock);
	return NULL;
}

/* Start a thread that holds other.lock; returns once it does. */
static pthread_t other_thread_holds(void)
{
	pthread_t t;

	other.lock = (struct spinlock)SPINLOCK_INIT;
	pthread_barrier_init(&other.taken, NULL, 2);
	pthread_barrier_init(&other.done, NULL, 2);
	pthread_create(&t, NULL, other_holds_body, NULL);
	pthread_barrier_wait(&other.taken);
	return t;
}

static void other_thread_release(pthread_t t)
{
	pthread_barrier_wait(&other.done);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&other.taken);
	pthread_barrier_destroy(&other.done);
}

/* Held, but not by this thread: assert_not_held passes, it is not ours. */
KTEST(host_locks, not_held_passes_when_another_thread_holds)
{
	pthread_t t = other_thread_holds();

	KT_EXPECT_TRUE(spin_is_locked(&other.lock));
	KT_EXPECT_FALSE(spin_held_here(&other.lock));
	KT_EXPECT_NE(other.lock.locked, arch_lock_owner());
	assert_not_held(&other.lock);
	KT_EXPECT_FALSE(spin_trylock(&other.lock));
	/* the failed trylock did not write this thread into the word */
	KT_EXPECT_FALSE(spin_held_here(&other.lock));
	other_thread_release(t);
}

KTEST_PANICS(host_locks, held_panics_when_another_thread_holds,
	     "assert_held(&other.lock) failed at ",
	     "arch/host/ktest_host.c:", "is held by thread ",
	     ", not by this thread (")
{
	other_thread_holds();
	assert_held(&other.lock);
}

/*
 * A thread without a CPU number has a lock owner number all the same,
 * and keeps it when it gets a CPU number while it holds a lock.
 */
static void *without_cpu_body(void *arg)
{
	struct spinlock l = SPINLOCK_INIT;

	(void)arg;
	other.without_cpu = arch_cpu_slot() == 0;
	spin_lock(&l);
	other.held_here = spin_held_here(&l);
	(void)arch_cpu_id(); /* takes a number now */
	other.kept_after_cpu = spin_held_here(&l) && arch_cpu_slot() != 0;
	assert_held(&l);
	spin_unlock(&l);
	assert_not_held(&l);
	return NULL;
}

KTEST(host_locks, thread_without_cpu_number_owns_its_locks)
{
	pthread_t t;

	other.without_cpu = other.held_here = other.kept_after_cpu = false;
	KT_ASSERT_EQ(pthread_create(&t, NULL, without_cpu_body, NULL), 0);
	pthread_join(t, NULL);
	KT_EXPECT_TRUE(other.without_cpu);
	KT_EXPECT_TRUE(other.held_here);
	KT_EXPECT_TRUE(other.kept_after_cpu);
}
