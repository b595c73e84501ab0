#!/usr/bin/env python3
"""A fault-injecting wire between two emulators' UDP netdev ports.

    tools/wire.py --a LISTEN:TO --b LISTEN:TO [--loss P] [--dup P]
                  [--reorder P] [--corrupt P] [--delay MS] [--jitter MS]
                  [--reorder-delay MS] [--max-frame BYTES] [--seed N]
                  [--json FILE|-] [--duration S]

Each emulator sends its frames to the wire instead of to its peer: QEMU's
`-netdev dgram,local.port=A_PORT,remote.port=A_LISTEN` (see
tools/ferryrun.py nic_args).  A frame from side a arrives on a's LISTEN
port and leaves from b's LISTEN port to b's TO port (b's local port), and
the other way round.  Every frame is one datagram; nothing is parsed.

Per direction (a2b, b2a; `--loss-a2b 0.2` overrides `--loss` for one),
each frame in turn:
  loss      drop it (probability);
  corrupt   XOR one byte after the 14-byte Ethernet header with a random
            non-zero value (probability);
  reorder   hold it back by --reorder-delay ms (3) so later frames pass it
            (probability);
  delay     deliver it --delay ms later, plus 0..--jitter ms;
  dup       deliver a second copy right behind it (probability);
  max-frame drop it silently if it is longer than this many bytes, as a
            switch of a smaller MTU does (0, the default: any length).
The decisions come from one PRNG per direction seeded from --seed, so the
n-th frame of a direction meets the same fate in every run.  Counters per
direction: frames, lost, too_long, corrupted, reordered, duplicated, sent (datagrams
out), host_drops (datagrams the kernel dropped before the wire read them:
SO_RXQ_OVFL), send_errors.  They are printed at exit, on SIGTERM or SIGINT,
and written as JSON with --json.

As a module (tests, tools/ferryrun.py's Pair):

    w = Wire(("127.0.0.1", a_listen, a_to), ("127.0.0.1", b_listen, b_to),
             WireFaults(loss=0.1, seed=1), names=("s", "c"))
    w.start(); ...; w.counters()["s2c"]["lost"]; w.stop()

Setting w.record to a list records every datagram received, before any
fault (a capture of the UDP traffic between the emulators).

Python 3 standard library only.
"""
import argparse
import heapq
import json
import random
import select
import signal
import socket
import struct
import sys
import threading
import time

FAULTS = ("loss", "dup", "reorder", "corrupt", "delay", "jitter", "reorder_delay", "max_frame")
COUNTERS = ("frames", "lost", "too_long", "corrupted", "reordered", "duplicated", "sent", "host_drops",
            "send_errors")
ETH_HDR = 14
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
BUF_BYTES = 8 << 20
MAX_DGRAM = 65535


class Faults:
    """What one direction does to its frames: probabilities 0..1 and
    milliseconds."""

    def __init__(self, loss=0.0, dup=0.0, reorder=0.0, corrupt=0.0, delay=0.0, jitter=0.0, reorder_delay=3.0,
                 max_frame=0):
        for name, p in (("loss", loss), ("dup", dup), ("reorder", reorder), ("corrupt", corrupt)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name}={p}: a probability is from 0 to 1")
        for name, ms in (("delay", delay), ("jitter", jitter), ("reorder_delay", reorder_delay)):
            if not 0.0 <= ms <= 60000.0:
                raise ValueError(f"{name}={ms}: milliseconds from 0 to 60000")
        if max_frame and not 60 <= max_frame <= MAX_DGRAM:
            raise ValueError(f"max_frame={max_frame}: bytes from 60 to {MAX_DGRAM} (0: any length)")
        self.max_frame = int(max_frame)
        self.loss, self.dup, self.reorder, self.corrupt = loss, dup, reorder, corrupt
        self.delay, self.jitter, self.reorder_delay = delay, jitter, reorder_delay

    def as_dict(self):
        return {f: getattr(self, f) for f in FAULTS}

    def __repr__(self):
        return "Faults(" + ", ".join(f"{k}={v}" for k, v in self.as_dict().items()) + ")"


class WireFaults:
    """The faults of both directions and the seed.  The keywords of Faults
    apply to both; a2b= / b2a= (a Faults, or a dict of keywords laid over
    them) set one direction."""

    def __init__(self, seed=0, a2b=None, b2a=None, **both):
        self.seed = int(seed)
        self.dirs = {}
        for d, over in (("a2b", a2b), ("b2a", b2a)):
            if isinstance(over, Faults):
                self.dirs[d] = over
            else:
                self.dirs[d] = Faults(**{**both, **(over or {})})

    def __repr__(self):
        return f"WireFaults(seed={self.seed}, a2b={self.dirs['a2b']}, b2a={self.dirs['b2a']})"


class _Direction:
    def __init__(self, name, faults, seed, out_sock, out_addr):
        self.name, self.f = name, faults
        # One PRNG per direction: a frame's fate depends only on its index.
        self.rng = random.Random(f"{seed}/{name}")
        self.out_sock, self.out_addr = out_sock, out_addr
        self.count = dict.fromkeys(COUNTERS, 0)

    def decide(self, data, now):
        """The (due time, bytes) of the datagrams this frame becomes."""
        f, r, c = self.f, self.rng, self.count
        c["frames"] += 1
        # Draw every decision for every frame, so one fault's probability
        # does not shift the others' random stream.
        lose, corrupt, reorder, dup = (r.random() < f.loss, r.random() < f.corrupt,
                                       r.random() < f.reorder, r.random() < f.dup)
        at, xor = r.random(), r.randrange(1, 256)
        jitter = r.random() * f.jitter
        if lose:
            c["lost"] += 1
            return []
        if f.max_frame and len(data) > f.max_frame:
            c["too_long"] += 1  # as a switch with a smaller MTU: silently
            return []
        if corrupt and len(data) > ETH_HDR:
            b = bytearray(data)
            b[ETH_HDR + int(at * (len(b) - ETH_HDR))] ^= xor
            data = bytes(b)
            c["corrupted"] += 1
        due = now + (f.delay + jitter) / 1000.0
        if reorder:
            due += f.reorder_delay / 1000.0
            c["reordered"] += 1
        out = [(due, data)]
        if dup:
            c["duplicated"] += 1
            out.append((due, data))
        return out


def _udp_socket(port, host):
    """A non-blocking UDP socket on host:port with big buffers (past
    net.core.rmem_max when we may: SO_RCVBUFFORCE) that reports the
    datagrams the kernel dropped on it (SO_RXQ_OVFL)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, BUF_BYTES)
            break
        except OSError:
            continue
    for opt in (socket.SO_SNDBUF, SO_RXQ_OVFL):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, BUF_BYTES if opt == socket.SO_SNDBUF else 1)
        except OSError:
            pass
    s.bind((host, port))
    s.setblocking(False)
    return s


class Wire:
    """The relay.  a and b are (host, listen_port, to_port) of each side:
    the side sends to listen_port and receives on to_port.  names gives
    the sides' letters in the counters' keys ("a2b" by default)."""

    def __init__(self, a, b, faults=None, names=("a", "b")):
        self.faults = faults or WireFaults()
        (ha, la, ta), (hb, lb, tb) = a, b
        self.sock_a, self.sock_b = _udp_socket(la, ha), _udp_socket(lb, hb)
        x, y = names
        self.names = (f"{x}2{y}", f"{y}2{x}")
        seed = self.faults.seed
        # a's frames leave from b's socket to b, b's from a's socket to a.
        self.dirs = {self.sock_a: _Direction(self.names[0], self.faults.dirs["a2b"], seed, self.sock_b, (hb, tb)),
                     self.sock_b: _Direction(self.names[1], self.faults.dirs["b2a"], seed, self.sock_a, (ha, ta))}
        self.queue = []  # (due, seq, direction, bytes)
        self.seq = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = None
        self.started = self.ended = None
        self._ovfl = {self.sock_a: 0, self.sock_b: 0}
        self.record = None  # a list: every datagram received is appended, as it came

    # -- the loop -----------------------------------------------------------

    def _recv(self, sock):
        """Every datagram waiting on sock, decided and queued or sent."""
        d = self.dirs[sock]
        while True:
            try:
                data, anc, _, _ = sock.recvmsg(MAX_DGRAM, socket.CMSG_SPACE(4))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # an ICMP error for an earlier send: the peer is down
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(val) >= 4:
                    total = struct.unpack("I", val[:4])[0]
                    d.count["host_drops"] += (total - self._ovfl[sock]) & 0xFFFFFFFF
                    self._ovfl[sock] = total
            now = time.monotonic()
            with self.lock:
                if self.record is not None:
                    self.record.append(data)
                for due, out in d.decide(data, now):
                    if due <= now and not self.queue:
                        self._send(d, out)
                    else:
                        self.seq += 1
                        heapq.heappush(self.queue, (due, self.seq, d, out))

    def _send(self, d, data):
        try:
            d.out_sock.sendto(data, d.out_addr)
            d.count["sent"] += 1
        except OSError:
            d.count["send_errors"] += 1  # the peer is down (restarting): a lost frame

    def _flush_due(self):
        now = time.monotonic()
        with self.lock:
            while self.queue and self.queue[0][0] <= now:
                _, _, d, data = heapq.heappop(self.queue)
                self._send(d, data)
            return self.queue[0][0] - now if self.queue else None

    def _loop(self, end=None):
        socks = [self.sock_a, self.sock_b]
        while not self.stopping and (end is None or time.monotonic() < end):
            wait = self._flush_due()
            wait = 0.05 if wait is None else min(max(wait, 0.0), 0.05)
            try:
                ready, _, _ = select.select(socks, [], [], wait)
            except InterruptedError:
                continue
            for s in ready:
                self._recv(s)

    # -- control ----------------------------------------------------------

    def start(self):
        """Runs the relay in a background thread."""
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._loop, name="wire", daemon=True)
        self.thread.start()
        return self

    def run(self, duration=None):
        """Runs the relay in this thread until stop() (a signal) or duration s."""
        self.started = time.monotonic()
        self._loop(None if duration is None else self.started + duration)
        self._close()

    def stop(self):
        """Stops the relay (frames still held are dropped, not counted as
        sent) and returns the counters."""
        self.stopping = True
        if self.thread:
            self.thread.join(5)
            self._close()
        return self.counters()

    def _close(self):
        if self.ended is None:
            self.ended = time.monotonic()
            for s in (self.sock_a, self.sock_b):
                s.close()

    def counters(self):
        """{direction: {counter: n}} and "faults", "seed", "seconds"."""
        with self.lock:
            out = {d.name: dict(d.count) for d in self.dirs.values()}
            out["held"] = len(self.queue)
        out["faults"] = {d.name: d.f.as_dict() for d in self.dirs.values()}
        out["seed"] = self.faults.seed
        end = self.ended or time.monotonic()
        out["seconds"] = round(end - self.started, 3) if self.started else 0.0
        return out

    def summary(self):
        """One line per direction: "wire: a2b frames=... lost=..."."""
        c = self.counters()
        return "\n".join("wire: " + name + " " + " ".join(f"{k}={c[name][k]}" for k in COUNTERS)
                         for name in self.names)


# -- the command line -------------------------------------------------------

def _endpoint(text):
    try:
        listen, to = (int(x) for x in text.split(":"))
        if not (0 < listen < 65536 and 0 < to < 65536):
            raise ValueError
        return listen, to
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: LISTEN_PORT:TO_PORT, e.g. 40001:40000")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", type=_endpoint, required=True, metavar="LISTEN:TO",
                    help="side a sends to LISTEN and receives on TO (its own local port)")
    ap.add_argument("--b", type=_endpoint, required=True, metavar="LISTEN:TO", help="side b, the same")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--seed", type=int, default=0)
    for f in FAULTS:
        unit = ("milliseconds" if f in ("delay", "jitter", "reorder_delay") else
                "bytes: longer frames vanish (0: any)" if f == "max_frame" else "probability 0-1")
        flag = "--" + f.replace("_", "-")
        ap.add_argument(flag, type=float, default=None, help=f"{unit}, both directions")
        for d in ("a2b", "b2a"):
            ap.add_argument(f"{flag}-{d}", dest=f"{f}_{d}", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", metavar="FILE", help="write the counters as JSON at exit ('-': stdout)")
    ap.add_argument("--duration", type=float, help="stop after this many seconds")
    a = ap.parse_args(argv)

    def faults(d):
        kw = {}
        for f in FAULTS:
            v = getattr(a, f"{f}_{d}")
            v = getattr(a, f) if v is None else v
            if v is not None:
                kw[f] = v
        return Faults(**kw)

    try:
        wf = WireFaults(seed=a.seed, a2b=faults("a2b"), b2a=faults("b2a"))
        wire = Wire((a.host, *a.a), (a.host, *a.b), wf)
    except (ValueError, OSError) as e:
        sys.exit(f"wire: {e}")

    def on_signal(signum, frame):
        wire.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"wire: a {a.host}:{a.a[0]}->{a.a[1]}, b {a.host}:{a.b[0]}->{a.b[1]}, {wf}", file=sys.stderr, flush=True)
    wire.run(a.duration)
    print(wire.summary(), file=sys.stderr, flush=True)
    if a.json:
        text = json.dumps(wire.counters(), indent=1, sort_keys=True)
        if a.json == "-":
            print(text, flush=True)
        else:
            with open(a.json, "w") as f:
                f.write(text + "\n")


if __name__ == "__main__":
    main()
