/* serial.h: the 16550 UART on COM1, the kernel's console. */
#pragma once

#include "compiler.h"

void serial_init(void);
void serial_write(const char *buf, size_t len);

/* Wait for a byte from the line and return it. */
int serial_getc(void);

/* Ask the UART for an interrupt when a byte comes (routed by smp.c). */
void serial_enable_interrupt(void);

/* The receive interrupt came (apic.c). */
void serial_interrupt(void);
