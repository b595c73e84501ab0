#!/usr/bin/python3
"""Differential check of ferry's ChaCha20, Poly1305 and
AEAD_CHACHA20_POLY1305 (lib/) against Debian's python3-cryptography
(OpenSSL's implementations) and, for Poly1305, exact integer arithmetic
in Python, on random inputs.

    tests/unit/aead_cross.py BUILD/unit/aead_cli

Runs with Debian's interpreter (tests/run.py calls /usr/bin/python3, where
python3-cryptography lives; tools/deps.sh installs it).  Prints a PASS or
FAIL line per check and exits non-zero on any failure."""
import os
import random
import subprocess
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.poly1305 import Poly1305

SEED = 8439
CASES = 400


def h(b):
    return b.hex() if b else "-"


def poly1305_exact(key, msg):
    """RFC 8439 section 2.5 in Python's integers: no limbs, no carries."""
    r = int.from_bytes(key[:16], "little") & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i:i + 16] + b"\x01"
        acc = (acc + int.from_bytes(block, "little")) * r % p
    return ((acc + s) % (1 << 128)).to_bytes(16, "little")


def lengths(rng):
    """Frame-like and boundary lengths first, then random ones."""
    fixed = [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1428, 1444, 8948, 8964]
    return fixed + [rng.randrange(0, 2048) for _ in range(CASES - len(fixed))]


def main():
    cli = sys.argv[1]
    rng = random.Random(SEED)
    reqs, checks = [], []

    # AEAD seal, then open of OpenSSL's output and of a tampered copy.
    for n in lengths(rng):
        key, nonce = rng.randbytes(32), rng.randbytes(12)
        aad, pt = rng.randbytes(rng.choice([0, 1, 13, 54, rng.randrange(0, 100)])), rng.randbytes(n)
        sealed = ChaCha20Poly1305(key).encrypt(nonce, pt, aad)
        ct, tag = sealed[:-16], sealed[-16:]
        reqs.append(f"seal {h(key)} {h(nonce)} {h(aad)} {h(pt)}")
        checks.append(("seal", f"{h(ct)} {h(tag)}"))
        reqs.append(f"open {h(key)} {h(nonce)} {h(aad)} {h(ct)} {h(tag)}")
        checks.append(("open", f"ok {h(pt)}"))
        bad = bytearray(sealed + aad)
        i = rng.randrange(len(bad))
        bad[i] ^= 1 << rng.randrange(8)
        bct, btag, baad = bytes(bad[:len(ct)]), bytes(bad[len(ct):len(sealed)]), bytes(bad[len(sealed):])
        try:
            ChaCha20Poly1305(key).decrypt(nonce, bct + btag, baad)
            want = "ok"  # cannot happen for a changed byte
        except InvalidTag:
            want = "auth"
        reqs.append(f"open {h(key)} {h(nonce)} {h(baad)} {h(bct)} {h(btag)}")
        checks.append(("open tampered", want))

    # Poly1305 with random keys, and the extremes: r and s all ones,
    # messages of all ones, against OpenSSL and exact arithmetic.
    for k in range(CASES):
        n = rng.randrange(0, 600)
        if k % 4 == 0:
            key, msg = b"\xff" * 32, b"\xff" * n
        elif k % 4 == 1:
            key, msg = rng.randbytes(16) + b"\xff" * 16, rng.choice([b"\xff", b"\x00", b"\xfe"]) * n
        else:
            key, msg = rng.randbytes(32), rng.randbytes(n)
        tag = Poly1305.generate_tag(key, msg)
        if tag != poly1305_exact(key, msg):
            print("FAIL aead_cross/poly1305_reference: OpenSSL and the integer reference disagree")
            return 1
        reqs.append(f"poly {h(key)} {h(msg)}")
        checks.append(("poly1305", h(tag)))

    # ChaCha20 with random counters, near the 2^32 wrap too (OpenSSL's
    # 16-byte IV is the counter then the nonce, RFC 8439 layout).
    for k in range(CASES):
        key, nonce = rng.randbytes(32), rng.randbytes(12)
        counter = rng.choice([0, 1, rng.randrange(1 << 32), (1 << 32) - 1 - rng.randrange(4)])
        n = rng.randrange(0, 700)
        if counter + (n + 63) // 64 > 1 << 32:
            n = ((1 << 32) - counter) * 64
        msg = rng.randbytes(n)
        iv = counter.to_bytes(4, "little") + nonce
        out = Cipher(algorithms.ChaCha20(key, iv), mode=None).encryptor().update(msg)
        reqs.append(f"chacha {counter} {h(key)} {h(nonce)} {h(msg)}")
        checks.append(("chacha20", h(out)))

    r = subprocess.run([cli], input="\n".join(reqs) + "\n", capture_output=True, text=True, timeout=300)
    got = r.stdout.splitlines()
    failed = {}
    for i, (what, want) in enumerate(checks):
        if i >= len(got) or got[i] != want:
            failed.setdefault(what, (i, reqs[i][:120], got[i][:120] if i < len(got) else "(no answer)", want[:120]))
    if r.returncode != 0:
        print(f"FAIL aead_cross/cli: {cli} exited {r.returncode}: {r.stdout[-300:]}{r.stderr[-2000:]}")
        return 1
    counts = {}
    for what, _ in checks:
        counts[what] = counts.get(what, 0) + 1
    for what, count in counts.items():
        name = what.replace(" ", "_")
        if what in failed:
            i, req, g, w = failed[what]
            print(f"FAIL aead_cross/{name}: case {i}: {req}... gave {g}, OpenSSL {w}")
        else:
            print(f"PASS aead_cross/{name} ({count} random cases against OpenSSL)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
