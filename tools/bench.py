#!/usr/bin/env python3
"""`make bench`: throughput and cost of the trapped logical block device,
local and remote.

One run of ferry + guest under QEMU (software-emulated SVM/NPT) measures,
side by side:
  - raw device writes and reads (devbench: 1 MiB per request, no file system),
  - the same with 64 KiB requests,
  - raw writes and reads of 256 KiB requests with the disk on each
    controller ferry drives (AHCI, PIIX IDE, NVMe, virtio-blk), as ratios
    against AHCI,
  - a 32 MiB file written through the FAT32 file system and read back
    (sha256), i.e. what an application sees.
  - remote: the same raw device rows through a server/client pair, for
    each NIC, with Ethernet frames per request from the client's protocol
    counters,
  - the frame pump between two ferries (no disk, no guest) on the same
    wire: the link's ceiling, against which the remote rows are a ratio;
  - Linux on ferry's virtio-blk against plain QEMU's (tools/bench_linux.py);
  - Linux on a ferry client: dd, random reads 32 and 1 deep, the CPU left
    to the guest beside I/O, exits per request (tools/bench_remote.py);
  - ATA over Ethernet (tools/bench_aoe.py): a ferry client against vblade,
    Linux's initiator against a ferry server, and Linux's initiator against
    vblade as the reference, on the same emulated link;
  - remote virtio-blk with 32 requests in flight against one, from ferry's
    own guest (tools/bench_deepq.py);
  - crypto: bytes/us of today's HMAC-SHA-256 frame MAC against
    ChaCha20-Poly1305 (lib/ built with ferry's flags,
    tests/bench/crypto_bench.c), on the host and under TCG: qemu-x86_64
    (QEMU's translator without the system emulator's soft MMU), and the
    guest's cryptobench under ferry in QEMU (soft MMU, as ferry runs).
  - issue 13's side-by-side table (tools/bench_sbs.py): Linux on a ferry
    client against Linux's AoE initiator on vblade, and the frame pump, on
    the same tap link for each NIC at MTU 1500 and 9000, with ratios.
`tools/bench.py --crypto` runs only the crypto rows, `--aoe` only the AoE
rows, `--sbs` only the side-by-side table (with `--nic NIC`, `--mtu MTU`
for one link), `--disks` only the raw device on each disk controller
(AHCI, IDE, NVMe, virtio-blk).  FERRY_BENCH_QUICK=1 shrinks the AoE and
side-by-side runs to a few MiB and seconds, for trying the harness.
Rates come from the guest's TSC and ferry's calibrated TSC frequency;
requests and VM exits from the device's COMPLETED register and ferry's exit
counters (CPUID 0x40000003).  The absolute numbers depend on the host
(emulation); the ratios between rows of one run are what to compare.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import disks  # noqa: E402
import ferryrun  # noqa: E402
import bench_linux  # noqa: E402
import bench_deepq  # noqa: E402
import bench_remote  # noqa: E402
import bench_aoe  # noqa: E402
import bench_sbs  # noqa: E402

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


NET = re.compile(r"ferry: net: .*")


def net_frames(run):
    """Frames the client sent and received (its protocol counters)."""
    m = re.search(r"ferry: net: (.*)", run.output)
    fields = dict(kv.split("=") for kv in m.group(1).split()) if m else {}
    return int(fields.get("tx_frames", 0)) + int(fields.get("rx_frames", 0))


def remote_rows(nic, raw):
    rows = []
    for op in ("write", "read"):
        client, _ = ferryrun.run_pair(raw, f"devbench {op} {RAW_MIB} 256", nic=nic, timeout=900)
        if not client.passed():
            sys.exit(f"bench: remote {op} over {nic} failed:\n" + client.output[-3000:])
        s = stats_lines(client)
        r = row(f"remote {op} {nic}, 256 KiB/req", RAW_MIB * 1024 * 1024, s[0], s[1])
        r["frames"] = net_frames(client)
        rows.append(r)
    return rows


DISK_IF_MIB = 128  # per direction: at emulated speeds 32 MiB takes tens of ms, too noisy
DISK_IF_TRIES = 3  # the best of these, for each row


def disk_if_rows(tmp):
    """Raw write and read through the logical device with the disk on each
    controller ferry has a driver for (ferryrun.DISK_IFS), 256 KiB per
    request, the best of DISK_IF_TRIES runs."""
    raw = raw_image(tmp, DISK_IF_MIB, "raw-disks.img")
    rows = {}
    for disk_if in ferryrun.DISK_IFS:
        best = None
        for _ in range(DISK_IF_TRIES):
            r = ferryrun.run_local(raw, f"devbench write {DISK_IF_MIB} 256; devbench read {DISK_IF_MIB} 256",
                                   timeout=900, disk_if=disk_if)
            if not r.passed():
                sys.exit(f"bench: raw device on {disk_if} failed:\n" + r.output[-3000:])
            s = stats_lines(r)
            got = [row(f"raw {op} {disk_if}, 256 KiB/req", DISK_IF_MIB * 1024 * 1024, s[2 * i], s[2 * i + 1])
                   for i, op in enumerate(("write", "read"))]
            best = got if best is None else [max(a, b, key=lambda x: x["mibps"]) for a, b in zip(best, got)]
        rows[disk_if] = best
    return rows


def print_disk_if(rows):
    print(f"{'':34} {'MiB/s':>8} {'requests':>9} {'exits/req':>10}")
    for disk_if in rows:
        for r in rows[disk_if]:
            print(f"{r['name']:34} {r['mibps']:8.1f} {r['requests']:9d} {r['exits'] / r['requests']:10.2f}")
    base = rows["ahci"]
    print("ratios against AHCI (same run, same machine):")
    for disk_if in rows:
        if disk_if != "ahci":
            w, rd = (rows[disk_if][i]["mibps"] / base[i]["mibps"] for i in (0, 1))
            print(f"  {disk_if}: write {w:.2f}, read {rd:.2f}")


def raw_image(tmp, mib=RAW_MIB, name="raw.img"):
    raw = os.path.join(tmp, name)
    with open(raw, "wb") as f:
        f.truncate((mib + 8) * 1024 * 1024)
    return raw


def pump_rate(model, size=1514, window=32, frames=20000):
    """The frame pump's rate between two ferries on the UDP wire: frames/s
    and MiB/s each way.  model is the QEMU NIC (ferryrun.QEMU_NIC); the
    window keeps a burst within the host's UDP socket buffer, which drops
    what does not fit (about 128 KiB)."""
    ps, pc = ferryrun.free_udp_ports(2)
    return bench_sbs.pump(model.split("-")[0], size, window, frames,
                          ferryrun.nic_args(model, ps, pc, mac=ferryrun.SERVER_MAC),
                          ferryrun.nic_args(model, pc, ps, mac=ferryrun.CLIENT_MAC))


CRYPTO = re.compile(r"^crypto: size=(\d+) hmac_sha256=([\d.]+) aead_seal=([\d.]+) aead_open=([\d.]+) "
                    r"memcpy=([\d.]+) bytes/us")
FRAME = re.compile(r"^frame: size=(\d+) data=(\d+) seal=([\d.]+) open=([\d.]+) bytes/us, "
                   r"of aead_seal=([\d.]+) aead_open=([\d.]+)")


def crypto_rows():
    """The crypto benchmark natively, under qemu-x86_64 (TCG without a soft
    MMU) and as the guest's cryptobench under ferry in QEMU (TCG with its
    soft MMU, the way ferry's own code runs there): per (where, size),
    bytes/us of HMAC-SHA-256, aead_seal, aead_open and memcpy; and per
    (where, frame size) of the first two, bytes/us of net/proto.c's DATA
    frame path (server's seal, client's open) beside aead_seal/aead_open."""
    exe = os.path.join(ferryrun.BUILD, "bench", "crypto_bench")
    if not os.path.exists(exe):
        sys.exit(f"bench: {exe} is missing (make {os.path.relpath(exe, ROOT)})")
    outputs = []
    for where, cmd in (("host", [exe, "--ms", "3000"]), ("qemu-user TCG", ["qemu-x86_64", exe, "--ms", "3000"])):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        outputs.append((where, " ".join(cmd), r.returncode == 0, r.stdout + r.stderr))
    r = ferryrun.run(ferryrun.qemu_cmd(guest_cmds="cryptobench 3000"), timeout=300)
    outputs.append(("QEMU TCG, guest", "the guest's cryptobench", r.passed(), "\n".join(r.guest_lines())))
    rows, frames = [], []
    for where, what, ok, out in outputs:
        got = [m for m in (CRYPTO.match(l) for l in out.splitlines()) if m]
        fr = [m for m in (FRAME.match(l) for l in out.splitlines()) if m]
        if not ok or len(got) != 2 or (where != "QEMU TCG, guest" and len(fr) != 2):
            sys.exit(f"bench: {what} failed:\n{out[-3000:]}")
        for m in got:
            rows.append((where, int(m.group(1))) + tuple(float(m.group(i)) for i in range(2, 6)))
        for m in fr:
            frames.append((where, int(m.group(1)), int(m.group(2))) + tuple(float(m.group(i)) for i in range(3, 7)))
    return rows, frames


def print_crypto(tables):
    rows, frames = tables
    print("crypto: bytes/\u00b5s of frame body, HMAC-SHA-256 (the old MAC) vs ChaCha20-Poly1305,")
    print("        and memcpy (one pass over the bytes); ferry's lib/ code and flags (-O2 -mno-sse):")
    print("        on the host, under qemu-user's TCG, and in ferry's guest under QEMU's TCG with")
    print("        its soft MMU (where ferry's code runs)")
    print(f"{'':34} {'HMAC':>8} {'seal':>8} {'open':>8} {'memcpy':>8} {'seal/HMAC':>10} {'open/HMAC':>10}")
    for where, size, h, e, o, c in rows:
        print(f"{where + f', {size}-byte body':34} {h:8.1f} {e:8.1f} {o:8.1f} {c:8.0f} {e / h:10.2f} {o / h:10.2f}")
    print()
    print("frame: bytes/\u00b5s of data through net/proto.c, a DATA frame sealed as the server")
    print("       does (net_encode) and opened as the client does into 4 KiB pages")
    print("       (net_decode_keep, net_open_*), beside the bare AEAD of as many bytes")
    print(f"{'':34} {'seal':>8} {'open':>8} {'aead_seal':>10} {'aead_open':>10} {'seal/':>6} {'open/':>6}")
    for where, size, n, fs, fo, e, o in frames:
        print(f"{where + f', {size}-byte frame':34} {fs:8.1f} {fo:8.1f} {e:10.1f} {o:10.1f} {fs / e:6.2f} {fo / o:6.2f}")
    print()


def main():
    if "--crypto" in sys.argv[1:]:
        print_crypto(crypto_rows())
        return
    if "--aoe" in sys.argv[1:]:
        bench_aoe.main()
        return
    if "--sbs" in sys.argv[1:]:
        bench_sbs.main(sys.argv[1:])
        return
    tmp = os.path.join(ferryrun.BUILD, "bench")
    os.makedirs(tmp, exist_ok=True)
    raw = raw_image(tmp)
    if "--disks" in sys.argv[1:]:
        print_disk_if(disk_if_rows(tmp))
        return
    crypto = crypto_rows()
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
    print(f"bench: raw device on each disk controller ({', '.join(ferryrun.DISK_IFS)}), {DISK_IF_MIB} MiB each way")
    by_if = disk_if_rows(tmp)
    print("bench: remote raw device through a server/client pair, and the frame pump, for e1000 and virtio")
    remote = {nic: remote_rows(nic, raw) for nic in ("e1000", "virtio")}
    pumps = {nic: pump_rate(nic) for nic in ("e1000", "virtio")}
    jumbo = {"e1000": pump_rate("e1000", 9014, 6, 5000), "virtio": pump_rate("virtio-jumbo", 9014, 6, 5000)}
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
    print()
    print_disk_if(by_if)
    print()
    print(f"{'':34} {'MiB/s':>8} {'requests':>9} {'KiB/req':>8} {'exits/req':>10} {'frames/req':>11}")
    for nic in remote:
        for r in remote[nic]:
            print(f"{r['name']:34} {r['mibps']:8.1f} {r['requests']:9d} {r['kib_per_req']:8.0f} "
                  f"{r['exits'] / r['requests']:10.2f} {r['frames'] / r['requests']:11.1f}")
    print()
    for nic, (fps, mibps) in pumps.items():
        print(f"frame pump {nic}: {fps} frames/s of 1514 bytes, {mibps:.1f} MiB/s each way (the link's ceiling)")
    for nic, (fps, mibps) in jumbo.items():
        print(f"frame pump {nic}: {fps} frames/s of 9014 bytes, {mibps:.1f} MiB/s each way "
              f"({mibps / pumps[nic][1]:.2f} of 1514-byte frames; window 6 frames)")
    base = rows[1]["mibps"]
    print()
    print("ratios (same run, same machine):")
    print(f"  raw read 64 KiB/req vs 1 MiB/req: {rows[3]['mibps'] / base:.2f}")
    print(f"  raw write 1 MiB/req vs raw read:  {rows[0]['mibps'] / base:.2f}")
    print(f"  file read (incl. sha256) vs raw read: {rows[5]['mibps'] / base:.2f}")
    print(f"  file write (incl. generator, sha256, sync) vs raw write: {rows[4]['mibps'] / rows[0]['mibps']:.2f}")
    for nic in remote:
        ceiling = pumps[nic][1]
        for r in remote[nic]:
            print(f"  {r['name']} vs the {nic} frame pump: {r['mibps'] / ceiling:.2f}")
        print(f"  remote read {nic} vs local raw read (64 KiB/req): {remote[nic][1]['mibps'] / rows[3]['mibps']:.2f}")
    print("exits/req counts every VM exit in the interval, console output included; npf/req counts the doorbell exits.")
    print("frames/req counts the client's frames in both directions over the whole run (discovery included).")
    print()
    print_crypto(crypto)
    bench_linux.main()
    bench_deepq.main()
    bench_remote.main()
    print()
    bench_aoe.main()
    print()
    bench_sbs.main(sys.argv[1:])


if __name__ == "__main__":
    main()
