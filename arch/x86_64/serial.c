/*
 * serial.c: the console on COM1, a 16550 UART at 115200 baud, 8 data
 * bits, no parity, one stop bit. Output is polled: it waits until the
 * transmit holding register is empty, then writes the byte. Input reads a
 * byte once the line status says one is ready; until then it polls, or,
 * once the receive interrupt is routed (serial_enable_interrupt, smp.c),
 * halts the CPU until an interrupt comes, so a waiting console costs
 * the host next to nothing.
 */
#include "serial.h"
#include "arch.h"
#include "cpu.h"

#define COM1 0x3f8
#define UART_DATA 0 /* with DLAB: divisor low byte */
#define UART_IER 1  /* with DLAB: divisor high byte */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define IER_RX_READY 0x01
#define MCR_OUT2 0x08 /* on a PC: lets the UART's interrupt out */
#define UART_LSR 5
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20
#define UART_CLOCK 115200

void serial_init(void)
{
	unsigned divisor = UART_CLOCK / 115200;

	outb(COM1 + UART_IER, 0x00); /* no interrupts */
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DATA, divisor & 0xff);
	outb(COM1 + UART_IER, divisor >> 8);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR,
	     0x07); /* FIFOs on, cleared, interrupt at 1 byte */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void serial_putc(char c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THR_EMPTY))
		__builtin_ia32_pause();
	outb(COM1 + UART_DATA, (uint8_t)c);
}

void serial_write(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			serial_putc('\r');
		serial_putc(buf[i]);
	}
}

static bool interrupt_on;

void serial_enable_interrupt(void)
{
	outb(COM1 + UART_MCR, 0x03 | MCR_OUT2);
	outb(COM1 + UART_IER, IER_RX_READY);
	interrupt_on = true;
}

void serial_interrupt(void)
{
	/* nothing to do: the byte stays in the UART for serial_getc */
}

/*
 * With interrupts off, test the line; if nothing is there, "sti; hlt"
 * enables interrupts and halts in one go (sti takes effect after the next
 * instruction), so a byte that came after the test still wakes the CPU.
 * The UART keeps asking until the byte is read, and its interrupt is
 * edge-triggered: each new byte raises it again once the last was read.
 */
int serial_getc(void)
{
	for (;;) {
		unsigned long flags = arch_irq_save();
		bool ready = inb(COM1 + UART_LSR) & LSR_DATA_READY;

		if (!ready && interrupt_on && (flags & RFLAGS_IF))
			__asm__ volatile("sti; hlt; cli" ::: "memory");
		arch_irq_restore(flags);
		if (ready)
			return inb(COM1 + UART_DATA);
		if (!interrupt_on || !(flags & RFLAGS_IF))
			__builtin_ia32_pause();
	}
}
