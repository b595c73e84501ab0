"""ferry owns an NVMe disk (drivers/nvme.c): the file round trips of the
local and pair tests with the image on QEMU's NVMe controller, a
namespace with 4096-byte sectors, a controller with two namespaces, and a
guest that cannot see the controller.  Every check is on the host
(mtools, fsck.fat) or against Python's hashes."""
import os

import disks
import ferryrun
from registry import test
from test_local import expect_ok, expect_unreadable, file_roundtrip
from test_pair import pair_runner

MiB = 1024 * 1024
LBS_4K = "logical_block_size=4096,physical_block_size=4096"


def nvme_runner(opts=""):
    def run(img_path, cmds):
        extra = ferryrun.disk_args(img_path, "nvme", opts=opts)
        r = ferryrun.run_local(None, cmds, timeout=400, extra=extra)
        assert r.find(r"nvme: nvme0n1: \d+ sectors"), r.output[-3000:]
        return r
    return run


@test
def nvme_fat32_files(tmp):
    run = file_roundtrip(tmp, 32, "none", 64, nvme_runner())
    assert run.find(r"served by nvme0n1"), run.output[-2000:]
    assert run.find(rf'model "QEMU NVMe Ctrl" serial "{ferryrun.NVME_SERIAL}"'), run.output[-2000:]


@test
def nvme_fat16_gpt_files(tmp):
    file_roundtrip(tmp, 16, "gpt", 48, nvme_runner())


@test
def nvme_4k_sectors_files(tmp):
    """A namespace formatted with 4096-byte blocks is a 4096-byte-sector
    disk to the guest, with a file system made for one."""
    run = file_roundtrip(tmp, 16, "none", 64, nvme_runner(LBS_4K), sector_size=4096)
    assert run.find(r"nvme: nvme0n1: 16384 sectors of 4096 bytes"), run.output[-2000:]
    assert run.find(r"^lbd magic=\w+ version=\d+ state=\w+ sector_size=4096 capacity=16384 "), run.output[-2000:]


@test
def nvme_pair_files(tmp):
    """The server's disk on NVMe, served to a diskless client."""
    file_roundtrip(tmp, 32, "none", 64, pair_runner("e1000", disk_if="nvme"))


def two_namespaces(tmp):
    """Two images as namespaces 1 and 2 of one controller."""
    a = disks.make_fat(os.path.join(tmp, "ns1.img"), 32, 40, {"/ONE.TXT": b"namespace one\n" * 30})
    b = disks.make_fat(os.path.join(tmp, "ns2.img"), 32, 40, {"/TWO.TXT": b"namespace two\n" * 30})
    extra = ["-device", f"nvme,id=nvme0,serial={ferryrun.NVME_SERIAL}"]
    for n, img in ((1, a), (2, b)):
        extra += ["-drive", f"file={img.path},format=raw,if=none,id=ns{n}",
                  "-device", f"nvme-ns,drive=ns{n},bus=nvme0,nsid={n}"]
    return a, b, extra


@test
def nvme_two_namespaces(tmp):
    """Both namespaces are found; ferry serves the first, the second is
    left alone."""
    a, b, extra = two_namespaces(tmp)
    b_before = b.digest()
    run = ferryrun.run_local(None, "sha256 /ONE.TXT; write /NEW.BIN 70000 3; sync", timeout=200, extra=extra)
    assert run.passed(), run.output[-3000:]
    assert run.find(r"nvme: 2 namespaces"), run.output[-3000:]
    assert run.find(r"nvme: nvme0n1: 81920 sectors of 512 bytes"), run.output[-3000:]
    assert run.find(r"nvme: nvme0n2: 81920 sectors of 512 bytes"), run.output[-3000:]
    assert run.find(r"served by nvme0n1"), run.output[-3000:]
    assert expect_ok(run, "sha256 /ONE.TXT").split()[0] == disks.sha256(b"namespace one\n" * 30)
    assert a.read("/NEW.BIN") == disks.splitmix64_bytes(70000, 3)
    assert a.fsck()[0]
    assert b.digest() == b_before, "the namespace ferry does not serve changed"


@test
def nvme_guest_cannot_see_the_controller(tmp):
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"x"})
    extra = ferryrun.disk_args(img.path, "nvme")
    first = ferryrun.run_local(None, "lspci", timeout=60, extra=extra)
    m = first.find(r"nvme bar0 mem ([0-9a-f]+) size ([0-9a-f]+)")
    assert m, "ferry did not report the NVMe BAR it owns\n" + first.output[-2000:]
    bar, size = int(m.group(1), 16), int(m.group(2), 16)
    pcis = [l for l in first.guest_lines() if l.startswith("pci ")]
    assert pcis, "the guest saw no PCI devices at all"
    assert not any(l.endswith("class 010802") for l in pcis), f"NVMe visible: {pcis}"
    # Registers (CAP), the first doorbell, and the end of BAR0 where QEMU
    # puts the MSI-X table and PBA.
    addrs = (bar, bar + 0x1000, bar + size - 4)
    run = ferryrun.run_local(None, "; ".join(f"peek {a:#x}" for a in addrs) + "; sha256 /A.TXT",
                             timeout=60, extra=extra)
    assert run.passed(), run.output[-3000:]
    expect_unreadable(run, addrs)


@test
def nvme_disk_key_picks_a_namespace(tmp):
    """disk=nvme0n2 serves the second namespace; the first is left alone."""
    a, b, extra = two_namespaces(tmp)
    a_before = a.digest()
    run = ferryrun.run_local(None, "sha256 /TWO.TXT; write /NEW.BIN 5000 8; sync", timeout=200, extra=extra,
                             ferry_args="loglevel=info disk=nvme0n2")
    assert run.passed(), run.output[-3000:]
    assert run.find(r"disk: nvme0n2 \(nvme driver\), chosen by disk="), run.output[-3000:]
    assert expect_ok(run, "sha256 /TWO.TXT").split()[0] == disks.sha256(b"namespace two\n" * 30)
    assert b.read("/NEW.BIN") == disks.splitmix64_bytes(5000, 8)
    assert b.fsck()[0]
    assert a.digest() == a_before, "the namespace ferry does not serve changed"


@test
def disk_key_that_matches_nothing_names_what_was_found(tmp):
    """A disk= naming no disk stops ferry before the guest runs, listing
    the disks it did find; nothing is written anywhere."""
    a, b, extra = two_namespaces(tmp)
    before = (a.digest(), b.digest())
    run = ferryrun.run_local(None, "write /X.BIN 100 1", timeout=120, extra=extra,
                             ferry_args="loglevel=info disk=nvme0n3")
    assert not run.timed_out, run.output[-3000:]
    assert run.find(r"cannot run: disk=nvme0n3 names no disk ferry can serve; found: nvme0n1, nvme0n2$"), \
        run.output[-3000:]
    assert not run.guest_lines(), "the guest ran"
    assert (a.digest(), b.digest()) == before
    # On AHCI: the image is on port 0, port 1 is asked for.
    img = disks.make_fat(os.path.join(tmp, "ahci.img"), 32, 40, {"/A.TXT": b"a"})
    run = ferryrun.run_local(img.path, "ls /", timeout=120, ferry_args="loglevel=info disk=ahci0:port1")
    assert run.find(r"cannot run: disk=ahci0:port1 names no disk ferry can serve; found: ahci0:port0$"), \
        run.output[-3000:]
    run = ferryrun.run_local(img.path, "sha256 /A.TXT", timeout=120, ferry_args="loglevel=info disk=ahci0:port0")
    assert run.passed() and run.find(r"disk: ahci0:port0 \(ahci driver\), chosen by disk="), run.output[-3000:]
