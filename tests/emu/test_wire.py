"""ferry's pair through tools/wire.py, the fault-injecting UDP wire: the
wire itself (counted, seeded faults between two plain sockets), then mixed
workloads through 10 % loss, 5 % duplication, 5 % reordering and 1 %
corruption each way, and server restarts in the middle of a write-heavy
run, with every byte checked on the host image afterwards."""
import os
import re
import socket
import struct
import threading
import time

import disks
import ferryrun
import wire
from sealed import assert_private, check_wire
from registry import test
from test_local import expect_ok, file_roundtrip

LOSSY = dict(loss=0.10, dup=0.05, reorder=0.05, corrupt=0.01)


def _sockets(n):
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:  # room for every frame of the test, even if the reader lags
            s.setsockopt(socket.SOL_SOCKET, wire.SO_RCVBUFFORCE, wire.BUF_BYTES)
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wire.BUF_BYTES)
        s.bind(("127.0.0.1", 0))
        s.settimeout(2)
        out.append(s)
    return out


def _through(faults, frames, names=("a", "b")):
    """Sends frames from a plain socket 'a' through a Wire to 'b'; returns
    (what b received, the counters)."""
    sa, sb = _sockets(2)
    la, lb = ferryrun.free_udp_ports(2)
    w = wire.Wire(("127.0.0.1", la, sa.getsockname()[1]), ("127.0.0.1", lb, sb.getsockname()[1]), faults,
                  names=names).start()
    got = []

    def reader():
        sb.settimeout(0.5)
        try:
            while True:
                got.append(sb.recv(65535))
        except socket.timeout:
            pass

    t = threading.Thread(target=reader)
    t.start()
    try:
        for f in frames:
            sa.sendto(f, ("127.0.0.1", la))
            time.sleep(0.0002)
        t.join()
        # and one frame back the other way
        sb.sendto(b"\x00" * 60, ("127.0.0.1", lb))
        back = sa.recv(100)
        assert back == b"\x00" * 60
        return got, w.stop()
    finally:
        w.stop()
        sa.close()
        sb.close()


@test
def wire_tool_counts_what_it_does(tmp):
    frames = [bytes([i & 0xFF, i >> 8]) * 400 for i in range(2000)]
    got, c = _through(wire.WireFaults(seed=7, **LOSSY), frames)
    a2b = c["a2b"]
    assert a2b["frames"] == 2000 and a2b["host_drops"] == 0, c
    # about the asked-for rates (binomial: 10 % of 2000 is 200 +- 40)
    for k, p in (("lost", 0.10), ("duplicated", 0.05), ("reordered", 0.05), ("corrupted", 0.01)):
        assert abs(a2b[k] - p * 2000) < 5 * (p * 2000) ** 0.5 + 3, (k, a2b)
    assert a2b["sent"] == 2000 - a2b["lost"] + a2b["duplicated"] == len(got), (a2b, len(got))
    # corruption flips one byte past the Ethernet header, nothing else
    originals = set(frames)
    bad = [g for g in got if g not in originals]
    assert len(set(bad)) == a2b["corrupted"], (len(bad), a2b)  # a duplicate is the same bytes
    for g in bad:
        orig = frames[g[0] | g[1] << 8]  # bytes 0-1 are in the header: intact
        diff = [j for j in range(len(g)) if g[j] != orig[j]]
        assert len(g) == len(orig) and len(diff) == 1 and diff[0] >= 14, diff
    # reordering: some frame arrived after one sent later
    idx = [g[0] | g[1] << 8 for g in got if g in originals]
    assert any(b < a for a, b in zip(idx, idx[1:])), "nothing was reordered"
    assert c["b2a"]["frames"] == 1 and c["b2a"]["sent"] == 1
    # the same seed, the same fates
    _, c2 = _through(wire.WireFaults(seed=7, **LOSSY), frames)
    fates = ("lost", "duplicated", "reordered", "corrupted")
    assert {k: c2["a2b"][k] for k in fates} == {k: a2b[k] for k in fates}, (c2, c)
    # one direction only, named sides
    got3, c3 = _through(wire.WireFaults(seed=1, a2b={"loss": 1.0}), frames[:5], names=("s", "c"))
    assert got3 == [] and c3["s2c"]["lost"] == 5 and c3["c2s"]["sent"] == 1, c3
    # a smaller MTU: frames over max_frame vanish, the rest pass
    sizes = [1514, 1515, 9014, 60, 1514]
    got4, c4 = _through(wire.WireFaults(max_frame=1514), [b"\x01" * n for n in sizes])
    assert sorted(len(g) for g in got4) == [60, 1514, 1514] and c4["a2b"]["too_long"] == 2, c4
    # a delay
    sa, sb = _sockets(2)
    la, lb = ferryrun.free_udp_ports(2)
    w = wire.Wire(("127.0.0.1", la, sa.getsockname()[1]), ("127.0.0.1", lb, sb.getsockname()[1]),
                  wire.WireFaults(delay=80)).start()
    try:
        t0 = time.monotonic()
        sa.sendto(b"late" * 20, ("127.0.0.1", la))
        assert sb.recv(100) == b"late" * 20
        assert time.monotonic() - t0 >= 0.08
    finally:
        w.stop()
        sa.close()
        sb.close()
    try:
        wire.Faults(loss=1.5)
        raise AssertionError("a probability of 1.5 was taken")
    except ValueError:
        pass


def _pair(img, cmds, faults, **kw):
    return ferryrun.Pair(img, cmds, wire=faults, **kw)


def _stats(run, who):
    """ferry's statistics line of a run: {name: value}."""
    m = run.find(r"^ferry: net: (.*)$")
    assert m, f"no statistics line from the {who}:\n" + run.output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}


def _report(name, counters, stats, seconds, extra=""):
    """One line of figures for the test's output."""
    return (f"{name}: {seconds:.1f} s; wire " +
            "; ".join(f"{d} " + " ".join(f"{k}={counters[d][k]}" for k in
                                         ("frames", "lost", "duplicated", "reordered", "corrupted", "host_drops"))
                      for d in ("s2c", "c2s")) +
            "; client " + " ".join(f"{k}={stats.get(k, 0)}" for k in
                                   ("requests", "retransmits", "timeouts", "rebinds", "bad_mac", "rx_replay",
                                    "rx_dup_chunks", "failures")) + extra)


@test
def wire_lossy_pair_files(tmp):
    """The pair tests' file round trip (writes, reads, sha256, cp, mkdir,
    rm; mtools and fsck on the image) through a wire that loses 10 %,
    duplicates 5 %, reorders 5 % and corrupts 1 % of the frames each way."""
    t0 = time.monotonic()
    holder = {}

    def runner(img, cmds):
        pair = _pair(img, cmds, wire.WireFaults(seed=11, **LOSSY))
        try:
            pair.start_server()
            pair.start_client()
            client, _ = pair.finish(600)
        finally:
            pair.kill()
        assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
        holder["client"], holder["wire"] = client, pair.wire_counters
        return client

    file_roundtrip(tmp, 32, "none", 64, runner)
    client, c = holder["client"], holder["wire"]
    st = _stats(client, "client")
    print(_report("wire_lossy_pair_files", c, st, time.monotonic() - t0))
    for d in ("s2c", "c2s"):
        for k in ("lost", "duplicated", "reordered", "corrupted"):
            assert c[d][k] > 0, f"the wire injected no {k} {d}: {c}"
    # ferry saw them and recovered: retransmissions for the losses, MAC
    # failures for the corruption, replay drops for the duplicates.
    assert st.get("retransmits", 0) > 0 and st.get("bad_mac", 0) > 0 and st.get("rx_replay", 0) > 0, st
    assert st.get("failures", 0) == 0, st
    assert not client.find(r"silent for"), "the lossy wire made the server look dead"


@test
def wire_capture_is_sealed(tmp):
    """The UDP datagrams between the two emulators, as tools/wire.py relays
    them: every frame decrypts (python3-cryptography) under the keys the
    handshake derives, and no piece of the file read or written appears
    in the wire bytes."""
    data = disks.random_bytes(300000, 31)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    pair = _pair(img.path, "sha256 /A.BIN; cp /A.BIN /B.BIN; sync", wire.WireFaults(seed=31))
    try:
        pair.start_server()
        pair.wire.record = []
        pair.start_client()
        client, _ = pair.finish(300)
    finally:
        pair.kill()
    assert client.passed(), client.output[-3000:]
    assert img.read("/B.BIN") == data
    frames = [(d, len(d)) for d in pair.wire.record]
    plain = check_wire(frames, bytes.fromhex(ferryrun.TEST_KEY))
    assert_private(frames, plain, data)
    # Both directions carried the file: DATA (read) and WRITE (cp).
    assert {5, 6} <= {f[15] for f, _ in frames}, sorted({f[15] for f, _ in frames})


@test
def wire_old_protocol_version_is_logged(tmp):
    """Frames of protocol version 2 (HMAC, before the AEAD) injected on the
    wire mid-run: the server drops them and says which version came from
    whom and which one it speaks; the run is unharmed."""
    data = disks.random_bytes(200000, 32)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    pair = _pair(img.path, "sha256 /A.BIN; spin 3; sha256 /A.BIN", wire.WireFaults(seed=32))
    try:
        pair.start_server()
        pair.start_client()
        assert pair.client.wait_for(r"client: importing", 120), pair.client.text()[-3000:]
        old = b"".join(bytes.fromhex(m.replace(":", "")) for m in (ferryrun.SERVER_MAC, ferryrun.CLIENT_MAC))
        old += b"\x88\xb5"
        old += struct.pack("<BBHHHQQQQ", 2, 8, 0, 8, 0, 1, 2, 1, 1) + bytes(8 + 16)
        to_server = pair.wire.dirs[pair.wire.sock_b]  # the client's frames leave here
        for _ in range(3):
            to_server.out_sock.sendto(old, to_server.out_addr)
            time.sleep(0.2)
        client, server = pair.finish(300)
    finally:
        pair.kill()
    assert client.passed(), client.output[-3000:]
    assert server.find(r"server: dropped \d+ frames of ferry protocol version 2 \(unauthenticated; last from 52:54:00:c1:00:01\); "
                       r"this ferry speaks version 4 only"), server.output[-3000:]


def _write_heavy_cmds():
    # about 9 MiB written in files of 1-3 MiB, each hashed by the guest
    sizes = [(f"/W{i}.BIN", 1000000 + 350000 * i, 100 + i) for i in range(6)]
    cmds = [f"write {p} {n} {seed}" for p, n, seed in sizes] + ["sync"]
    cmds += [f"sha256 {p}" for p, _, _ in sizes] + ["cp /W5.BIN /COPY.BIN", "sha256 /COPY.BIN", "ls /"]
    return sizes, "; ".join(cmds)


def _one_line_per_outage(client):
    """An outage is logged once, not once per request held: each "silent
    for" is followed by its "answers again" before the next one.  A slow,
    loaded host may see a second, genuine outage (the emulators or the
    wire tool not scheduled for seconds); that is logged the same way."""
    events = [(i, l) for i, l in enumerate(client.lines) if "silent for" in l or "answers again" in l]
    shown = "\n".join(f"line {i}: {l}" for i, l in events)
    kinds = ["silent" if "silent for" in l else "back" for _, l in events]
    assert kinds and kinds == ["silent", "back"] * (len(kinds) // 2), \
        "outages not logged once each (silent, answers again, in turn):\n" + shown
    assert len(kinds) <= 4, "more than two outages in one run:\n" + shown


def _restart_run(tmp, faults, name, down=2.0):
    """The server is killed once the client's guest has written its first
    file of the write-heavy run (five more to go: a timer would let a fast
    run finish first) and a new server boots on the same image down s
    later; the client's guest finishes with no error and every byte on the
    image is right."""
    t0 = time.monotonic()
    sizes, cmds = _write_heavy_cmds()
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 64, {"/A.TXT": b"before the restart\n"})
    pair = _pair(img.path, cmds, faults)
    try:
        pair.start_server()
        pair.start_client()
        assert pair.client.wait_for(r"^ok write /W0\.BIN", 300), pair.client.text()[-3000:]
        assert pair.client.proc.poll() is None, "the client finished before the restart:\n" + pair.client.text()
        first = pair.server.stop()
        time.sleep(down)
        pair.start_server()
        client, server = pair.finish(600)
    finally:
        pair.kill()
    assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
    assert first.find(r"server: exporting"), first.output[-2000:]
    assert client.passed(), "the guest saw an error:\n" + client.output[-4000:]
    assert not [r for r in client.results() if r[0] == "err"], client.results()
    silent = client.find(r"client: server (\S+) silent for (\d+\.\d) s; waiting up to 180 s")
    back = client.find(r"client: server \S+ answers again after (\d+\.\d) s of silence \(restarted")
    assert silent and back, "no outage logged:\n" + client.output[-4000:]
    _one_line_per_outage(client)
    # It was killed in the middle of the writes.
    lines = client.lines
    at = next(i for i, l in enumerate(lines) if "silent for" in l)
    assert not any(l.startswith("ok sync") for l in lines[:at]), "the restart came after the writes"
    assert any(l.startswith("ok write") for l in lines[at:]), "the restart came after the writes"
    outage = float(back.group(1))
    assert outage >= down, outage
    for p, n, seed in sizes:
        want = disks.splitmix64_bytes(n, seed)
        assert img.read(p) == want, f"{p} differs on the image"
        assert expect_ok(client, f"write {p}").split()[-1] == disks.sha256(want)
        assert expect_ok(client, f"sha256 {p}").split()[0] == disks.sha256(want)
    assert img.read("/COPY.BIN") == disks.splitmix64_bytes(*sizes[5][1:])
    assert img.read("/A.TXT") == b"before the restart\n"
    ok, out = img.fsck()
    assert ok, f"fsck.fat -n found problems:\n{out}"
    st = _stats(client, "client")
    assert st.get("rebinds", 0) >= 1 and st.get("failures", 0) == 0, st
    print(_report(name, pair.wire_counters, st, time.monotonic() - t0,
                  f"; outage ridden out {outage:.1f} s (server killed to first answer)"))
    return pair.wire_counters, st


@test
def wire_server_restart_mid_write(tmp):
    _restart_run(tmp, wire.WireFaults(seed=21), "wire_server_restart_mid_write")


@test
def wire_server_restart_lossy(tmp):
    c, st = _restart_run(tmp, wire.WireFaults(seed=22, **LOSSY), "wire_server_restart_lossy")
    for d in ("s2c", "c2s"):
        assert c[d]["lost"] > 0 and c[d]["corrupted"] > 0, c
    assert st.get("bad_mac", 0) > 0 and st.get("rx_replay", 0) > 0, st


# ---- many requests in flight (guest/vblk_qd.c) ----------------------------------

QD_SPAN, QD_N, QD_DEPTH, QD_SEED = 4096, 300, 48, 77


def _deep_queue(tmp, nic, faults=None, restart=False, name="deep_queue", mtu=1500, frames=1514, n=QD_N,
                kill_after=3.0, disk_if="ahci"):
    """The client's guest keeps QD_DEPTH virtio-blk requests in flight:
    random-offset writes, a flush, the span read back, random reads
    compared; the span's hash and the server's image must be the shadow
    the host computes from the same seed.  mtu goes to both ferries;
    frames is the binding's frame size the client must end up with.  With
    restart, the server is killed kill_after s after the import: n
    requests must take longer than that.  disk_if is the server's disk
    controller (AHCI, whose NCQ line shows the disk's queue, or NVMe,
    whose queue logs its own)."""
    t0 = time.monotonic()
    path = os.path.join(tmp, "raw.img")
    data = disks.random_bytes(8 * 1024 * 1024, 9)
    with open(path, "wb") as f:
        f.write(data)
    cmd = f"vblk-qd {QD_SEED} {n} {QD_SPAN} {QD_DEPTH}"
    args = f"mtu={mtu}" if mtu != 1500 else ""
    model = "virtio-jumbo" if nic == "virtio" and mtu > 1500 else nic
    pair = ferryrun.Pair(path, cmd, nic=model, wire=faults, client_args=args, server_args=args, disk_if=disk_if)
    try:
        pair.start_server()
        pair.start_client()
        if restart:
            assert pair.client.wait_for(r"client: importing", 120), pair.client.text()[-3000:]
            time.sleep(kill_after)
            first = pair.server.stop()
            assert first.find(r"server: exporting"), first.output[-2000:]
            time.sleep(2.0)
            pair.start_server()
        client, server = pair.finish(600)
    finally:
        pair.kill()
    assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
    shadow = disks.vblk_qd_shadow(data, QD_SEED, n, QD_SPAN)
    assert expect_ok(client, cmd) == f"{disks.sha256(shadow)} most={QD_DEPTH}", client.output[-3000:]
    with open(path, "rb") as f:
        image = f.read()
    assert image[:QD_SPAN * 512] == shadow, "the server's image is not the shadow"
    assert image[QD_SPAN * 512:] == data[QD_SPAN * 512:], "the server wrote outside the span"
    st = _stats(client, "client")
    assert st.get("inflight_max", 0) >= 32, st
    # The server kept several of them on its disk at once (AHCI's NCQ,
    # NVMe's queue): its disk path answers as the disk finishes, not one
    # at a time.
    line = {"ahci": r"ahci: port \d+: (\d+) queued commands in flight at once",
            "nvme": r"nvme: nvme0n\d+: (\d+) commands in flight at once"}[disk_if]
    queued = [int(n) for n in re.findall(line, server.output)]
    assert queued and max(queued) >= 2, "the server's disk never held two requests at once:\n" + server.output[-3000:]
    if restart:
        assert st.get("rebinds", 0) >= 1, st
        assert client.find(r"answers again after .* \(restarted"), client.output[-3000:]
    if frames > 1514:
        assert client.find(rf"client: server net:\S+: frames of {frames} bytes"), client.output[-3000:]
    elif mtu > 1500:
        assert client.find(r"client: server net:\S+ and this client take frames of \d+ bytes, but only a plain "
                           r"HELLO was answered"), client.output[-3000:]
    counters = pair.wire_counters
    print(f"{name}: {time.monotonic() - t0:.1f} s; client " +
          " ".join(f"{k}={st.get(k, 0)}" for k in ("requests", "inflight_max", "retransmits", "timeouts",
                                                   "rebinds", "failures", "tx_frames", "rx_frames")) +
          (f"; wire {counters}" if counters else ""))
    return client, st, counters


@test
def wire_deep_queue_e1000(tmp):
    _deep_queue(tmp, "e1000", name="wire_deep_queue_e1000")


@test
def wire_deep_queue_virtio(tmp):
    _deep_queue(tmp, "virtio", name="wire_deep_queue_virtio")


@test
def wire_deep_queue_lossy_restart(tmp):
    """The same through 10 % loss, duplication, reordering and corruption,
    with the server killed 3 s in and a new one booted 2 s later."""
    _deep_queue(tmp, "e1000", wire.WireFaults(seed=31, **LOSSY), restart=True, name="wire_deep_queue_lossy_restart")


@test
def wire_deep_queue_e1000_jumbo(tmp):
    """The deep queue with mtu = 9000 on both ends: 9014-byte frames."""
    _deep_queue(tmp, "e1000", name="wire_deep_queue_e1000_jumbo", mtu=9000, frames=9014)


@test
def wire_deep_queue_virtio_jumbo(tmp):
    """The same on virtio-net reporting an MTU of 9000 (host_mtu)."""
    _deep_queue(tmp, "virtio", name="wire_deep_queue_virtio_jumbo", mtu=9000, frames=9014)


@test
def wire_deep_queue_jumbo_lossy_restart(tmp):
    """Jumbo frames through 10 % loss, duplication, reordering and
    corruption, with the server restarted mid-run."""
    _deep_queue(tmp, "e1000", wire.WireFaults(seed=33, **LOSSY), restart=True,
                name="wire_deep_queue_jumbo_lossy_restart", mtu=9000, frames=9014, n=1200, kill_after=1.5)


@test
def wire_jumbo_ends_on_a_standard_link_fall_back(tmp):
    """Both ferries take 9014-byte frames, the wire between them drops
    anything over 1514 bytes, as a switch of the standard MTU does: the
    client says so and works in 1514-byte frames; nothing is lost past
    the probe."""
    _, st, counters = _deep_queue(tmp, "e1000", wire.WireFaults(max_frame=1514),
                                  name="wire_jumbo_ends_on_a_standard_link", mtu=9000, frames=1514)
    # Only the client's padded HELLOs were too long (while the server
    # booted, and the probe); the server never sent a frame the link
    # could not carry.
    assert counters["s2c"]["too_long"] == 0 and counters["c2s"]["too_long"] >= 3, counters
