/*
 * apic.h: the local APICs, the I/O APIC, the 8259s and the PIT (apic.c),
 * and the interrupt vectors the kernel uses.
 */
#pragma once

#include "compiler.h"

#define VECTOR_PIC_FIRST 0x20 /* the masked 8259s: only spurious ones */
#define VECTOR_SERIAL 0x30
#define VECTOR_TIMER 0xf0
#define VECTOR_CALL 0xf1
#define VECTOR_SPURIOUS 0xff

/* Local APIC timer interrupts per second, on every CPU. */
#define APIC_TIMER_HZ 50

/* Interrupt command delivery modes (Intel SDM vol. 3A, 11.6.1). */
#define LAPIC_DELIVER_FIXED (0u << 8)
#define LAPIC_DELIVER_NMI (4u << 8)
#define LAPIC_DELIVER_INIT (5u << 8)
#define LAPIC_DELIVER_STARTUP (6u << 8)

struct cpu;

/*
 * On the boot CPU: learn the local APIC's mode from IA32_APIC_BASE, map
 * its registers (xAPIC), remap and mask the 8259s, measure the TSC and
 * the APIC timer against the PIT, and set up this CPU's local APIC.
 * madt_lapic_pa (0: none) is only compared with the MSR. Returns false,
 * with a line, when the registers cannot be reached.
 */
bool apic_init(uint64_t madt_lapic_pa);

/* The same for every other CPU, on that CPU: its local APIC and timer. */
void lapic_init_cpu(void);

/* "xAPIC" or "x2APIC". */
const char *apic_mode(void);

/* This CPU's APIC ID. */
uint32_t lapic_id(void);

void lapic_eoi(void);

/* Send command low (a delivery mode and vector) to APIC ID dest. */
void lapic_send(uint32_t dest, uint32_t low);
void lapic_send_init(uint32_t dest);
/* A start-up IPI: the CPU starts in real mode at start_pa (page-aligned, below 1 MiB). */
void lapic_send_startup(uint32_t dest, uint64_t start_pa);

/* What calibration measured: TSC cycles, APIC timer counts per ms. */
uint64_t apic_tsc_per_ms(void);
uint32_t apic_timer_per_ms(void);

/* Wait us microseconds (TSC). */
void apic_delay_us(uint64_t us);

/* Map the I/O APIC at pa (its first pin is gsi_base), every pin masked. */
bool ioapic_init(uint64_t pa, uint32_t gsi_base);

/* Route global system interrupt gsi to vector on APIC ID dest. */
bool ioapic_route(uint32_t gsi, bool active_low, bool level, uint8_t vector,
		  uint32_t dest);

/* smp.c: what interrupts do for it. */
void smp_timer_tick(struct cpu *c);
void smp_call_interrupt(void);
