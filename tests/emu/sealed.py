"""Checks of captured ferry-protocol frames (docs/protocol.md, "Frame
protection"): every frame opens under the key the protocol names,
recomputed with tools/ferrykey.py and decrypted with python3-cryptography,
no (key, nonce) pair seals two frames, and no file data travels in the
clear.  Used on QEMU's pcap captures (test_pair.py) and on the datagrams
tools/wire.py relays between the emulators (test_wire.py)."""
import struct

import ferrykey

ETHERTYPE = 0x88B5
HDR = struct.Struct("<BBHHHQQQQ")  # net/proto.h struct net_hdr, at offset 14
MAC_LEN = 16
FRAME_MAX = 1514
VERSION = 4
T_HELLO, T_COOKIE, T_BIND = 1, 10, 11
SERVER_TYPES = ferrykey.SERVER_TYPES


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


def check_wire(frames, master, frame_max=FRAME_MAX):
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
        assert len(f) <= frame_max, f"frame {i} is {len(f)} bytes, over the {frame_max}-byte frames"
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
        if mtype in (T_HELLO, T_COOKIE):
            assert not any(body[64:]), f"frame {i} (type {mtype}): padding that is not zeros"
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
