"""One machine: ferry owns the AHCI disk, its guest reads and writes files
through the trapped logical block device.  Every test checks what a user
would: the hashes the guest prints against Python's, the files on the
image afterwards with mtools, and fsck.fat."""
import os
import re

import disks
import ferryrun
from registry import test

MiB = 1024 * 1024


def expect_ok(run, what):
    """The guest's result line for `what` (e.g. 'sha256 /A.TXT') must be ok;
    returns the text after it."""
    for kind, text in run.results():
        if text == what or text.startswith(what + " "):
            assert kind == "ok", f"'{what}' failed: {kind} {text}\n{run.output[-3000:]}"
            return text[len(what):].strip()
    raise AssertionError(f"no result line for '{what}'\n{run.output[-3000:]}")


def expect_unreadable(run, addrs):
    """The guest's `peek` of each address read all ones: nothing there for it."""
    for a in addrs:
        line = run.find(rf"^peek {a:08x} = ([0-9a-f]+)$")
        assert line, f"no peek line for {a:#x}\n{run.output[-2000:]}"
        assert line.group(1) == "ffffffff", f"guest read {line.group(1)} at {a:#x}"


def sample_files():
    return {
        "/A.TXT": b"hello from the host\n" * 50,
        "/EMPTY.BIN": b"",
        "/ONE.BIN": disks.random_bytes(1, 1),
        "/ODD.BIN": disks.random_bytes(12345, 2),
        "/BIG.BIN": disks.random_bytes(3 * MiB + 777, 3),
        "/Long File Name With Spaces.txt": b"long names work\n",
        "/DIR/SUB/DEEP.BIN": disks.random_bytes(70000, 4),
    }


def local_runner(img_path, cmds):
    return ferryrun.run_local(img_path, cmds, timeout=400)


def file_roundtrip(tmp, fat, scheme, size_mib, runner=local_runner, sector_size=disks.SECTOR):
    """The file tests every way of reaching a disk must pass: hashes of
    host-made files, cp of a multi-MiB file, write, overwrite, mkdir, rm,
    then mtools and fsck.fat on the image.  runner(img_path, script) boots
    whatever machines are needed and returns the guest's Run."""
    files = sample_files()
    img = disks.make_fat(os.path.join(tmp, "disk.img"), fat, size_mib, files,
                         dirs=("/DIR", "/DIR/SUB"), scheme=scheme, sector_size=sector_size)
    quoted = lambda p: f'"{p}"' if " " in p else p
    cmds = ["lbd-info", "ls /", "ls /DIR/SUB"]
    cmds += [f"sha256 {quoted(p)}" for p in files]
    cmds += ["cat /A.TXT",
             "cp /BIG.BIN /COPY.BIN",
             "write /GEN.BIN 2500000 42",
             "write /A.TXT 1000 7",           # overwrite a file with a new one
             "mkdir /NEWDIR",
             "cp /ODD.BIN /NEWDIR/ODD2.BIN",
             "rm /ONE.BIN",
             "sync",
             "sha256 /COPY.BIN"]
    run = runner(img.path, "; ".join(cmds))
    assert run.passed(), f"guest reported failure:\n{run.output[-4000:]}"
    for p, data in files.items():
        got = expect_ok(run, f"sha256 {quoted(p)}").split()
        assert got[0] == disks.sha256(data), f"{p}: guest {got[0]} != host {disks.sha256(data)}"
        assert int(got[1]) == len(data), f"{p}: size {got[1]} != {len(data)}"
    listing = [l for l in run.guest_lines() if l.startswith("entry ")]
    names = {l.split(" ", 3)[3] for l in listing}
    assert "Long File Name With Spaces.txt" in names, f"long name missing from ls: {names}"
    assert any("DEEP.BIN" in n for n in names)
    assert expect_ok(run, "sha256 /COPY.BIN").split()[0] == disks.sha256(files["/BIG.BIN"])

    # The host reads back what the guest wrote.
    assert img.read("/COPY.BIN") == files["/BIG.BIN"], "cp result differs on the image"
    assert img.read("/GEN.BIN") == disks.splitmix64_bytes(2500000, 42), "write result differs"
    assert img.read("/A.TXT") == disks.splitmix64_bytes(1000, 7), "overwrite differs"
    assert img.read("/NEWDIR/ODD2.BIN") == files["/ODD.BIN"]
    assert not img.exists("/ONE.BIN"), "rm left the file"
    assert img.read("/DIR/SUB/DEEP.BIN") == files["/DIR/SUB/DEEP.BIN"], "untouched file changed"
    gen = expect_ok(run, "write /GEN.BIN 2500000 42").split()
    assert gen[-1] == disks.sha256(disks.splitmix64_bytes(2500000, 42))
    ok, out = img.fsck()
    assert ok, f"fsck.fat -n found problems:\n{out}"
    return run


@test
def local_fat32_files(tmp):
    file_roundtrip(tmp, 32, "none", 64)


@test
def local_fat16_mbr_files(tmp):
    file_roundtrip(tmp, 16, "mbr", 48)


@test
def local_fat32_gpt_files(tmp):
    file_roundtrip(tmp, 32, "gpt", 64)


@test
def local_bad_input_changes_nothing(tmp):
    """Hostile descriptors: error statuses, the image is unchanged, and the
    guest and ferry go on working."""
    files = {"/A.TXT": disks.random_bytes(5000, 9)}
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, files)
    before = img.digest()
    ferry_image = 0x100000  # ferry is linked there (linker.ld)
    cases = ["lba-range", "lba-wrap", "bad-opcode", "bad-length", "unaligned", "past-ram",
             f"read-into {ferry_image:#x}", f"write-from {ferry_image:#x}",
             f"desc-at {ferry_image:#x}", "reg-write", "bad-insn", "store-forms", "lba-range"]
    cmds = [f"devtest {c}" for c in cases] + ["sha256 /A.TXT", "nosuchcommand", "sha256 /A.TXT"]
    run = ferryrun.run_local(img.path, "; ".join(cmds), timeout=120)
    for c in cases:
        expect_ok(run, f"devtest {c}")
    assert expect_ok(run, "sha256 /A.TXT").split()[0] == disks.sha256(files["/A.TXT"])
    assert any(k == "err" and t.startswith("nosuchcommand") for k, t in run.results())
    assert run.find(r"^done ok=\d+ err=1$"), run.output[-2000:]
    assert img.digest() == before, "the image changed"
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-2000:]
    # ferry counted the refused commands.
    m = run.find(r"logical device: (\d+) commands, (\d+) errors")
    assert m and int(m.group(2)) >= 10, run.output[-2000:]


@test
def local_guest_cannot_see_ferry_or_ahci(tmp):
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"x"})
    first = ferryrun.run_local(img.path, "lspci", timeout=60)
    m = first.find(r"ahci bar5 mem ([0-9a-f]+) size")
    assert m, "ferry did not report the AHCI BAR it owns\n" + first.output[-2000:]
    abar = int(m.group(1), 16)
    pool = first.find(r"pool ([0-9a-f]+)-([0-9a-f]+)")
    assert pool, first.output[-2000:]
    pool_start = int(pool.group(1), 16)
    pcis = [l for l in first.guest_lines() if l.startswith("pci ")]
    assert pcis, "the guest saw no PCI devices at all"
    assert not any(l.endswith("class 010601") for l in pcis), f"AHCI visible: {pcis}"
    # ferry's image starts with the multiboot header (0x1badb002): a guest
    # that could read it would see that value.
    run = ferryrun.run_local(img.path, f"peek 0x100000; peek {pool_start:#x}; peek {abar:#x}; "
                             f"peek {abar + 0x100:#x}; sha256 /A.TXT", timeout=60)
    assert run.passed(), run.output[-3000:]
    expect_unreadable(run, (0x100000, pool_start, abar, abar + 0x100))


@test
def no_svm_gives_a_clear_message(tmp):
    run = ferryrun.run(ferryrun.qemu_cmd(cpu="qemu64,-svm", guest_cmds="ls /"), timeout=60)
    assert not run.timed_out, "ferry did not stop"
    assert run.find(r"ferry: error: cannot run: this CPU has no AMD-V \(SVM\)"), run.output
    assert not run.find("PANIC|exception in ferry"), run.output


@test
def no_npt_gives_a_clear_message(tmp):
    run = ferryrun.run(ferryrun.qemu_cmd(cpu="qemu64,+svm,-npt", guest_cmds="ls /"), timeout=60)
    assert not run.timed_out, "ferry did not stop"
    assert run.find(r"ferry: error: cannot run: this CPU has SVM but no nested paging"), run.output
    assert not run.find("PANIC|exception in ferry"), run.output
