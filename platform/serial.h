/* The serial port's console sink: COM1, a 16550 at 115200 8N1.  It is
 * ferry's complete log, every line of ferry's and of the guest's, from
 * the first line on. */
#ifndef FERRY_SERIAL_H
#define FERRY_SERIAL_H

#include "console.h"

/* Programs the UART; false when none answers (then do not register the
 * sink: there is nothing to write to). */
bool serial_init(void);

extern struct console_sink serial_sink;

#endif
