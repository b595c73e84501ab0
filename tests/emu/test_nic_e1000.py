"""ferry's e1000 driver under the frame pump (tests/emu/pump_harness.py):
small windows on the UDP wire, full rings on the lossless stream wire."""
import re

from pump_harness import SENDER_MAC, pump, with_echo
from registry import test


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
            run = pump(echo, frames, size, window)
            check_owned(run, "100e", "82540EM")
        out = echo.output()
        assert "taken by ferry's e1000 driver and hidden from the guest" in out, out[-2000:]
        assert not re.search(r"pump: echo of frame \d+ not sent", out), out[-2000:]
    with_echo(tmp, "udp", "e1000", body)


@test
def nic_e1000_rings_wrap_full(tmp):
    """A window of 480 frames against a receive ring of 512 descriptors
    (511 usable, up to 15 held back for refilling) and a transmit ring of
    256: both rings wrap about ten times while nearly full, the transmit
    ring refuses frames until the device catches up, and the receive ring
    runs out of free descriptors, so QEMU has to wait for RDT to move.
    (A window beyond the receive ring loses frames: QEMU's e1000 drops
    what it held back and finds no descriptor for when RDT moves.)"""
    def body(echo):
        pump(echo, 5000, 1514, 480)
        pump(echo, 5000, 64, 480)
    with_echo(tmp, "stream", "e1000", body)


@test
def nic_e1000_82574l(tmp):
    """The same driver on the 82574L (QEMU's e1000e, the default NIC of
    q35 machines) through its legacy descriptors."""
    def body(echo):
        check_owned(pump(echo, 5000, 1514, 256), "10d3", "82574L")
        pump(echo, 2000, 65, 200)
        pump(echo, 300, 1514, 1)
        assert "8086:10d3 82574L" in echo.output(), echo.output()[-2000:]
    with_echo(tmp, "stream", "e1000e", body)


@test
def nic_e1000_jumbo(tmp):
    """Jumbo frames (RCTL.LPE, mtu = 9000): frames of 9014 bytes and sizes
    around the 2 KiB buffer boundaries cross five, two and three
    descriptors each way and come back intact, on the UDP wire and with
    nearly full rings on the stream wire, so multi-descriptor frames also
    wrap the rings.  The stream window, 90 frames of 5 descriptors, leaves
    the receive ring (511 usable, up to 15 held back for refilling) room
    for a few late echoes of the sender's handshake: a frame that finds
    fewer free descriptors than it needs is dropped by QEMU's e1000.
    (The UDP wire keeps windows small: the host drops bursts over its
    socket buffer.)"""
    def udp(echo):
        for frames, size, window in ((300, 9014, 1), (500, 2048, 8), (500, 2049, 8), (500, 4097, 8),
                                     (1000, 9014, 6)):
            pump(echo, frames, size, window)
    with_echo(tmp, "udp", "e1000", udp, mtu=9000)
    with_echo(tmp, "stream", "e1000", lambda echo: pump(echo, 3000, 9014, 90), mtu=9000)
