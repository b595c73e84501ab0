# ferry — top-level build.  "make help" lists the targets.
.DEFAULT_GOAL := all
O := build
# The Python runners and tests find the build directory here (O=elsewhere).
export FERRY_BUILD := $(abspath $(O))
SHELL := /bin/bash
# V=1 shows the commands.
Q := $(if $(V),,@)

CC := gcc
LD := ld
OBJCOPY := objcopy
HOSTCC ?= cc

# The strict warnings every C file of ferry, its guest, the UEFI loader and
# the code the unit tests link is built with: implicit narrowing and sign
# changes, casts that drop const or volatile, non-literal formats, and
# writes through string literals.
WSTRICT := -Wconversion -Wcast-qual -Wformat=2 -Wwrite-strings

# Freestanding x86-64: no red zone (exceptions and VM exits share stacks),
# no SSE (ferry never saves the guest's FPU state, so it must not touch it).
KCFLAGS := -std=gnu11 -ffreestanding -fno-builtin -nostdlib -mno-red-zone -mno-mmx -mno-sse \
	-mno-sse2 -mno-avx -fno-stack-protector -fno-pic -fno-pie -mcmodel=small -O2 -g \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter $(WSTRICT) \
	-ffunction-sections -fdata-sections -fno-omit-frame-pointer -I.
KASFLAGS := -D__ASSEMBLY__ -I.
KLDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack --gc-sections

# One folder per layer, lowest first (docs/architecture.md): shared helpers,
# CPU definitions, boot, platform services, the VM, its two back ends, the
# devices a guest sees, drivers, the wire protocol, and the wiring on top.
LIB_SRCS := lib/string.c lib/fmt.c lib/err.c lib/sha256.c lib/hkdf.c lib/chacha20.c lib/poly1305.c lib/aead.c
FERRY_SRCS := $(LIB_SRCS) x86/x86_decode.c boot/entry.S boot/multiboot.c \
	$(wildcard platform/*.c) platform/trap.S \
	$(wildcard vm/*.c) $(wildcard svm/*.c) svm/svm_entry.S $(wildcard vmx/*.c) vmx/vmx_entry.S \
	$(wildcard vdev/*.c) drivers/drivers.c $(filter-out drivers/drivers.c,$(wildcard drivers/*.c)) \
	$(wildcard net/*.c) $(wildcard main/*.c)

GUEST_SRCS := $(wildcard guest/*.c guest/*.S) $(LIB_SRCS)

# The screen console's font (platform/font.h): a PSF font from Debian's
# console-setup-linux, converted to C by tools/psf2c.py.
FONT_PSF ?= /usr/share/consolefonts/Lat15-Terminus16.psf.gz
FERRY_SRCS += $(O)/font.c

objs = $(patsubst %,$(O)/$(1)/%.o,$(2))
FERRY_OBJS := $(call objs,ferry,$(FERRY_SRCS))
GUEST_OBJS := $(call objs,guest,$(GUEST_SRCS))

$(O)/ferry/%.c.o: %.c
	@mkdir -p $(@D); echo "  CC      $<"
	$(Q)$(CC) $(KCFLAGS) -MMD -MP -c $< -o $@
$(O)/ferry/%.S.o: %.S
	@mkdir -p $(@D); echo "  AS      $<"
	$(Q)$(CC) $(KASFLAGS) -MMD -MP -c $< -o $@
$(O)/guest/%.c.o: %.c
	@mkdir -p $(@D); echo "  CC      $< (guest)"
	$(Q)$(CC) $(KCFLAGS) -DFERRY_GUEST -MMD -MP -c $< -o $@
$(O)/guest/%.S.o: %.S
	@mkdir -p $(@D); echo "  AS      $< (guest)"
	$(Q)$(CC) $(KASFLAGS) -DFERRY_GUEST -MMD -MP -c $< -o $@

# The 20 rounds of ChaCha20 keep 16 state words live: they need every
# register, rbp too (nothing in ferry walks frame pointers).  One more
# register cuts the rounds' stack spills, which TCG's soft MMU makes dear.
$(O)/ferry/lib/chacha20.c.o $(O)/guest/lib/chacha20.c.o $(O)/bench/lib/chacha20.c.o: KCFLAGS += -fomit-frame-pointer

$(O)/font.c: tools/psf2c.py
	@test -r $(FONT_PSF) || { echo "font: $(FONT_PSF) is missing; install the Debian package console-setup-linux (apt-get install console-setup-linux, or make deps)" >&2; exit 1; }
	@mkdir -p $(@D); echo "  FONT    $@"
	$(Q)python3 tools/psf2c.py $(FONT_PSF) $@

$(O)/ferry.elf: $(FERRY_OBJS) linker.ld
	@echo "  LD      $@"
	$(Q)$(LD) $(KLDFLAGS) -T linker.ld -o $@ $(FERRY_OBJS)

# QEMU's -kernel loads multiboot 1 from 32-bit ELF files only.
$(O)/ferry32.elf: $(O)/ferry.elf
	@echo "  OBJCOPY $@"
	$(Q)$(OBJCOPY) -O elf32-i386 $< $@

$(O)/guest.elf: $(GUEST_OBJS) guest/guest.ld
	@echo "  LD      $@"
	$(Q)$(LD) $(KLDFLAGS) -T guest/guest.ld -o $@ $(GUEST_OBJS)

-include $(FERRY_OBJS:.o=.d) $(GUEST_OBJS:.o=.d)

.PHONY: all
all: $(O)/ferry.elf $(O)/ferry32.elf $(O)/guest.elf

# ---- the UEFI loader (boot/efi/, gnu-efi) ------------------------------------
# BOOTX64.EFI is not freestanding ferry code: it is a UEFI application that
# runs on the firmware, linked with gnu-efi as a position-independent ELF
# shared object and converted to PE/COFF.  boot/efi/README.md explains it.
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
EFI_CFLAGS := -std=gnu11 -ffreestanding -fno-stack-protector -fno-strict-aliasing -fpic -fshort-wchar \
	-mno-red-zone -maccumulate-outgoing-args -DGNU_EFI_USE_MS_ABI -O2 -g \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter $(WSTRICT) \
	-isystem $(EFI_INC) -isystem $(EFI_INC)/x86_64 -I.
EFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic -T $(EFI_LIB)/elf_x86_64_efi.lds -L$(EFI_LIB)
EFI_SRCS := $(wildcard boot/efi/*.c)
EFI_OBJS := $(call objs,efi,$(EFI_SRCS))

$(O)/efi/%.c.o: %.c
	@mkdir -p $(@D); echo "  CC      $< (uefi)"
	$(Q)$(CC) $(EFI_CFLAGS) -MMD -MP -c $< -o $@
$(O)/efi/bootx64.so: $(EFI_OBJS)
	@echo "  LD      $@"
	$(Q)$(LD) $(EFI_LDFLAGS) $(EFI_LIB)/crt0-efi-x86_64.o $(EFI_OBJS) -o $@ -lefi -lgnuefi
$(O)/BOOTX64.EFI: $(O)/efi/bootx64.so
	@echo "  OBJCOPY $@"
	$(Q)$(OBJCOPY) -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym -j .rel -j .rela \
		-j '.rel.*' -j '.rela.*' -j .reloc --target efi-app-x86_64 --subsystem=10 $< $@
-include $(EFI_OBJS:.o=.d)
all: $(O)/BOOTX64.EFI
# ---- end of the UEFI loader ----------------------------------------------------

# ---- host unit tests ------------------------------------------------------
UNIT_CFLAGS := -std=gnu11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -DFERRY_HOST_TEST -Wall -Wextra -Werror $(WSTRICT) -I.

include tests/unit/units.mk

UNIT_BINS := $(addprefix $(O)/unit/,$(UNIT_TESTS))
# Each host test compiles its sources in one command, so it depends on
# every header of the tree: a changed constant or struct (net/proto.h)
# must rebuild the tests that see it, not leave them testing old code.
TREE_HEADERS := $(wildcard */*.h */*/*.h)
UNIT_HELPER_BINS := $(addprefix $(O)/unit/,$(UNIT_HELPERS))

define unit_rule
$(O)/unit/$(1): $$($(1)_SRCS) $$(TREE_HEADERS)
	@mkdir -p $$(@D); echo "  HOSTCC  $$@"
	$(Q)$$(HOSTCC) $$(UNIT_CFLAGS) -o $$@ $$($(1)_SRCS)
endef
$(foreach t,$(UNIT_TESTS) $(UNIT_HELPERS),$(eval $(call unit_rule,$(t))))

# ---- fuzz harnesses (tests/fuzz/, docs/testing.md) ---------------------------
include tests/fuzz/fuzz.mk
FUZZ_REPLAY_BINS := $(addprefix $(O)/unit/fuzz_,$(FUZZERS))
FUZZ_BINS := $(addprefix $(O)/fuzz/,$(FUZZERS))
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -DFERRY_HOST_TEST -DFERRY_FUZZ -Wall -Wextra -Wno-unused-parameter -Werror -I.
FUZZ_DEPS := tests/fuzz/fuzz.h $(TREE_HEADERS)

define fuzz_rule
$(O)/unit/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/replay.c $$($(1)_FUZZ_SRCS) $(FUZZ_DEPS)
	@mkdir -p $$(@D); echo "  HOSTCC  $$@"
	$(Q)$$(HOSTCC) $$(UNIT_CFLAGS) -Wno-unused-parameter -o $$@ tests/fuzz/fuzz_$(1).c tests/fuzz/replay.c $$($(1)_FUZZ_SRCS)
$(O)/fuzz/$(1): tests/fuzz/fuzz_$(1).c $$($(1)_FUZZ_SRCS) $(FUZZ_DEPS) | fuzz-cc
	@mkdir -p $$(@D); echo "  FUZZCC  $$@"
	$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ tests/fuzz/fuzz_$(1).c $$($(1)_FUZZ_SRCS)
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rule,$(f))))
UNIT_HELPER_BINS += $(FUZZ_REPLAY_BINS)

# Is there a clang with libFuzzer?  A one-line program tells.
.PHONY: fuzz-cc fuzz fuzz-build
fuzz-cc:
	@mkdir -p $(O)/fuzz; printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >$(O)/fuzz/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer -o $(O)/fuzz/probe $(O)/fuzz/probe.c 2>/dev/null || { \
	  echo "fuzz: $(FUZZ_CC) cannot link with -fsanitize=fuzzer (libFuzzer); install Debian's clang" \
	       "(apt-get install clang), or name another with FUZZ_CC=clang-NN" >&2; exit 1; }
fuzz-build: $(FUZZ_BINS) $(FUZZ_REPLAY_BINS)
# Each harness in turn, FUZZ_SECONDS each, one job (FUZZ=name picks one):
# its corpus in build/fuzz/corpus/NAME starts from its seeds and the
# checked-in inputs; crashes land in build/fuzz/crash/NAME/.
fuzz: fuzz-build
	@for f in $(if $(FUZZ),$(FUZZ),$(FUZZERS)); do \
	  c=$(O)/fuzz/corpus/$$f; mkdir -p $$c $(O)/fuzz/crash/$$f; \
	  $(O)/unit/fuzz_$$f --seeds $$c >/dev/null || exit 1; \
	  echo "== fuzz $$f for $(FUZZ_SECONDS) s"; \
	  $(O)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(O)/fuzz/crash/$$f/ $$c $$(for d in tests/fuzz/corpus/$$f tests/fuzz/regress/$$f; do [ -d $$d ] && echo $$d; done) \
	    2>&1 | grep -E '^#[0-9]+.*(DONE|INITED)|^Done|stat::|ERROR|SUMMARY|oracle|Test unit written' ; \
	  test $${PIPESTATUS[0]} = 0 || exit 1; \
	done

# ---- lib/'s crypto as ferry builds it (KCFLAGS: freestanding, -O2, no SSE) ---
# linked into host programs: the crypto benchmark tests/bench/crypto_bench.c,
# which make bench runs natively and under qemu-x86_64 (TCG), and a second
# build of test_aead.
BENCH_LIB_SRCS := lib/sha256.c lib/chacha20.c lib/poly1305.c lib/aead.c lib/string.c \
	net/proto.c lib/hkdf.c lib/fmt.c lib/err.c
BENCH_LIB_OBJS := $(call objs,bench,$(BENCH_LIB_SRCS))
# test_aead once more against those objects, the code ferry runs (-O2, no
# SSE) rather than the sanitizer build: the RFC's vectors hold for both.
AEAD_KOBJS := $(call objs,bench,lib/chacha20.c lib/poly1305.c lib/aead.c lib/err.c)
$(O)/unit/test_aead_kcflags: tests/unit/test_aead.c $(wildcard tests/unit/*.h) $(AEAD_KOBJS)
	@mkdir -p $(@D); echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) $(UNIT_CFLAGS) -no-pie -o $@ tests/unit/test_aead.c $(AEAD_KOBJS)
UNIT_BINS += $(O)/unit/test_aead_kcflags
# lib/string.c as ferry builds it, in place of the C library's: no
# sanitizers (they would meet two memcpys), no builtins (every call reaches it).
$(O)/unit/test_string_kcflags: tests/unit/test_string_k.c tests/unit/check.h $(O)/bench/lib/string.c.o
	@mkdir -p $(@D); echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) -std=gnu11 -g -O1 -fno-builtin -Wall -Wextra -Werror -I. -no-pie -o $@ tests/unit/test_string_k.c $(O)/bench/lib/string.c.o
UNIT_BINS += $(O)/unit/test_string_kcflags
$(O)/bench/%.c.o: %.c
	@mkdir -p $(@D); echo "  CC      $< (bench)"
	$(Q)$(CC) $(KCFLAGS) -MMD -MP -c $< -o $@
$(O)/bench/crypto_bench: tests/bench/crypto_bench.c $(BENCH_LIB_OBJS)
	@mkdir -p $(@D); echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) -std=gnu11 -O2 -Wall -Wextra -Werror $(WSTRICT) -I. -no-pie -o $@ $^
-include $(BENCH_LIB_OBJS:.o=.d) $(AEAD_KOBJS:.o=.d)

.PHONY: unit
unit: $(UNIT_BINS) $(UNIT_HELPER_BINS)
	@for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

.PHONY: clean
clean:
	rm -rf $(O)

# ---- running it -------------------------------------------------------------
GUEST_CMDS ?= lbd-info; ls /
FERRY_ARGS ?= loglevel=info

.PHONY: deps
deps:
	@tools/deps.sh

# A GRUB hybrid ISO (BIOS + UEFI; CD, disk or USB stick) running GUEST_CMDS.
.PHONY: iso
iso: $(O)/ferry.iso
$(O)/ferry.iso: $(O)/ferry.elf $(O)/guest.elf tools/mkiso.sh FORCE
	@echo "  ISO     $@"
	$(Q)tools/mkiso.sh $@ $(O)/ferry.elf $(O)/guest.elf "$(GUEST_CMDS)" "$(FERRY_ARGS)" $(FERRY_CFG)

# ---- the USB stick image (tools/mkusb.sh) -------------------------------------
# One image for dd: UEFI boots BOOTX64.EFI, BIOS boots GRUB; one FAT
# partition holds ferry, its guest and the ferry.cfg to edit.  KERNEL=
# [INITRD=] [APPEND='...'] also put a Linux kernel and its initrd there,
# named in ferry.cfg (kernel, initrd, guest_cmds); USB_FAT_MIB= sizes the
# FAT partition (default 30).
USB_CFG ?= boot/ferry.cfg
USB_ARGS = $(if $(KERNEL),--kernel "$(KERNEL)") $(if $(INITRD),--initrd "$(INITRD)") \
	$(if $(APPEND),--cmdline "$(APPEND)") $(if $(USB_FAT_MIB),--fat-mib "$(USB_FAT_MIB)")
.PHONY: usb
usb: $(O)/ferry-usb.img
$(O)/ferry-usb.img: $(O)/ferry.elf $(O)/guest.elf $(O)/BOOTX64.EFI tools/mkusb.sh $(USB_CFG) FORCE
	@echo "  USB     $@"
	$(Q)tools/mkusb.sh $(USB_ARGS) $@ $(O)/ferry.elf $(O)/guest.elf $(O)/BOOTX64.EFI $(USB_CFG)
# ---- end of the USB stick image ------------------------------------------------

# EMU=bochs runs on Bochs (Intel VMX with EPT, tools/bochsrun.py) instead of
# QEMU (AMD SVM with NPT); in run-pair, BOCHS=client|server|both picks the
# machine(s) Bochs runs, QEMU the other (e1000 only).
EMU ?= qemu
BOCHS ?= client

# A Linux guest instead of ferry's own: KERNEL=bzImage|vmlinux [INITRD=file]
# [APPEND='kernel command line'] (tools/linux.py fetch gets Debian's).
LINUX_ARGS = $(if $(KERNEL),--kernel "$(KERNEL)") $(if $(INITRD),--initrd "$(INITRD)") $(if $(APPEND),--append "$(APPEND)")

# DISK_IF=ahci|ide|nvme|virtio: the controller QEMU puts DISK on (q35's
# AHCI; ide: the i440FX board's PIIX IDE; nvme: an NVMe controller;
# virtio: a virtio-blk PCI device).
DISK_IF ?= ahci

.PHONY: run-local
run-local: all
	@test -n "$(DISK)" || { echo "usage: make run-local DISK=image GUEST_CMDS='ls /; sha256 /A.TXT' [DISK_IF=ahci|ide|nvme|virtio] [EMU=qemu|bochs] [KERNEL=file [INITRD=file] [APPEND='...']]"; exit 2; }
	@python3 tools/$(if $(filter bochs,$(EMU)),bochsrun.py,ferryrun.py --disk-if "$(DISK_IF)") --disk "$(DISK)" --cmds "$(GUEST_CMDS)" --ferry-args "$(FERRY_ARGS)" $(LINUX_ARGS)

.PHONY: run-pair
NIC ?= e1000
run-pair: all
	@test -n "$(DISK)" || { echo "usage: make run-pair DISK=image GUEST_CMDS='ls /; sha256 /A.TXT' [NIC=e1000|virtio] [DISK_IF=ahci|ide|nvme|virtio] [EMU=qemu|bochs [BOCHS=client|server|both]]"; exit 2; }
	@python3 tools/$(if $(filter bochs,$(EMU)),bochsrun.py --bochs "$(BOCHS)",ferryrun.py --nic "$(NIC)" --disk-if "$(DISK_IF)") --pair --disk "$(DISK)" --cmds "$(GUEST_CMDS)" $(LINUX_ARGS)

# Debian's kernel and busybox-static for the Linux guest (tools/linux.py):
# the vmlinuz as shipped, its vmlinux, the modules the initramfs loads.
LINUX_DIR := $(O)/linux
.PHONY: linux
linux: $(LINUX_DIR)/KVER
$(LINUX_DIR)/KVER:
	@echo "  LINUX   $(LINUX_DIR) (apt-get download + dpkg-deb -x)"
	$(Q)python3 tools/linux.py fetch --dir $(LINUX_DIR)

.PHONY: demo
demo: deps all linux
	@python3 tools/demo.py

.PHONY: bench
bench: deps all linux $(O)/bench/crypto_bench
	@python3 tools/bench.py

# ---- tests --------------------------------------------------------------------
.PHONY: unit-build test test-unit test-emu
unit-build: $(UNIT_BINS) $(UNIT_HELPER_BINS)
# The unit binaries tests/run.py must find (one that failed to build is a failure).
unit-list:
	@echo $(notdir $(UNIT_BINS) $(FUZZ_REPLAY_BINS))
test: deps all unit-build linux
	@python3 tests/run.py
test-unit: unit-build
	@python3 tests/run.py --unit
test-emu: all linux
	@python3 tests/run.py --emu $(if $(K),-k $(K))

.PHONY: help
help:
	@echo "make            build ferry ($(O)/ferry.elf, $(O)/ferry32.elf) and its guest ($(O)/guest.elf)"
	@echo "make demo       make a FAT32 disk image and show the guest reading and writing it through ferry"
	@echo "make test       install missing packages, then run every unit and emulator test"
	@echo "make test-unit  host unit tests only (ASan + UBSan)"
	@echo "make test-emu   emulator tests only (K=substring to pick some)"
	@echo "make fuzz       each libFuzzer harness in tests/fuzz/ for FUZZ_SECONDS (60) s (FUZZ=name: one)"
	@echo "make bench      large sequential write and read: MiB/s, requests, VM exits per request;"
	@echo "                the frame protection's cost: HMAC vs ChaCha20-Poly1305, host and TCG"
	@echo "make iso        $(O)/ferry.iso: GRUB ISO for BIOS and UEFI (GUEST_CMDS, FERRY_ARGS, FERRY_CFG=file)"
	@echo "make usb        $(O)/ferry-usb.img: USB stick for dd; UEFI boots $(O)/BOOTX64.EFI, BIOS boots GRUB;"
	@echo "                ferry/ferry.cfg on its FAT partition is the configuration (USB_CFG=file);"
	@echo "                KERNEL=bzImage [INITRD=file] [APPEND='...'] put a Linux guest on it too"
	@echo "make run-local DISK=img GUEST_CMDS='ls /; sha256 /A.TXT'   run one machine under QEMU"
	@echo "make run-pair DISK=img GUEST_CMDS='...' [NIC=e1000|virtio]   a server QEMU with the disk and a"
	@echo "                diskless client QEMU on a loopback wire; prints both, exits non-zero on failure"
	@echo "                both take EMU=bochs: Bochs (Intel VMX with EPT) instead of QEMU (AMD SVM);"
	@echo "                run-pair then takes BOCHS=client|server|both (default client)"
	@echo "make deps       install the Debian packages needed (as root), or name them"
	@echo "make clean      remove $(O)/"

.PHONY: FORCE
FORCE:
