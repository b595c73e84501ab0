"""Two machines: a server ferry owns the disk, a diskless client ferry's
guest reads and writes files on it over Ethernet (the ferry protocol, both
NICs).  Checked like the local tests, plus what only a network can break:
start order, a wrong key, a server that dies, and the frames on the wire."""
import hashlib
import hmac
import os
import re
import struct
import time

import disks
import ferryrun
from registry import test
from test_local import expect_ok, file_roundtrip

NICS = ("e1000", "virtio")
ETHERTYPE = 0x88B5
HDR = struct.Struct("<BBHHHQQQQ")  # net/proto.h struct net_hdr, at offset 14
MAC_LEN = 16
FRAME_MAX = 1514


def pair_runner(nic, pcap=None, checks=None):
    def run(img, cmds):
        client, server = ferryrun.run_pair(img, cmds, nic=nic, timeout=400, pcap=pcap)
        assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
        assert client.find(r"client: importing .* from net:"), client.output[-3000:]
        # The server's own guest kept running while it served the disk.
        spins = [int(m) for m in re.findall(r"^spin \d+ \d+ ms work=(\d+)", server.output, re.M)]
        assert len(spins) >= 2 and spins[-1] > spins[0], "server guest made no progress:\n" + server.output[-2000:]
        if checks:
            checks(client, server)
        return client
    return run


def pair_files(tmp, nic, fat):
    file_roundtrip(tmp, fat, "none" if fat == 32 else "mbr", 64 if fat == 32 else 48, pair_runner(nic))


@test
def pair_e1000_fat32_files(tmp):
    pair_files(tmp, "e1000", 32)


@test
def pair_e1000_fat16_files(tmp):
    pair_files(tmp, "e1000", 16)


@test
def pair_virtio_fat32_files(tmp):
    pair_files(tmp, "virtio", 32)


@test
def pair_virtio_fat16_files(tmp):
    pair_files(tmp, "virtio", 16)


def read_pcap(path):
    """Frames of a classic libpcap file (what QEMU's filter-dump writes)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data, 0)[0]
    assert magic == 0xA1B2C3D4, f"not a pcap file ({magic:#x})"
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack_from("<IIII", data, off)
        off += 16
        frames.append((data[off:off + incl], orig))
        off += incl
    return frames


def check_wire(frames, key):
    """Every frame is a ferry frame that parses, fits the MTU and carries a
    valid MAC (docs/protocol.md)."""
    assert frames, "nothing was captured"
    for i, (f, orig) in enumerate(frames):
        assert orig == len(f), f"frame {i} truncated in the capture"
        assert len(f) <= FRAME_MAX, f"frame {i} is {len(f)} bytes, over the {FRAME_MAX}-byte MTU"
        etype = struct.unpack_from(">H", f, 12)[0]
        assert etype == ETHERTYPE, f"frame {i}: EtherType {etype:#x}"
        version, mtype, flags, blen, *_ = HDR.unpack_from(f, 14)
        assert version == 1 and 1 <= mtype <= 9, f"frame {i}: version {version} type {mtype}"
        assert flags & ~0x3 == 0, f"frame {i}: unknown flags {flags:#x}"
        assert 14 + HDR.size + blen + MAC_LEN == len(f), f"frame {i}: body length {blen} vs frame {len(f)}"
        mac = hmac.new(key, f[:-MAC_LEN], hashlib.sha256).digest()[:MAC_LEN]
        assert mac == f[-MAC_LEN:], f"frame {i}: MAC does not verify"


def capture_every_frame_parses(tmp, nic):
    pcap = os.path.join(tmp, "wire.pcap")
    data = disks.random_bytes(700000, 5)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    client, server = ferryrun.run_pair(img.path, "sha256 /A.BIN; write /B.BIN 500001 4; sync", nic=nic,
                                       timeout=120, pcap=pcap)
    assert client.passed(), client.output[-3000:]
    assert expect_ok(client, "sha256 /A.BIN").split()[0] == disks.sha256(data)
    frames = read_pcap(pcap)
    check_wire(frames, bytes.fromhex(ferryrun.TEST_KEY))
    sizes = sorted(len(f) for f, _ in frames)
    assert sizes[-1] == FRAME_MAX, f"data frames do not fill the MTU (largest {sizes[-1]})"


def client_started_first(tmp, nic):
    """The client boots alone, keeps asking, and finds the server when it
    comes up."""
    data = disks.random_bytes(50000, 6)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    pair = ferryrun.Pair(img.path, "sha256 /A.BIN", nic=nic)
    try:
        pair.start_client()
        assert pair.client.wait_for(r"client: looking for a server", 30), pair.client.text()
        time.sleep(3)
        assert pair.client.proc.poll() is None, "client gave up:\n" + pair.client.text()
        pair.start_server()
        client, _ = pair.finish(120)
    finally:
        for b in (pair.client, pair.server):
            if b and b.proc.poll() is None:
                b.proc.kill()
    assert client.passed(), client.output[-3000:]
    assert expect_ok(client, "sha256 /A.BIN").split()[0] == disks.sha256(data)


def wrong_key_touches_nothing(tmp, nic):
    data = disks.random_bytes(20000, 7)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    before = img.digest()
    wrong = "ffeeddccbbaa99887766554433221100"
    client, server = ferryrun.run_pair(img.path, "sha256 /A.BIN; write /B.BIN 1000 1", nic=nic,
                                       client_key=wrong, discover_timeout=4, timeout=120)
    # A server cannot answer a frame it cannot authenticate, so the client
    # only learns that nobody answered; the server names the cause.
    assert client.find(r"client: no server answered in 4 s.*same key"), client.output[-3000:]
    assert server.find(r"server: \d+ frames failed authentication so far"), server.output[-3000:]
    assert not client.passed(), "the guest succeeded without a disk?"
    assert img.digest() == before, "the image changed"


def server_killed_mid_run(tmp, nic):
    """A server that dies for good: past the client's dead time (5 s here,
    180 s by default) the client's guest gets error statuses and finishes;
    it never hangs."""
    data = disks.random_bytes(2 * 1024 * 1024, 8)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    cmds = "sha256 /A.BIN; spin 2; sha256 /A.BIN; cp /A.BIN /C.BIN; ls /"
    pair = ferryrun.Pair(img.path, cmds, nic=nic, client_args="dead_time=5")
    try:
        pair.start_server()
        pair.start_client()
        assert pair.client.wait_for(r"^ok sha256 /A.BIN", 60), pair.client.text()[-3000:]
        pair.server.proc.kill()
        t0 = time.monotonic()
        client, _ = pair.finish(120)
    finally:
        for b in (pair.client, pair.server):
            if b and b.proc.poll() is None:
                b.proc.kill()
    assert not client.timed_out, "the client hung:\n" + client.output[-3000:]
    assert client.find(r"^result: fail$"), client.output[-3000:]
    assert client.find(r"^err (sha256|cp|ls) .*: (timedout|io)"), client.output[-3000:]
    assert client.find(r"client: server .* silent for \d+\.\d s; waiting up to 5 s"), client.output[-3000:]
    assert client.find(r"client: server .* silent for \d+\.\d s: requests fail"), client.output[-3000:]
    assert time.monotonic() - t0 < 100


def _register(fn, name):
    def t(tmp):
        fn(tmp, name.split("_")[1])
    t.__name__ = name
    test(t)


for _nic in NICS:
    _register(capture_every_frame_parses, f"pair_{_nic}_capture_every_frame_parses")
    _register(client_started_first, f"pair_{_nic}_client_started_first")
    _register(wrong_key_touches_nothing, f"pair_{_nic}_wrong_key_touches_nothing")
    _register(server_killed_mid_run, f"pair_{_nic}_server_killed_mid_run")
