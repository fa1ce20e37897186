/*
 * slab.c: object caches. Bonwick, "The Slab Allocator: An Object-Caching
 * Kernel Memory Allocator" (USENIX 1994) for the slab layer; Bonwick and
 * Adams, "Magazines and Vmem" (USENIX 2001) for the per-CPU layer.
 *
 * ---- Theory statement
 *
 * The layer's code lives in rooms (files), each holding the parts of this
 * statement whose headings name it: slab.c keeps the statement and the
 * hot paths, the magazine layer (§1, §4, §6). The structures are in
 * slab_impl.h, what callers use in slab.h.
 *
 * 1. Two layers (slab.c)
 *
 * A cache hands out constructed objects of one size. Its upper layer is
 * per-CPU: each CPU has a loaded and a previous magazine (stacks of up to
 * mag_size objects), and allocation and free are a pop or a push on the
 * loaded one. When it runs dry or full, the CPU swaps in the previous
 * one, then trades with the cache's depot (lists of full and empty
 * magazines). Only when the depot cannot help does a request reach the
 * lower layer, the slabs, where objects are really carved and freed.
 *
 *   kmem_cache_alloc -> cpu[c].loaded -> cpu[c].previous -> depot -> slabs
 *                                                               -> source
 *
 * 2. Slabs (slab_layer.c)
 *
 * A slab is a run of slab_size bytes from the source arena (taken with
 * arena_xalloc, which never goes through the source's own quantum caches)
 * cut into objs_per_slab objects of `chunk` bytes, the first one colour
 * bytes in: successive slabs start their objects at different offsets so
 * that their first objects do not all compete for the same cache lines.
 *
 * On-slab caches (small objects, memory that may be written, a source
 * quantum of one page) keep the slab header at the end of a one-page slab
 * and their free list inside the free objects:
 *
 *   page:  [colour][obj][obj][obj]...[obj][slack][struct kmem_slab]
 *          free objects' first word -> next free object
 *
 * so the slab of an object is found without a lookup, which gives the
 * always-on check that a freed object belongs to the cache it is freed
 * to. A bitmap in the header says which objects are out, so a double free
 * is caught when the object reaches the slab layer.
 *
 * Off-slab caches (big objects, and every KMC_NOTOUCH cache, whose
 * objects might not be memory) keep slab headers and bufctls (one per
 * object: its address and slab) in the kmem_slab and kmem_bufctl caches,
 * and find an allocated object's bufctl in a hash by address, which grows
 * like an arena's.
 *
 * Slabs are on one of three lists: full (no free object), partial, empty.
 * Allocation prefers partial slabs, so empty ones stay empty and can go
 * back: kmem_cache_reap() and reclaim return them to the source.
 *
 * 3. Constructors (slab_layer.c)
 *
 * The constructor runs on every object when its slab is made; objects
 * stay constructed in slabs and magazines, and the destructor runs when
 * a slab goes back. A constructor that fails under MEM_ATOMIC undoes the
 * ones before it and the slab goes back: nothing leaks.
 *
 * 4. Magazines and the depot (slab.c)
 *
 * Each struct kmem_cpu_cache keeps `rounds`, the fill of its loaded
 * magazine (-1: none yet), next to the pointer, so the fast path touches
 * one cache line. A magazine keeps its n objects in round[1 .. n] above
 * a NULL floor, round[0], so the free path's look at the top (is obj the
 * one this CPU freed last?) is one compare, empty magazine or not. The
 * magazines come from the kmem_magazine_<M> caches, which have no
 * magazine layer themselves: getting a magazine never recurses into a
 * cache that needs one.
 *
 * Magazines grow (slab_resize.c), as in illumos's
 * kmem_cache_magazine_resize: a CPU that
 * finds the depot's lock taken counts it (depot.contended), and after
 * KMEM_DEPOT_CONTENTION_GROW of those since the last resize, the next
 * slow path gives the cache the next larger magazine type
 * (kmem_cache_magazine_grow), up to KMEM_MAGAZINE_ROUNDS_MAX rounds: the
 * CPUs then trade with the depot less often. The fast push bounds its
 * index by mag_size, so the size may change only where no fast path can
 * see it: the resize holds every CPU at once, as a visitor holds one
 * (§6: the lock, HELD, one barrier for all, every busy seen 0), takes
 * all their magazines and the depot's, sets the new size and magazine
 * cache, lets the CPUs go with no magazine (rounds -1), and only then
 * drains what it took into the slab layer. A magazine therefore never
 * holds more rounds than it was made for: every magazine of the old size
 * is gone before the size changes, and a CPU that made a spare magazine
 * before the change finds the cache's magazine cache changed and makes
 * another. Code that reads mag_size or mag_cache without a CPU's lock or
 * the depot's takes them once, under the lock that keeps a resize away,
 * and drains with those. The tables show the size in use (mag).
 * Interrupt context never resizes (it would send NMIs and wait).
 *
 * What is counted, and where. The pop counts its hit (cc->allocs: one
 * add to a line the CPU owns already, as illumos's cc_alloc); the push
 * counts nothing. Misses, exchanges and the depot's contention are counted
 * on the slow paths. The hits cannot be derived from the exchanges alone:
 * while a magazine is loaded its rounds change by frees minus allocations,
 * so the rounds the exchanges move give only that difference, and a CPU
 * that allocates and frees in pairs never exchanges at all (its hits would
 * read 0). One count on one side is the least that gives both sides: what
 * a cache freed is what it allocated minus what is in use.
 *
 * The CPU array is indexed by slot, the CPU number plus one
 * (arch_cpu_slot): slot 0 is where a thread without a number lands, and
 * it never gets a magazine (its rounds stay -1), so the fast paths need
 * no test for "no number yet": they fall to the slow path, which asks for
 * one.
 *
 * 5. Invariants (kmem_cache_check, slab_check.c)
 *
 * - each slab is on the list its count says; counts add up to nr_busy
 *   and nr_slabs; free lists (or free bufctls) hold exactly the free
 *   objects, each inside its slab at an object boundary;
 * - on-slab: the busy bitmap agrees with the free list; off-slab: the
 *   hash holds exactly the busy objects' bufctls;
 * - every object in a magazine is busy at the slab layer; rounds are
 *   within 0..mag_size; the depot's counts agree with its lists.
 *
 * 6. Locking (slab.c)
 *
 * Lock order: cpu[c].lock, then depot.lock, then the cache's lock, then
 * arenas and other caches. The slab layer never holds the cache's lock
 * while it calls an arena or another cache (making or freeing a slab
 * happens outside it), and the magazine layer never holds a CPU's lock
 * while it allocates a magazine: so reclaim, which reaps caches from
 * inside an arena's failing allocation, cannot deadlock on a lock its
 * caller holds.
 *
 * Checked, not only stated (spinlock.h): every *_locked function asserts
 * the locks it needs (assert_held: the cache's for the slab layer; the
 * CPU's for cpu_exchange_locked, which takes the depot's itself and
 * asserts it does not hold it yet; both for the checkers), and making or
 * unmaking a slab, growing the hash and allocating a magazine first
 * assert that this CPU holds none of the cache's locks that would be
 * wrong there (assert_not_held). On in the kernel and the test builds,
 * nothing in libkmem.a; the fast paths below (and their inline pop and
 * push, slab_impl.h) have no lock to assert.
 *
 * The fast path takes no lock and no locked instruction. Its CPU stores
 * busy = 1, then loads rounds; if it is a count the pop or push can use,
 * it does it, stores the new count, then busy = 0 (release). Anyone else
 * who must touch that CPU's magazines (reap, the checker, the tables)
 * takes cpu[c].lock, exchanges rounds for KMEM_ROUNDS_HELD (which no
 * fast path can use), makes every CPU run a memory barrier
 * (arch_cpu_barrier: on the host, Linux's membarrier), then waits for
 * busy to be 0. After the barrier the owner has either loaded HELD (and
 * takes the slow path, which waits for the lock) or made its busy
 * visible: it cannot be inside unseen. But a push or pop that loaded the
 * count before the exchange stores its new count after it; so the
 * visitor exchanges again: HELD means no such store came, and the count
 * it kept is true; a count is the true one (the owner finished that push
 * or pop), and it waits again (cpu_cache_enter). When done it stores the
 * count back (release) and unlocks. The owner's own slow path needs only
 * the lock: it cannot race its own fast path. In the kernel the fast
 * path also keeps interrupts off, so nothing on its CPU comes between.
 *
 * In the kernel, arch_cpu_barrier is an NMI to every other online CPU
 * (arch/x86_64/smp.c), answered from its NMI handler after a full fence;
 * the caller waits for every answer. Two things make the protocol hold
 * with it. It has the barrier's effect: the NMI lands between two
 * instructions of whatever the CPU runs (as Linux's membarrier interrupts
 * a thread anywhere on the host), and the handler's fence and iretq
 * (which serialises) make the owner's earlier stores visible before its
 * answer, and its later loads happen after it; so when the visitor goes
 * on, an owner inside its fast path has busy = 1 visible, and one that
 * has not yet loaded rounds will load HELD. And it always finishes: the
 * visitor holds cpu[c].lock with interrupts off, and an owner that loaded
 * HELD spins on that lock with interrupts off too; an ordinary interrupt
 * would never reach it, an NMI does. Two visitors on two CPUs that ask at
 * once each answer the other's NMI while they wait (the answer is a
 * count per CPU, so NMIs that arrive as one still answer both).
 * smp.barrier_reaches_cpus_spinning_with_interrupts_off and
 * smp.barriers_from_every_cpu_at_once test both.
 *
 * Why this is race-free in the C11 model, and why ThreadSanitizer can
 * tell. A visitor writes loaded, previous, prev_rounds and the magazines
 * only between its first exchange and the store that gives the count
 * back. The owner's fast path reads none of them until it has loaded a
 * count it can use (alloc: 1..M, free: 0..M-1); loading anything else,
 * it leaves without another look (the free path reads loaded only after
 * its range check). So every pair of accesses the two make to those
 * fields is ordered by a release that an acquire reads:
 *   - visitor, then owner: the owner's acquire load of rounds reads the
 *     count cpu_cache_leave stored with release (or the owner takes the
 *     slow path, and the lock orders it);
 *   - owner, then visitor: the visitor's acquire load of busy reads the
 *     owner's release store of 0 at the end of the push or pop it waited
 *     for (or of a later one).
 * The barrier orders nothing by itself: it decides which values those
 * loads can return (after it, an owner inside its fast path has its
 * busy = 1 visible, so the wait cannot read an old 0 and miss it).
 * ThreadSanitizer does not model membarrier, and needs no edge from it:
 * it judges by the values really read, and each edge above is an atomic
 * release read by an atomic acquire. So the ThreadSanitizer build needs
 * no annotation. tests/host/threads.c runs a visitor (check, reap,
 * reclaim, the tables) against 2, 4 and 8 owners under ThreadSanitizer
 * in make test, two programs at once; make stress loops it 200 times.
 *
 * 7. Debug modes (kmem_debug=, kmem_debug.h; slab_debug.c)
 *
 * A cache takes the modes on at creation (cp->debug): all of them, but
 * only audit and check for NOTOUCH caches (redzone and poison write into
 * objects), and none for the slab layer's own caches. A cache with any
 * mode has no magazine layer: every allocation and free reaches the slab
 * layer (slab_debug_alloc, slab_debug_free), where the object's state is
 * known, so a double free is caught at the call, wherever the object
 * would have sat in a magazine; the fast paths pay nothing, as mag_size 0
 * sends them to the slow ones. An object then carries its debug state
 * after it (slab_debug_layout): a redzone checked at every free and
 * allocation, the free-list link past it (so poison covers the whole
 * object), and the audit record; a NOTOUCH cache keeps the audit record
 * in the object's bufctl. Under poison a free object holds
 * KMEM_POISON_FREE, checked when it is handed out; the constructor runs
 * then (after a fill with KMEM_POISON_NEW) and the destructor at the
 * free, as illumos does. Under check, kmem_cache_check runs after every
 * call.
 *
 * Those four modes (KMEM_DEBUG_BYPASS) cannot see a bug in the magazine
 * layer, which they bypass. kmem_debug=magazines (for caches with no
 * other mode) keeps the magazines and checks them at every call, with
 * the fast path's own push and pop, not a copy. The fast paths must then
 * fail at once, without a test of their own: outside cpu[c].lock a
 * CPU's count is kept folded (KMEM_ROUNDS_FOLDED - n, below HELD), a
 * count neither fast path can use, so every call takes the slow path.
 * There, under the lock, cpu_cache_own unfolds it (and cpu_cache_enter
 * for a visitor), and the pop or push goes through
 * magazine_checked_pop / magazine_checked_push (slab_debug.c), which
 * call kmem_magazine_pop / kmem_magazine_push and check what they did:
 * the counts in range before; the object pushed an allocated object of
 * this cache's slabs and in none of this CPU's magazines (so a double
 * free is caught however deep the first copy lies); after a push, the
 * count one up, within the magazine, the object on top; after a pop, the
 * count one down, the object the one that was on top, allocated at the
 * slab layer and in no other round. A push or pop refused must have had
 * no room or no round. So a bug in that code panics in the call that
 * makes it. The host tests plant seven (MAGAZINE_FAULT in slab_impl.h: a
 * push past the magazine's end, a lost round, a double push, a pop of the
 * round under the top, a pop or a push that refuses what it could do, a
 * push over the top round) and expect each panic there.
 *
 * 8. FAQ
 *
 * Why not simply take the CPU's lock on the fast path, as the paper
 * does? An uncontended lock is still a locked instruction: about 20
 * cycles each way, which made a 64-byte pair slower than glibc's. The
 * busy/HELD handshake moves that cost to the rare visitor (a barrier on
 * every CPU) and leaves the fast path plain stores and loads, with
 * release and acquire where ThreadSanitizer needs to see the order. A
 * separate "stop" flag would be simpler to explain, but it costs the
 * fast path a load and a branch each way; folded into rounds, the one
 * range check the fast path makes anyway keeps visitors out too.
 *
 * Why do NOTOUCH caches exist? An arena's quantum caches cache ranges of
 * its resource, which may be I/O space or IDs: writing a free-list link
 * into them would be wrong, or fault.
 *
 * Why is free not checked fully on the fast path? A double free deep in a
 * magazine would need a search; the paper's fast path does not pay for
 * it. The object is caught when it reaches the slab layer (its bit is
 * already clear, or its bufctl is not in the hash).
 *
 * 9. Making a cache (slab_cache.c)
 *
 * kmem_cache_create checks its arguments and lays out an object: its
 * chunk is the object rounded up to the alignment, with room for the
 * free-list link where a constructed object keeps its first word, and
 * for the debug state of §7. Then the geometry of §2: on-slab when the
 * objects may be written, the source's quantum is a page and a chunk is
 * at most an eighth of one (ON_SLAB_MAX_CHUNK), one page per slab; else
 * off-slab, slabs of MIN_OBJS_PER_SLAB chunks rounded up to the quantum.
 * What is left over is the colour range. A cache without debug modes gets
 * the magazine type of its chunk from one table (kmem_magazine_types,
 * after illumos's kmem_magtype[]): the bigger the objects, the fewer the
 * rounds. kmem_init makes the magazine caches and the slab layer's own
 * (kmem_slab, kmem_bufctl) before any other cache. Every cache is on one
 * list, all_caches, which the tables, whatis, the monitor's check and a
 * leaving CPU walk (kmem_cache_for_each).
 *
 * 10. Reports (slab_report.c)
 *
 * Misuse that kmem_cache_free meets is classified before the panic: a
 * pointer inside an object, a double free (the object's bit is clear, or
 * its bufctl is not in the hash), an object of another cache (its
 * on-slab header names that cache, or a walk of every cache finds it), or
 * not an object of any cache; under audit the message carries the
 * object's last allocation and free. The slow paths call these and never
 * come back, so the hot paths pay nothing for them. The table
 * (kmem_cache_print_all) and whatis visit each CPU's magazines as §6
 * says, and read slab headers, never objects.
 */
#include "slab_impl.h"
#include "panic.h"

/* ---- reaching a CPU's magazines */

/* Note that cc's CPU has had a magazine of cp (cpu_used). */
static inline void cpu_mark_used(struct kmem_cache *cp,
				 struct kmem_cpu_cache *cc)
{
	uint64_t bit = 1ull << (cc - cp->cpu - 1);

	if (!(__atomic_load_n(&cp->cpus_used, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(&cp->cpus_used, bit, __ATOMIC_RELEASE);
}

/*
 * Take cc from anywhere but its owner's fast path, and return its
 * rounds: its lock, then rounds exchanged for KMEM_ROUNDS_HELD, then a
 * barrier on every CPU, then wait until the owner is out of its fast
 * path. After the barrier the owner either loads HELD (and takes the
 * slow path, which waits for the lock) or has made its busy visible. A
 * push or pop it began before the exchange stores rounds when it ends:
 * if the second exchange finds a count, that is the true one, and the
 * wait starts again.
 */
unsigned long cpu_cache_enter(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
			      long *rounds)
{
	unsigned long irq = spin_lock_irqsave(&cc->lock);
	long held = __atomic_exchange_n(&cc->rounds, KMEM_ROUNDS_HELD,
					__ATOMIC_ACQ_REL);

	for (;;) {
		unsigned int spins = 0;
		long now;

		arch_cpu_barrier();
		while (__atomic_load_n(&cc->busy, __ATOMIC_ACQUIRE))
			arch_spin_wait(&spins);
		now = __atomic_exchange_n(&cc->rounds, KMEM_ROUNDS_HELD,
					  __ATOMIC_ACQ_REL);
		if (now == KMEM_ROUNDS_HELD)
			break;
		held = now;
	}
	*rounds = rounds_unfold(cp, held);
	return irq;
}

/* Give cc back to its owner with rounds as its count. */
void cpu_cache_leave(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
		     long rounds, unsigned long irq)
{
	__atomic_store_n(&cc->rounds, rounds_fold(cp, rounds),
			 __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&cc->lock, irq);
}

/*
 * Take cc on its owner's CPU, outside the fast path: the owner cannot be
 * in its own fast path now, so the lock alone keeps the others out. Under
 * kmem_debug=magazines its count is unfolded while the lock is held.
 */
static unsigned long cpu_cache_own(struct kmem_cache *cp,
				   struct kmem_cpu_cache *cc)
{
	unsigned long irq = spin_lock_irqsave(&cc->lock);

	if (unlikely(cache_checks_magazines(cp)))
		cc->rounds = rounds_unfold(cp, cc->rounds);
	return irq;
}

/* Give cc back after cpu_cache_own. */
static void cpu_cache_unown(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
			    unsigned long irq)
{
	if (unlikely(cache_checks_magazines(cp)))
		cc->rounds = rounds_fold(cp, cc->rounds);
	spin_unlock_irqrestore(&cc->lock, irq);
}

/* ---- magazines */

/*
 * An empty magazine from mc, the magazine cache cp used when the caller
 * looked (MEM_ATOMIC: NULL if none).
 */
static inline struct kmem_magazine *magazine_alloc(struct kmem_cache *mc)
{
	struct kmem_magazine *m = kmem_cache_alloc(mc, MEM_ATOMIC);

	if (m)
		m->round[0] = NULL; /* the floor */
	return m;
}

/*
 * Empty magazine m of n rounds into the slab layer; free it to mc, the
 * magazine cache it came from (read under a lock that kept a resize
 * away: cp->mag_cache may have changed since).
 */
void magazine_drain(struct kmem_cache *cp, struct kmem_cache *mc,
		    struct kmem_magazine *m, long n)
{
	for (long i = 1; i <= n; i++)
		slab_free(cp, m->round[i]);
	kmem_cache_free(mc, m);
}

/* What a CPU wants of its magazines: rounds to allocate, room to free. */
enum magazine_fill { MAGAZINE_EMPTY, MAGAZINE_FULL };

/* A magazine off the depot's full or empty list, or NULL (d->lock held). */
static struct kmem_magazine *depot_take_locked(struct kmem_depot *d,
					       enum magazine_fill fill)
{
	struct kmem_magazine **list =
		fill == MAGAZINE_FULL ? &d->full : &d->empty;
	struct kmem_magazine *m = *list;

	assert_held(&d->lock);
	if (!m)
		return NULL;
	*list = m->next;
	if (fill == MAGAZINE_FULL)
		d->nr_full--;
	else
		d->nr_empty--;
	return m;
}

/* Put magazine m, full or empty, on the depot's list (d->lock held). */
static void depot_give_locked(struct kmem_depot *d, struct kmem_magazine *m,
			      enum magazine_fill fill)
{
	struct kmem_magazine **list =
		fill == MAGAZINE_FULL ? &d->full : &d->empty;

	assert_held(&d->lock);
	m->next = *list;
	*list = m;
	if (fill == MAGAZINE_FULL)
		d->nr_full++;
	else
		d->nr_empty++;
}

/*
 * The refill of both slow paths: make cc's loaded magazine one that can
 * serve, a full one (want MAGAZINE_FULL: the loaded one is empty, or
 * there is none) or an empty one (MAGAZINE_EMPTY: the loaded one is full,
 * or there is none). Swap in the previous one if it can serve (for an
 * allocation: if it has rounds); else put the previous one in the depot
 * (an empty one on the empty list; a full one, prev_rounds mag_size, on
 * the full list) and load the magazine wanted from the depot, or *spare
 * for a free that brings one (then *spare becomes NULL: cc owns it; a
 * swap leaves it to the caller, who frees it). The depot's exchanges count the full
 * magazines that change hands. Returns false, with nothing changed, if
 * the depot has none: an allocation then goes to the slab layer, a free
 * gets an empty magazine without cc's lock. Called with cc's lock held
 * (not the depot's: it takes that itself, inside). Inlined into both, so
 * that each gets the code for its own want and nothing more.
 */
static inline __attribute__((always_inline)) bool
cpu_exchange_locked(struct kmem_cache *cp, struct kmem_cpu_cache *cc,
		    enum magazine_fill want, struct kmem_magazine **spare)
{
	bool full = want == MAGAZINE_FULL;
	struct kmem_magazine *m;

	assert_held(&cc->lock);
	assert_not_held(&cp->depot.lock);
	if (full ? cc->prev_rounds > 0 : cc->prev_rounds == 0) {
		long r = cc->rounds;

		m = cc->loaded;
		cc->loaded = cc->previous;
		cc->rounds = cc->prev_rounds;
		cc->previous = m;
		cc->prev_rounds = r;
		return true;
	}
	if (unlikely(!spin_trylock(&cp->depot.lock))) {
		/* §4: enough of these grow the magazines */
		__atomic_add_fetch(&cp->depot.contended, 1, __ATOMIC_RELAXED);
		spin_lock(&cp->depot.lock);
	}
	if (spare && *spare) {
		m = *spare;
		*spare = NULL;
	} else {
		m = depot_take_locked(&cp->depot, want);
	}
	if (!m) {
		spin_unlock(&cp->depot.lock);
		return false;
	}
	if (cc->previous)
		depot_give_locked(&cp->depot, cc->previous,
				  full ? MAGAZINE_EMPTY : MAGAZINE_FULL);
	if (full || cc->previous)
		cp->depot.exchanges++;
	cc->exchanges++;
	spin_unlock(&cp->depot.lock);
	cpu_mark_used(cp, cc);
	/* the loaded one is empty or full as its count says, or -1: none */
	cc->previous = cc->loaded;
	cc->prev_rounds = cc->rounds;
	cc->loaded = m;
	cc->rounds = full ? (long)cp->mag_size : 0;
	return true;
}

/*
 * The slow paths' pop from cc's loaded magazine (cc's lock held): false
 * if it is empty or missing. Under kmem_debug=magazines, the fast path's
 * own pop, checked at the call (slab_debug.c).
 */
static inline bool cpu_pop_owned(struct kmem_cache *cp,
				 struct kmem_cpu_cache *cc, void **obj)
{
	if (unlikely(cache_checks_magazines(cp)))
		return magazine_checked_pop(cp, cc, obj);
	if (cc->rounds <= 0)
		return false;
	*obj = cc->loaded->round[cc->rounds--];
	cc->allocs++;
	return true;
}

/*
 * The slow paths' push of obj on cc's loaded magazine (cc's lock held,
 * taken at irq): false if it is full or missing. obj on top already is
 * a double free, reported. Under kmem_debug=magazines, the fast path's
 * own push, checked at the call (slab_debug.c).
 */
static inline bool cpu_push_owned(struct kmem_cache *cp,
				  struct kmem_cpu_cache *cc, void *obj,
				  unsigned long irq)
{
	if (unlikely(cache_checks_magazines(cp)))
		return magazine_checked_push(cp, cc, obj);
	if (cc->rounds < 0 || cc->rounds >= (long)cp->mag_size)
		return false;
	if (cc->loaded->round[cc->rounds] == obj) {
		cpu_cache_unown(cp, cc, irq);
		slab_freed_twice(cp, obj);
	}
	cc->loaded->round[++cc->rounds] = obj;
	return true;
}

/* After a slow path: grow cp's magazines if its depot is contended. */
static inline void maybe_grow(struct kmem_cache *cp)
{
	struct kmem_depot *d = &cp->depot;

	if (unlikely(__atomic_load_n(&d->contended, __ATOMIC_RELAXED) -
			     __atomic_load_n(&d->contended_at_resize,
					     __ATOMIC_RELAXED) >=
		     KMEM_DEPOT_CONTENTION_GROW) &&
	    cache_mag_size(cp) < KMEM_MAGAZINE_ROUNDS_MAX)
		kmem_cache_magazine_grow(cp);
}

/* ---- the interface */

/*
 * Everything but a hit in the loaded magazine: the previous magazine, the
 * depot, the slabs; also CPUs without a number, caches without magazines,
 * and a loaded magazine another CPU holds (this waits for its lock).
 */
static __attribute__((noinline)) void *
kmem_cache_alloc_slow(struct kmem_cache *cp, int flags, uintptr_t caller)
{
	int cpu = arch_cpu_id();
	void *obj;

	if (unlikely(flags != MEM_WAIT && flags != MEM_ATOMIC))
		panic("kmem_cache_alloc: bad flags 0x%x (name exactly one of MEM_WAIT and MEM_ATOMIC): cache '%s'",
		      flags, cp->name);
	if (cpu >= 0 && cache_mag_size(cp)) {
		struct kmem_cpu_cache *cc = &cp->cpu[cpu + 1];
		unsigned long irq = cpu_cache_own(cp, cc);
		bool got = cpu_pop_owned(cp, cc, &obj) ||
			   (cpu_exchange_locked(cp, cc, MAGAZINE_FULL, NULL) &&
			    cpu_pop_owned(cp, cc, &obj));

		cc->misses += !got;
		cpu_cache_unown(cp, cc, irq);
		maybe_grow(cp);
		if (got)
			return obj;
	}
	if (unlikely(cp->debug & KMEM_DEBUG_BYPASS))
		return slab_debug_alloc(cp, flags, caller);
	return slab_alloc(cp, flags);
}

/*
 * The fast path: a pop from this CPU's loaded magazine, with no lock and
 * no locked instruction (theory statement, 6). Anything else goes to
 * kmem_cache_alloc_slow.
 */
void *kmem_cache_alloc(struct kmem_cache *cp, int flags)
{
	void *obj;

	/* flags exactly MEM_WAIT (1) or MEM_ATOMIC (2), else the slow path
	 * reports the misuse */
	if (likely((unsigned int)flags - 1 <= 1) &&
	    likely(kmem_magazine_pop(cp, &obj)))
		return obj;
	return kmem_cache_alloc_slow(cp, flags,
				     (uintptr_t)__builtin_return_address(0));
}

/* The free path beyond the loaded magazine: swaps, the depot, or slabs. */
static __attribute__((noinline)) void
cpu_free_slow(struct kmem_cache *cp, struct kmem_cpu_cache *cc, void *obj)
{
	struct kmem_magazine *spare = NULL;
	struct kmem_cache *spare_mc = NULL;
	unsigned long irq = cpu_cache_own(cp, cc);

	while (!cpu_push_owned(cp, cc, obj, irq)) {
		if (spare && spare_mc != cp->mag_cache) {
			/* the magazines grew while it was made: too small */
			cpu_cache_unown(cp, cc, irq);
			kmem_cache_free(spare_mc, spare);
			spare = NULL;
			irq = cpu_cache_own(cp, cc);
			continue;
		}
		if (cpu_exchange_locked(cp, cc, MAGAZINE_EMPTY, &spare))
			continue; /* an empty magazine is loaded: push again */
		spare_mc = cp->mag_cache;
		cpu_cache_unown(cp, cc, irq);
		/* no empty magazine: make one without holding cc */
		assert_not_held(&cc->lock);
		spare = magazine_alloc(spare_mc);
		if (!spare) {
			slab_free(cp, obj);
			return;
		}
		irq = cpu_cache_own(cp, cc);
	}
	cpu_cache_unown(cp, cc, irq);
	if (spare)
		kmem_cache_free(spare_mc, spare);
	maybe_grow(cp);
}

/*
 * Free beyond the fast path: no CPU number, no magazines, debug modes, a
 * magazine another CPU holds; and misuse the fast path saw (reported
 * here, so that the fast path makes no call and needs no stack frame).
 */
static __attribute__((noinline)) void
kmem_cache_free_slow(struct kmem_cache *cp, void *obj, uintptr_t caller)
{
	int cpu = arch_cpu_id();

	if (cp->on_slab && on_slab_header(obj)->cache != cp)
		slab_wrong_owner(cp, obj);
	if (unlikely(cp->debug & KMEM_DEBUG_BYPASS))
		slab_debug_free(cp, obj, caller);
	else if (cpu >= 0 && cache_mag_size(cp))
		cpu_free_slow(cp, &cp->cpu[cpu + 1], obj);
	else
		slab_free(cp, obj);
}

/*
 * The fast path: the always-on checks (an on-slab object's header names
 * this cache; it is not the object this CPU freed last, at the top of
 * the magazine, whose floor makes the look safe when it is empty), then
 * a push on this CPU's loaded magazine. Anything else goes to the slow
 * paths.
 */
void kmem_cache_free(struct kmem_cache *cp, void *obj)
{
	/* an object of another cache is reported by the slow path */
	if ((!cp->on_slab || likely(on_slab_header(obj)->cache == cp)) &&
	    likely(kmem_magazine_push(cp, obj)))
		return;
	kmem_cache_free_slow(cp, obj, (uintptr_t)__builtin_return_address(0));
}

/*
 * Take the magazines of CPU slot out of cp, and drain them into the slab
 * layer. owner: called on that CPU itself (a host thread leaving).
 */
static void cpu_flush(struct kmem_cache *cp, int slot, bool owner)
{
	struct kmem_cpu_cache *cc = &cp->cpu[slot];
	struct kmem_magazine *loaded, *previous;
	struct kmem_cache *mc;
	long rounds, prev_rounds;
	unsigned long irq;

	if (owner) {
		irq = cpu_cache_own(cp, cc);
		rounds = cc->rounds;
	} else {
		irq = cpu_cache_enter(cp, cc, &rounds);
	}
	loaded = cc->loaded;
	previous = cc->previous;
	prev_rounds = cc->prev_rounds;
	mc = cp->mag_cache; /* a resize waits for cc: theirs, until we leave */
	cc->loaded = cc->previous = NULL;
	cc->prev_rounds = -1;
	if (owner) {
		cc->rounds = -1;
		cpu_cache_unown(cp, cc, irq);
	} else {
		cpu_cache_leave(cp, cc, -1, irq);
	}
	if (loaded)
		magazine_drain(cp, mc, loaded, rounds);
	if (previous)
		magazine_drain(cp, mc, previous, prev_rounds);
}

/* Drain the depot into the slab layer. */
static void depot_flush(struct kmem_cache *cp)
{
	unsigned long irq = spin_lock_irqsave(&cp->depot.lock);
	struct kmem_magazine *full = cp->depot.full, *empty = cp->depot.empty;
	struct kmem_magazine *next;
	/* the depot's magazines have this size and cache: a resize empties
	 * the depot under its lock before it changes them */
	long size = (long)cp->mag_size;
	struct kmem_cache *mc = cp->mag_cache;

	cp->depot.full = cp->depot.empty = NULL;
	cp->depot.nr_full = cp->depot.nr_empty = 0;
	spin_unlock_irqrestore(&cp->depot.lock, irq);
	for (; full; full = next) {
		next = full->next;
		magazine_drain(cp, mc, full, size);
	}
	for (; empty; empty = next) {
		next = empty->next;
		kmem_cache_free(mc, empty);
	}
}

void kmem_cache_reap(struct kmem_cache *cp)
{
	struct list_head doomed, *pos, *n;
	unsigned long irq;

	if (cache_mag_size(cp)) {
		int slot;

		for_each_used_cpu (cp, slot)
			cpu_flush(cp, slot, false);
		depot_flush(cp);
	}
	list_init(&doomed);
	irq = spin_lock_irqsave(&cp->lock);
	list_for_each_safe (pos, n, &cp->empty) {
		list_move(pos, &doomed);
		cp->nr_slabs--;
		cp->slabs_destroyed++;
	}
	spin_unlock_irqrestore(&cp->lock, irq);
	assert_not_held(&cp->lock);
	list_for_each_safe (pos, n, &doomed) {
		list_del(pos);
		slab_destroy(cp, list_entry(pos, struct kmem_slab, link));
	}
}

/* kmem_cpu_exit's work on each cache: the leaving CPU *arg's magazines. */
static void cpu_exit_flush(struct kmem_cache *cp, void *arg)
{
	int cpu = *(int *)arg;

	if (cache_mag_size(cp))
		cpu_flush(cp, cpu + 1, true);
}

/* A thread (host CPU) leaves: its magazines go back, objects to slabs. */
void kmem_cpu_exit(int cpu)
{
	kmem_cache_for_each(cpu_exit_flush, &cpu);
}
