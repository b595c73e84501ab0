"""Disk images for the emulator tests: FAT16/FAT32 made by mkfs.fat and
filled with mtools, optionally inside an MBR or GPT partition table written
here; and the reading-back side (mtools, fsck.fat)."""
import hashlib
import os
import random
import struct
import subprocess
import uuid
import zlib

SECTOR = 512
PART_START = 2048  # sectors: 1 MiB, as partitioning tools do


def splitmix64_bytes(n, seed):
    """The guest's `write PATH BYTES SEED` generator (guest/shell.c)."""
    out = bytearray()
    state = seed & 0xFFFFFFFFFFFFFFFF
    mask = 0xFFFFFFFFFFFFFFFF
    while len(out) < n:
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        z ^= z >> 31
        out += struct.pack("<Q", z)
    return bytes(out[:n])


def vblk_qd_plan(seed, max_count):
    """guest/vblk_qd.c's requests: a function next_request(span) giving the
    next (sector, count), count 1-max_count and the request inside [0,
    span), drawn from splitmix64(seed) as the guest draws them."""
    mask = 0xFFFFFFFFFFFFFFFF
    state = seed & mask

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    def next_request(span):
        count = 1 + nxt() % max_count
        return nxt() % (span - count + 1), count
    return next_request


def vblk_qd_shadow(image, seed, n, span):
    """What `vblk-qd SEED N SPAN QD` leaves in the first span sectors of
    image: its writes applied in the order the guest offered them."""
    next_request = vblk_qd_plan(seed, 64)
    buf = bytearray(image[:span * 512])
    for i in range(n):
        sector, count = next_request(span)
        buf[sector * 512:(sector + count) * 512] = splitmix64_bytes(count * 512, (seed * 1000003 + i) & 0xFFFFFFFFFFFFFFFF)
    return bytes(buf)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def random_bytes(n, seed):
    return random.Random(seed).randbytes(n)


class Image:
    """A disk image with one FAT file system, at byte offset `offset`."""

    def __init__(self, path, offset):
        self.path = path
        self.offset = offset

    @property
    def spec(self):
        return f"{self.path}@@{self.offset}" if self.offset else self.path

    def mtools(self, *args, check=True):
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLS_NO_VFAT="0")
        return subprocess.run(list(args), env=env, capture_output=True, check=check)

    def read(self, path):
        """A file's bytes as mtools reads them."""
        r = self.mtools("mtype", "-i", self.spec, "::" + path)
        return r.stdout

    def exists(self, path):
        r = self.mtools("mdir", "-i", self.spec, "::" + path, check=False)
        return r.returncode == 0

    def fsck(self):
        """(ok, output) of fsck.fat -n on the file system."""
        part = self.path + ".fsck"
        size = os.path.getsize(self.path) - self.offset
        with open(self.path, "rb") as src, open(part, "wb") as dst:
            src.seek(self.offset)
            dst.write(src.read(size))
        try:
            r = subprocess.run(["fsck.fat", "-n", part], capture_output=True, text=True)
            return r.returncode == 0, r.stdout + r.stderr
        finally:
            os.unlink(part)

    def digest(self):
        with open(self.path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()


def _mbr(total_sectors, part_start, part_sectors, ptype):
    mbr = bytearray(SECTOR)
    entry = struct.pack("<B3sB3sII", 0x00, b"\xfe\xff\xff", ptype, b"\xfe\xff\xff",
                        part_start, part_sectors)
    mbr[446:462] = entry
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def _gpt(total_sectors, part_start, part_sectors):
    """Protective MBR, primary and backup GPT (UEFI spec 2.x, chapter 5)."""
    basic_data = uuid.UUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7").bytes_le
    entry = struct.pack("<16s16sQQQ72s", basic_data, uuid.uuid4().bytes_le, part_start,
                        part_start + part_sectors - 1, 0, "ferry".encode("utf-16-le"))
    entries = entry + bytes(128 * 128 - len(entry))
    ents_crc = zlib.crc32(entries)
    last = total_sectors - 1

    def header(my_lba, alt_lba, entries_lba):
        h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0, my_lba, alt_lba,
                        34, total_sectors - 34, uuid.uuid4().bytes_le, entries_lba, 128, 128, ents_crc)
        crc = zlib.crc32(h)
        h = h[:16] + struct.pack("<I", crc) + h[20:]
        return h + bytes(SECTOR - len(h))

    pmbr = _mbr(total_sectors, 1, min(total_sectors - 1, 0xFFFFFFFF), 0xEE)
    primary = pmbr + header(1, last, 2) + entries
    backup = entries + header(last, 1, last - 32)
    return primary, backup


def make_fat(path, fat, size_mib, files=None, dirs=(), scheme="none", sector_size=SECTOR):
    """Creates a FAT16/FAT32 image.  files: {path: bytes}.  scheme: none
    (file system from sector 0), mbr or gpt.  sector_size is the file
    system's bytes per sector (4096 for a disk with 4096-byte sectors; only
    with scheme none).  Returns an Image."""
    files = files or {}
    assert sector_size == SECTOR or scheme == "none", "partition tables are built for 512-byte sectors"
    total = size_mib * 1024 * 1024 // SECTOR
    if scheme == "none":
        start, fs_sectors = 0, total
    else:
        start = PART_START
        fs_sectors = total - start - (34 if scheme == "gpt" else 0)
    fs = path + ".fs"
    if os.path.exists(fs):
        os.unlink(fs)
    args = ["mkfs.fat", "-F", str(fat), "-n", "FERRYTEST", "-i", "12345678", "-C", fs,
            str(fs_sectors * SECTOR // 1024)]
    if fat == 32:
        args[1:1] = ["-s", "1"]  # enough clusters for FAT32 in a small image
    if sector_size != SECTOR:
        args[1:1] = ["-S", str(sector_size)]
    if scheme != "none":
        args[1:1] = ["-h", str(start)]
    subprocess.run(args, check=True, capture_output=True)
    img = Image(fs, 0)
    for d in dirs:
        img.mtools("mmd", "-i", fs, "::" + d)
    for name, data in files.items():
        src = path + ".tmp"
        with open(src, "wb") as f:
            f.write(data)
        img.mtools("mcopy", "-i", fs, src, "::" + name)
        os.unlink(src)
    with open(fs, "rb") as f:
        fs_bytes = f.read()
    os.unlink(fs)
    with open(path, "wb") as out:
        if scheme == "mbr":
            ptype = 0x0C if fat == 32 else 0x0E
            out.write(_mbr(total, start, fs_sectors, ptype))
            out.write(bytes((start - 1) * SECTOR))
        elif scheme == "gpt":
            primary, backup = _gpt(total, start, fs_sectors)
            out.write(primary)
            out.write(bytes(start * SECTOR - len(primary)))
        out.write(fs_bytes)
        if scheme == "gpt":
            out.write(backup)
        out.truncate(total * SECTOR)
    return Image(path, start * SECTOR)


SBIN_ENV = {**os.environ, "PATH": "/usr/sbin:/sbin:" + os.environ.get("PATH", "")}


class Ext4:
    """An ext4 image made on the host (mkfs.ext4 -d), read back with
    debugfs and checked with e2fsck -fn: what a user would do with a disk
    Linux wrote."""

    def __init__(self, path, size_mib, files, dirs=()):
        self.path = path
        src = path + ".d"
        if os.path.exists(src):
            subprocess.run(["rm", "-rf", src], check=True)
        os.makedirs(src)
        for d in dirs:
            os.makedirs(os.path.join(src, d.lstrip("/")), exist_ok=True)
        for name, data in files.items():
            p = os.path.join(src, name.lstrip("/"))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        with open(path, "wb") as f:
            f.truncate(size_mib * 1024 * 1024)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-d", src, path], check=True, env=SBIN_ENV)

    def read(self, name):
        out = self.path + ".dump"
        r = subprocess.run(["debugfs", "-R", f"dump {name} {out}", self.path], capture_output=True, text=True,
                           env=SBIN_ENV)
        if r.returncode != 0 or not os.path.exists(out) or "File not found" in r.stderr:
            raise FileNotFoundError(f"{name} not in {self.path}: {r.stderr.strip()}")
        with open(out, "rb") as f:
            data = f.read()
        os.unlink(out)
        return data

    def exists(self, name):
        r = subprocess.run(["debugfs", "-R", f"stat {name}", self.path], capture_output=True, text=True,
                           env=SBIN_ENV)
        return "File not found" not in r.stderr and r.returncode == 0

    def fsck(self):
        r = subprocess.run(["e2fsck", "-fn", self.path], capture_output=True, text=True, env=SBIN_ENV)
        return r.returncode == 0, r.stdout + r.stderr
