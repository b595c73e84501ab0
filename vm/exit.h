#ifndef FERRY_EXIT_H
#define FERRY_EXIT_H

#include "vm.h"

/* Handles one exit: updates the guest's registers, queues exceptions, or
 * stops the VM (vm_stop, with a stop code) with a report. */
void exit_handle(struct vcpu *vcpu, const struct vm_exit *e);

#endif
