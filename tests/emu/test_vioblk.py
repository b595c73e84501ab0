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
