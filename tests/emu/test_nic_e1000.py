"""ferry's e1000 driver: two ferries joined by a wire on loopback run the
frame pump, one echoing every frame, the other sending and checking each
echo byte for byte.

Two wires are used.  The UDP wire of ferryrun.nic_args is the ordinary
one; it drops frames by itself when a burst overflows the host's UDP
receive buffer (net.core.rmem_default, 208 KiB: about 90 frames of 1514
bytes), so windows on it stay small.  QEMU's TCP "stream" netdev never
drops (TCP pushes back, and QEMU holds frames while the NIC has no free
receive descriptor), so the tests that fill the rings use it; its
listening side must be up before the other connects."""
import os
import re
import subprocess
import time

import ferryrun
from registry import test

PUMP = re.compile(r"ferry: pump: (\d+) frames of (\d+) bytes: (\d+) echoed intact, (\d+) corrupted, (\d+) lost")
STATS = re.compile(r"ferry: nic stats: tx (\d+) frames, rx (\d+) frames, rx dropped (\d+)")
SENDER_MAC = "52:54:00:e1:00:01"
ECHO_MAC = "52:54:00:e1:00:02"


def wire_args(wire, model, port, mac, listen):
    """The QEMU options of one end of the wire.  udp: port is the first of
    two (the listening end receives on it); stream: the TCP port."""
    if wire == "udp":
        local, remote = (port, port + 1) if listen else (port + 1, port)
        args = ferryrun.nic_args("e1000", local, remote, mac=mac)
        return [a.replace("e1000,", model + ",", 1) if a.startswith("e1000,") else a for a in args]
    return ["-netdev", f"stream,id=n0,server={'on' if listen else 'off'},addr.type=inet,"
                       f"addr.host=127.0.0.1,addr.port={port}",
            "-device", f"{model},netdev=n0,mac={mac}"]


class Echo:
    """The echoing ferry, in the background, its output in a file."""

    def __init__(self, tmp, wire, model, port):
        self.log = os.path.join(tmp, "echo.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                ferryrun.qemu_cmd(ferry_args="role=pump-echo nic=e1000",
                                  extra=wire_args(wire, model, port, ECHO_MAC, listen=True)),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r", "")

    def wait_ready(self, timeout=20):
        """Until the echo loop runs (its NIC, and a stream listener, are up)."""
        deadline = time.monotonic() + timeout
        while "pump: echoing frames on e1000" not in self.output():
            assert self.proc.poll() is None, "the echoing ferry stopped:\n" + self.output()[-2000:]
            assert time.monotonic() < deadline, "the echoing ferry did not start:\n" + self.output()[-2000:]
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def pump(echo, wire, model, port, frames, size, window, timeout=60):
    """One sending ferry against the echo; returns its Run after checking
    that every frame came back intact and the driver dropped none."""
    args = f"role=pump-send nic=e1000 pump_frames={frames} pump_size={size} pump_window={window}"
    run = ferryrun.run(ferryrun.qemu_cmd(ferry_args=args,
                                         extra=wire_args(wire, model, port, SENDER_MAC, listen=False)),
                       timeout=timeout)
    where = (f"{model} on {wire}, {frames} frames of {size} bytes, window {window}:\n{run.output[-2500:]}"
             f"\n-- the echoing side:\n{echo.output()[-1500:]}")
    assert not run.timed_out, "the sender did not finish: " + where
    m = run.find(PUMP)
    assert m, "no pump result: " + where
    intact, corrupted, lost = int(m.group(3)), int(m.group(4)), int(m.group(5))
    assert (intact, corrupted, lost) == (frames, 0, 0), f"{corrupted} corrupted, {lost} lost: " + where
    s = run.find(STATS)
    assert s, "no nic stats line: " + where
    assert int(s.group(3)) == 0, "the driver dropped frames: " + where
    assert int(s.group(1)) >= frames and int(s.group(2)) >= frames, "stats undercount: " + where
    assert run.returncode == 1, f"QEMU exit status {run.returncode} (1 is ferry's success): " + where
    return run


def with_echo(tmp, wire, model, port, body):
    echo = Echo(tmp, wire, model, port)
    try:
        echo.wait_ready()
        return body(echo)
    finally:
        echo.stop()


def check_owned(run, device_id, model_name):
    """ferry's log shows the NIC taken from the guest, driven by e1000."""
    taken = run.find(r"ferry: pci (\S+) taken by ferry's e1000 driver and hidden from the guest")
    assert taken, "the NIC was not claimed:\n" + run.output[-2000:]
    probe = run.find(rf"ferry: e1000: {re.escape(taken.group(1))} 8086:{device_id} {model_name}, "
                     rf"MAC {SENDER_MAC}, link 1000 Mb/s full duplex")
    assert probe, "no e1000 probe line for the claimed function:\n" + run.output[-2000:]
    assert run.find(rf"ferry: nic: e1000, MAC {SENDER_MAC}, link up"), run.output[-2000:]


@test
def nic_e1000_frames_intact(tmp):
    """82540EM (QEMU's e1000) on the UDP wire: the smallest pump frame, odd
    sizes and the largest frame, one at a time and with small windows.
    The sending ferry must have taken the NIC away from its guest."""
    def body(echo):
        for frames, size, window in ((200, 64, 1), (1000, 65, 32), (500, 1001, 8), (2000, 1514, 32)):
            run = pump(echo, "udp", "e1000", 41100, frames, size, window)
            check_owned(run, "100e", "82540EM")
        out = echo.output()
        assert "taken by ferry's e1000 driver and hidden from the guest" in out, out[-2000:]
        assert not re.search(r"pump: echo of frame \d+ not sent", out), out[-2000:]
    with_echo(tmp, "udp", "e1000", 41100, body)


@test
def nic_e1000_rings_wrap_full(tmp):
    """A window of 256 frames against rings of 256 descriptors (255 usable):
    both rings wrap about 20 times while nearly full, and the receive ring
    runs out of free descriptors, so QEMU has to wait for RDT to move."""
    def body(echo):
        pump(echo, "stream", "e1000", 41110, 5000, 1514, 256)
        pump(echo, "stream", "e1000", 41110, 5000, 64, 256)
    with_echo(tmp, "stream", "e1000", 41110, body)


@test
def nic_e1000_82574l(tmp):
    """The same driver on the 82574L (QEMU's e1000e, the default NIC of
    q35 machines) through its legacy descriptors."""
    def body(echo):
        check_owned(pump(echo, "stream", "e1000e", 41120, 5000, 1514, 256), "10d3", "82574L")
        pump(echo, "stream", "e1000e", 41120, 2000, 65, 200)
        pump(echo, "stream", "e1000e", 41120, 300, 1514, 1)
        assert "8086:10d3 82574L" in echo.output(), echo.output()[-2000:]
    with_echo(tmp, "stream", "e1000e", 41120, body)
