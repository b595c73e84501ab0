#!/usr/bin/env python3
"""`make demo`: a machine uses a disk it does not have.

Two QEMU machines (AMD SVM + NPT, software emulated) on a loopback wire:
  - the server runs ferry, owns the AHCI disk holding a FAT32 file system,
    and runs its own guest (a CPU-bound loop) while it serves the network;
  - the client runs ferry with no disk at all; its guest reads and writes
    files through the logical block device, whose doorbell traps into
    ferry, which carries each command to the server over Ethernet.
Afterwards the host checks the server's disk image with mtools and fsck."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import disks  # noqa: E402
import ferryrun  # noqa: E402

NIC = os.environ.get("NIC", "e1000")


def show(title, run, keep):
    print(f"---- {title} " + "-" * (70 - len(title)))
    for line in run.lines:
        if keep(line):
            print(line)


def main():
    img_path = os.path.join(ferryrun.BUILD, "demo.img")
    notes = b"ferry demo: this file was put on the server's disk by the host.\n"
    photo = disks.random_bytes(2 * 1024 * 1024 + 123, 2026)
    img = disks.make_fat(img_path, 32, 64, {"/NOTES.TXT": notes, "/PHOTO.JPG": photo}, dirs=("/DOCS",))
    print(f"demo: the server's disk: {img_path} (FAT32, 64 MiB) with NOTES.TXT and PHOTO.JPG (2 MiB)")
    cmds = ["lbd-info", "ls /", "cat /NOTES.TXT", "sha256 /PHOTO.JPG",
            "cp /PHOTO.JPG /DOCS/COPY.JPG", "write /DOCS/GEN.BIN 1048576 7",
            "mkdir /DOCS/NEW", "ls /DOCS", "stats"]
    print("demo: the client guest's commands: " + "; ".join(cmds))
    print(f"demo: booting a server and a diskless client ({NIC}) ...\n")
    client, server = ferryrun.run_pair(img.path, "; ".join(cmds), nic=NIC, timeout=300)

    show("server (owns the disk; its guest keeps computing)", server,
         lambda l: re.match(r"ferry: (role|ahci: port|nic:|server:)|spin ", l) is not None)
    print()
    show("client (no disk)", client,
         lambda l: not re.match(r"ferry: (pci |    |cpu|SVM|memory|TSC|boot)", l))
    print()
    if client.timed_out or not client.passed():
        sys.exit("demo: the client's guest reported a failure")
    problems = []
    if img.read("/DOCS/COPY.JPG") != photo:
        problems.append("COPY.JPG differs from PHOTO.JPG")
    if img.read("/DOCS/GEN.BIN") != disks.splitmix64_bytes(1048576, 7):
        problems.append("GEN.BIN differs from the generator's bytes")
    ok, out = img.fsck()
    if not ok:
        problems.append("fsck.fat: " + out)
    if problems:
        sys.exit("demo: host check failed: " + "; ".join(problems))
    print(f"demo: host check of the server's disk: COPY.JPG and GEN.BIN, written by the client's guest, "
          "read back byte-identical with mtools; fsck.fat -n clean")
    print(f"demo: done in {client.seconds:.1f} s. One machine for the same with a local disk: "
          f"make run-local DISK={img_path} GUEST_CMDS='ls /'")


if __name__ == "__main__":
    main()
