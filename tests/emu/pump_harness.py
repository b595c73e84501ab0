"""The frame pump between two ferries, for the NIC driver tests: one ferry
echoes every frame, the other sends and checks each echo byte for byte
(main/pump.c).

Two wires (ferryrun.nic_args): the UDP wire drops frames by itself when a
burst overflows the host's UDP receive buffer (about 90 full frames), so
windows on it stay small; QEMU's TCP "stream" wire never drops, so the
tests that fill the rings use it (its echo side listens, and starts
first)."""
import os
import re
import socket
import subprocess
import time

import ferryrun

PUMP = re.compile(r"ferry: pump: (\d+) frames of (\d+) bytes: (\d+) echoed intact, (\d+) corrupted, (\d+) lost")
STATS = re.compile(r"ferry: nic stats: tx (\d+) frames, rx (\d+) frames, rx dropped (\d+)")
# QEMU model -> ferry's nic= value and the driver name ferry logs.
CONFIG_NIC = {"e1000": "e1000", "e1000e": "e1000", "virtio": "virtio", "virtio-jumbo": "virtio"}
DRIVER = {"e1000": "e1000", "e1000e": "e1000", "virtio": "virtio-net", "virtio-jumbo": "virtio-net"}
SENDER_MAC = "52:54:00:e1:00:01"
ECHO_MAC = "52:54:00:e1:00:02"


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Echo:
    """The echoing ferry, in the background, its output in a file."""

    def __init__(self, tmp, wire, model, mac=ECHO_MAC, mtu=None):
        self.wire, self.model = wire, model
        # Both ferries take the same mtu (jumbo frames need it on each end).
        self.mtu_arg = f" mtu={mtu}" if mtu else ""
        if wire == "udp":
            self.ports = ferryrun.free_udp_ports(2)
            extra = ferryrun.nic_args(model, self.ports[0], self.ports[1], mac=mac)
        else:
            self.ports = [free_tcp_port()]
            extra = ferryrun.nic_args(model, self.ports[0], mac=mac, wire="stream", listen=True)
        self.log = os.path.join(tmp, "echo.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                ferryrun.qemu_cmd(ferry_args=f"role=pump-echo nic={CONFIG_NIC[model]}{self.mtu_arg}", extra=extra),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def sender_args(self, mac):
        if self.wire == "udp":
            return ferryrun.nic_args(self.model, self.ports[1], self.ports[0], mac=mac)
        return ferryrun.nic_args(self.model, self.ports[0], mac=mac, wire="stream", listen=False)

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r", "")

    def wait_ready(self, timeout=20):
        """Until the echo loop runs (its NIC, and a stream listener, are up)."""
        deadline = time.monotonic() + timeout
        while f"pump: echoing frames on {DRIVER[self.model]}" not in self.output():
            assert self.proc.poll() is None, "the echoing ferry stopped:\n" + self.output()[-2000:]
            assert time.monotonic() < deadline, "the echoing ferry did not start:\n" + self.output()[-2000:]
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def pump(echo, frames, size, window, mac=SENDER_MAC, timeout=60):
    """One sending ferry against the echo; returns its Run after checking
    that every frame came back intact and the driver dropped none."""
    args = f"role=pump-send nic={CONFIG_NIC[echo.model]} pump_frames={frames} pump_size={size} pump_window={window}"
    args += echo.mtu_arg
    run = ferryrun.run(ferryrun.qemu_cmd(ferry_args=args, extra=echo.sender_args(mac)), timeout=timeout)
    where = (f"{echo.model} on {echo.wire}, {frames} frames of {size} bytes, window {window}:\n"
             f"{run.output[-2500:]}\n-- the echoing side:\n{echo.output()[-1500:]}")
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


def with_echo(tmp, wire, model, body, mac=ECHO_MAC, mtu=None):
    echo = Echo(tmp, wire, model, mac=mac, mtu=mtu)
    try:
        echo.wait_ready()
        return body(echo)
    finally:
        echo.stop()
