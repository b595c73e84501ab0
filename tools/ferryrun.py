#!/usr/bin/env python3
"""Boot ferry and its guest under QEMU and collect what they print.

Used by `make run-local`, `make demo`, `make bench` and the emulator tests.
Only the Python standard library is needed.

QEMU runs with TCG (software emulation) and `-cpu qemu64,+svm,+npt,+rdrand`: AMD
SVM with nested paging, which is what ferry's SVM back end needs.  ferry
ends the emulator through QEMU's isa-debug-exit device once the guest has
powered off, so a run ends by itself.
"""
import argparse
import atexit
import os
import re
import subprocess
import sys
import tempfile
import time

import ferrykey

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The build directory: make's O= (exported as FERRY_BUILD), else build/.
BUILD = os.path.abspath(os.environ.get("FERRY_BUILD") or os.path.join(ROOT, "build"))
FERRY32 = os.path.join(BUILD, "ferry32.elf")
GUEST = os.path.join(BUILD, "guest.elf")
ISO = os.path.join(BUILD, "ferry.iso")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"

CPU_SVM = "qemu64,+svm,+npt,+rdrand"  # RDRAND: per-boot session values (platform/entropy.c)


QEMU_NIC = {"e1000": "e1000", "e1000e": "e1000e", "virtio": "virtio-net-pci,disable-legacy=on",
            # the same device reporting a 9000-byte MTU (VIRTIO_NET_F_MTU): jumbo frames
            "virtio-jumbo": "virtio-net-pci,disable-legacy=on,host_mtu=9000"}


def nic_args(nic, local_port, remote_port=None, pcap=None, mac=None, wire="udp", listen=False):
    """A NIC on a "wire" to another QEMU on loopback.

    wire="udp": frames go to remote_port and arrive on local_port; no start
    order is needed (frames sent before the peer is up are lost, as on a real
    wire), but a burst larger than the host's UDP receive buffer
    (net.core.rmem_default, about 90 full frames) loses frames too.
    wire="stream": QEMU's TCP netdev on local_port, lossless (TCP pushes
    back); the listen=True side must start first."""
    if wire == "udp":
        args = ["-netdev", f"dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port={local_port},"
                           f"remote.type=inet,remote.host=127.0.0.1,remote.port={remote_port}"]
    elif wire == "stream":
        args = ["-netdev", f"stream,id=n0,server={'on' if listen else 'off'},addr.type=inet,"
                           f"addr.host=127.0.0.1,addr.port={local_port}"]
    else:
        raise ValueError(f"unknown wire {wire}")
    args += nic_device(nic, mac)
    if pcap:
        args += ["-object", f"filter-dump,id=f0,netdev=n0,file={pcap}"]
    return args


class Linux:
    """A Linux guest for qemu_cmd: the kernel (bzImage or vmlinux), an
    initrd, the kernel command line.  ferry loads them as its guest module
    and the module after it (vm/guest_load.c)."""

    def __init__(self, kernel, initrd=None, append="console=ttyS0"):
        self.kernel, self.initrd, self.append = kernel, initrd, append


def nic_device(nic, mac=None):
    """QEMU's -device for a NIC of kind nic on netdev n0."""
    return ["-device", QEMU_NIC[nic] + ",netdev=n0" + (f",mac={mac}" if mac else "")]


# The controllers the test disk can sit on (DISK_IF of make run-local):
# q35's AHCI, the i440FX board's PIIX IDE, an NVMe controller, a modern
# (non-transitional) virtio-blk.
DISK_IFS = ("ahci", "ide", "nvme", "virtio")
NVME_SERIAL = "FERRYNVME0"
VIRTIO_SERIAL = "FERRYVIRTIO0"


def disk_args(disk, disk_if="ahci", machine="q35", opts=""):
    """QEMU's arguments for a raw image on controller disk_if; opts are
    extra properties of the device that holds the image (e.g.
    "logical_block_size=4096,physical_block_size=4096" for NVMe)."""
    if disk_if not in DISK_IFS:
        raise ValueError(f"unknown disk interface {disk_if!r} (one of {', '.join(DISK_IFS)})")
    drive = ["-drive", f"file={disk},format=raw,if=none,id=d0"]
    dev = {"ahci": "ide-hd,drive=d0,bus=ide.0" + (",unit=0" if machine == "pc" else ""),
           "ide": "ide-hd,drive=d0,bus=ide.0,unit=0",
           "nvme": f"nvme,serial={NVME_SERIAL},drive=d0",
           "virtio": f"virtio-blk-pci,drive=d0,disable-legacy=on,serial={VIRTIO_SERIAL}"}[disk_if]
    return drive + ["-device", dev + ("," + opts if opts else "")]


def qemu_cmd(disk=None, cpu=CPU_SVM, mem=None, kernel=True, guest_cmds="",
             ferry_args="loglevel=info", iso=None, firmware="bios", extra=(), config_file=None,
             debug_exit=True, vga=None, machine="q35", linux=None, disk_if="ahci"):
    """The QEMU command line for one machine.  debug_exit=False leaves out
    isa-debug-exit, so a stopped ferry halts and its screen stays; vga adds
    a display card (e.g. "VGA", QEMU's standard VGA), which -nodefaults
    otherwise leaves out.  machine="pc" is the i440FX board: the disk goes
    on its PIIX IDE controller (drivers/ata.c) instead of q35's AHCI.
    linux=Linux(...) makes the guest a Linux kernel (guest_cmds unused).
    disk_if picks the disk's controller (DISK_IFS; "ide" implies machine="pc")."""
    if disk and disk_if == "ide":
        machine = "pc"
    mem = mem or ("512M" if linux else "256M")
    cmd = ["qemu-system-x86_64", "-machine", machine, "-accel", "tcg", "-cpu", cpu,
           "-m", mem, "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio"]
    if debug_exit:
        cmd += ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if vga:
        cmd += ["-device", vga]
    if firmware == "uefi":
        cmd += ["-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}"]
        vars_copy = tempfile.NamedTemporaryFile(prefix="ovmf-vars-", delete=False)
        with open(OVMF_VARS, "rb") as f:
            vars_copy.write(f.read())
        vars_copy.close()
        atexit.register(os.unlink, vars_copy.name)
        cmd += ["-drive", f"if=pflash,format=raw,file={vars_copy.name}"]
    if kernel:
        # QEMU's multiboot loader splits -initrd on commas; ",," is a comma.
        if linux:
            initrd = f"{linux.kernel} {linux.append}".strip().replace(",", ",,")
            if linux.initrd:
                initrd += "," + linux.initrd.replace(",", ",,")
        else:
            initrd = f"{GUEST} {guest_cmds}".replace(",", ",,")
        if config_file:  # ferry's configuration file, as its own module
            initrd += "," + config_file.replace(",", ",,")
        cmd += ["-kernel", FERRY32, "-append", ferry_args, "-initrd", initrd]
    elif iso:
        cmd += ["-drive", f"file={iso},format=raw,if=none,id=cd,readonly=on",
                "-device", "ide-cd,drive=cd,bus=ide.1,bootindex=0"]
    if disk:
        cmd += disk_args(disk, disk_if, machine)
    cmd += list(extra)
    return cmd


class Run:
    """The outcome of one emulator run."""

    def __init__(self, cmd, output, returncode, seconds, timed_out):
        self.cmd = cmd
        self.output = output
        self.lines = output.replace("\r", "").splitlines()
        self.returncode = returncode
        self.seconds = seconds
        self.timed_out = timed_out

    def guest_lines(self):
        """Lines printed by the guest (everything that is not ferry's)."""
        return [l for l in self.lines if not l.startswith("ferry: ")]

    def ferry_lines(self):
        return [l for l in self.lines if l.startswith("ferry: ")]

    def results(self):
        """The guest's result lines: ('ok'|'err', text after it)."""
        out = []
        for l in self.guest_lines():
            m = re.match(r"^(ok|err) (.*)$", l)
            if m:
                out.append((m.group(1), m.group(2)))
        return out

    def passed(self):
        return "result: pass" in self.guest_lines()

    def powered_off(self):
        """The guest powered the machine off through ACPI and ferry carried
        it out: QEMU ended with status 0 after ferry said so."""
        return self.returncode == 0 and self.find(r"^ferry: powering the machine off$") is not None

    def linux_passed(self):
        """A Linux test run (tools/linux.py's /init): its script exited 0
        and the machine powered off."""
        return self.powered_off() and self.find(r"^FERRY-LINUX test-exit: 0$") is not None

    def find(self, pattern):
        """First regex match over all lines, or None."""
        for l in self.lines:
            m = re.search(pattern, l)
            if m:
                return m
        return None


def run(cmd, timeout=300, echo=False):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    chunks = []
    timed_out = False
    try:
        if echo:
            for raw in iter(proc.stdout.readline, b""):
                text = raw.decode("utf-8", "replace")
                chunks.append(text)
                sys.stdout.write(text.replace("\r", ""))
                sys.stdout.flush()
                if time.monotonic() - start > timeout:
                    raise subprocess.TimeoutExpired(cmd, timeout)
            proc.wait(timeout=max(1, timeout - (time.monotonic() - start)))
        else:
            out, _ = proc.communicate(timeout=timeout)
            chunks.append(out.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        rest, _ = proc.communicate()
        chunks.append(rest.decode("utf-8", "replace"))
    return Run(cmd, "".join(chunks), proc.returncode, time.monotonic() - start, timed_out)


def free_udp_ports(n):
    """n UDP ports on loopback that are free right now (the OS picks them;
    QEMU does not fail on a port in use, so never hard-code them)."""
    import socket
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Machine:
    """An emulator running in the background.  A subclass starts it, sets
    cmd, start (time.monotonic()), proc (the Popen) and thread (which
    follows the output), and says what it printed so far through text()."""

    POLL = 0.05  # seconds between looks at the process and its output

    def text(self):
        raise NotImplementedError

    def _settle(self):
        """Once the process has ended: lets the last of its output in."""

    def wait_for(self, pattern, timeout):
        """Waits until a line matches; True if it did."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.text(), re.M):
                return True
            if self.proc.poll() is not None:
                self._settle()
                return bool(re.search(pattern, self.text(), re.M))
            time.sleep(self.POLL)
        return False

    def _end(self):
        """Kills the process (if still running), reaps it and its thread."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.thread.join(5)

    def _run(self, text):
        """The Run of this machine, printing text, now that it has ended."""
        return Run(self.cmd, text, self.proc.returncode, time.monotonic() - self.start, False)


class Background(Machine):
    """A QEMU running in the background whose output is collected."""

    def __init__(self, cmd):
        import threading
        self.cmd = cmd
        self.start = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.chunks = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            self.chunks.append(raw.decode("utf-8", "replace"))

    def text(self):
        return "".join(self.chunks)

    def _settle(self):
        self.thread.join(1)

    def stop(self):
        """Kills QEMU (if still running) and returns its Run."""
        self._end()
        return self._run(self.text())


TEST_KEY = "0123456789abcdef0123456789abcdef"  # the servers' master key
SERVER_MAC = "52:54:00:5e:00:01"
CLIENT_MAC = "52:54:00:c1:00:01"


def client_key_for(master=TEST_KEY, name=None, mac=CLIENT_MAC):
    """The key= of a client called name (default: the name ferry gives a
    client at mac), derived from the server's master key as
    tools/ferrykey.py does (docs/protocol.md, "Keys")."""
    return ferrykey.client_key(bytes.fromhex(master), name or ferrykey.default_name(mac)).hex()


TEST_CLIENT_KEY = client_key_for()


def ferry_nic(model):
    """ferry's nic= for a QEMU NIC model of QEMU_NIC (virtio-jumbo is
    virtio-net, e1000e is e1000 to ferry)."""
    return {"e1000e": "e1000", "virtio-jumbo": "virtio"}.get(model, model)


def server_ferry_args(key, nic, extra=""):
    """ferry's command line as a pair's server."""
    return f"loglevel=info role=server key={key} nic={ferry_nic(nic)} {extra}".strip()


def client_ferry_args(key, nic, discover_timeout, extra=""):
    """ferry's command line as a pair's client."""
    return (f"loglevel=info role=client key={key} nic={ferry_nic(nic)} "
            f"discover_timeout={discover_timeout} {extra}").strip()


class Pair:
    """A server ferry (with the disk, its guest running server_cmds) and a
    diskless client ferry (its guest running guest_cmds, or Linux) on one
    wire.  wire=tools/wire.py's WireFaults(...) puts the fault-injecting
    wire between them (its sides: s the server, c the client); its
    counters are in wire_counters once the pair has finished."""

    POLL = 0.05  # seconds between looks at the client in finish()

    def __init__(self, disk, guest_cmds, nic="e1000", key=TEST_KEY, client_key=None,
                 server_cmds="spin 0", pcap=None, discover_timeout=60, client_args="", server_args="",
                 linux=None, wire=None, disk_if="ahci", server_extra=()):
        """key is the server's master key; the client gets client_key, by
        default the key derived from key for the client's default name.
        server_extra goes on the server's QEMU command line (e.g. a disk
        of QEMU's own, with disk None)."""
        ps, pc, ws, wc = free_udp_ports(4)
        # Each side sends to the other's port, or to its side of the wire.
        to_s, to_c = (wc, ws) if wire else (ps, pc)
        self.server_cmd = qemu_cmd(
            disk=disk, disk_if=disk_if, guest_cmds=server_cmds,
            ferry_args=server_ferry_args(key, nic, server_args),
            extra=nic_args(nic, ps, to_c, mac=SERVER_MAC) + list(server_extra))
        self.client_cmd = qemu_cmd(
            guest_cmds=guest_cmds, linux=linux,
            ferry_args=client_ferry_args(client_key or client_key_for(key), nic, discover_timeout,
                                         client_args),
            extra=nic_args(nic, pc, to_s, pcap=pcap, mac=CLIENT_MAC))
        self.server = self.client = None
        self.wire_faults, self.wire, self.wire_counters = wire, None, None
        self._wire_ends = (("127.0.0.1", ws, ps), ("127.0.0.1", wc, pc))

    def _wire_up(self):
        if getattr(self, "wire_faults", None) and not self.wire:
            import wire
            self.wire = wire.Wire(*self._wire_ends, self.wire_faults, names=("s", "c")).start()

    def _wire_down(self):
        if getattr(self, "wire", None) and self.wire_counters is None:
            self.wire_counters = self.wire.stop()

    def start_server(self):
        self._wire_up()
        self.server = Background(self.server_cmd)
        return self.server

    def start_client(self):
        self._wire_up()
        self.client = Background(self.client_cmd)
        return self.client

    def finish(self, timeout):
        """Waits for the client to end (it powers off after its script),
        then stops the server.  Returns (client Run, server Run)."""
        end = time.monotonic() + timeout
        while self.client.proc.poll() is None and time.monotonic() < end:
            time.sleep(self.POLL)
        timed_out = self.client.proc.poll() is None
        c = self.client.stop()
        c.timed_out = timed_out
        srv = self.server.stop() if self.server else None
        self._wire_down()
        return c, srv

    def kill(self):
        """Ends whichever machine still runs (after an error)."""
        for m in (self.client, self.server):
            if m and m.proc.poll() is None:
                m.stop()
        self._wire_down()

    @classmethod
    def run(cls, disk, guest_cmds, timeout, **kw):
        """Server first, then client; returns (client Run, server Run)."""
        pair = cls(disk, guest_cmds, **kw)
        try:
            pair.start_server()
            pair.start_client()
            return pair.finish(timeout)
        finally:
            pair.kill()


def run_pair(disk, guest_cmds, timeout=300, **kw):
    """Server first, then client; returns (client Run, server Run)."""
    return Pair.run(disk, guest_cmds, timeout, **kw)


def run_local(disk, guest_cmds, timeout=300, echo=False, **kw):
    return run(qemu_cmd(disk=disk, guest_cmds=guest_cmds, **kw), timeout=timeout, echo=echo)


def cli(prog, doc, disk_help, cpu, cpu_help, variant, needs, local, pair, check=None, disk_ifs=()):
    """The command line of ferryrun and bochsrun: one machine (local), or a
    pair.  variant is (flag, add_argument keywords) of the option that picks
    the pair's kind, passed on to pair() by its name; needs are the files
    that must exist; check() may exit when something else is missing."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--disk", help=disk_help)
    if disk_ifs:
        ap.add_argument("--disk-if", default=disk_ifs[0], choices=disk_ifs,
                        help="the controller the disk sits on (make's DISK_IF)")
    ap.add_argument("--cmds", default="", help="the guest's command script")
    ap.add_argument("--ferry-args", default="loglevel=info")
    ap.add_argument("--cpu", default=cpu, help=cpu_help)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--pair", action="store_true", help="server with the disk + diskless client")
    kind = ap.add_argument(variant[0], **variant[1]).dest
    ap.add_argument("--key", default=TEST_KEY,
                    help="the server's master key (hex); the client gets the key derived from it")
    ap.add_argument("--server-cmds", default="spin 0", help="the server guest's script")
    ap.add_argument("--kernel", help="a Linux bzImage or vmlinux as the guest (instead of ferry's own)")
    ap.add_argument("--initrd", help="the Linux guest's initrd")
    ap.add_argument("--append", default="console=ttyS0", help="the Linux guest's command line")
    a = ap.parse_args()
    for f in needs:
        if not os.path.exists(f):
            sys.exit(f"{prog}: {f} is missing; run 'make' first")
    if a.disk and not os.path.exists(a.disk):
        sys.exit(f"{prog}: disk image {a.disk} does not exist")
    for what, f in (("kernel", a.kernel), ("initrd", a.initrd)):
        if f and not os.path.exists(f):
            sys.exit(f"{prog}: {what} {f} does not exist")
    if a.initrd and not a.kernel:
        sys.exit(f"{prog}: --initrd needs --kernel")
    linux = Linux(a.kernel, a.initrd, a.append) if a.kernel else None
    extra_kw = {"linux": linux} if linux else {}
    if disk_ifs:
        extra_kw["disk_if"] = a.disk_if
    if check:
        check()
    if a.pair:
        if not a.disk:
            sys.exit(f"{prog}: --pair needs --disk (the server's disk)")
        r, srv = pair(a.disk, a.cmds, timeout=a.timeout, key=a.key, server_cmds=a.server_cmds,
                      **{kind: getattr(a, kind)}, **extra_kw)
        print("---- server " + "-" * 60)
        print(srv.output.replace("\r", ""), end="")
        print("---- client " + "-" * 60)
        print(r.output.replace("\r", ""), end="")
    else:
        r = local(a.disk, a.cmds, timeout=a.timeout, echo=True, cpu=a.cpu, ferry_args=a.ferry_args, **extra_kw)
    if r.timed_out:
        print(f"{prog}: timed out after {a.timeout} s", file=sys.stderr)
        sys.exit(2)
    if linux:
        if not r.powered_off():
            print(f"{prog}: the Linux guest did not power the machine off", file=sys.stderr)
            sys.exit(1)
    elif not r.passed():
        print(f"{prog}: the guest reported a failure (no 'result: pass')", file=sys.stderr)
        sys.exit(1)


def main():
    cli("ferryrun", __doc__, disk_help="raw disk image (on the controller --disk-if names)", cpu=CPU_SVM, cpu_help=None,
        variant=("--nic", dict(default="e1000", choices=sorted(QEMU_NIC))),
        needs=(FERRY32, GUEST), local=run_local, pair=run_pair, disk_ifs=DISK_IFS)


if __name__ == "__main__":
    main()
