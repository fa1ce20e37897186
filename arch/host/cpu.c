/*
 * cpu.c (host): threads as CPUs. A thread gets the lowest free number
 * below NR_CPUS the first time it asks (arch_cpu_id), keeps it in
 * thread-local storage, and gives it back when it exits, after the slab
 * layer has had its say (its magazines go back to the depot).
 */
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch.h"
#include "bitops.h"

__thread int host_cpu = -1;
__thread unsigned int host_cpu_slot;

static uint64_t cpus_taken; /* bit i: number i is in use */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static void (*exit_hook)(int cpu);

_Static_assert(NR_CPUS <= 64, "cpus_taken is one 64-bit word");

void arch_set_cpu_exit_hook(void (*fn)(int cpu))
{
	exit_hook = fn;
}

/* The thread that had number (value - 1) exits. */
static void cpu_exit(void *value)
{
	int cpu = (int)(uintptr_t)value - 1;

	if (exit_hook)
		exit_hook(cpu);
	/* whatever this thread still does (other destructors) takes the
	 * locked path: the number may go to another thread now */
	host_cpu = -2;
	host_cpu_slot = 0;
	__atomic_fetch_and(&cpus_taken, ~(1ull << cpu), __ATOMIC_RELEASE);
}

static void make_exit_key(void)
{
	pthread_key_create(&exit_key, cpu_exit);
}

int host_cpu_assign(void)
{
	uint64_t taken = __atomic_load_n(&cpus_taken, __ATOMIC_RELAXED);

	pthread_once(&exit_key_once, make_exit_key);
	for (;;) {
		int cpu;

		/* all taken: ~taken is 0, whose lowbit is undefined */
		if (taken == ~0ull) {
			host_cpu = -2;
			return -1;
		}
		cpu = lowbit(~taken);
		if (__atomic_compare_exchange_n(
			    &cpus_taken, &taken, taken | (1ull << cpu), false,
			    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			host_cpu = cpu;
			host_cpu_slot = (unsigned int)cpu + 1;
			pthread_setspecific(exit_key,
					    (void *)(uintptr_t)(cpu + 1));
			return cpu;
		}
	}
}

/*
 * arch_cpu_barrier: Linux's membarrier, the expedited kind for this
 * process where it can be registered, the global kind otherwise; where
 * neither exists, changing the protection of a page every thread may have
 * touched makes the kernel interrupt (and so serialise) every CPU the
 * process runs on. The mode is found on the first call.
 */
enum { BARRIER_UNKNOWN, BARRIER_PRIVATE, BARRIER_GLOBAL, BARRIER_MPROTECT };

static int barrier_mode;
static pthread_mutex_t barrier_lock = PTHREAD_MUTEX_INITIALIZER;
static char *barrier_page;

static int barrier_mode_find(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		    0, 0) == 0)
		return BARRIER_PRIVATE;
	if (cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL))
		return BARRIER_GLOBAL;
	barrier_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return BARRIER_MPROTECT;
}

void arch_cpu_barrier(void)
{
	int mode = __atomic_load_n(&barrier_mode, __ATOMIC_ACQUIRE);

	if (mode == BARRIER_UNKNOWN) {
		pthread_mutex_lock(&barrier_lock);
		if (!barrier_mode)
			__atomic_store_n(&barrier_mode, barrier_mode_find(),
					 __ATOMIC_RELEASE);
		pthread_mutex_unlock(&barrier_lock);
		mode = barrier_mode;
	}
	if (mode == BARRIER_PRIVATE)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	else if (mode == BARRIER_GLOBAL)
		syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	else {
		pthread_mutex_lock(&barrier_lock);
		mprotect(barrier_page, 4096, PROT_READ | PROT_WRITE);
		*(volatile char *)barrier_page = 1;
		mprotect(barrier_page, 4096, PROT_NONE);
		pthread_mutex_unlock(&barrier_lock);
	}
}

/* ---- lock owners (spinlock.h) */

__thread int host_lock_owner;
static int lock_owners_given;

int host_lock_owner_assign(void)
{
	host_lock_owner =
		__atomic_add_fetch(&lock_owners_given, 1, __ATOMIC_RELAXED);
	return host_lock_owner;
}

/* ---- starting CPUs: the host's are its threads, started by the tests */

void arch_cpus_init(const struct boot_info *bi)
{
	(void)bi;
}

void arch_panic_others(void)
{
}

/* Another thread reports a panic and ends the process: wait for that. */
void arch_halt_cpu(void)
{
	for (;;)
		pause();
}

/* ---- arch_cpu_call: a thread per other CPU */

/* How many CPUs the host pretends to have for arch_cpu_call. */
#define HOST_CPUS 4

struct host_call {
	void (*fn)(void *arg);
	void *arg;
};

static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;

int arch_cpus_online(void)
{
	return HOST_CPUS;
}

static void *host_call_thread(void *p)
{
	const struct host_call *c = p;

	c->fn(c->arg);
	return NULL;
}

void arch_cpu_call(void (*fn)(void *arg), void *arg)
{
	struct host_call c = { fn, arg };
	pthread_t threads[HOST_CPUS - 1];

	pthread_mutex_lock(&call_lock);
	for (int i = 0; i < HOST_CPUS - 1; i++) {
		int e = pthread_create(&threads[i], NULL, host_call_thread, &c);

		if (e) { /* every CPU must run fn: callers count on it */
			fprintf(stderr, "arch_cpu_call: pthread_create: %s\n",
				strerror(e));
			abort();
		}
	}
	fn(arg);
	for (int i = 0; i < HOST_CPUS - 1; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_unlock(&call_lock);
}

/* ---- no timer interrupts on the host */

bool arch_timer_hook(void (*fn)(void *arg), void *arg)
{
	(void)fn, (void)arg;
	return false;
}

uint64_t arch_timer_ticks(void)
{
	return 0;
}

bool arch_in_interrupt(void)
{
	return false;
}

/* The host's CPUs are threads: numbers, and no interrupts to count. */
bool arch_cpu_info(int cpu, struct arch_cpu_info *info)
{
	if (cpu < 0 || cpu >= HOST_CPUS)
		return false;
	*info = (struct arch_cpu_info){ .hw_id = (uint32_t)cpu };
	return true;
}
