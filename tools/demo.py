#!/usr/bin/env python3
"""`make demo`: a machine boots Linux and uses a disk it does not have.

Two QEMU machines (AMD SVM + NPT, software emulated) on a loopback wire:
  - the server runs ferry, owns the AHCI disk holding an ext4 file system
    made on the host, and runs its own guest (a CPU-bound loop) while it
    serves the network;
  - the client has no disk at all.  ferry boots Debian's own kernel as its
    guest (with a small busybox initramfs the build makes), and that Linux
    finds a virtio-blk disk with its stock driver: the doorbell traps into
    ferry, which carries each request to the server over Ethernet.  Linux
    mounts the file system, reads, copies and writes files, and powers off.
Afterwards the host checks the server's disk image with debugfs and
e2fsck.  NIC=virtio uses virtio-net instead of e1000."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import disks  # noqa: E402
import ferryrun  # noqa: E402
import linux  # noqa: E402

NIC = os.environ.get("NIC", "e1000")

SCRIPT = """#!/bin/sh
set -e
echo "demo: Linux $(uname -r) sees: $(cat /sys/block/vda/size) sectors on /dev/vda ($(cat /sys/block/vda/device/vendor 2>/dev/null || echo virtio))"
mount -t ext4 /dev/vda /mnt
echo "demo: ls /mnt:"; ls -l /mnt
echo "demo: cat /mnt/NOTES.TXT:"; cat /mnt/NOTES.TXT
sha256sum /mnt/PHOTO.JPG
mkdir -p /mnt/DOCS
cp /mnt/PHOTO.JPG /mnt/DOCS/COPY.JPG
dd if=/dev/urandom of=/mnt/DOCS/GEN.BIN bs=64k count=16 2>/dev/null
sha256sum /mnt/DOCS/GEN.BIN
echo "written by Linux on a diskless ferry client" > /mnt/DOCS/HELLO.TXT
df -h /mnt
umount /mnt
echo "demo: unmounted; powering off"
"""


def show(title, run, keep):
    print(f"---- {title} " + "-" * (70 - len(title)))
    for line in run.lines:
        if keep(line):
            print(line)


def sha_line(run, name):
    m = run.find(r"^([0-9a-f]{64})  " + re.escape(name) + r"$")
    return m.group(1) if m else None


def main():
    d = os.path.join(ferryrun.BUILD, "demo")
    os.makedirs(d, exist_ok=True)
    print("demo: Debian's kernel and busybox (tools/linux.py, from the package archive) ...")
    kver = linux.fetch(linux.DEFAULT_DIR)
    initrd = linux.test_initramfs(os.path.join(d, "initrd.gz"), SCRIPT)
    notes = b"ferry demo: this file was put on the server's disk by the host.\n"
    photo = disks.random_bytes(2 * 1024 * 1024 + 123, 2026)
    img = disks.Ext4(os.path.join(d, "server-disk.img"), 64, {"/NOTES.TXT": notes, "/PHOTO.JPG": photo})
    print(f"demo: the server's disk: {img.path} (ext4, 64 MiB) with NOTES.TXT and PHOTO.JPG (2 MiB)")
    print(f"demo: booting a server and a diskless client ({NIC}) whose guest is Linux {kver} ...\n")
    lx = ferryrun.Linux(os.path.join(linux.DEFAULT_DIR, "vmlinux"), initrd, "console=ttyS0 quiet cryptomgr.notests=1")
    client, server = ferryrun.run_pair(img.path, "", nic=NIC, timeout=400, linux=lx)

    show("server (owns the disk; its guest keeps computing)", server,
         lambda l: re.match(r"ferry: (role|ahci: port|nic:|server:)|spin ", l) is not None)
    print()
    show("client (no disk; Linux)", client,
         lambda l: not re.match(r"ferry: (pci |    |cpu|SVM|memory|TSC|boot|acpi)", l))
    print()
    if client.timed_out or not client.linux_passed():
        sys.exit("demo: the client's Linux reported a failure or did not power off")
    problems = []
    if sha_line(client, "/mnt/PHOTO.JPG") != disks.sha256(photo):
        problems.append("Linux read PHOTO.JPG wrong")
    if img.read("/DOCS/COPY.JPG") != photo:
        problems.append("COPY.JPG on the image differs from PHOTO.JPG")
    if disks.sha256(img.read("/DOCS/GEN.BIN")) != sha_line(client, "/mnt/DOCS/GEN.BIN"):
        problems.append("GEN.BIN on the image is not what Linux wrote")
    if img.read("/DOCS/HELLO.TXT") != b"written by Linux on a diskless ferry client\n":
        problems.append("HELLO.TXT differs")
    ok, out = img.fsck()
    if not ok:
        problems.append("e2fsck -fn: " + out)
    if problems:
        sys.exit("demo: host check failed: " + "; ".join(problems))
    print("demo: host check of the server's disk: COPY.JPG, GEN.BIN and HELLO.TXT, written by Linux on the "
          "diskless client, read back byte-identical with debugfs; e2fsck -fn clean")
    print(f"demo: done in {client.seconds:.1f} s.  Linux on one machine with the disk local: "
          f"make run-local DISK={img.path} KERNEL={lx.kernel} INITRD={initrd} APPEND='console=ttyS0'")


if __name__ == "__main__":
    main()
