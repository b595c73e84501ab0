/* The UEFI loader's messages (output.h): the UEFI console, and the first
 * serial port (SerialIo) unless the console already reaches a UART.
 * References: UEFI Specification 2.9, the Simple Text Output and Serial
 * I/O protocols and the ConOut variable. */
#include <efi.h>
#include <efilib.h>

#include "output.h"

#define ERROR_WAIT_SECONDS 30

/* The first serial port, when the UEFI console does not already reach it
 * (OVMF mirrors the console to it; most PCs' consoles are screen only). */
static SERIAL_IO_INTERFACE *serial;

static void serial_put(const CHAR16 *s)
{
	char buf[128];
	UINTN n = 0;
	for (;; s++) {
		if (!*s || n + 2 >= sizeof(buf)) {
			UINTN len = n;
			if (len)
				serial->Write(serial, &len, buf);
			n = 0;
			if (!*s)
				return;
		}
		if (*s == '\n')
			buf[n++] = '\r';
		buf[n++] = *s < 0x80 ? (char)*s : '?';
	}
}

/* Prints one line ("ferry: " and the text) on the console and the
 * serial port. */
static void say(const CHAR16 *prefix, const CHAR16 *fmt, va_list ap)
{
	CHAR16 line[512];
	UINTN n = SPrint(line, sizeof(line), L"ferry: %s", prefix);
	n += VSPrint(line + n, sizeof(line) - n * sizeof(CHAR16), fmt, ap);
	if (n + 3 > sizeof(line) / sizeof(CHAR16))
		n = sizeof(line) / sizeof(CHAR16) - 3;
	line[n] = '\r', line[n + 1] = '\n', line[n + 2] = 0;
	ST->ConOut->OutputString(ST->ConOut, line);
	if (serial) {
		line[n] = '\n', line[n + 1] = 0;
		serial_put(line);
	}
}

void info(const CHAR16 *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(L"uefi: ", fmt, ap);
	va_end(ap);
}

void warn(const CHAR16 *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(L"warning: uefi: ", fmt, ap);
	va_end(ap);
}

EFI_STATUS fail(EFI_STATUS st, const CHAR16 *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(L"error: uefi: ", fmt, ap);
	va_end(ap);
	CHAR16 wait[] = L"ferry: uefi: ferry was not started; back to the firmware in 30 s or at a key press\r\n";
	ST->ConOut->OutputString(ST->ConOut, wait);
	if (serial)
		serial_put(L"ferry: uefi: ferry was not started; back to the firmware in 30 s or at a key press\n");
	EFI_EVENT ev[2];
	UINTN n = 0, which;
	if (BS->CreateEvent(EVT_TIMER, 0, NULL, NULL, &ev[n]) == EFI_SUCCESS &&
	    BS->SetTimer(ev[n], TimerRelative, ERROR_WAIT_SECONDS * 10000000ULL) == EFI_SUCCESS)
		n++;
	if (ST->ConIn)
		ev[n++] = ST->ConIn->WaitForKey;
	if (n)
		BS->WaitForEvent(n, ev, &which);
	return EFI_ERROR(st) ? st : EFI_LOAD_ERROR;
}

/* Does the console's device path (the ConOut variable) include a UART,
 * i.e. does the firmware already copy the console to a serial port? */
static BOOLEAN console_has_uart(void)
{
	static CHAR16 name[] = L"ConOut";
	UINTN size = 0;
	UINT8 *dp = LibGetVariableAndSize(name, &gEfiGlobalVariableGuid, &size);
	BOOLEAN uart = FALSE;
	for (UINTN off = 0; dp && off + 4 <= size;) {
		UINT8 type = dp[off], sub = dp[off + 1];
		UINT16 len = (UINT16)(dp[off + 2] | dp[off + 3] << 8);
		if (type == MESSAGING_DEVICE_PATH && sub == MSG_UART_DP)
			uart = TRUE;
		if (len < 4)
			break;
		off += len;
	}
	if (dp)
		FreePool(dp);
	return uart;
}

void output_init(void)
{
	if (console_has_uart())
		return;
	SERIAL_IO_INTERFACE *s;
	if (LibLocateProtocol(&gEfiSerialIoProtocolGuid, (void **)&s) != EFI_SUCCESS)
		return;
	/* ferry's own console uses 115200 8N1 (platform/console.c). */
	s->SetAttributes(s, 115200, 0, 0, NoParity, 8, OneStopBit);
	serial = s;
}
