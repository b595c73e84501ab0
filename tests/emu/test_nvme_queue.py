"""ferry's NVMe driver with many commands in flight (drivers/nvme_queue.c):
the guest's virtio-blk on a local NVMe disk, kept busy by guest/vblk_qd.c,
and the server's disk on NVMe under a client's deep queue.  Besides the
bytes (the shadow the host computes from the seed, on the image and in
the guest's hash), QEMU's own trace shows what the controller had in
flight: several commands at once, finished out of order, yet never two
overlapping ones with a write among them, and a FLUSH only with nothing
else in flight and nothing started during it (platform/blk.h's
ordering).  A media error fails only the requests it touches; a disk
that never answers in time is an I/O error, and ferry goes on."""
import os
import re

import disks
import ferryrun
from registry import test
from test_ahci_queue import SECTOR, raw_image
from test_local import expect_ok
import test_wire

NVME = f"nvme,serial={ferryrun.NVME_SERIAL}"
TRACE = ["pci_nvme_io_cmd", "pci_nvme_read", "pci_nvme_write", "pci_nvme_enqueue_req_completion"]
BAD = 1000  # the sector blkdebug fails


def in_flight_lines(text):
    """The high-water marks ferry's NVMe queue logged."""
    return [int(x) for x in re.findall(r"nvme: nvme0n1: (\d+) commands in flight at once", text)]


def qemu_nvme_trace(text):
    """What QEMU's NVMe controller did on I/O queue 1, by its trace: the
    most commands it had in flight at once, how many completed while an
    older one was still in flight, the FLUSHes, and each breach of the
    ordering seen at the device."""
    held, order, breaches = {}, [], []
    most = passed = flushes = 0
    for line in text.splitlines():
        m = re.search(r"pci_nvme_io_cmd cid (\d+) nsid \S+ sqid (\d+) opc 0x([0-9a-f]+)", line)
        if m and m.group(2) == "1":
            cid, opc = int(m.group(1)), int(m.group(3), 16)
            if cid in held:
                breaches.append(f"cid {cid} started while a command of that cid was in flight")
            if any(h[0] == "flush" for h in held.values()):
                breaches.append(f"cid {cid} started during a FLUSH")
            if opc == 0:
                flushes += 1
                if held:
                    breaches.append(f"FLUSH started with cids {sorted(held)} in flight")
                held[cid] = ("flush", 0, -1)
            else:
                held[cid] = ("pending", 0, -1)  # its range comes in the read or write line
            order.append(cid)
            most = max(most, len(held))
            continue
        m = re.search(r"pci_nvme_(read|write) cid (\d+) .*nlb (\d+) count \d+ lba 0x([0-9a-f]+)", line)
        if m:
            cid, write, nlb, lba = int(m.group(2)), m.group(1) == "write", int(m.group(3)), int(m.group(4), 16)
            lo, hi = lba, lba + nlb - 1
            for c, (kind, a, b) in held.items():
                if c != cid and kind in ("read", "write") and (write or kind == "write") and lo <= b and a <= hi:
                    breaches.append(f"cid {cid} [{lo},{hi}] overlaps cid {c} [{a},{b}] in flight")
            held[cid] = ("write" if write else "read", lo, hi)
            continue
        m = re.search(r"pci_nvme_enqueue_req_completion cid (\d+) cqid (\d+)", line)
        if m and m.group(2) == "1":
            cid = int(m.group(1))
            if cid in held:
                passed += order[0] != cid
                order.remove(cid)
                del held[cid]
    return most, passed, flushes, breaches


def deep_queue_run(tmp, seed, n, span, depth=48, traced=False, iops=0):
    """vblk-qd on the local NVMe disk: the guest's hash and the image must
    be the shadow; returns the run and, traced, QEMU's trace.  iops
    throttles QEMU's disk to that many requests a second (so commands wait
    on it however fast the host is)."""
    path, data = raw_image(tmp)
    log = os.path.join(tmp, "qemu-trace.log")
    extra = ferryrun.disk_args(path, "nvme")
    if traced:
        extra += ["-D", log] + [a for e in TRACE for a in ("-trace", e)]
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
    assert run.find(r"nvme: model .*, up to 32 commands in flight$"), run.output[-3000:]
    assert not run.find(r"ferry: (error|warning)"), run.output[-3000:]
    trace = None
    if traced:
        with open(log) as f:
            trace = f.read()
    return run, trace


@test
def nvme_deep_queue(tmp):
    """48 virtio-blk requests in flight, 32 of them on the controller at
    once (ferry logs each new power of two it reaches).  The disk is
    throttled, so the queue fills whatever the host's speed."""
    run, _ = deep_queue_run(tmp, 77, 300, 4096, iops=2000)
    m = in_flight_lines(run.output)
    assert m and max(m) >= 16, f"at most {max(m, default=0)} commands in flight\n" + run.output[-3000:]



@test
def nvme_queue_order_at_the_device(tmp):
    """Writes of up to 64 sectors in 256: most overlap.  QEMU's trace:
    several commands in flight at once, some finished before older ones,
    no two overlapping ones in flight with a write among them, the FLUSH
    with nothing else in flight and nothing started during it."""
    run, trace = deep_queue_run(tmp, 5, 400, 256, traced=True, iops=2000)
    most, passed, flushes, breaches = qemu_nvme_trace(trace)
    print(f"nvme_queue_order_at_the_device: QEMU had up to {most} commands in flight, {passed} finished before an "
          f"older one, {flushes} flush(es)")
    assert not breaches, "\n".join(breaches[:20])
    assert most >= 2 and passed > 0 and flushes == 1, (most, passed, flushes)
    assert max(in_flight_lines(run.output), default=0) >= 2, run.output[-3000:]


def failing_nvme_run(tmp, cmd, conf_text, iops=0):
    path, data = raw_image(tmp)
    conf = os.path.join(tmp, "blkdebug.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    extra = ["-drive", f"file=blkdebug:{conf}:{path},format=raw,if=none,id=d0", "-device", f"{NVME},drive=d0"]
    if iops:
        extra += ["-set", f"drive.d0.throttling.iops-total={iops}"]
    run = ferryrun.run_local(None, cmd, timeout=300, extra=extra)
    assert not run.timed_out, "ferry hung:\n" + run.output[-3000:]
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-3000:]
    with open(path, "rb") as f:
        return run, data, f.read()


@test
def nvme_queue_media_error_fails_only_its_requests(tmp):
    """Sector 1000 fails every read and write (blkdebug) while up to 32
    commands are in flight: each request touching it is an I/O error
    (its own status, no reset); every other one, in flight beside it,
    succeeds and lands in order: the image is the shadow without the
    failed writes."""
    seed, n, span = 77, 300, 4096
    conf = (f'[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "{BAD}"\n\n'
            f'[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "{BAD}"\n')
    cmd = f"vblk-qd {seed} {n} {span} 48"
    run, data, image = failing_nvme_run(tmp, cmd, conf, iops=2000)
    plan = disks.vblk_qd_plan(seed, 64)
    writes = [plan(span) for _ in range(n)]
    reads = [plan(span) for _ in range(n)]
    hit = lambda sc: sc[0] <= BAD < sc[0] + sc[1]
    errors = sum(map(hit, writes)) + 1 + sum(map(hit, reads))  # + the span's read of BAD's 64 sectors
    m = run.find(r"^err " + re.escape(cmd) + r": io done, (\d+) errors")
    assert m and int(m.group(1)) == errors, f"expected {errors} errors\n" + run.output[-3000:]
    buf = bytearray(data[:span * SECTOR])
    for i, (sector, count) in enumerate(writes):
        if not hit((sector, count)):
            buf[sector * SECTOR:(sector + count) * SECTOR] = disks.splitmix64_bytes(
                count * SECTOR, (seed * 1000003 + i) & 0xFFFFFFFFFFFFFFFF)
    assert image[:span * SECTOR] == bytes(buf), "the image is not the shadow without the failed writes"
    assert image[span * SECTOR:] == data[span * SECTOR:], "a write landed outside the span"
    assert run.find(r"nvme: WRITE \(nsid 1\) failed: SCT \d SC [0-9a-f]{2}$"), run.output[-3000:]
    assert run.find(r"nvme: READ \(nsid 1\) failed: SCT \d SC [0-9a-f]{2}$"), run.output[-3000:]
    assert max(in_flight_lines(run.output), default=0) >= 16, run.output[-3000:]
    assert not run.find(r"resetting the controller|PANIC"), run.output[-3000:]


@test
def nvme_queue_timeout_is_an_io_error(tmp):
    """A disk that takes 15 s for every read (null-co), past the driver's
    10 s: the READ in flight times out, the controller is reset, the READ
    runs again alone and times out too: one I/O error, and ferry goes on
    to power off with its guest."""
    extra = ["-blockdev", "driver=null-co,node-name=n0,size=67108864,read-zeroes=on,latency-ns=15000000000",
             "-device", f"{NVME},drive=n0"]
    run = ferryrun.run_local(None, "vblk-read 0 1", timeout=300, extra=extra)
    assert not run.timed_out, "ferry hung on the slow disk:\n" + run.output[-3000:]
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-3000:]
    assert run.find(r"^err vblk-read 0 1"), run.output[-3000:]
    assert run.find(r"nvme: READ/WRITE timed out \(1 in flight, each to run alone\); resetting the controller"), \
        run.output[-3000:]
    assert run.find(r"nvme: READ \(nsid 1\) timed out; resetting the controller"), run.output[-3000:]
    assert not run.find(r"did not come back"), run.output[-3000:]


@test
def nvme_pair_deep_queue(tmp):
    """The server's disk on NVMe under a client's 48 requests in flight:
    the server's image and the client's hash are the shadow, and the
    server had two or more of them on its disk at once."""
    test_wire._deep_queue(tmp, "e1000", name="nvme_pair_deep_queue", disk_if="nvme")
