"""ferry's virtio-net driver on a modern-only virtio-net-pci (1af4:1041)
under the frame pump (tests/emu/pump_harness.py)."""
import re

import ferryrun
from pump_harness import pump, with_echo
from registry import test


@test
def nic_virtio_frames_intact(tmp):
    """The smallest pump frame, odd sizes and the largest frame, one at a
    time and with a window, against one echoing ferry."""
    def body(echo):
        for size, frames, window in ((64, 500, 1), (65, 2000, 32), (1001, 2000, 16), (1513, 1000, 8),
                                     (1514, 2000, 64)):
            pump(echo, frames, size, window)
    with_echo(tmp, "udp", "virtio", body)


@test
def nic_virtio_ring_wrap(tmp):
    """70000 frames: the 256-entry rings wrap 270 times and the 16-bit
    ring indexes wrap past 65535, with 200 frames in flight (on the
    lossless stream wire: the UDP wire alone may drop such bursts)."""
    with_echo(tmp, "stream", "virtio", lambda echo: pump(echo, 70000, 64, 200, timeout=90))


@test
def nic_virtio_taken_by_ferry(tmp):
    """ferry claims the function for its virtio-net driver, hides it and
    its BARs from the guest, and reads the MAC and link state from the
    device configuration."""
    echo_mac, send_mac = "52:54:00:fe:00:01", "52:54:00:fe:00:02"

    def body(echo):
        run = pump(echo, 300, 1514, 4, mac=send_mac)
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
    with_echo(tmp, "udp", "virtio", body, mac=echo_mac)


@test
def nic_virtio_jumbo(tmp):
    """With the device's MTU at 9000 (host_mtu) and mergeable receive
    buffers, 9014-byte frames span five 2 KiB buffers each way (header
    included) and come back intact, also at sizes around the buffer
    boundaries and with the rings wrapping on the stream wire."""
    def udp(echo):
        run = pump(echo, 300, 9014, 1)
        assert re.search(r"virtio-net: .* frames up to 9014 bytes", run.output), run.output[-2000:]
        for frames, size, window in ((500, 2036, 8), (500, 2037, 8), (500, 4085, 8), (1000, 9014, 6)):
            pump(echo, frames, size, window)
    with_echo(tmp, "udp", "virtio-jumbo", udp, mtu=9000)
    with_echo(tmp, "stream", "virtio-jumbo", lambda echo: pump(echo, 3000, 9014, 48), mtu=9000)


@test
def nic_virtio_no_mtu_stays_standard(tmp):
    """A virtio-net device that reports no MTU carries 1514-byte frames
    only: mtu = 9000 falls back to 1500 with a log line, and a 9014-byte
    pump is refused with an error that names the limit, not sent and lost."""
    def body(echo):
        args = "role=pump-send nic=virtio pump_frames=10 pump_size=9014 pump_window=1 mtu=9000"
        run = ferryrun.run(ferryrun.qemu_cmd(ferry_args=args, extra=echo.sender_args("52:54:00:e1:00:01")),
                           timeout=60)
        assert "pump: 9014-byte frames asked for; virtio-net carries 22 to 1514 bytes" in run.output, \
            run.output[-2000:]
        assert re.search(r"virtio-net: .* frames up to 1514 bytes", run.output), run.output[-2000:]
        assert "nic: mtu 9000 asked for; virtio-net carries an MTU of 1500 at most here; using 1500" in run.output, \
            run.output[-2000:]
    with_echo(tmp, "udp", "virtio", body)
