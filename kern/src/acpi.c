/*
 * acpi.c: reading the ACPI tables that say which CPUs and interrupt
 * controllers there are (see acpi.h): the RSDP copy the boot loader gave,
 * the RSDT or XSDT it points to, and the MADT ("APIC") listed there.
 *
 * Nothing the firmware wrote is trusted. Each table is read through the
 * map callback twice: its 36-byte header, then, once the header's
 * signature and length are sane, exactly the length it states, whose
 * checksum must be 0. Every field is read with kmemcpy (tables are byte
 * packed) and only inside that length. The first fault stops the reader
 * with one line naming the table, where and the values involved.
 *
 * Section numbers are those of the ACPI Specification 6.5, chapter 5.2.
 */
#include "acpi.h"
#include "cmdline.h"
#include "kprintf.h"
#include "kstring.h"
#include "unaligned.h"

/* ---- layouts */

/* The RSDP (5.2.5.3): revision 0 ends at the XSDT fields. */
#define RSDP_SIG "RSD PTR "
#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define RSDP_REVISION 15
#define RSDP_RSDT 16
#define RSDP_LENGTH 20
#define RSDP_XSDT 24

/* Every system description table's header (5.2.6). */
#define SDT_HEADER_LEN 36
#define SDT_LENGTH 4

/* The MADT (5.2.12): local APIC address and flags, then its entries. */
#define MADT_LAPIC 36
#define MADT_FLAGS 40
#define MADT_ENTRIES 44
#define MADT_PCAT_COMPAT 0x1

/* Flags of a local APIC or x2APIC entry (5.2.12.2, table 5.23). */
#define CPU_ENABLED 0x1
#define CPU_ONLINE_CAPABLE 0x2

/* The MADT entry types read (5.2.12, table 5.21), each with its size. */
enum {
	MADT_LAPIC_ENTRY = 0,	   /* 5.2.12.2: uid u8, id u8, flags u32 */
	MADT_IOAPIC_ENTRY = 1,	   /* 5.2.12.3: id, -, address, gsi base */
	MADT_OVERRIDE_ENTRY = 2,   /* 5.2.12.5: bus, irq, gsi u32, flags */
	MADT_LAPIC_ADDR_ENTRY = 5, /* 5.2.12.8: -, -, address u64 */
	MADT_X2APIC_ENTRY = 9,	   /* 5.2.12.12: -, -, id, flags, uid u32 */
};

static const struct madt_type {
	uint8_t type;
	uint8_t min_len;
	const char *name;
} madt_types[] = {
	{ MADT_LAPIC_ENTRY, 8, "local APIC" },
	{ MADT_IOAPIC_ENTRY, 12, "I/O APIC" },
	{ MADT_OVERRIDE_ENTRY, 10, "interrupt source override" },
	{ MADT_LAPIC_ADDR_ENTRY, 12, "local APIC address override" },
	{ MADT_X2APIC_ENTRY, 16, "local x2APIC" },
};

/* ---- reading bytes */

struct acpi_reader {
	acpi_map_fn map;
	void *ctx;
	struct acpi_info *out;
	char *err;
	size_t err_len;
};

static bool acpi_fail(struct acpi_reader *r, const char *fmt, ...)
	__printf(2, 3);

/* Write the one-line reason into r->err; returns false, for the caller. */
static bool acpi_fail(struct acpi_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (r->err_len)
		kvsnprintf(r->err, r->err_len, fmt, ap);
	va_end(ap);
	return false;
}

/* The sum of n bytes, mod 256: 0 for a sound table (5.2.5.3, 5.2.6). */
static uint8_t acpi_checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return sum;
}

/* n bytes of a signature or a value, printable (others shown as '?'). */
static void acpi_sig_text(char *dst, const uint8_t *sig, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = sig[i] >= 0x20 && sig[i] < 0x7f ? (char)sig[i] : '?';
	dst[n] = 0;
}

/* ---- the RSDP */

/*
 * Check the RSDP copy and pick the table it points to: *pa and *xsdt.
 * Revision 0 has 20 bytes; revision 2 and up add a length, the XSDT's
 * address and an extended checksum over that length (5.2.5.3). No
 * revision 1 was ever defined: it is read as revision 0.
 */
static bool acpi_rsdp(struct acpi_reader *r, const uint8_t *p, size_t len,
		      uint64_t *pa, bool *xsdt)
{
	char sig[9];
	uint8_t sum, rev;
	uint32_t full;

	if (len < RSDP_V1_LEN)
		return acpi_fail(r, "acpi: RSDP is %zu bytes, less than %d",
				 len, RSDP_V1_LEN);
	if (kmemcmp(p, RSDP_SIG, 8) != 0) {
		acpi_sig_text(sig, p, 8);
		return acpi_fail(r, "acpi: RSDP signature is '%s', not '%s'",
				 sig, RSDP_SIG);
	}
	sum = acpi_checksum(p, RSDP_V1_LEN);
	if (sum)
		return acpi_fail(r, "acpi: RSDP checksum is 0x%02x, not 0",
				 sum);
	rev = p[RSDP_REVISION];
	r->out->rsdp_revision = rev;
	*pa = get_unaligned32(p + RSDP_RSDT);
	*xsdt = false;
	if (rev >= 2) {
		if (len < RSDP_V2_LEN)
			return acpi_fail(
				r,
				"acpi: RSDP revision %u is %zu bytes, less than %d",
				rev, len, RSDP_V2_LEN);
		full = get_unaligned32(p + RSDP_LENGTH);
		if (full < RSDP_V2_LEN || full > len)
			return acpi_fail(
				r,
				"acpi: RSDP length %u is outside %d..%zu (the bytes given)",
				full, RSDP_V2_LEN, len);
		sum = acpi_checksum(p, full);
		if (sum)
			return acpi_fail(
				r,
				"acpi: RSDP extended checksum is 0x%02x, not 0",
				sum);
		if (get_unaligned64(p + RSDP_XSDT)) {
			*pa = get_unaligned64(p + RSDP_XSDT);
			*xsdt = true;
		}
	}
	if (!*pa)
		return acpi_fail(
			r,
			"acpi: RSDP revision %u gives no RSDT or XSDT address",
			rev);
	return true;
}

/* ---- tables */

/*
 * The whole table at pa with signature sig (name: what messages call it),
 * checked: its header mapped first, signature, a length within
 * SDT_HEADER_LEN..ACPI_TABLE_MAX, then all of it mapped, checksum 0.
 * *len gets its length.
 */
static const uint8_t *acpi_table(struct acpi_reader *r, uint64_t pa,
				 const char *sig, const char *name,
				 uint32_t *len)
{
	const uint8_t *t = r->map(pa, SDT_HEADER_LEN, r->ctx);
	char seen[5];
	uint8_t sum;

	if (!t) {
		acpi_fail(r, "acpi: %s at 0x%llx cannot be mapped (%d bytes)",
			  name, (unsigned long long)pa, SDT_HEADER_LEN);
		return NULL;
	}
	if (kmemcmp(t, sig, 4) != 0) {
		acpi_sig_text(seen, t, 4);
		acpi_fail(r, "acpi: %s at 0x%llx has signature '%s', not '%s'",
			  name, (unsigned long long)pa, seen, sig);
		return NULL;
	}
	*len = get_unaligned32(t + SDT_LENGTH);
	if (*len < SDT_HEADER_LEN || *len > ACPI_TABLE_MAX) {
		acpi_fail(r, "acpi: %s at 0x%llx has length %u, outside %d..%u",
			  name, (unsigned long long)pa, *len, SDT_HEADER_LEN,
			  ACPI_TABLE_MAX);
		return NULL;
	}
	t = r->map(pa, *len, r->ctx);
	if (!t) {
		acpi_fail(
			r,
			"acpi: %s at 0x%llx cannot be mapped whole (length %u)",
			name, (unsigned long long)pa, *len);
		return NULL;
	}
	sum = acpi_checksum(t, *len);
	if (sum) {
		acpi_fail(r, "acpi: %s checksum is 0x%02x, not 0", name, sum);
		return NULL;
	}
	return t;
}

/*
 * Find the MADT among the RSDT's (4-byte) or XSDT's (8-byte) entries
 * (5.2.7, 5.2.8): the first entry whose header maps and says "APIC".
 * Entries that cannot be mapped, and other tables, are skipped (those
 * are not read further: the kernel uses none of them). Returns whether
 * it is there, with its address in *madt, else false with err set.
 */
static bool acpi_find_madt(struct acpi_reader *r, uint64_t pa, bool xsdt,
			   uint64_t *madt)
{
	const char *name = xsdt ? "XSDT" : "RSDT";
	size_t entry = xsdt ? 8 : 4, n, unmapped = 0;
	const uint8_t *t, *h;
	uint32_t len;

	t = acpi_table(r, pa, name, name, &len);
	if (!t)
		return false;
	n = (len - SDT_HEADER_LEN) / entry;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = t + SDT_HEADER_LEN + i * entry;
		uint64_t at = xsdt ? get_unaligned64(e) : get_unaligned32(e);

		h = r->map(at, SDT_HEADER_LEN, r->ctx);
		if (!h) {
			unmapped++;
		} else if (kmemcmp(h, "APIC", 4) == 0) {
			*madt = at;
			return true;
		}
	}
	return acpi_fail(
		r,
		"acpi: no MADT (APIC) among the %zu %s entries (%zu of them cannot be mapped)",
		n, name, unmapped);
}

/* ---- the MADT's entries */

/* A local APIC (type 0) or x2APIC (type 9) entry's CPU. */
static void acpi_add_cpu(struct acpi_info *out, uint32_t apic_id, uint32_t uid,
			 uint32_t flags, bool x2apic)
{
	struct acpi_cpu *c;

	if (!(flags & CPU_ENABLED)) {
		out->nr_cpus_disabled++;
		if (flags & CPU_ONLINE_CAPABLE)
			out->nr_cpus_online_capable++;
		return;
	}
	if (out->nr_cpus == ACPI_MAX_CPUS) {
		out->nr_cpus_dropped++;
		return;
	}
	c = &out->cpus[out->nr_cpus++];
	c->apic_id = apic_id;
	c->uid = uid;
	c->x2apic = x2apic;
}

static void acpi_add_ioapic(struct acpi_info *out, const uint8_t *e)
{
	struct acpi_ioapic *io;

	if (out->nr_ioapics == ACPI_MAX_IOAPICS) {
		out->nr_ioapics_dropped++;
		return;
	}
	io = &out->ioapics[out->nr_ioapics++];
	io->id = e[2];
	io->pa = get_unaligned32(e + 4);
	io->gsi_base = get_unaligned32(e + 8);
}

/* An interrupt source override: only bus 0 (ISA) is defined (5.2.12.5). */
static void acpi_add_override(struct acpi_info *out, const uint8_t *e)
{
	uint8_t irq = e[3];

	if (e[2] != 0 || irq >= ACPI_ISA_IRQS)
		return;
	out->isa_gsi[irq] = get_unaligned32(e + 4);
	out->isa_flags[irq] = get_unaligned16(e + 8);
}

/* Record one entry whose length is known to suit its type. */
static void acpi_madt_entry(struct acpi_info *out, const uint8_t *e)
{
	switch (e[0]) {
	case MADT_LAPIC_ENTRY:
		acpi_add_cpu(out, e[3], e[2], get_unaligned32(e + 4), false);
		break;
	case MADT_IOAPIC_ENTRY:
		acpi_add_ioapic(out, e);
		break;
	case MADT_OVERRIDE_ENTRY:
		acpi_add_override(out, e);
		break;
	case MADT_LAPIC_ADDR_ENTRY:
		out->lapic_pa = get_unaligned64(e + 4);
		break;
	case MADT_X2APIC_ENTRY:
		acpi_add_cpu(out, get_unaligned32(e + 4),
			     get_unaligned32(e + 12), get_unaligned32(e + 8),
			     true);
		break;
	}
}

/* The row of madt_types for type, or NULL for a type the kernel skips. */
static const struct madt_type *acpi_madt_type(uint8_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(madt_types); i++)
		if (madt_types[i].type == type)
			return &madt_types[i];
	return NULL;
}

/*
 * Walk the MADT's entries (type u8, length u8, then its fields). Each
 * must have 2 bytes at least, end inside the table and be as long as its
 * type needs; types the kernel does not use are stepped over.
 */
static bool acpi_madt_entries(struct acpi_reader *r, const uint8_t *t,
			      uint32_t len)
{
	uint32_t off = MADT_ENTRIES;

	while (off < len) {
		const struct madt_type *ty;
		uint8_t elen;

		if (len - off < 2)
			return acpi_fail(
				r,
				"acpi: MADT entry at offset 0x%x has its header cut by the table end (length %u)",
				off, len);
		elen = t[off + 1];
		if (elen < 2)
			return acpi_fail(
				r,
				"acpi: MADT entry at offset 0x%x has length %u",
				off, elen);
		if (elen > len - off)
			return acpi_fail(
				r,
				"acpi: MADT entry at offset 0x%x has length %u, past the table end at 0x%x",
				off, elen, len);
		ty = acpi_madt_type(t[off]);
		if (ty && elen < ty->min_len)
			return acpi_fail(
				r,
				"acpi: MADT entry at offset 0x%x (type %u, %s) has length %u, less than %u",
				off, ty->type, ty->name, elen, ty->min_len);
		if (ty)
			acpi_madt_entry(r->out, t + off);
		off += elen;
	}
	return true;
}

/* Read the MADT at pa into r->out. */
static bool acpi_madt(struct acpi_reader *r, uint64_t pa)
{
	struct acpi_info *out = r->out;
	const uint8_t *t;
	uint32_t len;

	t = acpi_table(r, pa, "APIC", "MADT", &len);
	if (!t)
		return false;
	if (len < MADT_ENTRIES)
		return acpi_fail(
			r,
			"acpi: MADT has length %u, less than the %d of its fixed fields",
			len, MADT_ENTRIES);
	out->lapic_pa = get_unaligned32(t + MADT_LAPIC);
	out->pcat_compat = get_unaligned32(t + MADT_FLAGS) & MADT_PCAT_COMPAT;
	for (uint32_t i = 0; i < ACPI_ISA_IRQS; i++)
		out->isa_gsi[i] = i;
	if (!acpi_madt_entries(r, t, len))
		return false;
	if (!out->lapic_pa)
		return acpi_fail(r, "acpi: MADT gives local APIC address 0");
	if (!out->nr_cpus)
		return acpi_fail(
			r, "acpi: MADT lists no enabled CPU (%zu disabled)",
			out->nr_cpus_disabled);
	return true;
}

/* ---- the interface */

bool acpi_read(const void *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
	       struct acpi_info *out, char *err, size_t err_len)
{
	struct acpi_reader r = { map, ctx, out, err, err_len };
	uint64_t root = 0, madt = 0;
	bool xsdt = false;

	kmemset(out, 0, sizeof(*out));
	if (err_len)
		err[0] = 0;
	if (!acpi_rsdp(&r, rsdp, rsdp_len, &root, &xsdt))
		goto failed;
	if (!acpi_find_madt(&r, root, xsdt, &madt) || !acpi_madt(&r, madt))
		goto failed;
	out->xsdt = xsdt;
	return true;
failed:
	kmemset(out, 0, sizeof(*out));
	return false;
}

/* The longest maxcpus= value read; longer ones are not numbers. */
#define MAXCPUS_TEXT 24
/* How much of a bad value a message quotes. */
#define MAXCPUS_QUOTE 32

/* The value of maxcpus= (len characters at value), or 0 if it is bad. */
static size_t acpi_maxcpus(const char *value, size_t len, char *msg,
			   size_t msg_len)
{
	char text[MAXCPUS_TEXT], why[64], quote[MAXCPUS_QUOTE + 1];
	const char *end = NULL;
	uint64_t v = 0;

	if (len < sizeof(text)) {
		kmemcpy(text, value, len);
		text[len] = 0;
		if (!kstrtou64(text, &end, &v) || end != text + len)
			end = NULL;
	}
	if (end && v >= 1 && v <= ACPI_MAX_CPUS)
		return (size_t)v;
	if (!end)
		ksnprintf(why, sizeof(why), "not a number");
	else if (!v)
		ksnprintf(why, sizeof(why), "less than 1 (the boot CPU)");
	else
		ksnprintf(why, sizeof(why),
			  "more than the %d CPUs the kernel keeps",
			  ACPI_MAX_CPUS);
	/* the quote stays on one line: words may hold any byte but a space */
	acpi_sig_text(quote, (const uint8_t *)value,
		      MIN(len, sizeof(quote) - 1));
	if (msg_len)
		ksnprintf(msg, msg_len, "maxcpus=%s%s: %s; ignored", quote,
			  len > MAXCPUS_QUOTE ? "..." : "", why);
	return 0;
}

size_t acpi_cpu_limit(const char *cmdline, char *msg, size_t msg_len)
{
	size_t n = cmdline_count(cmdline, "maxcpus"), len, limit = 0;
	const char *value;

	if (msg_len)
		msg[0] = 0;
	/* one value: the last one given counts (cmdline.h) */
	if (n && cmdline_find_nth(cmdline, "maxcpus", n - 1, &value, &len))
		limit = acpi_maxcpus(value, len, msg, msg_len);
	/* nosmp wins over any maxcpus= (whose bad value is still reported) */
	if (cmdline_has(cmdline, "nosmp"))
		return 1;
	return limit ? limit : ACPI_MAX_CPUS;
}
