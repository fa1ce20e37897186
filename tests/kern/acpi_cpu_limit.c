/*
 * acpi_cpu_limit.c: tests of how many CPUs the command line lets the
 * kernel run (acpi_cpu_limit: nosmp, maxcpus=), in suite acpi beside the
 * table reader's tests (acpi.c).
 */
#include "ktest.h"
#include "acpi.h"
#include "kstring.h"

/* The limit for cmdline, with its message in msg. */
static char msg[100];

static size_t limit(const char *cmdline)
{
	kmemset(msg, 'x', sizeof(msg));
	return acpi_cpu_limit(cmdline, msg, sizeof(msg));
}

KTEST(acpi, cpu_limit_good)
{
	KT_EXPECT_EQ(limit(""), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(msg, "");
	KT_EXPECT_EQ(limit("ktest=acpi.* nosmp"), 1);
	KT_EXPECT_STREQ(msg, "");
	KT_EXPECT_EQ(limit("maxcpus=1"), 1);
	KT_EXPECT_EQ(limit("mem=64M maxcpus=4 monitor"), 4);
	KT_EXPECT_EQ(limit("maxcpus=64"), 64);
	KT_EXPECT_STREQ(msg, "");
	KT_EXPECT_EQ(limit("maxcpus=0x10"), 16);
	/* a bare maxcpus (no value) is not the option */
	KT_EXPECT_EQ(limit("maxcpus"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(msg, "");
}

KTEST(acpi, cpu_limit_bad_values)
{
	KT_EXPECT_EQ(limit("maxcpus=65"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(
		msg,
		"maxcpus=65: more than the 64 CPUs the kernel keeps; ignored");
	KT_EXPECT_EQ(limit("maxcpus=0"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(msg, "maxcpus=0: less than 1 (the boot CPU); ignored");
	KT_EXPECT_EQ(limit("maxcpus=abc"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(msg, "maxcpus=abc: not a number; ignored");
	KT_EXPECT_EQ(limit("maxcpus=4x"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(msg, "maxcpus=4x: not a number; ignored");
	KT_EXPECT_EQ(limit("maxcpus="), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(msg, "maxcpus=: not a number; ignored");
	KT_EXPECT_EQ(limit("maxcpus=99999999999999999999999"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(
		msg, "maxcpus=99999999999999999999999: not a number; ignored");
	KT_EXPECT_EQ(limit("maxcpus=1234567890123456789012345678901234567890"),
		     ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(
		msg,
		"maxcpus=12345678901234567890123456789012...: not a number; ignored");
}

KTEST(acpi, cpu_limit_message_is_one_line)
{
	/* words end only at spaces and tabs: a newline is part of one */
	KT_EXPECT_EQ(limit("maxcpus=4\n5"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(msg, "maxcpus=4?5: not a number; ignored");
	KT_EXPECT_EQ(limit("maxcpus=\x01\x7f\xff"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(msg, "maxcpus=???: not a number; ignored");
}

KTEST(acpi, cpu_limit_nosmp_wins)
{
	KT_EXPECT_EQ(limit("maxcpus=4 nosmp"), 1);
	KT_EXPECT_STREQ(msg, "");
	KT_EXPECT_EQ(limit("nosmp maxcpus=64"), 1);
	/* a bad value is still reported */
	KT_EXPECT_EQ(limit("nosmp maxcpus=0"), 1);
	KT_EXPECT_STREQ(msg, "maxcpus=0: less than 1 (the boot CPU); ignored");
}

KTEST(acpi, cpu_limit_last_counts)
{
	KT_EXPECT_EQ(limit("maxcpus=2 maxcpus=8"), 8);
	KT_EXPECT_STREQ(msg, "");
	KT_EXPECT_EQ(limit("maxcpus=abc maxcpus=3"), 3);
	KT_EXPECT_STREQ(msg, "");
	/* the last one is bad: ignored, and the earlier one is not read */
	KT_EXPECT_EQ(limit("maxcpus=2 maxcpus=65"), ACPI_MAX_CPUS);
	KT_EXPECT_STREQ(
		msg,
		"maxcpus=65: more than the 64 CPUs the kernel keeps; ignored");
}
