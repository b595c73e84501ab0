"""Attacks from inside the guest (docs/threat-model.md): ferry's own guest
tries each on purpose and the test asserts the refusal, that ferry kept
running the guest afterwards, and what a user would check."""
import os
import re
import subprocess

import disks
import ferryrun
from registry import test
from test_local import expect_ok


@test
def hostile_init_sipi_to_another_cpu_refused(tmp):
    """On a two-CPU machine the guest sends INIT and startup IPIs to the
    second CPU, aimed at code that writes a marker: the CPU must stay
    parked (it would run the guest's code outside SVM/NPT), ferry warns,
    and the guest goes on to read its disk."""
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"still here\n"})
    run = ferryrun.run_local(img.path, "smp-escape 1; cat /A.TXT", timeout=120, extra=["-smp", "2"])
    assert run.find(r"^smp-escape apic=1 marker=00$"), run.output[-3000:]
    assert run.find(r"^ok smp-escape 1$"), run.output[-3000:]
    assert run.find(r"ferry: warning: guest: local APIC write 4670 to register 300 refused"), run.output[-3000:]
    assert run.find(r"^ok cat /A.TXT"), run.output[-3000:]
    assert run.passed(), run.output[-3000:]


# The network key a guest must not find in its RAM, and its reversed form
# for the guest's command line (which must not hold the key itself).
SECRET = "5ec2e7ab5ec2e7ab00112233445566778899aabbccddeeff0123456789abcdef"
MEMSCAN = f"memscan {SECRET[::-1]}"


def assert_no_key(run, where):
    assert run.find(r"^memscan copies=0$"), f"{where}: the key is in guest RAM:\n" + run.output[-3000:]
    assert run.passed(), f"{where}:\n" + run.output[-3000:]
    assert not any(SECRET in l for l in run.lines), f"{where}: the key was printed"


@test
def hostile_key_not_in_guest_ram_multiboot(tmp):
    """QEMU's multiboot loader: the key on ferry's command line and in a
    ferry.cfg module; the guest scans all its RAM for its text and bytes."""
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {})
    cfg = os.path.join(tmp, "ferry.cfg")
    with open(cfg, "w") as f:
        f.write(f"role = local\nkey = {SECRET}\n")
    run = ferryrun.run_local(img.path, MEMSCAN, timeout=120, config_file=cfg,
                             ferry_args=f"loglevel=info key={SECRET}")
    assert run.find(r"key=<hidden>"), run.output[-3000:]
    assert_no_key(run, "multiboot")


@test
def hostile_key_not_in_guest_ram_uefi_loader(tmp):
    """ferry's UEFI loader from the USB stick: the key in the stick's
    ferry.cfg and in the load options (OVMF starting BOOTX64.EFI with
    -kernel -append)."""
    import test_usb
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {})
    stick = test_usb.make_stick(tmp, "stick.img", f"role = local\nkey = {SECRET}\nguest_cmds = {MEMSCAN}\n")
    run = ferryrun.run(test_usb.stick_cmd(stick, "uefi", disk=img.path), timeout=240)
    assert run.find(test_usb.BY_UEFI_LOADER), run.output[-3000:]
    assert_no_key(run, "UEFI loader, ferry.cfg")


@test
def hostile_key_in_another_stick_file_not_in_guest_ram(tmp):
    """Both loaders give ferry every file of the stick's ferry folder: a
    stale copy of the configuration with the key (ferry.cfg.old), which
    ferry.cfg does not name, is zeroed with the rest of guest RAM, under
    GRUB and under the UEFI loader."""
    import test_usb
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {})
    stick = test_usb.make_stick(tmp, "stick.img", f"role = local\nguest_cmds = {MEMSCAN}\n")
    old = os.path.join(tmp, "old.cfg")
    with open(old, "w") as f:
        f.write(f"role = client\nkey = {SECRET}\n")
    subprocess.run([test_usb.MKUSB, "--put", stick, old, "ferry.cfg.old"], check=True, stdout=subprocess.DEVNULL)
    for fw in ("bios", "uefi"):
        run = ferryrun.run(test_usb.stick_cmd(stick, fw, disk=img.path), timeout=240)
        assert run.find(test_usb.BY[fw]), run.output[-3000:]
        assert run.find(r"^ferry: guest: modules: kernel guest\.elf \(\d+ KiB\); not the guest's, zeroed: "
                        r"ferry\.cfg\.old \(1 KiB\)$"), f"{fw}:\n" + run.output[-3000:]
        assert_no_key(run, f"{fw}, ferry.cfg.old")


@test
def hostile_bridge_renumbering_keeps_owned_nic_hidden(tmp):
    """ferry's e1000 behind a PCIe root port (a client with no server: its
    guest still runs).  The guest renumbers the root port's buses and
    clears its decoding: the registers keep their values, ferry warns, and
    the NIC appears on no bus."""
    cmds = ("pcir 0 0x1c 0 0x18; pciw 0 0x1c 0 0x18 4 0x00020200; pciw 0 0x1c 0 4 2 0; "
            "pcir 0 0x1c 0 0x18; pcir 0 0x1c 0 4; lspci")
    run = ferryrun.run(ferryrun.qemu_cmd(
        guest_cmds=cmds,
        ferry_args=ferryrun.client_ferry_args(ferryrun.TEST_CLIENT_KEY, "e1000", 1),
        extra=["-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x1c",
               "-netdev", "user,id=n0,restrict=on", "-device", "e1000,bus=rp1,netdev=n0"]), timeout=120)
    assert run.find(r"^ferry: pci 01:00\.0 taken by ferry's e1000 driver"), run.output[-3000:]
    first = run.find(r"^pcir 00:1c\.0 18 = ([0-9a-f]{8})$")
    assert first, run.output[-3000:]
    lines = [l for l in run.lines if l.startswith("pcir 00:1c.0 18 = ")]
    assert lines == [lines[0]] * 2, f"the bus numbers changed: {lines}"
    assert run.find(r"ferry: warning: guest: PCI 00:1c\.0 register 18: bits \w+ kept"), run.output[-3000:]
    m = run.find(r"^pcir 00:1c\.0 04 = ([0-9a-f]{8})$")
    assert m and int(m.group(1), 16) & 0x3 == 0x3, "the root port stopped decoding:\n" + run.output[-3000:]
    assert not any(re.match(r"^pci [0-9a-f]{2}:..\.. 8086:100e", l) for l in run.lines), \
        "ferry's NIC became visible:\n" + run.output[-3000:]
    assert run.passed(), run.output[-3000:]


def reset_attempt(tmp, cmds):
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {})
    return ferryrun.run_local(img.path, cmds, timeout=60)


@test
def hostile_keyboard_controller_reset_is_ferrys(tmp):
    """The keyboard controller's reset pulse (0x64 <- 0xFE) and a write of
    its output port with the reset line low reach ferry, which logs them
    and resets the machine itself (QEMU's -no-reboot: status 0), instead
    of the chipset resetting behind ferry's back."""
    for cmds, how in (("out 0x64 1 0xfe", "keyboard controller pulse"),
                      ("out 0x64 1 0xd1; out 0x60 1 0xfe", "keyboard controller output port")):
        run = reset_attempt(tmp, cmds + "; lbd-info")
        assert run.find(rf"^ferry: the guest asked for a reset \({how}\)$"), run.output[-3000:]
        assert run.find(r"^ferry: guest stopped: the guest asked for a reset"), run.output[-3000:]
        assert run.find(r"^ferry: resetting the machine$"), run.output[-3000:]
        assert not run.find(r"^lbd magic"), "the guest ran on after its reset:\n" + run.output[-3000:]


@test
def hostile_acpi_sleep_is_ferrys(tmp):
    """A PM1a control write with SLP_EN (ACPI S5 on QEMU's q35: 0x2000 at
    port 0x604) stops the guest and ferry powers the machine off."""
    run = reset_attempt(tmp, "out 0x604 2 0x2000; lbd-info")
    assert run.find(r"^ferry: the guest entered ACPI sleep state SLP_TYP=0: powering off$"), run.output[-3000:]
    assert run.powered_off(), run.output[-3000:]
    assert not run.find(r"^lbd magic"), run.output[-3000:]


@test
def hostile_ioapic_init_nmi_smi_refused(tmp):
    """The guest gives the PIT's I/O APIC pin the delivery modes INIT, NMI
    and SMI and lets the PIT tick: each entry write is refused (it would
    reset this CPU behind ferry's back, or NMI or SMI it), a fixed entry
    is still taken, ferry warns, and the guest goes on to read its disk."""
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"still here\n"})
    run = ferryrun.run_local(img.path, "ioapic-irq 5; ioapic-irq 4; ioapic-irq 2; cat /A.TXT", timeout=120)
    for mode in (5, 4, 2):
        m = run.find(rf"^ioapic-irq mode={mode} rte before=(\w+) after=(\w+) fixed=00010031$")
        assert m and m.group(1) == m.group(2), run.output[-3000:]
        assert run.find(rf"^ok ioapic-irq {mode}$"), run.output[-3000:]
        assert run.find(rf"ferry: warning: guest: I/O APIC redirection entry 2 write {0x30 | mode << 8:x} refused "
                        rf"\(delivery mode {mode}"), run.output[-3000:]
    assert run.find(r"^\| still here$"), run.output[-3000:]
    assert run.passed(), run.output[-3000:]
    assert run.output.count("ferry 0.1: a thin hypervisor") == 1, "the machine restarted:\n" + run.output[-3000:]


INSNS = (("invd", 0), ("monitor", 1), ("mwait", 1))
# (name, DR6.BS).  QEMU 7.2's TCG has no ICEBP (its translator leaves
# the opcode out unless built WANT_ICEBP): Bochs runs it.
# stepcpuid: a single step over a CPUID, which ferry runs (the CPU raises
# no trap for an instruction that exited): its one exit is the CPUID's,
# the #DB ferry's own.
DEBUG_TRAPS = (("icebp", 0), ("singlestep", 1), ("stepcpuid", 1))
QEMU_DEBUG_TRAPS = DEBUG_TRAPS[1:]
AFTER = {"icebp": 1, "singlestep": 1, "stepcpuid": 2}


def assert_insns(run, invd_exits, traps=DEBUG_TRAPS):
    """INVD skipped (with invd_exits exits, None: any), MONITOR and MWAIT
    answered with #UD, the #DB traps given back as the CPU raised them;
    the guest went on after each."""
    for name, ud in INSNS:
        m = run.find(rf"^insn {name} ud={ud} exits=(\d+)$")
        assert m, f"{name}:\n" + run.output[-3000:]
        if name == "invd" and invd_exits is not None:
            assert int(m.group(1)) == invd_exits, f"{name}:\n" + run.output[-3000:]
        assert run.find(rf"^ok insn {name}$"), run.output[-3000:]
    # #DB is intercepted (a #DB raised while delivering one would loop in
    # the CPU): given back, it strikes after its instruction as a trap
    # does, with DR6 as the CPU leaves it.
    for name, bs in traps:
        assert run.find(rf"^insn {name} db=1 after={AFTER[name]} bs={bs} exits=1$"), \
            f"{name}:\n" + run.output[-3000:]
        assert run.find(rf"^ok insn {name}$"), run.output[-3000:]


@test
def hostile_invd_monitor_mwait_trapped(tmp):
    """On a CPU with MONITOR/MWAIT (QEMU's +monitor), the guest runs INVD,
    MONITOR and MWAIT with interrupts off, and takes a single step:
    MONITOR and MWAIT answered with #UD, as its CPUID says (QEMU runs MONITOR as a no-op, and an MWAIT let
    run would halt the machine for good here); INVD goes on.  That INVD
    exits to ferry cannot be seen here: QEMU 7.2's TCG checks the WBINVD
    intercept for it (fixed in QEMU 8.1), so Bochs (VMX, where INVD always
    exits) checks the core's handling and the count; then it reads its
    disk."""
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"still here\n"})
    cmds = "; ".join(f"insn {n}" for n, _ in INSNS + QEMU_DEBUG_TRAPS) + "; cat /A.TXT"
    run = ferryrun.run_local(img.path, cmds, timeout=120, cpu=ferryrun.CPU_SVM + ",+monitor")
    assert_insns(run, None, QEMU_DEBUG_TRAPS)
    assert run.find(r"^\| still here$"), run.output[-3000:]
    assert run.passed(), run.output[-3000:]


@test
def hostile_server_guest_cannot_aim_interrupts_at_ferrys_exceptions(tmp):
    """On a server ferry takes every interrupt of the guest's CPU through
    its own IDT, and the guest none.  The server's guest points the PIT's
    I/O APIC pin at vector 0x12 (the #MC stub), 0xFF (ferry's spurious
    vector, never acknowledged: every other vector would wait behind it),
    ExtINT (the 8259's vector, which the guest programs) and 0x31, the PIT
    ticking: each entry is refused with a warning (taken, the first would
    stop ferry on a "machine check"), and a client still reads and writes
    its files while the guest idles."""
    data = disks.random_bytes(60000, 8)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    client, server = ferryrun.run_pair(img.path, "sha256 /A.BIN; write /B.BIN 30000 9; sha256 /B.BIN",
                                       server_cmds="ioapic-irq 0 0x12; ioapic-irq 0 0xff; ioapic-irq 7 0; "
                                                   "ioapic-irq 0 0x31; idle 0", timeout=300)
    for mode, vec in ((0, 0x12), (0, 0xFF), (7, 0), (0, 0x31)):
        m = server.find(rf"^ioapic-irq mode={mode} vector={vec:x} rte before=(\w+) after=(\w+) fixed=00010031$")
        assert m and m.group(1) == m.group(2), server.output[-3000:]
        assert server.find(rf"^ok ioapic-irq {mode} {vec:#x}$" if vec else rf"^ok ioapic-irq {mode} 0$"), \
            server.output[-3000:]
    assert server.find(r"ferry: warning: guest: I/O APIC redirection entry 2 write 12 refused .*on a server"), \
        server.output[-3000:]
    assert not server.find(r"PANIC|exception in ferry"), server.output[-3000:]
    assert client.passed(), client.output[-3000:]
    assert expect_ok(client, "sha256 /A.BIN").split()[0] == disks.sha256(data)


@test
def hostile_hpet_fsb_delivery_refused(tmp):
    """QEMU's HPET with FSB delivery (hpet.msi=on): the guest sets a timer
    to deliver by FSB, its FSB address one of its own words, and fires it.
    An FSB interrupt is a memory write of the guest's value to the
    guest's address (ferry's memory as easily) and an MSI of any delivery
    mode (INIT resets the CPU behind ferry's back): ferry keeps FSB_EN_CNF
    clear, with a warning, the word stays untouched, and the guest goes
    on to read its disk."""
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"still here\n"})
    run = ferryrun.run_local(img.path, "hpet-fsb; cat /A.TXT", timeout=120, extra=["-global", "hpet.msi=on"])
    assert run.find(r"^hpet-fsb timer=\d+ fsb_en=0 written=0$"), run.output[-3000:]
    assert run.find(r"ferry: warning: guest: HPET timer \d+ FSB delivery refused"), run.output[-3000:]
    assert run.find(r"^\| still here$"), run.output[-3000:]
    assert run.passed(), run.output[-3000:]


def send_nmis(sock_path, n, gap):
    """Up to n NMIs to every CPU through QEMU's monitor, gap seconds
    apart; stops early when QEMU has exited (the guest had enough)."""
    import socket
    import time
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock_path)
        for _ in range(n):
            try:
                s.sendall(b"nmi\n")
            except OSError:
                return
            time.sleep(gap)


@test
def hostile_nmi_while_ferry_runs_goes_to_the_guest(tmp):
    """NMIs (from QEMU's monitor, as a guest's performance counter or an
    MSI it programmed would send them) arrive while the guest exits as
    fast as it can, so most strike ferry between guest instructions or
    in the world switch.  ferry must neither panic nor keep them: every
    one reaches the guest (NMIs that wait may fold into one, so the guest
    is asked for at least half), ferry counts those that struck it, and
    the guest goes on to read its disk."""
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"still here\n"})
    sock = os.path.join(tmp, "monitor.sock")
    cmd = ferryrun.qemu_cmd(disk=img.path, guest_cmds="nmi-wait 20 60; cat /A.TXT",
                            extra=["-monitor", f"unix:{sock},server=on,wait=off"])
    m = ferryrun.Background(cmd)
    try:
        assert m.wait_for(r"^nmi-wait ready", 60), m.text()[-3000:]
        send_nmis(sock, 40, 0.05)
        assert m.wait_for(r"^ferry: halted", 90), m.text()[-3000:]
    finally:
        run = m.stop()
    out = run.output
    assert "exception in ferry" not in out and "PANIC" not in out, out[-3000:]
    got = run.find(r"^nmi-wait nmis=(\d+) exits=(\d+)$")
    assert got and int(got.group(1)) >= 20, out[-3000:]
    struck = run.find(r"^ferry: stats: (\d+) NMIs struck ferry and went on to the guest$")
    assert struck and int(struck.group(1)) >= 1, out[-3000:]
    assert run.find(r"^\| still here$"), out[-3000:]
    assert run.passed(), out[-3000:]
