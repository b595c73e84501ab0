#!/usr/bin/env python3
"""The ATA over Ethernet rows of `make bench` (also runnable alone:
tools/bench_aoe.py [--quick], or FERRY_BENCH_QUICK=1: e1000 at MTU
1500 only), side by side in one run on the same
emulated link: QEMU's tap back end in a network namespace this script
makes and removes (tests/emu/test_aoe.py's Netns), the NICs e1000 and
virtio-net.

  (a) a ferry client (protocol = aoe) against Debian's vblade:
      devbench write and read through the logical device;
  (b) Linux's initiator (Debian's kernel in plain QEMU, aoe.ko) against a
      ferry server (aoe = on), the two QEMUs' taps on a bridge;
  (c) Linux's initiator against vblade: the reference, for each NIC at
      MTU 1500 and 9000.

For each: MiB/s each way and Ethernet frames per MiB (both directions,
from the initiator's counters: the guest's /sys/class/net/eth0/statistics
for Linux, ferry's AoE client counters for ferry).  Linux's rows are dd
with O_DIRECT and 1 MiB blocks timed on the guest's clock (/proc/uptime);
ferry's devbench rows on its TSC.  Linux's aoe debugfs file (window
"maxout", its RTT estimate) is printed after each run, so a slow target
shows why.  ferry's server makes each write durable before it answers
(Linux never flushes): one disk flush per batch, which QEMU turns into an
fdatasync of the image on the host; vblade writes into the host's page
cache.  So (b) is also run once with its image on tmpfs, where that
fdatasync costs nothing.  Only the ratios between rows of one run mean
anything."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import ferryrun  # noqa: E402
import linux  # noqa: E402
from test_aoe import Netns, tap_nic, APPEND  # noqa: E402

MIB = 32  # per direction
SHELF, SLOT = 1, 0

# The Linux initiator's link at {mtu}, and its disk $D once discovered.
AOE_SETUP = """ip link set eth0 mtu {mtu}
ip link set eth0 up
mount -t debugfs none /sys/kernel/debug 2>/dev/null
D=/dev/etherd/e{shelf}.{slot}
i=0
while [ ! -b $D ] && [ $i -lt 60 ]; do
	echo > /dev/etherd/discover 2>/dev/null
	sleep 1; i=$((i+1))
done
[ -b $D ] || {{ echo "BENCH no target"; exit 1; }}
"""
LINUX_SCRIPT = "#!/bin/sh\n" + AOE_SETUP + """S=/sys/class/net/eth0/statistics
# Warm up: the window grows like slow start.
dd if=$D of=/dev/null bs=1M count=4 iflag=direct 2>/dev/null
for op in read write; do
	if [ $op = read ]; then a="if=$D of=/dev/null iflag=direct"; else a="if=/dev/zero of=$D oflag=direct"; fi
	t0=$(cut -d' ' -f1 /proc/uptime); p0=$(($(cat $S/tx_packets) + $(cat $S/rx_packets)))
	dd $a bs=1M count={mib} 2>/dev/null || echo "BENCH $op failed"
	t1=$(cut -d' ' -f1 /proc/uptime); p1=$(($(cat $S/tx_packets) + $(cat $S/rx_packets)))
	echo "BENCH $op $t0 $t1 $((p1 - p0))"
	cat /sys/kernel/debug/aoe/e{shelf}.{slot} 2>/dev/null | sed 's/^/BENCH-DEBUG /'
done
"""
LINUX_ROW = re.compile(r"^BENCH (read|write) ([0-9.]+) ([0-9.]+) (\d+)\s*$", re.M)


def linux_cmd(initrd, nic, extra_net):
    return (["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "qemu64", "-m", "256M",
             "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
             "-kernel", os.path.join(linux.DEFAULT_DIR, "vmlinux"), "-initrd", initrd, "-append", APPEND]
            + extra_net)


def linux_rows(out, what):
    rows = {}
    for op, t0, t1, frames in LINUX_ROW.findall(out):
        secs = max(float(t1) - float(t0), 0.01)
        rows[op] = {"mibps": MIB / secs, "frames_per_mib": int(frames) / MIB}
    if set(rows) != {"read", "write"} or "BENCH read failed" in out or "BENCH write failed" in out:
        sys.exit(f"bench: {what} failed:\n" + out[-3000:])
    # Of Linux's aoe debugfs file, the target's line (MAC:nout:maxout:nframes,
    # maxout being the window) and its ssthresh, after each direction.
    rows["debug"] = [l[len("BENCH-DEBUG "):].strip() for l in out.splitlines()
                     if re.match(r"BENCH-DEBUG \s*([0-9a-f]{12}:\d+:\d+:\d+|ssthresh:\d+)\s*$", l)]
    return rows


def disk_image(tmp, name):
    img = os.path.join(tmp, name)
    with open(img, "wb") as f:
        f.truncate((MIB + 8) << 20)
    return img


def initrd_for(tmp, mtu, shelf, slot):
    return linux.test_initramfs(os.path.join(tmp, f"aoe-bench-{mtu}.gz"),
                                LINUX_SCRIPT.format(mtu=mtu, mib=MIB, shelf=shelf, slot=slot))


def linux_vblade(tmp, nic, mtu):
    """(c) Linux's initiator against vblade on the same tap."""
    img = disk_image(tmp, "aoe-vblade.img")
    initrd = initrd_for(tmp, mtu, SHELF, SLOT)
    with Netns() as ns:
        ns.ip("link", "set", "tap0", "mtu", str(mtu))
        ns.start_vblade(img, SHELF, SLOT)
        r = ferryrun.run(ns.qemu(linux_cmd(initrd, nic, tap_nic(nic))), timeout=900)
    return linux_rows(r.output, f"Linux initiator against vblade ({nic}, MTU {mtu})")


def ferry_nic(nic, mtu):
    """QEMU's device for a ferry on nic: virtio-net reports an MTU of 9000
    (host_mtu) for jumbo frames, else ferry's driver stays at 1514 bytes;
    e1000 always carries them."""
    return "virtio-jumbo" if nic == "virtio" and mtu > 1500 else nic


def mtu_arg(mtu):
    """ferry's mtu= for a link of mtu: its frames stay at 1514 bytes
    without it, whatever the NIC carries (docs/configuration.md)."""
    return f"mtu={mtu}" if mtu != 1500 else ""


def bridge(ns, mtu):
    """tap0 (the initiator's) and tap1 on a bridge br0 in ns, at mtu."""
    ns.ip("tuntap", "add", "dev", "tap1", "mode", "tap")
    ns.ip("link", "add", "br0", "type", "bridge")
    for dev in ("tap0", "tap1"):
        ns.ip("link", "set", dev, "mtu", str(mtu))
        ns.ip("link", "set", dev, "master", "br0")
        ns.ip("link", "set", dev, "up")
    ns.ip("link", "set", "br0", "up")


def linux_ferry(tmp, nic, mtu=1500, server_args="", spin=0, img_dir=None):
    """(b) Linux's initiator against a ferry server: each QEMU on its own
    tap, both taps on a bridge in the namespace.  With spin, the server's
    guest stops after that many seconds and ferry's AoE counters (its
    polls and batches) come with the rows.  img_dir: where the served
    image lives (/dev/shm: a host flush costs nothing there)."""
    img = disk_image(img_dir or tmp, "aoe-ferry.img")
    initrd = initrd_for(tmp, mtu, 0, 0)
    with Netns() as ns:
        bridge(ns, mtu)
        server_net = ["-netdev", "tap,id=n0,ifname=tap1,script=no,downscript=no,vnet_hdr=off"] + \
            ferryrun.nic_device(ferry_nic(nic, mtu), ferryrun.SERVER_MAC)
        server = ferryrun.Background(ns.qemu(ferryrun.qemu_cmd(
            disk=img, guest_cmds=f"spin {spin}",
            ferry_args=ferryrun.server_ferry_args(ferryrun.TEST_KEY, nic, " ".join(
                filter(None, ("aoe=on", mtu_arg(mtu), server_args)))),
            extra=server_net)))
        try:
            if not server.wait_for(r"aoe: serving", 120):
                sys.exit("bench: the ferry AoE server did not start:\n" + server.text()[-3000:])
            r = ferryrun.run(ns.qemu(linux_cmd(initrd, nic, tap_nic(nic))), timeout=900)
            if spin:
                server.wait_for(r"aoe: \d+ polls", spin + 60)
        finally:
            s = server.stop()
    rows = linux_rows(r.output, f"Linux initiator against a ferry server ({nic})")
    rows["server"] = [l for l in s.output.splitlines() if "aoe: " in l and ("polls" in l or "rx " in l)]
    if img_dir:
        os.unlink(img)
    return rows


AOE_STATS = re.compile(r"aoe: tx (\d+) rx (\d+) retransmits (\d+)")
STATS = re.compile(r"^stats tsc=(\d+) tsc_khz=(\d+) ")


def ferry_vblade(tmp, nic, mtu=1500):
    """(a) a ferry client against vblade: devbench through the logical
    device, 1 MiB per request, one run per direction (the client's frame
    counters cover a whole run)."""
    img = disk_image(tmp, "aoe-vblade.img")
    rows = {}
    for op in ("write", "read"):
        with Netns() as ns:
            ns.ip("link", "set", "tap0", "mtu", str(mtu))
            ns.start_vblade(img, SHELF, SLOT)
            r = ferryrun.run(ns.qemu(ferryrun.qemu_cmd(
                guest_cmds=f"devbench {op} {MIB} 1024",
                ferry_args=f"loglevel=info role=client protocol=aoe target=e{SHELF}.{SLOT} nic={nic} "
                           f"discover_timeout=60 {mtu_arg(mtu)}".strip(),
                extra=tap_nic(ferry_nic(nic, mtu)))), timeout=900)
        s = [m.groups() for m in (STATS.match(l) for l in r.guest_lines()) if m]
        a = AOE_STATS.search(r.output)
        if not r.passed() or len(s) < 2 or not a:
            sys.exit(f"bench: ferry client against vblade ({nic}, {op}) failed:\n" + r.output[-3000:])
        secs = (int(s[1][0]) - int(s[0][0])) / (int(s[0][1]) * 1000.0)
        rows[op] = {"mibps": MIB / secs, "frames_per_mib": (int(a.group(1)) + int(a.group(2))) / MIB,
                    "retransmits": int(a.group(3))}
    return rows


def run_all(tmp, quick=False):
    table = []
    nics = ("e1000",) if quick else ("e1000", "virtio")
    for nic in nics:
        table.append((f"(c) Linux -> vblade, {nic}, MTU 1500", linux_vblade(tmp, nic, 1500)))
        if not quick:
            table.append((f"(c) Linux -> vblade, {nic}, MTU 9000", linux_vblade(tmp, nic, 9000)))
        table.append((f"(b) Linux -> ferry server, {nic}, MTU 1500", linux_ferry(tmp, nic)))
        if nic == "e1000":
            table.append((f"(b) ... image on tmpfs, {nic}, MTU 1500", linux_ferry(tmp, nic, img_dir="/dev/shm")))
        table.append((f"(a) ferry client -> vblade, {nic}, MTU 1500", ferry_vblade(tmp, nic)))
        if not quick:
            table.append((f"(b) Linux -> ferry server, {nic}, MTU 9000", linux_ferry(tmp, nic, 9000)))
            table.append((f"(a) ferry client -> vblade, {nic}, MTU 9000", ferry_vblade(tmp, nic, 9000)))
    return table


def print_table(table):
    print(f"ATA over Ethernet, {MIB} MiB each way (Linux: dd O_DIRECT 1 MiB; ferry: devbench 1 MiB/request)")
    print(f"{'':44} {'read MiB/s':>10} {'write MiB/s':>11} {'frames/MiB r':>12} {'frames/MiB w':>12}")
    for name, r in table:
        print(f"{name:44} {r['read']['mibps']:10.1f} {r['write']['mibps']:11.1f} "
              f"{r['read']['frames_per_mib']:12.0f} {r['write']['frames_per_mib']:12.0f}")
    def link(name):
        return tuple(name.split(", ")[1:3])  # (NIC, MTU)
    refs = {link(name): r for name, r in table if name.startswith("(c)")}
    print("ratios against Linux -> vblade on the same NIC and MTU (same run):")
    for name, r in table:
        if name.startswith("(c)") or link(name) not in refs:
            continue
        ref = refs[link(name)]
        print(f"  {name}: read {r['read']['mibps'] / ref['read']['mibps']:.2f}, "
              f"write {r['write']['mibps'] / ref['write']['mibps']:.2f}")
    print("Linux's window after the read and the write (debugfs: target MAC:outstanding:window:frames, ssthresh):")
    for name, r in table:
        if r.get("debug"):
            print(f"  {name:44} {'  '.join(r['debug'])}")


def main():
    if os.geteuid() != 0:
        print("bench: the AoE rows need root (network namespaces, taps): skipped")
        return
    tmp = os.path.join(ferryrun.BUILD, "bench")
    os.makedirs(tmp, exist_ok=True)
    print_table(run_all(tmp, quick="--quick" in sys.argv[1:] or os.environ.get("FERRY_BENCH_QUICK") == "1"))


if __name__ == "__main__":
    main()
