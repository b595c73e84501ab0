"""ferry's virtio-net driver on a modern-only virtio-net-pci (1af4:1041):
two ferries joined by a UDP "wire" on loopback run the frame pump, one
echoing, the other sending and checking every echo byte for byte.

Frames are lost on this wire only when a burst overflows the host's UDP
receive buffer (net.core.rmem_default, 208 KiB: about 90 frames of 1514
bytes), never in the driver; the windows below stay under that."""
import os
import re
import subprocess

import ferryrun
from registry import test

PUMP = re.compile(r"ferry: pump: (\d+) frames of (\d+) bytes: (\d+) echoed intact, (\d+) corrupted, (\d+) lost")
STATS = re.compile(r"ferry: nic stats: tx (\d+) frames, rx (\d+) frames, rx dropped (\d+)")


def udp_ports(fallback):
    """Two loopback ports for the wire: free ones from the OS when ferryrun
    can pick them, else this test's own pair."""
    pick = getattr(ferryrun, "free_udp_ports", None)
    return pick(2) if pick else list(fallback)


class Echo:
    """The echo side, in the background, its output in a file."""

    def __init__(self, tmp, ports, mac=None):
        self.log = os.path.join(tmp, "echo.log")
        extra = ferryrun.nic_args("virtio", ports[0], ports[1], mac=mac)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(ferryrun.qemu_cmd(ferry_args="role=pump-echo nic=virtio", extra=extra),
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r", "")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def pump(ports, frames, size, window, mac=None, timeout=60):
    """One sending ferry against the echo on ports; returns its Run after
    checking that every frame came back intact."""
    args = f"role=pump-send nic=virtio pump_frames={frames} pump_size={size} pump_window={window}"
    extra = ferryrun.nic_args("virtio", ports[1], ports[0], mac=mac)
    run = ferryrun.run(ferryrun.qemu_cmd(ferry_args=args, extra=extra), timeout=timeout)
    where = f"{frames} frames of {size} bytes, window {window}:\n{run.output[-2500:]}"
    assert not run.timed_out, "the sender did not finish: " + where
    m = run.find(PUMP)
    assert m, "no pump result: " + where
    intact, corrupted, lost = int(m.group(3)), int(m.group(4)), int(m.group(5))
    assert (intact, corrupted, lost) == (frames, 0, 0), f"{corrupted} corrupted, {lost} lost: " + where
    s = run.find(STATS)
    assert s and int(s.group(3)) == 0, "the driver dropped frames: " + where
    assert int(s.group(1)) >= frames and int(s.group(2)) >= frames, where
    assert run.returncode == 1, f"QEMU exit status {run.returncode} (ferry stops with 1 on success): " + where
    return run


def with_echo(tmp, fallback, body, mac=None):
    ports = udp_ports(fallback)
    echo = Echo(tmp, ports, mac=mac)
    try:
        return body(ports, echo)
    finally:
        echo.stop()


@test
def nic_virtio_frames_intact(tmp):
    """The smallest pump frame, odd sizes and the largest frame, one at a
    time and with a window, against one echoing ferry."""
    def body(ports, echo):
        for size, frames, window in ((64, 500, 1), (65, 2000, 32), (1001, 2000, 16), (1513, 1000, 8),
                                     (1514, 2000, 64)):
            pump(ports, frames, size, window)
    with_echo(tmp, (42301, 42302), body)


@test
def nic_virtio_ring_wrap(tmp):
    """70000 frames: the 256-entry rings wrap 270 times and the 16-bit
    ring indexes wrap past 65535, with 200 frames in flight."""
    with_echo(tmp, (42311, 42312), lambda ports, echo: pump(ports, 70000, 64, 200, timeout=90))


@test
def nic_virtio_taken_by_ferry(tmp):
    """ferry claims the function for its virtio-net driver, hides it and
    its BARs from the guest, and reads the MAC and link state from the
    device configuration."""
    echo_mac, send_mac = "52:54:00:fe:00:01", "52:54:00:fe:00:02"

    def body(ports, echo):
        run = pump(ports, 300, 1514, 4, mac=send_mac)
        out = run.output.replace("\r", "")
        taken = r"ferry: pci [0-9a-f:.]+ taken by ferry's virtio-net driver and hidden from the guest"
        assert re.search(taken, out), out
        assert re.search(r"ferry:     virtio-net bar\d mem [0-9a-f]+ size [0-9a-f]+ \(not visible to the guest\)",
                         out), out
        assert re.search(r"ferry: virtio-net: [0-9a-f:.]+ 1af4:1041, 256 receive and 256 transmit entries", out), out
        assert f"ferry: nic: virtio-net, MAC {send_mac}, link up" in out, out
        eo = echo.output()
        assert f"ferry: nic: virtio-net, MAC {echo_mac}, link up" in eo, eo
        assert "ferry: pump: echoing frames on virtio-net" in eo, eo
        assert not re.search(r"PANIC|exception in ferry|ferry: error", out + eo), out + eo
    with_echo(tmp, (42321, 42322), body, mac=echo_mac)
