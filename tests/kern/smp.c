/*
 * smp.c: the allocators on every CPU at once (ktest_on_each_cpu). In the
 * kernel the bodies run on each online CPU (one, when booted with -smp 1:
 * the tests still mean something, with one runner); on the host, on
 * HOST_CPUS threads. Every test ends with every object back and every
 * checker sound.
 */
#define KTEST_NEEDS_BASE (4ul << 20)
#include "ktest.h"
#include "arch.h"
#include "arena.h"
#include "arena_impl.h"
#include "kmalloc.h"
#include "kmem_debug.h"
#include "kprintf.h"
#include "kstring.h"
#include "page.h"
#include "printk.h"
#include "slab_impl.h"
#include "spinlock.h"

/* Results kept per CPU: a body writes only its own slot. */
struct per_cpu_counts {
	size_t n[NR_CPUS];
};

static size_t sum(const struct per_cpu_counts *c)
{
	size_t total = 0;

	for (int i = 0; i < NR_CPUS; i++)
		total += c->n[i];
	return total;
}

/*
 * n rounds of a body's work, scaled down beyond 4 CPUs: under TCG, 8
 * virtual CPUs on 2 host cores take 4 times as long for the same work
 * each, and the total would grow with the CPUs.
 */
static int scaled(int n)
{
	int cpus = arch_cpus_online();

	return cpus > 4 ? n * 4 / cpus : n;
}

/* This CPU's slot in per-CPU results (a host thread beyond NR_CPUS: 0). */
static int me(void)
{
	int cpu = arch_cpu_id();

	return cpu >= 0 ? cpu : 0;
}

/* ---- 64-byte pairs on all CPUs */

#define PAIRS 20000
#define HELD 64

struct pairs {
	struct kmem_cache *cp;
	struct per_cpu_counts done, bad;
};

/*
 * Alloc/free pairs, and runs of HELD objects held at once, each object
 * marked with its CPU and checked before it goes back: two CPUs handed
 * the same object would see each other's mark.
 */
static void pairs_body(void *arg)
{
	struct pairs *p = arg;
	int cpu = me();
	uint64_t mark = 0x5eed000000000000ull | (uint64_t)cpu;
	uint64_t *held[HELD];

	for (int i = 0; i < scaled(PAIRS); i++) {
		uint64_t *o = kmem_cache_alloc(p->cp, MEM_WAIT);

		*o = mark + ((uint64_t)i << 8);
		if (*(volatile uint64_t *)o != mark + ((uint64_t)i << 8))
			p->bad.n[cpu]++;
		kmem_cache_free(p->cp, o);
		if (i % 500 == 0) {
			for (int k = 0; k < HELD; k++) {
				held[k] = kmem_cache_alloc(p->cp, MEM_WAIT);
				held[k][0] = mark;
				held[k][7] = (uint64_t)k;
			}
			for (int k = HELD; k-- > 0;) {
				if (held[k][0] != mark ||
				    held[k][7] != (uint64_t)k)
					p->bad.n[cpu]++;
				kmem_cache_free(p->cp, held[k]);
			}
		}
		p->done.n[cpu]++;
	}
}

KTEST(smp, pairs_64_on_every_cpu)
{
	static struct pairs p;
	int cpus;

	kmemset(&p, 0, sizeof(p));
	p.cp = kmem_cache_create("smp_pairs_64", 64, 0, 0, NULL, NULL, NULL,
				 NULL);
	cpus = ktest_on_each_cpu(pairs_body, &p);
	KT_EXPECT_EQ(cpus, arch_cpus_online());
	KT_EXPECT_EQ(sum(&p.done), (size_t)cpus * scaled(PAIRS));
	KT_EXPECT_EQ(sum(&p.bad), 0);
	KT_EXPECT_EQ(kmem_cache_nr_live(p.cp), 0);
	KT_EXPECT_EQ(kmem_cache_check(p.cp), 0);
	kmem_cache_destroy(p.cp);
}

/* ---- producer and consumer across CPUs, through the depot */

#define QUEUE_LEN 256
#define PASSED 8000

/* A bounded stack of objects between two CPUs. */
struct queue {
	struct spinlock lock;
	void *objs[QUEUE_LEN];
	int n;
};

struct handoff {
	struct kmem_cache *cp;
	int cpus;
	struct queue q[NR_CPUS];
	struct per_cpu_counts made, freed, foreign;
};

static bool queue_push(struct queue *q, void *o)
{
	bool ok;

	spin_lock(&q->lock);
	ok = q->n < QUEUE_LEN;
	if (ok)
		q->objs[q->n++] = o;
	spin_unlock(&q->lock);
	return ok;
}

static void *queue_pop(struct queue *q)
{
	void *o = NULL;

	spin_lock(&q->lock);
	if (q->n)
		o = q->objs[--q->n];
	spin_unlock(&q->lock);
	return o;
}

/*
 * CPU i allocates into CPU i+1's queue and frees what CPU i-1 put in its
 * own: every object is freed on another CPU than the one that allocated
 * it (with one CPU, the same one), so magazines fill on one side and
 * empty on the other, and full ones travel through the depot.
 */
static void handoff_body(void *arg)
{
	struct handoff *h = arg;
	int cpu = me(), n = h->cpus;
	struct queue *out = &h->q[(cpu + 1) % n], *in = &h->q[cpu];
	size_t made = 0, freed = 0;

	while (made < (size_t)scaled(PASSED) ||
	       freed < (size_t)scaled(PASSED)) {
		if (made < (size_t)scaled(PASSED)) {
			uint64_t *o = kmem_cache_alloc(h->cp, MEM_WAIT);

			*o = (uint64_t)cpu;
			if (queue_push(out, o))
				made++;
			else
				kmem_cache_free(h->cp, o);
		}
		if (freed < (size_t)scaled(PASSED)) {
			uint64_t *o = queue_pop(in);

			if (o) {
				if (*o != (uint64_t)((cpu + n - 1) % n))
					h->foreign.n[cpu]++;
				kmem_cache_free(h->cp, o);
				freed++;
			}
		}
	}
	h->made.n[cpu] = made;
	h->freed.n[cpu] = freed;
}

KTEST(smp, producer_consumer_through_the_depot)
{
	static struct handoff h;

	kmemset(&h, 0, sizeof(h));
	h.cpus = arch_cpus_online();
	for (int i = 0; i < NR_CPUS; i++)
		h.q[i].lock = (struct spinlock)SPINLOCK_INIT;
	h.cp = kmem_cache_create("smp_handoff", 64, 0, 0, NULL, NULL, NULL,
				 NULL);
	KT_EXPECT_EQ(ktest_on_each_cpu(handoff_body, &h), h.cpus);
	KT_EXPECT_EQ(sum(&h.made), (size_t)h.cpus * scaled(PASSED));
	KT_EXPECT_EQ(sum(&h.freed), (size_t)h.cpus * scaled(PASSED));
	KT_EXPECT_EQ(sum(&h.foreign), 0);
	KT_EXPECT_EQ(kmem_cache_nr_live(h.cp), 0);
	KT_EXPECT_EQ(kmem_cache_check(h.cp), 0);
	kmem_cache_destroy(h.cp);
}

/* ---- a visitor that reaps and checks while the others allocate */

#define VISITS 40

struct visit {
	struct kmem_cache *cp;
	int visitor_done;
	struct per_cpu_counts pairs, check_failed;
};

/*
 * CPU 0 visits: it reaps the cache (taking every CPU's magazines through
 * the busy/HELD protocol and arch_cpu_barrier), checks it and kpages,
 * and prints the tables once; the others run pairs and short holds until
 * it is done, so their fast and slow paths race its visits.
 */
static void visit_body(void *arg)
{
	struct visit *v = arg;
	int cpu = me();
	void *held[16];

	if (cpu == 0) {
		for (int i = 0; i < VISITS; i++) {
			kmem_cache_reap(v->cp);
			if (kmem_cache_check(v->cp) ||
			    arena_check(kpages_arena))
				v->check_failed.n[cpu]++;
			if (i == VISITS / 2)
				kmem_cache_print_all();
		}
		__atomic_store_n(&v->visitor_done, 1, __ATOMIC_RELEASE);
	}
	while (!__atomic_load_n(&v->visitor_done, __ATOMIC_ACQUIRE)) {
		for (int k = 0; k < 16; k++)
			held[k] = kmem_cache_alloc(v->cp, MEM_WAIT);
		for (int k = 0; k < 16; k++)
			kmem_cache_free(v->cp, held[k]);
		v->pairs.n[cpu] += 16;
	}
}

KTEST(smp, visitor_reaps_and_checks_while_others_allocate)
{
	static struct visit v;

	kmemset(&v, 0, sizeof(v));
	v.cp = kmem_cache_create("smp_visit", 128, 0, 0, NULL, NULL, NULL,
				 NULL);
	ktest_on_each_cpu(visit_body, &v);
	KT_EXPECT_EQ(sum(&v.check_failed), 0);
	KT_EXPECT_EQ(kmem_cache_nr_live(v.cp), 0);
	kmem_cache_reap(v.cp);
	KT_EXPECT_EQ(kmem_cache_check(v.cp), 0);
	KT_EXPECT_EQ(arena_check(kpages_arena), 0);
	kmem_cache_destroy(v.cp);
}

/* ---- owners on their slow paths racing a visitor */

/*
 * More objects than a CPU's two magazines hold, even after the cache's
 * magazines have grown to the largest type: every run of SLOW_HOLD
 * allocations, and of frees, goes through the slow paths (cpu[c].lock
 * with interrupts off, the depot, the slab layer, new magazines).
 */
#define SLOW_HOLD (2 * KMEM_MAGAZINE_ROUNDS_MAX + 4)
#define SLOW_ROUNDS 12
#define SLOW_VISITS 30

struct slow {
	struct kmem_cache *cp;
	int cpus;
	int owners_ready; /* owners past SLOW_ROUNDS rounds */
	int visitor_done;
	int visits;
	struct per_cpu_counts rounds, bad, check_failed;
};

/* One owner's round: SLOW_HOLD objects out, each marked, checked, back. */
static void slow_round(struct slow *s, int cpu)
{
	static uint64_t *held[NR_CPUS][SLOW_HOLD];
	uint64_t mark = 0x510e000000000000ull | (uint64_t)cpu << 16;

	for (int k = 0; k < SLOW_HOLD; k++) {
		held[cpu][k] = kmem_cache_alloc(s->cp, MEM_WAIT);
		held[cpu][k][0] = mark | (uint64_t)k;
		held[cpu][k][255] = mark | (uint64_t)k;
	}
	for (int k = 0; k < SLOW_HOLD; k++) {
		if (held[cpu][k][0] != (mark | (uint64_t)k) ||
		    held[cpu][k][255] != (mark | (uint64_t)k))
			s->bad.n[cpu]++;
		kmem_cache_free(s->cp, held[cpu][k]);
	}
	if (++s->rounds.n[cpu] == (size_t)scaled(SLOW_ROUNDS))
		__atomic_add_fetch(&s->owners_ready, 1, __ATOMIC_RELEASE);
}

/*
 * CPU 0 visits (reap, which holds every CPU's magazines in turn and sends
 * the barrier, then the checks) until it has visited SLOW_VISITS times
 * and every other CPU has done its SLOW_ROUNDS rounds, so the rounds all
 * race the visits. The owners' slow paths spin on cpu[c].lock with
 * interrupts off while the visitor holds it and waits for its barrier:
 * the barrier must reach them there (an NMI). With one CPU, the visitor
 * is its own owner, one round between visits.
 */
static void slow_body(void *arg)
{
	struct slow *s = arg;
	int cpu = me();

	if (cpu == 0) {
		while (s->visits < SLOW_VISITS ||
		       __atomic_load_n(&s->owners_ready, __ATOMIC_ACQUIRE) <
			       s->cpus - 1) {
			kmem_cache_reap(s->cp);
			if (kmem_cache_check(s->cp) ||
			    arena_check(kpages_arena))
				s->check_failed.n[cpu]++;
			s->visits++;
			if (s->cpus == 1)
				slow_round(s, cpu);
		}
		__atomic_store_n(&s->visitor_done, 1, __ATOMIC_RELEASE);
		return;
	}
	while (!__atomic_load_n(&s->visitor_done, __ATOMIC_ACQUIRE))
		slow_round(s, cpu);
}

KTEST(smp, owners_on_their_slow_paths_race_a_visitor)
{
	static struct slow s;
	struct kmem_cpu_stats st;
	bool magazines;

	kmemset(&s, 0, sizeof(s));
	s.cpus = arch_cpus_online();
	/* 2048-byte objects get the smallest magazines but one (6 rounds) */
	s.cp = kmem_cache_create("smp_slow_2k", 2048, 0, 0, NULL, NULL, NULL,
				 NULL);
	KT_ASSERT_EQ(ktest_on_each_cpu(slow_body, &s), s.cpus);
	KT_EXPECT_GE(s.visits, SLOW_VISITS);
	KT_EXPECT_EQ(sum(&s.check_failed), 0);
	KT_EXPECT_EQ(sum(&s.bad), 0);
	magazines = kmem_cache_cpu_stats(s.cp, 0, &st);
	for (int cpu = 0; cpu < s.cpus; cpu++) {
		/* every owner did its rounds before the visitor stopped */
		if (s.cpus > 1 && cpu > 0)
			KT_EXPECT_GE(s.rounds.n[cpu],
				     (size_t)scaled(SLOW_ROUNDS));
		/*
		 * Each round's allocations outrun the two magazines: an
		 * exchange with the depot or a miss to the slab layer, at
		 * least once a round (a debug mode has no magazines).
		 */
		if (magazines && kmem_cache_cpu_stats(s.cp, cpu, &st))
			KT_EXPECT_GE(st.misses + st.exchanges,
				     (uint64_t)s.rounds.n[cpu]);
	}
	KT_EXPECT_EQ(kmem_cache_nr_live(s.cp), 0);
	kmem_cache_reap(s.cp);
	KT_EXPECT_EQ(kmem_cache_check(s.cp), 0);
	KT_EXPECT_EQ(arena_check(kpages_arena), 0);
	kmem_cache_destroy(s.cp);
}

/* ---- kpages, imports and 2 MiB xalloc from every CPU */

#define PAGE_ROUNDS 300

static size_t in_use(struct arena *a)
{
	return arena_amt_total(a) - arena_amt_free(a);
}

struct pages {
	struct per_cpu_counts got, jumbo, bad;
};

static void pages_body(void *arg)
{
	struct pages *p = arg;
	int cpu = me();

	for (int i = 0; i < scaled(PAGE_ROUNDS); i++) {
		size_t size = PGSIZE * (1 + (size_t)(i % 9));
		uint8_t *a = arena_alloc(kpages_arena, size, MEM_ATOMIC);
		void *k = kmalloc(32 + (size_t)(i % 7) * 200, MEM_ATOMIC);

		if (a) {
			a[0] = (uint8_t)cpu;
			a[size - 1] = (uint8_t)i;
			if (a[0] != (uint8_t)cpu || a[size - 1] != (uint8_t)i)
				p->bad.n[cpu]++;
			arena_free(kpages_arena, a, size);
			p->got.n[cpu]++;
		}
		kfree(k);
		if (i % 30 == 0) {
			void *j = arena_xalloc(kpages_2m_arena, PGSIZE_2M,
					       PGSIZE_2M, 0, 0, NULL, NULL,
					       MEM_ATOMIC);

			if (j) {
				if ((uintptr_t)j % PGSIZE_2M)
					p->bad.n[cpu]++;
				arena_xfree(kpages_2m_arena, j, PGSIZE_2M);
				p->jumbo.n[cpu]++;
			}
		}
	}
}

KTEST(smp, kpages_imports_and_2m_xalloc_from_every_cpu)
{
	static struct pages p;
	size_t kpages_used, jumbo_used;

	ktest_quiesce();
	kpages_used = in_use(kpages_arena);
	jumbo_used = in_use(kpages_2m_arena);
	kmemset(&p, 0, sizeof(p));
	ktest_on_each_cpu(pages_body, &p);
	KT_EXPECT_EQ(sum(&p.bad), 0);
	KT_EXPECT_GT(sum(&p.got), 0);
	KT_EXPECT_EQ(arena_check(kpages_arena), 0);
	KT_EXPECT_EQ(arena_check(kpages_2m_arena), 0);
	KT_EXPECT_EQ(arena_check(base_arena), 0);
	ktest_quiesce();
	KT_EXPECT_EQ(in_use(kpages_arena), kpages_used);
	KT_EXPECT_EQ(in_use(kpages_2m_arena), jumbo_used);
}

/* ---- the barrier's progress */

struct spinners {
	int spinning, release;
	struct per_cpu_counts barriers;
};

/*
 * Every CPU but 0 spins with interrupts off until CPU 0 says stop, as an
 * owner waiting for a lock its visitor holds would; CPU 0 meanwhile asks
 * for barriers. An interrupt could not reach the spinners: the barrier
 * must get through anyway (the kernel sends NMIs), or this never ends.
 */
static void spinners_body(void *arg)
{
	struct spinners *s = arg;
	int cpu = me(), n = arch_cpus_online();

	if (cpu != 0) {
		unsigned long flags = arch_irq_save();

		__atomic_add_fetch(&s->spinning, 1, __ATOMIC_ACQ_REL);
		while (!__atomic_load_n(&s->release, __ATOMIC_ACQUIRE))
			arch_cpu_relax();
		arch_irq_restore(flags);
		return;
	}
	while (__atomic_load_n(&s->spinning, __ATOMIC_ACQUIRE) < n - 1)
		arch_cpu_relax();
	for (int i = 0; i < 100; i++) {
		arch_cpu_barrier();
		s->barriers.n[cpu]++;
	}
	__atomic_store_n(&s->release, 1, __ATOMIC_RELEASE);
}

KTEST(smp, barrier_reaches_cpus_spinning_with_interrupts_off)
{
	static struct spinners s;

	kmemset(&s, 0, sizeof(s));
	ktest_on_each_cpu(spinners_body, &s);
	KT_EXPECT_EQ(s.barriers.n[0], 100);
	KT_EXPECT_EQ(s.spinning, arch_cpus_online() - 1);
}

/* Every CPU asks for barriers at once: two visitors never wait on each other forever. */
static void barriers_body(void *arg)
{
	struct per_cpu_counts *c = arg;
	unsigned long flags = arch_irq_save();

	for (int i = 0; i < 200; i++) {
		arch_cpu_barrier();
		c->n[me()]++;
	}
	arch_irq_restore(flags);
}

KTEST(smp, barriers_from_every_cpu_at_once)
{
	static struct per_cpu_counts c;
	int cpus;

	kmemset(&c, 0, sizeof(c));
	cpus = ktest_on_each_cpu(barriers_body, &c);
	KT_EXPECT_EQ(sum(&c), (size_t)cpus * 200);
}

/* ---- allocation in interrupt context, beside the same CPU's own */

#define IRQ_TICKS 40
#define IRQ_SPIN_LIMIT 200000000ul

struct irq_side {
	struct kmem_cache *cp;
	uint64_t calls, got, failed; /* the timer's side */
	uint64_t in_interrupt;	     /* calls that knew where they ran */
};

/*
 * The timer interrupt's side: a kmalloc buffer, a cache object and a
 * kpages page, MEM_ATOMIC (never a reclaim, never an IPI), each written
 * and freed before it returns.
 */
static void irq_allocates(void *arg)
{
	struct irq_side *s = arg;
	void *k = kmalloc(96, MEM_ATOMIC);
	uint8_t *o = kmem_cache_alloc(s->cp, MEM_ATOMIC);
	uint8_t *p = arena_alloc(kpages_arena, PGSIZE, MEM_ATOMIC);

	s->calls++;
	s->in_interrupt += arch_in_interrupt();
	s->got += (k != NULL) + (o != NULL) + (p != NULL);
	s->failed += (k == NULL) + (o == NULL) + (p == NULL);
	if (o)
		o[0] = 1;
	if (p)
		p[PGSIZE - 1] = 1;
	kfree(k);
	if (o)
		kmem_cache_free(s->cp, o);
	if (p)
		arena_free(kpages_arena, p, PGSIZE);
}

KTEST_KERNEL(smp, timer_interrupt_allocates_beside_its_cpu)
{
	static struct irq_side s;
	uint64_t mine = 0;
	size_t kpages_used;
	unsigned long spins = 0;

	kmemset(&s, 0, sizeof(s));
	s.cp = kmem_cache_create("smp_irq", 200, 0, 0, NULL, NULL, NULL, NULL);
	ktest_quiesce();
	kpages_used = in_use(kpages_arena);
	KT_ASSERT_TRUE(arch_timer_hook(irq_allocates, &s));
	/* the same caches from this CPU, interrupts on, until enough ticks */
	while (__atomic_load_n(&s.calls, __ATOMIC_RELAXED) < IRQ_TICKS &&
	       spins++ < IRQ_SPIN_LIMIT) {
		void *k = kmalloc(96, MEM_WAIT);
		void *o = kmem_cache_alloc(s.cp, MEM_WAIT);
		void *p = arena_alloc(kpages_arena, PGSIZE, MEM_WAIT);

		kfree(k);
		kmem_cache_free(s.cp, o);
		arena_free(kpages_arena, p, PGSIZE);
		mine += 3;
	}
	arch_timer_hook(NULL, NULL);
	printk("%llu timer-side allocations (%llu failed) in %llu ticks, %llu on the CPU's side\n",
	       (unsigned long long)s.got, (unsigned long long)s.failed,
	       (unsigned long long)s.calls, (unsigned long long)mine);
	KT_EXPECT_GE(s.calls, IRQ_TICKS);
	/* MEM_ATOMIC there never reclaims: it knows it is in an interrupt */
	KT_EXPECT_EQ(s.in_interrupt, s.calls);
	KT_EXPECT_FALSE(arch_in_interrupt());
	KT_EXPECT_EQ(s.got + s.failed, 3 * s.calls);
	KT_EXPECT_GT(mine, 0);
	KT_EXPECT_EQ(kmem_cache_nr_live(s.cp), 0);
	KT_EXPECT_EQ(kmem_cache_check(s.cp), 0);
	KT_EXPECT_EQ(arena_check(kpages_arena), 0);
	kmem_cache_destroy(s.cp);
	ktest_quiesce();
	KT_EXPECT_EQ(in_use(kpages_arena), kpages_used);
}

/* ---- reclaim racing MEM_WAIT allocation */

#define RECLAIM_PAGES_PER_CPU 16

struct reclaim_race {
	struct arena_reclaimer hoarder;
	struct arena *a;
	int cpus, filled, reclaims;
	size_t big;
	void *hoard[NR_CPUS];
	struct per_cpu_counts got;
};

/*
 * Registered on the arena: what the CPUs hoarded, given back by the
 * first reclaim, and only at its end, so that the other CPUs, whose
 * allocations failed meanwhile, find that reclaim running.
 */
static void give_back_slowly(void *arg)
{
	struct reclaim_race *r = arg;

	r->reclaims++;
	for (int i = 0; i < 200000; i++)
		arch_cpu_relax();
	for (int i = 0; i < NR_CPUS; i++) {
		if (r->hoard[i])
			arena_free(r->a, r->hoard[i],
				   RECLAIM_PAGES_PER_CPU * PGSIZE);
		r->hoard[i] = NULL;
	}
}

/*
 * Each CPU hoards its share of the arena, waits for the others, then
 * asks for most of a share with MEM_WAIT, all at once. Only a reclaim can
 * meet those requests: one CPU runs it while the others find it running.
 * They must wait for it and try again; going without, as a reclaim once
 * did when another was running, makes a MEM_WAIT allocation panic with
 * the memory on its way back.
 */
static void reclaim_body(void *arg)
{
	struct reclaim_race *r = arg;
	int cpu = me();
	void *big;

	r->hoard[cpu] =
		arena_alloc(r->a, RECLAIM_PAGES_PER_CPU * PGSIZE, MEM_ATOMIC);
	__atomic_add_fetch(&r->filled, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&r->filled, __ATOMIC_ACQUIRE) < r->cpus)
		arch_cpu_relax();
	big = arena_alloc(r->a, r->big, MEM_WAIT);
	r->got.n[cpu] = big != NULL;
	*(volatile uint8_t *)big = (uint8_t)cpu;
	arena_free(r->a, big, r->big);
}

KTEST(smp, reclaim_racing_mem_wait_allocations)
{
	static struct reclaim_race r;
	size_t size;
	void *mem;

	kmemset(&r, 0, sizeof(r));
	r.cpus = arch_cpus_online();
	size = (size_t)r.cpus * RECLAIM_PAGES_PER_CPU * PGSIZE;
	mem = arena_alloc(kpages_arena, size, MEM_ATOMIC);
	if (!mem) {
		ktest_skipf("needs %zu bytes from kpages", size);
		return;
	}
	r.a = arena_create("smp_reclaim", mem, size, PGSIZE, NULL, NULL, NULL,
			   0, MEM_WAIT);
	arena_add_reclaim(r.a, &r.hoarder, give_back_slowly, &r);
	r.big = (RECLAIM_PAGES_PER_CPU - 1) * PGSIZE;
	KT_EXPECT_EQ(ktest_on_each_cpu(reclaim_body, &r), r.cpus);
	KT_EXPECT_EQ(sum(&r.got), (size_t)r.cpus);
	KT_EXPECT_GE(r.reclaims, 1);
	arena_remove_reclaim(r.a, &r.hoarder);
	KT_EXPECT_EQ(arena_check(r.a), 0);
	KT_EXPECT_EQ(arena_amt_free(r.a), size);
	arena_destroy(r.a);
	arena_free(kpages_arena, mem, size);
}

/* ---- magazines that grow */

/*
 * The mag column (the 7th) of cache name's row in a printed cache table,
 * or -1 without one.
 */
static long table_mag_column(const char *table, const char *name)
{
	size_t n = kstrlen(name);

	for (const char *line = table; line && *line;) {
		if (kstrncmp(line, name, n) == 0 && line[n] == ' ') {
			const char *p = line;
			uint64_t v = 0;

			for (int col = 0; col < 6; col++) {
				while (*p && *p != ' ')
					p++;
				while (*p == ' ')
					p++;
			}
			return kstrtou64(p, NULL, &v) ? (long)v : -1;
		}
		line = kstrchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return -1;
}

#define GROW_OBJ 2048 /* objects of this size start with 6-round magazines */
#define GROW_PAIRS 3000

struct grow {
	struct kmem_cache *cp;
	int done;
	bool grew[2];
	size_t sizes[3]; /* [1], [2]: after each growth */
	struct per_cpu_counts ops, bad;
};

/* Allocate and free in runs of 16, marking each object, until told. */
static void grow_churn(struct grow *g, int cpu)
{
	uint64_t *held[16];

	for (int k = 0; k < 16; k++) {
		held[k] = kmem_cache_alloc(g->cp, MEM_WAIT);
		held[k][0] = (uint64_t)cpu;
	}
	for (int k = 0; k < 16; k++) {
		if (held[k][0] != (uint64_t)cpu)
			g->bad.n[cpu]++;
		kmem_cache_free(g->cp, held[k]);
	}
	g->ops.n[cpu] += 16;
}

/*
 * CPU 0 grows the magazines twice (6 -> 14 -> 30 rounds) while every
 * other CPU keeps allocating and freeing: the size changes only while
 * every CPU is held, after every magazine of the old size was drained.
 */
static void grow_body(void *arg)
{
	struct grow *g = arg;
	int cpu = me();

	if (cpu == 0) {
		static const size_t target[2] = { 14, 30 };

		/*
		 * Each step until its size is reached: a growth the depot's
		 * contention started on another CPU may be running (then
		 * this one returns false) or may have taken the step first.
		 */
		for (int step = 0; step < 2; step++) {
			for (int tries = 0;
			     tries < 1000 &&
			     cache_mag_size(g->cp) < target[step];
			     tries++) {
				for (int i = 0; i < GROW_PAIRS / 16 / 8; i++)
					grow_churn(g, cpu);
				g->grew[step] |=
					kmem_cache_magazine_grow(g->cp);
			}
			g->sizes[step + 1] = cache_mag_size(g->cp);
		}
		__atomic_store_n(&g->done, 1, __ATOMIC_RELEASE);
		return;
	}
	while (!__atomic_load_n(&g->done, __ATOMIC_ACQUIRE))
		grow_churn(g, cpu);
}

KTEST(smp, magazines_grow_while_every_cpu_allocates)
{
	static struct grow g;
	static char table[16384];

	if (kmem_debug & KMEM_DEBUG_BYPASS)
		KT_SKIP("kmem_debug is on: caches bypass their magazines");
	kmemset(&g, 0, sizeof(g));
	g.cp = kmem_cache_create("smp_grow", GROW_OBJ, 0, 0, NULL, NULL, NULL,
				 NULL);
	KT_ASSERT_EQ(g.cp->mag_size, 6);
	ktest_on_each_cpu(grow_body, &g);
	/*
	 * Contention on the depot may grow them too, before CPU 0 does: the
	 * sizes still go only 6, 14, 30, and two resizes reach the largest.
	 */
	if (arch_cpus_online() == 1) { /* nothing else can grow them */
		KT_EXPECT_TRUE(g.grew[0]);
		KT_EXPECT_TRUE(g.grew[1]);
	}
	KT_EXPECT_TRUE(g.sizes[1] == 14 || g.sizes[1] == 30);
	KT_EXPECT_EQ(g.sizes[2], 30);
	KT_EXPECT_EQ(g.cp->resizes, 2);
	/* the largest type: no further growth */
	KT_EXPECT_FALSE(kmem_cache_magazine_grow(g.cp));
	KT_EXPECT_EQ(sum(&g.bad), 0);
	KT_EXPECT_EQ(kmem_cache_nr_live(g.cp), 0);
	KT_EXPECT_EQ(kmem_cache_check(g.cp), 0);
	/* the size in use shows in the table's mag column */
	printk_capture_begin(table, sizeof(table));
	kmem_cache_print_all();
	printk_capture_end();
	KT_EXPECT_EQ(table_mag_column(table, "smp_grow"), 30);
	kmem_cache_destroy(g.cp);
}

/*
 * CPU 0 takes the depot's lock and holds it until another CPU, whose
 * 6-round magazines send it to the depot every few objects, finds it
 * taken; lets go; and again, until the others have found it taken
 * KMEM_DEPOT_CONTENTION_GROW times. The next slow path grows
 * the magazines. With one CPU nobody contends, and they keep their size.
 */
static void contend_body(void *arg)
{
	struct grow *g = arg;
	int cpu = me(), n = arch_cpus_online();

	if (cpu == 0) {
		struct kmem_depot *d = &g->cp->depot;

		/* each CPU that waits counts once: let them through, again */
		for (int round = 0;
		     n > 1 && round < 10000 &&
		     __atomic_load_n(&d->contended, __ATOMIC_RELAXED) <
			     KMEM_DEPOT_CONTENTION_GROW;
		     round++) {
			unsigned long irq = spin_lock_irqsave(&d->lock);
			uint64_t seen = __atomic_load_n(&d->contended,
							__ATOMIC_RELAXED);

			for (unsigned long spins = 0;
			     __atomic_load_n(&d->contended, __ATOMIC_RELAXED) ==
				     seen &&
			     spins < 1000000ul;
			     spins++)
				arch_cpu_relax();
			spin_unlock_irqrestore(&d->lock, irq);
			/* let a waiter take it before taking it back: under
			 * TCG, a lock retaken at once can starve the others */
			for (unsigned long spins = 0;
			     !spin_is_locked(&d->lock) && spins < 1000000ul;
			     spins++)
				arch_cpu_relax();
		}
		for (int i = 0; i < GROW_PAIRS / 16; i++)
			grow_churn(g, cpu);
		__atomic_store_n(&g->done, 1, __ATOMIC_RELEASE);
		return;
	}
	while (!__atomic_load_n(&g->done, __ATOMIC_ACQUIRE))
		grow_churn(g, cpu);
}

KTEST(smp, depot_contention_grows_magazines)
{
	static struct grow g;
	int cpus = arch_cpus_online();

	if (kmem_debug & KMEM_DEBUG_BYPASS)
		KT_SKIP("kmem_debug is on: caches bypass their magazines");
	kmemset(&g, 0, sizeof(g));
	g.cp = kmem_cache_create("smp_contend", GROW_OBJ, 0, 0, NULL, NULL,
				 NULL, NULL);
	ktest_on_each_cpu(contend_body, &g);
	printk("%d CPUs: the depot's lock found taken %llu times, %llu resizes, %zu rounds\n",
	       cpus, (unsigned long long)g.cp->depot.contended,
	       (unsigned long long)g.cp->resizes, g.cp->mag_size);
	if (cpus > 1) {
		KT_EXPECT_GE(g.cp->depot.contended, KMEM_DEPOT_CONTENTION_GROW);
		KT_EXPECT_GE(g.cp->resizes, 1);
		KT_EXPECT_GT(g.cp->mag_size, 6);
	} else {
		KT_EXPECT_EQ(g.cp->depot.contended, 0);
		KT_EXPECT_EQ(g.cp->resizes, 0);
		KT_EXPECT_EQ(g.cp->mag_size, 6);
	}
	KT_EXPECT_EQ(sum(&g.bad), 0);
	KT_EXPECT_EQ(kmem_cache_nr_live(g.cp), 0);
	KT_EXPECT_EQ(kmem_cache_check(g.cp), 0);
	kmem_cache_destroy(g.cp);
}

/* ---- MEM_ATOMIC exhaustion under contention */

#define EXHAUST_PAGES 64
#define EXHAUST_OBJ 512
#define EXHAUST_HELD 1024

struct exhaust {
	struct arena *a;
	struct kmem_cache *cp;
	int phase; /* 0: pages from the arena; 1: objects from the cache */
	void *held[NR_CPUS][EXHAUST_HELD];
	struct per_cpu_counts got, failed;
};

/*
 * Every CPU takes pages (then objects) with MEM_ATOMIC until it gets
 * NULL, keeping what it got: together they must get exactly what there
 * is, whoever wins each race, and each ends with one failure.
 */
static void exhaust_body(void *arg)
{
	struct exhaust *e = arg;
	int cpu = me();
	size_t n = 0;

	while (n < EXHAUST_HELD) {
		void *p = e->phase ? kmem_cache_alloc(e->cp, MEM_ATOMIC) :
				     arena_alloc(e->a, PGSIZE, MEM_ATOMIC);

		if (!p)
			break;
		*(volatile uint8_t *)p = (uint8_t)cpu;
		e->held[cpu][n++] = p;
	}
	e->got.n[cpu] = n;
	e->failed.n[cpu] = n < EXHAUST_HELD;
}

static void exhaust_give_back(struct exhaust *e)
{
	for (int c = 0; c < NR_CPUS; c++) {
		for (size_t i = 0; i < e->got.n[c]; i++) {
			if (e->phase)
				kmem_cache_free(e->cp, e->held[c][i]);
			else
				arena_free(e->a, e->held[c][i], PGSIZE);
		}
	}
}

KTEST(smp, mem_atomic_exhaustion_with_exact_counts)
{
	static struct exhaust e;
	size_t size = EXHAUST_PAGES * PGSIZE;
	int cpus = arch_cpus_online();
	void *mem;

	kmemset(&e, 0, sizeof(e));
	mem = arena_alloc(kpages_arena, size, MEM_ATOMIC);
	if (!mem) {
		ktest_skipf("needs %zu bytes from kpages", size);
		return;
	}
	e.a = arena_create("smp_exhaust", mem, size, PGSIZE, NULL, NULL, NULL,
			   0, MEM_WAIT);
	ktest_on_each_cpu(exhaust_body, &e);
	KT_EXPECT_EQ(sum(&e.got), EXHAUST_PAGES);
	KT_EXPECT_EQ(sum(&e.failed), (size_t)cpus);
	KT_EXPECT_EQ(arena_amt_free(e.a), 0);
	KT_EXPECT_EQ(e.a->stats.allocs, EXHAUST_PAGES);
	KT_EXPECT_EQ(e.a->stats.fails, (uint64_t)cpus);
	exhaust_give_back(&e);
	KT_EXPECT_EQ(arena_amt_free(e.a), size);
	KT_EXPECT_EQ(arena_check(e.a), 0);

	/* the same through a cache whose slabs are the arena's pages */
	e.phase = 1;
	e.cp = kmem_cache_create("smp_exhaust_objs", EXHAUST_OBJ, 0, 0, e.a,
				 NULL, NULL, NULL);
	kmemset(&e.got, 0, sizeof(e.got));
	kmemset(&e.failed, 0, sizeof(e.failed));
	ktest_on_each_cpu(exhaust_body, &e);
	/* every slab the arena's pages make (debug modes: bigger ones) */
	KT_EXPECT_EQ(sum(&e.got), size / e.cp->slab_size * e.cp->objs_per_slab);
	KT_EXPECT_EQ(sum(&e.failed), (size_t)cpus);
	KT_EXPECT_EQ(e.cp->fails, (uint64_t)cpus);
	KT_EXPECT_EQ(kmem_cache_nr_live(e.cp), sum(&e.got));
	exhaust_give_back(&e);
	KT_EXPECT_EQ(kmem_cache_nr_live(e.cp), 0);
	KT_EXPECT_EQ(kmem_cache_check(e.cp), 0);
	kmem_cache_destroy(e.cp);
	KT_EXPECT_EQ(arena_amt_free(e.a), size);
	KT_EXPECT_EQ(arena_check(e.a), 0);
	arena_destroy(e.a);
	arena_free(kpages_arena, mem, size);
}
