# kmem.py: gdb helpers for the kernel memory subsystem. They walk arenas
# (boundary tags, free lists, allocation hash), slab caches (slabs, per-CPU
# magazines, depot) and kmalloc tags from gdb, read-only: nothing here ever
# writes target memory, and every walk is bounded, so a corrupted or cyclic
# list ends with a message instead of a hang.
#
# Load with `source tools/gdb/kmem.py` (`make gdb` does). Commands:
#   kmem-arenas          the table of every arena (as arena_print_stats)
#   kmem-arena NAME [-v] one arena's spans and segments, in list order;
#                        -v: each tag's address too
#   kmem-btag ADDR       the boundary tag at ADDR, its type by name
#   kmem-vmem            the arenas as a tree, each importer below its
#                        source (as the monitor's vmem)
#   kmem-kmastat         every cache, then every arena, readably (as the
#                        monitor's kmastat)
#   kmem-slabs           the table of every cache (as kmem_cache_print_all),
#                        then each CPU's loaded and previous rounds
#   kmem-cpus [CACHE]    every online CPU (APIC ID, ticks, interrupts); with
#                        CACHE, its magazines of that cache
#   kmem-whatis ADDR     which arena/span/segment, cache/slab/object holds ADDR;
#                        under kmem_debug=audit, who last allocated and
#                        freed the object
#   kmem-check           arena_check and kmem_cache_check, done from gdb
import struct

import gdb

PGSIZE = 4096
WALK_CAP = 200000  # no list of a sane kernel is longer than this
ARENA_NR_FREELISTS = 64
NR_CPUS = 64
# A CPU's rounds while another CPU holds its magazines (KMEM_ROUNDS_HELD).
ROUNDS_HELD = -2
# Under kmem_debug=magazines a count n is kept as ROUNDS_FOLDED - n while
# the CPU's lock is free (KMEM_ROUNDS_FOLDED, KMEM_DEBUG_MAGAZINES).
ROUNDS_FOLDED = -4
KMEM_DEBUG_MAGAZINES = 1 << 4
# kmem_debug=audit: each object's last allocating and freeing stacks,
# KMEM_AUDIT_DEPTH return addresses each (struct kmem_audit), in the
# object's trailer at audit_offset, or after its bufctl (3 words) if 0.
KMEM_DEBUG_AUDIT = 1 << 2
KMEM_AUDIT_DEPTH = 5
BUFCTL_SIZE = 24
# Where a magazine's rounds start: after its link and its NULL floor.
MAGAZINE_ROUNDS = 16
HASH_MULTIPLIER = 0x9e3779b97f4a7c15  # HASH_GOLDEN_64 of lib/include/hash.h
TAG_HASH_MUL = 0xffffffff9e3779b1  # kmalloc's tag hash (kern/src/kmalloc.c)
MASK64 = (1 << 64) - 1
BASE_TAG_RESERVE = 2
BTAG_SENTINEL, BTAG_SPAN, BTAG_FREE, BTAG_ALLOC, BTAG_SPARE = range(5)
BTAG_NAMES = {BTAG_SENTINEL: "sentinel", BTAG_SPAN: "span",
              BTAG_FREE: "free", BTAG_ALLOC: "allocated",
              BTAG_SPARE: "spare"}

# struct kmem_slab is private to the slab layer (kern/include/slab_impl.h,
# which asserts its size); its layout, copied:
#   u32 magic; u32 nr_busy; cache*; list_head link {next, prev}; void *base;
#   void *first; void *free; kmem_bufctl *free_bufctls; u64 busy[8];
SLAB_MAGIC = 0x51ab5eed
SLAB_FMT = "<IIQQQQQQQ8Q"
SLAB_SIZE = struct.calcsize(SLAB_FMT)  # 128
SLAB_LINK_OFFSET = 16

# kmalloc's tag (kern/src/kmalloc.c): owner u64, offset u16, size_class u8,
# zero u8, check u32; check = state ^ hash(buf, info).
KMALLOC_TAG_SIZE = 16
KMALLOC_LIVE = 0x6b6c6976
KMALLOC_FREED = 0x6b667265
KMALLOC_CLASS_PAGES = 0x10
KMALLOC_CLASS_PAGES_ALIGNED = 0x11


class Corrupt(Exception):
    """A walk met something impossible: the message says what."""


def u64(v):
    """A gdb.Value (pointer or integer) as a Python int."""
    return int(v.cast(gdb.lookup_type("unsigned long"))) & MASK64


def cstr(v):
    """A char array field as a Python string."""
    try:
        return v.string(length=v.type.sizeof).split("\0", 1)[0]
    except (gdb.error, UnicodeDecodeError):
        return "?"


def ptype(name):
    """Pointer to the named struct type."""
    return gdb.lookup_type(name).pointer()


def offset_of(type_name, field):
    """Byte offset of field in the named struct type (anonymous unions too)."""
    def find(t, base):
        """Offset of field in type t at bit base, or None."""
        for f in t.strip_typedefs().fields():
            if f.name == field:
                return base + f.bitpos
            if not f.name and f.type.strip_typedefs().code in (
                    gdb.TYPE_CODE_UNION, gdb.TYPE_CODE_STRUCT):
                r = find(f.type, base + f.bitpos)
                if r is not None:
                    return r
        return None
    r = find(gdb.lookup_type(type_name), 0)
    if r is None:
        raise gdb.GdbError("no field %s in %s" % (field, type_name))
    return r // 8


def deref(addr, type_name):
    """The struct of type_name at addr, read from the target in one go."""
    v = gdb.Value(addr).cast(ptype(type_name)).dereference()
    v.fetch_lazy()
    return v


def read_words(addr, n):
    """n 64-bit words from target memory at addr."""
    if n == 0:
        return []
    mem = gdb.selected_inferior().read_memory(addr, 8 * n)
    return list(struct.unpack("<%dQ" % n, bytes(mem)))


def read_bytes(addr, n):
    """n bytes of target memory at addr."""
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def static_var(name, files):
    """A file-static variable, looked up with or without its file."""
    for f in [None] + files:
        try:
            return gdb.parse_and_eval(name if f is None else "'%s'::%s" % (f, name))
        except gdb.error:
            continue
    raise gdb.GdbError("cannot find %s (is build/kernel.elf loaded?)" % name)


def size_short(n):
    """n bytes as the monitor prints sizes (ksize_short: 1.5K, 528K, 256M)."""
    if n < 1024:
        return "%d" % n
    shift, u = 10, 0
    while u < 5 and n >> (shift + 10):
        shift, u = shift + 10, u + 1
    tenths = ((n >> (shift - 10)) * 10) >> 10
    if tenths < 100 and tenths % 10:
        return "%d.%d%s" % (tenths // 10, tenths % 10, "KMGTPE"[u])
    return "%d%s" % (tenths // 10, "KMGTPE"[u])


def highbit(x):
    """Index of the highest set bit of x (x > 0)."""
    return x.bit_length() - 1


def lock_held(v):
    """Whether a struct spinlock value is held."""
    return int(v["locked"]) != 0


# ---- arenas


def arenas():
    """Every arena, on all_arenas through all_next (bounded)."""
    out, seen = [], set()
    p = u64(static_var("all_arenas", ["arena_life.c", "kern/src/arena_life.c"]))
    while p:
        if p in seen or len(out) >= WALK_CAP:
            gdb.write("warning: all_arenas loops or is too long; stopped\n")
            break
        seen.add(p)
        a = deref(p, "struct arena")
        out.append((p, a))
        p = u64(a["all_next"])
    return out


def arena_name(p):
    """Name of the arena at address p (or '-' for NULL)."""
    if not p:
        return "-"
    return cstr(deref(p, "struct arena")["name"])


def warn_arena_lock(a):
    """Say so if the arena's lock is held."""
    if lock_held(a["lock"]):
        gdb.write("arena %s locked: may be inconsistent\n" % cstr(a["name"]))


def nr_alloc_segs(a):
    """Allocated segments of a: stats.allocs - stats.frees."""
    return (int(a["stats"]["allocs"]) - int(a["stats"]["frees"])) & MASK64


class Tag:
    """A boundary tag, read from the target."""

    def __init__(self, addr):
        """Read the btag at addr."""
        t = deref(addr, "struct btag")
        self.addr = addr
        self.start = u64(t["start"])
        self.size = u64(t["size"])
        self.seg_next = u64(t["seg_next"])
        self.seg_prev = u64(t["seg_prev"])
        self.link_next = u64(t["free"]["next"])
        self.link_prev = u64(t["free"]["prev"])
        self.hash_next = u64(t["hash_next"])
        self.type = int(t["type"])
        self.imported = int(t["imported"])
        self.freelist = int(t["freelist"])
        self.qslab = int(t["qslab"])

    def tname(self):
        """The tag's type as a word."""
        return BTAG_NAMES.get(self.type, "bad(%d)" % self.type)


def seg_list(ap, a, cap=WALK_CAP):
    """Tags of the arena at ap in seg_head list order; raises Corrupt on a loop."""
    head = ap + offset_of("struct arena", "seg_head")
    p = u64(a["seg_head"]["seg_next"])
    out = []
    while p != head:
        if not p or len(out) >= cap:
            raise Corrupt("segment list of arena %s is broken or longer than %d "
                          "(a cycle?)" % (cstr(a["name"]), cap))
        t = Tag(p)
        out.append(t)
        p = t.seg_next
    return out


def seg_cap(a):
    """A bound on the segment list length from the arena's counters."""
    n = int(a["nr_spans"]) + int(a["nr_free_segs"]) + nr_alloc_segs(a) + 16
    return min(n, WALK_CAP)


def span_of(tags):
    """Pairs (span, [segments]) from a segment list."""
    out = []
    for t in tags:
        if t.type == BTAG_SPAN or not out:
            out.append((t, []))
        if t.type != BTAG_SPAN:
            out[-1][1].append(t)
    return out


def find_arena(name):
    """The (address, value) of the arena called name."""
    for p, a in arenas():
        if cstr(a["name"]) == name:
            return p, a
    raise gdb.GdbError("no arena called '%s'" % name)


class KmemArenas(gdb.Command):
    """kmem-arenas: the table of every arena (quantum, in use, total, free, segments, source)."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-arenas", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Print the arena table."""
        gdb.write("%-14s %10s %14s %14s %14s %8s  %s\n" % (
            "arena", "quantum", "in use", "total", "free", "segments",
            "source"))
        for p, a in arenas():
            warn_arena_lock(a)
            total, in_use = u64(a["total"]), u64(a["in_use"])
            gdb.write("%-14s %10d %14d %14d %14d %8d  %s\n" % (
                cstr(a["name"]), u64(a["quantum"]), in_use, total,
                total - in_use, int(a["nr_free_segs"]) + nr_alloc_segs(a),
                arena_name(u64(a["source"]))))


class KmemArena(gdb.Command):
    """kmem-arena NAME: one arena's spans and segments, in list order."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-arena", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Print the spans and segments of the arena named in arg."""
        words = arg.split()
        verbose = "-v" in words
        words = [w for w in words if w != "-v"]
        if len(words) != 1:
            raise gdb.GdbError("usage: kmem-arena NAME [-v]")
        name = words[0]
        p, a = find_arena(name)
        warn_arena_lock(a)
        gdb.write("arena %s at 0x%x: quantum %d, %d spans, %d free + %d "
                  "allocated segments, source %s\n" % (
                      name, p, u64(a["quantum"]), int(a["nr_spans"]),
                      int(a["nr_free_segs"]), nr_alloc_segs(a),
                      arena_name(u64(a["source"]))))
        gdb.write("%s%-18s %-18s %14s  %s\n" % (
            "%-18s " % "tag" if verbose else "", "start", "end", "size",
            "type"))
        n, head, cap = 0, p + offset_of("struct arena", "seg_head"), seg_cap(a)
        t = u64(a["seg_head"]["seg_next"])
        while t != head:
            if not t or n >= cap:
                gdb.write("segment list broken or longer than its counters "
                          "allow (%d tags: a cycle?): stopped\n" % cap)
                return
            tag = Tag(t)
            indent = "" if tag.type == BTAG_SPAN else "  "
            if verbose:
                indent = "0x%016x %s" % (t, indent)
            gdb.write("%s0x%016x 0x%016x %14d  %s%s\n" % (
                indent, tag.start, tag.start + tag.size, tag.size,
                tag.tname(), " (imported)" if tag.imported and
                tag.type == BTAG_SPAN else (" (qcache slab)" if tag.qslab and
                                            tag.type == BTAG_ALLOC else "")))
            n += 1
            t = tag.seg_next
        gdb.write("%d tags\n" % n)


# ---- caches


def caches():
    """Every cache, on all_caches through all_link (bounded)."""
    head_v = static_var("all_caches", ["slab_cache.c", "kern/src/slab_cache.c"])
    head = u64(head_v.address)
    off = offset_of("struct kmem_cache", "all_link")
    out, seen = [], set()
    p = u64(head_v["next"])
    while p != head:
        if not p or p in seen or len(out) >= WALK_CAP:
            gdb.write("warning: all_caches loops or is broken; stopped\n")
            break
        seen.add(p)
        cp = p - off
        c = deref(cp, "struct kmem_cache")
        out.append((cp, c))
        p = u64(c["all_link"]["next"])
    return out


def warn_cache_lock(c):
    """Say so if any of the cache's locks is held."""
    name = cstr(c["name"])
    if lock_held(c["lock"]):
        gdb.write("cache %s locked: may be inconsistent\n" % name)
    if lock_held(c["depot"]["lock"]):
        gdb.write("cache %s depot locked: may be inconsistent\n" % name)
    used = u64(c["cpus_used"])
    for i in range(NR_CPUS):
        if used >> i & 1 and lock_held(c["cpu"][i + 1]["lock"]):
            gdb.write("cache %s cpu %d locked: may be inconsistent\n" % (name, i))


class Slab:
    """A slab header (struct kmem_slab, layout copied from slab_impl.h)."""

    def __init__(self, addr):
        """Read the slab header at addr."""
        f = struct.unpack(SLAB_FMT, read_bytes(addr, SLAB_SIZE))
        self.addr = addr
        self.magic, self.nr_busy, self.cache = f[0], f[1], f[2]
        self.link_next, self.link_prev = f[3], f[4]
        self.base, self.first, self.free, self.free_bufctls = f[5:9]
        self.busy = f[9:17]

    def busy_test(self, i):
        """Whether object i is out of the slab layer (on-slab only)."""
        return bool(self.busy[i // 64] >> (i % 64) & 1)


def slab_lists(cp, c):
    """Every slab of a cache as (which, Slab): 0 empty, 1 partial, 2 full."""
    out = []
    limit = min(int(c["nr_slabs"]) + 16, WALK_CAP)
    for which, field in ((0, "empty"), (1, "partial"), (2, "full")):
        head = cp + offset_of("struct kmem_cache", field)
        p = u64(c[field]["next"])
        while p != head:
            if not p or len(out) >= limit:
                raise Corrupt("cache %s: slab list %s broken or longer than "
                              "nr_slabs (a loop?)" % (cstr(c["name"]), field))
            s = Slab(p - SLAB_LINK_OFFSET)
            out.append((which, s))
            p = s.link_next
    return out


def obj_index(c, s, obj):
    """Index of obj in slab s, or -1 if not at an object boundary."""
    chunk, n = u64(c["chunk"]), u64(c["objs_per_slab"])
    off = obj - s.first
    if obj < s.first or off >= n * chunk or off % chunk:
        return -1
    return off // chunk


def cpu_magazines(c):
    """(cpu, its kmem_cpu_cache, "loaded" or "previous", magazine address,
    rounds) for each magazine slot of every CPU that used the cache. CPU i
    is in slot i + 1 (slot 0: threads without a number, no magazines). A
    loaded magazine that another CPU holds has rounds ROUNDS_HELD: its
    count is in that CPU's frame (and the CPU's lock is held)."""
    used = u64(c["cpus_used"])
    for i in range(NR_CPUS):
        if not used >> i & 1:
            continue
        cc = c["cpu"][i + 1]
        for field, rfield in (("loaded", "rounds"),
                              ("previous", "prev_rounds")):
            r = int(cc[rfield])
            if field == "loaded":
                r = unfold_rounds(c, r)
            yield i, cc, field, u64(cc[field]), r


def unfold_rounds(c, r):
    """A CPU's loaded count from its rounds field: under kmem_debug=magazines
    it is kept folded below HELD while the CPU's lock is free."""
    if int(c["debug"]) & KMEM_DEBUG_MAGAZINES and r <= ROUNDS_FOLDED + 1:
        return ROUNDS_FOLDED - r
    return r


def magazine_rounds(c):
    """Objects in the cache's CPU magazines and the depot's full ones: {obj: where}."""
    out = {}
    if not u64(c["mag_size"]):
        return out
    mag_size = u64(c["mag_size"])
    for i, _, field, m, n in cpu_magazines(c):
        if m and 0 < n <= mag_size:
            for o in read_words(m + MAGAZINE_ROUNDS, n):
                out[o] = "cpu %d's %s magazine" % (i, field)
    m, n = u64(c["depot"]["full"]), 0
    while m:
        n += 1
        if n > min(u64(c["depot"]["nr_full"]) + 1, WALK_CAP):
            raise Corrupt("cache %s: depot full list longer than its count"
                          % cstr(c["name"]))
        for o in read_words(m + MAGAZINE_ROUNDS, mag_size):
            out[o] = "a full magazine in the depot"
        m = read_words(m, 1)[0]
    return out


def count_magazines(c):
    """(objects in magazines, full mags, empty mags, cpu allocs), as count_magazines."""
    in_mags, allocs = 0, 0
    used = u64(c["cpus_used"])
    for i in range(NR_CPUS):
        if used >> i & 1:
            cc = c["cpu"][i + 1]
            in_mags += max(unfold_rounds(c, int(cc["rounds"])), 0) + \
                max(int(cc["prev_rounds"]), 0)
            allocs += u64(cc["allocs"])
    full, empty = u64(c["depot"]["nr_full"]), u64(c["depot"]["nr_empty"])
    in_mags += full * u64(c["mag_size"])
    return in_mags, full, empty, allocs


class KmemSlabs(gdb.Command):
    """kmem-slabs: slabinfo-style table of every cache (as kmem_cache_print_all)."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-slabs", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Print the cache table."""
        gdb.write("%-20s %8s %8s %7s %5s %5s %4s %6s %5s %5s %10s %5s\n" % (
            "cache", "active", "total", "size", "/slab", "pages", "mag",
            "inmags", "full", "empty", "allocs", "fails"))
        for cp, c in caches():
            warn_cache_lock(c)
            in_mags, full, empty, allocs = count_magazines(c)
            gdb.write("%-20s %8d %8d %7d %5d %5d %4d %6d %5d %5d %10d %5d\n" % (
                cstr(c["name"]), (u64(c["nr_busy"]) - in_mags) & MASK64,
                u64(c["nr_slabs"]) * u64(c["objs_per_slab"]),
                u64(c["obj_size"]), u64(c["objs_per_slab"]),
                u64(c["slab_size"]) // PGSIZE, u64(c["mag_size"]), in_mags,
                full, empty,
                u64(c["slab_allocs"]) + allocs, u64(c["fails"])))
        gdb.write("each CPU's magazines (loaded/previous rounds; held: "
                  "another CPU visits them):\n")
        for cp, c in caches():
            mags = {}
            for i, _, field, m, n in cpu_magazines(c):
                if m:
                    mags.setdefault(i, {})[field] = (
                        "held" if n == ROUNDS_HELD else str(n))
            if mags:
                gdb.write("  %-20s %s\n" % (cstr(c["name"]), "  ".join(
                    "cpu %d %s/%s" % (i, v.get("loaded", "-"),
                                      v.get("previous", "-"))
                    for i, v in sorted(mags.items()))))


def online_cpus():
    """(id, struct cpu) of every online CPU (arch/x86_64/smp.c's cpus[])."""
    n = int(static_var("nr_cpus_online", ["smp.c", "arch/x86_64/smp.c"]))
    table = static_var("cpus", ["smp.c", "arch/x86_64/smp.c"])
    return [(i, table[i]) for i in range(min(max(n, 0), NR_CPUS))]


class KmemCpus(gdb.Command):
    """kmem-cpus [CACHE]: every online CPU; with CACHE, its magazines of it."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-cpus", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Print a row per CPU (as the monitor's cpus)."""
        name = arg.strip()
        c = None
        if name:
            found = [cc for _, cc in caches() if cstr(cc["name"]) == name]
            if not found:
                raise gdb.GdbError("kmem-cpus: no cache %r" % name)
            c = found[0]
            if not u64(c["mag_size"]):
                raise gdb.GdbError("kmem-cpus: cache %r has no magazines"
                                   % name)
        gdb.write("%4s %6s %10s %10s %8s" % ("cpu", "hw id", "ticks",
                                             "interrupts", "nmis"))
        if c is not None:
            gdb.write("   %6s %8s %4s %10s %8s %9s" % (
                "loaded", "previous", "mag", "hits", "misses", "exchanges"))
        gdb.write("\n")
        for i, cpu in online_cpus():
            gdb.write("%4d %6d %10d %10d %8d" % (
                i, u64(cpu["apic_id"]), u64(cpu["ticks"]),
                u64(cpu["interrupts"]), u64(cpu["nmis"])))
            if c is not None:
                cc = c["cpu"][i + 1]
                loaded = int(cc["rounds"]) if u64(cc["loaded"]) else -1
                prev = int(cc["prev_rounds"]) if u64(cc["previous"]) else -1
                gdb.write("   %6s %8d %4d %10d %8d %9d" % (
                    "held" if loaded == ROUNDS_HELD else str(loaded), prev,
                    u64(c["mag_size"]), u64(cc["allocs"]), u64(cc["misses"]),
                    u64(cc["exchanges"])))
            gdb.write("\n")


# ---- whatis


def symbolize(pc):
    """A return address as function+offset (or hex, if no symbol holds it)."""
    try:
        out = gdb.execute("info symbol 0x%x" % pc, False, True)
    except gdb.error:
        return "0x%x" % pc
    if out.startswith("No symbol"):
        return "0x%x" % pc
    return out.split(" in section")[0].replace(" + ", "+").strip()


def bufctl_hash(cp, c):
    """The off-slab busy hash as {obj: bufctl address} (bounded)."""
    out = {}
    n = u64(c["hash_buckets"])
    if not u64(c["hash"]) or n > WALK_CAP:
        return out
    limit = min(u64(c["nr_hashed"]) + 16, WALK_CAP)
    for b in read_words(u64(c["hash"]), n):
        while b:
            if len(out) >= limit:
                raise Corrupt("cache %s: busy hash longer than nr_hashed "
                              "(a cycle?)" % cstr(c["name"]))
            nxt, obj, _slab = read_words(b, 3)
            out[obj] = b
            b = nxt
    return out


def kmalloc_tag_at(buf):
    """Decode the kmalloc tag before buf: (state, owner, offset, class) or None."""
    try:
        raw = read_bytes(buf - KMALLOC_TAG_SIZE, KMALLOC_TAG_SIZE)
    except gdb.MemoryError:
        return None
    owner, offset, size_class, zero, check = struct.unpack("<QHBBI", raw)
    info = offset | size_class << 16 | zero << 24
    h = (((buf ^ (info << 32)) & MASK64) * TAG_HASH_MUL) & MASK64
    h32 = h >> 32
    for state, word in ((KMALLOC_LIVE, "live"), (KMALLOC_FREED, "freed")):
        if check == state ^ h32:
            return word, owner, offset, size_class
    return None


def kmalloc_in_object(cp, c, obj):
    """The kmalloc buffer in object obj of cache cp: (buf, state, offset) or None."""
    size = u64(c["obj_size"])
    for off in range(KMALLOC_TAG_SIZE, size - KMALLOC_TAG_SIZE + 1,
                     KMALLOC_TAG_SIZE):
        t = kmalloc_tag_at(obj + off)
        if t and t[1] == cp and t[2] == off:
            return obj + off, t[0], off
    return None


def kmalloc_in_segment(start, size):
    """The large kmalloc buffer in segment [start, start+size), or None."""
    for off in range(32, min(size, PGSIZE) + 1, KMALLOC_TAG_SIZE):
        t = kmalloc_tag_at(start + off)
        if t and t[2] == off and t[3] in (KMALLOC_CLASS_PAGES,
                                          KMALLOC_CLASS_PAGES_ALIGNED):
            return start + off, t[0], off
    return None


def parse_addr(arg):
    """An address expression as an int."""
    if not arg.strip():
        raise gdb.GdbError("usage: kmem-whatis ADDR")
    return u64(gdb.parse_and_eval(arg))


class KmemWhatis(gdb.Command):
    """kmem-whatis ADDR: the arena, span, segment, cache, slab and object holding ADDR."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-whatis", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Say what holds the address in arg."""
        addr = parse_addr(arg)
        found = False
        kpages = u64(gdb.parse_and_eval("kpages_arena"))
        for p, a in arenas():
            name = cstr(a["name"])
            try:
                tags = seg_list(p, a, seg_cap(a))
            except Corrupt as e:
                gdb.write("0x%x: %s\n" % (addr, e))
                continue
            for span, segs in span_of(tags):
                if not span.start <= addr < span.start + span.size:
                    continue
                warn_arena_lock(a)
                found = True
                seg = next((s for s in segs if s.start <= addr < s.start + s.size),
                           None)
                where = "0x%x: arena %s, span [0x%x, 0x%x)" % (
                    addr, name, span.start, span.start + span.size)
                if seg is None:
                    gdb.write(where + ", in no segment (unaligned edge)\n")
                    continue
                gdb.write(where + ", segment [0x%x, 0x%x) %s%s\n" % (
                    seg.start, seg.start + seg.size, seg.tname(),
                    " (a quantum cache's slab)" if seg.qslab and
                    seg.type == BTAG_ALLOC else ""))
                if p == kpages and seg.type == BTAG_ALLOC and not seg.qslab:
                    k = kmalloc_in_segment(seg.start, seg.size)
                    if k:
                        gdb.write("0x%x: large kmalloc buffer 0x%x (offset %d, "
                                  "%s)\n" % (addr, k[0], k[2], k[1]))
        found |= self.in_caches(addr)
        if not found:
            gdb.write("0x%x: in no arena or cache\n" % addr)

    def in_caches(self, addr):
        """Report the cache, slab and object holding addr; whether any did."""
        for cp, c in caches():
            name = cstr(c["name"])
            try:
                slabs = slab_lists(cp, c)
            except Corrupt as e:
                gdb.write("0x%x: %s\n" % (addr, e))
                continue
            size = u64(c["slab_size"])
            for which, s in slabs:
                if not s.base <= addr < s.base + size:
                    continue
                warn_cache_lock(c)
                chunk = u64(c["chunk"])
                n = u64(c["objs_per_slab"])
                where = "0x%x: cache %s, slab 0x%x [0x%x, 0x%x) %s" % (
                    addr, name, s.addr, s.base, s.base + size,
                    ("empty", "partial", "full")[which])
                if addr < s.first or addr >= s.first + n * chunk:
                    gdb.write(where + ", not in an object (colour, slack or "
                              "header)\n")
                    return True
                i = (addr - s.first) // chunk
                obj = s.first + i * chunk
                gdb.write(where + ", object 0x%x index %d: %s\n" % (
                    obj, i, self.obj_state(cp, c, s, obj, i)))
                self.audit(cp, c, s, obj)
                if name.startswith("kmalloc_"):
                    k = kmalloc_in_object(cp, c, obj)
                    if k:
                        gdb.write("0x%x: kmalloc buffer 0x%x of cache %s "
                                  "(offset %d, tag %s)\n" % (addr, k[0], name,
                                                             k[2], k[1]))
                    else:
                        gdb.write("0x%x: an object of kmalloc cache %s (no "
                                  "valid tag)\n" % (addr, name))
                return True
        return False

    def audit(self, cp, c, s, obj):
        """Under audit, the object's last allocating and freeing stacks,
        as the monitor's whatis prints them."""
        if not int(c["debug"]) & KMEM_DEBUG_AUDIT:
            return
        rec = None
        if u64(c["audit_offset"]):
            rec = obj + u64(c["audit_offset"])
        else:
            bc = bufctl_hash(cp, c).get(obj)
            link, steps = s.free_bufctls, 0
            while bc is None and link and steps < WALK_CAP:
                nxt, o, _slab = read_words(link, 3)
                if o == obj:
                    bc = link
                link, steps = nxt, steps + 1
            if bc is not None:
                rec = bc + BUFCTL_SIZE
        if rec is None:
            gdb.write("  audit: no record found for 0x%x\n" % obj)
            return
        words = read_words(rec, 2 * KMEM_AUDIT_DEPTH)
        for what, pcs in (("allocated", words[:KMEM_AUDIT_DEPTH]),
                          ("freed", words[KMEM_AUDIT_DEPTH:])):
            pcs = [pc for pc in pcs if pc]
            gdb.write("  audit: last %s by: %s\n" % (
                what, " <- ".join(symbolize(pc) for pc in pcs) or "nobody yet"))

    def obj_state(self, cp, c, s, obj, i):
        """allocated, free in its slab, or in a magazine/the depot."""
        if bool(c["on_slab"]):
            busy = s.busy_test(i)
        else:
            busy = obj in bufctl_hash(cp, c)
        if not busy:
            return "free in its slab"
        mags = magazine_rounds(c)
        if obj in mags:
            return "free, in %s" % mags[obj]
        return "allocated"


# ---- check


def check_arena(p, a):
    """arena_check's walks for one arena: None if sound, else the violation."""
    name = cstr(a["name"])
    quantum = u64(a["quantum"])
    nalloc = nr_alloc_segs(a)

    def bad(what, t=None):
        """The message for a violation at tag t."""
        if t is None:
            return "arena '%s': %s" % (name, what)
        return "arena '%s': %s: %s tag 0x%x [0x%x, 0x%x)" % (
            name, what, t.tname(), t.addr, t.start, t.start + t.size)

    # free lists and the bitmap
    free_off = offset_of("struct btag", "free")
    lists_off = offset_of("struct arena", "free_lists")
    bitmap = u64(a["free_bitmap"])
    limit = u64(a["nr_free_segs"]) + 1
    listed = set()
    for i in range(ARENA_NR_FREELISTS):
        head = p + lists_off + 16 * i
        first = u64(a["free_lists"][i]["next"])
        if bool(bitmap >> i & 1) != (first != head):
            return bad("free_bitmap disagrees with the free lists")
        link, prev = first, head
        while link != head:
            if len(listed) >= limit or not link:
                return bad("free lists longer than the free segment count "
                           "(a cycle?)")
            t = Tag(link - free_off)
            listed.add(t.addr)
            if t.type != BTAG_FREE:
                return bad("a tag on a free list is not free", t)
            hb = highbit(t.size) if t.size else -1
            if t.freelist != i or (hb != i and hb + 1 != i):
                return bad("a free segment is on the wrong free list", t)
            if t.link_prev != prev:
                return bad("a free list's back link is wrong", t)
            prev, link = link, t.link_next
    # the hash
    hashed = set()
    last = u64(a["hash_last"])
    if last:
        t = Tag(last)
        if t.type != BTAG_ALLOC:
            return bad("the hash's last-allocated slot holds a tag that is "
                       "not allocated", t)
        hashed.add(last)
    nb, shift = u64(a["hash_buckets"]), int(a["hash_shift"])
    if nb > WALK_CAP:
        return bad("hash_buckets is absurd")
    for i, b in enumerate(read_words(u64(a["hash"]), nb)):
        while b:
            if len(hashed) > nalloc + 1:
                return bad("hash chains longer than the allocation count "
                           "(a cycle?)")
            t = Tag(b)
            if t.type != BTAG_ALLOC:
                return bad("a tag in the hash is not allocated", t)
            if ((t.start * HASH_MULTIPLIER) & MASK64) >> shift != i:
                return bad("an allocated segment is in the wrong hash bucket", t)
            hashed.add(b)
            b = t.hash_next
    # the segment list
    try:
        tags = seg_list(p, a, seg_cap(a))
    except Corrupt as e:
        return "arena '%s': %s" % (name, e)
    head = p + offset_of("struct arena", "seg_head")
    rotor = u64(a["rotor"])
    w = dict(total=0, in_use=0, nfree=0, nalloc=0, spans=0, imported=0)
    rotor_seen = False
    spans = []
    k = 0
    prev_addr = head
    for t in tags:
        if t.seg_prev != prev_addr:
            return bad("the segment list's back link is wrong", t)
        prev_addr = t.addr
    while k < len(tags):
        span = tags[k]
        if span.type != BTAG_SPAN:
            return bad("a segment outside any span", span)
        rotor_seen |= span.addr == rotor
        spans.append(span)
        w["spans"] += 1
        if span.imported:
            w["imported"] += span.size
        pos = -(-span.start // quantum) * quantum
        end = (span.start + span.size) // quantum * quantum
        prev_free = False
        k += 1
        while k < len(tags) and tags[k].type in (BTAG_FREE, BTAG_ALLOC):
            t = tags[k]
            rotor_seen |= t.addr == rotor
            if t.start != pos or not t.size or t.size % quantum:
                return bad("segments do not tile their span (gap, overlap or "
                           "unaligned size)", t)
            if t.type == BTAG_FREE and prev_free:
                return bad("two adjacent free segments (not coalesced)", t)
            if t.type == BTAG_ALLOC and t.addr not in hashed:
                return bad("an allocated segment is not in the hash", t)
            if t.type == BTAG_FREE and t.addr not in listed:
                return bad("a free segment is on no free list", t)
            w["nfree"] += t.type == BTAG_FREE
            w["nalloc"] += t.type == BTAG_ALLOC
            w["in_use"] += t.size if t.type == BTAG_ALLOC else 0
            w["total"] += t.size
            prev_free = t.type == BTAG_FREE
            pos += t.size
            k += 1
        if pos != end:
            return bad("segments do not cover their span", span)
    if w["nfree"] != len(listed) or w["nfree"] != u64(a["nr_free_segs"]):
        return bad("free segment counts disagree (walk, lists, counter)")
    if w["nalloc"] != len(hashed) or w["nalloc"] != nalloc:
        return bad("allocated segment counts disagree (walk, hash, counter)")
    if w["total"] != u64(a["total"]) or w["in_use"] != u64(a["in_use"]):
        return bad("byte totals disagree with the segments")
    if w["spans"] != u64(a["nr_spans"]) or \
            w["imported"] != u64(a["imported_bytes"]):
        return bad("span count or imported bytes disagree")
    if rotor and rotor != head and not rotor_seen:
        return bad("the next-fit rotor is not on the segment list")
    for field, counted in (("spare_tags", False), ("reserve_tags", True)):
        s, n = u64(a[field]), 0
        cap = u64(a["nr_reserve_tags"]) if counted else WALK_CAP
        while s:
            n += 1
            t = Tag(s)
            if n > cap or t.type != BTAG_SPARE:
                return bad("a tag in the spare pool is not spare" if not counted
                           else "the tag reserve disagrees with its count", t)
            s = u64(deref(s, "struct btag")["spare_next"])
        if counted and (n != u64(a["nr_reserve_tags"]) or
                        (bool(a["is_base"]) and u64(a["total"]) and
                         n != BASE_TAG_RESERVE)):
            return bad("the tag reserve disagrees with its count")
    for i, s in enumerate(spans):
        for u in spans[i + 1:]:
            if u.start < s.start + s.size and s.start < u.start + u.size:
                return bad("two spans overlap", u)
    return None


def check_cache(cp, c):
    """kmem_cache_check's walks for one cache: None if sound, else the violation."""
    name = cstr(c["name"])
    n = u64(c["objs_per_slab"])
    on_slab = bool(c["on_slab"])
    link_offset = u64(c["link_offset"])

    def bad(what, where=0):
        """The message for a violation at where."""
        return "cache '%s': %s: at 0x%x" % (name, what, where)

    try:
        slabs = slab_lists(cp, c)
        busy_hash = {} if on_slab else bufctl_hash(cp, c)
    except Corrupt as e:
        return str(e)
    if len(slabs) > u64(c["nr_slabs"]):
        return bad("more slabs on the lists than nr_slabs (a loop?)")
    busy_total = 0
    for which, s in slabs:
        should = 0 if s.nr_busy == 0 else (2 if s.nr_busy == n else 1)
        if s.magic != SLAB_MAGIC or s.cache != cp:
            return bad("a slab header with a bad magic or another cache", s.addr)
        if should != which:
            return bad("a slab on the wrong list for its count", s.addr)
        nfree = 0
        if on_slab:
            o = s.free
            while o:
                i = obj_index(c, s, o)
                nfree += 1
                if nfree > n or i < 0:
                    return bad("a slab's free list leaves the slab or loops", o)
                if s.busy_test(i):
                    return bad("an object on a slab's free list is marked busy", o)
                o = read_words(o + link_offset, 1)[0]
        else:
            b = s.free_bufctls
            while b:
                nxt, obj, slab = read_words(b, 3)
                nfree += 1
                if nfree > n or slab != s.addr or obj_index(c, s, obj) < 0:
                    return bad("a slab's free bufctls are wrong (other slab, "
                               "not an object, or a loop)", obj)
                if obj in busy_hash:
                    return bad("a free object is also in the busy hash", obj)
                b = nxt
        if nfree + s.nr_busy != n:
            return bad("a slab's free and busy counts do not add up", s.addr)
        busy_total += s.nr_busy
    if len(slabs) != u64(c["nr_slabs"]):
        return bad("nr_slabs disagrees with the lists")
    if busy_total != u64(c["nr_busy"]):
        return bad("nr_busy disagrees with the slabs")
    if not on_slab and len(busy_hash) != u64(c["nr_busy"]):
        return bad("the busy hash does not hold exactly the busy objects")
    if not u64(c["mag_size"]):
        return None
    mag_size = u64(c["mag_size"])
    by_base = {s.base: s for _, s in slabs}

    def obj_busy(o):
        """Whether o is busy in the slab layer."""
        if not on_slab:
            return o in busy_hash
        s = by_base.get(o & ~(PGSIZE - 1)) if u64(c["slab_size"]) == PGSIZE \
            else None
        if s is None:
            s = next((x for _, x in slabs
                      if x.base <= o < x.base + u64(c["slab_size"])), None)
        i = obj_index(c, s, o) if s else -1
        return i >= 0 and s.busy_test(i)

    def check_mag(m, rounds):
        """Every round of magazine m is busy, none twice."""
        if rounds < 0 or rounds > mag_size:
            return bad("a magazine's round count is out of range", m)
        if read_words(m + 8, 1)[0]:
            return bad("a magazine's floor is not NULL", m)
        objs = read_words(m + MAGAZINE_ROUNDS, rounds)
        for i, o in enumerate(objs):
            if not obj_busy(o):
                return bad("an object in a magazine is free in its slab "
                           "(a double free?)", o)
            if o in objs[:i]:
                return bad("an object twice in one magazine (a double free)", o)
        return None

    for _, cc, field, m, r in cpu_magazines(c):
        if field == "loaded" and r == ROUNDS_HELD:
            continue  # another CPU holds it: its lock says so
        if (m == 0) != (r == -1):
            return bad("a CPU's round counts disagree with its magazines",
                       u64(cc.address))
        if m:
            err = check_mag(m, r)
            if err:
                return err
    for field, count, full in (("full", "nr_full", True),
                               ("empty", "nr_empty", False)):
        m, k = u64(c["depot"][field]), 0
        while m:
            k += 1
            if k > u64(c["depot"][count]):
                return bad("the depot's %s list disagrees with its count"
                           % field, m)
            if full:
                err = check_mag(m, mag_size)
                if err:
                    return err
            m = read_words(m, 1)[0]
        if k != u64(c["depot"][count]):
            return bad("the depot's %s list disagrees with its count" % field)
    return None


class KmemCheck(gdb.Command):
    """kmem-check: arena_check and kmem_cache_check of everything, from gdb."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-check", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Check every arena and cache; report the first violation."""
        for p, a in arenas():
            warn_arena_lock(a)
            err = check_arena(p, a)
            if err:
                gdb.write("kmem-check: %s\n" % err)
                return
        for cp, c in caches():
            warn_cache_lock(c)
            err = check_cache(cp, c)
            if err:
                gdb.write("kmem-check: %s\n" % err)
                return
        gdb.write("kmem-check: all arenas and caches sound\n")


class KmemBtag(gdb.Command):
    """kmem-btag ADDR: the boundary tag at ADDR, its type by name."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-btag", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Print the struct btag at the address in arg."""
        if not arg.strip():
            raise gdb.GdbError("usage: kmem-btag ADDR")
        addr = u64(gdb.parse_and_eval(arg))
        try:
            t = Tag(addr)
        except gdb.MemoryError:
            raise gdb.GdbError("cannot read a struct btag at 0x%x" % addr)
        gdb.write("btag 0x%x: %s [0x%x, 0x%x) %d bytes\n" % (
            addr, t.tname(), t.start, t.start + t.size, t.size))
        gdb.write("  seg_next 0x%x, seg_prev 0x%x\n" % (t.seg_next,
                                                         t.seg_prev))
        if t.type == BTAG_FREE:
            gdb.write("  on free list %d (sizes [2^%d, 2^%d)): next 0x%x, "
                      "prev 0x%x\n" % (t.freelist, t.freelist,
                                        t.freelist + 1, t.link_next,
                                        t.link_prev))
        elif t.type == BTAG_ALLOC:
            gdb.write("  hash chain next 0x%x%s\n" % (
                t.hash_next, "; a slab of a quantum cache" if t.qslab else ""))
        elif t.type == BTAG_SPAN:
            gdb.write("  %s\n" % ("imported from the source (how: %d)" %
                                  t.imported if t.imported else
                                  "added with arena_add"))
        if t.type not in BTAG_NAMES:
            gdb.write("  type %d is no tag type: not a btag, or corrupted\n"
                      % t.type)


def arena_row(a, depth):
    """One arena's row of the vmem and kmastat tables, as arena_print_row."""
    bits = u64(a["free_bitmap"])
    largest = 0
    if bits:
        head = u64(a["free_lists"][highbit(bits)].address)
        p, n = u64(a["free_lists"][highbit(bits)]["next"]), 0
        off = offset_of("struct btag", "free")
        while p != head and p and n < WALK_CAP:
            largest = max(largest, Tag(p - off).size)
            p = Tag(p - off).link_next
            n += 1
    st = a["stats"]
    name = cstr(a["name"])
    return "%s%-*s %6s %6s %6s %10d %10d %5d %6s  %s\n" % (
        " " * 2 * depth, 16 - 2 * depth, name, size_short(u64(a["in_use"])),
        size_short(u64(a["total"])), size_short(u64(a["imported_bytes"])),
        u64(st["allocs"]), u64(st["frees"]), u64(st["fails"]),
        size_short(largest), arena_name(u64(a["source"])))


ARENA_ROWS_HEADER = "%-16s %6s %6s %6s %10s %10s %5s %6s  %s\n" % (
    "arena", "in use", "total", "import", "allocs", "frees", "fails", "max",
    "source")


class KmemVmem(gdb.Command):
    """kmem-vmem: the arenas as a tree, each importer below its source."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-vmem", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Print the tree, sources above their importers."""
        all_ = arenas()
        gdb.write(ARENA_ROWS_HEADER)

        def subtree(p, a, depth):
            """a's row, then its importers'."""
            warn_arena_lock(a)
            gdb.write(arena_row(a, depth))
            for q, b in all_:
                if u64(b["source"]) == p:
                    subtree(q, b, min(depth + 1, 6))
        for p, a in all_:
            if not u64(a["source"]):
                subtree(p, a, 0)


class KmemKmastat(gdb.Command):
    """kmem-kmastat: every cache, then every arena, readably (the monitor's kmastat)."""

    def __init__(self):
        """Register the command."""
        super().__init__("kmem-kmastat", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        """Print the two tables."""
        gdb.write("%-20s %6s %8s %8s %6s %6s %11s %5s %10s %5s\n" % (
            "cache", "buf", "in use", "total", "memuse", "inmags",
            "slabs f/p/e", "waste", "allocs", "fails"))
        for cp, c in caches():
            warn_cache_lock(c)
            in_mags, _, _, allocs = count_magazines(c)
            counts = [0, 0, 0]
            try:
                for which, _ in slab_lists(cp, c):
                    counts[which] += 1
            except Corrupt as e:
                gdb.write("%s\n" % e)
            slabs = u64(c["nr_slabs"])
            size, per = u64(c["obj_size"]), u64(c["objs_per_slab"])
            total, slab_bytes = slabs * per, slabs * u64(c["slab_size"])
            in_use = (u64(c["nr_busy"]) - in_mags) & MASK64
            waste = ((slab_bytes - total * size) * 100 // slab_bytes
                     if slab_bytes else 0)
            gdb.write("%-20s %6d %8d %8d %6s %6s %11s %4d%% %10d %5d\n" % (
                cstr(c["name"]), size, in_use, total,
                size_short(in_use * size), size_short(in_mags * size),
                "%d/%d/%d" % (counts[2], counts[1], counts[0]), waste,
                u64(c["slab_allocs"]) + allocs, u64(c["fails"])))
        gdb.write("\n" + ARENA_ROWS_HEADER)
        for p, a in arenas():
            warn_arena_lock(a)
            gdb.write(arena_row(a, 0))


KmemArenas()
KmemArena()
KmemBtag()
KmemVmem()
KmemKmastat()
KmemSlabs()
KmemCpus()
KmemWhatis()
KmemCheck()
