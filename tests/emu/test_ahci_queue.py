"""ferry's AHCI driver with many commands in flight (drivers/ahci_queue.c):
the guest's virtio-blk on a local q35 AHCI disk, kept busy by
guest/vblk_qd.c.  QEMU's AHCI has NCQ, so reads and writes go as FPDMA
QUEUED commands.  Besides the bytes (the shadow the host computes from
the seed, on the image and in the guest's hash), QEMU's own trace shows
what the device had in flight: several queued commands at once, finished
out of order, yet never two overlapping ones with a write among them,
and a FLUSH only with nothing queued and nothing queued during it
(platform/blk.h's ordering).  Media errors and a disk that never answers
in time fail only the requests they touch, each after it ran again
alone."""
import os
import re

import disks
import ferryrun
from registry import test
from test_local import expect_ok

SECTOR = 512
MiB = 1024 * 1024
TRACE = ["process_ncq_command", "ncq_finish", "ide_exec_cmd", "ahci_cmd_done"]
BAD = 1000  # the sector blkdebug fails


def raw_image(tmp, seed=9):
    path = os.path.join(tmp, "raw.img")
    data = disks.random_bytes(8 * MiB, seed)
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def qemu_ncq_trace(text):
    """What QEMU's AHCI did, by its trace: the most queued commands it held
    at once, how many finished while an older one was still in flight,
    and each breach of the ordering seen at the device."""
    held, order, breaches = {}, [], []
    most = passed = flushes = 0
    in_flush = False
    for line in text.splitlines():
        m = re.search(r"process_ncq_command .*\[tag:(\d+)\]: NCQ op 0x(6[01]) on sectors \[(\d+),(\d+)\]", line)
        if m:
            tag, write, lo, hi = int(m.group(1)), m.group(2) == "61", int(m.group(3)), int(m.group(4))
            if in_flush:
                breaches.append(f"tag {tag} started during a FLUSH")
            for t, (w, a, b) in held.items():
                if (w or write) and lo <= b and a <= hi:
                    breaches.append(f"tag {tag} [{lo},{hi}] overlaps tag {t} [{a},{b}] in flight")
            held[tag] = (write, lo, hi)
            order.append(tag)
            most = max(most, len(held))
            continue
        m = re.search(r"ncq_finish .*\[tag:(\d+)\]", line)
        if m:
            tag = int(m.group(1))
            passed += order[0] != tag
            order.remove(tag)
            del held[tag]
            continue
        m = re.search(r"ide_exec_cmd .*cmd 0x(\w+)", line)
        if m and m.group(1) in ("e7", "ea"):
            flushes += 1
            in_flush = True
            if held:
                breaches.append(f"FLUSH started with tags {sorted(held)} in flight")
        elif "ahci_cmd_done" in line:
            in_flush = False
    return most, passed, flushes, breaches


def deep_queue(tmp, seed, n, span, depth=48, traced=False, iops=0, ncq=True):
    """vblk-qd on the local AHCI disk: the guest's hash and the image must
    be the shadow; returns the run and, traced, QEMU's trace.  iops
    throttles QEMU's disk to that many requests a second (so commands wait
    on it however fast the host is)."""
    path, data = raw_image(tmp)
    log = os.path.join(tmp, "qemu-trace.log")
    extra = ["-D", log] + [a for e in TRACE for a in ("-trace", e)] if traced else []
    if iops:
        extra += ["-set", f"drive.d0.throttling.iops-total={iops}"]
    cmd = f"vblk-qd {seed} {n} {span} {depth}"
    run = ferryrun.run_local(path, cmd, timeout=300, extra=extra,
                             ferry_args="loglevel=info" + ("" if ncq else " ncq=off"))
    assert not run.timed_out, run.output[-3000:]
    shadow = disks.vblk_qd_shadow(data, seed, n, span)
    assert expect_ok(run, cmd) == f"{disks.sha256(shadow)} most={depth}", run.output[-3000:]
    # With requests in flight the device asks for no doorbells (every exit
    # looks at the ring): the driver rings only when the queue ran dry.
    bells = run.find(r"vblk-qd: (\d+) doorbells for (\d+) requests")
    assert bells and int(bells.group(1)) < int(bells.group(2)) / 2, run.output[-3000:]
    with open(path, "rb") as f:
        image = f.read()
    assert image[:span * SECTOR] == shadow, "the image is not the shadow"
    assert image[span * SECTOR:] == data[span * SECTOR:], "a write landed outside the span"
    mode = r"NCQ: 32 commands in flight" if ncq else r"NCQ off \(ncq=off\): one command at a time"
    assert run.find(rf"ahci: port 0: .*, {mode}$"), run.output[-3000:]
    assert not run.find(r"ferry: (error|warning)"), run.output[-3000:]
    trace = None
    if traced:
        with open(log) as f:
            trace = f.read()
    return run, trace


@test
def ahci_ncq_deep_queue(tmp):
    """48 virtio-blk requests in flight, 32 of them queued on the disk at
    once (ferry logs each new power of two it reaches).  The disk is
    throttled: on an idle host QEMU's disk keeps up with the guest at 4-8
    commands at once, which says nothing of the queue."""
    run, _ = deep_queue(tmp, 77, 300, 4096, iops=2000)
    m = [int(x) for x in re.findall(r"ahci: port 0: (\d+) queued commands in flight at once", run.output)]
    assert m and max(m) >= 16, f"at most {max(m, default=0)} queued commands in flight\n" + run.output[-3000:]


@test
def ahci_without_ncq_one_command_at_a_time(tmp):
    """ncq=off (a controller or disk whose NCQ misbehaves): the same
    requests through one ordinary command at a time, each found finished
    by poll; the bytes are the shadow's, and nothing was queued."""
    run, _ = deep_queue(tmp, 78, 300, 4096, iops=2000, ncq=False)
    assert not run.find(r"queued commands in flight at once"), run.output[-3000:]


@test
def ahci_ncq_order_at_the_device(tmp):
    """Writes of up to 64 sectors in 256: most overlap.  QEMU's trace:
    several commands queued at once, some finished before older ones, no
    two overlapping ones in flight with a write among them, the FLUSH
    with nothing queued and nothing queued during it."""
    _, trace = deep_queue(tmp, 5, 400, 256, traced=True)
    most, passed, flushes, breaches = qemu_ncq_trace(trace)
    print(f"ahci_ncq_order_at_the_device: QEMU held up to {most} queued commands, {passed} finished before an "
          f"older one, {flushes} flush(es)")
    assert not breaches, "\n".join(breaches[:20])
    assert most >= 2 and passed > 0 and flushes == 1, (most, passed, flushes)


def failing_disk_run(tmp, cmd, conf_text, timeout=300):
    path, data = raw_image(tmp)
    conf = os.path.join(tmp, "blkdebug.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    extra = ["-drive", f"file=blkdebug:{conf}:{path},format=raw,if=none,id=d0",
             "-device", "ide-hd,drive=d0,bus=ide.0"]
    run = ferryrun.run_local(None, cmd, timeout=timeout, extra=extra)
    assert not run.timed_out, "ferry hung:\n" + run.output[-3000:]
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-3000:]
    with open(path, "rb") as f:
        return run, data, f.read()


@test
def ahci_ncq_media_error_fails_only_its_requests(tmp):
    """Sector 1000 fails every read and write (blkdebug) while up to 32
    commands are queued: each request touching it is an I/O error, after
    it ran again alone; every other one, queued beside it, succeeds and
    lands in order: the image is the shadow without the failed writes."""
    seed, n, span = 77, 300, 4096
    conf = (f'[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "{BAD}"\n\n'
            f'[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "{BAD}"\n')
    cmd = f"vblk-qd {seed} {n} {span} 48"
    run, data, image = failing_disk_run(tmp, cmd, conf)
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
    assert run.find(r"ahci: port 0: READ/WRITE FPDMA QUEUED failed \(\d+ in flight, each to run alone\)"), \
        run.output[-3000:]
    assert run.find(r"ahci: port 0: (READ|WRITE) DMA EXT failed"), run.output[-3000:]
    assert not run.find(r"giving up on the disk|PANIC"), run.output[-3000:]


@test
def ahci_ncq_timeout_is_an_io_error(tmp):
    """A disk that takes 15 s for every read (null-co), past the driver's
    10 s: the queued READ times out, the port is reset, the READ runs
    again alone and times out too: one I/O error, ferry goes on."""
    extra = ["-blockdev", "driver=null-co,node-name=n0,size=67108864,read-zeroes=on,latency-ns=15000000000",
             "-device", "ide-hd,drive=n0,bus=ide.0"]
    run = ferryrun.run_local(None, "vblk-read 0 1", timeout=300, extra=extra)
    assert not run.timed_out, "ferry hung on the slow disk:\n" + run.output[-3000:]
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-3000:]
    assert run.find(r"^err vblk-read 0 1"), run.output[-3000:]
    assert run.find(r"ahci: port 0: READ/WRITE FPDMA QUEUED timed out \(1 in flight, each to run alone\)"), \
        run.output[-3000:]
    assert run.find(r"ahci: port 0: READ DMA EXT timed out"), run.output[-3000:]


def spin_gaps(text, start, end):
    """The server guest's spin lines between the first match of start and
    the first of end after it: (seconds they cover, longest gap in
    seconds), by the guest's own clock."""
    a = re.search(start, text, re.M)
    b = a and re.search(end, text[a.end():], re.M)
    assert a and b, text[-3000:]
    ms = [int(x) for x in re.findall(r"^spin \d+ (\d+) ms", text[a.end():a.end() + b.start()], re.M)]
    if len(ms) < 2:
        return 0.0, float("inf")
    return (ms[-1] - ms[0]) / 1000, max(y - x for x, y in zip(ms, ms[1:])) / 1000


@test
def ahci_recovery_leaves_the_server_running(tmp):
    """The server's disk takes 15 s for every read (null-co): a client's
    READ times out queued after 10 s, the port is reset, and the READ runs
    again alone, timing out 10 s later.  Those 10 s are spent waiting on
    the disk, not inside ferry: the server's own guest runs on, its spin
    lines on time all through them."""
    extra = ["-blockdev", "driver=null-co,node-name=n0,size=67108864,read-zeroes=on,latency-ns=15000000000",
             "-device", "ide-hd,drive=n0,bus=ide.0"]
    client, server = ferryrun.run_pair(None, "vblk-read 0 1; spin 30", timeout=400, server_cmds="spin 0 200",
                                       server_extra=extra)
    assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
    assert client.find(r"^err vblk-read 0 1"), client.output[-3000:]
    queued = r"ahci: port 0: READ/WRITE FPDMA QUEUED timed out \(1 in flight, each to run alone\)"
    alone = r"ahci: port 0: READ DMA EXT timed out"
    covered, gap = spin_gaps(server.output, queued, alone)
    print(f"ahci_recovery_leaves_the_server_running: spin lines over {covered:.1f} s of the retry alone, "
          f"longest gap {gap:.2f} s")
    assert covered >= 8 and gap < 2, f"the server's guest stood still ({covered} s covered, gap {gap} s):\n" + \
        server.output[-3000:]
