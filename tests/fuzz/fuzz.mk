# Fuzz harnesses (docs/testing.md, "Fuzzing"): each entry names a harness
# (tests/fuzz/fuzz_NAME.c) and the sources it links.  The root Makefile
# builds each twice: build/unit/fuzz_NAME (tests/fuzz/replay.c's main,
# ASan + UBSan with HOSTCC; tests/run.py --unit replays the seeds, corpus
# and regressions) and build/fuzz/NAME (clang -fsanitize=fuzzer, make fuzz).

FUZZERS += decode
decode_FUZZ_SRCS = x86/x86_decode.c

FUZZERS += config
config_FUZZ_SRCS = platform/config.c platform/config_export.c tests/unit/fake_hv.c lib/string.c lib/fmt.c lib/err.c

FUZZ_NET_SRCS = net/proto.c net/devinfo.c net/keys.c lib/hkdf.c lib/sha256.c lib/fmt.c lib/string.c lib/err.c \
	$(wildcard lib/chacha20.c lib/poly1305.c lib/aead.c)

FUZZERS += proto
proto_FUZZ_SRCS = $(FUZZ_NET_SRCS)

FUZZERS += net
net_FUZZ_SRCS = net/client.c net/client_req.c net/client_xfer.c net/server.c net/server_bufs.c net/server_disk.c net/disk_rw.c net/server_bind.c net/exports.c platform/console.c $(FUZZ_NET_SRCS)

FUZZERS += gmem
gmem_FUZZ_SRCS = vm/gmem.c

FUZZERS += lbd
lbd_FUZZ_SRCS = vdev/lbd_cmd.c vdev/blk_req.c vm/gmem.c tests/unit/fake_hv.c lib/string.c lib/err.c

FUZZERS += virtq
virtq_FUZZ_SRCS = vdev/virtq.c vm/gmem.c tests/unit/fake_disk.c

FUZZERS += image
image_FUZZ_SRCS = vm/linux_boot.c vm/gmem.c boot/efi/image.c tests/unit/fake_hv.c lib/string.c lib/err.c

FUZZERS += fat
fat_FUZZ_SRCS = $(wildcard guest/fat_*.c) guest/part.c guest/alloc.c lib/string.c

FUZZERS += mb2
mb2_FUZZ_SRCS = boot/multiboot.c boot/efi/mb2.c lib/string.c

FUZZERS += aoe
aoe_FUZZ_SRCS = net/aoe.c net/aoe_target.c net/aoe_client.c net/disk_rw.c tests/unit/fake_disk.c tests/unit/fake_hv.c vm/gmem.c \
	lib/fmt.c lib/string.c

FUZZERS += vdev
vdev_FUZZ_SRCS = vdev/virtio_blk.c vdev/virtio_blk_req.c vdev/virtq.c vdev/vpci.c vdev/msix.c vdev/blk_req.c \
	vm/pcicfg.c vm/guest_io.c vm/mmio.c vm/guest_mem.c vm/gmem.c vm/vm.c x86/x86_decode.c platform/pci.c \
	tests/unit/fake_bus.c tests/unit/fake_arch.c tests/unit/fake_hv.c lib/string.c lib/err.c
