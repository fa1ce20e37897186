/*
 * threads.c: libkmem.a under several threads at once. Each thread takes
 * pages from kpages_arena (which imports from base) and IDs from one
 * shared arena, writes into its pages, and gives everything back; at the
 * end every arena checks out and nothing is lost. Built twice: over
 * libkmem.a, and over libkmem-tsan.a for ThreadSanitizer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <kmem_host.h>

#define THREADS 4
#define ROUNDS 20000
#define LIVE 16
#define IDS (1 << 20)

static struct arena *ids;

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
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	int bad = 0;

	kmem_host_init(256 << 20);
	ids = arena_create("ids", (void *)1, IDS, 1, NULL, NULL, NULL, 0,
			   MEM_WAIT);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* the threads' magazines went to the depots when they exited; now
	 * kpages' quantum caches give all their slabs back */
	arena_reclaim(kpages_arena);
	bad |= arena_amt_free(ids) != IDS;
	bad |= arena_amt_total(kpages_arena) != 0;
	bad |= arena_check(ids) | arena_check(kpages_arena);
	bad |= arena_check(base_arena);
	arena_destroy(ids);
	printf("threads: %d threads x %d rounds: %s\n", THREADS, ROUNDS,
	       bad ? "LOST OR BROKEN" : "everything back, all arenas sound");
	return bad;
}
