#ifndef FERRY_GUEST_LOAD_H
#define FERRY_GUEST_LOAD_H

#include "boot/boot_info.h"
#include "vm.h"

/* Loads the guest kernel from the first boot module and fills the initial
 * vCPU state. */
int guest_load(struct vm *vm, const struct boot_info *bi, struct vcpu_boot_state *bs);

#endif
