"""Several exports on one server (docs/configuration.md, "Several exports"):
a server ferry with two virtio-blk disks, each an export of its own, and
several client ferries on one Ethernet hub (bxhub over UDP, as the Bochs
tests use).  Checked on the host: each client's files on its own export's
image and nowhere else, a refused client's export unchanged byte for byte,
and the log lines on both ends that say who was refused and why."""
import hashlib
import os
import re
import time

import bochsrun
import disks
import ferryrun
from registry import test
from test_local import expect_ok

CLIENT_MACS = ["52:54:00:c1:00:%02x" % i for i in range(1, 5)]
NIC = "e1000"


def image_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def server_cmd(tmp, hub, imgs, cfg_lines, server_args="", sector_sizes=(512, 512), disk_if="virtio"):
    """The server ferry: imgs as virtio0, virtio1 (fixed PCI slots, so the
    names cannot swap), or as ahci0:port0, ahci0:port1 of q35's AHCI
    controller; ferry.cfg holding cfg_lines."""
    cfg = os.path.join(tmp, "ferry.cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(cfg_lines) + "\n")
    extra = []
    for i, (img, ss) in enumerate(zip(imgs, sector_sizes)):
        blk = f",logical_block_size={ss},physical_block_size={ss}" if ss != 512 else ""
        dev = (f"ide-hd,drive=x{i},bus=ide.{i}" if disk_if == "ahci" else
               f"virtio-blk-pci,drive=x{i},disable-legacy=on,addr={8 + i:#x},serial=FERRYEXPORT{i}")
        extra += ["-drive", f"file={img},format=raw,if=none,id=x{i}", "-device", dev + blk]
    extra += hub.qemu_nic(0, NIC, mac=ferryrun.SERVER_MAC)
    return ferryrun.qemu_cmd(guest_cmds="spin 0", config_file=cfg, extra=extra,
                             ferry_args=ferryrun.server_ferry_args(ferryrun.TEST_KEY, NIC, server_args))


def client_cmd(hub, i, name, cmds, args="", discover_timeout=60, protocol="ferry"):
    """Client i (hub port i + 1) called name, running cmds."""
    mac = CLIENT_MACS[i]
    if protocol == "aoe":
        ferry_args = f"loglevel=info role=client protocol=aoe nic={NIC} discover_timeout={discover_timeout} {args}"
    else:
        ferry_args = ferryrun.client_ferry_args(ferryrun.client_key_for(name=name), NIC, discover_timeout,
                                                f"client={name} {args}")
    return ferryrun.qemu_cmd(guest_cmds=cmds, ferry_args=ferry_args.strip(),
                             extra=hub.qemu_nic(i + 1, NIC, mac=mac))


class Machines:
    """Background QEMUs on one hub, all stopped on leaving."""

    def __init__(self, nclients):
        self.hub = bochsrun.Hub([ferryrun.SERVER_MAC] + CLIENT_MACS[:nclients])
        self.bg = []

    def start(self, cmd):
        b = ferryrun.Background(cmd)
        self.bg.append(b)
        return b

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for b in self.bg:
            if b.proc.poll() is None:
                b.stop()
        self.hub.stop()


def wait_end(bg, timeout):
    """The machine's Run once it ended by itself (its guest powered off);
    fails if it did not: a refused client must not hang."""
    end = time.monotonic() + timeout
    while bg.proc.poll() is None and time.monotonic() < end:
        time.sleep(0.2)
    ended = bg.proc.poll() is not None
    run = bg.stop()
    assert ended, "did not finish:\n" + run.output[-3000:]
    return run


def two_clients_on_two_exports(tmp, disk_if, names, ss_b, mib_b):
    files_a = {"/A.BIN": disks.random_bytes(300000, 21)}
    files_b = {"/B.BIN": disks.random_bytes(200000, 22)}
    img_a = disks.make_fat(os.path.join(tmp, "a.img"), 32, 40, files_a)
    img_b = disks.make_fat(os.path.join(tmp, "b.img"), 16 if ss_b == 4096 else 32, mib_b, files_b,
                           sector_size=ss_b)
    cfg = [f"export = home disk={names[0]} clients=alice",
           f"export = work disk={names[1]} clients=bob"]
    script = lambda me, other, seed: "; ".join([
        "lbd-info", f"sha256 /{me}.BIN", f"write /{me}NEW.BIN 1500000 {seed}", f"cp /{me}.BIN /{me}COPY.BIN",
        "sync", f"sha256 /{me}NEW.BIN", f"sha256 /{me}COPY.BIN", "ls /"])
    with Machines(2) as m:
        srv = m.start(server_cmd(tmp, m.hub, [img_a.path, img_b.path], cfg, sector_sizes=(512, ss_b),
                                 disk_if=disk_if))
        assert srv.wait_for(r"server: exporting", 120), srv.text()[-3000:]
        alice = m.start(client_cmd(m.hub, 0, "alice", script("A", "B", 31)))
        bob = m.start(client_cmd(m.hub, 1, "bob", script("B", "A", 32)))
        a, b = wait_end(alice, 600), wait_end(bob, 600)
        s = srv.stop()
    for run in (a, b):
        assert run.passed(), run.output[-4000:]
    # Each was given its own export, and presents its size and sectors exactly.
    assert a.find(r"client: importing .* %d sectors of 512 bytes .*, export 0$" % (40 * 2048)), a.output[-3000:]
    assert b.find(r"client: importing .* %d sectors of %d bytes .*, export 1$" % (mib_b * (1 << 20) // ss_b, ss_b)), \
        b.output[-3000:]
    assert s.find(r'server: export 0 "home": %s .*one writer at a time; clients: alice' % names[0]), s.output[-3000:]
    assert s.find(r'server: export 1 "work": %s .*%d bytes.*clients: bob' % (names[1], ss_b)), s.output[-3000:]
    assert expect_ok(a, "sha256 /A.BIN").split()[0] == disks.sha256(files_a["/A.BIN"])
    assert expect_ok(b, "sha256 /B.BIN").split()[0] == disks.sha256(files_b["/B.BIN"])
    # On the host: each image holds its client's files and not the other's.
    assert img_a.read("/ANEW.BIN") == disks.splitmix64_bytes(1500000, 31)
    assert img_a.read("/ACOPY.BIN") == files_a["/A.BIN"]
    assert img_b.read("/BNEW.BIN") == disks.splitmix64_bytes(1500000, 32)
    assert img_b.read("/BCOPY.BIN") == files_b["/B.BIN"]
    assert not img_a.exists("/BNEW.BIN") and not img_b.exists("/ANEW.BIN")
    for img in (img_a, img_b):
        ok, out = img.fsck()
        assert ok, out


@test
def exports_two_clients_on_two_exports_at_once(tmp):
    """alice and bob import one export each of one server, at the same
    time, and each writes and reads its files; the second export has
    4096-byte sectors, and bob's guest sees exactly that."""
    two_clients_on_two_exports(tmp, "virtio", ("virtio0", "virtio1"), 4096, 64)


@test
def exports_two_ports_of_one_ahci_controller(tmp):
    """The same with two disks on one AHCI controller, one export each."""
    two_clients_on_two_exports(tmp, "ahci", ("ahci0:port0", "ahci0:port1"), 512, 48)


@test
def exports_refused_clients_get_nothing_and_change_nothing(tmp):
    """alice writes export 0 ("home", not shared).  bob, also listed for
    home, is refused while she holds it and she goes on working; carol asks
    for export 1 ("vault"), whose clients= does not list her (until her
    discover_timeout: no server= is pinned, another server might take her); dave, an AoE
    initiator whose MAC vault's aoe_allow does not list, gets silence.  No
    refused client's guest sees a disk, and vault is unchanged byte for
    byte."""
    img_h = disks.make_fat(os.path.join(tmp, "home.img"), 32, 40, {"/H.BIN": disks.random_bytes(100000, 23)})
    img_v = disks.make_fat(os.path.join(tmp, "vault.img"), 32, 40, {"/V.BIN": disks.random_bytes(100000, 24)})
    vault_before = image_digest(img_v.path)
    cfg = ["aoe = on",
           "export = home disk=virtio0 clients=alice,bob aoe=e1.0 aoe_allow=%s" % CLIENT_MACS[0],
           "export = vault disk=virtio1 clients=alice aoe=e1.1 aoe_allow=%s" % CLIENT_MACS[0]]
    alice_cmds = "write /A1.BIN 400000 41; sync; spin 25; write /A2.BIN 300000 42; sync; sha256 /A1.BIN"
    intruder = "ls /; write /X.BIN 100000 9; sync"
    with Machines(4) as m:
        srv = m.start(server_cmd(tmp, m.hub, [img_h.path, img_v.path], cfg))
        assert srv.wait_for(r"server: exporting", 120), srv.text()[-3000:]
        alice = m.start(client_cmd(m.hub, 0, "alice", alice_cmds))
        assert alice.wait_for(r"^spin \d+ ", 300), alice.text()[-3000:]
        bob = m.start(client_cmd(m.hub, 1, "bob", intruder, discover_timeout=8))
        carol = m.start(client_cmd(m.hub, 2, "carol", intruder, args="export=1", discover_timeout=8))
        dave = m.start(client_cmd(m.hub, 3, "dave", intruder, args="target=e1.1", discover_timeout=8,
                                  protocol="aoe"))
        b, c, d = wait_end(bob, 300), wait_end(carol, 300), wait_end(dave, 300)
        a = wait_end(alice, 600)
        s = srv.stop()
    # alice was never disturbed.
    assert a.passed(), a.output[-4000:]
    assert img_h.read("/A1.BIN") == disks.splitmix64_bytes(400000, 41)
    assert img_h.read("/A2.BIN") == disks.splitmix64_bytes(300000, 42)
    # bob: refused while alice writes home; the server names her.
    assert b.find(r"client: its first export is not shared and another client writes it: the server refused "
                  r'"bob" for 8 s; the guest gets no disk'), b.output[-3000:]
    assert s.find(r'server: refused client "bob" at 52:54:00:c1:00:02 to export 0 "home": the export is not '
                  r'shared and has another writer \(client "alice"\)'), s.output[-3000:]
    # carol (no server= pinned): another server might take her, so she asks
    # until her discover_timeout, then says why.
    assert c.find(r'client: every server that answered refuses "carol" export 1: that export\'s clients= does '
                  r"not list this client; the guest gets no disk"), c.output[-3000:]
    assert s.find(r'server: refused client "carol" at 52:54:00:c1:00:03 to export 1 "vault": the export\'s '
                  r"clients= does not list it"), s.output[-3000:]
    # dave: silence, and a line on the server.
    assert d.find(r"client: e1.1: no AoE target answered"), d.output[-3000:]
    assert s.find(r"aoe: e1.1 \(export vault\): ignored frames from 52:54:00:c1:00:04: not in its aoe_allow"), \
        s.output[-3000:]
    for run in (b, c, d):
        assert not run.passed(), "a refused client's guest succeeded:\n" + run.output[-3000:]
        assert run.find(r"^err ls /"), run.output[-3000:]
    assert image_digest(img_v.path) == vault_before, "vault changed"
    assert not img_h.exists("/X.BIN")
    ok, out = img_h.fsck()
    assert ok, out


def lone_server(tmp, cfg_lines, nimgs=2, ide=False):
    """A server alone that must stop at start: its disks as virtio0, 1, ...
    (ide: as the primary master and slave of QEMU's pc board's PIIX IDE)."""
    imgs = []
    for i in range(nimgs):
        p = os.path.join(tmp, f"d{i}.img")
        with open(p, "wb") as f:
            f.truncate(4 << 20)
        imgs.append(p)
    cfg = os.path.join(tmp, "ferry.cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(cfg_lines) + "\n")
    extra = []
    for i, img in enumerate(imgs):
        dev = f"ide-hd,drive=x{i},bus=ide.0,unit={i}" if ide else \
            f"virtio-blk-pci,drive=x{i},disable-legacy=on,addr={8 + i:#x}"
        extra += ["-drive", f"file={img},format=raw,if=none,id=x{i}", "-device", dev]
    extra += ["-netdev", "user,id=n0,restrict=on", "-device", "e1000,netdev=n0"]
    digests = [image_digest(p) for p in imgs]
    run = ferryrun.run(ferryrun.qemu_cmd(guest_cmds="spin 0", config_file=cfg, extra=extra,
                                         machine="pc" if ide else "q35",
                                         ferry_args=ferryrun.server_ferry_args(ferryrun.TEST_KEY, "e1000")),
                       timeout=120)
    assert not run.timed_out, "ferry kept running:\n" + run.output[-3000:]
    assert not run.find(r"server: exporting"), run.output[-3000:]
    assert [image_digest(p) for p in imgs] == digests
    return run


@test
def exports_config_errors_stop_ferry(tmp):
    """An export naming no disk, two exports at one AoE address, two
    exports of one disk: ferry stops with one line saying which, and
    exports nothing."""
    run = lone_server(tmp, ["export = a disk=virtio0", "export = b disk=virtio3"])
    assert run.find(r"ferry: error: cannot run: export b: disk=virtio3 names no disk ferry can serve; found: "
                    r"virtio0, virtio1$"), run.output[-3000:]
    run = lone_server(tmp, ["aoe = on", "export = a disk=virtio0 aoe=e1.0", "export = b disk=virtio1 aoe=e1.0"])
    assert run.find(r"ferry: error: config: exports a and b both have the AoE address e1.0"), run.output[-3000:]
    run = lone_server(tmp, ["export = a disk=virtio1", "export = b disk=virtio1"])
    assert run.find(r"ferry: error: config: exports a and b both name disk=virtio1"), run.output[-3000:]
    run = lone_server(tmp, ["export = a disk=virtio0 read_only=yes read_only=no"])
    assert run.find(r"ferry: error: config: .*export a: read_only= given twice in its line"), run.output[-3000:]


@test
def exports_a_second_ide_disk_is_refused(tmp):
    """The IDE driver serves one disk: a second export on it (the primary
    slave beside the primary master) stops ferry with a line naming the
    disk served.  (QEMU's pc board has one IDE controller, whose second
    probe was refused before too, as "already taken"; the case that made
    two exports one device, a second controller, is refused by the same
    check in ata_probe before any controller is looked at.)"""
    run = lone_server(tmp, ["export = a disk=ata0:primary-master", "export = b disk=ata0:primary-slave"], ide=True)
    assert run.find(r"ferry: error: ata: ata0:primary-master is served already; the IDE driver serves one ATA "
                    r"disk, so ata0:primary-slave cannot be a second"), run.output[-3000:]
    assert run.find(r"ferry: error: cannot run: export b: disk=ata0:primary-slave names no disk ferry can serve"), \
        run.output[-3000:]


LINUX_SCRIPT = """#!/bin/sh
ip link set eth0 up
i=0
while [ ! -b /dev/etherd/e1.0 ] && [ $i -lt 60 ]; do
	echo > /dev/etherd/discover 2>/dev/null
	sleep 1; i=$((i+1))
done
[ -b /dev/etherd/e1.0 ] || { echo "AOE no e1.0"; exit 1; }
echo "AOE read $(dd if=/dev/etherd/e1.0 bs=64k skip=512 count=16 iflag=direct 2>/dev/null | sha256sum)"
dd if=/dev/urandom of=/tmp/r bs=64k count=4 2>/dev/null
if dd if=/tmp/r of=/dev/etherd/e1.0 bs=64k seek=256 oflag=direct conv=fsync 2>/dev/null; then
	echo "AOE write ok"
else
	echo "AOE write refused"
fi
"""


@test
def exports_aoe_initiator_cannot_write_under_a_ferry_writer(tmp):
    """One writer at a time across the protocols: while alice, a ferry
    client, holds export home (her slot is bound to it, whether her guest
    still runs or has just finished), Linux's AoE initiator reads it (the
    bytes on the image, away from alice's files) but its write fails with
    EIO and writes nothing; alice's writes all land."""
    import linux
    img = disks.make_fat(os.path.join(tmp, "home.img"), 32, 40, {"/H.BIN": disks.random_bytes(100000, 25)})
    cfg = ["aoe = on", "export = home disk=virtio0 aoe=e1.0"]
    initrd = linux.test_initramfs(os.path.join(tmp, "initrd.gz"), LINUX_SCRIPT)
    alice_cmds = "write /A1.BIN 200000 51; sync; spin 20; write /A2.BIN 100000 52; sync"
    with Machines(2) as m:
        srv = m.start(server_cmd(tmp, m.hub, [img.path], cfg))
        assert srv.wait_for(r"server: exporting", 120), srv.text()[-3000:]
        alice = m.start(client_cmd(m.hub, 0, "alice", alice_cmds))
        assert alice.wait_for(r"^spin \d+ ", 300), alice.text()[-3000:]
        with open(img.path, "rb") as f:
            before = f.read()
        lin = m.start(["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "qemu64", "-m", "256M",
                       "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
                       "-kernel", os.path.join(linux.DEFAULT_DIR, "vmlinux"), "-initrd", initrd,
                       "-append", "console=ttyS0 quiet cryptomgr.notests=1"]
                      + m.hub.qemu_nic(2, NIC, mac=CLIENT_MACS[1]))
        assert lin.wait_for(r"AOE write (ok|refused)|AOE no", 600), lin.text()[-3000:]
        with open(img.path, "rb") as f:
            after_linux = f.read()
        l = lin.stop()
        a = wait_end(alice, 600)
        s = srv.stop()
    assert re.search(r"^AOE read ([0-9a-f]{64})", l.output, re.M).group(1) == \
        hashlib.sha256(before[32 << 20:33 << 20]).hexdigest(), l.output[-3000:]
    assert re.search(r"^AOE write refused", l.output, re.M), l.output[-3000:]
    assert after_linux[(16 << 20):(16 << 20) + (256 << 10)] == before[(16 << 20):(16 << 20) + (256 << 10)]
    assert s.find(r"aoe: e1.0 \(export home\): refused a write from 52:54:00:c1:00:02: the export has another "
                  r"writer and is not shared"), s.output[-3000:]
    assert a.passed(), a.output[-3000:]
    assert img.read("/A2.BIN") == disks.splitmix64_bytes(100000, 52)
