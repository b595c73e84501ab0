"""ferry owns a virtio-blk disk (drivers/vioblk.c, not to be confused with
the virtio-blk device ferry gives its guest): the file round trips with
the image on QEMU's virtio-blk-pci, modern and transitional, 4096-byte
blocks, a read-only device that refuses writes cleanly, a pair, and a
guest that cannot see the device.  Checked on the host (mtools,
fsck.fat) and against Python's hashes."""
import os
import re

import disks
import ferryrun
from registry import test
from test_local import expect_ok, expect_unreadable, file_roundtrip
from test_pair import pair_runner


def vioblk_runner(opts="", drive_opts="", device="1af4:1042"):
    def run(img_path, cmds):
        extra = ["-drive", f"file={img_path},format=raw,if=none,id=d0{drive_opts}",
                 "-device", f"virtio-blk-pci,drive=d0,serial={ferryrun.VIRTIO_SERIAL}{opts}"]
        r = ferryrun.run_local(None, cmds, timeout=400, extra=extra)
        assert r.find(rf"virtio-blk: virtio0: 00:0\d\.0 {device}, \d+ sectors"), r.output[-3000:]
        return r
    return run


@test
def vioblk_fat32_files(tmp):
    run = file_roundtrip(tmp, 32, "none", 64, vioblk_runner(",disable-legacy=on"))
    assert run.find(r"served by virtio0"), run.output[-2000:]
    assert run.find(rf'id "{ferryrun.VIRTIO_SERIAL}"'), run.output[-2000:]  # GET_ID


@test
def vioblk_transitional_fat16_mbr_files(tmp):
    """The transitional 1AF4:1001 (legacy and modern interfaces both on),
    driven through its modern one."""
    file_roundtrip(tmp, 16, "mbr", 48, vioblk_runner(",disable-legacy=off,disable-modern=off", device="1af4:1001"))


@test
def vioblk_4k_blocks_files(tmp):
    run = file_roundtrip(tmp, 16, "none", 64,
                         vioblk_runner(",disable-legacy=on,logical_block_size=4096,physical_block_size=4096"),
                         sector_size=4096)
    assert run.find(r"virtio0: .* 16384 sectors of 4096 bytes"), run.output[-2000:]


@test
def vioblk_pair_files(tmp):
    file_roundtrip(tmp, 32, "none", 64, pair_runner("e1000", disk_if="virtio"))


@test
def vioblk_read_only_refuses_writes(tmp):
    """VIRTIO_BLK_F_RO: reads work, every write fails with an error the
    guest sees (through the logical device, its FAT code and its own
    virtio-blk), ferry goes on, and the image keeps its bytes."""
    files = {"/A.TXT": disks.random_bytes(20000, 5)}
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, files)
    before = img.digest()
    run = vioblk_runner(",disable-legacy=on", drive_opts=",readonly=on")(
        img.path, "lbd-info; sha256 /A.TXT; write /B.BIN 5000 1; vblk-write 100 8 3; vblk-read 0 8; sha256 /A.TXT")
    assert run.find(r"virtio0: .*, read-only, id"), run.output[-3000:]
    assert run.find(r"^lbd magic=\w+ version=\d+ state=3 "), run.output[-3000:]  # READY | READ_ONLY
    assert expect_ok(run, "sha256 /A.TXT").split()[0] == disks.sha256(files["/A.TXT"])
    errs = [t for k, t in run.results() if k == "err"]
    assert any(t.startswith("write /B.BIN") for t in errs), run.output[-3000:]
    assert any(t.startswith("vblk-write 100 8 3") for t in errs), run.output[-3000:]
    assert expect_ok(run, "vblk-read 0 8") == disks.sha256(open(img.path, "rb").read(8 * 512))
    assert run.find(r"^done ok=4 err=3$"), run.output[-3000:]  # and the closing sync
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-2000:]
    assert img.digest() == before, "the read-only image changed"


@test
def vioblk_guest_cannot_see_the_device(tmp):
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"x"})
    extra = ferryrun.disk_args(img.path, "virtio")
    first = ferryrun.run_local(None, "lspci", timeout=60, extra=extra)
    bars = [(int(m[0], 16), int(m[1], 16)) for m in
            re.findall(r"vioblk bar\d mem ([0-9a-f]+) size ([0-9a-f]+)", first.output)]
    assert bars, "ferry did not report the BARs it owns\n" + first.output[-2000:]
    slot = first.find(r"virtio-blk: virtio0: 00:(\w\w)\.0")
    assert slot, first.output[-2000:]
    pcis = [l for l in first.guest_lines() if l.startswith(f"pci 00:{slot.group(1)}.0")]
    assert not pcis, f"the owned device is visible: {pcis}"
    # ferry's own virtio-blk for the guest is there, on the owned disk.
    assert first.find(r"^guest: vd0: virtio-blk at pci 00:10\.0"), first.output[-2000:]
    addrs = [a for base, size in bars for a in (base, base + size - 4)]
    run = ferryrun.run_local(None, "; ".join(f"peek {a:#x}" for a in addrs) + "; sha256 /A.TXT",
                             timeout=60, extra=extra)
    assert run.passed(), run.output[-3000:]
    expect_unreadable(run, addrs)


# ---- Many requests in flight (drivers/vioblk_queue.c) ------------------------

SECTOR = 512
QD_TRACE = ["virtio_blk_handle_read", "virtio_blk_handle_write", "virtio_blk_req_complete"]


def vioblk_qd_image(tmp, seed=9):
    path = os.path.join(tmp, "raw.img")
    data = disks.random_bytes(8 * 1024 * 1024, seed)
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def deep_queue_on_virtio(tmp, seed, n, span, depth=48, traced=False, iops=0):
    """vblk-qd on the local virtio-blk disk: the guest's hash and the image
    must be the shadow.  Returns the run and, traced, QEMU's trace; iops
    throttles QEMU's disk (requests then wait on it however fast the host
    is)."""
    path, data = vioblk_qd_image(tmp)
    log = os.path.join(tmp, "qemu-trace.log")
    extra = ["-drive", f"file={path},format=raw,if=none,id=d0",
             "-device", f"virtio-blk-pci,drive=d0,disable-legacy=on,serial={ferryrun.VIRTIO_SERIAL}"]
    if traced:
        extra += ["-D", log] + [a for e in QD_TRACE for a in ("-trace", e)]
    if iops:
        extra += ["-set", f"drive.d0.throttling.iops-total={iops}"]
    cmd = f"vblk-qd {seed} {n} {span} {depth}"
    run = ferryrun.run_local(None, cmd, timeout=300, extra=extra)
    assert not run.timed_out, run.output[-3000:]
    shadow = disks.vblk_qd_shadow(data, seed, n, span)
    assert expect_ok(run, cmd) == f"{disks.sha256(shadow)} most={depth}", run.output[-3000:]
    with open(path, "rb") as f:
        image = f.read()
    assert image[:span * SECTOR] == shadow, "the image is not the shadow"
    assert image[span * SECTOR:] == data[span * SECTOR:], "a write landed outside the span"
    assert run.find(r"virtio-blk: virtio0: .*, 256-entry queue \(32 requests in flight\)"), run.output[-3000:]
    assert not run.find(r"ferry: (error|warning)"), run.output[-3000:]
    trace = None
    if traced:
        with open(log) as f:
            trace = f.read()
    return run, trace


def in_flight_most(text, pattern):
    return max((int(x) for x in re.findall(pattern, text)), default=0)


@test
def vioblk_deep_queue(tmp):
    """48 requests of the guest's virtio-blk in flight, up to 32 of them on
    ferry's virtio-blk disk at once (a slot each), the disk throttled so
    that they wait on it; the bytes are the shadow's."""
    run, _ = deep_queue_on_virtio(tmp, 81, 300, 4096, iops=2000)
    most = in_flight_most(run.output, r"virtio-blk: virtio0: (\d+) requests in flight at once")
    assert most >= 16, f"at most {most} requests in flight\n" + run.output[-3000:]


def qemu_virtio_blk_trace(text):
    """What QEMU's virtio-blk did, by its trace: the most requests it had at
    once, how many finished while an older one was still in flight, and
    each overlap with a write among them while both were in flight."""
    held, order, breaches = {}, [], []
    most = passed = 0
    for line in text.splitlines():
        m = re.search(r"virtio_blk_handle_(read|write) .*req (0x[0-9a-f]+) sector (\d+) nsectors (\d+)", line)
        if m:
            write, req, lo = m.group(1) == "write", m.group(2), int(m.group(3))
            hi = lo + int(m.group(4)) - 1
            for r, (w, a, b) in held.items():
                if (w or write) and lo <= b and a <= hi:
                    breaches.append(f"{req} [{lo},{hi}] overlaps {r} [{a},{b}] in flight")
            held[req] = (write, lo, hi)
            order.append(req)
            most = max(most, len(held))
            continue
        m = re.search(r"virtio_blk_req_complete .*req (0x[0-9a-f]+)", line)
        if m and m.group(1) in held:
            passed += order[0] != m.group(1)
            order.remove(m.group(1))
            del held[m.group(1)]
    return most, passed, breaches


@test
def vioblk_order_at_the_device(tmp):
    """Writes of up to 64 sectors in 256: most overlap.  QEMU's trace shows
    several requests at once, some finished before older ones, and never
    two overlapping ones in flight with a write among them."""
    _, trace = deep_queue_on_virtio(tmp, 6, 400, 256, traced=True)
    most, passed, breaches = qemu_virtio_blk_trace(trace)
    print(f"vioblk_order_at_the_device: QEMU held up to {most} requests, {passed} finished before an older one")
    assert not breaches, "\n".join(breaches[:20])
    assert most >= 2 and passed > 0, (most, passed)


@test
def vioblk_pair_deep_queue(tmp):
    """A server whose disk is virtio-blk keeps several of a client's
    requests on it at once; the client's deep queue lands as the shadow."""
    seed, n, span, depth = 82, 200, 4096, 48
    path, data = vioblk_qd_image(tmp)
    cmd = f"vblk-qd {seed} {n} {span} {depth}"
    client, server = ferryrun.run_pair(path, cmd, timeout=400, disk_if="virtio")
    assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
    shadow = disks.vblk_qd_shadow(data, seed, n, span)
    assert expect_ok(client, cmd) == f"{disks.sha256(shadow)} most={depth}", client.output[-3000:]
    with open(path, "rb") as f:
        image = f.read()
    assert image[:span * SECTOR] == shadow and image[span * SECTOR:] == data[span * SECTOR:]
    most = in_flight_most(server.output, r"virtio-blk: virtio0: (\d+) requests in flight at once")
    assert most >= 2, "the server's disk never held two requests at once:\n" + server.output[-3000:]
