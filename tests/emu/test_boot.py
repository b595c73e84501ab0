"""ferry booted the way a user boots it: GRUB from the hybrid ISO (the same
image works as a CD, a disk or a USB stick) on SeaBIOS and on OVMF (UEFI),
then the guest reads and writes its disk."""
import os
import subprocess

import disks
import ferryrun
from registry import test
from test_local import expect_ok


def iso_roundtrip(tmp, firmware):
    data = disks.random_bytes(300000, 77)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": data})
    iso = os.path.join(tmp, "ferry.iso")
    cmds = "lbd-info; sha256 /A.TXT; write /W.BIN 200000 3"
    subprocess.run([os.path.join(ferryrun.ROOT, "tools", "mkiso.sh"), iso, os.path.join(ferryrun.BUILD, "ferry.elf"),
                    ferryrun.GUEST, cmds, "loglevel=info"], check=True)
    run = ferryrun.run(ferryrun.qemu_cmd(disk=img.path, kernel=False, iso=iso, firmware=firmware), timeout=180)
    assert not run.timed_out, "timed out:\n" + run.output[-3000:]
    assert run.find(r"ferry: boot: multiboot2"), "not booted by GRUB's multiboot2:\n" + run.output[-3000:]
    assert run.passed(), run.output[-3000:]
    assert expect_ok(run, "sha256 /A.TXT").split()[0] == disks.sha256(data)
    assert img.read("/W.BIN") == disks.splitmix64_bytes(200000, 3)
    ok, out = img.fsck()
    assert ok, out


@test
def iso_boots_on_seabios(tmp):
    iso_roundtrip(tmp, "bios")


@test
def iso_boots_on_ovmf(tmp):
    iso_roundtrip(tmp, "uefi")
