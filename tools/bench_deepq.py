#!/usr/bin/env python3
"""Remote I/O with many requests in flight (make bench, or alone).

A server/client pair for each NIC; the client's guest runs guest/vblk_qd.c's
`vblk-qd SEED N SPAN QD` at queue depth 1 and at 32: N random-offset writes
of 1-64 sectors, a flush, the span read back in 32 KiB requests, N random
reads.  The rate is over the guest's TSC between `stats` lines (emulated
time, so only the ratio between the two depths means much); exits/req is
every VM exit of the interval over the virtio-blk requests in it.  Linux
on a ferry client is tools/bench_remote.py."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import disks  # noqa: E402
import ferryrun  # noqa: E402

SEED, N, SPAN = 5, 600, 8192
STATS = re.compile(r"^stats tsc=(\d+) tsc_khz=(\d+) exits=(\d+) ")


def workload():
    """(requests, bytes) of one vblk-qd run (guest/vblk_qd.c's generator)."""
    next_request, nbytes = disks.vblk_qd_plan(SEED, 64), 0
    for _ in range(2 * N):  # the writes, then the reads
        nbytes += next_request(SPAN)[1] * 512
    return 2 * N + 1 + (SPAN + 63) // 64, nbytes + SPAN * 512


def rows(nic, img):
    cmds = "; ".join(["stats"] + [f"vblk-qd {SEED} {N} {SPAN} {qd}; stats" for qd in (1, 32)])
    client, _ = ferryrun.run_pair(img, cmds, nic=nic, timeout=1200)
    if not client.passed():
        sys.exit(f"bench: deep-queue run over {nic} failed:\n" + client.output[-3000:])
    s = [tuple(int(x) for x in STATS.match(l).groups()) for l in client.guest_lines() if STATS.match(l)]
    net = re.search(r"ferry: net: .*inflight_max=(\d+)", client.output)
    reqs, nbytes = workload()
    out = []
    for qd, a, b in ((1, s[0], s[1]), (32, s[1], s[2])):
        secs = (b[0] - a[0]) / (a[1] * 1000.0)
        out.append({"name": f"vblk-qd {nic}, depth {qd}", "mibps": nbytes / 1048576 / secs, "requests": reqs,
                    "exits_per_req": (b[2] - a[2]) / reqs})
    return out, int(net.group(1)) if net else 0


def main():
    tmp = os.path.join(ferryrun.BUILD, "bench")
    os.makedirs(tmp, exist_ok=True)
    img = os.path.join(tmp, "deepq.img")
    with open(img, "wb") as f:
        f.write(disks.random_bytes(SPAN * 512, 3))
    print(f"bench: remote virtio-blk with requests in flight (vblk-qd, {N} writes + flush + span + {N} reads)")
    got = {nic: rows(nic, img) for nic in ("e1000", "virtio")}
    print(f"{'':30} {'MiB/s':>8} {'requests':>9} {'exits/req':>10}")
    for nic, (rs, most) in got.items():
        for r in rs:
            print(f"{r['name']:30} {r['mibps']:8.1f} {r['requests']:9d} {r['exits_per_req']:10.2f}")
        print(f"  {nic}: depth 32 vs depth 1: {rs[1]['mibps'] / rs[0]['mibps']:.2f}; client inflight_max={most}")


if __name__ == "__main__":
    main()
