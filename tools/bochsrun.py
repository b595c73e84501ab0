#!/usr/bin/env python3
"""Boot ferry and its guest under Bochs (Intel VMX with EPT) and collect
what they print.

Used by `make run-local EMU=bochs`, `make run-pair EMU=bochs` and the Bochs
emulator tests (tests/emu/test_bochs.py).  Only the Python standard library
is needed, and Debian's bochs, bochsbios and vgabios packages.

QEMU cannot emulate VMX; Bochs can.  Bochs has no -kernel: every run boots
a GRUB ISO (tools/mkiso.sh) from the CD-ROM, holding ferry, its guest and
the guest's command script.  Bochs is headless through its VNC display
(which waits for nobody), writes COM1 to a file, and has no exit device:
the run ends when ferry prints "ferry: halted" (Bochs is then stopped) or
at the timeout.  Disks sit on the IDE controller (Bochs has no AHCI), the
NIC is Bochs's e1000, joined to other machines through `bxhub`, a UDP hub
that QEMU's `-netdev socket,udp=` can join too.
"""
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ferryrun  # noqa: E402

ROOT = ferryrun.ROOT
BUILD = ferryrun.BUILD
FERRY64 = os.path.join(BUILD, "ferry.elf")
GUEST = ferryrun.GUEST
MKISO = os.path.join(ROOT, "tools", "mkiso.sh")
BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGABIOS = "/usr/share/vgabios/vgabios.bin"

# Haswell: VMX with EPT, unrestricted guest, VPID, true controls.
CPU_VMX = "corei7_haswell_4770"
# Emulated instructions per emulated second.  The clock is not synced to
# the host's: the TSC and every timer run on this count, so runs repeat,
# and ferry's timeouts hold in real time as long as Bochs emulates at least
# this fast or slower (it does a few tens of millions a second here).
IPS_FAST = 50000000
# A server runs on a faster emulated clock: Bochs's e1000 over a socket
# takes one frame from the wire per emulated millisecond (eth_socket.cc),
# which at IPS_FAST cannot keep up with a QEMU client's bursts of writes.
# A server has no timeouts that real time could break.
IPS_SERVER = 5000000
HALTED = "ferry: halted"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def make_iso(path, guest_cmds, ferry_args, linux=None):
    """The ISO for one run.  GRUB rewrites a command line holding quotes,
    so such a script goes in through ferry.cfg's guest_cmds instead.  With
    linux (a ferryrun.Linux) the guest is that kernel and initrd."""
    if linux:
        subprocess.run([MKISO, path, FERRY64, linux.kernel, linux.append, ferry_args, "", linux.initrd or ""],
                       check=True)
        return
    args = [MKISO, path, FERRY64, GUEST, guest_cmds, ferry_args]
    if re.search(r"[\"'\\]", guest_cmds):
        cfg = os.path.join(os.path.dirname(path), "ferry.cfg")
        with open(cfg, "w") as f:
            f.write(f"guest_cmds = {guest_cmds}\n")
        args[4:] = ["", ferry_args, cfg]
    subprocess.run(args, check=True)


def bochsrc(workdir, iso, disk=None, cpu=CPU_VMX, mem_mib=256, ips=IPS_FAST, sync="none", nic_port=None,
            mac=ferryrun.CLIENT_MAC):
    """The configuration of one Bochs machine (see the bochsrc(5) manual)."""
    lines = [
        f"megs: {mem_mib}",
        f"cpu: model={cpu}, count=1, ips={ips}",
        f"clock: sync={sync}, time0=local",
        f"romimage: file={BIOS}",
        f"vgaromimage: file={VGABIOS}",
        # No VBE: with it, GRUB 2.06 on this BIOS fails ("out of range
        # pointer") setting the VBE mode that ferry's multiboot2
        # framebuffer tag asks for.  ferry's screen then uses VGA text.
        "vga: extension=none",
        # Headless: the VNC display listens on a free port in 5900-5949 and
        # waits for no viewer.
        'display_library: rfb, options="timeout=0"',
        "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
        "ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15",
        f"ata1-master: type=cdrom, path={iso}, status=inserted",
        "boot: cdrom",
        f"com1: enabled=1, mode=file, dev={os.path.join(workdir, 'com1.txt')}",
        f"log: {os.path.join(workdir, 'bochs.log')}",
        "panic: action=fatal",
        "error: action=report",
        "info: action=ignore",
        "debug: action=ignore",
        "pci: enabled=1, chipset=i440fx" + (", slot1=e1000" if nic_port else ""),
    ]
    if disk:
        lines.append(f"ata0-master: type=disk, path={disk}, mode=flat")
    if nic_port:
        lines.append(f"e1000: enabled=1, mac={mac}, ethmod=socket, ethdev={nic_port}")
    path = os.path.join(workdir, "bochsrc")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    rc = os.path.join(workdir, "debugger.rc")
    with open(rc, "w") as f:
        f.write("c\nquit\n")  # Debian's bochs has the debugger: continue at once
    return ["bochs", "-q", "-unlock", "-f", path, "-rc", rc]


class Bochs(ferryrun.Machine):
    """One Bochs machine running in the background, with the interface of
    ferryrun.Background: its COM1 output (a file) through text() and
    wait_for(), stop() ends Bochs and returns a ferryrun.Run."""

    POLL = 0.1

    def __init__(self, guest_cmds="", ferry_args="loglevel=info", disk=None, cpu=CPU_VMX, ips=IPS_FAST,
                 sync="none", nic_port=None, mac=ferryrun.CLIENT_MAC, workdir=None, linux=None):
        self.own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="ferry-bochs-")
        os.makedirs(self.workdir, exist_ok=True)
        self.iso = os.path.join(self.workdir, "ferry.iso")
        make_iso(self.iso, guest_cmds, ferry_args, linux)
        self.cmd = bochsrc(self.workdir, self.iso, disk=disk, cpu=cpu, ips=ips, sync=sync, nic_port=nic_port,
                           mac=mac, mem_mib=512 if linux else 256)
        self.disk = disk
        self.com1 = os.path.join(self.workdir, "com1.txt")
        self.start = time.monotonic()
        self.stdout = open(os.path.join(self.workdir, "bochs.out"), "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=self.stdout, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir)
        self.thread = threading.Thread(target=self._watch, daemon=True)  # the watcher
        self.thread.start()

    def text(self):
        try:
            with open(self.com1, "rb") as f:
                return ANSI.sub("", f.read().decode("utf-8", "replace"))
        except FileNotFoundError:
            return ""

    def _watch(self):
        """Stops Bochs once ferry halted: Bochs has no exit device."""
        while self.proc.poll() is None:
            if HALTED in self.text():
                time.sleep(0.2)  # the rest of the line
                self.proc.kill()
                return
            time.sleep(0.1)

    def wait(self, timeout):
        """Waits for the run to end; True if it did."""
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def bochs_messages(self):
        """Bochs's own panics and errors, for reports."""
        out = []
        for name in ("bochs.out", "bochs.log"):
            try:
                with open(os.path.join(self.workdir, name), "rb") as f:
                    out += [l for l in f.read().decode("utf-8", "replace").splitlines()
                            if re.search(r"^\d+[pe]\[|PANIC|[Ff]atal", l) and "ALSA" not in l]
            except FileNotFoundError:
                pass
        return out[-20:]

    def stop(self):
        """Ends Bochs (if still running) and returns its Run."""
        self._end()
        self.stdout.close()
        # Bochs locks a disk image while it runs and, being killed, leaves
        # the lock file behind (bochs -unlock would clear it next time).
        if self.disk and os.path.exists(self.disk + ".lock"):
            os.unlink(self.disk + ".lock")
        text = self.text()
        if HALTED not in text:
            extra = self.bochs_messages()
            if extra:
                text += "".join(f"bochs: {l}\n" for l in extra)
        run = self._run(text)
        if self.own_workdir and not os.environ.get("FERRY_KEEP_BOCHS"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        return run


def run_local(disk, guest_cmds, timeout=300, echo=False, **kw):
    """One Bochs machine until ferry halts; returns its ferryrun.Run."""
    b = Bochs(guest_cmds=guest_cmds, disk=disk, **kw)
    shown = 0
    end = time.monotonic() + timeout
    while b.proc.poll() is None and time.monotonic() < end:
        if echo:
            t = b.text()
            sys.stdout.write(t[shown:])
            sys.stdout.flush()
            shown = len(t)
        time.sleep(0.2)
    timed_out = b.proc.poll() is None
    run = b.stop()
    if echo:
        sys.stdout.write(run.output[shown:])
    run.timed_out = timed_out
    return run


# ---- networks: bxhub --------------------------------------------------------
def free_port_block(n):
    """A base port with n consecutive UDP ports free on loopback now."""
    for _ in range(200):
        base = random.randrange(20000, 60000, 2)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of UDP ports")


class Hub:
    """bxhub: an Ethernet hub over UDP.  Port i of the hub takes frames on
    base+2i+1 and sends them to base+2i, where its machine listens.

    bxhub (2.7) is not a plain hub: it forwards a unicast frame only to a
    port whose MAC address it knows, and it learns a port's address only
    from a broadcast frame sent from that port.  A ferry server never
    broadcasts, so the clients' requests would vanish.  The hub is primed
    instead: before any machine starts, one broadcast frame per port,
    sent here with that port's machine's MAC address as the source."""

    PRIME_ETHERTYPE = 0x88B6  # IEEE 802 local experimental: ferry ignores it

    def __init__(self, macs):
        self.ports = len(macs)
        self.base = free_port_block(2 * self.ports)
        self.proc = subprocess.Popen(["bxhub", f"-ports={self.ports}", f"-base={self.base}", "-loglev=0"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        time.sleep(0.3)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i, mac in enumerate(macs):
            frame = b"\xff" * 6 + bytes.fromhex(mac.replace(":", "")) + \
                self.PRIME_ETHERTYPE.to_bytes(2, "big") + bytes(46)
            s.sendto(frame, ("127.0.0.1", self.base + 2 * i + 1))
        s.close()
        time.sleep(0.1)

    def bochs_port(self, i):
        """Bochs's ethdev= for hub port i."""
        return self.base + 2 * i

    def qemu_nic(self, i, nic="e1000", mac=None):
        """QEMU's NIC on hub port i."""
        return ["-netdev", f"socket,id=n0,udp=127.0.0.1:{self.base + 2 * i + 1},"
                           f"localaddr=127.0.0.1:{self.base + 2 * i}"] + ferryrun.nic_device(nic, mac)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Pair(ferryrun.Pair):
    """A server ferry with the disk and a diskless client ferry on a bxhub,
    either of them (or both) in Bochs, the other in QEMU.  The same
    interface as ferryrun.Pair."""

    POLL = 0.1

    def __init__(self, disk, guest_cmds, bochs="client", key=ferryrun.TEST_KEY, server_cmds="spin 0",
                 discover_timeout=60, client_args="", server_args="", client_ips=IPS_FAST,
                 server_ips=IPS_SERVER):
        assert bochs in ("client", "server", "both")
        self.bochs = bochs
        self.disk = disk
        self.guest_cmds = guest_cmds
        self.server_cmds = server_cmds
        self.client_ips, self.server_ips = client_ips, server_ips
        self.server_args = ferryrun.server_ferry_args(key, "e1000", server_args)
        self.client_args = ferryrun.client_ferry_args(ferryrun.client_key_for(key), "e1000", discover_timeout,
                                                      client_args)
        self.hub = Hub([ferryrun.SERVER_MAC, ferryrun.CLIENT_MAC])
        self.server = self.client = None

    def start_server(self):
        if self.bochs in ("server", "both"):
            self.server = Bochs(guest_cmds=self.server_cmds, ferry_args=self.server_args, disk=self.disk,
                                nic_port=self.hub.bochs_port(0), mac=ferryrun.SERVER_MAC, ips=self.server_ips)
        else:
            self.server = ferryrun.Background(ferryrun.qemu_cmd(
                disk=self.disk, guest_cmds=self.server_cmds, ferry_args=self.server_args,
                extra=self.hub.qemu_nic(0, mac=ferryrun.SERVER_MAC)))
        return self.server

    def start_client(self):
        if self.bochs in ("client", "both"):
            self.client = Bochs(guest_cmds=self.guest_cmds, ferry_args=self.client_args,
                                nic_port=self.hub.bochs_port(1), mac=ferryrun.CLIENT_MAC, ips=self.client_ips)
        else:
            self.client = ferryrun.Background(ferryrun.qemu_cmd(
                guest_cmds=self.guest_cmds, ferry_args=self.client_args,
                extra=self.hub.qemu_nic(1, mac=ferryrun.CLIENT_MAC)))
        return self.client

    def finish(self, timeout):
        """Waits for the client to end, then stops the server and the hub.
        Returns (client Run, server Run)."""
        runs = super().finish(timeout)
        self.hub.stop()
        return runs

    def kill(self):
        super().kill()
        self.hub.stop()


def run_pair(disk, guest_cmds, timeout=400, **kw):
    """Server first, then client; returns (client Run, server Run)."""
    return Pair.run(disk, guest_cmds, timeout, **kw)


def check_bochs():
    if not shutil.which("bochs"):
        sys.exit("bochsrun: bochs is missing (apt-get install bochs bochsbios vgabios)")


def main():
    ferryrun.cli("bochsrun", __doc__, disk_help="raw disk image for the IDE controller", cpu=CPU_VMX,
                 cpu_help="Bochs CPU model (bochs --help cpu)",
                 variant=("--bochs", dict(default="client", choices=("client", "server", "both"),
                                          help="with --pair: which machine(s) Bochs runs; QEMU runs the other")),
                 needs=(FERRY64, GUEST, ferryrun.FERRY32), check=check_bochs, local=run_local, pair=run_pair)


if __name__ == "__main__":
    main()
