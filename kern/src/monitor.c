/*
 * monitor.c: the serial monitor. With the word `monitor` on the command
 * line, kmain runs the boot's tests and then offers a `kmem> ` prompt,
 * one command a line:
 *
 *	help			the commands
 *	arenas			the table of all arenas
 *	arena NAME [segments]	that arena's summary; with segments, its
 *				spans and segments
 *	vmem			the arenas as a tree, importers indented
 *	map ARENA		a picture of the arena's address space
 *	freelists ARENA		its free segments by size class
 *	slabs			the table of all caches
 *	kmastat [-h]		every cache and arena, readably; -h: what
 *				each column means
 *	reap			the caches give back what they keep (the
 *				arenas whose bytes in use changed)
 *	whatis ADDR		which arena, span, segment, cache, slab and
 *				object hold ADDR, and whether it is allocated
 *	alloc ARENA SIZE	arena_alloc(MEM_ATOMIC); prints the address
 *	free ARENA ADDR SIZE	arena_free of what `alloc` gave
 *	kmalloc SIZE		kmalloc(MEM_ATOMIC)
 *	kfree ADDR		kfree of what `kmalloc` gave
 *	check			arena_check and kmem_cache_check on everything
 *	test GLOB		run the matching tests again (not those that
 *				must panic or fail on purpose), in the state
 *				the monitor left: a test lacking memory skips
 *				and names it
 *	meminfo			usable RAM and the arenas' totals
 *	cpus [CACHE]		a row per CPU; with a cache, its magazines
 *	bench [MS]		64-byte cache pairs on 1, 2, 4 ... CPUs for
 *				MS milliseconds each: pairs per second and
 *				the scaling (a figure, not a test)
 *	exit			leave with the status of the boot's tests
 *
 * Numbers are decimal or 0x hex; sizes may end in K, M, G or T; an address
 * may be "$", the one the last alloc or kmalloc gave. Bad input
 * gets one line starting "error: " and the prompt back. Nothing typed may
 * panic the kernel or hurt an arena: every allocation goes MEM_ATOMIC, and
 * free and kfree take only what the monitor itself allocated (a fixed
 * table of them), with the size it was allocated with.
 */
#include "monitor.h"
#include "monitor_impl.h"
#include "arch.h"
#include "arena.h"
#include "kmalloc.h"
#include "kprintf.h"
#include "kstring.h"
#include "ktest.h"
#include "pmem.h"
#include "printk.h"
#include "slab.h"

#define MONITOR_LINE_MAX 128
#define MONITOR_ARGS_MAX 4
#define MONITOR_OWNED_MAX 32
/* sizes beyond this are refused before they reach an allocator (64 TiB) */
#define MONITOR_SIZE_LIMIT (1ull << 46)

#define KEY_BACKSPACE 0x08
#define KEY_DELETE 0x7f
#define KEY_KILL_LINE 0x15 /* Ctrl-U */

/* An allocation the monitor made; arena NULL: a kmalloc buffer. */
struct owned {
	struct arena *arena;
	void *addr;
	size_t size;
};

/* The line being typed. */
struct line {
	char buf[MONITOR_LINE_MAX + 1];
	size_t len;
	bool too_long;
};

struct command {
	const char *name;
	const char *args; /* for usage lines */
	int nr_args;	  /* -n: up to n, all optional */
	void (*fn)(char **argv);
	const char *help;
};

static struct owned owned[MONITOR_OWNED_MAX];
static int boot_failed;

void __printf(1, 2) monitor_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printk("error: ");
	vprintk(fmt, ap);
	printk("\n");
	va_end(ap);
}

/* ---- reading a line */

static void echo(const char *s)
{
	arch_console_write(s, kstrlen(s));
}

static void erase_one(struct line *l)
{
	if (!l->len)
		return;
	l->len--;
	echo("\b \b");
}

/* Apply one typed byte (not Enter) to the line, echoing what it does. */
static void line_key(struct line *l, int c)
{
	char ch[2] = { (char)c, 0 };

	if (c == KEY_BACKSPACE || c == KEY_DELETE) {
		erase_one(l);
	} else if (c == KEY_KILL_LINE) {
		while (l->len)
			erase_one(l);
		l->too_long = false;
	} else if (c >= ' ' && c < KEY_DELETE) {
		if (l->len == MONITOR_LINE_MAX) {
			l->too_long = true;
			return;
		}
		l->buf[l->len++] = (char)c;
		echo(ch);
	}
}

/*
 * Read one line into l (Enter is \r or \n; the \n of a \r\n pair is
 * dropped). Returns false at the end of input.
 */
static bool line_read(struct line *l)
{
	static bool after_cr;
	int c;

	l->len = 0;
	l->too_long = false;
	while ((c = arch_console_getc()) >= 0) {
		bool was_cr = after_cr;

		after_cr = c == '\r';
		if (c == '\n' && was_cr)
			continue;
		if (c == '\r' || c == '\n') {
			echo("\n");
			l->buf[l->len] = 0;
			return true;
		}
		line_key(l, c);
	}
	return false;
}

/* Split s into words at spaces; returns how many (MAX + 1: too many). */
static int split_words(char *s, char **argv)
{
	int n = 0;

	while (*s) {
		if (*s == ' ' || *s == '\t') {
			*s++ = 0;
			continue;
		}
		if (n > MONITOR_ARGS_MAX)
			return n;
		argv[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	return n;
}

/* ---- numbers and names */

/* What the last alloc or kmalloc gave: an address may be typed as "$". */
static uintptr_t last_addr;

static bool parse_addr(const char *s, uintptr_t *addr)
{
	const char *end;
	uint64_t v;

	if (s[0] == '$' && !s[1]) {
		if (!last_addr) {
			monitor_error(
				"$ is the address the last alloc or kmalloc gave: there was none");
			return false;
		}
		*addr = last_addr;
		return true;
	}

	if (!kstrtou64(s, &end, &v) || *end) {
		monitor_error("bad address '%s' (decimal or 0x hex)", s);
		return false;
	}
	*addr = (uintptr_t)v;
	return true;
}

/* A size in 1 .. MONITOR_SIZE_LIMIT; anything else is an error line. */
static bool parse_size(const char *s, size_t *size)
{
	uint64_t v;

	if (!kstrtosize(s, &v)) {
		monitor_error(
			"bad size '%s' (decimal or 0x hex, optional K, M, G or T)",
			s);
		return false;
	}
	if (v == 0) {
		monitor_error("size 0: an allocation needs at least one byte");
		return false;
	}
	if (v > MONITOR_SIZE_LIMIT) {
		monitor_error("size %s is too large (at most %llu bytes)", s,
			      (unsigned long long)MONITOR_SIZE_LIMIT);
		return false;
	}
	*size = (size_t)v;
	return true;
}

struct arena_search {
	const char *name;
	struct arena *found;
};

static void match_arena(struct arena *a, void *arg)
{
	struct arena_search *s = arg;

	if (!s->found && kstrcmp(arena_name(a), s->name) == 0)
		s->found = a;
}

struct arena *monitor_find_arena(const char *name)
{
	struct arena_search s = { name, NULL };

	arena_for_each(match_arena, &s);
	if (!s.found)
		monitor_error("no arena '%s' (the command arenas lists them)",
			      name);
	return s.found;
}

/* ---- the monitor's own allocations */

static struct owned *owned_free_slot(void)
{
	for (int i = 0; i < MONITOR_OWNED_MAX; i++) {
		if (!owned[i].addr)
			return &owned[i];
	}
	monitor_error(
		"the monitor holds %d allocations already: free one first",
		MONITOR_OWNED_MAX);
	return NULL;
}

static struct owned *owned_find(struct arena *a, uintptr_t addr)
{
	for (int i = 0; i < MONITOR_OWNED_MAX; i++) {
		if (owned[i].addr && owned[i].arena == a &&
		    (uintptr_t)owned[i].addr == addr)
			return &owned[i];
	}
	return NULL;
}

/* ---- commands */

static void cmd_help(char **argv);

static void cmd_arenas(char **argv)
{
	(void)argv;
	arena_print_stats();
}

/* arena NAME [segments]: a summary; its spans and segments on request. */
static void cmd_arena(char **argv)
{
	struct arena *a;

	if (!argv[1]) {
		monitor_error("usage: arena NAME [segments]");
		return;
	}
	if (argv[2] && kstrcmp(argv[2], "segments") != 0) {
		monitor_error(
			"arena %s: unknown word '%s' (arena NAME segments lists them)",
			argv[1], argv[2]);
		return;
	}
	a = monitor_find_arena(argv[1]);
	if (a && argv[2])
		arena_print_segments(a);
	else if (a)
		arena_print_summary(a);
}

static void cmd_slabs(char **argv)
{
	(void)argv;
	kmem_cache_print_all();
}

static void whatis_owned(uintptr_t addr)
{
	for (int i = 0; i < MONITOR_OWNED_MAX; i++) {
		struct owned *o = &owned[i];

		if (o->addr && (uintptr_t)o->addr == addr)
			printk("monitor: its own %s of %zu bytes%s%s\n",
			       o->arena ? "alloc" : "kmalloc", o->size,
			       o->arena ? " from arena " : "",
			       o->arena ? arena_name(o->arena) : "");
	}
}

static void cmd_whatis(char **argv)
{
	uintptr_t addr;

	if (!parse_addr(argv[1], &addr))
		return;
	if (arena_whatis(addr) + kmem_cache_whatis(addr) == 0) {
		monitor_error("0x%lx lies in no span of any arena", addr);
		return;
	}
	kmalloc_whatis(addr);
	whatis_owned(addr);
}

static void cmd_alloc(char **argv)
{
	struct arena *a = monitor_find_arena(argv[1]);
	struct owned *o;
	size_t size;
	void *p;

	if (!a || !parse_size(argv[2], &size) || !(o = owned_free_slot()))
		return;
	p = arena_alloc(a, size, MEM_ATOMIC);
	if (!p) {
		monitor_error(
			"arena '%s' cannot give %zu bytes now (MEM_ATOMIC)",
			arena_name(a), size);
		return;
	}
	*o = (struct owned){ a, p, size };
	last_addr = (uintptr_t)p;
	if (size % arena_quantum(a))
		printk("alloc: arena '%s' addr %p size %zu (the arena rounds it up to %zu, whole quanta of %zu)\n",
		       arena_name(a), p, size,
		       (size + arena_quantum(a) - 1) / arena_quantum(a) *
			       arena_quantum(a),
		       arena_quantum(a));
	else
		printk("alloc: arena '%s' addr %p size %zu\n", arena_name(a), p,
		       size);
}

static void cmd_free(char **argv)
{
	struct arena *a = monitor_find_arena(argv[1]);
	struct owned *o;
	uintptr_t addr;
	size_t size;

	if (!a || !parse_addr(argv[2], &addr) || !parse_size(argv[3], &size))
		return;
	o = owned_find(a, addr);
	if (!o) {
		monitor_error(
			"0x%lx is not an allocation the monitor made from arena '%s' (whatis says what it is)",
			addr, arena_name(a));
		return;
	}
	if (o->size != size) {
		monitor_error(
			"wrong size: arena '%s' addr 0x%lx was allocated with size %zu, not %zu (see whatis)",
			arena_name(a), addr, o->size, size);
		return;
	}
	arena_free(a, o->addr, o->size);
	printk("free: arena '%s' addr 0x%lx size %zu\n", arena_name(a), addr,
	       size);
	*o = (struct owned){ 0 };
}

static void cmd_kmalloc(char **argv)
{
	struct owned *o;
	size_t size;
	void *p;

	if (!parse_size(argv[1], &size) || !(o = owned_free_slot()))
		return;
	p = kmalloc(size, MEM_ATOMIC);
	if (!p) {
		monitor_error("kmalloc cannot give %zu bytes now (MEM_ATOMIC)",
			      size);
		return;
	}
	*o = (struct owned){ NULL, p, size };
	last_addr = (uintptr_t)p;
	printk("kmalloc: %p size %zu (%zu usable)\n", p, size, kmalloc_size(p));
}

static void cmd_kfree(char **argv)
{
	struct owned *o;
	uintptr_t addr;

	if (!parse_addr(argv[1], &addr))
		return;
	o = owned_find(NULL, addr);
	if (!o) {
		monitor_error(
			"0x%lx is not a buffer the monitor's kmalloc gave (whatis says what it is)",
			addr);
		return;
	}
	kfree(o->addr);
	printk("kfree: 0x%lx\n", addr);
	*o = (struct owned){ 0 };
}

struct check_tally {
	int arenas, caches, bad;
};

static void check_arena(struct arena *a, void *arg)
{
	struct check_tally *t = arg;

	t->arenas++;
	t->bad += arena_check(a) != 0;
}

static void check_cache(struct kmem_cache *cp, void *arg)
{
	struct check_tally *t = arg;

	t->caches++;
	t->bad += kmem_cache_check(cp) != 0;
}

static void cmd_check(char **argv)
{
	struct check_tally t = { 0 };

	(void)argv;
	arena_for_each(check_arena, &t);
	kmem_cache_for_each(check_cache, &t);
	if (t.bad)
		printk("check: %d arenas, %d caches: %d unsound (above)\n",
		       t.arenas, t.caches, t.bad);
	else
		printk("check: %d arenas, %d caches: all sound\n", t.arenas,
		       t.caches);
}

static void cmd_test(char **argv)
{
	if (ktest_rerun(argv[1]) < 0)
		monitor_error(
			"no test matches '%s' (tests that must panic or fail are left out)",
			argv[1]);
}

/*
 * bench [MS]: kmem_cache_alloc + kmem_cache_free pairs of 64 bytes, on 1,
 * 2, 4 ... CPUs at once (up to those online), MS milliseconds each (200 if
 * not given), then pairs per second and the scaling against one CPU. A
 * figure to look at, not a test: TCG's time is the host's, shared with
 * whatever else it runs. Each run has a cache of its own, made and
 * destroyed here, so the magazines start empty and nothing else's
 * counters move.
 */
#define BENCH_BATCH 256

unsigned int monitor_bench_max_ms = 5000;

struct bench_run {
	struct kmem_cache *cp;
	int cpus;	   /* how many take part: the first to arrive */
	int arrived;	   /* runners so far (and the latecomers) */
	int ready;	   /* runners warmed up, at the start line */
	int stop;	   /* set by the leader when the time is up */
	uint64_t cycles;   /* how long the leader measured */
	uint64_t duration; /* in cycles */
	uint64_t fails;	   /* MEM_ATOMIC allocations that failed */
	uint64_t pairs[NR_CPUS];
};

static void bench_body(void *arg)
{
	struct bench_run *b = arg;
	int me = __atomic_fetch_add(&b->arrived, 1, __ATOMIC_ACQ_REL);
	uint64_t start = 0, pairs = 0;

	if (me >= b->cpus)
		return; /* not in this run */
	/* warm up: this CPU's magazines loaded, its code translated (TCG) */
	for (int i = 0; i < BENCH_BATCH; i++) {
		void *o = kmem_cache_alloc(b->cp, MEM_ATOMIC);

		if (o)
			kmem_cache_free(b->cp, o);
	}
	__atomic_add_fetch(&b->ready, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&b->ready, __ATOMIC_ACQUIRE) < b->cpus)
		;
	if (me == 0)
		start = arch_cycles();
	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
		for (int i = 0; i < BENCH_BATCH; i++) {
			void *o = kmem_cache_alloc(b->cp, MEM_ATOMIC);

			if (!o) {
				__atomic_add_fetch(&b->fails, 1,
						   __ATOMIC_RELAXED);
				break;
			}
			kmem_cache_free(b->cp, o);
			pairs++;
		}
		if (me == 0 && arch_cycles() - start >= b->duration) {
			b->cycles = arch_cycles() - start;
			__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
		}
	}
	b->pairs[me] = pairs;
}

static void cmd_bench(char **argv)
{
	static struct bench_run b;
	uint64_t ms = 200, per_ms = arch_cycles_per_ms(), rate1 = 0;
	int online = arch_cpus_online();

	if (argv[1] && (!kstrtosize(argv[1], &ms) || ms == 0 ||
			ms > monitor_bench_max_ms)) {
		monitor_error("bad time '%s' (milliseconds, 1 to %u)", argv[1],
			      monitor_bench_max_ms);
		return;
	}
	if (ms > monitor_bench_max_ms)
		ms = monitor_bench_max_ms;
	printk("bench: 64-byte cache pairs (kmem_cache_alloc + kmem_cache_free), %llu ms on each count of CPUs; %d online\n",
	       (unsigned long long)ms, online);
	printk("%5s %14s %14s %8s\n", "cpus", "pairs/s", "per cpu", "scaling");
	for (int cpus = 1; cpus <= online && cpus <= NR_CPUS; cpus *= 2) {
		uint64_t total = 0, us, rate;

		kmemset(&b, 0, sizeof(b));
		b.cpus = cpus;
		b.duration = ms * per_ms;
		b.cp = kmem_cache_create("bench_64", 64, 0, 0, NULL, NULL, NULL,
					 NULL);
		if (!b.cp) {
			monitor_error("no memory for the bench's cache");
			return;
		}
		arch_cpu_call(bench_body, &b);
		kmem_cache_destroy(b.cp);
		for (int i = 0; i < cpus; i++)
			total += b.pairs[i];
		us = b.cycles * 1000 / per_ms;
		rate = us ? total * 1000000 / us : 0;
		if (cpus == 1)
			rate1 = rate;
		printk("%5d %14llu %14llu %5llu.%02llu\n", cpus,
		       (unsigned long long)rate,
		       (unsigned long long)(rate / (uint64_t)cpus),
		       (unsigned long long)(rate1 ? rate / rate1 : 0),
		       (unsigned long long)(rate1 ? rate * 100 / rate1 % 100 :
						    0));
		if (b.fails)
			printk("      (%llu allocations failed: memory ran out)\n",
			       (unsigned long long)b.fails);
	}
}

/* `exit`: leave with the status of the boot's tests. */
static __noreturn void monitor_leave(void)
{
	if (boot_failed == KTEST_NONE_MATCHED)
		printk("monitor: leaving (the boot's ktest= matched no test)\n");
	else
		printk("monitor: leaving (the boot's tests: %d failed)\n",
		       boot_failed);
	arch_exit(ktest_exit_status(boot_failed));
}

static const struct command commands[] = {
	{ "help", "", 0, cmd_help, "this list" },
	{ "arenas", "", 0, cmd_arenas, "the table of all arenas" },
	{ "arena", "NAME [segments]", -2, cmd_arena,
	  "an arena's summary, or its spans and segments" },
	{ "vmem", "", 0, monitor_cmd_vmem,
	  "the arenas as a tree, importers indented" },
	{ "map", "ARENA", 1, monitor_cmd_map,
	  "a picture of an arena's address space" },
	{ "freelists", "ARENA", 1, monitor_cmd_freelists,
	  "an arena's free segments by size class" },
	{ "slabs", "", 0, cmd_slabs, "the table of all caches" },
	{ "kmastat", "[-h]", -1, monitor_cmd_kmastat,
	  "every cache and arena, readably (-h: the columns)" },
	{ "reap", "", 0, monitor_cmd_reap,
	  "the caches give back what they keep" },
	{ "cpus", "[CACHE]", -1, monitor_cmd_cpus,
	  "each CPU; with CACHE, its magazines of it" },
	{ "whatis", "ADDR", 1, cmd_whatis,
	  "which arena, segment, cache and object hold ADDR" },
	{ "alloc", "ARENA SIZE", 2, cmd_alloc, "arena_alloc(MEM_ATOMIC)" },
	{ "free", "ARENA ADDR SIZE", 3, cmd_free,
	  "arena_free of what alloc gave" },
	{ "kmalloc", "SIZE", 1, cmd_kmalloc, "kmalloc(MEM_ATOMIC)" },
	{ "kfree", "ADDR", 1, cmd_kfree, "kfree of what kmalloc gave" },
	{ "check", "", 0, cmd_check, "check every arena and cache" },
	{ "test", "GLOB", 1, cmd_test,
	  "run the matching tests again (no panic tests)" },
	{ "meminfo", "", 0, monitor_cmd_meminfo,
	  "usable RAM and arena totals" },
	{ "bench", "[MS]", -1, cmd_bench,
	  "64-byte pairs on 1, 2, 4 ... CPUs (a figure)" },
	/* no function: run_line's caller leaves (monitor_leave) */
	{ "exit", "", 0, NULL, "leave QEMU with the boot's test status" },
};

static void cmd_help(char **argv)
{
	(void)argv;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printk("  %-8s %-16s %s\n", commands[i].name, commands[i].args,
		       commands[i].help);
	printk("numbers: decimal or 0x hex; sizes may end in K, M, G or T\n");
	printk("an address may be $: what the last alloc or kmalloc gave\n");
}

/* ---- the loop */

/* Run the command on line l; false: it is `exit`, which the caller does. */
static bool run_line(struct line *l)
{
	char *argv[MONITOR_ARGS_MAX + 1];
	int argc;

	if (l->too_long) {
		monitor_error("line too long (at most %d characters)",
			      MONITOR_LINE_MAX);
		return true;
	}
	argc = split_words(l->buf, argv);
	if (argc == 0)
		return true;
	if (argc <= MONITOR_ARGS_MAX)
		argv[argc] = NULL; /* a command with optional words looks */
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];

		if (kstrcmp(argv[0], c->name) != 0)
			continue;
		if (c->nr_args >= 0 ? argc - 1 != c->nr_args :
				      argc - 1 > -c->nr_args)
			monitor_error("usage: %s %s", c->name, c->args);
		else if (!c->fn)
			return false;
		else
			c->fn(argv);
		return true;
	}
	monitor_error("unknown command '%s' (help lists them)", argv[0]);
	return true;
}

bool monitor_run_line(const char *typed)
{
	static struct line line;

	line.len = 0;
	line.too_long = false;
	for (; *typed; typed++)
		line_key(&line, (unsigned char)*typed);
	line.buf[line.len] = 0;
	return run_line(&line);
}

void monitor_release_all(void)
{
	for (int i = 0; i < MONITOR_OWNED_MAX; i++) {
		struct owned *o = &owned[i];

		if (o->addr && o->arena)
			arena_free(o->arena, o->addr, o->size);
		else if (o->addr)
			kfree(o->addr);
		*o = (struct owned){ 0 };
	}
	last_addr = 0;
}

void monitor_run(int failed)
{
	static struct line line;

	boot_failed = failed;
	printk("monitor: type help for the commands, exit to leave\n");
	for (;;) {
		printk("kmem> ");
		if (!line_read(&line))
			break;
		if (!run_line(&line))
			monitor_leave();
	}
	printk("\nmonitor: end of input\n");
	arch_exit(ktest_exit_status(boot_failed));
}
