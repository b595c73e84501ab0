/* The guest's 16550 (vdev/uart16550.c), driven through the port-I/O
 * dispatch of vm/guest_io.c as a guest's IN and OUT reach it: whole lines
 * to the console, the registers Linux's 8250 probe reads back, and the
 * transmitter-empty interrupt's edges. */
#include "check.h"
#include "fake_arch.h"
#include "fake_io.h"
#include "fake_bus.h"
#include "fake_hv.h"
#include "vdev/uart16550.h"
#include "vm/guest_io.h"
#include "vm/virq.h"

static struct vm vm;
static struct vcpu *const vcpu = &vm.vcpu;
static struct uart16550 uart;
static unsigned raised[16];

/* The interrupt side: what the UART raised, per ISA IRQ. */
int virq_raise_isa(unsigned irq)
{
	if (irq < 16)
		raised[irq]++;
	return 0;
}

static void setup(void)
{
	fake_vm_init(&vm);
	fake_hv_reset();
	fake_nports = 0;
	memset(raised, 0, sizeof(raised));
	CHECK_EQ(uart16550_attach(&uart, &vm, 0x3F8, 4), 0);
}


static u64 in_rax(u16 port, u8 size, u64 rax) { return fake_in(vcpu, port, size, rax); }

static bool out(u16 port, u8 size, u64 rax) { return fake_out(vcpu, port, size, rax); }

static void out_str(const char *s)
{
	while (*s)
		out(0x3F8, 1, (u8)*s++);
}

static void guest_io_flush(void) { uart16550_flush(&uart); }

TEST(com1_lines)
{
	setup();
	CHECK_EQ(in_rax(0x3FD, 1, 0), 0x60); /* LSR: ready to send */
	out_str("hello\r\n");
	CHECK_EQ(fake_console_writes, 1);
	CHECK_EQ(fake_console_len, 6);
	CHECK(memcmp(fake_console, "hello\n", 6) == 0);
	out_str("abc");
	CHECK_EQ(fake_console_writes, 1); /* not until the line ends */
	guest_io_flush();
	CHECK_EQ(fake_console_writes, 2);
	CHECK(memcmp(fake_console + 6, "abc\n", 4) == 0);
	guest_io_flush(); /* nothing left */
	CHECK_EQ(fake_console_writes, 2);
}

TEST(com1_long_line_split)
{
	setup();
	for (unsigned i = 0; i < 600; i++)
		out(0x3F8, 1, 'a' + i % 26);
	/* Passed on in whole CONSOLE_LINE_MAX pieces: nothing is lost. */
	CHECK_EQ(fake_console_writes, 1);
	CHECK_EQ(fake_console_len, CONSOLE_LINE_MAX + 1);
	CHECK_EQ(fake_console[CONSOLE_LINE_MAX - 1], 'a' + (CONSOLE_LINE_MAX - 1) % 26);
	CHECK_EQ(fake_console[CONSOLE_LINE_MAX], '\n');
	CHECK_EQ(fake_console_last_level, LOG_GUEST);
	out(0x3F8, 1, '\n');
	CHECK_EQ(fake_console_writes, 2);
	CHECK_EQ(fake_console_len, 600 + 2);
	CHECK_EQ(fake_console[CONSOLE_LINE_MAX + 1], 'a' + CONSOLE_LINE_MAX % 26);
}

TEST(com1_registers)
{
	setup();
	out(0x3FB, 1, 0x83);                /* DLAB on */
	out(0x3F8, 1, 0x01);                /* divisor 1: 115200 */
	out(0x3F9, 1, 0x00);
	CHECK_EQ(in_rax(0x3F8, 1, 0), 0x01);
	CHECK_EQ(in_rax(0x3FB, 1, 0), 0x83);
	out(0x3FB, 1, 0x03);                /* 8N1, DLAB off */
	CHECK_EQ(in_rax(0x3F8, 1, 0), 0);   /* no input */
	out(0x3F9, 1, 0x01);
	CHECK_EQ(in_rax(0x3F9, 1, 0), 0x01); /* IER */
	out(0x3FF, 1, 0x5A);
	CHECK_EQ(in_rax(0x3FF, 1, 0), 0x5A); /* scratch */
	CHECK_EQ(in_rax(0x3FA, 1, 0), 0x01); /* IIR: FIFOs off after reset, nothing pending */
	CHECK_EQ(fake_console_writes, 0);    /* the divisor was not a character */
	guest_io_flush();
	CHECK_EQ(fake_console_writes, 0);
	CHECK_EQ(fake_nports, 0);            /* ferry's UART was not touched */
}

TEST(com1_empty_lines_kept)
{
	setup();
	out_str("a\r\n\r\n\nb\n");
	CHECK_EQ(fake_console_writes, 4);
	CHECK_EQ(fake_console_len, 6);
	CHECK(memcmp(fake_console, "a\n\n\nb\n", 6) == 0);
}

/* Linux's 8250 probe: IER keeps 4 bits, the FIFO shows in IIR, loopback
 * turns the modem outputs into inputs. */
TEST(com1_probe_registers)
{
	setup();
	out(0x3F9, 1, 0xFF);
	CHECK_EQ(in_rax(0x3F9, 1, 0), 0x0F);
	out(0x3F9, 1, 0);
	out(0x3FA, 1, 0xE7);                  /* FCR: FIFOs on */
	CHECK_EQ(in_rax(0x3FA, 1, 0) & 0xC0, 0xC0);
	out(0x3FA, 1, 0);
	CHECK_EQ(in_rax(0x3FA, 1, 0), 0x01);  /* no FIFO, nothing pending */
	out(0x3FC, 1, 0x1A);                  /* loopback, RTS, OUT2 */
	CHECK_EQ(in_rax(0x3FE, 1, 0) & 0xF0, 0x90);
	out(0x3FC, 1, 0x1F);
	CHECK_EQ(in_rax(0x3FE, 1, 0) & 0xF0, 0xF0);
	out_str("x\n");                       /* looped back, not sent */
	CHECK_EQ(fake_console_writes, 0);
	out(0x3FC, 1, 0x03);
	CHECK_EQ(in_rax(0x3FE, 1, 0), 0xB0);  /* DCD, DSR, CTS */
	CHECK_EQ(in_rax(0x3FD, 1, 0), 0x60);
}

/* The THRE interrupt: raised on enabling it, cleared by reading IIR, raised
 * again by the next character; gated by OUT2; one edge while it stays high. */
TEST(com1_thre_interrupt_edges)
{
	setup();
	out(0x3F9, 1, 0x02);                  /* IER THRI, but OUT2 off */
	CHECK_EQ(raised[4], 0);
	out(0x3FC, 1, 0x0B);                  /* DTR, RTS, OUT2 */
	CHECK_EQ(raised[4], 1);
	out_str("ab");                        /* still high: no new edge */
	CHECK_EQ(raised[4], 1);
	CHECK_EQ(in_rax(0x3FA, 1, 0), 0x02);  /* THRE is the source; reading clears it */
	CHECK_EQ(in_rax(0x3FA, 1, 0), 0x01);
	out(0x3F8, 1, 'c');                   /* empty again: a new edge */
	CHECK_EQ(raised[4], 2);
	out(0x3F9, 1, 0x00);                  /* the driver stops transmitting */
	CHECK_EQ(in_rax(0x3FA, 1, 0), 0x01);
	out(0x3F8, 1, '\n');
	CHECK_EQ(raised[4], 2);
	out(0x3F9, 1, 0x02);                  /* enabling it again raises it again */
	CHECK_EQ(raised[4], 3);
	CHECK_EQ(fake_console_writes, 1);
}

/* The guest cannot forge ferry's lines or drive the terminal. */
TEST(com1_no_forged_lines_or_escapes)
{
	setup();
	out_str("ferry: error: fake\n");
	out_str("\x1b[2J\x1b[Hclear\tscreen\x7f\n");
	out_str("a ferry: line\n");
	CHECK_EQ(fake_console_writes, 3);
	const char want[] = "guest| ferry: error: fake\n?[2J?[Hclear\tscreen?\na ferry: line\n";
	CHECK_EQ(fake_console_len, sizeof(want) - 1);
	CHECK(memcmp(fake_console, want, sizeof(want) - 1) == 0);
	CHECK_EQ(fake_console_last_level, LOG_GUEST);
}

int main(void)
{
	RUN(com1_lines);
	RUN(com1_long_line_split);
	RUN(com1_registers);
	RUN(com1_empty_lines_kept);
	RUN(com1_probe_registers);
	RUN(com1_thre_interrupt_edges);
	RUN(com1_no_forged_lines_or_escapes);
	return CHECK_SUMMARY();
}
