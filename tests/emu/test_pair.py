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
import ferrykey
import ferryrun
from registry import test
from test_local import expect_ok, file_roundtrip

NICS = ("e1000", "virtio")
ETHERTYPE = 0x88B5
HDR = struct.Struct("<BBHHHQQQQ")  # net/proto.h struct net_hdr, at offset 14
MAC_LEN = 16
FRAME_MAX = 1514
VERSION = 3
T_HELLO, T_DATA, T_WRITE, T_COOKIE, T_BIND = 1, 5, 6, 10, 11
SERVER_TYPES = ferrykey.SERVER_TYPES


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


def opened(f, key):
    """The frame's body if it authenticates under key (docs/protocol.md,
    "Frame protection": nonce direction | counter, the headers as
    additional data, and the body too for HELLO, COOKIE and BIND), else
    None."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    mtype, ctr = f[15], struct.unpack_from("<Q", f, 38)[0]
    ad = len(f) - MAC_LEN if mtype in ferrykey.CLEAR_TYPES else 54
    try:
        pt = ChaCha20Poly1305(key).decrypt(ferrykey.frame_nonce(mtype, ctr), f[ad:], f[:ad])
    except InvalidTag:
        return None
    return f[54:ad] + pt


def check_wire(frames, master):
    """Every frame is a ferry frame that parses, fits the MTU and opens
    under the key docs/protocol.md says: HELLO under the client's HELLO key
    and COOKIE under its COOKIE key (both from the client key, derived
    from master for the name in the HELLO, and the boot sessions), BIND and
    everything after it under the session keys derived from the
    handshake's values, recomputed here with tools/ferrykey.py.  No
    (key, nonce) pair seals two frames.  Returns the bodies in the clear."""
    assert frames, "nothing was captured"
    kc = {}        # client MAC -> its key
    cookies = {}   # (client MAC, nonce) -> the COOKIE's body
    sessions = {}  # client MAC -> [(c2s, s2c)] of every binding seen
    nonces = set()
    plain = []
    for i, (f, orig) in enumerate(frames):
        assert orig == len(f), f"frame {i} truncated in the capture"
        assert len(f) <= FRAME_MAX, f"frame {i} is {len(f)} bytes, over the {FRAME_MAX}-byte MTU"
        etype = struct.unpack_from(">H", f, 12)[0]
        assert etype == ETHERTYPE, f"frame {i}: EtherType {etype:#x}"
        version, mtype, flags, blen, live, src_sess, dst_sess, ctr, tag = HDR.unpack_from(f, 14)
        assert version == VERSION and 1 <= mtype <= 11, f"frame {i}: version {version} type {mtype}"
        assert flags & ~0x3 == 0, f"frame {i}: unknown flags {flags:#x}"
        assert 14 + HDR.size + blen + MAC_LEN == len(f), f"frame {i}: body length {blen} vs frame {len(f)}"
        body = f[54:54 + blen]
        dst, src = f[0:6], f[6:12]
        client = dst if mtype in SERVER_TYPES else src
        if mtype == T_HELLO:
            name = body[:32].rstrip(b"\0").decode()
            kc[client] = ferrykey.client_key(master, name)
        assert client in kc, f"frame {i} (type {mtype}) before its client's HELLO"
        if mtype == T_COOKIE:
            cookies[(client, body[0:16])] = body
        if mtype in (T_HELLO, T_COOKIE):
            key = ferrykey.hello_key(kc[client], src_sess) if mtype == T_HELLO else \
                ferrykey.cookie_key(kc[client], src_sess, dst_sess)
            assert opened(f, key) is not None, f"frame {i} (type {mtype}): does not open under its handshake key"
        else:
            if mtype == T_BIND:
                nc, ns, ts, dev = body[32:48], body[48:64], struct.unpack_from("<Q", body, 64)[0], body[88:90]
                assert (client, nc) in cookies, f"frame {i}: a BIND without a COOKIE"
                keys = ferrykey.session_keys(kc[client], nc, ns, client, dst, src_sess, ts,
                                             struct.unpack("<H", dev)[0])
                sessions.setdefault(client, []).append(keys)
            direction = 1 if mtype in SERVER_TYPES else 0
            found = [(k[direction], b) for k in sessions.get(client, []) for b in [opened(f, k[direction])] if b]
            assert found, f"frame {i} (type {mtype}): does not open under any session key"
            key, pt = found[0]
            plain.append(pt)
        # A retransmitted frame is sealed again under a new counter, never
        # resent as it was: one (key, nonce) seals one frame.
        nonce = (key, ferrykey.frame_nonce(mtype, ctr))
        assert nonce not in nonces, f"frame {i} (type {mtype}): (key, nonce) used before"
        nonces.add(nonce)
    return plain


def assert_private(frames, plain, data):
    """Pieces of the file data: none in the wire bytes, nearly all (those
    not cut by a chunk boundary) in the bodies check_wire decrypted."""
    wire_bytes = b"".join(f for f, _ in frames)
    clear = b"".join(plain)
    pieces = [data[o:o + 32] for o in range(0, len(data) - 32, 4099)]
    leaked = [p for p in pieces if p in wire_bytes]
    assert not leaked, f"{len(leaked)} of {len(pieces)} pieces of the file travel in the clear"
    seen = sum(p in clear for p in pieces)
    assert seen >= 0.9 * len(pieces), f"only {seen} of {len(pieces)} file pieces in the decrypted bodies"


def capture_every_frame_parses(tmp, nic):
    pcap = os.path.join(tmp, "wire.pcap")
    data = disks.random_bytes(700000, 5)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    client, server = ferryrun.run_pair(img.path, "sha256 /A.BIN; write /B.BIN 500001 4; sync", nic=nic,
                                       timeout=120, pcap=pcap)
    assert client.passed(), client.output[-3000:]
    assert expect_ok(client, "sha256 /A.BIN").split()[0] == disks.sha256(data)
    frames = read_pcap(pcap)
    plain = check_wire(frames, bytes.fromhex(ferryrun.TEST_KEY))
    assert_private(frames, plain, data)
    types = {f[15] for f, _ in frames}
    assert {T_HELLO, T_COOKIE, T_BIND} <= types, f"no handshake on the wire: types {sorted(types)}"
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
    _register(client_started_first, f"pair_{_nic}_client_started_first")
    _register(wrong_key_touches_nothing, f"pair_{_nic}_wrong_key_touches_nothing")
    _register(server_killed_mid_run, f"pair_{_nic}_server_killed_mid_run")


def lone_client_session(cpu):
    run = ferryrun.run(ferryrun.qemu_cmd(
        cpu=cpu, guest_cmds="ls /",
        ferry_args=ferryrun.client_ferry_args(ferryrun.TEST_CLIENT_KEY, "e1000", 1),
        extra=["-netdev", "user,id=n0,restrict=on", "-device", "e1000,netdev=n0"]), timeout=120)
    m = run.find(r"^ferry: net: this boot's session is ([0-9a-f]{16})$")
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
