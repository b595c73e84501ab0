"""Attacks from inside the guest (docs/threat-model.md): ferry's own guest
tries each on purpose and the test asserts the refusal, that ferry kept
running the guest afterwards, and what a user would check."""
import os

import disks
import ferryrun
from registry import test


@test
def hostile_init_sipi_to_another_cpu_refused(tmp):
    """On a two-CPU machine the guest sends INIT and startup IPIs to the
    second CPU, aimed at code that writes a marker: the CPU must stay
    parked (it would run the guest's code outside SVM/NPT), ferry warns,
    and the guest goes on to read its disk."""
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.TXT": b"still here\n"})
    run = ferryrun.run_local(img.path, "smp-escape 1; cat /A.TXT", timeout=120, extra=["-smp", "2"])
    assert run.find(r"^smp-escape apic=1 marker=00$"), run.output[-3000:]
    assert run.find(r"^ok smp-escape 1$"), run.output[-3000:]
    assert run.find(r"ferry: warning: guest: local APIC write 4670 to register 300 refused"), run.output[-3000:]
    assert run.find(r"^ok cat /A.TXT"), run.output[-3000:]
    assert run.passed(), run.output[-3000:]
