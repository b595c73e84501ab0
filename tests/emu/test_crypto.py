"""lib/'s ChaCha20-Poly1305 as ferry builds it (freestanding, -mno-sse),
run inside ferry's guest under QEMU: the guest's cryptobench checks it
against RFC 8439's section 2.8.2 vector, then times it against
HMAC-SHA-256 and memcpy (the rows make bench prints)."""
import re

import ferryrun
from registry import test
from test_local import expect_ok

LINE = re.compile(r"^crypto: size=(\d+) hmac_sha256=([\d.]+) aead_seal=([\d.]+) aead_open=([\d.]+) "
                  r"memcpy=([\d.]+) bytes/us$")


@test
def guest_aead_matches_rfc8439(tmp):
    run = ferryrun.run(ferryrun.qemu_cmd(guest_cmds="cryptobench 100"), timeout=120)
    assert not run.timed_out, "timed out:\n" + run.output[-3000:]
    expect_ok(run, "cryptobench 100")
    lines = run.guest_lines()
    assert "crypto: rfc8439 2.8.2 ok" in lines, run.output[-3000:]
    rows = [LINE.match(l) for l in lines]
    rows = [m for m in rows if m]
    assert [int(m.group(1)) for m in rows] == [1428, 8948], run.output[-3000:]
    for m in rows:
        assert all(float(m.group(i)) > 0 for i in (2, 3, 4, 5)), m.group(0)
