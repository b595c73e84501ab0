#!/usr/bin/env python3
"""ferry's test runner: host unit tests, then emulator tests.

    tests/run.py [--unit] [--emu] [-k SUBSTRING] [-j JOBS]

Unit test binaries (built by `make unit-build`) print PASS/FAIL lines; each
emulator test is a function in tests/emu/test_*.py decorated with @test.
Emulator tests run in parallel (QEMU's TCG uses one core each).  The run
ends with "N passed, M failed" and exits non-zero on any failure.
"""
import argparse
import concurrent.futures
import glob
import importlib
import os
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "emu"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import registry  # noqa: E402
import ferryrun  # noqa: E402
import check_layers  # noqa: E402
import check_size  # noqa: E402


def run_aead_cross():
    """lib/'s ChaCha20-Poly1305 against Debian's python3-cryptography on
    random inputs (tests/unit/aead_cross.py), with Debian's interpreter,
    the one that package is installed for."""
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    cli = os.path.join(ferryrun.BUILD, "unit", "aead_cli")
    r = subprocess.run([python, os.path.join(ROOT, "tests", "unit", "aead_cross.py"), cli],
                       capture_output=True, text=True, timeout=300)
    passed = sum(1 for l in r.stdout.splitlines() if l.startswith("PASS "))
    failed = 0
    for line in r.stdout.splitlines():
        if line.startswith("FAIL "):
            failed += 1
            print(line)
    if r.returncode != 0 and not failed:
        failed = 1
        print(f"FAIL unit/aead_cross: exited {r.returncode}\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    elif not failed:
        print("ok   unit/aead_cross")
    return passed, failed


def run_unit(pattern):
    passed = failed = 0
    if not pattern or pattern in "layers":
        # The include graph points down the layers (tools/check_layers.py).
        bad = check_layers.check(ROOT)
        passed, failed = len(check_layers.ALLOWED) - bad, bad
    if not pattern or pattern in "size":
        # No source file over 600 lines, no function over 80 (tools/check_size.py).
        bad = check_size.check(ROOT)
        passed, failed = passed + check_size.RULES - bad, failed + bad
    if not pattern or pattern in "aead_cross":
        p, f = run_aead_cross()
        passed, failed = passed + p, failed + f
    # test_*: the unit tests; fuzz_*: the fuzz harnesses replaying their
    # seeds, corpus and regression inputs (tests/fuzz/, docs/testing.md).
    env = dict(os.environ, FERRY_ROOT=ROOT)
    binaries = sorted(glob.glob(os.path.join(ferryrun.BUILD, "unit", "test_*")))
    binaries += sorted(glob.glob(os.path.join(ferryrun.BUILD, "unit", "fuzz_*")))
    # Every binary the Makefile names must be there: a test that failed to
    # build must not pass by its absence.
    listed = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "unit-list"],
                            capture_output=True, text=True).stdout.split()
    for name in listed:
        if (not pattern or pattern in name) and not os.path.exists(os.path.join(ferryrun.BUILD, "unit", name)):
            failed += 1
            print(f"FAIL unit/{name}: not built (make unit-build)")
    for binary in binaries:
        name = os.path.basename(binary)
        if pattern and pattern not in name:
            continue
        r = subprocess.run([binary], capture_output=True, text=True, timeout=300, env=env)
        for line in r.stdout.splitlines():
            if line.startswith("PASS "):
                passed += 1
            elif line.startswith("FAIL "):
                failed += 1
                print(f"FAIL unit/{name}/{line[5:]}")
        if r.returncode != 0:
            print(r.stdout[-4000:])
            print(r.stderr[-4000:])
            if "FAIL " not in r.stdout:
                failed += 1
                print(f"FAIL unit/{name}: exited {r.returncode}")
        else:
            print(f"ok   unit/{name}")
    return passed, failed


def run_emu(pattern, jobs):
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "emu", "test_*.py"))):
        importlib.import_module(os.path.basename(path)[:-3])
    tests = [t for t in registry.TESTS if not pattern or pattern in t.__name__]
    passed = failed = 0
    start = time.monotonic()

    def one(t):
        with tempfile.TemporaryDirectory(prefix=f"ferry-{t.__name__}-") as tmp:
            t0 = time.monotonic()
            try:
                t(tmp)
                return t.__name__, None, time.monotonic() - t0
            except Exception as e:  # a failed assertion or a broken run
                detail = "".join(traceback.format_exception_only(type(e), e)).strip()
                if not isinstance(e, AssertionError):
                    detail += "\n" + traceback.format_exc()
                return t.__name__, detail, time.monotonic() - t0

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for name, err, secs in ex.map(one, tests):
            if err is None:
                passed += 1
                print(f"PASS emu/{name} ({secs:.1f} s)", flush=True)
            else:
                failed += 1
                print(f"FAIL emu/{name} ({secs:.1f} s): {err}", flush=True)
    print(f"emulator tests took {time.monotonic() - start:.0f} s")
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unit", action="store_true", help="only host unit tests")
    ap.add_argument("--emu", action="store_true", help="only emulator tests")
    ap.add_argument("-k", default="", help="run tests whose name contains this")
    ap.add_argument("-j", type=int, default=max(2, os.cpu_count() or 2))
    a = ap.parse_args()
    p = f = 0
    if not a.emu:
        up, uf = run_unit(a.k)
        p, f = p + up, f + uf
    if not a.unit:
        ep, ef = run_emu(a.k, a.j)
        p, f = p + ep, f + ef
    print(f"{p} passed, {f} failed")
    sys.exit(1 if f else 0)


if __name__ == "__main__":
    main()
