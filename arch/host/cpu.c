/*
 * cpu.c (host): threads as CPUs. A thread gets the lowest free number
 * below NR_CPUS the first time it asks (arch_cpu_id), keeps it in
 * thread-local storage, and gives it back when it exits, after the slab
 * layer has had its say (its magazines go back to the depot).
 */
#include <pthread.h>

#include "arch.h"
#include "slab.h"

__thread int host_cpu = -1;

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
		int cpu = __builtin_ctzll(~taken);

		if (taken == ~0ull) {
			host_cpu = -2;
			return -1;
		}
		if (__atomic_compare_exchange_n(
			    &cpus_taken, &taken, taken | (1ull << cpu), false,
			    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			host_cpu = cpu;
			pthread_setspecific(exit_key,
					    (void *)(uintptr_t)(cpu + 1));
			return cpu;
		}
	}
}
