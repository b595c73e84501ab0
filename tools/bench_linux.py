#!/usr/bin/env python3
"""The Linux rows of `make bench` (also runnable alone): Debian's kernel on
ferry's virtio-blk against the same kernel, initramfs and workload in plain
QEMU with QEMU's own virtio-blk (no ferry), side by side in one run.

  - boot time to /init (wall seconds from starting the emulator to the
    initramfs's first line), with and without ferry;
  - dd of 64 MiB from and to the disk: O_DIRECT with 1 MiB and 64 KiB
    blocks (one request in flight at a time, as dd issues them) and a
    buffered read (Linux's readahead keeps several requests in flight);
  - ferry's cost per request: its VM exits and virtio-blk requests for the
    workload (the run minus a boot-only run), per request and per MiB.
Rates are timed on the guest's clock (/proc/uptime); the ratios between ferry's and
plain QEMU's rows of one run are what to compare."""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import ferryrun  # noqa: E402
import linux  # noqa: E402

MIB = 64
APPEND = "console=ttyS0 quiet cryptomgr.notests=1 nr_cpus=1"
# (label, dd arguments); each prints busybox dd's summary line.
WORK = [
    ("read  O_DIRECT 1 MiB", f"if=/dev/vda of=/dev/null bs=1M count={MIB} iflag=direct"),
    ("read  O_DIRECT 64 KiB", f"if=/dev/vda of=/dev/null bs=64k count={MIB * 16} iflag=direct"),
    ("write O_DIRECT 1 MiB", f"if=/dev/zero of=/dev/vda bs=1M count={MIB} oflag=direct"),
    ("write O_DIRECT 64 KiB", f"if=/dev/zero of=/dev/vda bs=64k count={MIB * 16} oflag=direct"),
    ("read  buffered 1 MiB", f"if=/dev/vda of=/dev/null bs=1M count={MIB}"),
]
DD_LINE = re.compile(r"^bench (\d+): ([0-9.]+) ([0-9.]+)$")
STATS = re.compile(r"^ferry: stats: (\d+) exits .*")
VBLK = re.compile(r"^ferry: stats: virtio-blk: (\d+) requests")


def script(with_work):
    lines = ["#!/bin/sh"]
    if with_work:
        for i, (_, args) in enumerate(WORK):
            # Drop the page cache so the buffered read goes to the device.
            lines.append("echo 3 > /proc/sys/vm/drop_caches")
            # busybox's dd prints no rate: time it on the guest's uptime
            # clock (10 ms steps; each dd runs for a second or more).
            lines.append("a=$(cut -d' ' -f1 /proc/uptime)")
            lines.append(f"dd {args} 2>/dev/null")
            lines.append(f"echo \"bench {i}: $a $(cut -d' ' -f1 /proc/uptime)\"")
    return "\n".join(lines) + "\n"


def timed(cmd, timeout=600):
    """Runs cmd; returns (lines, seconds to the initramfs's first line)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lines, t_init = [], None
    for raw in iter(p.stdout.readline, b""):
        line = raw.decode("utf-8", "replace").replace("\r", "").rstrip("\n")
        lines.append(line)
        if t_init is None and line.startswith("FERRY-LINUX init"):
            t_init = time.monotonic() - start
        if time.monotonic() - start > timeout:
            p.kill()
            break
    p.wait()
    return lines, t_init


def plain_qemu_cmd(kernel, initrd, disk):
    """The same machine without ferry: QEMU loads the vmlinux itself (its
    PVH entry) and gives Linux QEMU's own virtio-blk."""
    return ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "qemu64", "-m", "512M",
            "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
            "-kernel", kernel, "-initrd", initrd, "-append", APPEND,
            "-drive", f"if=none,id=d0,file={disk},format=raw,cache=unsafe",
            "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"]


def rates(lines, who):
    """MiB/s of each dd: MIB over the guest's seconds for it."""
    out = {}
    for l in lines:
        m = DD_LINE.match(l)
        if m and float(m.group(3)) > float(m.group(2)):
            out[int(m.group(1))] = MIB / (float(m.group(3)) - float(m.group(2)))
    if len(out) != len(WORK):
        sys.exit(f"bench: the {who} run printed {len(out)} of {len(WORK)} dd lines:\n" + "\n".join(lines[-40:]))
    return out


def counters(lines):
    exits = reqs = None
    for l in lines:
        m = STATS.match(l)
        if m:
            exits = int(m.group(1))
        m = VBLK.match(l)
        if m:
            reqs = int(m.group(1))
    return exits, reqs


def main():
    d = os.path.join(ferryrun.BUILD, "bench-linux")
    os.makedirs(d, exist_ok=True)
    linux.fetch(linux.DEFAULT_DIR)
    kernel = os.path.join(linux.DEFAULT_DIR, "vmlinux")
    work = linux.test_initramfs(os.path.join(d, "work.gz"), script(True))
    idle = linux.test_initramfs(os.path.join(d, "idle.gz"), script(False))
    disk = os.path.join(d, "disk.img")
    with open(disk, "wb") as f:
        f.truncate((MIB + 16) * 1024 * 1024)

    print(f"bench: Linux dd of {MIB} MiB on ferry's virtio-blk (local AHCI back end) and on plain QEMU's virtio-blk")
    ferry_cmd = lambda initrd: ferryrun.qemu_cmd(disk=disk, linux=ferryrun.Linux(kernel, initrd, APPEND))
    f_idle, f_boot = timed(ferry_cmd(idle))
    q_idle, q_boot = timed(plain_qemu_cmd(kernel, idle, disk))
    f_work, _ = timed(ferry_cmd(work))
    q_work, _ = timed(plain_qemu_cmd(kernel, work, disk))
    fr, qr = rates(f_work, "ferry"), rates(q_work, "plain QEMU")
    e0, r0 = counters(f_idle)
    e1, r1 = counters(f_work)
    if None in (e0, e1, r1) or f_boot is None or q_boot is None:
        sys.exit("bench: a Linux run did not finish:\n" + "\n".join(f_work[-30:]))
    r0 = r0 or 0
    exits, reqs = e1 - e0, r1 - r0
    total_mib = MIB * len(WORK)

    print()
    print(f"{'':28} {'ferry MiB/s':>12} {'QEMU MiB/s':>11} {'ferry/QEMU':>11}")
    for i, (label, _) in enumerate(WORK):
        print(f"{label:28} {fr[i]:12.1f} {qr[i]:11.1f} {fr[i] / qr[i]:11.2f}")
    print()
    print(f"boot to /init: ferry {f_boot:.1f} s, plain QEMU {q_boot:.1f} s (ratio {f_boot / q_boot:.2f})")
    print(f"ferry's cost of the dd workload ({total_mib} MiB): {reqs} virtio-blk requests, {exits} VM exits: "
          f"{exits / reqs:.2f} exits/request, {exits / total_mib:.1f} exits/MiB, {reqs / total_mib:.1f} requests/MiB")
    print("(exits/request counts every exit of the interval: the doorbell, APIC writes for the completion "
          "interrupt's EOI and the timer, the console)")


if __name__ == "__main__":
    main()
