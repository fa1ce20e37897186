/*
 * acpi.c: tests of the ACPI table reader over synthetic tables. A small
 * buffer stands in for physical memory at a chosen address; the tables
 * are built in it as SeaBIOS and OVMF lay them out under QEMU, then broken
 * one field at a time. Each broken table must give its own line naming
 * the table and the values, and nothing outside the buffer is read (the
 * map callback refuses what lies outside, and on the host AddressSanitizer
 * watches the tables placed at the buffer's very end).
 */
#include "ktest.h"
#include "acpi.h"
#include "bootinfo.h"
#include "kstring.h"
#include "printk.h"

/* ---- the fake physical memory and its map callback */

#define RAM_SIZE 0x4000
#define RSDT_OFF 0x000
#define XSDT_OFF 0x100
#define MADT_OFF 0x400
#define OTHER_OFF 0x1800
/* SeaBIOS puts the tables near the top of RAM (here 512 MiB) */
#define SEABIOS_BASE 0x1ffe0000ull
#define OVMF_BASE 0x7fb7e000ull
#define HIGH_BASE 0x1234560000ull /* above 4 GiB: only the XSDT reaches */
#define LAPIC_PA 0xfee00000u
#define IOAPIC_PA 0xfec00000u
#define NOWHERE 0xdead0000ull /* an address the map refuses */

static uint8_t ram[RAM_SIZE];
static uint64_t ram_base;
static uint8_t rsdp[BOOTINFO_MAX_RSDP];
static size_t rsdp_len;
static struct acpi_info info;
static char err[200];

/* The calls the reader made, in order (the first ARRAY_SIZE(calls)). */
static struct map_call {
	uint64_t pa;
	size_t len;
} calls[16];
static size_t nr_calls;

/* ram when pa .. pa + len lies in it; anything else cannot be mapped. */
static const void *fake_map(uint64_t pa, size_t len, void *ctx)
{
	if (nr_calls < ARRAY_SIZE(calls))
		calls[nr_calls] = (struct map_call){ pa, len };
	nr_calls++;
	if (ctx != ram || pa < ram_base || pa - ram_base > RAM_SIZE ||
	    len > RAM_SIZE - (pa - ram_base))
		return NULL;
	return ram + (pa - ram_base);
}

static bool read_tables(void)
{
	nr_calls = 0;
	kmemset(err, 'x', sizeof(err));
	return acpi_read(rsdp, rsdp_len, fake_map, ram, &info, err,
			 sizeof(err));
}

static uint64_t pa_of(uint32_t off)
{
	return ram_base + off;
}

/* ---- building tables */

static void put32(uint8_t *p, uint32_t v)
{
	kmemcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	kmemcpy(p, &v, 8);
}

static uint8_t sum_of(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Make the n bytes at p sum to 0 by setting the byte at *sum. */
static void set_checksum(uint8_t *p, size_t n, uint8_t *sum)
{
	*sum = 0;
	*sum = (uint8_t)-sum_of(p, n);
}

/* The table being built: at ram + tbl_at, tbl_len bytes so far. */
static uint32_t tbl_at, tbl_len;

static void tbl_begin(uint32_t off, const char *sig)
{
	uint8_t *h = ram + off;

	kmemset(h, 0, 36);
	kmemcpy(h, sig, 4);
	h[8] = 1;
	kmemcpy(h + 10, "KTEST ", 6);
	kmemcpy(h + 16, "ACPITEST", 8);
	tbl_at = off;
	tbl_len = 36;
}

static void tbl_add(const void *p, uint32_t n)
{
	kmemcpy(ram + tbl_at + tbl_len, p, n);
	tbl_len += n;
}

static void tbl_add32(uint32_t v)
{
	tbl_add(&v, 4);
}

static void tbl_add64(uint64_t v)
{
	tbl_add(&v, 8);
}

/* Set the length and the checksum; returns the table's address. */
static uint64_t tbl_end(void)
{
	put32(ram + tbl_at + 4, tbl_len);
	set_checksum(ram + tbl_at, tbl_len, ram + tbl_at + 9);
	return pa_of(tbl_at);
}

/* A table the reader skips (FACP, HPET, ...): a header alone. */
static uint64_t other_table(int i, const char *sig)
{
	tbl_begin(OTHER_OFF + 0x40 * i, sig);
	return tbl_end();
}

static void build_rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt)
{
	kmemset(rsdp, 0, sizeof(rsdp));
	kmemcpy(rsdp, "RSD PTR ", 8);
	kmemcpy(rsdp + 9, "BOCHS ", 6);
	rsdp[15] = revision;
	put32(rsdp + 16, rsdt);
	rsdp_len = 20;
	if (revision >= 2) {
		rsdp_len = 36;
		put32(rsdp + 20, 36);
		put64(rsdp + 24, xsdt);
		set_checksum(rsdp, 36, rsdp + 32);
	}
	set_checksum(rsdp, 20, rsdp + 8);
	if (revision >= 2)
		set_checksum(rsdp, 36, rsdp + 32); /* again: byte 8 changed */
}

/* An RSDT (4-byte entries) or XSDT (8-byte) of n entries. */
static uint64_t build_root(bool xsdt, const uint64_t *entries, size_t n)
{
	tbl_begin(xsdt ? XSDT_OFF : RSDT_OFF, xsdt ? "XSDT" : "RSDT");
	for (size_t i = 0; i < n; i++) {
		if (xsdt)
			tbl_add64(entries[i]);
		else
			tbl_add32((uint32_t)entries[i]);
	}
	return tbl_end();
}

static void madt_begin(uint32_t off, uint32_t lapic, uint32_t flags)
{
	tbl_begin(off, "APIC");
	tbl_add32(lapic);
	tbl_add32(flags);
}

static void madt_lapic(uint8_t uid, uint8_t id, uint32_t flags)
{
	uint8_t e[8] = { 0, 8, uid, id };

	put32(e + 4, flags);
	tbl_add(e, sizeof(e));
}

static void madt_ioapic(uint8_t id, uint32_t pa, uint32_t gsi_base)
{
	uint8_t e[12] = { 1, 12, id };

	put32(e + 4, pa);
	put32(e + 8, gsi_base);
	tbl_add(e, sizeof(e));
}

static void madt_override(uint8_t bus, uint8_t irq, uint32_t gsi,
			  uint16_t flags)
{
	uint8_t e[10] = { 2, 10, bus, irq };

	put32(e + 4, gsi);
	kmemcpy(e + 8, &flags, 2);
	tbl_add(e, sizeof(e));
}

static void madt_lapic_address(uint64_t pa)
{
	uint8_t e[12] = { 5, 12 };

	put64(e + 4, pa);
	tbl_add(e, sizeof(e));
}

static void madt_x2apic(uint32_t id, uint32_t flags, uint32_t uid)
{
	uint8_t e[16] = { 9, 16 };

	put32(e + 4, id);
	put32(e + 8, flags);
	put32(e + 12, uid);
	tbl_add(e, sizeof(e));
}

/* The MADT QEMU writes for its pc machine (hw/i386/acpi-common.c). */
static uint64_t qemu_madt(uint32_t off, int nr_cpus)
{
	static const uint8_t nmi[6] = { 4, 6, 0xff, 0, 0, 1 };

	madt_begin(off, LAPIC_PA, 1);
	for (int i = 0; i < nr_cpus; i++)
		madt_lapic(i, i, 1);
	madt_ioapic(0, IOAPIC_PA, 0);
	madt_override(0, 0, 2, 0);
	madt_override(0, 5, 5, 0xd);
	madt_override(0, 9, 9, 0xd);
	madt_override(0, 10, 10, 0xd);
	madt_override(0, 11, 11, 0xd);
	tbl_add(nmi, sizeof(nmi)); /* local APIC NMI: a type skipped */
	return tbl_end();
}

/* SeaBIOS: RSDP revision 0, an RSDT of FACP, APIC, HPET, WAET. */
static void seabios(int nr_cpus)
{
	uint64_t e[4];

	ram_base = SEABIOS_BASE;
	kmemset(ram, 0, sizeof(ram));
	e[0] = other_table(0, "FACP");
	e[1] = qemu_madt(MADT_OFF, nr_cpus);
	e[2] = other_table(1, "HPET");
	e[3] = other_table(2, "WAET");
	build_rsdp(0, (uint32_t)build_root(false, e, 4), 0);
}

/* OVMF: RSDP revision 2, an XSDT (and an RSDT) of FACP, APIC, HPET, BGRT. */
static void ovmf(int nr_cpus, uint64_t base)
{
	uint64_t e[4], rsdt;

	ram_base = base;
	kmemset(ram, 0, sizeof(ram));
	e[0] = other_table(0, "FACP");
	e[1] = qemu_madt(MADT_OFF, nr_cpus);
	e[2] = other_table(1, "HPET");
	e[3] = other_table(2, "BGRT");
	rsdt = build_root(false, e, 4);
	build_rsdp(2, (uint32_t)rsdt, build_root(true, e, 4));
}

/* A MADT of its fixed fields only, for a test to add entries and end. */
static void bare_madt(void)
{
	uint64_t e[1] = { pa_of(MADT_OFF) };

	ram_base = SEABIOS_BASE;
	kmemset(ram, 0, sizeof(ram));
	build_rsdp(0, (uint32_t)build_root(false, e, 1), 0);
	madt_begin(MADT_OFF, LAPIC_PA, 0);
}

/* Whether read_tables fails with exactly `want` and leaves info zeroed. */
static bool fails_with(const char *want)
{
	static const struct acpi_info zero;
	bool ok = !read_tables();

	if (kstrcmp(err, want) != 0) {
		printk("error '%s'\n   want '%s'\n", err, want);
		ok = false;
	}
	return ok && kmemcmp(&info, &zero, sizeof(info)) == 0;
}

/* ---- well-formed tables */

KTEST(acpi, seabios_rsdt)
{
	seabios(4);
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_STREQ(err, "");
	KT_EXPECT_EQ(info.rsdp_revision, 0);
	KT_EXPECT_FALSE(info.xsdt);
	KT_EXPECT_EQ(info.lapic_pa, LAPIC_PA);
	KT_EXPECT_TRUE(info.pcat_compat);
	KT_ASSERT_EQ(info.nr_cpus, 4);
	for (uint32_t i = 0; i < 4; i++) {
		KT_EXPECT_EQ(info.cpus[i].apic_id, i);
		KT_EXPECT_EQ(info.cpus[i].uid, i);
		KT_EXPECT_FALSE(info.cpus[i].x2apic);
	}
	KT_EXPECT_EQ(info.nr_cpus_dropped, 0);
	KT_EXPECT_EQ(info.nr_cpus_disabled, 0);
	KT_ASSERT_EQ(info.nr_ioapics, 1);
	KT_EXPECT_EQ(info.ioapics[0].pa, IOAPIC_PA);
	KT_EXPECT_EQ(info.ioapics[0].gsi_base, 0);
	KT_EXPECT_EQ(info.ioapics[0].id, 0);
	/* IRQ 0 (the PIT) arrives on GSI 2, edge and high */
	KT_EXPECT_EQ(info.isa_gsi[0], 2);
	KT_EXPECT_EQ(info.isa_flags[0], 0);
	/* the PCI interrupts: level, active high */
	KT_EXPECT_EQ(info.isa_gsi[9], 9);
	KT_EXPECT_EQ(info.isa_flags[9] & ACPI_TRIGGER_MASK, ACPI_TRIGGER_LEVEL);
	KT_EXPECT_EQ(info.isa_flags[9] & ACPI_POLARITY_MASK, 1);
	/* IRQs without an override are identity-mapped, bus default */
	KT_EXPECT_EQ(info.isa_gsi[1], 1);
	KT_EXPECT_EQ(info.isa_gsi[4], 4);
	KT_EXPECT_EQ(info.isa_gsi[15], 15);
	KT_EXPECT_EQ(info.isa_flags[4], 0);
}

KTEST(acpi, map_calls_header_then_table)
{
	seabios(1);
	KT_ASSERT_TRUE(read_tables());
	/* RSDT header and whole; FACP's header; MADT's header and whole */
	KT_ASSERT_EQ(nr_calls, 6);
	KT_EXPECT_EQ(calls[0].pa, pa_of(RSDT_OFF));
	KT_EXPECT_EQ(calls[0].len, 36);
	KT_EXPECT_EQ(calls[1].pa, pa_of(RSDT_OFF));
	KT_EXPECT_EQ(calls[1].len, 36 + 4 * 4);
	KT_EXPECT_EQ(calls[2].pa, pa_of(OTHER_OFF));
	KT_EXPECT_EQ(calls[2].len, 36);
	KT_EXPECT_EQ(calls[3].pa, pa_of(MADT_OFF));
	KT_EXPECT_EQ(calls[3].len, 36);
	KT_EXPECT_EQ(calls[5].pa, pa_of(MADT_OFF));
	KT_EXPECT_EQ(calls[5].len, 44 + 8 + 12 + 5 * 10 + 6);
}

KTEST(acpi, ovmf_xsdt)
{
	ovmf(2, OVMF_BASE);
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.rsdp_revision, 2);
	KT_EXPECT_TRUE(info.xsdt);
	KT_EXPECT_EQ(calls[0].pa, pa_of(XSDT_OFF));
	KT_EXPECT_EQ(calls[1].len, 36 + 4 * 8);
	KT_EXPECT_EQ(info.nr_cpus, 2);
	KT_EXPECT_EQ(info.cpus[1].apic_id, 1);
	KT_EXPECT_EQ(info.isa_gsi[0], 2);
}

KTEST(acpi, xsdt_above_4g)
{
	/* 64-bit entries: every table above 4 GiB */
	ovmf(3, HIGH_BASE);
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_TRUE(info.xsdt);
	KT_EXPECT_EQ(info.nr_cpus, 3);
	KT_EXPECT_EQ(calls[nr_calls - 1].pa, HIGH_BASE + MADT_OFF);
}

KTEST(acpi, revision2_without_xsdt_reads_rsdt)
{
	seabios(2);
	build_rsdp(2, (uint32_t)pa_of(RSDT_OFF), 0);
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.rsdp_revision, 2);
	KT_EXPECT_FALSE(info.xsdt);
	KT_EXPECT_EQ(calls[0].pa, pa_of(RSDT_OFF));
	KT_EXPECT_EQ(info.nr_cpus, 2);
}

KTEST(acpi, x2apic_entries)
{
	bare_madt();
	madt_lapic(0, 0, 1);
	madt_x2apic(255, 1, 255);
	madt_x2apic(0x1234567, 1, 70000);
	madt_x2apic(300, 0, 300); /* disabled */
	tbl_end();
	KT_ASSERT_TRUE(read_tables());
	KT_ASSERT_EQ(info.nr_cpus, 3);
	KT_EXPECT_FALSE(info.cpus[0].x2apic);
	KT_EXPECT_EQ(info.cpus[1].apic_id, 255);
	KT_EXPECT_TRUE(info.cpus[1].x2apic);
	KT_EXPECT_EQ(info.cpus[2].apic_id, 0x1234567);
	KT_EXPECT_EQ(info.cpus[2].uid, 70000);
	KT_EXPECT_EQ(info.nr_cpus_disabled, 1);
	KT_EXPECT_FALSE(info.pcat_compat);
}

KTEST(acpi, disabled_and_online_capable)
{
	bare_madt();
	madt_lapic(0, 0, 1);
	madt_lapic(1, 1, 0); /* disabled */
	madt_lapic(2, 2, 2); /* online capable: not started either */
	madt_lapic(3, 3, 3); /* enabled (and capable) */
	madt_x2apic(4, 2, 4);
	tbl_end();
	KT_ASSERT_TRUE(read_tables());
	KT_ASSERT_EQ(info.nr_cpus, 2);
	KT_EXPECT_EQ(info.cpus[1].apic_id, 3);
	KT_EXPECT_EQ(info.nr_cpus_disabled, 3);
	KT_EXPECT_EQ(info.nr_cpus_online_capable, 2);
}

KTEST(acpi, more_cpus_than_kept)
{
	const int n = ACPI_MAX_CPUS + 6;

	seabios(n);
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.nr_cpus, ACPI_MAX_CPUS);
	KT_EXPECT_EQ(info.nr_cpus_dropped, 6);
	KT_EXPECT_EQ(info.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
	/* the entries after the CPUs are still read */
	KT_EXPECT_EQ(info.nr_ioapics, 1);
	KT_EXPECT_EQ(info.isa_gsi[0], 2);
}

KTEST(acpi, overrides)
{
	bare_madt();
	madt_lapic(0, 0, 1);
	madt_override(0, 0, 2, 0);
	madt_override(0, 4, 20, 0xf);  /* level, active low */
	madt_override(1, 3, 33, 0xf);  /* not ISA: skipped */
	madt_override(0, 16, 16, 0xf); /* not an ISA IRQ: skipped */
	tbl_end();
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.isa_gsi[0], 2);
	KT_EXPECT_EQ(info.isa_gsi[4], 20);
	KT_EXPECT_EQ(info.isa_flags[4] & ACPI_POLARITY_MASK, ACPI_POLARITY_LOW);
	KT_EXPECT_EQ(info.isa_flags[4] & ACPI_TRIGGER_MASK, ACPI_TRIGGER_LEVEL);
	KT_EXPECT_EQ(info.isa_gsi[3], 3);
	KT_EXPECT_EQ(info.isa_flags[3], 0);
}

KTEST(acpi, lapic_address_override)
{
	bare_madt();
	madt_lapic(0, 0, 1);
	madt_lapic_address(0xfee0000000ull);
	tbl_end();
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.lapic_pa, 0xfee0000000ull);
}

KTEST(acpi, ioapics_beyond_kept)
{
	bare_madt();
	madt_lapic(0, 0, 1);
	for (int i = 0; i < ACPI_MAX_IOAPICS + 2; i++)
		madt_ioapic(i, IOAPIC_PA + 0x1000 * i, 24 * i);
	tbl_end();
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.nr_ioapics, ACPI_MAX_IOAPICS);
	KT_EXPECT_EQ(info.nr_ioapics_dropped, 2);
	KT_EXPECT_EQ(info.ioapics[3].id, 3);
	KT_EXPECT_EQ(info.ioapics[3].pa, IOAPIC_PA + 0x3000);
	KT_EXPECT_EQ(info.ioapics[3].gsi_base, 72);
}

KTEST(acpi, unknown_entries_and_longer_known_ones)
{
	static const uint8_t unknown[] = { 0x7f, 2, 0x80, 5, 1, 2, 3 };
	uint8_t longer[12] = { 0, 12, 7, 9 }; /* a local APIC, grown */

	bare_madt();
	tbl_add(unknown, sizeof(unknown));
	put32(longer + 4, 1);
	tbl_add(longer, sizeof(longer));
	tbl_end();
	KT_ASSERT_TRUE(read_tables());
	KT_ASSERT_EQ(info.nr_cpus, 1);
	KT_EXPECT_EQ(info.cpus[0].apic_id, 9);
	KT_EXPECT_EQ(info.cpus[0].uid, 7);
}

KTEST(acpi, unaligned_tables)
{
	uint64_t e[1] = { pa_of(MADT_OFF + 3) };

	/* a MADT at an odd address: every field is read a byte at a time */
	bare_madt();
	build_rsdp(0, (uint32_t)build_root(false, e, 1), 0);
	madt_begin(MADT_OFF + 3, LAPIC_PA, 1);
	madt_x2apic(0x10203, 1, 5);
	madt_override(0, 0, 2, 0x5);
	tbl_end();
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.cpus[0].apic_id, 0x10203);
	KT_EXPECT_EQ(info.isa_flags[0], 5);
}

KTEST(acpi, other_tables_unmappable_or_bad_are_skipped)
{
	uint64_t e[3] = { NOWHERE, pa_of(OTHER_OFF), pa_of(MADT_OFF) };

	seabios(1);
	other_table(0, "FACP");
	ram[OTHER_OFF + 9] ^= 0x55; /* a bad checksum: not read, not seen */
	build_rsdp(0, (uint32_t)build_root(false, e, 3), 0);
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.nr_cpus, 1);
}

/* ---- the RSDP */

KTEST(acpi, rsdp_bad_signature)
{
	seabios(1);
	rsdp[5] = 'X';
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDP signature is 'RSD PXR ', not 'RSD PTR '"));
	rsdp[5] = 0;
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDP signature is 'RSD P?R ', not 'RSD PTR '"));
}

KTEST(acpi, rsdp_bad_checksum)
{
	seabios(1);
	rsdp[10]++;
	KT_EXPECT_TRUE(fails_with("acpi: RSDP checksum is 0x01, not 0"));
}

KTEST(acpi, rsdp_bad_extended_checksum)
{
	ovmf(1, OVMF_BASE);
	rsdp[33] = 0x20; /* a reserved byte past the first 20 */
	KT_EXPECT_TRUE(
		fails_with("acpi: RSDP extended checksum is 0x20, not 0"));
}

KTEST(acpi, rsdp_too_short)
{
	seabios(1);
	rsdp_len = 12;
	KT_EXPECT_TRUE(fails_with("acpi: RSDP is 12 bytes, less than 20"));
	ovmf(1, OVMF_BASE);
	rsdp_len = 20;
	KT_EXPECT_TRUE(
		fails_with("acpi: RSDP revision 2 is 20 bytes, less than 36"));
}

KTEST(acpi, rsdp_length_outside_copy)
{
	ovmf(1, OVMF_BASE);
	put32(rsdp + 20, 40);
	set_checksum(rsdp, 20, rsdp + 8);
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDP length 40 is outside 36..36 (the bytes given)"));
	put32(rsdp + 20, 24);
	set_checksum(rsdp, 20, rsdp + 8);
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDP length 24 is outside 36..36 (the bytes given)"));
}

KTEST(acpi, rsdp_no_address)
{
	seabios(1);
	build_rsdp(0, 0, 0);
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDP revision 0 gives no RSDT or XSDT address"));
	build_rsdp(2, 0, 0);
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDP revision 2 gives no RSDT or XSDT address"));
}

/* ---- the RSDT and XSDT */

KTEST(acpi, rsdt_bad_checksum)
{
	seabios(1);
	ram[RSDT_OFF + 24] += 0x12; /* the OEM revision */
	KT_EXPECT_TRUE(fails_with("acpi: RSDT checksum is 0x12, not 0"));
}

KTEST(acpi, xsdt_bad_signature)
{
	ovmf(1, OVMF_BASE);
	kmemcpy(ram + XSDT_OFF, "RSDT", 4);
	KT_EXPECT_TRUE(fails_with(
		"acpi: XSDT at 0x7fb7e100 has signature 'RSDT', not 'XSDT'"));
}

KTEST(acpi, root_unmappable)
{
	seabios(1);
	build_rsdp(0, (uint32_t)NOWHERE, 0);
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDT at 0xdead0000 cannot be mapped (36 bytes)"));
	KT_EXPECT_EQ(nr_calls, 1);
}

KTEST(acpi, root_length_bounds)
{
	seabios(1);
	put32(ram + RSDT_OFF + 4, 35);
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDT at 0x1ffe0000 has length 35, outside 36..1048576"));
	put32(ram + RSDT_OFF + 4, ACPI_TABLE_MAX + 1);
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDT at 0x1ffe0000 has length 1048577, outside 36..1048576"));
	/* only the header was asked for */
	KT_EXPECT_EQ(nr_calls, 1);
}

KTEST(acpi, root_truncated)
{
	/* an RSDT at the end of what maps, claiming 4 more bytes */
	uint64_t e[1] = { pa_of(MADT_OFF) };

	seabios(1);
	tbl_begin(RAM_SIZE - 40, "RSDT");
	tbl_add32((uint32_t)e[0]);
	tbl_end();
	put32(ram + RAM_SIZE - 40 + 4, 44);
	build_rsdp(0, (uint32_t)pa_of(RAM_SIZE - 40), 0);
	KT_EXPECT_TRUE(fails_with(
		"acpi: RSDT at 0x1ffe3fd8 cannot be mapped whole (length 44)"));
}

KTEST(acpi, no_madt)
{
	uint64_t e[3] = { pa_of(OTHER_OFF), NOWHERE, pa_of(OTHER_OFF + 0x40) };

	seabios(1);
	build_rsdp(0, (uint32_t)build_root(false, e, 3), 0);
	KT_EXPECT_TRUE(fails_with(
		"acpi: no MADT (APIC) among the 3 RSDT entries (1 of them cannot be mapped)"));
	ovmf(1, OVMF_BASE);
	build_rsdp(2, 0, build_root(true, e, 0));
	KT_EXPECT_TRUE(fails_with(
		"acpi: no MADT (APIC) among the 0 XSDT entries (0 of them cannot be mapped)"));
}

/* ---- the MADT */

KTEST(acpi, madt_bad_checksum)
{
	seabios(2);
	ram[MADT_OFF + 44 + 3] = 7; /* CPU 0's APIC ID, 0 before */
	KT_EXPECT_TRUE(fails_with("acpi: MADT checksum is 0x07, not 0"));
}

KTEST(acpi, madt_truncated)
{
	uint64_t e[1] = { pa_of(RAM_SIZE - 52) };

	/* the last 52 bytes hold a MADT that says it has 60 */
	bare_madt();
	build_rsdp(0, (uint32_t)build_root(false, e, 1), 0);
	madt_begin(RAM_SIZE - 52, LAPIC_PA, 0);
	madt_lapic(0, 0, 1);
	tbl_end();
	put32(ram + RAM_SIZE - 52 + 4, 60);
	KT_EXPECT_TRUE(fails_with(
		"acpi: MADT at 0x1ffe3fcc cannot be mapped whole (length 60)"));
}

KTEST(acpi, madt_shorter_than_fixed_fields)
{
	bare_madt();
	tbl_len = 40;
	tbl_end();
	KT_EXPECT_TRUE(fails_with(
		"acpi: MADT has length 40, less than the 44 of its fixed fields"));
}

KTEST(acpi, madt_entry_length_0_and_1)
{
	static const uint8_t len0[2] = { 0, 0 }, len1[2] = { 0x7f, 1 };

	bare_madt();
	madt_lapic(0, 0, 1);
	tbl_add(len0, 2);
	tbl_end();
	KT_EXPECT_TRUE(
		fails_with("acpi: MADT entry at offset 0x34 has length 0"));
	bare_madt();
	tbl_add(len1, 2);
	madt_lapic(0, 0, 1);
	tbl_end();
	KT_EXPECT_TRUE(
		fails_with("acpi: MADT entry at offset 0x2c has length 1"));
}

KTEST(acpi, madt_entry_overruns_table)
{
	static const uint8_t over[4] = { 0x7f, 5, 0, 0 };
	static const uint8_t cut[1] = { 0 };

	bare_madt();
	madt_lapic(0, 0, 1);
	tbl_add(over, 4);
	tbl_end();
	KT_EXPECT_TRUE(fails_with(
		"acpi: MADT entry at offset 0x34 has length 5, past the table end at 0x38"));
	bare_madt();
	madt_lapic(0, 0, 1);
	tbl_add(cut, 1);
	tbl_end();
	KT_EXPECT_TRUE(fails_with(
		"acpi: MADT entry at offset 0x34 has its header cut by the table end (length 53)"));
}

KTEST(acpi, madt_entry_shorter_than_its_type)
{
	uint8_t x2[12] = { 9, 12 };

	bare_madt();
	madt_lapic(0, 0, 1);
	tbl_add(x2, sizeof(x2));
	tbl_end();
	KT_EXPECT_TRUE(fails_with(
		"acpi: MADT entry at offset 0x34 (type 9, local x2APIC) has length 12, less than 16"));
}

KTEST(acpi, madt_without_cpus_or_lapic)
{
	bare_madt();
	madt_lapic(0, 0, 0);
	tbl_end();
	KT_EXPECT_TRUE(
		fails_with("acpi: MADT lists no enabled CPU (1 disabled)"));
	bare_madt();
	madt_lapic(0, 0, 1);
	put32(ram + MADT_OFF + 36, 0);
	tbl_end();
	KT_EXPECT_TRUE(fails_with("acpi: MADT gives local APIC address 0"));
}

KTEST(acpi, madt_unmappable_is_skipped)
{
	/* the map refuses the MADT: it is not found */
	seabios(1);
	put32(ram + RSDT_OFF + 36 + 4, (uint32_t)NOWHERE);
	set_checksum(ram + RSDT_OFF, 36 + 16, ram + RSDT_OFF + 9);
	KT_EXPECT_TRUE(fails_with(
		"acpi: no MADT (APIC) among the 4 RSDT entries (1 of them cannot be mapped)"));
}

KTEST(acpi, madt_at_address_0)
{
	/* 0 is an address like any other once the RSDT names it */
	ram_base = 0;
	kmemset(ram, 0, sizeof(ram));
	madt_begin(0, LAPIC_PA, 0);
	madt_lapic(0, 5, 1);
	tbl_end();
	tbl_begin(XSDT_OFF, "RSDT");
	tbl_add32(0);
	build_rsdp(0, (uint32_t)tbl_end(), 0);
	KT_ASSERT_TRUE(read_tables());
	KT_EXPECT_EQ(info.cpus[0].apic_id, 5);
	KT_EXPECT_EQ(calls[nr_calls - 1].pa, 0);
}

KTEST(acpi, error_buffer_small_or_absent)
{
	char small[12];

	seabios(1);
	rsdp[10]++;
	KT_EXPECT_FALSE(
		acpi_read(rsdp, rsdp_len, fake_map, ram, &info, small, 12));
	KT_EXPECT_STREQ(small, "acpi: RSDP ");
	KT_EXPECT_FALSE(
		acpi_read(rsdp, rsdp_len, fake_map, ram, &info, NULL, 0));
	rsdp[10]--;
	KT_EXPECT_TRUE(
		acpi_read(rsdp, rsdp_len, fake_map, ram, &info, NULL, 0));
}
