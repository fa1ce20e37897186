/*
 * acpi.h: finding the CPUs and interrupt controllers the firmware
 * describes, from the ACPI tables: the RSDP (a copy the boot loader
 * gives), then the RSDT (RSDP revision 0, 32-bit entries) or the XSDT
 * (revision 2 or more, 64-bit entries), then the MADT ("APIC").
 *
 * The reader is arch-neutral C over a mapping callback, so the host tests
 * and a fuzz target run the same code the kernel does. Every checksum is
 * verified and every read is bounded by a table's stated length and by
 * what the callback maps: a bad, missing or truncated table gives one
 * line saying what was wrong, never a fault.
 */
#pragma once

#include "compiler.h"
#include "arch.h"

/* The most CPUs recorded: the per-CPU arrays' size. */
#define ACPI_MAX_CPUS NR_CPUS
#define ACPI_MAX_IOAPICS 8
#define ACPI_ISA_IRQS 16
/* The longest RSDT, XSDT or MADT read: a sanity bound, far above real ones. */
#define ACPI_TABLE_MAX (1u << 20)

/* An enabled local APIC (MADT type 0) or local x2APIC (type 9). */
struct acpi_cpu {
	uint32_t apic_id;
	uint32_t uid; /* the ACPI processor UID */
	bool x2apic;  /* from a type-9 entry */
};

/* An I/O APIC (MADT type 1). */
struct acpi_ioapic {
	uint64_t pa;
	uint32_t gsi_base;
	uint8_t id;
};

/* MPS INTI flags (MADT type 2): polarity bits 1:0, trigger bits 3:2. */
#define ACPI_POLARITY_MASK 0x3
#define ACPI_POLARITY_LOW 0x3
#define ACPI_TRIGGER_MASK 0xc
#define ACPI_TRIGGER_LEVEL 0xc

struct acpi_info {
	uint8_t rsdp_revision; /* 0: RSDT was used; 2 and up: XSDT */
	bool xsdt;	       /* the XSDT was read (else the RSDT) */
	uint64_t lapic_pa;     /* MADT's address, or a type-5 override */
	bool pcat_compat;      /* MADT flag bit 0: there are 8259 PICs */
	/* enabled CPUs, in MADT order, the first ACPI_MAX_CPUS of them */
	size_t nr_cpus;
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	size_t nr_cpus_dropped; /* enabled ones beyond ACPI_MAX_CPUS */
	/*
	 * Listed but not enabled: the kernel does not start them. Those
	 * marked online capable (flags bit 1: firmware could enable them
	 * later, a hot-add the kernel does not do) are counted here too,
	 * and also in nr_cpus_online_capable.
	 */
	size_t nr_cpus_disabled;
	size_t nr_cpus_online_capable;
	size_t nr_ioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	size_t nr_ioapics_dropped; /* beyond ACPI_MAX_IOAPICS */
	/*
	 * ISA IRQ i arrives as global system interrupt isa_gsi[i], with the
	 * MPS flags isa_flags[i]: i and 0 (bus default: edge, high) unless a
	 * type-2 entry overrides it.
	 */
	uint32_t isa_gsi[ACPI_ISA_IRQS];
	uint16_t isa_flags[ACPI_ISA_IRQS];
};

/*
 * Make len bytes at physical address pa readable and return where they
 * are, or NULL when they cannot be (the reader then reports the table as
 * unreadable). The reader never reads beyond what it asked for.
 */
typedef const void *(*acpi_map_fn)(uint64_t pa, size_t len, void *ctx);

/*
 * Read the MADT through the RSDP at rsdp (rsdp_len bytes: 20 for
 * revision 0, 36 for later ones). On success returns true with *out
 * filled in: at least one enabled CPU and a nonzero lapic_pa, else it is
 * a failure. On failure returns false with one line in err (no newline)
 * naming the table and what was wrong, e.g. "acpi: MADT checksum is 0x3f,
 * not 0"; *out is then zeroed. A bad RSDP, RSDT, XSDT or MADT is a
 * failure; an RSDT or XSDT entry that cannot be mapped, or is another
 * table, is skipped (the first "APIC" one is the MADT).
 */
bool acpi_read(const void *rsdp, size_t rsdp_len, acpi_map_fn map, void *ctx,
	       struct acpi_info *out, char *err, size_t err_len);

/*
 * How many CPUs the command line lets the kernel run: `nosmp` gives 1,
 * `maxcpus=N` gives N (decimal or 0x-hex, 1 .. ACPI_MAX_CPUS), neither
 * gives ACPI_MAX_CPUS.
 * A bad maxcpus value (not a number, 0, too large) writes one line to
 * msg (no newline) and is ignored; msg is empty otherwise. Given more
 * than once, the last maxcpus= counts; with nosmp, nosmp wins (1), and a
 * bad maxcpus value is still reported.
 */
size_t acpi_cpu_limit(const char *cmdline, char *msg, size_t msg_len);
