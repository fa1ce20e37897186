/* host.h: what the host's arch code offers the rest of the host build. */
#pragma once

#include "compiler.h"

/* Silence (true) or restore (false) the console on stdout; panics still
 * reach stderr. kmem_host_init keeps pmem_init's table quiet with it. */
void host_console_quiet(bool quiet);
