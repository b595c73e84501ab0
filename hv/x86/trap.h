#ifndef FERRY_X86_TRAP_H
#define FERRY_X86_TRAP_H

/* Installs ferry's IDT (exception handlers that report and halt). */
void trap_init(void);

#endif
