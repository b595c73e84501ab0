"""ferry's virtio-blk PCI device (docs/virtio-blk.md), as its own guest
drives it (guest/vblk_drv.c, guest/vblk_test.c): the device on the PCI
bus through both configuration doors, a normal round trip checked
against the image, the FAT file system over it, and a driver that breaks
every rule on purpose: each bad request gets IOERR, each broken ring
DEVICE_NEEDS_RESET, ferry keeps running, the disk keeps its bytes."""
import os

import disks
import ferryrun
from registry import test
from test_local import expect_ok

SECTOR = 512
MiB = 1024 * 1024
ECAM = 0xB0000000  # q35's MMCONFIG window (ferry logs it)

REQUEST_CASES = ["read-into", "write-from", "write-flag", "read-flag", "header-writable", "partial",
                 "past-end", "past-ram", "too-many-segs", "misordered"]
RING_CASES = ["loop", "long-chain", "indirect-at", "avail-jump", "bad-head", "bad-next", "status-at",
              "ring-at"]


def raw_image(tmp, size_mib=8, seed=11):
    path = os.path.join(tmp, "raw.img")
    data = disks.random_bytes(size_mib * MiB, seed)
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def read_image(path):
    with open(path, "rb") as f:
        return f.read()


def slot_of(run):
    m = run.find(r"virtio-blk: pci 00:([0-9a-f]{2})\.0 \(1af4:1042\)")
    assert m, "ferry did not attach virtio-blk\n" + run.output[-3000:]
    return int(m.group(1), 16)


@test
def virtio_blk_roundtrip(tmp):
    path, data = raw_image(tmp)
    cmds = ["lspci", "vblk-info", "vblk-id", "vblk-read 0 16", "vblk-read 100 1000",
            "vblk-write 4096 700 42", "vblk-read 4096 700", "vblk-flush", "vblk-irq",
            f"peek {ECAM + (0x10 << 15):#x}", f"peek {ECAM + (0x1F << 15 | 2 << 12):#x}"]
    run = ferryrun.run_local(path, "; ".join(cmds), timeout=200)
    assert run.passed(), run.output[-4000:]
    slot = slot_of(run)
    assert slot == 0x10, f"virtio-blk at slot {slot:#x}"
    assert any(l.startswith(f"pci 00:{slot:02x}.0 1af4:1042 class 010000") for l in run.guest_lines()), \
        run.output[-3000:]
    assert run.find(r"^guest: vd0: virtio-blk at pci 00:10\.0, 16384 sectors of 512 bytes"), run.output[-3000:]
    assert expect_ok(run, "vblk-id") == "QM00001"  # QEMU's serial of the disk, from the back end
    assert expect_ok(run, "vblk-read 0 16") == disks.sha256(data[:16 * SECTOR])
    assert expect_ok(run, "vblk-read 100 1000") == disks.sha256(data[100 * SECTOR:1100 * SECTOR])
    written = disks.splitmix64_bytes(700 * SECTOR, 42)
    assert expect_ok(run, "vblk-write 4096 700 42") == disks.sha256(written)
    assert expect_ok(run, "vblk-read 4096 700") == disks.sha256(written)
    after = read_image(path)
    lo, hi = 4096 * SECTOR, (4096 + 700) * SECTOR
    assert after[lo:hi] == written, "the write did not reach the image"
    assert after[:lo] == data[:lo] and after[hi:] == data[hi:], "bytes outside the write changed"
    # ECAM and CF8/CFC agree: the virtual function answers, the owned AHCI is absent.
    assert run.find(rf"^peek {ECAM + (0x10 << 15):08x} = 10421af4$"), run.output[-3000:]
    assert run.find(rf"^peek {ECAM + (0x1F << 15 | 2 << 12):08x} = ffffffff$"), run.output[-3000:]
    assert run.find(r"virtio-blk: \d+ requests \([^)]*\), 0 errors"), run.output[-3000:]
    # MSI-X through the local APIC: one interrupt per read, none while the
    # vector is masked (its PBA bit set instead), the latched one on unmask,
    # a configuration interrupt for NEEDS_RESET.
    expect_ok(run, "vblk-irq")
    assert run.find(r"^vblk-irq status=0f read=0/1 masked=0/1 pba=2 unmasked=2 config=1 status=0f$"), \
        run.output[-3000:]


@test
def virtio_blk_fat_files(tmp):
    """The guest's FAT code over vd0, checked with mtools and fsck.fat."""
    files = {"/A.TXT": b"over virtio\n" * 300, "/BIG.BIN": disks.random_bytes(700000, 5)}
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, files)
    cmds = ["sha256 vd0:/A.TXT", "sha256 vd0:/BIG.BIN", "cp vd0:/BIG.BIN vd0:/COPY.BIN",
            "write vd0:/GEN.BIN 300000 9", "mkdir vd0:/D", "sync"]
    run = ferryrun.run_local(img.path, "; ".join(cmds), timeout=300)
    assert run.passed(), run.output[-4000:]
    for p, d in files.items():
        assert expect_ok(run, f"sha256 vd0:{p}").split()[0] == disks.sha256(d)
    assert img.read("/COPY.BIN") == files["/BIG.BIN"]
    assert img.read("/GEN.BIN") == disks.splitmix64_bytes(300000, 9)
    assert img.exists("/D")
    ok, out = img.fsck()
    assert ok, out


@test
def virtio_blk_hostile_driver(tmp):
    path, data = raw_image(tmp)
    # ferry's pool, from a first boot: the other memory of ferry's a guest
    # may aim at (the default ADDR is ferry's image, the first non-RAM
    # address above 1 MiB).
    first = ferryrun.run_local(path, "vblk-info", timeout=120)
    pool = first.find(r"pool ([0-9a-f]+)-([0-9a-f]+)")
    assert pool, first.output[-2000:]
    pool = int(pool.group(1), 16) + 0x1000
    cases = [f"vblk-evil {c}" for c in REQUEST_CASES + ["unsupported"] + RING_CASES]
    cases += [f"vblk-evil {c} {pool:#x}" for c in ("read-into", "write-from", "status-at", "ring-at",
                                                     "indirect-at")]
    cmds = cases + ["vblk-read 0 64", "vblk-id"]
    run = ferryrun.run_local(path, "; ".join(cmds), timeout=300)
    for c in cases:
        name = c.split()[1]
        want = "needs-reset" if name in RING_CASES else "unsupp" if name == "unsupported" else "ioerr"
        assert expect_ok(run, c) == want, f"{c}: {run.output[-3000:]}"
        addr = f"{int(c.split()[2], 16):x}" if len(c.split()) > 2 else "[0-9a-f]+"
        assert run.find(rf"^vblk-evil {name} addr={addr} got={want} expected={want} recovered=yes$"), c
    # ferry's image is what the default ADDR aims at.
    assert run.find(r"^vblk-evil read-into addr=100000 "), run.output[-3000:]
    # ferry keeps going: a normal read after all of it, and a normal end.
    assert expect_ok(run, "vblk-read 0 64") == disks.sha256(data[:64 * SECTOR])
    assert run.passed(), run.output[-4000:]
    assert run.find(r"ferry: guest stopped: the guest powered off \(status 0\)"), run.output[-2000:]
    rings = len([c for c in cases if c.split()[1] in RING_CASES])
    assert run.find(rf"virtio-blk: .* {rings} resets needed"), run.output[-2000:]
    assert read_image(path) == data, "the image changed"


@test
def virtio_blk_off(tmp):
    path, _ = raw_image(tmp, 2)
    run = ferryrun.run_local(path, "lspci; vblk-info", timeout=120, ferry_args="loglevel=info virtio_blk=off")
    assert not run.find(r"virtio-blk: pci"), run.output[-2000:]
    assert not any("1af4:1042" in l for l in run.guest_lines()), run.output[-2000:]
    assert any(k == "err" and t.startswith("vblk-info") for k, t in run.results()), run.output[-2000:]


@test
def pair_e1000_virtio_blk(tmp):
    """The client role: virtio-blk served by the network client."""
    path, data = raw_image(tmp, 4)
    cmds = ["vblk-id", "vblk-read 0 64", "vblk-write 1000 300 3", "vblk-read 1000 300", "vblk-flush",
            "vblk-evil read-into", "vblk-evil loop", "vblk-read 8 8"]
    client, server = ferryrun.run_pair(path, "; ".join(cmds), nic="e1000", timeout=400)
    assert client.passed(), client.output[-4000:]
    assert client.find(r"virtio-blk: pci 00:[0-9a-f]{2}\.0 \(1af4:1042\), .* on net:"), client.output[-3000:]
    assert expect_ok(client, "vblk-read 0 64") == disks.sha256(data[:64 * SECTOR])
    written = disks.splitmix64_bytes(300 * SECTOR, 3)
    assert expect_ok(client, "vblk-read 1000 300") == disks.sha256(written)
    assert expect_ok(client, "vblk-evil read-into") == "ioerr"
    assert expect_ok(client, "vblk-evil loop") == "needs-reset"
    after = read_image(path)
    assert after[1000 * SECTOR:1300 * SECTOR] == written
    assert after[:1000 * SECTOR] == data[:1000 * SECTOR] and after[1300 * SECTOR:] == data[1300 * SECTOR:]


@test
def bochs_virtio_blk_on_vmx(tmp):
    """The same device under Intel VMX with EPT (Bochs, i440FX: no ECAM):
    a round trip, a bad request, a broken ring, MSI-X interrupts."""
    import bochsrun
    path, data = raw_image(tmp, 4)
    cmds = ["vblk-read 0 32", "vblk-write 200 16 5", "vblk-evil write-from", "vblk-evil bad-next",
            "vblk-irq", "vblk-read 200 16"]
    run = bochsrun.run_local(path, "; ".join(cmds), timeout=300)
    assert run.passed(), run.output[-4000:]
    assert run.find(r"starting the guest \(Intel VMX with EPT\)"), run.output[-3000:]
    assert expect_ok(run, "vblk-read 0 32") == disks.sha256(data[:32 * SECTOR])
    written = disks.splitmix64_bytes(16 * SECTOR, 5)
    assert expect_ok(run, "vblk-read 200 16") == disks.sha256(written)
    assert expect_ok(run, "vblk-evil write-from") == "ioerr"
    assert expect_ok(run, "vblk-evil bad-next") == "needs-reset"
    expect_ok(run, "vblk-irq")
    after = read_image(path)
    assert after[200 * SECTOR:216 * SECTOR] == written
    assert after[:200 * SECTOR] == data[:200 * SECTOR] and after[216 * SECTOR:] == data[216 * SECTOR:]
