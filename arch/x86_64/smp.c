/*
 * smp.c: every CPU the firmware describes, brought up and kept in step.
 *
 * ---- Finding them
 *
 * The ACPI tables (kern/src/acpi.c reads them, through the RSDP copy the
 * boot loader gave) list each CPU's local APIC ID in the MADT, and where
 * the I/O APIC is. With no usable table the kernel runs on the boot CPU
 * alone and says why. `nosmp` and `maxcpus=N` limit how many run; the
 * others get an INIT, which parks them (under OVMF they would otherwise
 * spin in the firmware, a host core each).
 *
 * ---- Starting one
 *
 * A CPU other than the boot CPU (an AP) is started with INIT, then a
 * start-up IPI (twice if the first does not take), and begins in real
 * mode at a page below 1 MiB: trampoline.asm, copied to a usable page of
 * the firmware's map that nothing else uses (the low 1 MiB is never
 * handed out). The kernel's page tables map that page at its own address
 * while CPUs start, and stop mapping it once all have. Each AP gets its
 * own stack and double-fault stack from kpages, its own GDT and TSS, the
 * shared IDT, and its GS base pointed at its struct cpu (percpu.h), then
 * turns on its local APIC and timer, says it is online and waits for
 * interrupts with hlt. The boot CPU waits for that, one AP at a time, for
 * at most AP_ANSWER_MS (a vCPU under TCG may not run for a while); one
 * that does not answer is named, parked with INIT and left out.
 *
 * The bottom of each AP's stack holds a canary that every timer tick
 * checks: an overflow is reported as one, not as the corruption of
 * whatever lay below.
 */
#include "acpi.h"
#include "apic.h"
#include "arch.h"
#include "arena.h"
#include "bootinfo.h"
#include "cmdline.h"
#include "cpu.h"
#include "kstring.h"
#include "page.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "printk.h"
#include "serial.h"
#include "spinlock.h"
#include "trap.h"

#define AP_STACK_SIZE (16 * 1024)
#define DOUBLE_FAULT_STACK_SIZE (2 * PGSIZE)
#define AP_ANSWER_MS 5000
#define STACK_CANARY 0x5ca1ab1e0ddba11ull
#define ISA_IRQ_COM1 4
#define LOW_MEMORY_END 0xa0000 /* where the VGA hole starts */

struct cpu cpus[NR_CPUS];
int nr_cpus_online = 1;

static uint8_t bsp_double_fault_stack[DOUBLE_FAULT_STACK_SIZE] __aligned(16);
extern uint8_t boot_stack[]; /* boot.asm */
extern uint8_t boot_stack_top[];

/* trampoline.asm's code and parameter block (at offset 8). */
extern const uint8_t trampoline_start[], trampoline_end[], trampoline_long[];

struct trampoline_params {
	uint16_t gdt_limit;
	uint32_t gdt_base;
	uint16_t reserved0;
	uint32_t long_entry;
	uint16_t long_cs;
	uint16_t reserved1;
	uint32_t cr3;
	uint32_t efer;
	uint64_t stack;
	uint64_t cpu;
	uint64_t entry;
	uint64_t gdt[3];
} __attribute__((packed));

#define TRAMPOLINE_PARAMS_OFFSET 8
static_assert(sizeof(struct trampoline_params) == 80 - 8,
	      "trampoline.asm's P_* offsets");

#define MSR_EFER 0xc0000080

void percpu_load(struct cpu *c, int id)
{
	c->self = c;
	c->id = id;
	c->slot = (unsigned int)id + 1;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
}

/* ---- the stack canary */

static void stack_canary_set(struct cpu *c)
{
	*(volatile uint64_t *)c->stack_base = STACK_CANARY;
}

/* ---- the boot CPU, first thing */

void smp_boot_cpu_early(void)
{
	struct cpu *c = &cpus[0];

	percpu_load(c, 0);
	c->stack_base = boot_stack;
	c->stack_top = boot_stack_top;
	c->double_fault_stack =
		bsp_double_fault_stack + sizeof(bsp_double_fault_stack);
	stack_canary_set(c);
	gdt_init(c);
	idt_init();
}

void smp_timer_tick(struct cpu *c)
{
	void (*hook)(void *) = c->tick_hook;

	if (*(volatile uint64_t *)c->stack_base != STACK_CANARY)
		panic("CPU %d: stack overflow: the canary at the bottom of its stack [%p, %p) was overwritten",
		      c->id, c->stack_base, c->stack_top);
	if (hook)
		hook(c->tick_arg);
}

bool arch_timer_hook(void (*fn)(void *arg), void *arg)
{
	struct cpu *c = this_cpu();
	unsigned long flags = arch_irq_save();

	c->tick_arg = arg;
	c->tick_hook = fn;
	arch_irq_restore(flags);
	return apic_timer_per_ms() != 0;
}

uint64_t arch_timer_ticks(void)
{
	return __atomic_load_n(&this_cpu()->ticks, __ATOMIC_RELAXED);
}

/* ---- arch_cpu_call */

/*
 * One request at a time: the caller takes call.lock, publishes fn and
 * arg, bumps call.seq and sends each other CPU a VECTOR_CALL interrupt,
 * which only wakes it from hlt: its idle loop sees the new seq, runs
 * fn(arg) as ordinary code with interrupts on, and counts itself done.
 */
static struct {
	struct spinlock lock;
	void (*fn)(void *arg);
	void *arg;
	uint64_t seq;
	int pending;
} call = { .lock = SPINLOCK_INIT };

void smp_call_interrupt(void)
{
	/* the wake-up is all: the idle loop does the work */
}

bool arch_cpu_info(int cpu, struct arch_cpu_info *info)
{
	const struct cpu *c = &cpus[cpu];

	if (cpu < 0 || cpu >= arch_cpus_online())
		return false;
	info->hw_id = c->apic_id;
	info->ticks = __atomic_load_n(&c->ticks, __ATOMIC_RELAXED);
	info->interrupts = __atomic_load_n(&c->interrupts, __ATOMIC_RELAXED);
	info->nmis = __atomic_load_n(&c->nmis, __ATOMIC_RELAXED);
	return true;
}

int arch_cpus_online(void)
{
	return __atomic_load_n(&nr_cpus_online, __ATOMIC_ACQUIRE);
}

void arch_cpu_call(void (*fn)(void *arg), void *arg)
{
	int n = arch_cpus_online(), me = arch_cpu_id();

	spin_lock(&call.lock);
	call.fn = fn;
	call.arg = arg;
	__atomic_store_n(&call.pending, n - 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&call.seq, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < n; i++)
		if (i != me)
			lapic_send(cpus[i].apic_id, VECTOR_CALL);
	fn(arg);
	while (__atomic_load_n(&call.pending, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
	spin_unlock(&call.lock);
}

/*
 * An AP's life once online: run each new request, else halt until an
 * interrupt. The test of seq runs with interrupts off and "sti; hlt"
 * enables them and halts in one go, so a request whose interrupt comes
 * between the test and the hlt still wakes it.
 */
static __noreturn void ap_idle(struct cpu *c)
{
	for (;;) {
		uint64_t seq;

		cli();
		seq = __atomic_load_n(&call.seq, __ATOMIC_ACQUIRE);
		if (seq == c->calls_done) {
			__asm__ volatile("sti; hlt" ::: "memory");
			continue;
		}
		sti();
		c->calls_done = seq;
		call.fn(call.arg);
		__atomic_sub_fetch(&call.pending, 1, __ATOMIC_RELEASE);
	}
}

/* ---- the barrier and the panic stop: NMIs */

/*
 * Set by the CPU that panics, before it sends NMIs: every other CPU that
 * takes one then stops where it is, so the report is the only output and
 * the exit status the only one.
 */
static int panic_stopping;

void smp_nmi(struct arch_regs *regs)
{
	struct cpu *c = this_cpu();
	uint64_t asked;

	(void)regs;
	c->nmis++;
	c->in_interrupt++;
	if (__atomic_load_n(&panic_stopping, __ATOMIC_ACQUIRE))
		halt_forever();
	/*
	 * The NMI's entry and iretq serialise; the fence orders this CPU's
	 * earlier stores before the answer, and its later loads after it.
	 */
	asked = __atomic_load_n(&c->barrier_requests, __ATOMIC_ACQUIRE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (asked != c->barrier_answered)
		__atomic_store_n(&c->barrier_answered, asked, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	c->in_interrupt--;
}

static void send_nmi(struct cpu *c)
{
	unsigned long flags = arch_irq_save();

	lapic_send(c->apic_id, LAPIC_DELIVER_NMI);
	arch_irq_restore(flags);
}

/*
 * arch.h's membarrier. Every other online CPU gets a request (a count of
 * its own, so that two CPUs asking at once each get their answer even
 * when their NMIs arrive as one) and an NMI; each answers in its NMI
 * handler, which it takes even while it spins with interrupts off (on a
 * lock this CPU holds, say), so the wait always ends. An NMI can land
 * between any two instructions, like Linux's membarrier on the host: the
 * magazine layer's protocol is built for that (kern/src/slab.c).
 */
void arch_cpu_barrier(void)
{
	int me = arch_cpu_id(),
	    n = __atomic_load_n(&nr_cpus_online, __ATOMIC_ACQUIRE);
	uint64_t want[NR_CPUS];

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (n == 1)
		return;
	for (int i = 0; i < n; i++) {
		if (i == me)
			continue;
		want[i] = __atomic_add_fetch(&cpus[i].barrier_requests, 1,
					     __ATOMIC_SEQ_CST);
		send_nmi(&cpus[i]);
	}
	for (int i = 0; i < n; i++) {
		if (i == me)
			continue;
		while (__atomic_load_n(&cpus[i].barrier_answered,
				       __ATOMIC_ACQUIRE) < want[i])
			arch_cpu_relax();
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void arch_panic_others(void)
{
	int me = arch_cpu_id(),
	    n = __atomic_load_n(&nr_cpus_online, __ATOMIC_ACQUIRE);

	__atomic_store_n(&panic_stopping, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < n; i++)
		if (i != me)
			send_nmi(&cpus[i]);
}

/* ---- an AP, on itself */

/*
 * Fault injection (`smp_silent_cpu=N`): the AP that would be CPU N halts
 * before it answers, once, so the boot's handling of a silent CPU can be
 * tested.
 */
static int silent_cpu = -1;

__noreturn void ap_start64(struct cpu *c);

__noreturn void ap_start64(struct cpu *c)
{
	percpu_load(c, c->id);
	gdt_init(c);
	idt_init();
	if (c->id == __atomic_load_n(&silent_cpu, __ATOMIC_ACQUIRE))
		halt_forever();
	lapic_init_cpu();
	c->calls_done = __atomic_load_n(&call.seq, __ATOMIC_ACQUIRE);
	__atomic_store_n(&c->online, true, __ATOMIC_RELEASE);
	ap_idle(c);
}

/* ---- the boot CPU, starting the others */

/* A usable page below the VGA hole, clear of the multiboot2 block. */
static uint64_t trampoline_page(const struct boot_info *bi)
{
	uint64_t info_end = bi->info_base + bi->info_size;

	for (size_t i = 0; i < bi->nr_memmap; i++) {
		const struct memmap_entry *e = &bi->memmap[i];
		uint64_t end =
			MIN(e->base + e->length, (uint64_t)LOW_MEMORY_END);

		if (e->type != MEMMAP_USABLE)
			continue;
		for (uint64_t pa =
			     MAX(ALIGN_UP(e->base, PGSIZE), (uint64_t)PGSIZE);
		     pa + PGSIZE <= end; pa += PGSIZE) {
			if (pa + PGSIZE > bi->info_base && pa < info_end)
				continue;
			return pa;
		}
	}
	return 0;
}

static const void *acpi_map(uint64_t pa, size_t len, void *ctx)
{
	(void)ctx;
	return paging_map_phys(pa, len, PAGING_READ_ONLY);
}

static void ap_stacks_free(struct cpu *c)
{
	arena_free(kpages_arena, c->stack_base, AP_STACK_SIZE);
	arena_free(kpages_arena,
		   c->double_fault_stack - DOUBLE_FAULT_STACK_SIZE,
		   DOUBLE_FAULT_STACK_SIZE);
}

/* Stacks from kpages: the kernel stack with its canary, the #DF stack. */
static bool ap_stacks(struct cpu *c)
{
	uint8_t *stack = arena_alloc(kpages_arena, AP_STACK_SIZE, MEM_ATOMIC);
	uint8_t *df =
		arena_alloc(kpages_arena, DOUBLE_FAULT_STACK_SIZE, MEM_ATOMIC);

	if (!stack || !df) {
		if (stack)
			arena_free(kpages_arena, stack, AP_STACK_SIZE);
		if (df)
			arena_free(kpages_arena, df, DOUBLE_FAULT_STACK_SIZE);
		return false;
	}
	c->stack_base = stack;
	c->stack_top = stack + AP_STACK_SIZE;
	c->double_fault_stack = df + DOUBLE_FAULT_STACK_SIZE;
	stack_canary_set(c);
	return true;
}

static bool wait_online(struct cpu *c, uint64_t ms)
{
	uint64_t start = rdtsc(), wait = apic_tsc_per_ms() * ms;

	while (rdtsc() - start < wait) {
		if (__atomic_load_n(&c->online, __ATOMIC_ACQUIRE))
			return true;
		arch_cpu_relax();
	}
	return __atomic_load_n(&c->online, __ATOMIC_ACQUIRE);
}

/* INIT, then start-up IPIs (Intel SDM vol. 3A, 8.4.4.1), then wait. */
static bool start_ap(struct cpu *c, uint64_t page)
{
	struct trampoline_params *p =
		(void *)(uintptr_t)(page + TRAMPOLINE_PARAMS_OFFSET);

	p->stack = (uint64_t)c->stack_top - 8;
	p->cpu = (uint64_t)c;
	lapic_send_init(c->apic_id);
	apic_delay_us(10000);
	lapic_send_startup(c->apic_id, page);
	if (wait_online(c, 1))
		return true;
	lapic_send_startup(c->apic_id, page);
	return wait_online(c, AP_ANSWER_MS);
}

/* Copy the trampoline to page (mapped at its own address) and fill it. */
static void trampoline_fill(uint64_t page)
{
	uint8_t *t = (uint8_t *)(uintptr_t)page;
	struct trampoline_params *p = (void *)(t + TRAMPOLINE_PARAMS_OFFSET);
	uint64_t cr3 = read_cr3();

	if (cr3 >= (4ull << 30))
		panic("smp: the kernel's page tables start at 0x%llx, above 4 GiB, where a starting CPU cannot load them",
		      (unsigned long long)cr3);
	kmemcpy(t, trampoline_start,
		(size_t)(trampoline_end - trampoline_start));
	p->gdt[0] = 0;
	p->gdt[1] = 0x00209a0000000000; /* 64-bit code, ring 0 */
	p->gdt[2] = 0x0000920000000000; /* data */
	p->gdt_limit = sizeof(p->gdt) - 1;
	p->gdt_base =
		(uint32_t)(page + offsetof(struct trampoline_params, gdt) +
			   TRAMPOLINE_PARAMS_OFFSET);
	p->long_entry = (uint32_t)(page + (uint64_t)(trampoline_long -
						     trampoline_start));
	p->long_cs = GDT_CODE;
	p->cr3 = (uint32_t)cr3;
	p->efer = (uint32_t)rdmsr(MSR_EFER);
	p->entry = (uint64_t)ap_start64;
}

/* The serial line's interrupt, through the I/O APIC, to the boot CPU. */
static void route_serial(const struct acpi_info *info)
{
	uint32_t gsi = info->isa_gsi[ISA_IRQ_COM1];
	uint16_t flags = info->isa_flags[ISA_IRQ_COM1];
	const struct acpi_ioapic *io = NULL;

	for (size_t i = 0; i < info->nr_ioapics; i++)
		if (gsi >= info->ioapics[i].gsi_base)
			io = &info->ioapics[i];
	if (!io || !ioapic_init(io->pa, io->gsi_base) ||
	    !ioapic_route(gsi,
			  (flags & ACPI_POLARITY_MASK) == ACPI_POLARITY_LOW,
			  (flags & ACPI_TRIGGER_MASK) == ACPI_TRIGGER_LEVEL,
			  VECTOR_SERIAL, cpus[0].apic_id)) {
		printk("smp: no I/O APIC takes the serial line's interrupt (GSI %u); the console polls\n",
		       gsi);
		return;
	}
	serial_enable_interrupt();
}

static void silent_option(const char *cmdline)
{
	char v[24];
	uint64_t n = 0;
	const char *end = NULL;

	if (!cmdline_get(cmdline, "smp_silent_cpu", v, sizeof(v)))
		return;
	if (!kstrtou64(v, &end, &n) || *end || n < 1 || n >= NR_CPUS) {
		printk("smp_silent_cpu=%s: not a CPU number from 1 to %d; ignored\n",
		       v, NR_CPUS - 1);
		return;
	}
	silent_cpu = (int)n;
	printk("smp: fault injection: CPU %d will not answer\n", silent_cpu);
}

static void print_cpus(const struct acpi_info *info, size_t limit)
{
	printk("smp: %d CPU%s online (%s; the MADT, through the %s, lists %zu enabled, %zu not%s)\n",
	       nr_cpus_online, nr_cpus_online == 1 ? "" : "s", apic_mode(),
	       info->xsdt ? "XSDT" : "RSDT", info->nr_cpus,
	       info->nr_cpus_disabled,
	       limit < info->nr_cpus ? "; limited by the command line" : "");
	printk("  cpu  apic id  stack\n");
	for (int i = 0; i < nr_cpus_online; i++)
		printk("  %3d  %7u  %p\n", cpus[i].id, cpus[i].apic_id,
		       cpus[i].stack_top);
}

void arch_cpus_init(const struct boot_info *bi)
{
	static struct acpi_info info;
	char err[160], msg[160];
	size_t limit = acpi_cpu_limit(bi->cmdline, msg, sizeof(msg));
	uint64_t page;
	bool tables;

	if (msg[0])
		printk("%s\n", msg);
	tables = bi->rsdp_len && acpi_read(bi->rsdp, bi->rsdp_len, acpi_map,
					   NULL, &info, err, sizeof(err));
	if (!bi->rsdp_len)
		printk("smp: the boot loader gave no ACPI RSDP; one CPU\n");
	else if (!tables)
		printk("%s; one CPU\n", err);
	if (!apic_init(tables ? info.lapic_pa : 0))
		return;
	cpus[0].apic_id = lapic_id();
	cpus[0].online = true;
	if (tables)
		route_serial(&info);
	__asm__ volatile("sti" ::: "memory");
	if (!tables) {
		printk("smp: 1 CPU online (%s)\n", apic_mode());
		return;
	}
	silent_option(bi->cmdline);
	page = trampoline_page(bi);
	if (!page && info.nr_cpus > 1)
		printk("smp: no usable page below 0x%x to start CPUs from; one CPU\n",
		       LOW_MEMORY_END);
	if (page) {
		paging_map_identity(page);
		trampoline_fill(page);
	}
	for (size_t i = 0; i < info.nr_cpus; i++) {
		uint32_t id = info.cpus[i].apic_id;
		struct cpu *c = &cpus[nr_cpus_online];

		if (id == cpus[0].apic_id)
			continue;
		if (!page || (size_t)nr_cpus_online >= limit) {
			lapic_send_init(id); /* parked */
			continue;
		}
		c->id = nr_cpus_online;
		c->apic_id = id;
		if (!ap_stacks(c)) {
			printk("smp: no memory for CPU with APIC ID %u's stacks; left out\n",
			       id);
			lapic_send_init(id);
			continue;
		}
		if (!start_ap(c, page)) {
			printk("smp: the CPU with APIC ID %u did not answer in %d ms; left out\n",
			       id, AP_ANSWER_MS);
			lapic_send_init(id);
			apic_delay_us(
				10000); /* INIT done: its stacks are free */
			ap_stacks_free(c);
			__atomic_store_n(&silent_cpu, -1, __ATOMIC_RELEASE);
			continue;
		}
		nr_cpus_online++;
	}
	if (page)
		paging_unmap_identity(page);
	print_cpus(&info, limit);
}
