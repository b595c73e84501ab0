#!/usr/bin/env python3
"""Keys of ferry's network protocol (docs/protocol.md, "Keys").

    tools/ferrykey.py derive --master HEX --client NAME
        prints the client's own key K_c (64 hex digits) for its ferry.cfg:
        K_c = HKDF-SHA-256(master, salt "ferry client key", info NAME)
    tools/ferrykey.py name --mac 52:54:00:12:34:56
        prints the name a client uses when its ferry.cfg has no client=

The server's ferry.cfg holds the master key; each client's holds only its
own K_c, so no client can act as another or as the server.  Python's
standard library only (hmac, hashlib)."""
import argparse
import hashlib
import hmac
import re
import struct
import sys

CLIENT_KEY_SALT = b"ferry client key"
NAME_MAX = 32
SERVER_TYPES = {2, 5, 7, 9, 10}  # DEVINFO DATA NEED STATUS COOKIE
CLEAR_TYPES = {1, 10, 11}        # HELLO COOKIE BIND: the body is additional data


def hkdf_extract(salt, ikm):
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def hkdf(salt, ikm, info, length):
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def check_name(name):
    """The rule of net/proto.h net_name_len: 1-32 bytes of printable ASCII,
    no blank, no ','."""
    b = name.encode("ascii", "replace")
    if not 1 <= len(b) <= NAME_MAX or any(c <= 0x20 or c > 0x7E or c == 0x2C for c in b):
        raise ValueError(f"{name!r} is not a client name: 1 to {NAME_MAX} printable ASCII characters, "
                         "no blank or ','")
    return b


def client_key(master, name):
    """K_c of the client called name (str) under master (bytes)."""
    return hkdf(CLIENT_KEY_SALT, master, check_name(name), 32)


def default_name(mac):
    """A client's name when its ferry.cfg has no client=: mac-525400123456."""
    digits = re.sub(r"[:-]", "", mac).lower()
    if not re.fullmatch(r"[0-9a-f]{12}", digits):
        raise ValueError(f"{mac!r} is not a MAC address")
    return "mac-" + digits


def session_keys(kc, nc, ns, cmac, smac, csess, ts, dev):
    """(K_c2s, K_s2c) of one binding; cmac and smac are 6 bytes each."""
    prk = hkdf_extract(nc + ns, kc)
    ctx = cmac + smac + struct.pack("<QQH", csess, ts, dev)
    return (hkdf_expand(prk, b"ferry v3 c2s" + ctx, 32), hkdf_expand(prk, b"ferry v3 s2c" + ctx, 32))


def hello_key(kc, csess):
    """K_hello: seals the HELLOs of the client boot session csess."""
    return hkdf(None, kc, b"ferry v3 hello" + struct.pack("<Q", csess), 32)


def cookie_key(kc, ssess, csess):
    """K_cookie: seals the server boot session ssess's COOKIEs to csess."""
    return hkdf(None, kc, b"ferry v3 cookie" + struct.pack("<QQ", ssess, csess), 32)


def frame_nonce(mtype, counter):
    """The AEAD nonce of a frame: direction (1 client to server, 2 server
    to client, by type) | counter, little-endian."""
    return struct.pack("<IQ", 2 if mtype in SERVER_TYPES else 1, counter)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("derive", help="a client's own key from the server's master key")
    d.add_argument("--master", required=True, help="the server's key= (hex, 32-128 digits)")
    d.add_argument("--client", required=True, help="the client's name (its client=, or see 'name')")
    n = sub.add_parser("name", help="the default name of a client with this MAC address")
    n.add_argument("--mac", required=True)
    a = ap.parse_args()
    try:
        if a.cmd == "name":
            print(default_name(a.mac))
            return
        master = bytes.fromhex(a.master)
        if not 16 <= len(master) <= 64:
            raise ValueError("the master key is 16 to 64 bytes (32 to 128 hex digits)")
        print(client_key(master, a.client).hex())
    except ValueError as e:
        sys.exit(f"ferrykey: {e}")


if __name__ == "__main__":
    main()
