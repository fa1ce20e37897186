/*
 * monitor.h: the serial monitor, a `kmem> ` prompt on the console for
 * looking at and poking the allocators by hand (kern/src/monitor.c).
 */
#pragma once

#include "compiler.h"

/*
 * Read commands from the console until `exit` or the end of input, then
 * leave the machine with the status of the boot's tests (@boot_failed:
 * how many failed). Never returns.
 */
__noreturn void monitor_run(int boot_failed);

/*
 * Type @typed at the prompt and press Enter: each byte goes through the
 * line editor as if typed (Backspace, Delete and Ctrl-U edit; other
 * control bytes, \r and \n among them, are dropped), then the line runs.
 * Returns false, without leaving, for `exit`. For the host's fuzz target
 * (tests/fuzz/fuzz_monitor.c); the console's monitor_run does the same
 * for each line read.
 */
bool monitor_run_line(const char *typed);

/*
 * The longest time `bench MS` may run each count of CPUs, in milliseconds
 * (5000; the fuzz target makes it 1, so that typing `bench` costs little).
 */
extern unsigned int monitor_bench_max_ms;

/*
 * Free everything the monitor's alloc and kmalloc hold, and forget $: a
 * fresh monitor for the next input of the fuzz target.
 */
void monitor_release_all(void);
