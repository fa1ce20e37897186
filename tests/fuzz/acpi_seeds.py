#!/usr/bin/env python3
"""acpi_seeds.py: seed inputs for the acpi fuzz target (fuzz_acpi.c).

Writes well-formed inputs into the directory named: one byte (the RSDP
copy's length), the RSDP copy, then an image of physical memory at
IMAGE_BASE holding an RSDT or XSDT, other tables and a MADT, laid out as
SeaBIOS and OVMF do under QEMU, plus x2APIC, disabled, many-CPU and
override variants. The committed corpus (tests/fuzz/corpus/acpi) is these
and what a fuzz run found, minimised with -merge=1:

  python3 tests/fuzz/acpi_seeds.py build/fuzz/seeds/acpi
  build/fuzz/acpi -max_total_time=120 build/fuzz/new/acpi build/fuzz/seeds/acpi
  build/fuzz/acpi -merge=1 tests/fuzz/corpus/acpi build/fuzz/seeds/acpi build/fuzz/new/acpi
"""
import hashlib
import os
import struct
import sys

IMAGE_BASE = 0xE0000  # as fuzz_acpi.c
LAPIC_PA = 0xFEE00000
IOAPIC_PA = 0xFEC00000


def checksum_fix(b, at, n=None):
    """Set byte at so that the first n bytes of b sum to 0 (mod 256)."""
    b[at] = 0
    b[at] = (-sum(b[:n])) & 0xFF


def table(sig, body):
    """A system description table: 36-byte header (ACPI 6.5, 5.2.6), body."""
    t = bytearray(sig + struct.pack("<IBB", 36 + len(body), 1, 0) +
                  b"KTEST " + b"ACPITEST" + struct.pack("<III", 1, 0, 0))
    t += body
    checksum_fix(t, 9)
    return bytes(t)


def lapic(uid, apic_id, flags=1):
    return struct.pack("<BBBBI", 0, 8, uid, apic_id, flags)


def ioapic(apic_id, pa, gsi):
    return struct.pack("<BBBBII", 1, 12, apic_id, 0, pa, gsi)


def override(bus, irq, gsi, flags):
    return struct.pack("<BBBBIH", 2, 10, bus, irq, gsi, flags)


def lapic_address(pa):
    return struct.pack("<BBHQ", 5, 12, 0, pa)


def x2apic(apic_id, flags, uid):
    return struct.pack("<BBHIII", 9, 16, 0, apic_id, flags, uid)


NMI = struct.pack("<BBBHB", 4, 6, 0xFF, 0, 1)


def madt(entries, flags=1, lapic_pa=LAPIC_PA):
    return table(b"APIC", struct.pack("<II", lapic_pa, flags) +
                 b"".join(entries))


def qemu_madt(nr_cpus):
    """The MADT QEMU writes for its pc machine."""
    return madt([lapic(i, i) for i in range(nr_cpus)] +
                [ioapic(0, IOAPIC_PA, 0), override(0, 0, 2, 0)] +
                [override(0, irq, irq, 0xD) for irq in (5, 9, 10, 11)] +
                [NMI])


def rsdp(revision, rsdt, xsdt=0):
    r = bytearray(b"RSD PTR " + b"\0" + b"BOCHS " +
                  struct.pack("<BI", revision, rsdt))
    if revision >= 2:
        r += struct.pack("<IQB3x", 36, xsdt, 0)
    checksum_fix(r, 8, 20)
    if revision >= 2:
        checksum_fix(r, 32)
    return bytes(r)


def image(tables):
    """Lay tables out one after another, 16-byte aligned: bytes, addresses."""
    img, pas = bytearray(), []
    for t in tables:
        img += b"\0" * (-len(img) % 16)
        pas.append(IMAGE_BASE + len(img))
        img += t
    return img, pas


def layout(revision, the_madt, use_xsdt=True, others=(b"FACP", b"HPET")):
    """An input: other tables and the MADT, then the root table(s)."""
    tables = [table(s, b"") for s in others] + [the_madt]
    img, pas = image(tables)
    rsdt_body = b"".join(struct.pack("<I", p) for p in pas)
    xsdt_body = b"".join(struct.pack("<Q", p) for p in pas)
    img, roots = image([bytes(img), table(b"RSDT", rsdt_body),
                        table(b"XSDT", xsdt_body)])
    # image() placed the old image at IMAGE_BASE: addresses stay right
    r = rsdp(revision, roots[1], roots[2] if use_xsdt else 0)
    return bytes([len(r)]) + r + bytes(img)


def seeds():
    yield layout(0, qemu_madt(1))                     # SeaBIOS, 1 CPU
    yield layout(0, qemu_madt(4))                     # SeaBIOS, 4 CPUs
    yield layout(2, qemu_madt(2), others=(b"FACP", b"HPET", b"BGRT"))  # OVMF
    yield layout(2, qemu_madt(2), use_xsdt=False)     # revision 2, no XSDT
    yield layout(0, qemu_madt(70))                    # more than kept
    yield layout(2, madt([lapic(0, 0), x2apic(255, 1, 255),
                          x2apic(0x12345, 1, 70000), x2apic(300, 2, 300)]))
    yield layout(0, madt([lapic(0, 0), lapic(1, 1, 0), lapic(2, 2, 2),
                          lapic(3, 3, 3)], flags=0))
    yield layout(0, madt([lapic(0, 0), lapic_address(0xFEE0000000)] +
                         [ioapic(i, IOAPIC_PA + 0x1000 * i, 24 * i)
                          for i in range(10)] +
                         [override(0, 0, 2, 0), override(0, 4, 20, 0xF),
                          override(1, 3, 33, 0xF),
                          struct.pack("<BBB", 0x7F, 3, 0)]))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for s in seeds():
        name = hashlib.sha1(s).hexdigest()
        with open(os.path.join(out, name), "wb") as f:
            f.write(s)


if __name__ == "__main__":
    main()
