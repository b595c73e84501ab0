# Host unit tests: each entry names a test binary and the sources it links.
# Built with ASan + UBSan and -DFERRY_HOST_TEST by the root Makefile
# ("make unit"); run by tests/run.py.  Add a block per test binary.

UNIT_TESTS += test_lib
test_lib_SRCS = tests/unit/test_lib.c lib/fmt.c lib/string.c lib/err.c

UNIT_TESTS += test_decode
test_decode_SRCS = tests/unit/test_decode.c x86/x86_decode.c

UNIT_TESTS += test_gmem
test_gmem_SRCS = tests/unit/test_gmem.c vm/gmem.c

UNIT_TESTS += test_nested
test_nested_SRCS = tests/unit/test_nested.c vm/nested.c svm/svm_npt.c vmx/vmx_ept.c tests/unit/fake_hv.c

UNIT_TESTS += test_lbd
test_lbd_SRCS = tests/unit/test_lbd.c vdev/lbd_cmd.c vdev/blk_req.c vm/gmem.c tests/unit/fake_hv.c lib/string.c lib/err.c

UNIT_TESTS += test_blk_req
test_blk_req_SRCS = tests/unit/test_blk_req.c vdev/blk_req.c vm/gmem.c tests/unit/fake_disk.c

UNIT_TESTS += test_virtq
test_virtq_SRCS = tests/unit/test_virtq.c vdev/virtq.c vm/gmem.c tests/unit/fake_disk.c

UNIT_TESTS += test_msix
test_msix_SRCS = tests/unit/test_msix.c vdev/msix.c

UNIT_TESTS += test_sha256
test_sha256_SRCS = tests/unit/test_sha256.c lib/sha256.c

UNIT_TESTS += test_hkdf
test_hkdf_SRCS = tests/unit/test_hkdf.c lib/hkdf.c lib/sha256.c

UNIT_TESTS += test_alloc
test_alloc_SRCS = tests/unit/test_alloc.c guest/alloc.c

UNIT_TESTS += test_part
test_part_SRCS = tests/unit/test_part.c guest/part.c guest/alloc.c

UNIT_TESTS += test_fat
test_fat_SRCS = tests/unit/test_fat.c $(wildcard guest/fat_*.c) guest/part.c guest/alloc.c lib/string.c

UNIT_TESTS += test_shell
test_shell_SRCS = tests/unit/test_shell.c guest/shell.c guest/shell_cmds.c $(wildcard guest/fat_*.c) guest/part.c guest/alloc.c \
	lib/sha256.c lib/string.c lib/fmt.c lib/err.c

UNIT_TESTS += test_proto
test_proto_SRCS = tests/unit/test_proto.c net/proto.c net/devinfo.c net/keys.c lib/aead.c lib/chacha20.c lib/poly1305.c lib/hkdf.c lib/sha256.c lib/fmt.c lib/string.c lib/err.c

UNIT_TESTS += test_aoe
test_aoe_SRCS = tests/unit/test_aoe.c net/aoe.c lib/string.c

UNIT_TESTS += test_aoe_target
test_aoe_target_SRCS = tests/unit/test_aoe_target.c net/aoe_target.c net/aoe.c net/disk_rw.c tests/unit/fake_disk.c vm/gmem.c lib/string.c

UNIT_TESTS += test_aoe_client
test_aoe_client_SRCS = tests/unit/test_aoe_client.c net/aoe_client.c net/aoe_target.c net/aoe.c net/disk_rw.c tests/unit/fake_disk.c \
	vm/gmem.c tests/unit/fake_hv.c lib/fmt.c lib/string.c

UNIT_TESTS += test_net
test_net_SRCS = tests/unit/test_net.c net/client.c net/client_req.c net/client_xfer.c net/server.c net/server_bufs.c net/server_disk.c net/disk_rw.c net/server_bind.c net/exports.c net/proto.c net/devinfo.c \
	net/keys.c platform/console.c lib/aead.c lib/chacha20.c lib/poly1305.c lib/hkdf.c lib/sha256.c lib/fmt.c lib/string.c lib/err.c

UNIT_TESTS += test_exports
test_exports_SRCS = tests/unit/test_exports.c net/exports.c lib/string.c

UNIT_TESTS += test_config
test_config_SRCS = tests/unit/test_config.c platform/config.c platform/config_export.c tests/unit/fake_hv.c lib/string.c lib/fmt.c lib/err.c

UNIT_TESTS += test_efi_boot
test_efi_boot_SRCS = tests/unit/test_efi_boot.c boot/efi/mb2.c boot/efi/image.c boot/multiboot.c lib/string.c

UNIT_TESTS += test_screen
test_screen_SRCS = tests/unit/test_screen.c platform/screen.c platform/fbcon.c $(O)/font.c tests/unit/fake_hv.c \
	lib/string.c

UNIT_TESTS += test_linux_boot
test_linux_boot_SRCS = tests/unit/test_linux_boot.c vm/linux_boot.c vm/gmem.c tests/unit/fake_hv.c lib/string.c lib/err.c

UNIT_TESTS += test_console
test_console_SRCS = tests/unit/test_console.c platform/console.c lib/fmt.c lib/string.c

UNIT_TESTS += test_mmio
test_mmio_SRCS = tests/unit/test_mmio.c vm/mmio.c vm/guest_mem.c vm/gmem.c vm/vm.c x86/x86_decode.c \
	tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c

UNIT_TESTS += test_guest_io
test_guest_io_SRCS = tests/unit/test_guest_io.c vm/guest_io.c vm/pcicfg.c vm/mmio.c vm/guest_mem.c vm/gmem.c x86/x86_decode.c vm/vm.c platform/pci.c lib/err.c \
	tests/unit/fake_bus.c tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c

UNIT_TESTS += test_exit
test_exit_SRCS = tests/unit/test_exit.c vm/exit.c vm/msr.c vm/vm.c vm/mmio.c vm/guest_mem.c vm/gmem.c vm/guest_io.c vm/pcicfg.c \
	platform/pci.c x86/x86_decode.c tests/unit/fake_bus.c tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c lib/err.c

UNIT_TESTS += test_pcicfg
test_pcicfg_SRCS = tests/unit/test_pcicfg.c vm/pcicfg.c vm/guest_io.c vm/mmio.c vm/guest_mem.c vm/gmem.c vm/vm.c \
	x86/x86_decode.c platform/pci.c tests/unit/fake_bus.c tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c \
	lib/err.c

UNIT_TESTS += test_vpci
test_vpci_SRCS = tests/unit/test_vpci.c vdev/vpci.c vdev/msix.c vm/pcicfg.c vm/mmio.c vm/guest_mem.c vm/gmem.c vm/vm.c \
	x86/x86_decode.c platform/pci.c tests/unit/fake_bus.c tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c \
	lib/err.c

VBLK_TEST_SRCS = tests/unit/vblk_driver.c vdev/virtio_blk.c vdev/virtio_blk_req.c vdev/virtq.c vdev/vpci.c \
	vdev/msix.c vdev/blk_req.c vm/pcicfg.c vm/mmio.c vm/guest_mem.c vm/gmem.c vm/vm.c x86/x86_decode.c platform/pci.c \
	tests/unit/fake_disk.c tests/unit/fake_bus.c tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c lib/err.c

UNIT_TESTS += test_virtio_blk
test_virtio_blk_SRCS = tests/unit/test_virtio_blk.c $(VBLK_TEST_SRCS)

UNIT_TESTS += test_virtio_blk_async
test_virtio_blk_async_SRCS = tests/unit/test_virtio_blk_async.c $(VBLK_TEST_SRCS)

UNIT_TESTS += test_virtio_blk_hostile
test_virtio_blk_hostile_SRCS = tests/unit/test_virtio_blk_hostile.c $(VBLK_TEST_SRCS)

UNIT_TESTS += test_msr
test_msr_SRCS = tests/unit/test_msr.c vm/msr.c tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c

UNIT_TESTS += test_uart
test_uart_SRCS = tests/unit/test_uart.c vdev/uart16550.c vm/guest_io.c vm/pcicfg.c vm/mmio.c vm/guest_mem.c vm/gmem.c vm/vm.c \
	x86/x86_decode.c platform/pci.c tests/unit/fake_bus.c tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c lib/err.c

UNIT_TESTS += test_apic_guard
test_apic_guard_SRCS = tests/unit/test_apic_guard.c vm/apic_guard.c vm/ioapic_guard.c vm/hpet_guard.c tests/unit/fake_hv.c \
	lib/string.c

UNIT_TESTS += test_guest_mods
test_guest_mods_SRCS = tests/unit/test_guest_mods.c vm/guest_mods.c platform/config.c platform/config_export.c tests/unit/fake_hv.c \
	lib/string.c lib/fmt.c lib/err.c

UNIT_TESTS += test_x86
test_x86_SRCS = tests/unit/test_x86.c

UNIT_TESTS += test_guest_power
test_guest_power_SRCS = tests/unit/test_guest_power.c vm/guest_power.c vm/guest_io.c vm/pcicfg.c vm/mmio.c \
	vm/guest_mem.c vm/gmem.c vm/vm.c x86/x86_decode.c platform/pci.c tests/unit/fake_bus.c tests/unit/fake_arch.c \
	tests/unit/fake_hv.c lib/string.c lib/err.c

UNIT_TESTS += test_aead
test_aead_SRCS = tests/unit/test_aead.c lib/chacha20.c lib/poly1305.c lib/aead.c lib/err.c

# Not a test binary: the front end tests/unit/aead_cross.py drives to check
# lib/'s AEAD against Debian's python3-cryptography (tests/run.py runs it).
UNIT_HELPERS += aead_cli
aead_cli_SRCS = tests/unit/aead_cli.c lib/chacha20.c lib/poly1305.c lib/aead.c

UNIT_TESTS += test_blk_hold
test_blk_hold_SRCS = tests/unit/test_blk_hold.c drivers/blk_hold.c

UNIT_TESTS += test_nvme_prp
test_nvme_prp_SRCS = tests/unit/test_nvme_prp.c drivers/nvme_prp.c drivers/blk_segs.c lib/string.c

UNIT_TESTS += test_nvme
test_nvme_SRCS = tests/unit/test_nvme.c tests/unit/fake_nvme.c tests/unit/fake_dev.c drivers/nvme.c drivers/nvme_queue.c \
	drivers/nvme_prp.c drivers/blk_segs.c drivers/blk_hold.c \
	platform/pci.c tests/unit/fake_bus.c tests/unit/fake_hv.c lib/fmt.c lib/string.c lib/err.c

UNIT_TESTS += test_pci_msi
test_pci_msi_SRCS = tests/unit/test_pci_msi.c platform/pci_msi.c platform/pci.c tests/unit/fake_bus.c tests/unit/fake_hv.c \
	lib/fmt.c lib/string.c lib/err.c

UNIT_TESTS += test_vioblk
test_vioblk_SRCS = tests/unit/test_vioblk.c tests/unit/fake_vioblk.c tests/unit/fake_dev.c drivers/vioblk.c drivers/vioblk_queue.c \
	drivers/blk_hold.c \
	drivers/virtio_pci.c platform/pci_msi.c drivers/blk_segs.c platform/pci.c tests/unit/fake_bus.c tests/unit/fake_hv.c lib/fmt.c \
	lib/string.c lib/err.c

UNIT_TESTS += test_vioblk_queue
test_vioblk_queue_SRCS = tests/unit/test_vioblk_queue.c tests/unit/fake_vioblk.c tests/unit/fake_dev.c drivers/vioblk.c drivers/vioblk_queue.c \
	drivers/blk_hold.c \
	drivers/virtio_pci.c platform/pci_msi.c drivers/blk_segs.c platform/pci.c tests/unit/fake_bus.c tests/unit/fake_hv.c lib/fmt.c \
	lib/string.c lib/err.c

UNIT_TESTS += test_netrole_log
test_netrole_log_SRCS = tests/unit/test_netrole_log.c net/client.c net/client_req.c net/client_xfer.c net/server.c net/server_bufs.c net/server_disk.c net/disk_rw.c net/server_bind.c net/exports.c net/proto.c net/devinfo.c \
	net/keys.c platform/console.c platform/config.c platform/config_export.c lib/aead.c lib/chacha20.c lib/poly1305.c lib/hkdf.c lib/sha256.c lib/fmt.c lib/string.c lib/err.c
