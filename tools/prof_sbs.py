#!/usr/bin/env python3
"""Where a ferry client's (or server's) time goes during one phase of the
side-by-side F run (tools/bench_sbs.py): its QEMU's monitor is asked for
`info registers` every few milliseconds for SECONDS, and each RIP is named
by build/ferry.elf's symbols ("[linux kernel]" and "[guest user]" for the
guest's own).  Under TCG QEMU stores RIP only when a translated block
exits to its main loop, so a loop's time lands on the function that called
it last: read the split as rough (docs/testing.md, "Where the time goes").

    tools/prof_sbs.py NIC MTU [client|server] [PHASE] [SECONDS]

NIC is e1000 or virtio, PHASE one of the run's marks (read, write, qd32,
qd1, busy; default qd32), SECONDS 5.  Sampling starts 1.5 s after the
mark; qd32, qd1 and busy run for 8 s, and for a dd phase (read, write)
each dd moves the whole disk (256 MiB, several seconds) instead of the
table's 32 MiB.  Needs what `make bench` needs (root, network namespaces,
build/linux)."""
import bisect
import collections
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))

import ferryrun  # noqa: E402
import linux  # noqa: E402
import bench_remote  # noqa: E402
import bench_sbs  # noqa: E402
from bench_aoe import bridge, ferry_nic, mtu_arg  # noqa: E402
from test_aoe import Netns  # noqa: E402


def symbols(elf):
    syms = []
    out = subprocess.run(["nm", "-n", elf], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "tTwW":
            syms.append((int(p[0], 16), p[2]))
    return syms


def namer(syms, lo, hi):
    """RIP -> a name: ferry's function when inside [lo, hi) (its image),
    else the guest's kernel or user space."""
    addrs = [a for a, _ in syms]

    def name(rip):
        if rip >= 0xffff800000000000:
            return "[linux kernel]"
        if not lo <= rip < hi:
            return "[guest user]"
        i = bisect.bisect_right(addrs, rip) - 1
        return syms[i][1] if i >= 0 else "?"
    return name


def sample(sock_path, seconds, name):
    counts = collections.Counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    end = time.time() + seconds
    while time.time() < end:
        s.sendall(b"info registers\n")
        data = b""
        s.settimeout(2)
        while not re.search(rb"RIP=[0-9a-f]{16}", data):
            data += s.recv(65536)
        counts[name(int(re.search(rb"RIP=([0-9a-f]{16})", data).group(1), 16))] += 1
        time.sleep(0.003)
        s.settimeout(0.001)
        try:
            while s.recv(65536):  # the rest of this answer
                pass
        except OSError:
            pass
    s.close()
    return counts


def main():
    args = sys.argv[1:]
    if len(args) < 2 or args[0] not in ("e1000", "virtio"):
        sys.exit(__doc__)
    nic, mtu = args[0], int(args[1])
    who = args[2] if len(args) > 2 else "client"
    phase = args[3] if len(args) > 3 else "qd32"
    seconds = float(args[4]) if len(args) > 4 else 5.0
    if phase in ("read", "write"):
        _, qd, spin = bench_sbs.sizes()
        bench_sbs.sizes = lambda: (bench_sbs.DISK_MIB, qd, spin)
    elf = os.path.join(ferryrun.BUILD, "ferry.elf")
    syms = symbols(elf)
    name = namer(syms, syms[0][0], syms[-1][0] + 0x10000)
    tmp = tempfile.mkdtemp(prefix="ferry-prof-")
    sock_path = os.path.join(tmp, "monitor.sock")
    mon = ["-monitor", f"unix:{sock_path},server,nowait"]
    initrd = linux.test_initramfs(os.path.join(tmp, "initrd.gz"), bench_sbs.script(bench_sbs.SETUP_FERRY),
                                  extra={"ferry/fbench": (bench_remote.build_fbench(), 0o755)})
    model = ferry_nic(nic, mtu)
    img = bench_sbs.disk_image("prof.img")
    try:
        with Netns() as ns:
            bridge(ns, mtu)
            server = ferryrun.Background(ns.qemu(ferryrun.qemu_cmd(
                disk=img, guest_cmds=f"spin 0 {bench_sbs.SPIN_STEP_MS}",
                ferry_args=ferryrun.server_ferry_args(ferryrun.TEST_KEY, nic, mtu_arg(mtu)),
                extra=bench_sbs.tap_dev("tap1", model, ferryrun.SERVER_MAC) + (mon if who == "server" else []))))
            client = ferryrun.Background(ns.qemu(ferryrun.qemu_cmd(
                linux=ferryrun.Linux(os.path.join(linux.DEFAULT_DIR, "vmlinux"), initrd, bench_sbs.APPEND),
                ferry_args=ferryrun.client_ferry_args(ferryrun.TEST_CLIENT_KEY, nic, 60, mtu_arg(mtu)),
                extra=bench_sbs.tap_dev("tap0", model, ferryrun.CLIENT_MAC) + (mon if who == "client" else []))))
            try:
                if not client.wait_for(rf"BENCH-MARK {phase}\b", 600):
                    sys.exit(f"prof_sbs: no mark {phase!r} in the client's output")
                time.sleep(1.5)  # past the mark's own sleep
                counts = sample(sock_path, seconds, name)
                client.wait_for(r"bench-done", 600)
            finally:
                out = client.stop()
                server.stop()
    finally:
        os.unlink(img)
    n = sum(counts.values())
    print(f"{n} samples of the {who}'s RIP during {phase} ({nic}, MTU {mtu})")
    for k, v in counts.most_common(30):
        print(f"{100 * v / n:5.1f}% {k}")
    for line in out.output.splitlines():
        if line.startswith(f"{phase} ") or line.startswith("ferry: stats:"):
            print(line)


if __name__ == "__main__":
    main()
