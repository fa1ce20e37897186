/* page.h: page sizes of the machine (the arena quanta are built on them). */
#pragma once

#define PGSHIFT 12
#define PGSIZE (1ul << PGSHIFT)
#define PGSHIFT_2M 21
#define PGSIZE_2M (1ul << PGSHIFT_2M)
#define PGSHIFT_1G 30
#define PGSIZE_1G (1ul << PGSHIFT_1G)
