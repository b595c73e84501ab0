"""One machine on QEMU's `pc` board (i440FX + PIIX IDE): ferry owns the IDE
disk through drivers/ata.c, its guest reads and writes files through the
logical block device.  The same file round trip as the AHCI tests
(test_local.file_roundtrip), plus: the guest cannot see the IDE controller
or its legacy ports, and a disk in another position (secondary slave,
behind an ATAPI drive) is found."""
import os

import disks
import ferryrun
from registry import test
from test_local import expect_ok, file_roundtrip

# The PIIX IDE function is 00:01.1 on QEMU's pc board; its channels are in
# compatibility mode (programming interface 80h).
LEGACY_PORTS = (0x1F0, 0x1F7, 0x3F6, 0x170, 0x177, 0x376)


def pc_runner(img_path, cmds):
    return ferryrun.run_local(img_path, cmds, timeout=120, machine="pc")


def ide_drives(*drives):
    """QEMU arguments for drives placed by hand: (kind, file, bus, unit)
    with kind "hd" or "cd" (file None: an empty CD drive)."""
    args = []
    for i, (kind, path, bus, unit) in enumerate(drives):
        drive = f"if=none,id=x{i}" + (f",file={path},format=raw" if path else "")
        if kind == "cd":
            drive += ",media=cdrom,readonly=on"
        args += ["-drive", drive, "-device", f"ide-{kind},drive=x{i},bus=ide.{bus},unit={unit}"]
    return args


def ferry_disk_line(run):
    m = run.find(r'ferry: ata: (\w+ \w+): "([^"]*)" serial "[^"]*": (\d+) sectors .*, (bus-master DMA|PIO[^,]*), '
                 r'(\d+) sectors per request')
    assert m, "ferry did not report an IDE disk\n" + run.output[-3000:]
    return m


@test
def ata_fat32_files(tmp):
    run = file_roundtrip(tmp, 32, "none", 64, runner=pc_runner)
    m = ferry_disk_line(run)
    assert m.group(1) == "primary master" and m.group(4) == "bus-master DMA", m.group(0)
    assert m.group(5) == "49152", m.group(0)
    assert not run.find(r"ferry: (error|warning): ata"), run.output[-3000:]


@test
def ata_fat16_mbr_files(tmp):
    run = file_roundtrip(tmp, 16, "mbr", 48, runner=pc_runner)
    assert ferry_disk_line(run).group(1) == "primary master"


@test
def ata_guest_cannot_see_ide(tmp):
    """lspci shows no IDE function; the command, control and bus-master
    ports read all ones (the guest has no port-write command: writes take
    the same path in vm/guest_io.c and are dropped); the disk still
    works afterwards."""
    files = {"/A.TXT": disks.random_bytes(9000, 5)}
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, files)
    first = ferryrun.run_local(img.path, "lspci", timeout=60, machine="pc")
    m = first.find(r"ata bar4 io ([0-9a-f]+) size")
    assert m, "ferry did not report the bus-master BAR it owns\n" + first.output[-3000:]
    bm = int(m.group(1), 16)
    for port, size in ((0x1F0, 8), (0x3F6, 1), (0x170, 8), (0x376, 1)):
        assert first.find(rf"ata io {port:x} size {size:x} \(legacy ports"), first.output[-3000:]
    pcis = [l for l in first.guest_lines() if l.startswith("pci ")]
    assert any(l.startswith("pci 00:01.0 ") for l in pcis), f"the guest should still see the ISA bridge: {pcis}"
    assert not any(" class 0101" in l for l in pcis), f"IDE controller visible: {pcis}"

    ports = [(p, 1) for p in LEGACY_PORTS + (bm, bm + 2, bm + 8, bm + 10)] + [(0x1F2, 2), (0x174, 4), (bm + 4, 4)]
    cmds = [f"in {p:#x} {n}" for p, n in ports]
    # Then the disk must still work: the guest reached none of its state.
    run = ferryrun.run_local(img.path, "; ".join(cmds + ["sha256 /A.TXT", "write /B.BIN 100000 3",
                                                         "sha256 /B.BIN"]),
                             timeout=60, machine="pc")
    assert run.passed(), run.output[-3000:]
    for p, n in ports:
        line = run.find(rf"^in {p:04x} = ([0-9a-f]+)$")
        assert line, f"no in line for {p:#x}\n{run.output[-2000:]}"
        assert line.group(1) == "ff" * n, f"guest read {line.group(1)} at port {p:#x}"
    assert expect_ok(run, "sha256 /A.TXT").split()[0] == disks.sha256(files["/A.TXT"])
    assert img.read("/B.BIN") == disks.splitmix64_bytes(100000, 3)
    assert run.find(r"ferry: warning: guest read port 1f7 of a device ferry owns"), run.output[-3000:]


@test
def ata_secondary_slave_behind_cdrom(tmp):
    """The disk is the secondary slave; the primary master is an empty
    CD-ROM drive (ATAPI, skipped) and the secondary master another CD.
    ferry takes the disk and with it the whole controller."""
    files = {"/A.TXT": disks.random_bytes(20000, 6), "/DIR/B.BIN": disks.random_bytes(300000, 7)}
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, files, dirs=("/DIR",))
    extra = ide_drives(("cd", None, 0, 0), ("cd", None, 1, 0), ("hd", img.path, 1, 1))
    cmds = ["lspci", "sha256 /A.TXT", "sha256 /DIR/B.BIN", "cp /DIR/B.BIN /C.BIN", "write /D.BIN 700000 11",
            "sync", "sha256 /C.BIN"]
    run = ferryrun.run(ferryrun.qemu_cmd(guest_cmds="; ".join(cmds), machine="pc", extra=extra), timeout=120)
    assert run.passed(), run.output[-3000:]
    for where in ("primary master", "secondary master"):
        assert run.find(rf'ferry: ata: {where}: ATAPI device "QEMU DVD-ROM" skipped'), run.output[-3000:]
    m = ferry_disk_line(run)
    assert m.group(1) == "secondary slave" and m.group(2) == "QEMU HARDDISK", m.group(0)
    assert run.find(r"^guest: ld0: .* served by ata0:secondary-slave$"), run.output[-3000:]
    pcis = [l for l in run.guest_lines() if l.startswith("pci ")]
    assert not any(" class 0101" in l for l in pcis), f"IDE controller visible: {pcis}"
    for p in ("/A.TXT", "/DIR/B.BIN"):
        assert expect_ok(run, f"sha256 {p}").split()[0] == disks.sha256(files[p])
    assert img.read("/C.BIN") == files["/DIR/B.BIN"]
    assert img.read("/D.BIN") == disks.splitmix64_bytes(700000, 11)
    ok, out = img.fsck()
    assert ok, out


@test
def ata_cdrom_only_stays_with_the_guest(tmp):
    """No ATA disk, only a CD drive: ferry leaves the controller (and its
    ports) to the guest, and its logical device reports no disk."""
    run = ferryrun.run(ferryrun.qemu_cmd(guest_cmds="lspci; in 0x1f7; in 0x177", machine="pc",
                                         extra=ide_drives(("cd", None, 1, 0))), timeout=60)
    assert not run.timed_out, run.output[-3000:]
    assert run.find(r'ferry: ata: secondary master: ATAPI device "QEMU DVD-ROM" skipped'), run.output[-3000:]
    assert run.find(r"ferry: ata: no ATA disk on 00:01\.1; the guest keeps it"), run.output[-3000:]
    pcis = [l for l in run.guest_lines() if l.startswith("pci ")]
    assert any(" class 0101" in l for l in pcis), f"the guest should see the IDE controller: {pcis}"
    # The guest reaches the hardware: the empty primary channel reads 00 on
    # QEMU, the CD's status is not all ones.
    for port in (0x1F7, 0x177):
        line = run.find(rf"^in {port:04x} = ([0-9a-f]+)$")
        assert line and line.group(1) != "ff", f"port {port:#x}: {line and line.group(0)}\n{run.output[-2000:]}"
    assert not run.find(r"ferry: warning: guest read port"), run.output[-3000:]


def blkdebug_disk(tmp, img_path, rules):
    """QEMU arguments for the disk as primary master behind QEMU's blkdebug
    driver, which fails the I/O its rules name (an ATA error, ABRT, as a
    real disk's unreadable sector would give)."""
    cfg = os.path.join(tmp, "blkdebug.cfg")
    with open(cfg, "w") as f:
        for event, sector in rules:
            f.write(f'[inject-error]\nevent = "{event}"\nerrno = "5"\nonce = "on"\n')
            if sector is not None:
                f.write(f'sector = "{sector}"\n')
    return ["-drive", f"file=blkdebug:{cfg}:{img_path},format=raw,if=none,id=x0",
            "-device", "ide-hd,drive=x0,bus=ide.0,unit=0"]


@test
def ata_dma_failure_falls_back_to_pio(tmp):
    """The DMA read at probe time (the disk's last sector) fails: ferry
    resets the channel, serves the disk by PIO, and files still round-trip."""
    files = {"/A.TXT": disks.random_bytes(150000, 8)}
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, files)
    last = os.path.getsize(img.path) // 512 - 1
    cmds = ["sha256 /A.TXT", "cp /A.TXT /B.TXT", "write /C.BIN 400000 5", "sync", "sha256 /B.TXT"]
    run = ferryrun.run(ferryrun.qemu_cmd(guest_cmds="; ".join(cmds), machine="pc",
                                         extra=blkdebug_disk(tmp, img.path, [("read_aio", last)])), timeout=120)
    assert run.passed(), run.output[-3000:]
    assert run.find(rf"ferry: error: ata: primary master: READ DMA EXT lba {last} count 1 failed: "
                    r"status=\w+ \(DRDY ERR\) error=04 \(ABRT\)"), run.output[-3000:]
    assert run.find(r"ferry: ata: primary master: channel reset"), run.output[-3000:]
    assert ferry_disk_line(run).group(4) == "PIO (a DMA read failed)"
    for p in ("/A.TXT", "/B.TXT"):
        assert expect_ok(run, f"sha256 {p}").split()[0] == disks.sha256(files["/A.TXT"])
    assert img.read("/B.TXT") == files["/A.TXT"]
    assert img.read("/C.BIN") == disks.splitmix64_bytes(400000, 5)
    ok, out = img.fsck()
    assert ok, out


@test
def ata_read_error_recovers(tmp):
    """A read the disk fails mid-run: the guest's command gets an I/O
    error, ferry logs the registers and resets the channel, and the same
    read then works, as do writes."""
    files = {"/A.TXT": disks.random_bytes(40000, 9)}
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, files)
    with open(img.path, "rb") as f:
        at = f.read().find(files["/A.TXT"][:4096])
    assert at > 0 and at % 512 == 0, "the file's data is not where expected"
    sector = at // 512 + 3  # inside the file's first cluster
    cmds = ["sha256 /A.TXT", "sha256 /A.TXT", "write /B.BIN 200000 4", "sha256 /B.BIN"]
    run = ferryrun.run(ferryrun.qemu_cmd(guest_cmds="; ".join(cmds), machine="pc",
                                         extra=blkdebug_disk(tmp, img.path, [("read_aio", sector)])), timeout=120)
    assert not run.timed_out, run.output[-3000:]
    assert ferry_disk_line(run).group(4) == "bus-master DMA"
    m = run.find(r"ferry: error: ata: primary master: READ DMA EXT lba (\d+) count (\d+) failed: "
                 r"status=\w+ \(DRDY ERR\) error=04 \(ABRT\) bm_status=")
    assert m, run.output[-3000:]
    assert int(m.group(1)) <= sector < int(m.group(1)) + int(m.group(2)), m.group(0)
    assert run.find(r"ferry: ata: primary master: channel reset"), run.output[-3000:]
    results = [(k, t) for k, t in run.results() if t.startswith("sha256 /A.TXT")]
    assert [k for k, _ in results] == ["err", "ok"], results
    assert results[1][1].split()[2] == disks.sha256(files["/A.TXT"])
    assert expect_ok(run, "sha256 /B.BIN").split()[0] == disks.sha256(disks.splitmix64_bytes(200000, 4))
    assert img.read("/B.BIN") == disks.splitmix64_bytes(200000, 4)
    m = run.find(r"logical device: (\d+) commands, (\d+) errors")
    assert m and int(m.group(2)) == 1, run.output[-2000:]
