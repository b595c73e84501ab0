"""ferry on Intel VMX with EPT, which QEMU cannot emulate and Bochs can
(tools/bochsrun.py): booted from the GRUB ISO, in local mode on the IDE
disk and in both network roles against QEMU (SVM) with the same file tests
as on SVM (test_local.file_roundtrip: hashes, cp, write, mtools, fsck.fat);
and the clear refusals on CPU models without VMX or without EPT.

Bochs is single-threaded (one core per machine; two tests in parallel fit
on two cores) and its e1000 takes one frame per emulated millisecond from
the wire, so the network tests take about a minute each."""
import os
import re

import bochsrun
import disks
import test_hostile
from registry import test
from test_local import expect_ok, file_roundtrip

# Bochs CPU models (bochs --help cpu) and what they lack.
CPU_NO_VMX = "p4_prescott_celeron_336"   # Intel, long mode, no VT-x
CPU_NO_EPT = "core2_penryn_t9600"        # VT-x without EPT
CPU_NO_UG = "corei5_lynnfield_750"       # EPT without unrestricted guest


def assert_vmx(run):
    """ferry ran its guest on the VMX back end."""
    assert run.find(r"^ferry: back end: Intel VMX with EPT$"), run.output[-3000:]
    assert run.find(r"^ferry: VMX: revision \d+, EPT yes"), run.output[-3000:]
    assert run.find(r"starting the guest \(Intel VMX with EPT\)"), run.output[-3000:]
    assert not run.find(r"PANIC|exception in ferry|VM entry failed|VMLAUNCH failed"), run.output[-3000:]


@test
def bochs_iso_boots_with_vmx_ept(tmp):
    """GRUB from the CD, VMXON, EPT, the guest runs and powers off through
    its hypercall (VMMCALL, which Intel CPUs refuse with #UD).  On the way:
    ferry's CPUID leaves, EPT violations on the logical device's page
    decoded and emulated (every store form), an undecodable one answered
    with #UD; INVD skipped, MONITOR and MWAIT #UD (test_hostile.INSNS)."""
    cases = ["bad-insn", "store-forms", "reg-write"]
    cmds = ["lbd-info", "stats"] + [f"devtest {c}" for c in cases] + [f"insn {n}" for n, _ in test_hostile.INSNS + test_hostile.DEBUG_TRAPS]
    run = bochsrun.run_local(None, "; ".join(cmds), timeout=120)
    assert not run.timed_out, "timed out:\n" + run.output[-3000:]
    assert run.find(r"ferry: boot: multiboot2"), run.output[-3000:]
    assert_vmx(run)
    for c in cmds:
        expect_ok(run, c)
    assert run.find(r"^stats tsc=\d+ tsc_khz=\d+ exits=\d+ npf_exits=\d+"), run.output[-3000:]
    assert run.find(r"^guest: exception 6 at rip"), "the #UD did not reach the guest:\n" + run.output[-3000:]
    test_hostile.assert_insns(run, 1)
    m = run.find(r"ferry: stats: \d+ exits \(npf (\d+),.* hypercall (\d+)")
    assert m and int(m.group(1)) >= 10 and int(m.group(2)) == 1, run.output[-3000:]
    assert run.find(r"ferry: guest stopped: the guest powered off"), run.output[-3000:]


def local_runner(img_path, cmds):
    run = bochsrun.run_local(img_path, cmds, timeout=400)
    assert not run.timed_out, "timed out:\n" + run.output[-3000:]
    assert_vmx(run)
    assert run.find(r"ferry: ata: primary master: .* bus-master DMA"), run.output[-3000:]
    return run


@test
def bochs_local_ide_fat32_files(tmp):
    """Local mode on Bochs's IDE disk: the file tests of every other way of
    reaching a disk, then mtools and fsck.fat on the image."""
    file_roundtrip(tmp, 32, "mbr", 64, local_runner)


def pair_runner(bochs, server_cmds="spin 0"):
    def run(img, cmds):
        client, server = bochsrun.run_pair(img, cmds, bochs=bochs, timeout=400, server_cmds=server_cmds)
        assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
        assert client.find(r"client: importing .* from net:"), client.output[-3000:]
        assert_vmx(client if bochs == "client" else server)
        # The server's own guest kept running while it served the disk.
        word, what = ("idle", "halts") if server_cmds.endswith("idle 0") else ("spin", "work")
        spins = [int(m) for m in re.findall(rf"^{word} \d+ \d+ ms {what}=(\d+)", server.output, re.M)]
        assert len(spins) >= 2 and spins[-1] > spins[0], "server guest made no progress:\n" + server.output[-2000:]
        return client
    return run


@test
def bochs_client_qemu_server_files(tmp):
    """A diskless Bochs client (VMX) and a QEMU server (SVM) on a bxhub."""
    file_roundtrip(tmp, 32, "none", 64, pair_runner("client"))


@test
def bochs_client_deep_queue(tmp):
    """A Bochs client (VMX) whose guest keeps 16 virtio-blk requests in
    flight and spins for them: the preemption timer makes it exit
    (poll_exits) without ferry taking its interrupts; the data is the
    shadow the host computes from the seed, and the image holds it."""
    path = os.path.join(tmp, "raw.img")
    data = disks.random_bytes(4 * 1024 * 1024, 4)
    with open(path, "wb") as f:
        f.write(data)
    cmd = "vblk-qd 3 40 2048 16"
    client, _ = bochsrun.run_pair(path, cmd, bochs="client", timeout=400)
    assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
    assert_vmx(client)
    shadow = disks.vblk_qd_shadow(data, 3, 40, 2048)
    assert expect_ok(client, cmd) == f"{disks.sha256(shadow)} most=16", client.output[-3000:]
    bells = client.find(r"vblk-qd: (\d+) doorbells for (\d+) requests")  # asked for none while in flight
    assert bells and int(bells.group(1)) < int(bells.group(2)) / 2, client.output[-3000:]
    with open(path, "rb") as f:
        assert f.read(2048 * 512) == shadow, "the server's image is not the shadow"
    assert not client.find(r"PANIC|exception in ferry"), client.output[-3000:]


@test
def qemu_client_bochs_server_files(tmp):
    """A QEMU client (SVM) and a Bochs server (VMX) serving its IDE disk
    from LAPIC timer exits (external-interrupt exiting) while its guest
    computes."""
    file_roundtrip(tmp, 16, "mbr", 48, pair_runner("server"))


@test
def bochs_server_guest_raising_its_task_priority_keeps_serving(tmp):
    """A Bochs server (VMX, which lets MOV CR8 through to the local APIC)
    whose guest raises its task priority to 15 and idles: that priority
    would hold back ferry's timer, so ferry, asleep in its HLT, would never
    wake to serve.  ferry puts it back at its exits and before it sleeps,
    and the QEMU client still reads and writes its files."""
    file_roundtrip(tmp, 16, "mbr", 48, pair_runner("server", server_cmds="tpr 15; idle 0"))


def refusal(cpu, message):
    run = bochsrun.run_local(None, "lbd-info", timeout=120, cpu=cpu)
    assert not run.timed_out, "ferry did not stop:\n" + run.output[-3000:]
    assert run.find(r"ferry: error: cannot run: " + message), run.output[-3000:]
    assert run.find(r"^ferry: halted$"), run.output[-3000:]
    assert not run.find(r"PANIC|exception in ferry"), run.output[-3000:]


@test
def bochs_no_vmx_gives_a_clear_message(tmp):
    refusal(CPU_NO_VMX, r"this CPU has no Intel VT-x \(VMX\)$")


@test
def bochs_no_ept_gives_a_clear_message(tmp):
    refusal(CPU_NO_EPT, r"this CPU has VT-x but no EPT")


@test
def bochs_runs_without_unrestricted_guest(tmp):
    """ferry starts its guest in long mode with paging, so VT-x without
    unrestricted guest (Nehalem) is enough."""
    data = disks.random_bytes(100000, 21)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    run = bochsrun.run_local(img.path, "sha256 /A.BIN; write /B.BIN 50000 2", timeout=200, cpu=CPU_NO_UG)
    assert run.find(r"unrestricted guest no"), run.output[-3000:]
    assert_vmx(run)
    assert run.passed(), run.output[-3000:]
    assert expect_ok(run, "sha256 /A.BIN").split()[0] == disks.sha256(data)
    assert img.read("/B.BIN") == disks.splitmix64_bytes(50000, 2)


@test
def bochs_linux_reads_its_disk_on_vmx(tmp):
    """Debian's Linux on the VMX/EPT back end (GRUB ISO on Bochs): the
    kernel finds ferry's virtio-blk (served by the IDE disk ferry owns),
    mounts the FAT32 file system on it and checks a file, and its ACPI
    power-off reaches ferry, which powers the machine off (Bochs reports
    that as its soft power-off)."""
    import ferryrun
    import linux
    from test_linux import APPEND, kernel
    data = disks.random_bytes(200000, 31)
    script = ("#!/bin/sh\nset -e\necho hello from linux on vmx\nmount -t vfat -o ro /dev/vda /mnt\n"
              "sha256sum /mnt/A.BIN\numount /mnt\n")
    initrd = linux.test_initramfs(os.path.join(tmp, "initrd.gz"), script)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    run = bochsrun.run_local(img.path, "", timeout=600, linux=ferryrun.Linux(kernel(), initrd, APPEND))
    assert not run.timed_out, run.output[-3000:]
    assert run.find(r"^ferry: back end: Intel VMX with EPT$"), run.output[-3000:]
    assert run.find(r"^ferry: guest: Linux vmlinux"), run.output[-3000:]
    assert run.find(r"^hello from linux on vmx$"), run.output[-3000:]
    assert run.find("^" + disks.sha256(data) + "  /mnt/A.BIN$"), run.output[-3000:]
    assert run.find(r"^FERRY-LINUX test-exit: 0$"), run.output[-3000:]
    assert run.find(r"^ferry: powering the machine off"), run.output[-3000:]
    assert not run.find(r"Kernel panic|exception in ferry|VM entry failed"), run.output[-3000:]
