"""ATA over Ethernet against Linux's own initiator (docs/aoe.md): a server
ferry with aoe=on exports its disk; Debian's kernel in a plain QEMU loads
aoe.ko, discovers e0.0 and dd's random data both ways over the emulators'
socket wire.  Checked on the host: the sha256 of what Linux read against
the image, what Linux wrote against the image afterwards, and every AoE
frame ferry sent through tshark's AoE dissector (no malformed frames)."""
import hashlib
import os
import re
import shutil
import subprocess

import ferryrun
import linux
from registry import test

MIB = 1 << 20
DISK_MIB = 8
READ_AT, WRITE_AT, SPAN = 1, 4, 2  # MiB: Linux reads [1, 3), writes [4, 6)
APPEND = "console=ttyS0 quiet cryptomgr.notests=1"

# The initramfs's script up to the moment e0.0 is there (or a minute gone).
DISCOVER = """#!/bin/sh
ip link set eth0 up
i=0
while [ ! -b /dev/etherd/e0.0 ] && [ $i -lt 60 ]; do
	echo > /dev/etherd/discover 2>/dev/null
	sleep 1; i=$((i+1))
done
"""

SCRIPT = DISCOVER + f"""[ -b /dev/etherd/e0.0 ] || {{ echo "AOE no e0.0"; ls -l /dev/etherd; exit 1; }}
echo "AOE size $(cat /sys/block/etherd!e0.0/size)"
a=$(cut -d' ' -f1 /proc/uptime)
echo "AOE read $(dd if=/dev/etherd/e0.0 bs=64k skip={READ_AT * 16} count={SPAN * 16} iflag=direct 2>/dev/null | sha256sum)"
b=$(cut -d' ' -f1 /proc/uptime)
dd if=/dev/urandom of=/tmp/r bs=64k count={SPAN * 16} 2>/dev/null
echo "AOE wrote $(sha256sum /tmp/r)"
c=$(cut -d' ' -f1 /proc/uptime)
dd if=/tmp/r of=/dev/etherd/e0.0 bs=64k seek={WRITE_AT * 16} oflag=direct conv=fsync 2>/dev/null || echo "AOE write failed"
d=$(cut -d' ' -f1 /proc/uptime)
echo "AOE again $(dd if=/dev/etherd/e0.0 bs=64k skip={WRITE_AT * 16} count={SPAN * 16} iflag=direct 2>/dev/null | sha256sum)"
echo "AOE times $a $b $c $d"
dmesg | grep -i aoe | head -20
"""


def linux_initiator_cmd(initrd, nic, local_port, remote_port, pcap=None):
    """Debian's kernel in a plain QEMU (no ferry) on the wire to the server."""
    return (["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "qemu64", "-m", "256M",
             "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
             "-kernel", os.path.join(linux.DEFAULT_DIR, "vmlinux"), "-initrd", initrd, "-append", APPEND]
            + ferryrun.nic_args(nic, local_port, remote_port, pcap=pcap, mac=ferryrun.CLIENT_MAC))


def tshark_check(pcap, src=ferryrun.SERVER_MAC):
    """Every AoE frame from src (ferry) decodes without a malformed mark;
    how many there were."""
    assert shutil.which("tshark"), "tshark is missing (tools/deps.sh)"
    out = subprocess.run(["tshark", "-r", pcap, "-Y", f"aoe && eth.src == {src}",
                          "-T", "fields", "-e", "aoe.cmd", "-e", "_ws.malformed", "-e", "_ws.expert"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [l.split("\t") for l in out.stdout.splitlines() if l.strip()]
    bad = [r for r in rows if len(r) > 1 and r[1]]
    assert not bad, f"malformed AoE frames from ferry: {bad[:5]}"
    return len(rows)


def run_initiator(tmp, nic, server_args="", script=SCRIPT, extra=None, disk_mib=DISK_MIB):
    img = os.path.join(tmp, "disk.img")
    data = os.urandom(disk_mib * MIB)
    with open(img, "wb") as f:
        f.write(data)
    pcap = os.path.join(tmp, "aoe.pcap")
    initrd = linux.test_initramfs(os.path.join(tmp, "initrd.gz"), script, extra=extra)
    ps, pc = ferryrun.free_udp_ports(2)
    server = ferryrun.Background(ferryrun.qemu_cmd(
        disk=img, guest_cmds="spin 0",
        ferry_args=ferryrun.server_ferry_args(ferryrun.TEST_KEY, nic, ("aoe=on " + server_args).strip()),
        extra=ferryrun.nic_args(nic, ps, pc, mac=ferryrun.SERVER_MAC)))
    client = None
    try:
        assert server.wait_for(r"aoe: serving", 120), server.text()[-3000:]
        client = ferryrun.Background(linux_initiator_cmd(initrd, nic, pc, ps, pcap=pcap))
        client.wait_for(r"FERRY-LINUX poweroff", 900)
        c = client.stop()
    finally:
        if client:
            client.stop()
        s = server.stop()
    with open(img, "rb") as f:
        after = f.read()
    return data, after, c, s, pcap


def check_rates(c):
    m = re.search(r"^AOE times ([0-9.]+) ([0-9.]+) ([0-9.]+) ([0-9.]+)", c.output, re.M)
    assert m, c.output[-3000:]
    a, b, cc, d = map(float, m.groups())
    print(f"Linux initiator <- ferry: read {SPAN / max(b - a, 0.01):.1f} MiB/s, "
          f"write {SPAN / max(d - cc, 0.01):.1f} MiB/s (O_DIRECT 64 KiB, guest clock)")


def linux_initiator(tmp, nic):
    data, after, c, s, pcap = run_initiator(tmp, nic)
    out = c.output
    assert re.search(r"^AOE size %d\s*$" % (DISK_MIB * MIB // 512), out, re.M), out[-4000:]
    want_read = hashlib.sha256(data[READ_AT * MIB:(READ_AT + SPAN) * MIB]).hexdigest()
    m = re.search(r"^AOE read ([0-9a-f]{64})", out, re.M)
    assert m and m.group(1) == want_read, f"Linux read other bytes than the disk holds ({want_read}):\n" + out[-4000:]
    m = re.search(r"^AOE wrote ([0-9a-f]{64})", out, re.M)
    assert m, out[-4000:]
    wrote = m.group(1)
    assert "AOE write failed" not in out, out[-4000:]
    got = hashlib.sha256(after[WRITE_AT * MIB:(WRITE_AT + SPAN) * MIB]).hexdigest()
    assert got == wrote, f"the image does not hold what Linux wrote ({got}):\n" + out[-4000:]
    assert re.search(r"^AOE again " + wrote, out, re.M), out[-4000:]
    # Nothing outside the written span changed.
    assert after[:WRITE_AT * MIB] == data[:WRITE_AT * MIB]
    assert after[(WRITE_AT + SPAN) * MIB:] == data[(WRITE_AT + SPAN) * MIB:]
    assert re.search(r"aoe: serving .* AoE has no authentication", s.output), s.output[-2000:]
    check_rates(c)
    n = tshark_check(pcap)
    assert n > 2 * SPAN * 1024, f"only {n} AoE frames from ferry in the capture"


@test
def aoe_linux_initiator_e1000(tmp):
    """Linux's aoe driver discovers ferry's e0.0 and reads and writes it
    over e1000; the image and tshark agree."""
    linux_initiator(tmp, "e1000")


@test
def aoe_linux_initiator_virtio(tmp):
    """The same over virtio-net."""
    linux_initiator(tmp, "virtio")


# ---- a file system made and checked by Linux ------------------------------------

FS_MIB = 24
# (name, bytes): files Linux writes on the ext4 it made over AoE.
FS_FILES = [("d/big.bin", 3 * MIB + 12345), ("d/small.txt", 777), ("top.bin", 256 * 1024)]

FS_SCRIPT = DISCOVER + """[ -b /dev/etherd/e0.0 ] || { echo "AOE no e0.0"; exit 1; }
D=/dev/etherd/e0.0
/usr/sbin/mke2fs -q -F -t ext4 -L ferryaoe $D || { echo "AOE mkfs failed"; exit 1; }
mount -t ext4 $D /mnt || { echo "AOE mount failed"; exit 1; }
mkdir /mnt/d
%s
umount /mnt || echo "AOE umount failed"
/usr/sbin/e2fsck -f -n $D
echo "AOE fsck $?"
mount -t ext4 -o ro $D /mnt || echo "AOE remount failed"
%s
umount /mnt
"""


def fs_script():
    """Each file from /dev/urandom; sha256 when written and again after a
    remount (the page cache gone with the umount, so read over AoE)."""
    write = "\n".join(f"head -c {n} /dev/urandom > /mnt/{name}; echo \"AOE wrote {name} "
                      f"$(sha256sum < /mnt/{name})\"" for name, n in FS_FILES)
    again = "\n".join(f"echo \"AOE again {name} $(sha256sum < /mnt/{name})\"" for name, _ in FS_FILES)
    return FS_SCRIPT % (write, again)


def linux_filesystem(tmp, nic):
    extra = linux.host_programs(["mke2fs", "e2fsck"])
    with open("/etc/mke2fs.conf", "rb") as f:
        extra["etc/mke2fs.conf"] = (f.read(), 0o644)
    _, _, c, s, pcap = run_initiator(tmp, nic, script=fs_script(), extra=extra, disk_mib=FS_MIB)
    out = c.output
    for bad in ("AOE no e0.0", "AOE mkfs failed", "AOE mount failed", "AOE umount failed", "AOE remount failed"):
        assert bad not in out, out[-4000:]
    assert re.search(r"^AOE fsck 0\s*$", out, re.M), "e2fsck in Linux found errors:\n" + out[-4000:]
    img = os.path.join(tmp, "disk.img")
    r = subprocess.run(["e2fsck", "-f", "-n", img], capture_output=True, text=True)
    assert r.returncode == 0, "e2fsck on the host found errors in the image:\n" + r.stdout + r.stderr
    for name, n in FS_FILES:
        m = re.search(r"^AOE wrote %s ([0-9a-f]{64})" % re.escape(name), out, re.M)
        assert m, out[-4000:]
        assert re.search(r"^AOE again %s %s" % (re.escape(name), m.group(1)), out, re.M), \
            f"{name} read back after the remount differs:\n" + out[-4000:]
        dump = os.path.join(tmp, "dump.bin")
        subprocess.run(["debugfs", "-R", f"dump /{name} {dump}", img], capture_output=True, check=True)
        with open(dump, "rb") as f:
            got = f.read()
        assert len(got) == n and hashlib.sha256(got).hexdigest() == m.group(1), \
            f"/{name} on the host's image is not what Linux wrote"
    tshark_check(pcap)


@test
def aoe_linux_filesystem_e1000(tmp):
    """Linux makes an ext4 on ferry's e0.0 (mke2fs over aoe.ko, e1000),
    writes files, unmounts, e2fsck in Linux is clean, the files read back
    after a remount; on the host the image passes e2fsck and holds the
    same files (debugfs, sha256)."""
    linux_filesystem(tmp, "e1000")


@test
def aoe_linux_filesystem_virtio(tmp):
    """The same over virtio-net."""
    linux_filesystem(tmp, "virtio")


# ---- ferry's initiator against Debian's vblade ---------------------------------

class Netns:
    """A network namespace holding one tap (tap0) for a QEMU and a vblade
    on it; removed (vblade killed by its PID) on exit."""

    def __init__(self):
        self.name = f"ferry-aoe-{os.getpid()}-{id(self) & 0xffff:x}"
        self.vblade = None

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.name] + list(args), check=True)

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.ip("link", "set", "lo", "up")
        self.ip("tuntap", "add", "dev", "tap0", "mode", "tap")
        self.ip("link", "set", "tap0", "up")
        subprocess.run(["ip", "netns", "exec", self.name, "sysctl", "-q", "-w",
                        "net.ipv6.conf.all.disable_ipv6=1"], check=False)
        return self

    def start_vblade(self, img, shelf=1, slot=0, read_only=False):
        cmd = ["ip", "netns", "exec", self.name, "vblade"] + (["-r"] if read_only else []) + \
              [str(shelf), str(slot), "tap0", img]
        self.vblade = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def qemu(self, cmd):
        return ["ip", "netns", "exec", self.name] + cmd

    def __exit__(self, *exc):
        if self.vblade:
            self.vblade.terminate()
            try:
                self.vblade.wait(5)
            except subprocess.TimeoutExpired:
                self.vblade.kill()
                self.vblade.wait()
        subprocess.run(["ip", "netns", "del", self.name], check=False)


def tap_nic(nic, pcap=None):
    # vnet_hdr=off: else filter-dump writes virtio-net's header into the capture
    return ["-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no,vnet_hdr=off"] + \
        ferryrun.nic_device(nic, ferryrun.CLIENT_MAC) + \
        (["-object", f"filter-dump,id=f0,netdev=n0,file={pcap}"] if pcap else [])


def vblade_runner(nic, read_only=False, extra="", pcap=None):
    def run(img, cmds):
        with Netns() as ns:
            ns.start_vblade(img, read_only=read_only)
            cmd = ns.qemu(ferryrun.qemu_cmd(
                guest_cmds=cmds,
                ferry_args=f"loglevel=info role=client protocol=aoe target=e1.0 nic={nic} "
                           f"discover_timeout=60 {extra}".strip(),
                extra=tap_nic(nic, pcap)))
            r = ferryrun.run(cmd, timeout=600)
        assert not r.timed_out, "client timed out:\n" + r.output[-3000:]
        assert r.find(r"client: importing .* from aoe:e1\.0"), r.output[-3000:]
        return r
    return run


def vblade_files(tmp, nic):
    from test_local import file_roundtrip
    pcap = os.path.join(tmp, "aoe.pcap")
    file_roundtrip(tmp, 32, "none", 64, vblade_runner(nic, pcap=pcap))
    n = tshark_check(pcap, ferryrun.CLIENT_MAC)
    assert n > 1000, f"only {n} AoE frames from ferry's client in the capture"


@test
def aoe_client_vblade_e1000_files(tmp):
    """A ferry client's guest on a disk Debian's vblade exports (e1000): the
    file round trips of the pair tests, checked on vblade's image; the
    client's frames checked by tshark's AoE dissector."""
    vblade_files(tmp, "e1000")


@test
def aoe_client_vblade_virtio_files(tmp):
    """The same over virtio-net."""
    vblade_files(tmp, "virtio")


@test
def aoe_client_vblade_read_only(tmp):
    """vblade -r: reads work, a write fails with an error in the guest, the
    image is unchanged."""
    import disks
    a = disks.random_bytes(100000, 5)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": a})
    with open(img.path, "rb") as f:
        before = f.read()
    r = vblade_runner("e1000", read_only=True)(img.path, "sha256 /A.BIN; write /B.BIN 5000 1")
    assert re.search(r"^ok sha256 /A.BIN " + disks.sha256(a), r.output, re.M), r.output[-3000:]
    assert re.search(r"^err write /B.BIN", r.output, re.M), r.output[-3000:]
    assert not r.passed()
    with open(img.path, "rb") as f:
        assert f.read() == before, "a read-only vblade's image changed"


@test
def aoe_on_server_serves_ferry_clients(tmp):
    """With aoe=on the server's NIC carries both EtherTypes: a ferry client
    (0x88B5) still gets every frame through the AoE dispatch and passes the
    file round trips."""
    from test_local import file_roundtrip

    def run(img, cmds):
        client, server = ferryrun.run_pair(img, cmds, nic="e1000", timeout=400, server_args="aoe=on")
        assert not client.timed_out, "client timed out:\n" + client.output[-3000:]
        assert client.find(r"client: importing .* from net:"), client.output[-3000:]
        assert re.search(r"aoe: serving", server.output), server.output[-2000:]
        return client
    file_roundtrip(tmp, 32, "none", 64, run)


# ---- iPXE's sanboot aoe: --------------------------------------------------------

IPXE_LKRN = "/boot/ipxe.lkrn"  # Debian's ipxe package
BOOTSECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "aoe_bootsect.S")
TOKEN_LBA = 5000  # the boot sector reads this sector through INT 13h (2.4 MiB in)


def boot_sector(tmp, token_lba):
    """tests/emu/aoe_bootsect.S assembled with the system's gcc and ld into
    a 512-byte boot sector whose INT 13h read asks for token_lba."""
    obj, binf = os.path.join(tmp, "bootsect.o"), os.path.join(tmp, "bootsect.bin")
    subprocess.run(["gcc", "-m32", "-c", "-o", obj, BOOTSECT], check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-Ttext", "0x7c00", "-e", "_start", "--oformat", "binary",
                    "-o", binf, obj], check=True)
    nm = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    off = int(re.search(r"^([0-9a-f]+) T dap_lba$", nm, re.M).group(1), 16)
    with open(binf, "rb") as f:
        sect = bytearray(f.read())
    assert len(sect) == 512 and sect[510:] == b"\x55\xaa", "the boot sector did not assemble to 512 bytes"
    sect[off:off + 8] = token_lba.to_bytes(8, "little")
    return bytes(sect)


def ipxe_sanboot(tmp, nic):
    assert os.path.exists(IPXE_LKRN), f"{IPXE_LKRN} is missing (tools/deps.sh: Debian's ipxe)"
    img = os.path.join(tmp, "disk.img")
    data = bytearray(os.urandom(DISK_MIB * MIB))
    token = os.urandom(16).hex().encode()  # 32 printable bytes
    data[:512] = boot_sector(tmp, TOKEN_LBA)
    data[TOKEN_LBA * 512:TOKEN_LBA * 512 + len(token)] = token
    with open(img, "wb") as f:
        f.write(data)
    pcap = os.path.join(tmp, "aoe.pcap")
    ps, pc = ferryrun.free_udp_ports(2)
    server = ferryrun.Background(ferryrun.qemu_cmd(
        disk=img, guest_cmds="spin 0",
        ferry_args=ferryrun.server_ferry_args(ferryrun.TEST_KEY, nic, "aoe=on"),
        extra=ferryrun.nic_args(nic, ps, pc, mac=ferryrun.SERVER_MAC)))
    client = None
    try:
        assert server.wait_for(r"aoe: serving", 120), server.text()[-3000:]
        # iPXE's own driver for the NIC; its console is the BIOS screen, the
        # boot sector's is COM1 (stdio).
        client = ferryrun.Background(
            ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-m", "128M", "-nodefaults",
             "-display", "none", "-no-reboot", "-serial", "stdio",
             "-kernel", IPXE_LKRN, "-append", "ifopen net0 && sanboot aoe:e0.0"]
            + ferryrun.nic_args(nic, pc, ps, pcap=pcap, mac=ferryrun.CLIENT_MAC))
        booted = client.wait_for(r"FERRY-AOE-BOOT (halt|int13 read failed)", 300)
        c = client.stop()
    finally:
        if client:
            client.stop()
        s = server.stop()
    assert booted, "iPXE did not run the boot sector served by ferry:\n" + c.output[-3000:] + s.output[-2000:]
    assert "FERRY-AOE-BOOT ran" in c.output, c.output[-3000:]
    assert "int13 read failed" not in c.output, "INT 13h on the AoE disk failed:\n" + c.output[-3000:]
    m = re.search(r"FERRY-AOE-BOOT token (\S{32})", c.output)
    assert m and m.group(1).encode() == token, \
        f"the boot sector read other bytes than sector {TOKEN_LBA} holds ({token}):\n" + c.output[-3000:]
    with open(img, "rb") as f:
        assert f.read() == bytes(data), "iPXE's boot changed the image"
    assert tshark_check(pcap) >= 3  # Query Config, IDENTIFY, reads


@test
def aoe_ipxe_sanboot_e1000(tmp):
    """iPXE (Debian's ipxe.lkrn) runs sanboot aoe:e0.0 against a ferry
    server over e1000: the boot sector on ferry's disk runs, prints on COM1
    and reads a sector 2.4 MiB in through INT 13h (the hooked AoE disk);
    the token it prints is the one on the image."""
    ipxe_sanboot(tmp, "e1000")


@test
def aoe_ipxe_sanboot_virtio(tmp):
    """The same over virtio-net."""
    ipxe_sanboot(tmp, "virtio")
