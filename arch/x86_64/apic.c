/*
 * apic.c: interrupts. Each CPU's local APIC (its timer, the interrupts
 * CPUs send each other, the end-of-interrupt), the I/O APIC that brings
 * the serial line's interrupt in, the legacy 8259 PICs (remapped and
 * masked, never used), and the PIT, used once to measure how fast the
 * time stamp counter and the APIC timer run.
 *
 * The local APIC is in xAPIC mode (registers in a 4 KiB MMIO page) or
 * x2APIC mode (MSRs 0x800 + register / 16). The firmware chooses:
 * IA32_APIC_BASE.EXTD says which, and the kernel never switches (QEMU's
 * TCG has no x2APIC). Intel SDM vol. 3A, chapter 11.
 *
 * Vectors (trap.h: 0..31 are exceptions):
 *   0x20..0x2f  the 8259s, remapped there so that a spurious IRQ 7 or 15
 *               is not taken for an exception; masked, so only those come
 *   0x30        the serial line (COM1, ISA IRQ 4), through the I/O APIC
 *   0xf0        the local APIC timer
 *   0xf1        arch_cpu_call's request
 *   0xff        the local APIC's spurious vector (no EOI)
 * The barrier and the panic stop come as NMIs (smp.c), which a CPU takes
 * even while it spins with interrupts off.
 */
#include "apic.h"
#include "arch.h"
#include "cpu.h"
#include "page.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "serial.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10) /* x2APIC mode */
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR 0x000ffffffffff000ull
#define MSR_X2APIC_FIRST 0x800

/* Local APIC registers, by their xAPIC offsets. */
#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0

#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_NMI (4u << 8)
#define ICR_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define TIMER_DIVIDE_16 0x3

/* The 8259 pair. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

/* The PIT: channel 2, gated by port 0x61 bit 0, its output on bit 5. */
#define PIT_HZ 1193182u
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61
#define PIT_MEASURE_MS 10

/* The I/O APIC: an index register and a data window. */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10
#define IOAPIC_VERSION 0x01
#define IOAPIC_REDIRECT(n) (0x10 + 2 * (n))
#define REDIRECT_LOW_ACTIVE_LOW (1u << 13)
#define REDIRECT_LOW_LEVEL (1u << 15)
#define REDIRECT_LOW_MASKED (1u << 16)

static struct {
	bool x2apic;
	volatile uint32_t *mmio; /* xAPIC: the register page */
	uint64_t base_pa;
	uint64_t tsc_per_ms;
	uint32_t timer_per_ms; /* APIC timer counts (divide 16) per ms */
	volatile uint32_t *ioapic;
	uint32_t ioapic_gsi_base, ioapic_pins;
} apic;

const char *apic_mode(void)
{
	return apic.x2apic ? "x2APIC" : "xAPIC";
}

static uint32_t lapic_read(unsigned reg)
{
	if (apic.x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_FIRST + reg / 16);
	return apic.mmio[reg / 4];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	if (apic.x2apic)
		wrmsr(MSR_X2APIC_FIRST + reg / 16, v);
	else
		apic.mmio[reg / 4] = v;
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);

	return apic.x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/*
 * Send an interrupt command to the CPU with APIC ID dest: low is the
 * command word (delivery mode, vector). xAPIC: the destination goes in
 * the high register first, and the low write sends; x2APIC: one MSR.
 */
void lapic_send(uint32_t dest, uint32_t low)
{
	if (apic.x2apic) {
		wrmsr(MSR_X2APIC_FIRST + LAPIC_ICR_LOW / 16,
		      ((uint64_t)dest << 32) | low);
		return;
	}
	while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)
		arch_cpu_relax();
	lapic_write(LAPIC_ICR_HIGH, dest << 24);
	lapic_write(LAPIC_ICR_LOW, low);
	while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)
		arch_cpu_relax();
}

void lapic_send_init(uint32_t dest)
{
	lapic_send(dest, LAPIC_DELIVER_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_startup(uint32_t dest, uint64_t start_pa)
{
	lapic_send(dest, LAPIC_DELIVER_STARTUP | (uint32_t)(start_pa >> 12));
}

/* ---- time */

uint64_t apic_tsc_per_ms(void)
{
	return apic.tsc_per_ms;
}

void apic_delay_us(uint64_t us)
{
	uint64_t start = rdtsc(), wait = apic.tsc_per_ms * us / 1000;

	while (rdtsc() - start < wait)
		arch_cpu_relax();
}

/*
 * Run PIT channel 2 once for PIT_MEASURE_MS (mode 0: its output goes high
 * at the end) and count what the TSC and the APIC timer (counting down
 * from the top) did meanwhile. Under TCG both are approximate; nothing
 * depends on more than their order of magnitude.
 */
static void calibrate(void)
{
	uint32_t count = PIT_HZ / 1000 * PIT_MEASURE_MS, lapic_left;
	uint8_t gate = inb(PIT_GATE);
	uint64_t tsc;

	outb(PIT_GATE, (uint8_t)((gate & ~0x02) | 0x01)); /* speaker off */
	outb(PIT_CMD, 0xb0); /* channel 2, low then high byte, mode 0 */
	outb(PIT_CH2, (uint8_t)count);
	outb(PIT_CH2, (uint8_t)(count >> 8));
	lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	gate = inb(PIT_GATE);
	outb(PIT_GATE, (uint8_t)(gate & ~0x01)); /* a rising gate starts it */
	outb(PIT_GATE, (uint8_t)(gate | 0x01));
	tsc = rdtsc();
	lapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
	while (!(inb(PIT_GATE) & 0x20))
		arch_cpu_relax();
	lapic_left = lapic_read(LAPIC_TIMER_CURRENT);
	tsc = rdtsc() - tsc;
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	apic.tsc_per_ms = MAX(tsc / PIT_MEASURE_MS, 1ull);
	apic.timer_per_ms =
		MAX((0xffffffffu - lapic_left) / PIT_MEASURE_MS, 1u);
}

/* ---- set up */

/* Remap the 8259s to 0x20..0x2f, then mask every line. */
static void pic_disable(void)
{
	outb(PIC1_CMD, 0x11); /* ICW1: init, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, VECTOR_PIC_FIRST); /* ICW2: vector base */
	outb(PIC2_DATA, VECTOR_PIC_FIRST + 8);
	outb(PIC1_DATA, 0x04); /* ICW3: the slave on line 2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}

/* This CPU's local APIC on: spurious vector, no priority floor, timer. */
void lapic_init_cpu(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	/* LINT1 is wired to NMI on a PC: keep it so */
	lapic_write(LAPIC_LVT_LINT1, LVT_NMI);
	if (apic.timer_per_ms) {
		lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_16);
		lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | VECTOR_TIMER);
		lapic_write(LAPIC_TIMER_INITIAL,
			    apic.timer_per_ms * (1000 / APIC_TIMER_HZ));
	}
}

bool apic_init(uint64_t madt_lapic_pa)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	apic.x2apic = (base & (APIC_BASE_EXTD | APIC_BASE_ENABLE)) ==
		      (APIC_BASE_EXTD | APIC_BASE_ENABLE);
	apic.base_pa = base & APIC_BASE_ADDR;
	if (madt_lapic_pa && madt_lapic_pa != apic.base_pa)
		printk("apic: IA32_APIC_BASE says 0x%llx, the MADT 0x%llx; using the MSR's\n",
		       (unsigned long long)apic.base_pa,
		       (unsigned long long)madt_lapic_pa);
	if (!apic.x2apic) {
		apic.mmio = paging_map_phys(apic.base_pa, PGSIZE, PAGING_MMIO);
		if (!apic.mmio) {
			printk("apic: cannot map the local APIC at 0x%llx; interrupts stay off\n",
			       (unsigned long long)apic.base_pa);
			return false;
		}
	}
	pic_disable();
	calibrate();
	lapic_init_cpu();
	return true;
}

uint32_t apic_timer_per_ms(void)
{
	return apic.timer_per_ms;
}

static uint32_t ioapic_read(uint32_t reg)
{
	apic.ioapic[IOAPIC_REGSEL / 4] = reg;
	return apic.ioapic[IOAPIC_WINDOW / 4];
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	apic.ioapic[IOAPIC_REGSEL / 4] = reg;
	apic.ioapic[IOAPIC_WINDOW / 4] = v;
}

bool ioapic_init(uint64_t pa, uint32_t gsi_base)
{
	apic.ioapic = paging_map_phys(pa, PGSIZE, PAGING_MMIO);
	if (!apic.ioapic)
		return false;
	apic.ioapic_gsi_base = gsi_base;
	apic.ioapic_pins = ((ioapic_read(IOAPIC_VERSION) >> 16) & 0xff) + 1;
	for (uint32_t pin = 0; pin < apic.ioapic_pins; pin++) {
		ioapic_write(IOAPIC_REDIRECT(pin) + 1, 0);
		ioapic_write(IOAPIC_REDIRECT(pin), REDIRECT_LOW_MASKED);
	}
	return true;
}

bool ioapic_route(uint32_t gsi, bool active_low, bool level, uint8_t vector,
		  uint32_t dest)
{
	uint32_t pin = gsi - apic.ioapic_gsi_base;

	if (!apic.ioapic || gsi < apic.ioapic_gsi_base ||
	    pin >= apic.ioapic_pins)
		return false;
	ioapic_write(IOAPIC_REDIRECT(pin) + 1, dest << 24);
	ioapic_write(IOAPIC_REDIRECT(pin),
		     vector | (active_low ? REDIRECT_LOW_ACTIVE_LOW : 0) |
			     (level ? REDIRECT_LOW_LEVEL : 0));
	return true;
}

/* ---- taking interrupts */

static void irq_dispatch(struct cpu *c, struct arch_regs *regs);

void irq_handler(struct arch_regs *regs)
{
	struct cpu *c = this_cpu();

	c->interrupts++;
	c->in_interrupt++;
	irq_dispatch(c, regs);
	c->in_interrupt--;
}

bool arch_in_interrupt(void)
{
	return this_cpu()->in_interrupt != 0;
}

static void irq_dispatch(struct cpu *c, struct arch_regs *regs)
{
	switch (regs->vector) {
	case VECTOR_TIMER:
		c->ticks++;
		smp_timer_tick(c);
		break;
	case VECTOR_SERIAL:
		serial_interrupt();
		break;
	case VECTOR_CALL:
		smp_call_interrupt();
		break;
	case VECTOR_SPURIOUS:
	case VECTOR_PIC_FIRST + 7:
	case VECTOR_PIC_FIRST + 15:
		return; /* spurious: no end-of-interrupt */
	default:
		panic("CPU %d: interrupt on vector 0x%llx, which nothing sends",
		      c->id, (unsigned long long)regs->vector);
	}
	lapic_eoi();
}
