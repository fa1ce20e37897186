/*
 * pictures.c: make pictures. One workload, run on an arena once per fit
 * policy (instant, best, next), drawn as SVG with the host library:
 *
 *   map-<policy>.svg      the arena's address space after the workload:
 *                         a row per MiB, allocated segments dark, free
 *                         ones light, span starts marked
 *   fragmentation.svg     1 - largest free segment / free bytes, every
 *                         STEP_SAMPLE steps of the workload, one line per
 *                         policy
 *
 *   pictures DIR          writes the four files into DIR, and one line per
 *                         policy on stdout with the workload's figures
 *
 * The pictures are the same on every run and machine: a fixed seed, an
 * arena at a fixed base (a range that is never memory: an arena never
 * touches what it manages), and plain SVG text written here. Each
 * figure is counted twice, by the workload's own model and from the
 * arena (arena_amt_free, arena_walk), and the program fails if they
 * differ; a <desc> in each picture holds them, for make test to compare.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kmem_host.h>

#define PGSIZE 4096ul
#define ARENA_BASE 0x100000000000ul /* never memory: only numbers */
#define ARENA_SIZE (16ul << 20)	    /* 4096 quanta */
#define STEPS 4000
#define STEP_SAMPLE 20
#define LIVE_MAX 400
#define SEED 0x6b6d656d70696373ull /* "kmempics" */

/* The map: a row per MiB, a pixel and a half per quantum. */
#define ROW_BYTES (1ul << 20)
#define ROW_QUANTA (ROW_BYTES / PGSIZE)
#define CELL_W 2.5
#define ROW_H 18
#define MAP_LEFT 70
#define MAP_TOP 44

/* The chart. */
#define CHART_W 640
#define CHART_H 240
#define CHART_LEFT 60
#define CHART_TOP 40

static const struct {
	const char *name;
	int flag;
	const char *colour;
} policies[] = {
	{ "instant", ARENA_INSTANTFIT, "#1f77b4" },
	{ "best", ARENA_BESTFIT, "#2ca02c" },
	{ "next", ARENA_NEXTFIT, "#d62728" },
};
#define NR_POLICIES (sizeof(policies) / sizeof(policies[0]))

struct live {
	uintptr_t addr;
	size_t size;
};

/* What the workload counted, and what the arena says. */
struct figures {
	unsigned long allocs, frees, failures;
	size_t in_use, free, largest_free, free_segs, alloc_segs, spans;
};

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Sizes of 1 to 8 pages mostly, now and then up to 64. */
static size_t workload_size(uint64_t *s)
{
	uint64_t r = rng_next(s);

	if (r % 8 == 0)
		return (size_t)(16 + (r >> 8) % 49) * PGSIZE;
	return (size_t)(1 + (r >> 8) % 8) * PGSIZE;
}

static void fail(const char *what)
{
	fprintf(stderr, "pictures: %s\n", what);
	exit(1);
}

/* ---- what the arena says (arena_walk) */

struct walk {
	struct figures *f;
	FILE *svg; /* NULL: only count */
};

static void count_one(uintptr_t start, size_t size, int kind, void *arg)
{
	struct figures *f = ((struct walk *)arg)->f;

	(void)start;
	if (kind == ARENA_WALK_SPAN) {
		f->spans++;
	} else if (kind == ARENA_WALK_FREE) {
		f->free_segs++;
		f->free += size;
		if (size > f->largest_free)
			f->largest_free = size;
	} else {
		f->alloc_segs++;
		f->in_use += size;
	}
}

/* The arena's own figures: its counters and a walk of its segments. */
static void arena_figures(struct arena *a, struct figures *f)
{
	struct walk w = { f, NULL };

	f->in_use = f->free = f->largest_free = 0;
	f->free_segs = f->alloc_segs = f->spans = 0;
	arena_walk(a, count_one, &w);
	if (f->free != arena_amt_free(a) ||
	    f->in_use + f->free != arena_amt_total(a))
		fail("the walk disagrees with arena_amt_free/arena_amt_total");
}

static unsigned fragmentation_permille(const struct figures *f)
{
	return f->free ? (unsigned)(1000 - (uint64_t)f->largest_free * 1000 /
						   f->free) :
			 0;
}

/* ---- the workload */

static struct live live[LIVE_MAX];
static size_t nr_live;

/* The workload on a, with policy flag; what is live at its end stays. */
static void run(struct arena *a, int flag, unsigned *samples, struct figures *f)
{
	size_t model_in_use = 0;
	uint64_t seed = SEED;

	memset(f, 0, sizeof(*f));
	nr_live = 0;
	for (int step = 0; step < STEPS; step++) {
		uint64_t r = rng_next(&seed);
		/* mostly allocations until 300 live, then as many frees */
		bool alloc =
			nr_live < LIVE_MAX &&
			(nr_live < 60 || r % 100 < (nr_live < 300 ? 60 : 45));

		if (alloc) {
			size_t size = workload_size(&seed);
			void *p = arena_alloc(a, size, MEM_ATOMIC | flag);

			if (p) {
				live[nr_live++] =
					(struct live){ (uintptr_t)p, size };
				model_in_use += size;
				f->allocs++;
			} else {
				f->failures++;
			}
		} else if (nr_live) {
			size_t i = (size_t)(r >> 32) % nr_live;

			arena_free(a, (void *)live[i].addr, live[i].size);
			model_in_use -= live[i].size;
			live[i] = live[--nr_live];
			f->frees++;
		}
		if (step % STEP_SAMPLE == 0) {
			struct figures now = *f;

			arena_figures(a, &now);
			samples[step / STEP_SAMPLE] =
				fragmentation_permille(&now);
		}
	}
	/* the arena's figures beside the workload's counts (it sets only its own) */
	arena_figures(a, f);
	samples[STEPS / STEP_SAMPLE] = fragmentation_permille(f);
	if (f->in_use != model_in_use || f->alloc_segs != nr_live)
		fail("the arena's bytes or segments in use differ from the workload's");
	if (arena_check(a))
		fail("arena_check failed after the workload");
}

/* ---- SVG */

static FILE *open_svg(const char *dir, const char *name, int w, int h)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		fail("cannot write a picture");
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"monospace\" font-size=\"12\">\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
		w, h, w, h, w, h);
	return f;
}

static void figures_desc(FILE *svg, const char *policy, const struct figures *f)
{
	fprintf(svg,
		"<desc>policy %s: allocs %lu, frees %lu, failures %lu, "
		"in use %zu, free %zu, largest free %zu, free segments %zu, "
		"allocated segments %zu, spans %zu</desc>\n",
		policy, f->allocs, f->frees, f->failures, f->in_use, f->free,
		f->largest_free, f->free_segs, f->alloc_segs, f->spans);
}

/* One segment of the map, cut at the rows it crosses. */
static void draw_one(uintptr_t start, size_t size, int kind, void *arg)
{
	FILE *svg = ((struct walk *)arg)->svg;
	size_t q = (start - ARENA_BASE) / PGSIZE, n = size / PGSIZE;

	if (kind == ARENA_WALK_SPAN) {
		size_t row = q / ROW_QUANTA, col = q % ROW_QUANTA;

		fprintf(svg,
			"<rect x=\"%.1f\" y=\"%zu\" width=\"1.5\" height=\"%d\" "
			"fill=\"#000000\"/>\n",
			MAP_LEFT + col * CELL_W - 1.5,
			(size_t)MAP_TOP + row * (ROW_H + 4), ROW_H);
		return;
	}
	while (n) {
		size_t row = q / ROW_QUANTA, col = q % ROW_QUANTA;
		size_t k = ROW_QUANTA - col < n ? ROW_QUANTA - col : n;

		fprintf(svg,
			"<rect x=\"%.1f\" y=\"%zu\" width=\"%.1f\" height=\"%d\" "
			"fill=\"%s\" stroke=\"#ffffff\" stroke-width=\"0.3\"/>\n",
			MAP_LEFT + col * CELL_W,
			(size_t)MAP_TOP + row * (ROW_H + 4), k * CELL_W, ROW_H,
			kind == ARENA_WALK_ALLOC ? "#34568b" : "#dde3ea");
		q += k;
		n -= k;
	}
}

static void write_map(const char *dir, struct arena *a, size_t which,
		      const struct figures *f)
{
	char name[64];
	size_t rows = ARENA_SIZE / ROW_BYTES;
	int w = MAP_LEFT + (int)(ROW_QUANTA * CELL_W) + 20;
	int h = MAP_TOP + (int)rows * (ROW_H + 4) + 30;
	struct walk walk = { NULL, NULL };
	FILE *svg;

	snprintf(name, sizeof(name), "map-%s.svg", policies[which].name);
	svg = open_svg(dir, name, w, h);
	walk.svg = svg;
	fprintf(svg, "<title>arena after the workload, %s fit</title>\n",
		policies[which].name);
	figures_desc(svg, policies[which].name, f);
	fprintf(svg,
		"<text x=\"10\" y=\"18\">%s fit: %zu KiB in use in %zu "
		"segments, %zu KiB free in %zu, the largest %zu KiB</text>\n",
		policies[which].name, f->in_use >> 10, f->alloc_segs,
		f->free >> 10, f->free_segs, f->largest_free >> 10);
	fprintf(svg,
		"<text x=\"10\" y=\"34\" fill=\"#555555\">a row per MiB, "
		"%.1f px per 4 KiB page; dark: allocated, light: free, "
		"black bar: a span starts</text>\n",
		CELL_W);
	for (size_t r = 0; r < rows; r++)
		fprintf(svg, "<text x=\"10\" y=\"%zu\">%2zu MiB</text>\n",
			(size_t)MAP_TOP + r * (ROW_H + 4) + 13, r);
	arena_walk(a, draw_one, &walk);
	fprintf(svg, "</svg>\n");
	fclose(svg);
}

static void write_chart(const char *dir,
			unsigned samples[NR_POLICIES][STEPS / STEP_SAMPLE + 1],
			const struct figures *f)
{
	int nr = STEPS / STEP_SAMPLE;
	FILE *svg =
		open_svg(dir, "fragmentation.svg", CHART_LEFT + CHART_W + 120,
			 CHART_TOP + CHART_H + 50);

	fprintf(svg, "<title>fragmentation over the workload</title>\n");
	for (size_t p = 0; p < NR_POLICIES; p++)
		figures_desc(svg, policies[p].name, &f[p]);
	fprintf(svg,
		"<text x=\"10\" y=\"20\">fragmentation (1 - largest free "
		"segment / free bytes) every %d steps of %d</text>\n",
		STEP_SAMPLE, STEPS);
	for (int pct = 0; pct <= 100; pct += 25) {
		int y = CHART_TOP + CHART_H - pct * CHART_H / 100;

		fprintf(svg,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			"stroke=\"#dddddd\"/>\n<text x=\"10\" y=\"%d\">%3d%%</text>\n",
			CHART_LEFT, y, CHART_LEFT + CHART_W, y, y + 4, pct);
	}
	fprintf(svg,
		"<text x=\"%d\" y=\"%d\">step 0</text>\n"
		"<text x=\"%d\" y=\"%d\">step %d</text>\n",
		CHART_LEFT, CHART_TOP + CHART_H + 20, CHART_LEFT + CHART_W - 70,
		CHART_TOP + CHART_H + 20, STEPS);
	for (size_t p = 0; p < NR_POLICIES; p++) {
		fprintf(svg,
			"<polyline fill=\"none\" stroke=\"%s\" "
			"stroke-width=\"1.5\" points=\"",
			policies[p].colour);
		for (int i = 0; i <= nr; i++)
			fprintf(svg, "%s%d,%u", i ? " " : "",
				CHART_LEFT + i * CHART_W / nr,
				CHART_TOP + CHART_H -
					samples[p][i] * CHART_H / 1000);
		fprintf(svg, "\"/>\n");
		fprintf(svg,
			"<text x=\"%d\" y=\"%zu\" fill=\"%s\">%s fit</text>\n",
			CHART_LEFT + CHART_W + 10,
			(size_t)CHART_TOP + 20 + p * 18, policies[p].colour,
			policies[p].name);
	}
	fprintf(svg, "</svg>\n");
	fclose(svg);
}

int main(int argc, char **argv)
{
	static unsigned samples[NR_POLICIES][STEPS / STEP_SAMPLE + 1];
	struct figures f[NR_POLICIES];

	if (argc != 2) {
		fprintf(stderr, "usage: pictures DIR\n");
		return 2;
	}
	kmem_host_init(64ul << 20);
	for (size_t p = 0; p < NR_POLICIES; p++) {
		struct arena *a =
			arena_create("pictures", (void *)ARENA_BASE, ARENA_SIZE,
				     PGSIZE, NULL, NULL, NULL, 0, MEM_WAIT);

		run(a, policies[p].flag, samples[p], &f[p]);
		write_map(argv[1], a, p, &f[p]);
		printf("pictures: policy %s: allocs %lu, frees %lu, failures %lu, "
		       "in use %zu, free %zu, largest free %zu, free segments "
		       "%zu, allocated segments %zu, spans %zu\n",
		       policies[p].name, f[p].allocs, f[p].frees, f[p].failures,
		       f[p].in_use, f[p].free, f[p].largest_free,
		       f[p].free_segs, f[p].alloc_segs, f[p].spans);
		while (nr_live) {
			nr_live--;
			arena_free(a, (void *)live[nr_live].addr,
				   live[nr_live].size);
		}
		arena_destroy(a);
	}
	write_chart(argv[1], samples, f);
	return 0;
}
