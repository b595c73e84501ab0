#ifndef FERRY_GUEST_MEM_H
#define FERRY_GUEST_MEM_H

#include "vm.h"

/* Translates a guest-virtual address through the guest's own page tables
 * (whatever paging mode its CR0/CR4/EFER select).  Every table is read
 * through the guest-RAM check.  0, or -E_RANGE (a table outside guest RAM)
 * or -E_NOENT (not present). */
int guest_virt_to_phys(struct vcpu *vcpu, gva_t va, gpa_t *out);

/* Copies n bytes from guest-virtual va (may span pages).  Stops at the
 * first page that does not translate into guest RAM; returns the number of
 * bytes copied. */
size_t guest_read_virt(struct vcpu *vcpu, gva_t va, void *buf, size_t n);

#endif
