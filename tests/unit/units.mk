# Host unit tests: each entry names a test binary and the sources it links.
# Built with ASan + UBSan and -DFERRY_HOST_TEST by the root Makefile
# ("make unit"); run by tests/run.py.  Add a block per test binary.

UNIT_TESTS += test_lib
test_lib_SRCS = tests/unit/test_lib.c hv/lib/fmt.c hv/lib/string.c hv/lib/err.c

UNIT_TESTS += test_decode
test_decode_SRCS = tests/unit/test_decode.c hv/decode/x86_decode.c

UNIT_TESTS += test_gmem
test_gmem_SRCS = tests/unit/test_gmem.c hv/core/gmem.c

UNIT_TESTS += test_lbd
test_lbd_SRCS = tests/unit/test_lbd.c hv/core/lbd_cmd.c hv/core/gmem.c tests/unit/fake_hv.c hv/lib/string.c hv/lib/err.c

UNIT_TESTS += test_sha256
test_sha256_SRCS = tests/unit/test_sha256.c hv/lib/sha256.c

UNIT_TESTS += test_alloc
test_alloc_SRCS = tests/unit/test_alloc.c guest/alloc.c

UNIT_TESTS += test_part
test_part_SRCS = tests/unit/test_part.c guest/part.c guest/alloc.c

UNIT_TESTS += test_fat
test_fat_SRCS = tests/unit/test_fat.c $(wildcard guest/fat_*.c) guest/part.c guest/alloc.c hv/lib/string.c

UNIT_TESTS += test_shell
test_shell_SRCS = tests/unit/test_shell.c guest/shell.c $(wildcard guest/fat_*.c) guest/part.c guest/alloc.c \
	hv/lib/sha256.c hv/lib/string.c hv/lib/fmt.c hv/lib/err.c

UNIT_TESTS += test_proto
test_proto_SRCS = tests/unit/test_proto.c net/proto.c hv/lib/sha256.c hv/lib/fmt.c hv/lib/string.c hv/lib/err.c

UNIT_TESTS += test_net
test_net_SRCS = tests/unit/test_net.c net/client.c net/server.c net/proto.c \
	hv/lib/sha256.c hv/lib/fmt.c hv/lib/string.c hv/lib/err.c

UNIT_TESTS += test_config
test_config_SRCS = tests/unit/test_config.c hv/core/config.c tests/unit/fake_hv.c hv/lib/string.c hv/lib/fmt.c hv/lib/err.c

UNIT_TESTS += test_efi_boot
test_efi_boot_SRCS = tests/unit/test_efi_boot.c boot/efi/mb2.c boot/efi/image.c boot/multiboot.c hv/lib/string.c

UNIT_TESTS += test_screen
test_screen_SRCS = tests/unit/test_screen.c hv/core/screen.c hv/core/fbcon.c $(O)/font.c tests/unit/fake_hv.c \
	hv/lib/string.c
