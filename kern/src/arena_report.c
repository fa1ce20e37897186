/*
 * arena_report.c: misuse reports and the tables, §10 of the theory
 * statement in arena.c: the checks of the flags, the panics that say what
 * a bad free was given, ran out of space or destroyed a busy arena, and
 * the table of all arenas, one arena's segments and whatis. Cold code,
 * apart from the hot paths.
 */
#include "arena_impl.h"
#include "kprintf.h"
#include "kstring.h"
#include "panic.h"
#include "printk.h"

/* Each tag type's name, for the reports, the tables and the checker. */
const char *const arena_btag_type_names[] = {
	[BTAG_SENTINEL] = "sentinel", [BTAG_SPAN] = "span",
	[BTAG_FREE] = "free",	      [BTAG_ALLOC] = "allocated",
	[BTAG_SPARE] = "spare",
};

/* ---- misuse */

/*
 * fn's flags must name exactly one of MEM_WAIT and MEM_ATOMIC and at most
 * one fit policy; anything else is a misuse, and panics.
 */
void arena_check_flags(const char *fn, const struct arena *a, int flags)
{
	int mem = flags & (MEM_WAIT | MEM_ATOMIC);
	int fit = flags & FIT_FLAGS;

	if ((mem != MEM_WAIT && mem != MEM_ATOMIC) || (fit && !is_pow2(fit)) ||
	    (flags & ~(MEM_WAIT | MEM_ATOMIC | FIT_FLAGS)))
		panic("%s: bad flags 0x%x (name exactly one of MEM_WAIT and MEM_ATOMIC, at most one fit policy): arena '%s'",
		      fn, flags, a->name);
}

/* Check arena_xalloc's arguments against the rules of arena.h. */
void arena_check_xalloc(struct arena *a, const struct request *r, size_t size,
			size_t align)
{
	const char *n = a->name;

	if (!size || !r->size)
		panic("arena_xalloc: bad size: arena '%s' size %zu", n, size);
	if (align && align != a->quantum &&
	    (!is_pow2(align) || align % a->quantum))
		panic("arena_xalloc: align %zu is not a power of two multiple of the quantum %zu: arena '%s' size %zu",
		      align, a->quantum, n, size);
	if (r->phase &&
	    (r->phase % a->quantum || !r->align || r->phase >= r->align))
		panic("arena_xalloc: phase %zu is not a multiple of the quantum %zu below align %zu: arena '%s' size %zu",
		      r->phase, a->quantum, align, n, size);
	if (r->nocross && (!is_pow2(r->nocross) || r->nocross < r->size))
		panic("arena_xalloc: nocross %zu is not a power of two at least the size %zu: arena '%s'",
		      r->nocross, r->size, n);
}

/* The span of a holding addr, or NULL (a's lock held). Error paths only. */
struct btag *arena_span_containing_locked(struct arena *a, uintptr_t addr)
{
	assert_held(&a->lock);
	for (struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next) {
		if (t->type == BTAG_SPAN && addr >= t->start &&
		    addr - t->start < t->size)
			return t;
	}
	return NULL;
}

/* The segment of a holding addr, or NULL (a's lock held). Error paths. */
struct btag *arena_segment_containing_locked(struct arena *a, uintptr_t addr)
{
	assert_held(&a->lock);
	for (struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next) {
		if ((t->type == BTAG_FREE || t->type == BTAG_ALLOC) &&
		    addr >= t->start && addr - t->start < t->size)
			return t;
	}
	return NULL;
}

struct owner_search {
	uintptr_t addr;
	struct arena *owner;
};

/* arena_for_each callback: whether a has a span holding s->addr. */
static void arena_find_owner(struct arena *a, void *arg)
{
	struct owner_search *s = arg;
	unsigned long irq = spin_lock_irqsave(&a->lock);

	if (!s->owner && arena_span_containing_locked(a, s->addr))
		s->owner = a;
	spin_unlock_irqrestore(&a->lock, irq);
}

/* Whether src is a's source, or its source's, and so on. */
static bool arena_is_source_of(const struct arena *src, const struct arena *a)
{
	for (a = a->source; a; a = a->source) {
		if (a == src)
			return true;
	}
	return false;
}

/*
 * arena_free/xfree was given something that is not an allocation of a
 * with that size: say exactly what it is, and panic. Called without the
 * lock held.
 */
__noreturn void arena_bad_free(const char *fn, struct arena *a, uintptr_t addr,
			       size_t size)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *t = arena_hash_lookup_locked(a, addr);
	struct btag *seg = t ? t : arena_segment_containing_locked(a, addr);
	uintptr_t seg_start = seg ? seg->start : 0, seg_end = 0;
	int type = seg ? seg->type : BTAG_SENTINEL;
	struct owner_search owner = { addr, NULL };

	if (seg)
		seg_end = seg->start + seg->size;
	spin_unlock_irqrestore(&a->lock, irq);

	if (t && t->qslab)
		panic("%s: address is the slab of a quantum cache, not an allocation of this size: arena '%s' addr 0x%lx size %zu (slab of %zu)",
		      fn, a->name, addr, size, seg_end - seg_start);
	if (t)
		panic("%s: wrong size: arena '%s' addr 0x%lx size %zu expected %zu",
		      fn, a->name, addr, size, seg_end - seg_start);
	if (type == BTAG_ALLOC)
		panic("%s: address inside an allocated segment, not its start: arena '%s' addr 0x%lx size %zu (segment 0x%lx-0x%lx)",
		      fn, a->name, addr, size, seg_start, seg_end);
	if (type == BTAG_FREE)
		panic("%s: not allocated (a double free, or never allocated): arena '%s' addr 0x%lx size %zu (free segment 0x%lx-0x%lx)",
		      fn, a->name, addr, size, seg_start, seg_end);
	arena_for_each(arena_find_owner, &owner);
	if (owner.owner && arena_is_source_of(owner.owner, a))
		panic("%s: not allocated (a double free, or never allocated): arena '%s' addr 0x%lx size %zu (its span is back in the source, arena '%s')",
		      fn, a->name, addr, size, owner.owner->name);
	if (owner.owner && owner.owner != a)
		panic("%s: address of another arena: arena '%s' addr 0x%lx size %zu belongs to arena '%s'",
		      fn, a->name, addr, size, owner.owner->name);
	panic("%s: address outside the arena: arena '%s' addr 0x%lx size %zu",
	      fn, a->name, addr, size);
}

/*
 * r cannot be met (reclaimed: even after a reclaim) and the caller may not
 * fail (MEM_WAIT): panic, with the table of all arenas.
 */
__noreturn void arena_out_of_space(const char *fn, struct arena *a,
				   const struct request *r, bool reclaimed)
{
	/* the arena table follows the message, inside the report */
	panic_details(
		arena_print_stats,
		"%s: out of space: arena '%s' size %zu align %zu phase %zu nocross %zu window 0x%lx-0x%lx%s",
		fn, a->name, r->size, r->align, r->phase, r->nocross, r->min,
		r->max,
		reclaimed ? " (after reclaiming from its importers)" : "");
}

/* List up to a few live allocations of a, for arena_destroy's panic. */
__noreturn void arena_destroy_busy(struct arena *a)
{
	/* room for 4 of the longest " 0x%lx+%zu": the list is never cut */
	char list[4 * sizeof(" 0xffffffffffffffff+18446744073709551615")];
	size_t used = 0, shown = 0;

	list[0] = 0;
	for (struct btag *t = a->seg_head.seg_next;
	     t != &a->seg_head && shown < 4; t = t->seg_next) {
		if (t->type != BTAG_ALLOC)
			continue;
		used += (size_t)ksnprintf(list + used, sizeof(list) - used,
					  " 0x%lx+%zu", t->start, t->size);
		used = MIN(used, sizeof(list) - 1);
		shown++;
	}
	panic("arena_destroy: %zu allocations still live: arena '%s' in use %zu:%s%s",
	      arena_nr_alloc_segs(a), a->name, a->in_use, list,
	      arena_nr_alloc_segs(a) > shown ? " ..." : "");
}

/* ---- tables */

/*
 * One row of the table: the counts are read under the arena's lock (not
 * the whole struct: its lock word changes under other CPUs' hands).
 */
static void arena_print_one(struct arena *a, void *arg)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t in_use = a->in_use, total = a->total;
	struct arena_stats stats = a->stats;
	size_t segs = a->nr_free_segs + arena_nr_alloc_segs(a);

	(void)arg;
	spin_unlock_irqrestore(&a->lock, irq);
	printk("%-14s %10zu %14zu %14zu %9llu %9llu %6llu %7llu %8zu  %s\n",
	       a->name, a->quantum, in_use, total,
	       (unsigned long long)stats.allocs,
	       (unsigned long long)stats.frees, (unsigned long long)stats.fails,
	       (unsigned long long)stats.imports, segs,
	       a->source ? a->source->name : "-");
}

void arena_print_stats(void)
{
	printk("%-14s %10s %14s %14s %9s %9s %6s %7s %8s  %s\n", "arena",
	       "quantum", "in use", "total", "allocs", "frees", "fails",
	       "imports", "segments", "source");
	arena_for_each(arena_print_one, NULL);
}

/* One tag of a's segment list, as the monitor's `arena NAME` shows it. */
static void arena_print_tag(const struct btag *t)
{
	if (t->type == BTAG_SPAN) {
		printk("span  [0x%lx, 0x%lx) %zu bytes, %s\n", t->start,
		       t->start + t->size, t->size,
		       t->imported ? "imported" : "added");
		return;
	}
	printk("  %-9s [0x%lx, 0x%lx) %zu bytes%s\n",
	       arena_btag_type_names[t->type], t->start, t->start + t->size,
	       t->size, t->qslab ? " (quantum cache slab)" : "");
}

void arena_print_segments(struct arena *a)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);

	printk("arena '%s': quantum %zu, %zu spans, %zu bytes in use of %zu\n",
	       a->name, a->quantum, a->nr_spans, a->in_use, a->total);
	for (struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next)
		arena_print_tag(t);
	spin_unlock_irqrestore(&a->lock, irq);
}

struct whatis {
	uintptr_t addr;
	int found;
};

/* Say which span and segment of a hold w->addr (numbers only: no reads). */
static void arena_whatis_one(struct arena *a, void *arg)
{
	struct whatis *w = arg;
	unsigned long irq = spin_lock_irqsave(&a->lock);
	struct btag *span = arena_span_containing_locked(a, w->addr);
	struct btag *seg =
		span ? arena_segment_containing_locked(a, w->addr) : NULL;
	struct btag sp = span ? *span : (struct btag){ 0 };
	struct btag sg = seg ? *seg : (struct btag){ 0 };

	spin_unlock_irqrestore(&a->lock, irq);
	if (!span)
		return;
	w->found++;
	printk("arena '%s': span [0x%lx, 0x%lx)", a->name, sp.start,
	       sp.start + sp.size);
	if (seg)
		printk(", %s segment [0x%lx, 0x%lx) +0x%lx%s\n",
		       arena_btag_type_names[sg.type], sg.start,
		       sg.start + sg.size, w->addr - sg.start,
		       sg.qslab ? " (quantum cache slab)" : "");
	else
		printk(", outside its segments (span slack)\n");
}

int arena_whatis(uintptr_t addr)
{
	struct whatis w = { addr, 0 };

	arena_for_each(arena_whatis_one, &w);
	return w.found;
}

/* ---- the walk, for tools */

size_t arena_walk(struct arena *a,
		  void (*fn)(uintptr_t start, size_t size, int kind, void *arg),
		  void *arg)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t n = 0;

	for (const struct btag *t = a->seg_head.seg_next; t != &a->seg_head;
	     t = t->seg_next) {
		if (t->type == BTAG_SPAN)
			fn(t->start, t->size, ARENA_WALK_SPAN, arg);
		else if (t->type == BTAG_FREE)
			fn(t->start, t->size, ARENA_WALK_FREE, arg);
		else if (t->type == BTAG_ALLOC)
			fn(t->start, t->size, ARENA_WALK_ALLOC, arg);
		else
			continue;
		n++;
	}
	spin_unlock_irqrestore(&a->lock, irq);
	return n;
}

/* ---- views: the monitor's vmem, kmastat's arena rows, map, freelists */

/* What the views read of an arena, under its lock; its sizes readably. */
struct arena_view {
	size_t quantum, in_use, total, imported, nr_spans, nr_free;
	size_t largest_free;
	struct arena_stats stats;
	char in_use_s[KSIZE_SHORT_MAX], total_s[KSIZE_SHORT_MAX];
	char imported_s[KSIZE_SHORT_MAX], largest_s[KSIZE_SHORT_MAX];
};

static void arena_view_take(struct arena *a, struct arena_view *v)
{
	unsigned long irq = spin_lock_irqsave(&a->lock);
	uint64_t bits = a->free_bitmap;

	*v = (struct arena_view){
		.quantum = a->quantum,
		.in_use = a->in_use,
		.total = a->total,
		.imported = a->imported_bytes,
		.nr_spans = a->nr_spans,
		.nr_free = a->nr_free_segs,
		.stats = a->stats,
	};
	/* the largest free segment is on the highest non-empty list */
	if (bits) {
		struct list_head *l = &a->free_lists[highbit(bits)], *pos;

		list_for_each (pos, l)
			v->largest_free =
				MAX(v->largest_free, free_tag(pos)->size);
	}
	spin_unlock_irqrestore(&a->lock, irq);
	ksize_short(v->in_use_s, sizeof(v->in_use_s), v->in_use);
	ksize_short(v->total_s, sizeof(v->total_s), v->total);
	ksize_short(v->imported_s, sizeof(v->imported_s), v->imported);
	ksize_short(v->largest_s, sizeof(v->largest_s), v->largest_free);
}

/* One arena's row of kmastat's second table, its name indented. */
static void arena_print_row(struct arena *a, int depth)
{
	struct arena_view v;

	arena_view_take(a, &v);
	printk("%*s%-*s %6s %6s %6s %10llu %10llu %5llu %6s  %s\n", 2 * depth,
	       "", 16 - 2 * depth, a->name, v.in_use_s, v.total_s, v.imported_s,
	       (unsigned long long)v.stats.allocs,
	       (unsigned long long)v.stats.frees,
	       (unsigned long long)v.stats.fails, v.largest_s,
	       a->source ? a->source->name : "-");
}

/* The arenas, collected once: the tree needs them more than once. */
#define VIEW_ARENAS_MAX 128
struct arena_list {
	struct arena *a[VIEW_ARENAS_MAX];
	size_t n, more;
};

static void arena_list_add(struct arena *a, void *arg)
{
	struct arena_list *l = arg;

	if (l->n < VIEW_ARENAS_MAX)
		l->a[l->n++] = a;
	else
		l->more++;
}

/* a's row, then its importers', each below its source, depth-first. */
static void arena_print_subtree(const struct arena_list *l, struct arena *a,
				int depth)
{
	arena_print_row(a, depth);
	for (size_t i = 0; i < l->n; i++) {
		if (l->a[i]->source == a)
			arena_print_subtree(l, l->a[i], MIN(depth + 1, 6));
	}
}

void arena_print_rows(bool tree)
{
	static struct arena_list l; /* the monitor's: one caller at a time */

	l.n = l.more = 0;
	arena_for_each(arena_list_add, &l);
	printk("%-16s %6s %6s %6s %10s %10s %5s %6s  %s\n", "arena", "in use",
	       "total", "import", "allocs", "frees", "fails", "max", "source");
	for (size_t i = 0; i < l.n; i++) {
		if (!tree)
			arena_print_row(l.a[i], 0);
		else if (!l.a[i]->source)
			arena_print_subtree(&l, l.a[i], 0);
	}
	if (l.more)
		printk("(%zu more arenas not shown)\n", l.more);
}

void arena_print_summary(struct arena *a)
{
	struct arena_view v;

	arena_view_take(a, &v);
	printk("arena '%s': quantum %zu, source %s\n", a->name, v.quantum,
	       a->source ? a->source->name : "none");
	printk("  in use %s of %s (%zu of %zu bytes); imported %s\n",
	       v.in_use_s, v.total_s, v.in_use, v.total, v.imported_s);
	printk("  %zu spans, %zu allocated segments, %zu free (the largest %s)\n",
	       v.nr_spans, (size_t)(v.stats.allocs - v.stats.frees), v.nr_free,
	       v.largest_s);
	printk("  %llu allocations, %llu frees, %llu failed, %llu imports\n",
	       (unsigned long long)v.stats.allocs,
	       (unsigned long long)v.stats.frees,
	       (unsigned long long)v.stats.fails,
	       (unsigned long long)v.stats.imports);
}

/* ---- freelists ARENA: free segments by size class, like buddyinfo */

/*
 * part / whole in percent, rounded down, for any 64-bit sizes: both are
 * halved until whole * 100 fits (an arena of addresses may hold 2^63).
 */
static unsigned percent_of(uint64_t part, uint64_t whole)
{
	while (whole > UINT64_MAX / 100) {
		part >>= 1;
		whole >>= 1;
	}
	return whole ? (unsigned)(part * 100 / whole) : 0;
}

void arena_print_freelists(struct arena *a)
{
	static struct {
		size_t count, bytes;
	} lists[ARENA_NR_FREELISTS];
	unsigned long irq = spin_lock_irqsave(&a->lock);
	size_t free = a->total - a->in_use, largest = 0, most = 0, segs = 0;
	char lo[KSIZE_SHORT_MAX], hi[KSIZE_SHORT_MAX], bytes[KSIZE_SHORT_MAX];

	for (int i = 0; i < ARENA_NR_FREELISTS; i++) {
		struct list_head *pos;

		lists[i].count = lists[i].bytes = 0;
		list_for_each (pos, &a->free_lists[i]) {
			size_t size = free_tag(pos)->size;

			lists[i].count++;
			lists[i].bytes += size;
			largest = MAX(largest, size);
		}
		most = MAX(most, lists[i].count);
		segs += lists[i].count;
	}
	spin_unlock_irqrestore(&a->lock, irq);
	ksize_short(bytes, sizeof(bytes), free);
	ksize_short(lo, sizeof(lo), largest);
	printk("arena '%s': %s free in %zu segments, the largest %s: fragmentation %u%% (1 - largest / free)\n",
	       a->name, bytes, segs, lo,
	       free ? 100 - percent_of(largest, free) : 0);
	printk("  %-14s %8s %7s  %s\n", "size class", "segments", "bytes",
	       "(one * per segment, scaled to the longest)");
	for (int i = 0; i < ARENA_NR_FREELISTS; i++) {
		char range[2 * KSIZE_SHORT_MAX + 4];
		size_t stars;

		if (!lists[i].count)
			continue;
		ksize_short(lo, sizeof(lo), 1ull << i);
		if (i + 1 < 64)
			ksize_short(hi, sizeof(hi), 1ull << (i + 1));
		else
			kstrlcpy(hi, "16E", sizeof(hi));
		ksnprintf(range, sizeof(range), "[%s, %s)", lo, hi);
		ksize_short(bytes, sizeof(bytes), lists[i].bytes);
		stars = (lists[i].count * 40 + most - 1) / most;
		printk("  %-14s %8zu %7s  %.*s\n", range, lists[i].count, bytes,
		       (int)stars, "****************************************");
	}
}

/* ---- map ARENA: the address space in characters */

/* At most this many characters a row, and rows. */
#define MAP_COLUMNS 60
#define MAP_ROWS 16
/* what a character's quanta hold (bits): allocated, free, a span start */
#define MAP_ALLOC 1
#define MAP_FREE 2
#define MAP_SPAN 4

/* Mark cells [from, to) of the map (clipped to n) with what. */
static void map_mark(uint8_t *cells, size_t n, uintptr_t base, size_t unit,
		     uintptr_t from, uintptr_t to, uint8_t what)
{
	size_t first = (from - base) / unit, last = (to - 1 - base) / unit;

	for (size_t i = first; i <= last && i < n; i++)
		cells[i] |= what;
}

void arena_print_map(struct arena *a)
{
	static uint8_t cells[MAP_COLUMNS * MAP_ROWS];
	static const char shown[] = { ' ', '#', '.', '+' };
	unsigned long irq = spin_lock_irqsave(&a->lock);
	const struct btag *t, *first = a->seg_head.seg_next;
	uintptr_t base, end = 0;
	size_t unit, n, quanta;
	char unit_text[KSIZE_SHORT_MAX];

	if (first == &a->seg_head) {
		spin_unlock_irqrestore(&a->lock, irq);
		printk("arena '%s' has no span: nothing to draw\n", a->name);
		return;
	}
	base = first->start;
	for (t = first; t != &a->seg_head; t = t->seg_next) {
		base = MIN(base, t->start);
		end = MAX(end, t->start + t->size);
	}
	/* a character stands for quantum << k bytes: the fewest that fit */
	unit = a->quantum;
	while ((end - base - 1) / unit + 1 > ARRAY_SIZE(cells))
		unit <<= 1;
	n = (end - base - 1) / unit + 1;
	kmemset(cells, 0, n);
	for (t = first; t != &a->seg_head; t = t->seg_next) {
		if (t->type == BTAG_SPAN)
			map_mark(cells, n, base, unit, t->start, t->start + 1,
				 MAP_SPAN);
		else if (t->type == BTAG_ALLOC || t->type == BTAG_FREE)
			map_mark(cells, n, base, unit, t->start,
				 t->start + t->size,
				 t->type == BTAG_ALLOC ? MAP_ALLOC : MAP_FREE);
	}
	quanta = unit / a->quantum;
	spin_unlock_irqrestore(&a->lock, irq);

	ksize_short(unit_text, sizeof(unit_text), unit);
	printk("arena '%s': one character is %zu quant%s (%s)\n", a->name,
	       quanta, quanta == 1 ? "um" : "a", unit_text);
	printk("  [0x%lx, 0x%lx), %zu characters\n", base, end, n);
	printk("  # allocated  . free  + both  | a span starts  (blank: no span)\n");
	for (size_t row = 0; row * MAP_COLUMNS < n; row++) {
		char text[MAP_COLUMNS + 1];
		size_t i;

		for (i = 0; i < MAP_COLUMNS && row * MAP_COLUMNS + i < n; i++) {
			uint8_t c = cells[row * MAP_COLUMNS + i];

			text[i] = c & MAP_SPAN ? '|' : shown[c & 3];
		}
		while (i > 0 && text[i - 1] == ' ')
			i--; /* no blanks at the end of a row */
		text[i] = 0;
		printk("%016lx %s\n", base + row * MAP_COLUMNS * unit, text);
	}
}
