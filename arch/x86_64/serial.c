/*
 * serial.c: the console on COM1, a 16550 UART at 115200 baud, 8 data
 * bits, no parity, one stop bit. Polled both ways: output waits until the
 * transmit holding register is empty, then writes the byte; input waits
 * until the line status says a byte is ready, then reads it.
 */
#include "serial.h"
#include "cpu.h"

#define COM1 0x3f8
#define UART_DATA 0 /* with DLAB: divisor low byte */
#define UART_IER 1  /* with DLAB: divisor high byte */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
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
	outb(COM1 + UART_FCR, 0xc7); /* FIFOs on, cleared, 14 bytes */
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

int serial_getc(void)
{
	while (!(inb(COM1 + UART_LSR) & LSR_DATA_READY))
		__builtin_ia32_pause();
	return inb(COM1 + UART_DATA);
}
