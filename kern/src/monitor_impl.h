/*
 * monitor_impl.h: what kern/src/monitor.c shares with the monitor's other
 * room, monitor_views.c. Not for the rest of the kernel (monitor.h is).
 */
#pragma once

#include "compiler.h"

struct arena;

/* One line "error: ..." on the console: bad input, the prompt comes back. */
void __printf(1, 2) monitor_error(const char *fmt, ...);

/* The arena called name, or NULL after an error line saying so. */
struct arena *monitor_find_arena(const char *name);

/*
 * monitor_views.c: the commands vmem, map, freelists, kmastat, reap, cpus
 * and meminfo.
 */
void monitor_cmd_vmem(char **argv);
void monitor_cmd_map(char **argv);
void monitor_cmd_freelists(char **argv);
void monitor_cmd_kmastat(char **argv);
void monitor_cmd_reap(char **argv);
void monitor_cmd_cpus(char **argv);
void monitor_cmd_meminfo(char **argv);
