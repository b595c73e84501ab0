"""The screen console: ferry's messages must be readable on the display of a
machine without a serial port.  Each test boots ferry so that it stops
with an error, leaves it halted on screen (no isa-debug-exit), takes a QEMU
screendump and looks for the message: the line is rendered on the host with
the same font (tools/psf2c.py) and its pixels must appear in the picture,
in any colour on the background."""
import collections
import os
import socket
import subprocess
import time

import ferryrun
import psf2c
from registry import test

FONT = os.environ.get("FONT_PSF", "/usr/share/consolefonts/Lat15-Terminus16.psf.gz")
TEST_KEY = ferryrun.TEST_KEY


def monitor_command(sock_path, command, timeout=10):
    """Runs one command on QEMU's human monitor (a unix socket)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    end = time.monotonic() + timeout
    while True:
        try:
            s.connect(sock_path)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)

    def until_prompt():
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = s.recv(4096)
            if not chunk:
                raise AssertionError("QEMU's monitor closed: " + buf.decode("latin-1")[-300:])
            buf += chunk
        return buf

    with s:
        until_prompt()
        s.sendall(command.encode() + b"\n")
        return until_prompt()


class Picture:
    """A PPM screendump as a mask: 1 where a pixel differs from the
    background (the picture's most common colour)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        fields, i = [], 0
        while len(fields) < 4:  # P6, width, height, maxval
            while data[i:i + 1].isspace():
                i += 1
            j = i
            while not data[j:j + 1].isspace():
                j += 1
            fields.append(data[i:j])
            i = j
        assert fields[0] == b"P6", f"{path}: not a binary PPM"
        self.width, self.height = int(fields[1]), int(fields[2])
        px = data[i + 1:i + 1 + self.width * self.height * 3]
        bg = collections.Counter(px[k:k + 3] for k in range(0, len(px), 3 * 97)).most_common(1)[0][0]
        stride = self.width * 3
        self.rows = []
        for y in range(self.height):
            row = px[y * stride:(y + 1) * stride]
            self.rows.append(bytes(row[k:k + 3] != bg for k in range(0, stride, 3)))

    def find(self, glyph_rows, x=None, y=None):
        """Where the rendered rows appear exactly: (x, y) or None.  With x
        and y given, only that position is tried."""
        h, w = len(glyph_rows), len(glyph_rows[0])
        anchor = max(range(h), key=lambda r: glyph_rows[r].count(1))
        ys = [y] if y is not None else range(0, self.height - h + 1)
        for top in ys:
            if top < 0 or top + h > self.height:
                continue
            row = self.rows[top + anchor]
            start = x if x is not None else 0
            while True:
                at = row.find(bytes(glyph_rows[anchor]), start)
                if at < 0 or (x is not None and at != x):
                    break
                if all(self.rows[top + r][at:at + w] == bytes(glyph_rows[r]) for r in range(h)):
                    return at, top
                if x is not None:
                    break
                start = at + 1
        return None


def find_line(pic, font, line, cols):
    """Finds a console line, wrapped at `cols` characters as the screen
    wraps it, under any of the cell layouts ferry or QEMU use (8 or 9
    pixels wide cells, glyphs scaled 1 or 2 times).  Returns where its
    first character is, or None."""
    pieces = [line[i:i + cols] for i in range(0, len(line), cols)] or [""]
    for cell in (font.width, 9):
        for scale in (1, 2):
            first = pic.find(font.render(pieces[0], cell_width=cell, scale=scale))
            if not first:
                continue
            x, y = first
            step = font.height * scale
            if all(pic.find(font.render(p, cell_width=cell, scale=scale), x=x, y=y + i * step)
                   for i, p in enumerate(pieces[1:], 1)):
                return first
    return None


def boot_and_look(tmp, cmd, timeout=30):
    """Boots, waits until ferry halts, takes a screendump.  Returns the
    serial Run and the Picture."""
    sock = os.path.join(tmp, "monitor.sock")
    shot = os.path.join(tmp, "screen.ppm")
    bg = ferryrun.Background(cmd + ["-monitor", f"unix:{sock},server,nowait"])
    try:
        halted = bg.wait_for(r"^ferry: halted", timeout)
        if halted:
            monitor_command(sock, f"screendump {shot}")
    finally:
        run = bg.stop()
    assert halted, "ferry did not halt:\n" + run.output[-3000:]
    assert os.path.exists(shot), "no screendump"
    return run, Picture(shot)


def screen_cols(run):
    """The text width ferry reported in its "screen:" line."""
    m = run.find(r"ferry: screen: VGA text mode (\d+)x\d+") or run.find(r"ferry: screen: .*; (\d+)x\d+ text")
    assert m, "ferry found no screen:\n" + run.output[-3000:]
    return int(m.group(1))


def expect_on_screen(run, pic, pattern):
    """The serial line matching pattern must be on the screen too."""
    m = run.find(pattern)
    assert m, f"no line matching {pattern!r} on the serial port:\n" + run.output[-3000:]
    line = next(l for l in run.lines if m.group(0) in l)
    font = psf2c.load(FONT)
    where = find_line(pic, font, line, screen_cols(run))
    assert where, f"not on the screen ({pic.width}x{pic.height}): {line!r}"
    return where


def make_iso(tmp, ferry_args, guest_cmds="lbd-info"):
    iso = os.path.join(tmp, "ferry.iso")
    subprocess.run([os.path.join(ferryrun.ROOT, "tools", "mkiso.sh"), iso, os.path.join(ferryrun.BUILD, "ferry.elf"),
                    ferryrun.GUEST, guest_cmds, ferry_args], check=True)
    return iso


def iso_config_error(tmp, firmware, vga):
    iso = make_iso(tmp, "loglevel=info role=server")
    run, pic = boot_and_look(tmp, ferryrun.qemu_cmd(kernel=False, iso=iso, firmware=firmware, debug_exit=False,
                                                    vga=vga), timeout=60)
    assert run.find(r"ferry: boot: multiboot2"), run.output[-3000:]
    assert run.find(r"ferry: screen: \d+x\d+ framebuffer"), "GRUB gave no framebuffer:\n" + run.output[-3000:]
    expect_on_screen(run, pic, r"ferry: error: config: key is required for role=server")
    expect_on_screen(run, pic, r"ferry: halted")


@test
def screen_config_error_bios_iso(tmp):
    """GRUB on SeaBIOS: the framebuffer GRUB sets for ferry (800x600, 24
    bits per pixel on QEMU's standard VGA)."""
    iso_config_error(tmp, "bios", "VGA")


@test
def screen_config_error_uefi_iso(tmp):
    """GRUB on OVMF: the UEFI GOP framebuffer (32 bits per pixel).  QXL,
    because GRUB drives QEMU's standard VGA with its own driver instead of
    the firmware's GOP."""
    iso_config_error(tmp, "uefi", "qxl-vga")


@test
def screen_missing_nic_vga_text(tmp):
    """QEMU's multiboot 1 leaves VGA text mode: a client without a NIC."""
    run, pic = boot_and_look(tmp, ferryrun.qemu_cmd(ferry_args=f"loglevel=info role=client key={ferryrun.TEST_CLIENT_KEY}",
                                                    debug_exit=False, vga="VGA"))
    assert run.find(r"ferry: screen: VGA text mode 80x25"), run.output[-3000:]
    expect_on_screen(run, pic, r"ferry: error: cannot run: no supported network card")


@test
def screen_scrolls_framebuffer(tmp):
    """Many lines through GRUB's framebuffer on SeaBIOS: the screen scrolls
    and ends with the last lines, in order."""
    iso = make_iso(tmp, "loglevel=info", guest_cmds="; ".join(["lbd-info"] * 40))
    run, pic = boot_and_look(tmp, ferryrun.qemu_cmd(kernel=False, iso=iso, debug_exit=False, vga="VGA"), timeout=60)
    lines = run.lines
    assert len(lines) > 100, f"expected a screenful and more, got {len(lines)} lines"
    font = psf2c.load(FONT)
    cols = screen_cols(run)
    last = [l for l in lines if l.strip()][-4:]
    spots = [find_line(pic, font, l, cols) for l in last]
    assert all(spots), f"the last lines are not all on screen: {list(zip(last, spots))}"
    ys = [y for _, y in spots]
    assert ys == sorted(ys), f"the last lines are out of order on screen: {ys}"
