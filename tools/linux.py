#!/usr/bin/env python3
"""Debian's own Linux kernel and a small busybox initramfs for ferry's Linux
guest, from Debian packages only (nothing installed over the machine's own
kernel).

    tools/linux.py fetch [--dir DIR]
        DIR/vmlinuz (the bzImage as shipped), DIR/vmlinux (its uncompressed
        ELF payload: skips the XZ decompressor, 5-6 s under TCG), DIR/modules
        (the .ko files the initramfs loads), DIR/busybox, DIR/KVER.
    tools/linux.py initramfs --out FILE [--dir DIR] [--script SH]
        a gzip'd newc cpio: busybox, the modules, /init; SH becomes
        /ferry/test.sh, which /init runs before it powers the machine off.

DIR defaults to $FERRY_BUILD/linux (make's O=, else build/linux).  The
packages come through apt-get download + dpkg-deb -x (apt-get update is run
once if apt has no lists yet)."""
import argparse
import gzip
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get("FERRY_BUILD") or os.path.join(ROOT, "build"))
DEFAULT_DIR = os.path.join(BUILD, "linux")

# Module load order (modules.dep of Debian's 6.1 kernel; crc32c_generic is
# ext4's soft dependency: crc32c-intel needs SSE4.2, which qemu64 lacks).
MODULES = [
    "virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk",
    "nls_cp437", "nls_ascii", "fat", "vfat",
    "crc32c_generic", "crc16", "mbcache", "jbd2", "ext4",
    "aoe", "e1000", "failover", "net_failover", "virtio_net",
]

INIT = r"""#!/bin/busybox sh
# ferry's Linux test initramfs (tools/linux.py).  Prints FERRY-LINUX lines
# that the tests parse, runs /ferry/test.sh if there is one, powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /mnt /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "FERRY-LINUX init: $(uname -r)"
for m in $(cat /ferry/modules); do
	insmod /lib/modules/$m.ko 2>/dev/null || echo "FERRY-LINUX insmod $m failed"
done
if [ -x /ferry/test.sh ]; then
	/ferry/test.sh
	echo "FERRY-LINUX test-exit: $?"
fi
echo "FERRY-LINUX poweroff"
sync
poweroff -f
"""


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def kernel_package():
    """The versioned package linux-image-amd64 depends on."""
    def depends():
        r = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            line = line.strip()
            if line.startswith("Depends: linux-image-"):
                return line.split()[1]
        return None
    pkg = depends()
    if pkg is None and os.geteuid() == 0:
        sh(["apt-get", "update", "-qq"])
        pkg = depends()
    if pkg is None:
        sys.exit("linux.py: apt knows no linux-image-amd64; run 'apt-get update' as root")
    return pkg


def extract_vmlinux(bzimage, out):
    """The bzImage's payload (boot protocol 2.08+: payload_offset 0x248 and
    payload_length 0x24C, from the protected-mode code) decompressed."""
    with open(bzimage, "rb") as f:
        data = f.read()
    if data[0x202:0x206] != b"HdrS":
        sys.exit(f"linux.py: {bzimage} is not a bzImage")
    setup_sects = data[0x1F1] or 4
    off, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + off
    payload = data[start:start + length]
    if not payload.startswith(b"\xfd7zXZ\x00"):
        sys.exit("linux.py: the bzImage's payload is not XZ (this tool knows Debian's kernels)")
    # The payload ends with its 4-byte decompressed size: one stream only.
    r = subprocess.run(["xz", "-dc", "--single-stream"], input=payload, capture_output=True, check=True)
    if not r.stdout.startswith(b"\x7fELF"):
        sys.exit("linux.py: the decompressed payload is not an ELF file")
    with open(out, "wb") as f:
        f.write(r.stdout)


def fetch(d):
    stamp = os.path.join(d, "KVER")
    if os.path.exists(stamp) and all(os.path.exists(os.path.join(d, x)) for x in ("vmlinuz", "vmlinux", "busybox")):
        return open(stamp).read().strip()
    os.makedirs(d, exist_ok=True)
    pkg = kernel_package()
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        sh(["apt-get", "download", "-q", pkg, "busybox-static"], cwd=tmp, stdout=subprocess.DEVNULL)
        for deb in os.listdir(tmp):
            if deb.endswith(".deb"):
                sh(["dpkg-deb", "-x", os.path.join(tmp, deb), os.path.join(tmp, "x")])
        x = os.path.join(tmp, "x")
        kvers = os.listdir(os.path.join(x, "lib", "modules"))
        if len(kvers) != 1:
            sys.exit(f"linux.py: expected one kernel version in {pkg}, found {kvers}")
        kver = kvers[0]
        shutil.copy(os.path.join(x, "boot", f"vmlinuz-{kver}"), os.path.join(d, "vmlinuz"))
        shutil.copy(os.path.join(x, "bin", "busybox"), os.path.join(d, "busybox"))
        mods = os.path.join(d, "modules")
        os.makedirs(mods, exist_ok=True)
        found = {}
        for base, _, files in os.walk(os.path.join(x, "lib", "modules", kver)):
            for f in files:
                if f.endswith(".ko") and f[:-3] in MODULES:
                    found[f[:-3]] = os.path.join(base, f)
        missing = [m for m in MODULES if m not in found]
        if missing:
            sys.exit(f"linux.py: {pkg} lacks the modules {missing}")
        for m, p in found.items():
            shutil.copy(p, os.path.join(mods, m + ".ko"))
    extract_vmlinux(os.path.join(d, "vmlinuz"), os.path.join(d, "vmlinux"))
    with open(stamp, "w") as f:
        f.write(kver + "\n")
    return kver


class Cpio:
    """A newc ("070701") archive, built in memory: no root needed for the
    device node the kernel opens before /init (/dev/console)."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.buf.write(hdr.encode() + name_b)
        self.buf.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def dir(self, name):
        self._entry(name, 0o040755)

    def file(self, name, data, mode=0o644):
        self._entry(name, 0o100000 | mode, data)

    def chardev(self, name, major, minor):
        self._entry(name, 0o020600, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


def initramfs(d, out, script=None):
    fetch(d)
    c = Cpio()
    for name in ("bin", "dev", "lib", "lib/modules", "ferry", "proc", "sys", "mnt", "tmp"):
        c.dir(name)
    c.chardev("dev/console", 5, 1)
    with open(os.path.join(d, "busybox"), "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    for m in MODULES:
        with open(os.path.join(d, "modules", m + ".ko"), "rb") as f:
            c.file(f"lib/modules/{m}.ko", f.read())
    c.file("ferry/modules", (" ".join(MODULES) + "\n").encode())
    c.file("init", INIT.encode(), 0o755)
    if script is not None:
        c.file("ferry/test.sh", script.encode(), 0o755)
    with open(out, "wb") as f:
        f.write(gzip.compress(c.finish(), compresslevel=6, mtime=0))


def host_programs(progs):
    """The host's (Debian's) dynamically linked programs progs with the
    shared libraries ldd names for them, as test_initramfs's extra
    ({path: (bytes, mode)}): each program in /usr/sbin, the libraries where
    the loader looks (/lib/x86_64-linux-gnu, /lib64 for the loader itself)."""
    out, libs = {}, {}
    for prog in progs:
        path = shutil.which(prog, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if not path:
            sys.exit(f"linux.py: {prog} is not installed")
        with open(path, "rb") as f:
            out[f"usr/sbin/{os.path.basename(path)}"] = (f.read(), 0o755)
        r = subprocess.run(["ldd", path], capture_output=True, text=True, check=True)
        for line in r.stdout.splitlines():
            parts = line.split()
            lib = parts[2] if len(parts) >= 3 and parts[1] == "=>" else parts[0]
            if not lib.startswith("/"):
                continue  # the vDSO
            where = "lib64" if os.path.basename(lib).startswith("ld-linux") else "lib/x86_64-linux-gnu"
            libs[f"{where}/{os.path.basename(lib)}"] = lib
    for name, lib in sorted(libs.items()):
        with open(lib, "rb") as f:
            out[name] = (f.read(), 0o755)
    return out


def test_initramfs(out, script, d=DEFAULT_DIR, extra=None):
    """The base initramfs (built once per kernel, DIR/initramfs-base.gz)
    followed by a second archive holding only /ferry/test.sh and the
    files of extra ({path: (bytes, mode)}, their directories made first):
    Linux unpacks concatenated archives in order, so a test pays ~1 KB,
    not the modules' 2 MB, for its script."""
    base = os.path.join(d, "initramfs-base.gz")
    kver = fetch(d)
    stamp = base + ".kver"
    if not os.path.exists(base) or not os.path.exists(stamp) or open(stamp).read() != kver:
        initramfs(d, base)
        with open(stamp, "w") as f:
            f.write(kver)
    c = Cpio()
    c.dir("ferry")
    c.file("ferry/test.sh", script.encode(), 0o755)
    made = {"ferry"}
    for path, (data, mode) in (extra or {}).items():
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub not in made:
                c.dir(sub)
                made.add(sub)
        c.file(path, data, mode)
    with open(base, "rb") as f, open(out, "wb") as o:
        o.write(f.read())
        o.write(gzip.compress(c.finish(), compresslevel=6, mtime=0))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("fetch", "initramfs"))
    ap.add_argument("--dir", default=DEFAULT_DIR)
    ap.add_argument("--out")
    ap.add_argument("--script", help="a shell script file for /ferry/test.sh")
    a = ap.parse_args()
    if a.what == "fetch":
        print(f"linux.py: kernel {fetch(a.dir)} in {a.dir}")
    else:
        if not a.out:
            sys.exit("linux.py initramfs: --out FILE is required")
        script = open(a.script).read() if a.script else None
        initramfs(a.dir, a.out, script)
        print(f"linux.py: {a.out}")


if __name__ == "__main__":
    main()
