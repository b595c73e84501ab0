"""ferry booted from its USB stick image (`make usb`, tools/mkusb.sh) the
way a user boots it: the image on an xHCI USB stick, UEFI (OVMF) starting
ferry's own loader (BOOTX64.EFI) and BIOS (SeaBIOS) starting GRUB, both
reading the one ferry.cfg on the stick.  A server and a client each boot
from their own stick, one on each firmware, and run the remote file tests.
Also: OVMF starting BOOTX64.EFI directly (QEMU's -kernel), with its load
options as the command line; the shipped default configuration; a stick
without the guest, on both firmwares; and Debian's Linux kernel and an
initramfs on the stick, named by ferry.cfg (kernel, initrd, guest_cmds),
booted by both firmwares' paths."""
import os
import re
import subprocess

import disks
import ferryrun
import linux
from registry import test
from test_local import expect_ok, file_roundtrip

MKUSB = os.path.join(ferryrun.ROOT, "tools", "mkusb.sh")
FERRY_ELF = os.path.join(ferryrun.BUILD, "ferry.elf")
BOOTX64 = os.path.join(ferryrun.BUILD, "BOOTX64.EFI")
DEFAULT_CFG = os.path.join(ferryrun.ROOT, "boot", "ferry.cfg")

# Who started ferry: GRUB's echo (grub.cfg) or the UEFI loader's last line.
# GRUB's lines start with terminal escapes or end in "\n\r": no "^" there.
BY_GRUB = r"ferry: GRUB is loading ferry"
BY_UEFI_LOADER = r"^ferry: uefi: starting ferry \(multiboot2 information at [0-9A-F]+\)"
BY = {"bios": BY_GRUB, "uefi": BY_UEFI_LOADER}


def config(role, guest_cmds, nic="e1000", extra=""):
    return (f"# written by tests/emu/test_usb.py\n"
            f"role = {role}\nnic = {nic}\n"
            f"key = {ferryrun.TEST_CLIENT_KEY if role == 'client' else ferryrun.TEST_KEY}\n"
            f"guest_cmds = {guest_cmds}\n{extra}")


def make_stick(tmp, name, cfg_text=None, options=()):
    """A stick image made by tools/mkusb.sh (with its options, e.g.
    --kernel); cfg_text replaces the stick's ferry.cfg (written into the
    finished image, as a user would)."""
    path = os.path.join(tmp, name)
    subprocess.run([MKUSB, *options, path, FERRY_ELF, ferryrun.GUEST, BOOTX64, DEFAULT_CFG], check=True,
                   stdout=subprocess.DEVNULL)
    if cfg_text is not None:
        cfg = path + ".cfg"
        with open(cfg, "w") as f:
            f.write(cfg_text)
        subprocess.run([MKUSB, "--set-config", path, cfg], check=True)
    return path


def fat_of(stick):
    """The stick's FAT file system, for mtools."""
    off = subprocess.run([MKUSB, "--fat-offset", stick], check=True, capture_output=True, text=True).stdout
    return disks.Image(stick, int(off))


def stick_cmd(stick, firmware, disk=None, extra=(), mem=None):
    """One machine booting from `stick` on xHCI; `disk` on AHCI."""
    return ferryrun.qemu_cmd(disk=disk, kernel=False, firmware=firmware, mem=mem, extra=[
        "-device", "qemu-xhci,id=xhci",
        "-drive", f"if=none,id=stick,file={stick},format=raw,readonly=on",
        "-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=0", *extra])


def check_booted(run, firmware, who):
    assert run.find(BY[firmware]), f"{who}: not started by the {firmware} path from the stick:\n" + run.output[-3000:]
    assert run.find(r"^ferry: boot: multiboot2,"), f"{who}:\n" + run.output[-3000:]
    assert run.find(r"^ferry: config: reading ferry\.cfg"), f"{who}: ferry.cfg not read:\n" + run.output[-3000:]


def usb_pair_runner(tmp, server_fw, server_nic, client_fw, client_nic):
    """file_roundtrip's runner: a server and a client, each from its own
    stick, on a UDP wire; returns the client's Run."""
    def run(img_path, cmds):
        server_stick = make_stick(tmp, "server.img", config("server", "spin 0", server_nic))
        client_stick = make_stick(tmp, "client.img", config("client", cmds, client_nic))
        ps, pc = ferryrun.free_udp_ports(2)
        server = ferryrun.Background(stick_cmd(server_stick, server_fw, disk=img_path,
                                               extra=ferryrun.nic_args(server_nic, ps, pc, mac=ferryrun.SERVER_MAC)))
        client = None
        try:
            client = ferryrun.Background(stick_cmd(client_stick, client_fw,
                                                   extra=ferryrun.nic_args(client_nic, pc, ps, mac=ferryrun.CLIENT_MAC)))
            client.proc.wait(timeout=300)
        finally:
            for b in (client, server):
                if b and b.proc.poll() is None:
                    b.proc.kill()
        c, s = client.stop(), server.stop()
        check_booted(s, server_fw, "server")
        check_booted(c, client_fw, "client")
        assert s.find(r"^ferry: role: server"), s.output[-3000:]
        assert c.find(r"^ferry: role: client"), c.output[-3000:]
        assert c.find(r"client: importing .* from net:"), c.output[-3000:]
        spins = [int(m) for m in re.findall(r"^spin \d+ \d+ ms work=(\d+)", s.output.replace("\r", ""), re.M)]
        assert len(spins) >= 2 and spins[-1] > spins[0], "server guest made no progress:\n" + s.output[-2000:]
        return c
    return run


# Under OVMF the NIC is an e1000: OVMF puts virtio-net's 64-bit BAR above
# 512 GiB, which ferry's page tables do not reach yet.  The SeaBIOS machine
# of the second pair takes virtio-net, so the two ends differ there.
@test
def usb_server_ovmf_client_seabios(tmp):
    file_roundtrip(tmp, 32, "none", 64, usb_pair_runner(tmp, "uefi", "e1000", "bios", "e1000"))


@test
def usb_server_seabios_client_ovmf(tmp):
    file_roundtrip(tmp, 16, "mbr", 48, usb_pair_runner(tmp, "bios", "virtio", "uefi", "e1000"))


@test
def uefi_loader_started_directly(tmp):
    """OVMF runs BOOTX64.EFI given with -kernel; the loader finds ferry's
    files on another FAT disk, takes -append as the command line, and
    describes the screen; then the local file tests."""
    fat = os.path.join(tmp, "files.img")
    subprocess.run(["mkfs.fat", "-C", "-n", "FERRYFILES", fat, "8192"], check=True, capture_output=True)
    files = disks.Image(fat, 0)
    files.mtools("mmd", "-i", fat, "::/ferry")
    files.mtools("mcopy", "-i", fat, FERRY_ELF, "::/ferry/ferry.elf")
    files.mtools("mcopy", "-i", fat, ferryrun.GUEST, "::/ferry/guest.elf")
    runs = []

    def runner(img_path, cmds):
        cfg = os.path.join(tmp, "ferry.cfg")
        with open(cfg, "w") as f:
            f.write(config("local", cmds) + "loglevel = warn\n")
        files.mtools("mcopy", "-o", "-i", fat, cfg, "::/ferry/ferry.cfg")
        run = ferryrun.run(ferryrun.qemu_cmd(disk=img_path, kernel=False, firmware="uefi", extra=[
            "-kernel", BOOTX64, "-append", "loglevel=info",
            "-device", "VGA",
            "-drive", f"if=none,id=files,file={fat},format=raw,readonly=on",
            "-device", "virtio-blk-pci,drive=files"]), timeout=300)
        runs.append(run)
        return run

    file_roundtrip(tmp, 32, "gpt", 64, runner)
    run = runs[0]
    assert run.find(r"^ferry: warning: uefi: \\ferry\\ferry\.elf is not on the volume this loader was started from"), \
        run.output[-3000:]
    assert run.find(r"^ferry: uefi: command line \"loglevel=info\""), run.output[-3000:]
    # The command line overrides the file's loglevel=warn: info lines appear.
    assert run.find(r"^ferry: boot: multiboot2, command line \"loglevel=info\""), run.output[-3000:]
    assert run.find(r"^ferry: role: local"), run.output[-3000:]
    assert run.find(r"^ferry: uefi: ACPI 2\.0 RSDP at [0-9A-F]+"), run.output[-3000:]
    assert run.find(r"^ferry: uefi: screen \d+x\d+, 32 bits per pixel, framebuffer [0-9A-F]+"), run.output[-3000:]
    assert run.find(BY_UEFI_LOADER), run.output[-3000:]


@test
def usb_default_config_on_seabios(tmp):
    """The configuration `make usb` ships is valid and does what it says."""
    stick = make_stick(tmp, "stick.img")
    assert fat_of(stick).read("/ferry/ferry.cfg") == open(DEFAULT_CFG, "rb").read()
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"default\n"})
    run = ferryrun.run(stick_cmd(stick, "bios", disk=img.path), timeout=120)
    check_booted(run, "bios", "machine")
    assert run.find(r"^ferry: role: local"), run.output[-3000:]
    expect_ok(run, "lbd-info")
    assert any(l.startswith("entry ") and l.endswith("A.TXT") for l in run.guest_lines()), run.output[-3000:]


@test
def usb_without_guest_or_kernel_is_named(tmp):
    """A stick without \\ferry\\guest.elf and a ferry.cfg that names no
    kernel: each loader warns, and ferry says it has no kernel and what the
    loader gave it."""
    stick = make_stick(tmp, "stick.img")
    fat_of(stick).mtools("mdel", "-i", fat_of(stick).spec, "::/ferry/guest.elf")
    expect = {"uefi": r"^ferry: warning: uefi: \\ferry\\guest\.elf is missing: ferry\.cfg must name a kernel",
              "bios": r"ferry: warning: grub: no /ferry/guest\.elf: ferry\.cfg must name a kernel"}
    for fw in ("bios", "uefi"):
        run = ferryrun.run(stick_cmd(stick, fw), timeout=120)
        assert run.find(expect[fw]), f"{fw}: no warning about the missing guest:\n" + run.output[-3000:]
        assert run.find(r"^ferry: error: guest: no guest kernel was loaded: .*the loader gave: ferry\.cfg "
                        r"\(\d+ KiB\)$"), f"{fw}:\n" + run.output[-3000:]
        assert run.find(r"^ferry: error: cannot start the guest"), f"{fw}:\n" + run.output[-3000:]


@test
def iso_config_file_module(tmp):
    """tools/mkiso.sh's optional ferry.cfg: GRUB gives it as the module
    named ferry.cfg; GRUB's command line overrides it, and its guest_cmds
    replaces the guest module's script."""
    cfg = os.path.join(tmp, "ferry.cfg")
    with open(cfg, "w") as f:
        f.write("# an ISO's configuration\nloglevel = warn\nguest_cmds = lbd-info; sha256 /A.TXT\n")
    iso = os.path.join(tmp, "ferry.iso")
    subprocess.run([os.path.join(ferryrun.ROOT, "tools", "mkiso.sh"), iso, FERRY_ELF, ferryrun.GUEST,
                    "ls /", "loglevel=info", cfg], check=True)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"from the iso\n"})
    run = ferryrun.run(ferryrun.qemu_cmd(disk=img.path, kernel=False, iso=iso), timeout=120)
    assert run.find(r"^ferry: config: reading ferry\.cfg"), run.output[-3000:]
    assert run.find(r"^ferry: role: local"), "loglevel=info did not override the file:\n" + run.output[-3000:]
    assert expect_ok(run, "sha256 /A.TXT").split()[0] == disks.sha256(b"from the iso\n")
    assert not any(t.startswith("ls ") for _, t in run.results()), run.output[-3000:]


@test
def usb_missing_config_uses_defaults(tmp):
    """A stick without \\ferry\\ferry.cfg: a warning, then ferry with its
    defaults (role=local, the guest module's empty script)."""
    stick = make_stick(tmp, "stick.img")
    fat = fat_of(stick)
    fat.mtools("mdel", "-i", fat.spec, "::/ferry/ferry.cfg")
    expect = {"uefi": r"^ferry: warning: uefi: \\ferry\\ferry\.cfg is missing: ferry starts with its defaults",
              "bios": r"ferry: warning: grub: /ferry/ferry\.cfg is missing: ferry uses its defaults"}
    for fw in ("bios", "uefi"):
        run = ferryrun.run(stick_cmd(stick, fw), timeout=120)
        assert run.find(expect[fw]), f"{fw}: no warning about the missing ferry.cfg:\n" + run.output[-3000:]
        assert not run.find(r"^ferry: config: reading"), run.output[-3000:]
        assert run.find(r"^ferry: role: local"), f"{fw}:\n" + run.output[-3000:]
        assert run.find(r"^ferry: guest: kernel entry [0-9a-f]+, command line \"\""), f"{fw}:\n" + run.output[-3000:]


# Debian's kernel from the stick: quiet and without the crypto self-tests
# (tests/emu/test_linux.py); the marker shows the command line is ferry.cfg's.
LINUX_CMDLINE = "console=ttyS0 quiet cryptomgr.notests=1 ferry.from=usb-stick"
LINUX_SCRIPT = """#!/bin/sh
echo hello-usb
echo "cmdline: $(cat /proc/cmdline)"
"""


def linux_stick(tmp, cfg_text=None):
    """A stick made with mkusb.sh --kernel (Debian's vmlinuz) --initrd (an
    initramfs running LINUX_SCRIPT) --cmdline LINUX_CMDLINE."""
    linux.fetch(linux.DEFAULT_DIR)
    initrd = linux.test_initramfs(os.path.join(tmp, "initrd.gz"), LINUX_SCRIPT)
    return make_stick(tmp, "linux.img", cfg_text, options=[
        "--kernel", os.path.join(linux.DEFAULT_DIR, "vmlinuz"), "--initrd", initrd, "--cmdline", LINUX_CMDLINE])


def check_linux_from_stick(tmp, firmware):
    stick = linux_stick(tmp)
    cfg = fat_of(stick).read("/ferry/ferry.cfg").decode()
    assert "\nkernel = vmlinuz\ninitrd = initrd.gz\nguest_cmds = " + LINUX_CMDLINE + "\n" in cfg, cfg
    run = ferryrun.run(stick_cmd(stick, firmware, mem="512M"), timeout=120)
    check_booted(run, firmware, "machine")
    out = run.output[-5000:]
    assert not run.timed_out, "timed out:\n" + out
    assert run.find(r"^ferry: guest: modules: kernel vmlinuz \(\d+ KiB\), initrd initrd\.gz \(\d+ KiB\); "
                    r"not the guest's, zeroed: guest\.elf"), out
    assert run.find(r"^ferry: guest: Linux bzImage"), out
    assert run.find(r"^hello-usb$"), out
    m = run.find(r"^cmdline: (.*)$")
    assert m and m.group(1) == LINUX_CMDLINE + " nr_cpus=1", out
    assert run.linux_passed(), out


@test
def usb_linux_from_stick_ovmf(tmp):
    """ferry's UEFI loader gives every file of the stick's ferry folder;
    ferry boots the kernel and initrd ferry.cfg names, with its
    guest_cmds as the kernel's command line."""
    check_linux_from_stick(tmp, "uefi")


@test
def usb_linux_from_stick_seabios(tmp):
    """The same stick through GRUB, whose grub.cfg cannot read ferry.cfg:
    it gives every file too, and ferry picks the same two."""
    check_linux_from_stick(tmp, "bios")


@test
def usb_named_kernel_missing(tmp):
    """ferry.cfg names a kernel that is not on the stick: on both firmwares,
    ferry says so and lists the files the loader gave."""
    cfg = "role = local\nkernel = bzImage-missing\ninitrd = initrd.gz\nguest_cmds = console=ttyS0\n"
    stick = make_stick(tmp, "stick.img", cfg)
    for fw in ("bios", "uefi"):
        run = ferryrun.run(stick_cmd(stick, fw), timeout=120)
        check_booted(run, fw, "machine")
        assert run.find(r"^ferry: error: guest: kernel = bzImage-missing: no boot module of that name; the loader "
                        r"gave: guest\.elf \(\d+ KiB\), ferry\.cfg \(\d+ KiB\)\. On the USB stick, put "
                        r"bzImage-missing in the ferry folder$"), f"{fw}:\n" + run.output[-3000:]
        assert run.find(r"^ferry: error: cannot start the guest"), f"{fw}:\n" + run.output[-3000:]
        assert not run.find(r"^ferry: guest: kernel entry"), f"{fw}:\n" + run.output[-3000:]
