"""ferry's configuration file (ferry.cfg, a boot module): settings taken,
the command line overriding it, and a bad line named with its number and
key before ferry halts."""
import os

import disks
import ferryrun
from registry import test


def boot_with(tmp, text, ferry_args="loglevel=info", guest_cmds="lbd-info", disk=None):
    cfg = os.path.join(tmp, "ferry.cfg")
    with open(cfg, "w") as f:
        f.write(text)
    return ferryrun.run(ferryrun.qemu_cmd(disk=disk, guest_cmds=guest_cmds, ferry_args=ferry_args,
                                          config_file=cfg), timeout=60)


@test
def config_file_sets_guest_cmds(tmp):
    data = disks.random_bytes(3000, 11)
    img = disks.make_fat(os.path.join(tmp, "disk.img"), 32, 40, {"/A.BIN": data})
    run = boot_with(tmp, "# a comment\n\nloglevel = warn\nguest_cmds = sha256 /A.BIN; lbd-info\n",
                    ferry_args="loglevel=info", guest_cmds="ls /", disk=img.path)
    assert run.passed(), run.output[-2000:]
    assert run.find(r"^ok sha256 /A.BIN " + disks.sha256(data)), run.output[-2000:]
    assert not run.find(r"^ok ls /"), "the module's own script ran instead of guest_cmds"
    # loglevel=info on the command line overrode the file's warn.
    assert run.find(r"ferry: guest: kernel entry"), run.output[-2000:]


@test
def config_file_bad_line_named(tmp):
    run = boot_with(tmp, "role = local\n# fine\nnic = e1000\nrolex = server\n")
    assert not run.timed_out, "ferry did not stop"
    assert run.find(r"ferry: error: config: ferry.cfg line 4: unknown key rolex"), run.output[-2000:]
    assert not run.find(r"guest: kernel entry"), "ferry went on with a bad configuration"
    run = boot_with(tmp, "role = client\npoll_hz = fast\n")
    assert run.find(r"ferry: error: config: ferry.cfg line 2: poll_hz=fast must be a number"), run.output[-2000:]


@test
def config_role_without_key_refused(tmp):
    run = boot_with(tmp, "role = server\n")
    assert run.find(r"ferry: error: config: key is required for role=server"), run.output[-2000:]
    assert not run.find(r"guest: kernel entry")
