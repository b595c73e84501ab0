"""Disks that fail behind ferry's NVMe and virtio-blk drivers.  Media
errors (QEMU's blkdebug injects EIO on the reads and writes that touch
one sector): each failing request is an I/O error the guest sees, the
driver says what failed, and the requests around it, and ferry, go on.
A disk that never answers in time (null-co with a 15 s latency): each
request is an I/O error after the driver's timeout, never a hang."""
import os

import disks
import ferryrun
from registry import test
from test_local import expect_ok

BAD = 60000  # the sector that fails
CONF = f'[inject-error]\nevent = "read_aio"\nerrno = "5"\nsector = "{BAD}"\n\n' \
       f'[inject-error]\nevent = "write_aio"\nerrno = "5"\nsector = "{BAD}"\n'


def failing_disk(tmp, device, driver_error):
    files = {"/A.TXT": b"still readable\n" * 40}
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, files)
    conf = os.path.join(tmp, "blkdebug.conf")
    with open(conf, "w") as f:
        f.write(CONF)
    before = img.digest()
    extra = ["-drive", f"file=blkdebug:{conf}:{img.path},format=raw,if=none,id=d0", "-device", device]
    cmds = ["vblk-read 0 8", f"vblk-read {BAD - 10} 20", f"vblk-write {BAD - 4} 8 5", "vblk-read 8 8",
            "sha256 /A.TXT"]
    run = ferryrun.run_local(None, "; ".join(cmds), timeout=120, extra=extra)
    assert not run.timed_out, run.output[-3000:]
    errs = [t for k, t in run.results() if k == "err"]
    assert any(t.startswith(f"vblk-read {BAD - 10} 20") for t in errs), run.output[-3000:]
    assert any(t.startswith(f"vblk-write {BAD - 4} 8 5") for t in errs), run.output[-3000:]
    with open(img.path, "rb") as f:
        head = f.read(16 * 512)
    assert expect_ok(run, "vblk-read 0 8") == disks.sha256(head[:8 * 512])
    assert expect_ok(run, "vblk-read 8 8") == disks.sha256(head[8 * 512:])
    assert expect_ok(run, "sha256 /A.TXT").split()[0] == disks.sha256(files["/A.TXT"])
    assert run.find(driver_error), run.output[-3000:]
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-2000:]
    assert img.digest() == before, "a failed write changed the image"


@test
def nvme_media_errors_are_io_errors(tmp):
    failing_disk(tmp, f"nvme,serial={ferryrun.NVME_SERIAL},drive=d0",
                 r"nvme: READ \(nsid 1\) failed: SCT \d SC [0-9a-f]{2}")


@test
def vioblk_media_errors_are_io_errors(tmp):
    failing_disk(tmp, "virtio-blk-pci,drive=d0,disable-legacy=on",
                 r"virtio-blk: virtio0: IN at sector \d+ failed: status 1")


def slow_disk(device, cmds):
    """A disk that takes 15 s for every read or write (QEMU's null-co with
    latency-ns; its IDENTIFY and GET_ID answer at once): past the
    drivers' 10 s command timeout."""
    extra = ["-blockdev", "driver=null-co,node-name=n0,size=67108864,read-zeroes=on,latency-ns=15000000000",
             "-device", device]
    run = ferryrun.run_local(None, cmds, timeout=300, extra=extra)
    assert not run.timed_out, "ferry hung on the slow disk:\n" + run.output[-3000:]
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-3000:]
    errs = [t for k, t in run.results() if k == "err"]
    for c in cmds.split("; "):
        assert any(t.startswith(c) for t in errs), f"'{c}' did not fail:\n{run.output[-3000:]}"
    return run


@test
def nvme_command_timeout_is_an_io_error(tmp):
    """Each READ times out in flight on the queue (drivers/nvme_queue.c),
    the controller is reset there and then (CC.EN = 0 aborts it), and the
    READ runs again alone and times out again: its own I/O error; ferry
    powers off with the guest."""
    run = slow_disk(f"nvme,serial={ferryrun.NVME_SERIAL},drive=n0", "vblk-read 0 1; vblk-read 1 1")
    timeouts = [l for l in run.ferry_lines() if "READ (nsid 1) timed out; resetting the controller" in l]
    assert len(timeouts) == 2, run.output[-3000:]
    assert len([l for l in run.ferry_lines() if "READ/WRITE timed out (1 in flight" in l]) == 2, run.output[-3000:]
    assert run.find(r"nvme: resetting the controller$"), run.output[-3000:]


@test
def vioblk_request_timeout_is_an_io_error(tmp):
    """The timed-out IN fails and so does every request after it, at once.
    The device is reset before the buffer goes back (QEMU's reset waits for
    the 15 s read it still holds)."""
    run = slow_disk("virtio-blk-pci,drive=n0,disable-legacy=on", "vblk-read 0 1; vblk-read 1 1; vblk-flush")
    assert run.find(r"virtio-blk: IN at sector 0 timed out \(device_status=\w+\); every request to virtio0 now fails"), \
        run.output[-3000:]
