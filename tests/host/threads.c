/*
 * threads.c: libkmem.a under several threads at once. Each thread takes
 * pages from kpages_arena (which imports from base) and IDs from one
 * shared arena, writes into its pages, and gives everything back; at the
 * end every arena checks out and nothing is lost. They also allocate
 * from three object caches, write an address-derived pattern into every
 * object, and hand half of them to the next thread, which checks the
 * pattern and frees them: objects cross CPUs through the magazines and
 * the depot. Meanwhile a visitor thread reaches into the workers'
 * magazines over and over (kmem_cache_check, kmem_cache_reap,
 * arena_reclaim, the cache and arena tables, and once a growth of the
 * 1000-byte cache's magazines): the protocol that
 * keeps it and the owners' lock-free fast paths apart is what
 * ThreadSanitizer watches. Built twice: over libkmem.a, and over
 * libkmem-tsan.a for ThreadSanitizer.
 *
 *   threads [N]   N workers, 1 to 64 (4 if not given)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <kmem_host.h>

#define THREADS_MAX 64
#define ROUNDS 20000
#define LIVE 16
#define IDS (1 << 20)

static struct arena *ids;
static struct kmem_cache *caches[3];
static const size_t cache_sizes[3] = { 64, 256, 1000 };
static int threads = 4;

/* Each thread passes objects to the next through a one-slot mailbox. */
struct mailbox {
	pthread_mutex_t lock;
	void *obj;
	int cache;
} mailbox[THREADS_MAX];

static void pattern(void *obj, size_t size, int check, long me)
{
	unsigned long *w = obj;

	for (size_t i = 0; i < size / sizeof(*w); i++) {
		unsigned long want = (unsigned long)&w[i] * 2654435761u;

		if (check && w[i] != want) {
			fprintf(stderr,
				"threads: thread %ld found a broken pattern in %p\n",
				me, obj);
			exit(1);
		}
		w[i] = want;
	}
}

/* Allocate from a cache; every other object goes to the next thread. */
static void cache_round(long me, int r)
{
	int c = r % 3;
	void *obj = kmem_cache_alloc(caches[c], MEM_WAIT);
	struct mailbox *out = &mailbox[me % threads];
	void *old = NULL;
	int old_cache = 0;

	pattern(obj, cache_sizes[c], 0, me);
	if (r % 2) {
		pattern(obj, cache_sizes[c], 1, me);
		kmem_cache_free(caches[c], obj);
		return;
	}
	pthread_mutex_lock(&out->lock);
	old = out->obj;
	old_cache = out->cache;
	out->obj = obj;
	out->cache = c;
	pthread_mutex_unlock(&out->lock);
	if (old) { /* left by the thread before: check it and free it here */
		pattern(old, cache_sizes[old_cache], 1, me);
		kmem_cache_free(caches[old_cache], old);
	}
}

static int workers_done;

/* Visit the caches until the workers are done; count the visits. */
static void *visitor(void *arg)
{
	long *visits = arg;
	int bad = 0;

	do { /* once at least, however the threads are scheduled */
		for (int i = 0; i < 3; i++) {
			bad |= kmem_cache_check(caches[i]);
			if (*visits % 8 == 7)
				kmem_cache_reap(caches[i]);
		}
		if (*visits % 32 == 31)
			arena_reclaim(kpages_arena);
		if (*visits == 5) /* 14 rounds to 30, every worker held */
			kmem_cache_magazine_grow(caches[2]);
		if (*visits % 64 == 63) { /* the tables read every CPU too */
			kmem_cache_print_all();
			arena_print_stats();
		}
		++*visits;
	} while (!__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE));
	if (bad) {
		fprintf(stderr,
			"threads: a cache failed its check while in use\n");
		exit(1);
	}
	return NULL;
}

static size_t pages_of(int k)
{
	return 4096 * (size_t)(1 + k % 3);
}

static void *worker(void *arg)
{
	long me = (long)arg;
	long *pages[LIVE];
	void *id[LIVE];

	for (int r = 0; r < ROUNDS + LIVE; r++) {
		int k = r % LIVE;

		if (r >= LIVE) {
			if (*pages[k] != me) {
				fprintf(stderr,
					"threads: page of thread %ld holds %ld\n",
					me, *pages[k]);
				exit(1);
			}
			arena_free(kpages_arena, pages[k], pages_of(k));
			arena_free(ids, id[k], 1);
		}
		if (r >= ROUNDS)
			continue;
		pages[k] = arena_alloc(kpages_arena, pages_of(k), MEM_WAIT);
		*pages[k] = me;
		id[k] = arena_alloc(ids, 1, MEM_WAIT);
		cache_round(me, r);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS_MAX], v;
	long visits = 0;
	int bad = 0;

	if (argc > 1) {
		char *end;

		threads = (int)strtol(argv[1], &end, 10);
		if (*end || threads < 1 || threads > THREADS_MAX) {
			fprintf(stderr, "usage: threads [N], N from 1 to %d\n",
				THREADS_MAX);
			return 2;
		}
	}
	kmem_host_init(256 << 20);
	ids = arena_create("ids", (void *)1, IDS, 1, NULL, NULL, NULL, 0,
			   MEM_WAIT);
	for (int i = 0; i < 3; i++)
		caches[i] = kmem_cache_create(i == 0 ? "threads_64" :
					      i == 1 ? "threads_256" :
						       "threads_1000",
					      cache_sizes[i], 0, 0, NULL, NULL,
					      NULL, NULL);
	for (int i = 0; i < threads; i++)
		pthread_mutex_init(&mailbox[i].lock, NULL);
	for (long i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	pthread_create(&v, NULL, visitor, &visits);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&workers_done, 1, __ATOMIC_RELEASE);
	pthread_join(v, NULL);
	for (int i = 0; i < threads; i++) {
		struct mailbox *m = &mailbox[i];

		if (m->obj)
			kmem_cache_free(caches[m->cache], m->obj);
	}
	for (int i = 0; i < 3; i++) {
		bad |= kmem_cache_check(caches[i]);
		kmem_cache_destroy(
			caches[i]); /* panics if any object is live */
	}
	/* the threads' magazines went to the depots when they exited; now
	 * kpages' quantum caches give all their slabs back */
	arena_reclaim(kpages_arena);
	bad |= arena_amt_free(ids) != IDS;
	bad |= arena_amt_total(kpages_arena) != 0;
	bad |= arena_check(ids) | arena_check(kpages_arena);
	bad |= arena_check(base_arena);
	arena_destroy(ids);
	printf("threads: %d threads x %d rounds, pages, IDs and three caches, %ld visits: %s\n",
	       threads, ROUNDS, visits,
	       bad ? "LOST OR BROKEN" : "everything back, all arenas sound");
	return bad;
}
