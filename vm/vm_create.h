#ifndef FERRY_VM_CREATE_H
#define FERRY_VM_CREATE_H

#include "boot/boot_info.h"
#include "vm.h"

#define LBD_GPA_SPAN (2 * MiB) /* the window the logical device's page sits in */

/* Builds the guest's memory and I/O view; returns where the logical device
 * should sit in *lbd_gpa. */
int vm_create(struct vm *vm, const struct hv_arch *arch, const struct boot_info *bi, gpa_t *lbd_gpa);

#endif
