#!/usr/bin/env python3
"""Checks that every #include points down the layer order of
docs/architecture.md, and prints one PASS or FAIL line per folder.

    tools/check_layers.py [ROOT]

A folder may include its own files and those of the folders listed for it
below, nothing else of the project.  The folders that handle guest
addresses (vm/, vdev/) also make no pointer of an integer by a cast
through uintptr_t: a guest-physical address becomes a pointer only
through gmem_ptr (vm/gmem.h, the one exception), which checks it, and a
host-physical one through phys_to_virt (platform/mem.h).  Exit status 1
on any violation."""
import os
import re
import sys

# Lowest first.  Each folder and the project folders it may include.
ALLOWED = {
    "lib": set(),                    # shared helpers and the guest ABI
    "x86": {"lib"},                  # CPU definitions, decoder
    "boot": {"lib", "x86"},          # loaders, boot information
    "platform": {"lib", "x86", "boot"},
    "vm": {"lib", "x86", "boot", "platform"},
    "svm": {"lib", "x86", "platform", "vm"},
    "vmx": {"lib", "x86", "platform", "vm"},
    "vdev": {"lib", "x86", "platform", "vm"},   # devices a guest sees
    "drivers": {"lib", "x86", "platform"},
    "net": {"lib", "platform"},                 # the wire protocol
    "main": {"lib", "x86", "boot", "platform", "vm", "svm", "vmx", "vdev", "drivers", "net"},
    "guest": {"lib", "x86"},         # ferry's test guest: the ABI, no ferry code
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Folders where an integer-to-pointer cast is refused, and the files that
# may make one.
GATED = {"vm": {"vm/gmem.h"}, "vdev": set()}
INT_TO_PTR = re.compile(r"\*\s*\)\s*\(\s*uintptr_t\s*\)")


def check(root):
    failed = 0
    for layer, allowed in ALLOWED.items():
        bad = []
        for d, _, files in os.walk(os.path.join(root, layer)):
            for f in files:
                if not f.endswith((".c", ".h", ".S")):
                    continue
                path = os.path.join(d, f)
                rel = os.path.relpath(path, root)
                with open(path) as fh:
                    text = fh.read()
                if layer in GATED and rel not in GATED[layer]:
                    for n, line in enumerate(text.split("\n"), 1):
                        if INT_TO_PTR.search(line):
                            bad.append(f"{rel}:{n} makes a pointer of an integer (use gmem_ptr or phys_to_virt)")
                for inc in INCLUDE.findall(text):
                    if inc.startswith("."):  # relative: resolve it
                        inc = os.path.relpath(os.path.normpath(os.path.join(d, inc)), root)
                    top = inc.split("/")[0] if "/" in inc else layer
                    if top != layer and top in ALLOWED and top not in allowed:
                        bad.append(f"{rel} includes {inc}")
        if bad:
            failed += 1
            print(f"FAIL layers/{layer}: " + "; ".join(bad))
        else:
            print(f"PASS layers/{layer}")
    return failed


if __name__ == "__main__":
    sys.exit(1 if check(sys.argv[1] if len(sys.argv) > 1 else
                         os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) else 0)
