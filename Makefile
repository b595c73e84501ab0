# ferry — top-level build.  "make help" lists the targets.
.DEFAULT_GOAL := all
O := build
SHELL := /bin/bash

CC := gcc
LD := ld
OBJCOPY := objcopy
HOSTCC ?= cc

# Freestanding x86-64: no red zone (exceptions and VM exits share stacks),
# no SSE (ferry never saves the guest's FPU state, so it must not touch it).
KCFLAGS := -std=gnu11 -ffreestanding -fno-builtin -nostdlib -mno-red-zone -mno-mmx -mno-sse \
	-mno-sse2 -mno-avx -fno-stack-protector -fno-pic -fno-pie -mcmodel=small -O2 -g \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	-ffunction-sections -fdata-sections -fno-omit-frame-pointer -I.
KASFLAGS := -D__ASSEMBLY__ -I.
KLDFLAGS := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack --gc-sections

FERRY_SRCS := boot/entry.S boot/multiboot.c \
	$(wildcard hv/core/*.c) hv/x86/trap.c hv/x86/trap.S \
	hv/svm/svm.c hv/svm/svm_entry.S hv/decode/x86_decode.c \
	hv/lib/string.c hv/lib/fmt.c hv/lib/err.c \
	drivers/drivers.c drivers/ahci.c

GUEST_SRCS := $(wildcard guest/*.c guest/*.S) \
	hv/lib/string.c hv/lib/fmt.c hv/lib/err.c hv/lib/sha256.c

objs = $(patsubst %,$(O)/$(1)/%.o,$(2))
FERRY_OBJS := $(call objs,ferry,$(FERRY_SRCS))
GUEST_OBJS := $(call objs,guest,$(GUEST_SRCS))

$(O)/ferry/%.c.o: %.c
	@mkdir -p $(@D)
	$(CC) $(KCFLAGS) -MMD -c $< -o $@
$(O)/ferry/%.S.o: %.S
	@mkdir -p $(@D)
	$(CC) $(KASFLAGS) -MMD -c $< -o $@
$(O)/guest/%.c.o: %.c
	@mkdir -p $(@D)
	$(CC) $(KCFLAGS) -DFERRY_GUEST -MMD -c $< -o $@
$(O)/guest/%.S.o: %.S
	@mkdir -p $(@D)
	$(CC) $(KASFLAGS) -DFERRY_GUEST -MMD -c $< -o $@

$(O)/ferry.elf: $(FERRY_OBJS) linker.ld
	$(LD) $(KLDFLAGS) -T linker.ld -o $@ $(FERRY_OBJS)

# QEMU's -kernel loads multiboot 1 from 32-bit ELF files only.
$(O)/ferry32.elf: $(O)/ferry.elf
	$(OBJCOPY) -O elf32-i386 $< $@

$(O)/guest.elf: $(GUEST_OBJS) guest/guest.ld
	$(LD) $(KLDFLAGS) -T guest/guest.ld -o $@ $(GUEST_OBJS)

-include $(FERRY_OBJS:.o=.d) $(GUEST_OBJS:.o=.d)

.PHONY: all
all: $(O)/ferry.elf $(O)/ferry32.elf $(O)/guest.elf

# ---- host unit tests ------------------------------------------------------
UNIT_CFLAGS := -std=gnu11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -DFERRY_HOST_TEST -Wall -Wextra -Werror -I.

include tests/unit/units.mk

UNIT_BINS := $(addprefix $(O)/unit/,$(UNIT_TESTS))

define unit_rule
$(O)/unit/$(1): $$($(1)_SRCS) $$(wildcard tests/unit/*.h)
	@mkdir -p $$(@D)
	$$(HOSTCC) $$(UNIT_CFLAGS) -o $$@ $$($(1)_SRCS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

.PHONY: unit
unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

.PHONY: clean
clean:
	rm -rf $(O)
