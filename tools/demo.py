#!/usr/bin/env python3
"""`make demo`: ferry runs its guest on one QEMU machine; the guest reads and
writes files on a FAT32 disk through the logical block device that ferry
traps in the nested page tables, and ferry executes each command on the
AHCI disk it owns.  Afterwards the host checks the disk with mtools and
fsck.fat."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import disks  # noqa: E402
import ferryrun  # noqa: E402


def main():
    img_path = os.path.join(ROOT, "build", "demo.img")
    notes = b"ferry demo: this file was put on the disk by the host.\n"
    photo = disks.random_bytes(2 * 1024 * 1024 + 123, 2026)
    img = disks.make_fat(img_path, 32, 64, {"/NOTES.TXT": notes, "/PHOTO.JPG": photo},
                         dirs=("/DOCS",))
    print(f"demo: made {img_path} (FAT32, 64 MiB) with NOTES.TXT and PHOTO.JPG (2 MiB)")
    cmds = ["lbd-info", "ls /", "cat /NOTES.TXT", "sha256 /PHOTO.JPG",
            "cp /PHOTO.JPG /DOCS/COPY.JPG", "write /DOCS/GEN.BIN 1048576 7",
            "mkdir /DOCS/NEW", "ls /DOCS", "stats"]
    print("demo: guest commands: " + "; ".join(cmds))
    print("demo: booting ferry under QEMU (AMD SVM + NPT, software emulated)\n")
    run = ferryrun.run_local(img.path, "; ".join(cmds), timeout=300, echo=True)
    print()
    if not run.passed():
        sys.exit("demo: the guest reported a failure")
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
    print(f"demo: host check: PHOTO.JPG sha256 {disks.sha256(photo)[:16]}..., COPY.JPG and GEN.BIN read back "
          "byte-identical with mtools, fsck.fat -n clean")
    print(f"demo: done in {run.seconds:.1f} s")


if __name__ == "__main__":
    main()
