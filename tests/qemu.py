#!/usr/bin/env python3
"""qemu.py: build a GRUB ISO for a kernel command line and boot it in QEMU.

QEMU's -kernel loads only multiboot (v1) kernels, so a multiboot2 kernel
boots from a GRUB ISO whose grub.cfg carries the command line. One ISO is
made per command line and cached under build/iso/ until the kernel or the
grub.cfg template changes.

    qemu.py run [--kvm] [--uefi] [--mem 512M] [--smp N] [--gdb-port N --stopped]
                --cmdline=CMDLINE
        boot with the serial console on this terminal (Ctrl-A X quits);
        --uefi boots through OVMF instead of SeaBIOS (needs -m 64M or more)
    qemu.py iso --cmdline=CMDLINE
        print the path of the ISO for CMDLINE

The test harness (run_tests.py) imports boot() from here.
"""
import argparse
import hashlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
KERNEL = os.path.join(BUILD, "kernel.elf")
GRUB_TEMPLATE = os.path.join(ROOT, "boot", "grub.cfg.in")
# grub-mkrescue puts a boot image in the ISO for each GRUB platform
# installed: i386-pc (grub-pc-bin) for BIOS, x86_64-efi (grub-efi-amd64-bin)
# for UEFI. With both, one hybrid ISO boots under SeaBIOS and OVMF alike.
GRUB_LIB = "/usr/lib/grub"
GRUB_PLATFORMS = ("i386-pc", "x86_64-efi")
# UEFI firmware (Debian package ovmf): the code is read-only and shared,
# the variable store is written to, so every boot gets a fresh copy.
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
UEFI_MIN_MIB = 64      # OVMF does not start with less

# QEMU exit statuses: isa-debug-exit makes QEMU exit with (v << 1) | 1 for
# a value v the kernel writes to port 0xf4 (arch/x86_64/include/qemu.h).
EXIT_PASSED = 33
EXIT_FAILED = 35
EXIT_PANIC = 37
EXIT_BOOT_CHECK = 39
EXIT_NONE_RAN = 41
# The host test binary (build/host/ktest) exits 0 (passed), 1 (failed), or
# HOST_EXIT_NONE_RAN when its ktest= matches no test.
HOST_EXIT_NONE_RAN = 2
EXIT_MEANING = {
    0: "QEMU exited with 0: a triple fault or reset (the kernel never asked to exit)",
    EXIT_PASSED: "the kernel exited: all tests passed",
    EXIT_FAILED: "the kernel exited: some test failed",
    EXIT_PANIC: "the kernel panicked",
    EXIT_BOOT_CHECK: "the boot code stopped: not multiboot2, or no long mode",
    EXIT_NONE_RAN: "the kernel exited: its ktest= matched no test, nothing ran",
}

_iso_lock = threading.Lock()


def grub_quote(word):
    """Quote one word for GRUB's shell-like grub.cfg syntax."""
    return "'" + word.replace("'", "'\\''") + "'"


def grub_cfg(cmdline):
    with open(GRUB_TEMPLATE) as f:
        template = f.read()
    words = " ".join(grub_quote(w) for w in cmdline.split())
    return template.replace("@CMDLINE@", words)


def grub_platforms():
    """The GRUB platforms grub-mkrescue would put in an ISO made now."""
    return [p for p in GRUB_PLATFORMS
            if os.path.isdir(os.path.join(GRUB_LIB, p))]


def iso_for(cmdline, kernel=KERNEL):
    """The path of a bootable ISO for cmdline, built if missing or stale.
    The platforms installed are part of the cache key: an ISO made before
    grub-efi-amd64-bin was installed has no UEFI boot image."""
    cfg = grub_cfg(cmdline)
    # the kernel is part of the key: a KERNEL_OPT=-Og one has ISOs of its own
    key = hashlib.sha1((cfg + " ".join(grub_platforms()) +
                        ("" if kernel == KERNEL else kernel)).encode()) \
        .hexdigest()[:16]
    iso = os.path.join(BUILD, "iso", key + ".iso")
    newest_input = max(os.path.getmtime(kernel), os.path.getmtime(GRUB_TEMPLATE))
    with _iso_lock:
        if os.path.exists(iso) and os.path.getmtime(iso) >= newest_input:
            return iso
    os.makedirs(os.path.dirname(iso), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(iso)) as tree:
        os.makedirs(os.path.join(tree, "boot", "grub"))
        with open(os.path.join(tree, "boot", "grub", "grub.cfg"), "w") as f:
            f.write(cfg)
        shutil.copy(kernel, os.path.join(tree, "boot", "kernel.elf"))
        tmp = iso + ".%d.tmp" % threading.get_ident()
        r = subprocess.run(["grub-mkrescue", "-o", tmp, tree],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("grub-mkrescue failed:\n" + r.stderr)
        os.replace(tmp, iso)
    return iso


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kvm_usable():
    return os.access("/dev/kvm", os.R_OK | os.W_OK)


def memory_args(mem):
    """-m mem, lazily backed when large, so the host need not have it."""
    if mem_mib(mem) <= 4096:
        return ["-m", mem]
    return ["-m", mem, "-object",
            "memory-backend-ram,id=ram0,size=%s,reserve=off" % mem,
            "-machine", "memory-backend=ram0"]


def mem_mib(mem):
    """'32M' or '4G' in MiB."""
    return int(mem[:-1]) * {"M": 1, "G": 1024}[mem[-1].upper()]


def uefi_problem(mem):
    """Why a UEFI boot with mem cannot work here, or None."""
    missing = [f for f in (OVMF_CODE, OVMF_VARS) if not os.path.exists(f)]
    if missing:
        return "no %s: install ovmf (make deps)" % " ".join(missing)
    if "x86_64-efi" not in grub_platforms():
        return ("no %s/x86_64-efi: install grub-efi-amd64-bin (make deps), "
                "or the ISO has no UEFI boot image" % GRUB_LIB)
    if mem_mib(mem) < UEFI_MIN_MIB:
        return "OVMF needs -m %dM or more, not %s" % (UEFI_MIN_MIB, mem)
    return None


def uefi_args(vars_copy):
    """OVMF as two pflash drives: its code read-only, vars_copy writable
    (a private copy of OVMF_VARS made by the caller)."""
    return ["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
            "-drive", "if=pflash,format=raw,unit=1,file=" + vars_copy]


def qemu_command(iso, mem="512M", cpu="max", kvm=False, extra=(), smp=1,
                 uefi_vars=None):
    """The QEMU command line; uefi_vars (a private copy of OVMF_VARS)
    boots through OVMF instead of SeaBIOS."""
    if kvm and not kvm_usable():
        print("qemu.py: KVM asked for, but /dev/kvm is not usable here: using TCG",
              file=sys.stderr)
    # TCG runs each vCPU in a host thread of its own with thread=multi
    # (QEMU 7.2's default for x86 guests on x86 hosts; said anyway)
    accel = "kvm" if kvm and kvm_usable() else "tcg,thread=multi"
    firmware = uefi_args(uefi_vars) if uefi_vars else []
    return ["qemu-system-x86_64", "-machine", "pc", "-accel", accel,
            "-cpu", cpu, "-smp", str(smp)] + memory_args(mem) + firmware + [
            "-display", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", "file=%s,media=cdrom,readonly=on" % iso,
            "-boot", "d"] + list(extra)


class Boot:
    """What one boot gave: QEMU's status, the serial output, and why."""

    def __init__(self, status, output, seconds, timed_out):
        self.status = status
        self.output = output
        self.seconds = seconds
        self.timed_out = timed_out

    def meaning(self):
        if self.timed_out:
            return "timed out after %.0f s (hung, or waiting)" % self.seconds
        return EXIT_MEANING.get(self.status,
                                "QEMU exited with status %s" % self.status)


def boot(cmdline, timeout=60, mem="512M", cpu="max", kvm=False, extra=(),
         log=None, smp=1, uefi=False):
    """Boot the kernel with cmdline, serial captured; returns a Boot.
    uefi=True boots through OVMF (raises RuntimeError if it cannot)."""
    iso = iso_for(cmdline)
    with tempfile.TemporaryDirectory(prefix="kmem-boot-") as scratch:
        uefi_vars = None
        if uefi:
            problem = uefi_problem(mem)
            if problem:
                raise RuntimeError(problem)
            uefi_vars = os.path.join(scratch, "OVMF_VARS.fd")
            shutil.copy(OVMF_VARS, uefi_vars)
        cmd = qemu_command(iso, mem, cpu, kvm, extra, smp, uefi_vars) + [
            "-serial", "stdio", "-monitor", "none"]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            out, _ = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            timed_out = True
        seconds = time.monotonic() - start
    result = Boot(proc.returncode, out.decode("utf-8", "replace")
                  .replace("\r\n", "\n"), seconds, timed_out)
    if log:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            f.write("# %s\n# %s\n" % (" ".join(map(shlex.quote, cmd)),
                                      result.meaning()))
            f.write(result.output)
    return result


def run_interactive(args):
    iso = iso_for(args.cmdline, os.path.abspath(args.kernel))
    extra = ["-serial", "mon:stdio"]
    scratch = tempfile.TemporaryDirectory(prefix="kmem-run-")
    uefi_vars = None
    if args.uefi:
        problem = uefi_problem(args.mem)
        if problem:
            print("qemu.py: cannot boot UEFI: " + problem, file=sys.stderr)
            return 1
        uefi_vars = os.path.join(scratch.name, "OVMF_VARS.fd")
        shutil.copy(OVMF_VARS, uefi_vars)
    if args.gdb_port:
        extra += ["-gdb", "tcp::%d" % args.gdb_port]
    if args.stopped:
        extra += ["-S"]
        print("QEMU is stopped; in another terminal: make gdb"
              + (" GDB_PORT=%d" % args.gdb_port if args.gdb_port != 1234 else ""),
              file=sys.stderr)
    cmd = qemu_command(iso, args.mem, args.cpu, args.kvm, extra, args.smp,
                       uefi_vars)
    status = subprocess.call(cmd)
    scratch.cleanup()
    print("\n[%s]" % EXIT_MEANING.get(status, "QEMU exited with %d" % status),
          file=sys.stderr)
    return 0 if status in (EXIT_PASSED, 0) else 1


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["run", "iso"])
    p.add_argument("--kvm", action="store_true")
    p.add_argument("--mem", default="512M")
    p.add_argument("--cpu", default="max")
    p.add_argument("--smp", type=int, default=1)
    p.add_argument("--uefi", action="store_true", help="boot through OVMF")
    p.add_argument("--gdb-port", type=int, default=0)
    p.add_argument("--stopped", action="store_true")
    p.add_argument("--cmdline", default="", help="the kernel command line")
    p.add_argument("--kernel", default=KERNEL,
                   help="the kernel to boot (make's KERNEL: KERNEL_OPT=-Og "
                   "builds build/kernel-Og.elf)")
    args = p.parse_args()
    if args.action == "iso":
        print(iso_for(args.cmdline, os.path.abspath(args.kernel)))
        return 0
    return run_interactive(args)


if __name__ == "__main__":
    sys.exit(main())
