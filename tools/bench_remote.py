#!/usr/bin/env python3
"""The remote Linux rows of `make bench` (also runnable alone): Debian's
kernel on a ferry client, its virtio-blk disk served by a ferry server over
each NIC, under the workloads issue 13 measures ferry by:

  - dd of 32 MiB with O_DIRECT and 1 MiB blocks, each way (one request in
    flight at a time, as dd issues them);
  - random 4 KiB reads with O_DIRECT from 32 threads at once (a queue 32
    deep at the block layer) and from 1, for 8 s each (tools/fbench.c);
  - the guest's own CPU while I/O is in flight: a spin loop's rate beside
    8 threads of random 64 KiB reads, against its rate alone;
  - ferry's cost: VM exits and virtio-blk requests of the workload (the
    run minus a boot-only run), and the client's frames and retransmits.
Rates are timed on the guest's clock; compare ratios within one run."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import ferryrun  # noqa: E402
import linux  # noqa: E402

DD_MIB = 32
QD_SECS = 8
SPIN_SECS = 6
APPEND = "console=ttyS0 quiet cryptomgr.notests=1 nr_cpus=1"
FBENCH = os.path.join(ferryrun.BUILD, "bench", "fbench")
F = "/ferry/fbench"

WORK = f"""#!/bin/sh
t() {{ cut -d' ' -f1 /proc/uptime; }}
{F} spin {SPIN_SECS}
a=$(t); dd if=/dev/vda of=/dev/null bs=1M count={DD_MIB} iflag=direct 2>/dev/null; echo "bench read: $a $(t)"
a=$(t); dd if=/dev/zero of=/dev/vda bs=1M count={DD_MIB} oflag=direct 2>/dev/null; echo "bench write: $a $(t)"
{F} qd /dev/vda 32 4 {QD_SECS} | sed 's/^/qd32 /'
{F} qd /dev/vda 1 4 {QD_SECS} | sed 's/^/qd1 /'
{F} qd /dev/vda 8 64 {SPIN_SECS + 2} >/dev/null & {F} spin {SPIN_SECS} | sed 's/^/busy /'; wait
echo bench-done
"""
IDLE = "#!/bin/sh\necho bench-done\n"

SPIN = re.compile(r"^(busy )?fbench spin: ([0-9.]+) Mturns/s$")
QD = re.compile(r"^(qd\d+) fbench qd: (\d+) reads, ([0-9.]+) MiB/s, (\d+) IOPS")
DD = re.compile(r"^bench (read|write): ([0-9.]+) ([0-9.]+)$")
STATS = re.compile(r"^ferry: stats: (\d+) exits")
VBLK = re.compile(r"^ferry: stats: virtio-blk: (\d+) requests")
NET = re.compile(r"^ferry: net: ")


def build_fbench():
    src = os.path.join(ROOT, "tools", "fbench.c")
    if not os.path.exists(FBENCH) or os.path.getmtime(FBENCH) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(FBENCH), exist_ok=True)
        subprocess.run(["gcc", "-static", "-O2", "-pthread", "-Wall", "-o", FBENCH, src], check=True)
    with open(FBENCH, "rb") as f:
        return f.read()


def parse(run, who, dd_mib=DD_MIB):
    """The figures of a run of WORK (or a script printing the same lines,
    tools/bench_sbs.py's, whose dd moves dd_mib each way)."""
    out = {"qd": {}}
    for l in run.lines:
        m = SPIN.match(l)
        if m:
            out["busy_spin" if m.group(1) else "spin"] = float(m.group(2))
        m = QD.match(l)
        if m:
            out["qd"][m.group(1)] = (float(m.group(3)), int(m.group(4)))
        m = DD.match(l)
        if m and float(m.group(3)) > float(m.group(2)):
            out[m.group(1)] = dd_mib / (float(m.group(3)) - float(m.group(2)))
        m = STATS.match(l)
        if m:
            out["exits"] = int(m.group(1))
        m = VBLK.match(l)
        if m:
            out["reqs"] = int(m.group(1))
        if NET.match(l):
            out["net"] = l
    return out


def counters(line, *names):
    """name=value fields of a stats line (0 when absent)."""
    return [int(m.group(1)) if (m := re.search(r"\b" + n + r"=(\d+)", line or "")) else 0 for n in names]


def one(nic, disk, work, idle):
    kernel = os.path.join(linux.DEFAULT_DIR, "vmlinux")
    runs = {}
    for name, initrd in (("work", work), ("idle", idle)):
        c, s = ferryrun.run_pair(disk, "", timeout=900, nic=nic, linux=ferryrun.Linux(kernel, initrd, APPEND))
        if "bench-done" not in c.lines:
            sys.exit(f"bench: the {nic} {name} run did not finish:\n" + "\n".join(c.lines[-40:]))
        runs[name] = parse(c, f"{nic} {name}")
    w, i = runs["work"], runs["idle"]
    for k in ("spin", "busy_spin", "read", "write", "exits", "reqs"):
        if k not in w:
            sys.exit(f"bench: the {nic} run printed no {k} figure")
    if set(w["qd"]) != {"qd32", "qd1"}:
        sys.exit(f"bench: the {nic} run printed {sorted(w['qd'])} of the queue-depth reads")
    w["exits_wl"] = w["exits"] - i.get("exits", 0)
    w["reqs_wl"] = w["reqs"] - i.get("reqs", 0)
    return w


def main():
    d = os.path.join(ferryrun.BUILD, "bench-remote")
    os.makedirs(d, exist_ok=True)
    linux.fetch(linux.DEFAULT_DIR)
    extra = {"ferry/fbench": (build_fbench(), 0o755)}
    work = linux.test_initramfs(os.path.join(d, "work.gz"), WORK, extra=extra)
    idle = linux.test_initramfs(os.path.join(d, "idle.gz"), IDLE, extra=extra)
    disk = os.path.join(d, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(256 * 1024 * 1024)
    print(f"bench: Linux on a ferry client, its disk on a ferry server: dd {DD_MIB} MiB O_DIRECT 1 MiB, "
          f"random 4 KiB reads 32 and 1 deep, a spin loop beside I/O; e1000 and virtio")
    res = {nic: one(nic, disk, work, idle) for nic in ("e1000", "virtio")}
    print()
    print(f"{'':8} {'dd read':>8} {'dd write':>9} {'qd32 MiB/s':>11} {'qd32 IOPS':>10} {'qd1 IOPS':>9} "
          f"{'qd32/qd1':>9} {'spin left':>10} {'exits/req':>10}")
    for nic, w in res.items():
        q32, q1 = w["qd"]["qd32"], w["qd"]["qd1"]
        print(f"{nic:8} {w['read']:8.1f} {w['write']:9.1f} {q32[0]:11.2f} {q32[1]:10d} {q1[1]:9d} "
              f"{q32[1] / max(q1[1], 1):9.2f} {w['busy_spin'] / w['spin']:10.2f} "
              f"{w['exits_wl'] / max(w['reqs_wl'], 1):10.2f}")
    print("dd in MiB/s; 'spin left' is the spin loop's rate beside 8 threads of random 64 KiB reads over its "
          "rate alone (1.00: I/O costs the guest no CPU)")
    for nic, w in res.items():
        frames, rtx = counters(w.get("net"), "tx_frames", "retransmits")
        inflight = re.search(r"\binflight_max=(\d+)", w.get("net") or "")
        print(f"{nic}: spin loop alone {w['spin']:.1f} Mturns/s, beside I/O {w['busy_spin']:.2f}; "
              f"{w['reqs_wl']} virtio-blk requests, {w['exits_wl']} VM exits in the workload; client "
              f"frames sent {frames}, retransmits {rtx}, most requests in flight "
              f"{inflight.group(1) if inflight else '1 (not counted)'}")


if __name__ == "__main__":
    main()
