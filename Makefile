# Makefile: build the kernel and its host test binary, boot it in QEMU,
# test everything, step through it with gdb. `make help` lists the targets.

BUILD := build
KVM ?= 0
# UEFI=1: make run and make debug boot through OVMF instead of SeaBIOS
UEFI ?= 0
# make test boots a subset of the boot matrix; MATRIX=full boots all of it
MATRIX ?= subset
GDB_PORT ?= 1234
MEM ?= 512M
# CPUs for make run and make debug (QEMU's -smp)
SMP ?= 1
PYTHON ?= python3

CC := gcc
LD := ld
NASM := nasm

# Where kern/ and lib/ find their headers; arch/<arch>/include comes after.
COMMON_INCLUDES := -Ikern/include -Ilib/include

WARNINGS := -Wall -Wextra -Werror

# The kernel: freestanding, no red zone (interrupts would clobber it),
# kernel code model (linked at -2 GiB), no SSE/x87 state in the kernel,
# frame pointers kept for backtraces and gdb.
KERNEL_OPT ?= -O2
# KERNEL_OPT other than -O2 (make debug KERNEL_OPT=-Og: locals not
# optimised out) builds a kernel of its own beside the usual one, in
# build/kernel-Og/ and build/kernel-Og.elf, so that the two never mix
KVARIANT := $(if $(filter -O2,$(KERNEL_OPT)),,$(KERNEL_OPT))
KBUILD := $(BUILD)/kernel$(KVARIANT)
KERNEL_CFLAGS := -std=gnu11 $(KERNEL_OPT) -g $(WARNINGS) -ffreestanding \
	-fno-pic -fno-pie -mno-red-zone -mcmodel=kernel -mgeneral-regs-only \
	-mno-mmx -mno-sse -mno-sse2 -nostdlib -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fno-tree-loop-distribute-patterns \
	-MMD -MP $(COMMON_INCLUDES) -Iarch/x86_64/include
KERNEL_LDFLAGS := -n -nostdlib -z max-page-size=0x1000 -T linker.ld \
	--no-warn-rwx-segments
NASMFLAGS := -f elf64 -g -F dwarf -MD

# The host builds of the same kern/ and lib/ sources: libkmem.a (release:
# -O2, no sanitizers, no debug or lock assertions (KMEM_RELEASE, assert.h);
# what users link and benchmarks measure), and beside it
# libkmem-asan.a and the test binary under AddressSanitizer and UBSan. The
# multiboot2 parser is plain C and is tested on the host too, hence
# arch/x86_64/include last (test binary only). KMEM_FAULT_HOOKS: the
# bugs tests plant in the magazine layer (slab_impl.h; test builds only).
HOST_COMMON_CFLAGS := -std=gnu11 -g $(WARNINGS) -MMD -MP $(COMMON_INCLUDES) \
	-Iarch/host/include -Iinclude
HOST_RELEASE_CFLAGS := -O2 -fno-tree-slp-vectorize -DKMEM_RELEASE \
	$(HOST_COMMON_CFLAGS)
HOST_CFLAGS := -O1 $(HOST_COMMON_CFLAGS) -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Iarch/x86_64/include -DKMEM_FAULT_HOOKS
HOST_LDFLAGS := -fsanitize=address,undefined -rdynamic -lpthread
# ThreadSanitizer build of the library, for the threaded host test
HOST_TSAN_CFLAGS := -O1 $(HOST_COMMON_CFLAGS) -fsanitize=thread

KERN_SRCS := $(wildcard kern/src/*.c)
LIB_SRCS := $(wildcard lib/*.c)
TEST_SRCS := $(wildcard tests/kern/*.c)
# kernel-only tests of the x86_64 machine layer
ARCH_TEST_SRCS := $(wildcard tests/x86_64/*.c)
ARCH_SRCS := $(wildcard arch/x86_64/*.c)
ARCH_ASM := $(wildcard arch/x86_64/*.asm) boot/boot.asm
# the serial monitor, in two rooms
MONITOR_SRCS := kern/src/monitor.c kern/src/monitor_views.c
# libkmem: everything but kmain, the test runner and the monitor
HOST_LIB_SRCS := $(filter-out kern/src/main.c kern/src/ktest.c \
		$(MONITOR_SRCS),$(KERN_SRCS)) \
	$(LIB_SRCS) arch/host/arch.c arch/host/cpu.c arch/host/kmem_host.c
# the test binary adds those, the tests, and the host's test-only code
HOST_TEST_SRCS := kern/src/main.c kern/src/ktest.c $(MONITOR_SRCS) \
	$(TEST_SRCS) \
	arch/host/main.c arch/host/ktest_host.c arch/x86_64/multiboot2.c

KOBJS := $(patsubst %.c,$(KBUILD)/%.o,$(KERN_SRCS) $(LIB_SRCS) \
		$(TEST_SRCS) $(ARCH_TEST_SRCS) $(ARCH_SRCS)) \
	$(patsubst %.asm,$(KBUILD)/%.o,$(ARCH_ASM))
HOST_LIB_OBJS := $(patsubst %.c,$(BUILD)/host/release/%.o,$(HOST_LIB_SRCS))
HOST_ASAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/host/asan/%.o,$(HOST_LIB_SRCS))
HOST_TEST_OBJS := $(patsubst %.c,$(BUILD)/host/asan/%.o,$(HOST_TEST_SRCS))
HOST_TSAN_LIB_OBJS := $(patsubst %.c,$(BUILD)/host/tsan/%.o,$(HOST_LIB_SRCS))
# include/kmem_host.h checked against the kernel's headers: compiled with
# the library, never linked (a prototype that drifted fails the build)
HOST_HEADER_CHECK := $(BUILD)/host/check/arch/host/kmem_host_check.o
HOBJS := $(HOST_LIB_OBJS) $(HOST_ASAN_LIB_OBJS) $(HOST_TEST_OBJS) \
	$(HOST_HEADER_CHECK) \
	$(HOST_TSAN_LIB_OBJS)
HOST_LIB := $(BUILD)/host/libkmem.a
HOST_ASAN_LIB := $(BUILD)/host/libkmem-asan.a
HOST_TSAN_LIB := $(BUILD)/host/libkmem-tsan.a
# programs over the library (tests/host/*.c), as a user would build them
HOST_PROGS := $(patsubst tests/host/%.c,$(BUILD)/host/progs/%,\
	$(wildcard tests/host/*.c)) $(BUILD)/host/progs/threads-tsan

KERNEL := $(BUILD)/kernel$(KVARIANT).elf
HOST_TEST := $(BUILD)/host/ktest
# make pictures' program (tools/pictures.c, over libkmem.a)
PICTURES := $(BUILD)/host/pictures


.PHONY: all kernel host deps run test test-host test-matrix debug gdb \
	stress stress-smp clean help compile_commands.json iso format
.DEFAULT_GOAL := all

all: $(KERNEL) $(HOST_TEST) $(HOST_LIB) $(HOST_PROGS) $(PICTURES)

kernel: $(KERNEL)
host: $(HOST_TEST)
host-lib: $(HOST_LIB)

# What a program needs to compile against libkmem (absolute paths).
host-cflags:
	@echo -I$(abspath include)

help:
	@echo "make             build the kernel ($(KERNEL)) and host tests ($(HOST_TEST))"
	@echo "make run         boot in QEMU, serial on this terminal: the tests, then"
	@echo "                 the kmem> monitor (exit or Ctrl-A X quits)"
	@echo "                 CMDLINE='ktest=printk.*' passes a kernel command line"
	@echo "                 KVM=1 uses KVM where /dev/kvm works; MEM=4G sets RAM;"
	@echo "                 UEFI=1 boots through OVMF (MEM=64M at least)"
	@echo "make test        install what is missing, build, run host and QEMU tests"
	@echo "                 MATRIX=full boots every configuration of test-matrix"
	@echo "make test-host   only the host tests (sanitizers)"
	@echo "make stress      the ThreadSanitizer threads program STRESS_RUNS (200)"
	@echo "make stress-smp  STRESS_BOOTS (20) boots of ktest=smp.* at -smp 4"
	@echo "                 times, STRESS_COPIES (2) at once"
	@echo "make test-matrix every test on 15 machines: BIOS and UEFI, 32M..64G,"
	@echo "                 1 and 4 CPUs, qemu64; prints a table"
	@echo "make host-lib    build/host/libkmem.a, the allocators as a library"
	@echo "make host-cflags the flags a program needs to use it"
	@echo "make fuzz-build  the libFuzzer targets of tests/fuzz (clang)"
	@echo "make fuzz        run each FUZZ_SECONDS (60) on its corpus"
	@echo "make pictures    SVG of an arena after a workload and of its"
	@echo "                 fragmentation, per fit policy, into docs/pictures"
	@echo "make labs        the graded labs of docs/labs, one per line"
	@echo "make lab-start LAB=x  branch lab/x with the lab's functions as stubs"
	@echo "make grade LAB=x the lab's tests, host and QEMU: grade: x P/T points"
	@echo "make fuzz-long   every target at once for FUZZ_HOURS (1), merged back"
	@echo "                 into tests/fuzz/corpus; FUZZ_RUNS=N stops each at N"
	@echo "make bench       time the arena workloads (ns and ops per second)"
	@echo "make bench-instr instructions per operation, under callgrind"
	@echo "make coverage    gcov of all the host runs: a table per file, the"
	@echo "                 allocators' figure, build/coverage/html/index.html"
	@echo "make iso         build the GRUB ISO for CMDLINE and print its path"
	@echo "make debug       boot QEMU stopped, gdb stub on port $(GDB_PORT)"
	@echo "make gdb         attach gdb to 'make debug', stop at kmain"
	@echo "make deps        install the Debian packages the build needs"
	@echo "make format      clang-format -i every tracked .c and .h (.clang-format)"
	@echo "make compile_commands.json   for editors (uses bear)"
	@echo "make clean       remove $(BUILD)/"

# ---- installing what the build needs (Debian)

DEB_PACKAGES := qemu-system-x86 grub-pc-bin grub-common xorriso mtools nasm \
	gdb python3 clang libclang-rt-14-dev ovmf grub-efi-amd64-bin valgrind \
	clang-format
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi

# ---- the style: clang-format, as the root .clang-format says, on every
# tracked .c and .h (every one found outside build/ when this is no git
# checkout); make test checks that it would change nothing.
CLANG_FORMAT ?= clang-format
format:
	@command -v $(CLANG_FORMAT) >/dev/null || { \
		echo "make format: $(CLANG_FORMAT) is missing: make deps installs it"; \
		exit 1; }
	@files=$$(git ls-files '*.c' '*.h' 2>/dev/null | \
		while read f; do [ -f "$$f" ] && echo "$$f"; done); \
	[ -n "$$files" ] || files=$$(find . -path ./build -prune -o \
		\( -name '*.c' -o -name '*.h' \) -type f -print); \
	echo "$(CLANG_FORMAT) -i: $$(echo "$$files" | wc -l) files"; \
	$(CLANG_FORMAT) -i $$files

# ---- the kernel

# Stamps: a file that changes only when its text does. Objects depend on
# their flags' stamp (new flags: rebuild everything); each link depends on
# its list of objects (a source file deleted or added: link again, so a
# deleted test does not linger in the binary).
# $(call stamp,TEXT) rewrites $@ only if TEXT differs from what it holds.
stamp = @mkdir -p $(@D); echo '$(strip $(1))' | cmp -s - $@ || \
	echo '$(strip $(1))' > $@

$(KBUILD)/flags: FORCE
	$(call stamp,$(KERNEL_CFLAGS) $(KERNEL_LDFLAGS))
$(BUILD)/host/flags: FORCE
	$(call stamp,$(HOST_CFLAGS) $(HOST_RELEASE_CFLAGS) $(HOST_TSAN_CFLAGS) \
		$(HOST_LDFLAGS))
$(KBUILD)/objects: FORCE
	$(call stamp,$(KOBJS))
$(BUILD)/host/objects: FORCE
	$(call stamp,$(HOST_LIB_SRCS) $(HOST_TEST_SRCS))
FORCE:

$(KBUILD)/%.o: %.c $(KBUILD)/flags
	@mkdir -p $(@D)
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(KBUILD)/%.o: %.asm $(KBUILD)/flags
	@mkdir -p $(@D)
	$(NASM) $(NASMFLAGS) $(@:.o=.d) $< -o $@

# Two links: the first with an empty symbol table, whose `nm` gives the
# table the second link includes (linker.ld puts it last, and mksyms.py
# --check proves no function moved).
$(KBUILD)/ksyms_empty.c: tools/mksyms.py
	@mkdir -p $(@D)
	$(PYTHON) tools/mksyms.py < /dev/null > $@
$(KBUILD)/kernel.pass1.elf: $(KOBJS) $(KBUILD)/ksyms_empty.o linker.ld \
		$(KBUILD)/objects
	$(LD) $(KERNEL_LDFLAGS) -o $@ $(KOBJS) $(KBUILD)/ksyms_empty.o
$(KBUILD)/ksyms.c: $(KBUILD)/kernel.pass1.elf tools/mksyms.py
	nm -n --defined-only $< | $(PYTHON) tools/mksyms.py > $@
$(KBUILD)/%.o: $(KBUILD)/%.c $(KBUILD)/flags
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@
$(KERNEL): $(KOBJS) $(KBUILD)/ksyms.o linker.ld $(KBUILD)/objects
	$(LD) $(KERNEL_LDFLAGS) -o $@ $(KOBJS) $(KBUILD)/ksyms.o
	$(PYTHON) tools/mksyms.py --check $(KBUILD)/kernel.pass1.elf $@

# ---- the host test binary

$(BUILD)/host/release/%.o: %.c $(BUILD)/host/flags
	@mkdir -p $(@D)
	$(CC) $(HOST_RELEASE_CFLAGS) -c $< -o $@

$(BUILD)/host/asan/%.o: %.c $(BUILD)/host/flags
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(HOST_HEADER_CHECK): arch/host/kmem_host_check.c $(BUILD)/host/flags
	@mkdir -p $(@D)
	$(CC) $(HOST_RELEASE_CFLAGS) -c $< -o $@

$(HOST_LIB): $(HOST_LIB_OBJS) $(HOST_HEADER_CHECK) $(BUILD)/host/objects
	rm -f $@
	ar rcs $@ $(HOST_LIB_OBJS)

$(HOST_ASAN_LIB): $(HOST_ASAN_LIB_OBJS) $(BUILD)/host/objects
	rm -f $@
	ar rcs $@ $(HOST_ASAN_LIB_OBJS)

$(BUILD)/host/tsan/%.o: %.c $(BUILD)/host/flags
	@mkdir -p $(@D)
	$(CC) $(HOST_TSAN_CFLAGS) -c $< -o $@

$(HOST_TSAN_LIB): $(HOST_TSAN_LIB_OBJS) $(BUILD)/host/objects
	rm -f $@
	ar rcs $@ $(HOST_TSAN_LIB_OBJS)

$(BUILD)/host/progs/%: tests/host/%.c $(HOST_LIB) include/kmem_host.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g $(WARNINGS) -I$(abspath include) $< $(HOST_LIB) \
		-lpthread -o $@

$(BUILD)/host/progs/threads-tsan: tests/host/threads.c $(HOST_TSAN_LIB)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O1 -g $(WARNINGS) -fsanitize=thread \
		-I$(abspath include) $< $(HOST_TSAN_LIB) -lpthread -o $@

$(HOST_TEST): $(HOST_TEST_OBJS) $(HOST_ASAN_LIB) $(BUILD)/host/objects
	$(CC) -o $@ $(HOST_TEST_OBJS) $(HOST_ASAN_LIB) $(HOST_LDFLAGS)

# ---- running

# make run offers the serial monitor unless CMDLINE says otherwise
run: CMDLINE ?= monitor
run: deps $(KERNEL)
	$(PYTHON) tests/qemu.py run --mem $(MEM) --smp $(SMP) \
		$(if $(filter 1,$(KVM)),--kvm) \
		$(if $(filter 1,$(UEFI)),--uefi) --cmdline='$(CMDLINE)'

debug: deps $(KERNEL)
	$(PYTHON) tests/qemu.py run --mem $(MEM) --smp $(SMP) \
		--kernel $(KERNEL) --gdb-port $(GDB_PORT) --stopped \
		$(if $(filter 1,$(UEFI)),--uefi) --cmdline='$(CMDLINE)'

iso: deps $(KERNEL)
	@$(PYTHON) tests/qemu.py iso --kernel $(KERNEL) --cmdline='$(CMDLINE)'

# make gdb first looks in /proc/net for a socket listening on GDB_PORT (a
# test connection would reach QEMU's gdb stub). When nothing listens (no
# make debug running), it says so at once, instead of gdb's 12-second
# time-out about hardware breakpoints.
gdb: $(KERNEL)
	@awk -v port=$$(printf ':%04X' $(GDB_PORT)) \
		'$$4 == "0A" && substr($$2, length($$2) - 4) == port { found = 1 } \
		END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null || { \
		echo "make gdb: nothing listens on port $(GDB_PORT): start 'make debug' in another terminal first"; \
		exit 1; }
	gdb -q $(KERNEL) -ex 'source tools/gdb/kmem.py' \
		-ex 'target remote :$(GDB_PORT)' -ex 'hbreak kmain' -ex 'continue'

test: deps all
	$(PYTHON) tests/run_tests.py $(if $(filter 1,$(KVM)),--kvm) --matrix $(MATRIX)

# Every test on every machine of the boot matrix (tests/matrix.py), a table.
test-matrix: deps $(KERNEL)
	$(PYTHON) tests/matrix.py $(if $(filter 1,$(KVM)),--kvm)

test-host: $(HOST_TEST) $(HOST_LIB) $(HOST_PROGS)
	$(PYTHON) tests/run_tests.py --host-only

# The ThreadSanitizer threads program STRESS_RUNS times, STRESS_COPIES at
# once (load changes the timing a race needs); ends "stress: N runs, ...".
STRESS_RUNS ?= 200
STRESS_COPIES ?= 2
stress: $(BUILD)/host/progs/threads-tsan
	$(PYTHON) tests/stress.py --runs $(STRESS_RUNS) --copies $(STRESS_COPIES)

# The smp suite booted STRESS_BOOTS times at -smp 4, two boots at once;
# ends "stress-smp: N boots, F failed".
STRESS_BOOTS ?= 20
stress-smp: deps $(KERNEL)
	$(PYTHON) tests/smp_test.py --stress $(STRESS_BOOTS)

compile_commands.json:
	@command -v bear >/dev/null || { echo "bear is missing: apt-get install bear"; exit 1; }
	$(MAKE) clean
	bear --output $@ -- $(MAKE) all

clean:
	rm -rf $(BUILD)

-include $(KOBJS:.o=.d) $(HOBJS:.o=.d)

# ---- fuzzing (libFuzzer, clang, ASan + UBSan): tests/fuzz/fuzz_<target>.c

# The library sources again, compiled by clang with the fuzzer's coverage
# instrumentation (gcc has no libFuzzer), beside the multiboot2 parser.
FUZZ_CC := clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -O1 -g $(WARNINGS) -std=gnu11 -MMD -MP $(COMMON_INCLUDES) \
	-Iarch/host/include -Iinclude -Iarch/x86_64/include \
	-fno-omit-frame-pointer $(FUZZ_SANITIZE)
FUZZ_LIB_SRCS := $(HOST_LIB_SRCS) arch/x86_64/multiboot2.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_BINS := $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

$(BUILD)/fuzz/flags: FORCE
	$(call stamp,$(FUZZ_CC) $(FUZZ_CFLAGS) no-trace-cmp: $(FUZZ_NO_CMP))

# What the fuzzer runs but does not steer by: tests/fuzz/coverage-ignore.
FUZZ_IGNORE := tests/fuzz/coverage-ignore

# The allocators' objects keep edge coverage but not comparison tracing:
# their comparisons are of sizes and addresses the input reaches only
# through the targets' own decoding, and the callbacks in their loops
# (fits, slab scans) took a third of fuzz_slab's time. Measured side by
# side, 90 s from the committed corpus: the same edges reached, at 2x
# the executions (slab) and 1.1x (arena). The parsers (memmap, cmdline,
# acpi, the monitor) keep it: their compares are against magic values.
FUZZ_NO_CMP := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(wildcard \
	kern/src/arena*.c kern/src/slab*.c kern/src/kmalloc*.c))
$(FUZZ_NO_CMP): FUZZ_COV_EXTRA := -fno-sanitize-coverage=trace-cmp

$(BUILD)/fuzz/obj/%.o: %.c $(BUILD)/fuzz/flags $(FUZZ_IGNORE)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_COV_EXTRA) \
		-fsanitize-coverage-ignorelist=$(FUZZ_IGNORE) -c $< -o $@

$(FUZZ_BINS): $(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SANITIZE) -rdynamic -o $@ $^ \
		-lpthread

# The monitor's target runs the monitor and, for its `test`, the runner.
FUZZ_MONITOR_SRCS := $(MONITOR_SRCS) kern/src/ktest.c
$(BUILD)/fuzz/monitor: $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_MONITOR_SRCS))

# Each target for FUZZ_SECONDS on its committed corpus; what it finds new
# goes to a scratch directory under build/ (merge it by hand, see README).
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/new/$$t $(BUILD)/fuzz/artifacts/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/artifacts/$$t/ \
			$(BUILD)/fuzz/new/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# Every target at once for FUZZ_HOURS (1), each on a corpus of its own under
# build/fuzz/long; FUZZ_RUNS stops a target after that many executions.
# What they find is merged back into tests/fuzz/corpus (-merge=1: only
# inputs with new coverage). One line per target at the end.
FUZZ_HOURS ?= 1
FUZZ_RUNS ?= 0

# ---- labs (docs/labs, tools/labs.py): make labs, lab-start, grade

.PHONY: labs lab-start grade
labs:
	@$(PYTHON) tools/labs.py list
lab-start:
	@$(PYTHON) tools/labs.py start '$(LAB)'
grade: deps
	@$(PYTHON) tools/labs.py grade '$(LAB)'

.PHONY: fuzz-long
fuzz-long: fuzz-build
	python3 tests/fuzz_long.py --hours $(FUZZ_HOURS) --runs $(FUZZ_RUNS) $(BUILD)

-include $(patsubst %.c,$(BUILD)/fuzz/obj/%.d,$(FUZZ_MONITOR_SRCS))
-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_BINS:$(BUILD)/fuzz/%=$(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.d)

# ---- benchmarks (bench/bench.c, over the release libkmem.a)

BENCH := $(BUILD)/bench/bench
BENCH_WORKLOADS := page_pair random_instant random_best random_next xalloc_2m \
	import window_import cache_pair malloc_pair kmalloc_pair kmalloc_16 \
	malloc_16 kmalloc_100 malloc_100 kmalloc_1000 malloc_1000 kmalloc_5000 \
	malloc_5000 cache_lifo_64 malloc_lifo_64 cache_random_64 \
	malloc_random_64 cache_lifo_256 malloc_lifo_256 cache_random_256 \
	malloc_random_256
BENCH_INSTR_COUNT := 100000

$(BENCH): bench/bench.c $(HOST_LIB) include/kmem_host.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g $(WARNINGS) -I$(abspath include) $< $(HOST_LIB) \
		-lpthread -o $@

# ---- pictures (tools/pictures.c over the release libkmem.a): SVG of an
# arena after a workload and of its fragmentation, for each fit policy;
# docs/pictures holds the ones the tour shows, and make test regenerates
# them under build/pictures and compares


$(PICTURES): tools/pictures.c $(HOST_LIB) include/kmem_host.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g $(WARNINGS) -I$(abspath include) $< $(HOST_LIB) \
		-lpthread -o $@

.PHONY: pictures
pictures: $(PICTURES)
	@mkdir -p $(BUILD)/pictures docs/pictures
	$(PICTURES) $(BUILD)/pictures
	cp $(BUILD)/pictures/*.svg docs/pictures/

.PHONY: bench bench-instr
bench: $(BENCH)
	$(BENCH)

# Instructions per operation: callgrind counts only the timed loop.
bench-instr: $(BENCH)
	@command -v valgrind >/dev/null || { echo "bench-instr needs valgrind (apt-get install valgrind)"; exit 1; }
	@printf '%-16s %14s\n' workload instr/op
	@for w in $(BENCH_WORKLOADS); do \
		out=$(BUILD)/bench/callgrind.$$w; \
		valgrind --tool=callgrind --callgrind-out-file=$$out \
			--collect-atstart=no --toggle-collect='bench_loop_*' \
			$(BENCH) --instr $$w $(BENCH_INSTR_COUNT) >/dev/null 2>&1 || \
			{ echo "$$w: valgrind failed"; exit 1; }; \
		total=$$(sed -n 's/^summary: //p' $$out); \
		echo "$$w $$total" | awk '{ printf "%-16s %14.1f\n", $$1, $$2 / $(BENCH_INSTR_COUNT) }'; \
	done

# ---- coverage (gcc's gcov, reported by gcovr): make coverage

# The host side built once more with gcc --coverage at -O0, no sanitizers,
# under build/coverage/ (its own objects), and everything the host can run
# run there into one set of counters (tests/coverage.py): the test binary
# with every test (the panic tests in their children) and the debug modes,
# the monitor fed a script on stdin, the library's programs (threads with
# several workers, a misuse that aborts), and the fuzz corpora replayed
# without libFuzzer (tests/fuzz/replay_main.c). It prints a table per file
# of kern/ and lib/, writes build/coverage/html/index.html, and ends with
# the allocators' figure less the lines tests/coverage-exempt names.
# KMEM_COVERAGE: a panic writes the counters before it aborts (arch/host).
DEB_PACKAGES += gcovr
COV := $(BUILD)/coverage
COV_CFLAGS := -std=gnu11 -O0 -g $(WARNINGS) -MMD -MP $(COMMON_INCLUDES) \
	-Iarch/host/include -Iinclude -Iarch/x86_64/include \
	--coverage -fprofile-update=atomic -DKMEM_COVERAGE -DKMEM_FAULT_HOOKS
# tests/host/*.c see only include/, as a program over libkmem.a does
COV_PROG_CFLAGS := -std=gnu11 -O0 -g $(WARNINGS) -MMD -MP -Iinclude --coverage
COV_LDFLAGS := --coverage -rdynamic -lpthread
COV_LIB_OBJS := $(patsubst %.c,$(COV)/obj/%.o,$(HOST_LIB_SRCS))
COV_TEST_OBJS := $(patsubst %.c,$(COV)/obj/%.o,$(HOST_TEST_SRCS))
COV_HOST_PROGS := $(patsubst tests/host/%.c,$(COV)/%,$(wildcard tests/host/*.c))
COV_FUZZ := $(addprefix $(COV)/fuzz_,$(FUZZ_TARGETS))
COV_OBJS := $(sort $(COV_LIB_OBJS) $(COV_TEST_OBJS) \
	$(COV)/obj/arch/x86_64/multiboot2.o $(COV)/obj/tests/fuzz/replay_main.o \
	$(patsubst %,$(COV)/obj/tests/fuzz/fuzz_%.o,$(FUZZ_TARGETS)))
COV_PROGS := $(COV)/ktest $(COV_HOST_PROGS) $(COV_FUZZ)

.PHONY: coverage coverage-build
coverage: deps coverage-build
	$(PYTHON) tests/coverage.py --build $(COV)
coverage-build: $(COV_PROGS)

$(COV)/flags: FORCE
	$(call stamp,$(COV_CFLAGS) $(COV_PROG_CFLAGS) $(COV_LDFLAGS))
$(COV)/objects: FORCE
	$(call stamp,$(COV_OBJS) $(COV_HOST_PROGS))

$(COV)/obj/%.o: %.c $(COV)/flags
	@mkdir -p $(@D)
	$(CC) $(COV_CFLAGS) -c $< -o $@

$(COV)/obj/tests/host/%.o: tests/host/%.c $(COV)/flags
	@mkdir -p $(@D)
	$(CC) $(COV_PROG_CFLAGS) -c $< -o $@

$(COV)/ktest: $(COV_TEST_OBJS) $(COV_LIB_OBJS) $(COV)/objects
	$(CC) -o $@ $(COV_TEST_OBJS) $(COV_LIB_OBJS) $(COV_LDFLAGS)

$(COV_HOST_PROGS): $(COV)/%: $(COV)/obj/tests/host/%.o $(COV_LIB_OBJS) \
		$(COV)/objects
	$(CC) -o $@ $< $(COV_LIB_OBJS) $(COV_LDFLAGS)

$(COV_FUZZ): $(COV)/fuzz_%: $(COV)/obj/tests/fuzz/fuzz_%.o \
		$(COV)/obj/tests/fuzz/replay_main.o \
		$(COV)/obj/arch/x86_64/multiboot2.o $(COV_LIB_OBJS) $(COV)/objects
	$(CC) -o $@ $(filter %.o,$^) $(COV_LDFLAGS)

$(COV)/fuzz_monitor: $(patsubst %.c,$(COV)/obj/%.o,$(FUZZ_MONITOR_SRCS))

-include $(COV_OBJS:.o=.d) $(COV_HOST_PROGS:$(COV)/%=$(COV)/obj/tests/host/%.d)
