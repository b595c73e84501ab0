"""Two machines: a server ferry owns the disk, a diskless client ferry's
guest reads and writes files on it over Ethernet (the ferry protocol, both
NICs).  Checked like the local tests, plus what only a network can break:
start order, a wrong key, a client claiming another's name or holding the
master key, a server that dies, and the frames on the wire (each one
decrypted here with python3-cryptography under the keys the handshake
derives, and no file byte in the clear)."""
import os
import re
import struct
import time

import disks
import ferryrun
from sealed import assert_private, check_wire
from registry import test
from test_local import expect_ok, file_roundtrip

NICS = ("e1000", "virtio")
FRAME_MAX = 1514
T_HELLO, T_COOKIE, T_BIND = 1, 10, 11


def pair_runner(nic, pcap=None, checks=None, **kw):
    """kw go to run_pair (e.g. disk_if, the server's disk controller)."""
    def run(img, cmds):
        client, server = ferryrun.run_pair(img, cmds, nic=nic, timeout=400, pcap=pcap, **kw)
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


def capture_every_frame_parses(tmp, nic, mtu=1500):
    """The frames of a pair, captured at the client: each one parses and
    opens, none carries file data in the clear, and the data frames fill
    the frames of the binding: 1514 bytes, or 9014 with mtu = 9000 on both
    ends (the handshake then shows the padded HELLO and COOKIE of the
    probe, and the client says which frames it uses)."""
    pcap = os.path.join(tmp, "wire.pcap")
    data = disks.random_bytes(700000, 5)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    frame = 14 + mtu
    args = f"mtu={mtu}" if mtu != 1500 else ""
    model = "virtio-jumbo" if nic == "virtio" and mtu > 1500 else nic
    client, server = ferryrun.run_pair(img.path, "sha256 /A.BIN; write /B.BIN 500001 4; sync", nic=model,
                                       timeout=120, pcap=pcap, client_args=args, server_args=args)
    assert client.passed(), client.output[-3000:]
    assert expect_ok(client, "sha256 /A.BIN").split()[0] == disks.sha256(data)
    frames = read_pcap(pcap)
    plain = check_wire(frames, bytes.fromhex(ferryrun.TEST_KEY), frame_max=frame)
    assert_private(frames, plain, data)
    types = {f[15] for f, _ in frames}
    assert {T_HELLO, T_COOKIE, T_BIND} <= types, f"no handshake on the wire: types {sorted(types)}"
    sizes = sorted(len(f) for f, _ in frames)
    assert sizes[-1] == frame, f"data frames do not fill the {frame}-byte frames (largest {sizes[-1]})"
    if mtu > 1500:
        probes = {f[15] for f, _ in frames if len(f) == frame and f[15] in (T_HELLO, T_COOKIE)}
        assert probes == {T_HELLO, T_COOKIE}, f"no padded HELLO and COOKIE: {sorted(probes)}"
        assert client.find(rf"client: server net:\S+: frames of {frame} bytes \(chunks of {frame - 86} bytes\)"), \
            client.output[-3000:]


def capture_jumbo(tmp, nic):
    capture_every_frame_parses(tmp, nic, mtu=9000)


def client_started_first(tmp, nic):
    """The client boots alone, keeps asking, and finds the server when it
    comes up."""
    data = disks.random_bytes(50000, 6)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    pair = ferryrun.Pair(img.path, "sha256 /A.BIN", nic=nic)
    try:
        pair.start_client()
        assert pair.client.wait_for(r"client: .*looking for a server", 30), pair.client.text()
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


IDLE = re.compile(r"^idle \d+ (\d+) ms halts=(\d+)\r?\n", re.M)


def last_idle(text):
    """(ms, halts) of the last whole line the guest's `idle` printed."""
    got = IDLE.findall(text)
    assert got, "no idle line:\n" + text[-2000:]
    return int(got[-1][0]), int(got[-1][1])


def cpu_seconds(proc):
    """User and system time a process has used so far."""
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@test
def pair_idle_server_guest_lets_the_server_sleep(tmp):
    """A server whose guest halts sleeps until its next tick instead of
    resuming the guest into its next HLT at once: idle, its QEMU uses a
    small part of a core (without the sleep, all of one), its guest's
    halts keep returning, and it still serves a client's files."""
    data = disks.random_bytes(60000, 8)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    pair = ferryrun.Pair(img.path, "sha256 /A.BIN; write /B.BIN 30000 9; sha256 /B.BIN", nic="e1000",
                         server_cmds="idle 0")
    try:
        server = pair.start_server()
        assert server.wait_for(r"^idle 2 ", 60), server.text()[-3000:]
        t0, c0, h0 = time.monotonic(), cpu_seconds(server.proc), last_idle(server.text())
        time.sleep(4)
        share = (cpu_seconds(server.proc) - c0) / (time.monotonic() - t0)
        h1 = last_idle(server.text())
        pair.start_client()
        client, srv = pair.finish(300)
    finally:
        pair.kill()
    # Sleeping, the guest's HLTs return once a tick (poll_hz=1000) and the
    # QEMU idles; resumed at once, they return tens of thousands of times
    # a second and the QEMU takes what the host gives it.
    per_ms = (h1[1] - h0[1]) / max(h1[0] - h0[0], 1)
    assert per_ms < 3, f"the idle server's guest halted {per_ms:.1f} times per ms"
    assert share < 0.5, f"the idle server used {share:.2f} of a core"
    assert client.passed(), client.output[-3000:]
    assert expect_ok(client, "sha256 /A.BIN").split()[0] == disks.sha256(data)
    halts = [int(h) for h in re.findall(r"^idle \d+ \d+ ms halts=(\d+)", srv.output, re.M)]
    assert len(halts) >= 4 and halts[-1] > halts[0], "the server's guest did not go on halting:\n" + srv.output[-2000:]
    print(f"idle server: {share:.2f} of a core, {per_ms:.2f} guest halts per ms")


WAKE_QD = (3, 100, 2048, 4)  # vblk-qd SEED N SPAN QD


def frames_wake_the_server(tmp, nic, server_cmds):
    """A server on a NIC that sends its receive interrupt as a message
    (e1000e's MSI, virtio-net's MSI-X) serves requests as their frames
    arrive, not at its ticks, here only 10 a second: it says so, its
    guest goes on (halting or spinning), and the client's random writes
    and reads are the shadow the host computes, on the server's image."""
    path = os.path.join(tmp, "raw.img")
    data = disks.random_bytes(4 * 1024 * 1024, 4)
    with open(path, "wb") as f:
        f.write(data)
    cmd = "vblk-qd " + " ".join(map(str, WAKE_QD))
    # The client spins 2 s after its requests: time for the server's
    # guest to show it goes on (a line each 500 ms) however fast they went.
    client, server = ferryrun.run_pair(path, cmd + "; spin 2", nic=nic, server_cmds=server_cmds,
                                       server_args="poll_hz=10", timeout=400)
    assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
    assert server.find(r"server: frames wake ferry as they arrive \((e1000|virtio-net) receive interrupt"), \
        server.output[-3000:]
    # Re-armed after each: one per burst of frames, a hundred requests' worth.
    assert server.find(r"server: 64 receive interrupts so far"), server.output[-3000:]
    seed, n, span, depth = WAKE_QD
    shadow = disks.vblk_qd_shadow(data, seed, n, span)
    assert expect_ok(client, cmd) == f"{disks.sha256(shadow)} most={depth}", client.output[-3000:]
    with open(path, "rb") as f:
        assert f.read(span * 512) == shadow, "the server's image is not the shadow"
    word = server_cmds.split()[0]
    lines = re.findall(rf"^{word} \d+ \d+ ms", server.output, re.M)
    assert len(lines) >= 2, "the server's guest did not go on:\n" + server.output[-2000:]
    assert not server.find(r"PANIC|exception in ferry"), server.output[-3000:]


@test
def pair_e1000e_frames_wake_an_idle_server(tmp):
    frames_wake_the_server(tmp, "e1000e", "idle 0")


@test
def pair_virtio_frames_wake_a_busy_server(tmp):
    frames_wake_the_server(tmp, "virtio", "spin 0")


def wrong_key_touches_nothing(tmp, nic):
    data = disks.random_bytes(20000, 7)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    before = img.digest()
    wrong = "ffeeddccbbaa99887766554433221100" * 2  # a client key (32 bytes), not derived from the master
    client, server = ferryrun.run_pair(img.path, "sha256 /A.BIN; write /B.BIN 1000 1", nic=nic,
                                       client_key=wrong, discover_timeout=4, timeout=120)
    # A server cannot answer a frame it cannot authenticate, so the client
    # only learns that nobody answered; the server names the cause.
    assert client.find(r"client: no server answered in 4 s.*key derived for client \"mac-525400c10001\""), \
        client.output[-3000:]
    assert server.find(r"server: \d+ frames failed authentication so far"), server.output[-3000:]
    assert server.find(r'server: refused client "mac-525400c10001" at 52:54:00:c1:00:01: its frame does not '
                       r'authenticate under the key derived for that name'), server.output[-3000:]
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


def refused_as(tmp, server_key, client_key, client_args, name):
    """A pair whose client is refused: returns the runs after checking that
    nothing was written, the client said nobody took it, and the server
    named the client and why."""
    data = disks.random_bytes(20000, 9)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    before = img.digest()
    client, server = ferryrun.run_pair(img.path, "sha256 /A.BIN; write /B.BIN 1000 1", key=server_key,
                                       client_key=client_key, client_args=client_args, discover_timeout=4,
                                       timeout=120)
    assert client.find(rf'client: "{name}" looking for a server'), client.output[-3000:]
    assert client.find(rf'client: no server answered in 4 s.*key derived for client "{name}"'), client.output[-3000:]
    assert server.find(rf'server: refused client "{name}" at 52:54:00:c1:00:01: its frame does not authenticate '
                       r"under the key derived for that name"), server.output[-3000:]
    assert not client.passed(), "the guest succeeded without a disk?"
    assert img.digest() == before, "the image changed"
    assert not server.find(r"server: refused .*every client slot"), server.output[-3000:]


@test
def pair_e1000_client_name_and_key_must_match(tmp):
    """Finding 7: a client holding its own key (alice's) but configured
    with another client's name (bob) is refused, and so is a client given
    the server's master key instead of the key derived for its name."""
    alice = ferryrun.client_key_for(name="alice")
    refused_as(tmp, ferryrun.TEST_KEY, alice, "client=bob", "bob")
    master = "00112233445566778899aabbccddeeff" * 2  # 32 bytes: a client could be given it as key=
    refused_as(tmp, master, master, "", "mac-525400c10001")
    # The same client with its own name and key is taken (the control).
    data = disks.random_bytes(20000, 9)
    img = disks.make_fat(os.path.join(tmp, "ok.img"), 32, 40, {"/A.BIN": data})
    client, server = ferryrun.run_pair(img.path, "sha256 /A.BIN", key=ferryrun.TEST_KEY, client_key=alice,
                                       client_args="client=alice", timeout=120)
    assert client.passed(), client.output[-3000:]
    assert expect_ok(client, "sha256 /A.BIN").split()[0] == disks.sha256(data)


def _register(fn, name):
    def t(tmp):
        fn(tmp, name.split("_")[1])
    t.__name__ = name
    test(t)


for _nic in NICS:
    _register(capture_every_frame_parses, f"pair_{_nic}_capture_every_frame_parses")
    _register(capture_jumbo, f"pair_{_nic}_jumbo_capture_every_frame_parses")
    _register(client_started_first, f"pair_{_nic}_client_started_first")
    _register(wrong_key_touches_nothing, f"pair_{_nic}_wrong_key_touches_nothing")
    _register(server_killed_mid_run, f"pair_{_nic}_server_killed_mid_run")


def lone_client_session(cpu):
    run = ferryrun.run(ferryrun.qemu_cmd(
        cpu=cpu, guest_cmds="ls /",
        ferry_args=ferryrun.client_ferry_args(ferryrun.TEST_CLIENT_KEY, "e1000", 1),
        extra=["-netdev", "user,id=n0,restrict=on", "-device", "e1000,netdev=n0"]), timeout=120)
    m = run.find(r"^ferry: this boot's session is ([0-9a-f]{16})$")
    assert m, run.output[-3000:]
    return m.group(1), run


@test
def session_values_differ_per_boot_and_say_where_they_come_from(tmp):
    """The session (and with it the handshake keys, cookie secret and the
    nonces' uniqueness across boots) comes from RDRAND where the CPU has
    it: two boots of one machine get different sessions and no warning.
    A CPU without RDRAND is named in a warning: its sessions rest on
    timing alone."""
    a, run_a = lone_client_session(ferryrun.CPU_SVM)
    b, run_b = lone_client_session(ferryrun.CPU_SVM)
    assert a != b, f"two boots had the session {a}"
    for run in (run_a, run_b):
        assert not run.find(r"ferry: warning: entropy:"), run.output[-3000:]
    _, run_c = lone_client_session("qemu64,+svm,+npt")
    assert run_c.find(r"ferry: warning: entropy: this CPU has no RDRAND or RDSEED; this boot's session values rest "
                      r"on timing"), run_c.output[-3000:]
