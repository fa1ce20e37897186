/*
 * monitor_views.c: the serial monitor's views of the allocators' state
 * (kern/src/monitor.c has the prompt and the other commands): vmem, map,
 * freelists, kmastat, reap, cpus and meminfo. The tables themselves are the layers'
 * (arena_report.c, slab_report.c); here are the words typed and the
 * legend.
 */
#include "monitor_impl.h"
#include "arch.h"
#include "arena.h"
#include "kprintf.h"
#include "kstring.h"
#include "pmem.h"
#include "printk.h"
#include "slab.h"

void monitor_cmd_vmem(char **argv)
{
	(void)argv;
	arena_print_rows(true);
}

void monitor_cmd_map(char **argv)
{
	struct arena *a = monitor_find_arena(argv[1]);

	if (a)
		arena_print_map(a);
}

void monitor_cmd_freelists(char **argv)
{
	struct arena *a = monitor_find_arena(argv[1]);

	if (a)
		arena_print_freelists(a);
}

/* What kmastat's columns mean (kmastat -h). */
static const char *const kmastat_legend[] = {
	"caches (one row each):",
	"  buf      the object size the cache was made with, in bytes",
	"  in use   objects allocated and not freed (not counting magazines)",
	"  total    objects the cache's slabs hold, in use or free",
	"  memuse   in use x buf",
	"  inmags   bytes of freed objects waiting in the CPUs' magazines",
	"           and the depot (reap gives them back)",
	"  slabs    full / partial / empty slabs",
	"  waste    the share of slab memory that holds no object",
	"  allocs   allocations served; fails: allocations that failed",
	"arenas (one row each; vmem shows them as a tree):",
	"  in use   bytes allocated; total: bytes of the arena's spans",
	"  import   bytes of spans taken from the source",
	"  allocs, frees, fails: the arena's calls",
	"  max      the largest free segment",
	"  source   the arena it imports from (-: none)",
	"sizes: K, M, G ... are 1024, 1024^2 ...; rounded down",
};

/* kmastat [-h]: every cache, then every arena, readably (-h: legend). */
void monitor_cmd_kmastat(char **argv)
{
	if (argv[1] && kstrcmp(argv[1], "-h") != 0) {
		monitor_error(
			"kmastat: unknown word '%s' (kmastat -h explains the columns)",
			argv[1]);
		return;
	}
	if (argv[1]) {
		for (size_t i = 0; i < ARRAY_SIZE(kmastat_legend); i++)
			printk("%s\n", kmastat_legend[i]);
		return;
	}
	kmem_cache_print_kmastat();
	printk("\n");
	arena_print_rows(false);
}

/* The bytes in use of up to REAP_ARENAS_MAX arenas, for reap. */
#define REAP_ARENAS_MAX 64
struct reap_snapshot {
	struct arena *a[REAP_ARENAS_MAX];
	size_t in_use[REAP_ARENAS_MAX];
	size_t n;
};

static void reap_take(struct arena *a, void *arg)
{
	struct reap_snapshot *s = arg;

	if (s->n < REAP_ARENAS_MAX) {
		s->a[s->n] = a;
		s->in_use[s->n++] = arena_amt_total(a) - arena_amt_free(a);
	}
}

/*
 * reap: every cache gives back what it keeps for later (its CPUs'
 * magazines, its depot, its empty slabs), through the reclaim of base,
 * which reaches every arena that imports from it and their caches. Then
 * a line for each arena whose bytes in use changed.
 */
void monitor_cmd_reap(char **argv)
{
	static struct reap_snapshot before;
	size_t changed = 0;

	(void)argv;
	before.n = 0;
	arena_for_each(reap_take, &before);
	arena_reclaim(base_arena);
	for (size_t i = 0; i < before.n; i++) {
		struct arena *a = before.a[i];
		size_t now = arena_amt_total(a) - arena_amt_free(a);
		char was[KSIZE_SHORT_MAX], is[KSIZE_SHORT_MAX];

		if (now == before.in_use[i])
			continue;
		ksize_short(was, sizeof(was), before.in_use[i]);
		ksize_short(is, sizeof(is), now);
		printk("reap: %-14s in use %6s -> %6s (%zu -> %zu bytes)\n",
		       arena_name(a), was, is, before.in_use[i], now);
		changed++;
	}
	if (!changed)
		printk("reap: nothing to give back: no arena's bytes in use changed\n");
}

/*
 * cpus [CACHE]: a row per online CPU: its hardware ID (APIC ID), timer
 * ticks and interrupts; with a cache, what its magazines hold of it.
 */
void monitor_cmd_cpus(char **argv)
{
	struct kmem_cache *cp = NULL;
	struct arch_cpu_info info;
	struct kmem_cpu_stats st;

	if (argv[1]) {
		cp = kmem_cache_find(argv[1]);
		if (!cp) {
			monitor_error("no cache '%s' (slabs lists them)",
				      argv[1]);
			return;
		}
		if (!kmem_cache_cpu_stats(cp, 0, &st)) {
			monitor_error(
				"cache '%s' has no magazines (kmem_debug modes, or one of the slab layer's own)",
				argv[1]);
			return;
		}
	}
	printk("%4s %6s %10s %10s %8s", "cpu", "hw id", "ticks", "interrupts",
	       "nmis");
	if (cp)
		printk("   %6s %8s %4s %10s %8s %9s", "loaded", "previous",
		       "mag", "hits", "misses", "exchanges");
	printk("\n");
	for (int cpu = 0; arch_cpu_info(cpu, &info); cpu++) {
		printk("%4d %6u %10llu %10llu %8llu", cpu, info.hw_id,
		       (unsigned long long)info.ticks,
		       (unsigned long long)info.interrupts,
		       (unsigned long long)info.nmis);
		if (cp && kmem_cache_cpu_stats(cp, cpu, &st))
			printk("   %6ld %8ld %4zu %10llu %8llu %9llu",
			       st.loaded, st.previous, st.mag_size,
			       (unsigned long long)st.hits,
			       (unsigned long long)st.misses,
			       (unsigned long long)st.exchanges);
		printk("\n");
	}
}

static void meminfo_arena(struct arena *a, void *arg)
{
	size_t total = arena_amt_total(a), free = arena_amt_free(a);

	(void)arg;
	printk("  %-14s total %14zu  in use %14zu  free %14zu\n", arena_name(a),
	       total, total - free, free);
}

void monitor_cmd_meminfo(char **argv)
{
	size_t nr;
	const struct mem_range *r = pmem_ranges(&nr);
	uint64_t total = 0;

	(void)argv;
	printk("usable RAM:\n");
	for (size_t i = 0; i < nr; i++) {
		printk("  [0x%llx, 0x%llx) %llu KiB\n",
		       (unsigned long long)r[i].base,
		       (unsigned long long)(r[i].base + r[i].size),
		       (unsigned long long)(r[i].size >> 10));
		total += r[i].size;
	}
	printk("  %zu ranges, %llu KiB (%llu MiB)\n", nr,
	       (unsigned long long)(total >> 10),
	       (unsigned long long)(total >> 20));
	printk("arenas (bytes):\n");
	arena_for_each(meminfo_arena, NULL);
}
