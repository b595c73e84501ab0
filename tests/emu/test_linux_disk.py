"""Linux's own virtio_blk driver on ferry's virtio-blk device, served by the
local disk and by a ferry server over both NICs: file systems made on the
host, used by Linux, and checked on the host afterwards (mtools, debugfs,
fsck.fat -n, e2fsck -fn); a 64 MiB random-data dd with O_DIRECT compared by
sha256; sync reaching the disk as FLUSH; a read-only export."""
import os
import re
import subprocess

import disks
import ferryrun
import linux
from registry import test
from test_linux import APPEND, assert_linux_ok, kernel

MiB = 1024 * 1024


def boot(tmp, script, disk, remote=None, timeout=240, server_args=""):
    """Linux with the disk local (remote=None) or on a server reached over
    NIC remote ("e1000"/"virtio").  Returns (Linux's Run, server Run)."""
    initrd = linux.test_initramfs(os.path.join(tmp, "initrd.gz"), script)
    lx = ferryrun.Linux(kernel(), initrd, APPEND)
    if remote is None:
        return ferryrun.run_local(disk, "", timeout=timeout, linux=lx), None
    return ferryrun.run_pair(disk, "", timeout=timeout, nic=remote, linux=lx, server_args=server_args)


def assert_flushed(run):
    """Linux's cache flushes (sync, fsync, a journal commit) reached ferry as
    virtio-blk FLUSH requests."""
    m = run.find(r"^ferry: stats: virtio-blk: .* (\d+) flushes")
    assert m and int(m.group(1)) > 0, "no FLUSH reached ferry:\n" + run.output[-2000:]


def printed_sha(run, name):
    m = run.find(r"^([0-9a-f]{64})  " + re.escape(name) + r"$")
    assert m, f"no sha256sum line for {name}:\n" + run.output[-3000:]
    return m.group(1)


FILE_SCRIPT = """#!/bin/sh
set -e
mount -t {fs} /dev/vda /mnt
sha256sum /mnt/A.BIN
cp /mnt/A.BIN /mnt/COPY.BIN
mkdir /mnt/NEWDIR
dd if=/dev/urandom of=/mnt/NEWDIR/R.BIN bs=4096 count=300 2>/dev/null
sha256sum /mnt/NEWDIR/R.BIN
rm /mnt/DEL.BIN
sync
umount /mnt
echo files-done
"""


def fat_files(tmp, remote=None):
    a = disks.random_bytes(300000, 21)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 64, {"/A.BIN": a, "/DEL.BIN": b"x" * 5000})
    run, _ = boot(tmp, FILE_SCRIPT.format(fs="vfat"), img.path, remote)
    assert_linux_ok(run)
    assert printed_sha(run, "/mnt/A.BIN") == disks.sha256(a)
    assert img.read("/COPY.BIN") == a, "the copy Linux wrote differs on the host"
    assert disks.sha256(img.read("/NEWDIR/R.BIN")) == printed_sha(run, "/mnt/NEWDIR/R.BIN")
    ok, out = img.fsck()
    assert ok, out
    listing = subprocess.run(["mdir", "-b", "-i", img.path, "::/"], capture_output=True, text=True,
                             env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout
    assert "DEL.BIN" not in listing, listing


def ext4_files(tmp, remote=None):
    a = disks.random_bytes(500000, 22)
    img = disks.Ext4(os.path.join(tmp, "ext4.img"), 64, {"/A.BIN": a, "/DEL.BIN": b"y" * 7000})
    run, _ = boot(tmp, FILE_SCRIPT.format(fs="ext4"), img.path, remote)
    assert_linux_ok(run)
    assert printed_sha(run, "/mnt/A.BIN") == disks.sha256(a)
    assert img.read("/COPY.BIN") == a
    assert disks.sha256(img.read("/NEWDIR/R.BIN")) == printed_sha(run, "/mnt/NEWDIR/R.BIN")
    assert not img.exists("/DEL.BIN")
    assert_flushed(run)  # sync: ext4's journal commit flushes the device
    ok, out = img.fsck()
    assert ok, out


DD_SCRIPT = """#!/bin/sh
set -e
dd if=/dev/urandom of=/tmp/r bs=1M count=64 2>/dev/null
dd if=/tmp/r of=/dev/vda bs=1M oflag=direct conv=fsync 2>/dev/null
dd if=/dev/vda of=/tmp/back bs=1M count=64 iflag=direct 2>/dev/null
sha256sum /tmp/r /tmp/back
"""


def dd_roundtrip(tmp, remote=None):
    path = os.path.join(tmp, "raw.img")
    with open(path, "wb") as f:
        f.truncate(80 * MiB)
    run, _ = boot(tmp, DD_SCRIPT, path, remote, timeout=400)
    assert_linux_ok(run)
    wrote, back = printed_sha(run, "/tmp/r"), printed_sha(run, "/tmp/back")
    assert wrote == back, "Linux read back other data than it wrote"
    with open(path, "rb") as f:
        assert disks.sha256(f.read(64 * MiB)) == wrote, "the disk image holds other data than Linux wrote"
    # fsync of the device is a FLUSH request.
    assert_flushed(run)


@test
def linux_local_fat32_files(tmp):
    fat_files(tmp)


@test
def linux_local_ext4_files(tmp):
    ext4_files(tmp)


@test
def linux_local_dd_64mib_direct(tmp):
    dd_roundtrip(tmp)


@test
def linux_remote_e1000_fat32_files(tmp):
    fat_files(tmp, "e1000")


@test
def linux_remote_virtio_ext4_files(tmp):
    ext4_files(tmp, "virtio")


@test
def linux_remote_e1000_ext4_files(tmp):
    ext4_files(tmp, "e1000")


@test
def linux_remote_virtio_fat32_files(tmp):
    fat_files(tmp, "virtio")


@test
def linux_remote_e1000_dd_64mib_direct(tmp):
    dd_roundtrip(tmp, "e1000")


@test
def linux_remote_virtio_dd_64mib_direct(tmp):
    dd_roundtrip(tmp, "virtio")


@test
def linux_remote_read_only_export(tmp):
    """A server exporting read-only: Linux sees a read-only disk, its
    writes fail, and the image is unchanged."""
    a = disks.random_bytes(100000, 23)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": a})
    with open(img.path, "rb") as f:
        before = f.read()
    script = """#!/bin/sh
echo "ro: $(cat /sys/block/vda/ro)"
mount -t vfat -o ro /dev/vda /mnt && sha256sum /mnt/A.BIN && umount /mnt
if dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct 2>/dev/null; then echo write-succeeded; else echo write-failed; fi
"""
    run, _ = boot(tmp, script, img.path, "e1000", server_args="read_only=yes")
    assert_linux_ok(run)
    assert run.find(r"^ro: 1$"), run.output[-3000:]
    assert printed_sha(run, "/mnt/A.BIN") == disks.sha256(a)
    assert run.find(r"^write-failed$"), run.output[-3000:]
    with open(img.path, "rb") as f:
        assert f.read() == before, "a read-only export changed"
