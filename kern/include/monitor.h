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
