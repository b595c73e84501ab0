"""Debian's own Linux kernel, as shipped, as ferry's guest (tools/linux.py
fetches it and builds the busybox initramfs; its /init runs the test's
script and powers off).  What a user checks: the kernel and its userspace
print everything on the serial line, in order; the guest's ACPI power-off
and reboot end the run cleanly; a guest module ferry cannot boot is named
as such."""
import os
import re

import disks
import ferryrun
import linux
from registry import test

# Quiet and without the boot-time crypto self-tests: 3-4 s to /init under
# TCG instead of 5-6 (LINUX.md).  ferry adds nr_cpus=1 itself.
APPEND = "console=ttyS0 quiet cryptomgr.notests=1"


def kernel(kind="vmlinux"):
    linux.fetch(linux.DEFAULT_DIR)
    return os.path.join(linux.DEFAULT_DIR, kind)


def boot_linux(tmp, script, kind="vmlinux", append=APPEND, disk=None, timeout=180, **kw):
    initrd = linux.test_initramfs(os.path.join(tmp, "initrd.gz"), script)
    if disk is None:
        disk = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {}).path
    return ferryrun.run_local(disk, "", timeout=timeout,
                              linux=ferryrun.Linux(kernel(kind), initrd, append), **kw)


def assert_linux_ok(run):
    assert not run.timed_out, "timed out:\n" + run.output[-4000:]
    assert not run.find(r"Kernel panic"), run.output[-4000:]
    assert run.linux_passed(), run.output[-4000:]


CONSOLE_SCRIPT = """#!/bin/sh
echo "cmdline: $(cat /proc/cmdline)"
echo "cpus: $(grep -c ^processor /proc/cpuinfo)"
i=1
while [ $i -le 400 ]; do echo "line $i of 400"; i=$((i+1)); done
"""


def check_console(run):
    lines = [l for l in run.lines if l.startswith("line ")]
    assert lines == [f"line {i} of 400" for i in range(1, 401)], \
        f"userspace output lost or out of order ({len(lines)} lines):\n" + run.output[-3000:]
    assert run.find(r"^cpus: 1$"), run.output[-3000:]
    assert run.find(r"^cmdline: .*nr_cpus=1"), run.output[-3000:]


@test
def linux_vmlinux_boots_prints_and_powers_off(tmp):
    """The uncompressed vmlinux: every userspace line arrives whole and in
    order through the 16550 model, and its ACPI power-off ends QEMU with
    status 0 after ferry says so."""
    run = boot_linux(tmp, CONSOLE_SCRIPT)
    assert_linux_ok(run)
    assert run.find(r"^ferry: guest: Linux vmlinux \(boot protocol 20f\)"), run.output[-3000:]
    assert run.find(r"^ferry: the guest entered ACPI sleep state"), run.output[-3000:]
    check_console(run)


@test
def linux_bzimage_boots(tmp):
    """Debian's vmlinuz as shipped (its XZ decompressor and KASLR run)."""
    run = boot_linux(tmp, CONSOLE_SCRIPT, kind="vmlinuz", timeout=300)
    assert_linux_ok(run)
    assert run.find(r"^ferry: guest: Linux bzImage \(boot protocol 20f\)"), run.output[-3000:]
    check_console(run)


@test
def linux_reboot_ends_the_run(tmp):
    """reboot -f: the guest's reset reaches ferry, which resets the machine
    (QEMU's -no-reboot then ends with status 0)."""
    run = boot_linux(tmp, "#!/bin/sh\necho rebooting\nreboot -f\n")
    assert not run.timed_out, run.output[-3000:]
    assert run.find(r"^ferry: the guest asked for a reset"), run.output[-3000:]
    assert run.find(r"^ferry: resetting the machine$"), run.output[-3000:]
    assert run.returncode == 0, run.output[-3000:]


@test
def guest_module_that_is_no_kernel_is_named(tmp):
    junk = os.path.join(tmp, "junk.bin")
    with open(junk, "wb") as f:
        f.write(disks.random_bytes(4096, 5))
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {})
    run = ferryrun.run_local(img.path, "", timeout=60, linux=ferryrun.Linux(junk, None, ""))
    assert run.find(r"ferry: error: guest: the guest module \(4096 bytes\) is neither an x86-64 ELF file "
                    r"nor a Linux bzImage"), run.output[-3000:]
    assert run.find(r"ferry: error: cannot start the guest"), run.output[-3000:]


IOMEM_SCRIPT = """#!/bin/sh
sed 's/^/iomem: /' /proc/iomem
"""


@test
def linux_e820_reserves_the_logical_device_page(tmp):
    """ferry's device page above RAM is an E820 reserved range, so Linux
    records it as busy and puts no BAR it moves there (a BAR on that page
    would decode nothing, docs/virtio-blk.md); no PCI resource Linux
    lists overlaps it."""
    run = boot_linux(tmp, IOMEM_SCRIPT)
    assert_linux_ok(run)
    m = run.find(r"^ferry: logical device at guest-physical ([0-9a-f]+)")
    assert m, run.output[-3000:]
    lbd = int(m.group(1), 16)
    spans = []
    for line in run.lines:
        mm = re.match(r"^iomem: (\s*)([0-9a-f]+)-([0-9a-f]+) : (.*)$", line)
        if mm:
            spans.append((len(mm.group(1)), int(mm.group(2), 16), int(mm.group(3), 16), mm.group(4)))
    assert spans, "no /proc/iomem lines:\n" + run.output[-3000:]
    iomem = "\n".join(l for l in run.lines if l.startswith("iomem: "))
    # The innermost resource holding the page is the reserved range.
    holders = [s for s in spans if s[1] <= lbd <= s[2]]
    assert holders and holders[-1][3] == "Reserved", f"the page at {lbd:x} is not reserved:\n{iomem}"
    assert holders[-2][3] == "PCI Bus 0000:00", f"the reserved page is outside the bus window:\n{iomem}"
    assert all(name in ("Reserved", "PCI Bus 0000:00") for _, _, _, name in holders), \
        f"a device resource covers the logical device's page {lbd:x}:\n{iomem}" 
