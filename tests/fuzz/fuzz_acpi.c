/*
 * fuzz_acpi.c: libFuzzer target for the ACPI table reader (acpi_read):
 * what the firmware wrote, read through the boot loader's RSDP copy.
 *
 * Input: one byte n, then the RSDP copy (n % (BOOTINFO_MAX_RSDP + 1)
 * bytes, fewer if the input ends), then an image of physical memory that
 * starts at IMAGE_BASE. The map callback maps only what lies inside the
 * image, and hands out each mapping as a fresh allocation of exactly the
 * bytes asked for, as is the RSDP copy: AddressSanitizer catches any read
 * beyond what the reader asked for, not just beyond the image.
 *
 * Checked: a header (36 bytes) is asked for before a whole table at the
 * same address; on success, 1..ACPI_MAX_CPUS CPUs, a nonzero local APIC
 * address, counts within their arrays (anything dropped only once they
 * are full), no error text; on failure, one line starting "acpi: " and
 * a zeroed result.
 *
 * The image is also read as a kernel command line (up to its first NUL,
 * at most CPU_LIMIT_LINE bytes: long lines are fuzz_cmdline's, and each
 * lookup reads the line from its start) by acpi_cpu_limit: the limit is
 * 1..ACPI_MAX_CPUS, 1 with nosmp, and its message empty or one line
 * "maxcpus=...: ...; ignored".
 */
#define FUZZ_TARGET "fuzz_acpi"
#include "fuzz.h"
#include <string.h>

#include "acpi.h"
#include "bootinfo.h"
#include "cmdline.h"

/* Where the image lies: below 4 GiB, so RSDT entries reach it too. */
#define IMAGE_BASE 0xe0000ull
/* The longest command line given to acpi_cpu_limit. */
#define CPU_LIMIT_LINE 256
/* The most mappings kept per input; beyond, the map refuses. */
#define MAX_MAPS 4096

static const uint8_t *image;
static size_t image_size;
static void *maps[MAX_MAPS];
static size_t nr_maps;
/* the previous call, for the header-before-table rule */
static uint64_t last_pa;
static size_t last_len;

static const void *image_map(uint64_t pa, size_t len, void *ctx)
{
	void *copy;

	if (ctx != &image)
		fail("map called with ctx %p", ctx);
	if (len < 36)
		fail("map of %zu bytes at 0x%lx, less than a header", len, pa);
	if (len > 36 && (last_pa != pa || last_len != 36))
		fail("map of a whole table at 0x%lx (%zu bytes) not right after its header",
		     pa, len);
	last_pa = pa;
	last_len = len;
	if (pa < IMAGE_BASE || pa - IMAGE_BASE > image_size ||
	    len > image_size - (pa - IMAGE_BASE) || nr_maps == MAX_MAPS)
		return NULL;
	copy = malloc(len);
	memcpy(copy, image + (pa - IMAGE_BASE), len);
	maps[nr_maps++] = copy;
	return copy;
}

static void check_success(const struct acpi_info *info, const char *err)
{
	if (err[0])
		fail("success with error text '%s'", err);
	if (!info->nr_cpus || info->nr_cpus > ACPI_MAX_CPUS)
		fail("success with %zu CPUs", info->nr_cpus);
	if (info->nr_cpus_dropped && info->nr_cpus != ACPI_MAX_CPUS)
		fail("%zu CPUs dropped with only %zu kept",
		     info->nr_cpus_dropped, info->nr_cpus);
	if (info->nr_cpus_online_capable > info->nr_cpus_disabled)
		fail("%zu online capable of %zu disabled",
		     info->nr_cpus_online_capable, info->nr_cpus_disabled);
	if (info->nr_ioapics > ACPI_MAX_IOAPICS)
		fail("%zu I/O APICs kept", info->nr_ioapics);
	if (info->nr_ioapics_dropped && info->nr_ioapics != ACPI_MAX_IOAPICS)
		fail("%zu I/O APICs dropped with only %zu kept",
		     info->nr_ioapics_dropped, info->nr_ioapics);
	if (!info->lapic_pa)
		fail("success with local APIC address 0");
	if (info->xsdt && info->rsdp_revision < 2)
		fail("XSDT read for RSDP revision %u", info->rsdp_revision);
}

static void check_failure(const struct acpi_info *info, const char *err,
			  size_t err_len)
{
	static const struct acpi_info zero;
	const char *end = memchr(err, 0, err_len);

	if (!end || end == err)
		fail("failure without a terminated error line");
	if (strncmp(err, "acpi: ", 6) != 0 || memchr(err, '\n', end - err))
		fail("error '%s' is not one line starting 'acpi: '", err);
	if (memcmp(info, &zero, sizeof(zero)) != 0)
		fail("failure ('%s') left the result filled in", err);
}

static void check_cpu_limit(void)
{
	char line[CPU_LIMIT_LINE + 1];
	size_t n = image_size < CPU_LIMIT_LINE ? image_size : CPU_LIMIT_LINE;
	char msg[100];
	size_t limit, len;

	memcpy(line, image, n);
	line[n] = 0;
	memset(msg, 'x', sizeof(msg));
	limit = acpi_cpu_limit(line, msg, sizeof(msg));
	if (!limit || limit > ACPI_MAX_CPUS)
		fail("cpu limit %zu", limit);
	if (cmdline_has(line, "nosmp") && limit != 1)
		fail("cpu limit %zu with nosmp", limit);
	if (!memchr(msg, 0, sizeof(msg)))
		fail("cpu limit message not terminated");
	len = strlen(msg);
	if (len &&
	    (strncmp(msg, "maxcpus=", 8) != 0 || memchr(msg, '\n', len) ||
	     (len < sizeof(msg) - 1 &&
	      strcmp(msg + len - 9, "; ignored") != 0)))
		fail("cpu limit message '%s'", msg);
	if (len && !cmdline_count(line, "maxcpus"))
		fail("cpu limit message '%s' without maxcpus=", msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct acpi_info info;
	char err[160];
	size_t rsdp_len;
	uint8_t *rsdp;
	bool ok;

	if (!size)
		return 0;
	rsdp_len = data[0] % (BOOTINFO_MAX_RSDP + 1);
	if (rsdp_len > size - 1)
		rsdp_len = size - 1;
	rsdp = malloc(rsdp_len ? rsdp_len : 1);
	memcpy(rsdp, data + 1, rsdp_len);
	image = data + 1 + rsdp_len;
	image_size = size - 1 - rsdp_len;
	nr_maps = 0;
	last_pa = 0;
	last_len = 0;
	memset(&info, 0xa5, sizeof(info));
	memset(err, 'x', sizeof(err));
	ok = acpi_read(rsdp, rsdp_len, image_map, &image, &info, err,
		       sizeof(err));
	if (ok)
		check_success(&info, err);
	else
		check_failure(&info, err, sizeof(err));
	while (nr_maps)
		free(maps[--nr_maps]);
	free(rsdp);
	check_cpu_limit();
	return 0;
}
