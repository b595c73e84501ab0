/* What the SVM back end's files share.  Nothing here is seen by the core,
 * which knows only svm_arch (vm/vcpu.h). */
#ifndef FERRY_SVM_SVM_H
#define FERRY_SVM_SVM_H

#include "vm/vcpu.h"

/* The NPT entry format for vm/nested.c (svm_npt.c). */
extern const struct nested_format svm_npt_format;

#endif
