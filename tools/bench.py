#!/usr/bin/env python3
"""`make bench`: throughput and cost of the trapped logical block device.

One run of ferry + guest under QEMU (software-emulated SVM/NPT) measures,
side by side:
  - raw device writes and reads (devbench: 1 MiB per request, no file system),
  - the same with 64 KiB requests,
  - a 32 MiB file written through the FAT32 file system and read back
    (sha256), i.e. what an application sees.
Rates come from the guest's TSC and ferry's calibrated TSC frequency;
requests and VM exits from the device's COMPLETED register and ferry's exit
counters (CPUID 0x40000003).  The absolute numbers depend on the host
(emulation); the ratios between rows of one run are what to compare.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import disks  # noqa: E402
import ferryrun  # noqa: E402

FILE_MIB = 32
RAW_MIB = 32

STATS = re.compile(r"^stats tsc=(\d+) tsc_khz=(\d+) exits=(\d+) npf_exits=(\d+) io_exits=(\d+) completed=(\d+)$")


def stats_lines(run):
    out = []
    for l in run.guest_lines():
        m = STATS.match(l)
        if m:
            out.append(tuple(int(x) for x in m.groups()))
    return out


def row(name, nbytes, a, b):
    secs = (b[0] - a[0]) / (a[1] * 1000.0)
    reqs = b[5] - a[5]
    exits = b[2] - a[2]
    npf = b[3] - a[3]
    mibps = nbytes / (1024 * 1024) / secs if secs > 0 else 0
    return {"name": name, "mibps": mibps, "secs": secs, "requests": reqs, "exits": exits, "npf": npf,
            "kib_per_req": nbytes / 1024 / reqs if reqs else 0}


def main():
    tmp = os.path.join(ROOT, "build", "bench")
    os.makedirs(tmp, exist_ok=True)
    raw = os.path.join(tmp, "raw.img")
    with open(raw, "wb") as f:
        f.truncate((RAW_MIB + 8) * 1024 * 1024)
    fs = disks.make_fat(os.path.join(tmp, "fs.img"), 32, FILE_MIB * 2 + 32)
    n = FILE_MIB * 1024 * 1024

    print(f"bench: raw device, {RAW_MIB} MiB each way (1 MiB and 64 KiB per request)")
    r1 = ferryrun.run_local(raw, f"devbench write {RAW_MIB} 1024; devbench read {RAW_MIB} 1024; "
                            f"devbench write {RAW_MIB} 64; devbench read {RAW_MIB} 64", timeout=900)
    print(f"bench: FAT32 file of {FILE_MIB} MiB: write, sync, sha256")
    r2 = ferryrun.run_local(fs.path, f"stats; write /BIG.BIN {n} 1; sync; stats; sha256 /BIG.BIN; stats",
                            timeout=900)
    for r in (r1, r2):
        if not r.passed():
            sys.exit("bench: a run failed:\n" + r.output[-3000:])
    s1, s2 = stats_lines(r1), stats_lines(r2)
    rows = [row("raw write, 1 MiB/request", RAW_MIB * 1024 * 1024, s1[0], s1[1]),
            row("raw read,  1 MiB/request", RAW_MIB * 1024 * 1024, s1[2], s1[3]),
            row("raw write, 64 KiB/request", RAW_MIB * 1024 * 1024, s1[4], s1[5]),
            row("raw read,  64 KiB/request", RAW_MIB * 1024 * 1024, s1[6], s1[7]),
            row(f"file write {FILE_MIB} MiB + sync", n, s2[0], s2[1]),
            row(f"file read {FILE_MIB} MiB (sha256)", n, s2[1], s2[2])]
    got = disks.Image(fs.path, 0).read("/BIG.BIN")
    if got != disks.splitmix64_bytes(n, 1):
        sys.exit("bench: the file on the image is not what the guest wrote")
    print()
    print(f"{'':34} {'MiB/s':>8} {'requests':>9} {'KiB/req':>8} {'exits':>7} {'exits/req':>10} {'npf/req':>8}")
    for r in rows:
        per = r["exits"] / r["requests"] if r["requests"] else 0
        npf = r["npf"] / r["requests"] if r["requests"] else 0
        print(f"{r['name']:34} {r['mibps']:8.1f} {r['requests']:9d} {r['kib_per_req']:8.0f} {r['exits']:7d} "
              f"{per:10.2f} {npf:8.2f}")
    base = rows[1]["mibps"]
    print()
    print("ratios (same run, same machine):")
    print(f"  raw read 64 KiB/req vs 1 MiB/req: {rows[3]['mibps'] / base:.2f}")
    print(f"  raw write 1 MiB/req vs raw read:  {rows[0]['mibps'] / base:.2f}")
    print(f"  file read (incl. sha256) vs raw read: {rows[5]['mibps'] / base:.2f}")
    print(f"  file write (incl. generator, sha256, sync) vs raw write: {rows[4]['mibps'] / rows[0]['mibps']:.2f}")
    print("exits/req counts every VM exit in the interval, console output included; npf/req counts the doorbell exits.")


if __name__ == "__main__":
    main()
