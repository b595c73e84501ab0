/* ferry's configuration: the file (ferry.cfg), the command line that
 * overrides it, and the clear refusal of anything it does not understand. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "platform/config.h"
#include "platform/console.h"

#include "fake_hv.h"

static struct ferry_config saved;

static void reset(void)
{
	static bool have;
	if (!have) {
		saved = config;
		have = true;
	}
	config = saved;
	fake_log_count = 0;
}

static int file(const char *text) { return config_parse_file("ferry.cfg", text, strlen(text)); }

TEST(defaults)
{
	reset();
	CHECK_EQ(config.role, ROLE_LOCAL);
	CHECK_EQ(config.loglevel, LOG_INFO);
	CHECK_EQ(config.discover_timeout, 60);
	CHECK_EQ(config.dead_time, 180);
	CHECK_EQ(config.poll_hz, 1000);
	CHECK_EQ(config.net_buffers, 16);
	CHECK_EQ(config.burst, 0); /* unset: the client's own default */
	CHECK_EQ(config.mtu, 1500);
	CHECK_EQ(config.key_len, 0);
	CHECK_EQ(config_check(), 0);
}

TEST(file_with_comments_blanks_and_spaces)
{
	reset();
	CHECK_EQ(file("# ferry configuration\n\n  role = client \r\n"
		      "\tnic=virtio\n"
		      "key = 00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n"
		      "server = 52:54:00:5e:00:01\n"
		      "guest_cmds = ls /; sha256 \"/A B.TXT\"; # not a comment here\n"),
		 0);
	CHECK_EQ(config.role, ROLE_CLIENT);
	CHECK_EQ(config.nic, NIC_VIRTIO);
	CHECK_EQ(config.key_len, 32);
	CHECK_EQ(config.key[0], 0x00);
	CHECK_EQ(config.key[15], 0xff);
	CHECK_EQ(config.key[31], 0xff);
	CHECK(config.want_server);
	CHECK_EQ(config.server_mac[5], 1);
	CHECK(config.have_guest_cmds);
	CHECK_STR(config.guest_cmds, "ls /; sha256 \"/A B.TXT\"; # not a comment here");
	CHECK_EQ(config_check(), 0);
}

TEST(command_line_overrides_file)
{
	reset();
	CHECK_EQ(file("role = server\nkey = 0123456789abcdef0123456789abcdef\npoll_hz = 500\n"), 0);
	CHECK_EQ(config_parse_cmdline("/boot/ferry.elf poll_hz=2000 loglevel=debug"), 0);
	CHECK_EQ(config.role, ROLE_SERVER);
	CHECK_EQ(config.poll_hz, 2000);
	CHECK_EQ(config.loglevel, LOG_DEBUG);
}

TEST(dead_time)
{
	reset();
	CHECK_EQ(file("dead_time = 600\n"), 0);
	CHECK_EQ(config.dead_time, 600);
	CHECK_EQ(config_parse_cmdline("dead_time=1"), 0);
	CHECK_EQ(config.dead_time, 1);
	CHECK_EQ(config_parse_cmdline("dead_time=86400"), 0);
	CHECK_EQ(config.dead_time, 86400);
	/* 0, past a day, not a number: refused, the value unchanged */
	CHECK_EQ(config_parse_cmdline("dead_time=0"), -E_INVAL);
	CHECK_EQ(config_parse_cmdline("dead_time=86401"), -E_INVAL);
	CHECK_EQ(file("dead_time = 3m\n"), -E_INVAL);
	CHECK_EQ(file("dead_time = -5\n"), -E_INVAL);
	CHECK_EQ(config.dead_time, 86400);
}

TEST(bad_file_lines_are_refused)
{
	reset();
	CHECK_EQ(file("role = client\nrolex = server\n"), -E_INVAL);
	CHECK(fake_log_count > 0);
	reset();
	CHECK_EQ(file("just words\n"), -E_INVAL);
	reset();
	CHECK_EQ(file("= value\n"), -E_INVAL);
	reset();
	CHECK_EQ(file("poll_hz = 5\n"), -E_INVAL);     /* below 10 */
	reset();
	CHECK_EQ(file("net_buffers = 0\n"), -E_INVAL); /* 1-128 MiB */
	reset();
	CHECK_EQ(file("net_buffers = 129\n"), -E_INVAL);
	reset();
	CHECK_EQ(file("net_buffers = 64\n"), 0);
	CHECK_EQ(config.net_buffers, 64);
	reset();
	CHECK_EQ(file("burst = 3\n"), -E_INVAL); /* 4-256 standard frames */
	reset();
	CHECK_EQ(file("burst = 257\n"), -E_INVAL);
	reset();
	CHECK_EQ(file("burst = 256\n"), 0);
	CHECK_EQ(config.burst, 256);
	reset();
	CHECK_EQ(file("mtu = 1499\n"), -E_INVAL); /* 1500-9000 */
	reset();
	CHECK_EQ(file("mtu = 9001\n"), -E_INVAL);
	reset();
	CHECK_EQ(file("mtu = 9000\n"), 0);
	CHECK_EQ(config.mtu, 9000);
	reset();
	CHECK_EQ(file("poll_hz = 12abc\n"), -E_INVAL);
	reset();
	CHECK_EQ(file("key = 0123\n"), -E_INVAL);      /* too short */
	reset();
	CHECK_EQ(file("key = 0123456789abcdef0123456789abcdeg\n"), -E_INVAL); /* not hex */
	reset();
	CHECK_EQ(file("server = 52:54:00:5e:00\n"), -E_INVAL);
	reset();
	CHECK_EQ(file("role = client\x01\n"), -E_INVAL);
	reset();
	CHECK_EQ(file("read_only = maybe\n"), -E_INVAL);
}

TEST(bad_command_lines_are_refused)
{
	reset();
	CHECK_EQ(config_parse_cmdline("ferry.elf role=server"), 0);
	CHECK_EQ(config_check(), -E_INVAL); /* server without a key */
	reset();
	CHECK_EQ(config_parse_cmdline("ferry.elf role=local stray"), -E_INVAL);
	reset();
	CHECK_EQ(config_parse_cmdline("/boot/ferry.elf role=local"), 0); /* first word may be a path */
	reset();
	CHECK_EQ(config_parse_cmdline("role=local stray"), -E_INVAL);
	reset();
	CHECK_EQ(config_parse_cmdline("nic=rtl8139"), -E_INVAL);
	reset();
	CHECK_EQ(config_parse_cmdline("averyveryverylongkeynamethatisnotthere=1"), -E_INVAL);
}

TEST(disk_names)
{
	reset();
	CHECK_STR(config.disk, "");
	CHECK_EQ(config_parse_cmdline("ferry.elf disk=nvme0n2"), 0);
	CHECK_STR(config.disk, "nvme0n2");
	CHECK_EQ(config_parse_cmdline("disk=ahci0:port1"), 0);
	CHECK_STR(config.disk, "ahci0:port1");
	CHECK_EQ(config_parse_cmdline("disk=ata0:secondary-slave"), 0);
	CHECK_STR(config.disk, "ata0:secondary-slave");
	static const char *const bad[] = { "disk=", "disk=nvme", "disk=sda", "disk=NVME0N1", "disk=nvme0n1/x",
					   "disk=ahci0:port1234567890123456" };
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		reset();
		CHECK_EQ(config_parse_cmdline(bad[i]), -E_INVAL);
		CHECK_STR(config.disk, "");
	}
}

TEST(virtio_blk_on_by_default_and_switchable)
{
	reset();
	CHECK(config.virtio_blk);
	CHECK_EQ(config_parse_cmdline("virtio_blk=off"), 0);
	CHECK(!config.virtio_blk);
	CHECK_EQ(file("virtio_blk = on\n"), 0);
	CHECK(config.virtio_blk);
	CHECK_EQ(config_parse_cmdline("virtio_blk=yes"), -E_INVAL);
	CHECK(strstr(fake_log_last, "virtio_blk"));
}

TEST(ncq_on_by_default_and_switchable)
{
	reset();
	CHECK(config.ncq);
	CHECK_EQ(config_parse_cmdline("ncq=off"), 0);
	CHECK(!config.ncq);
	CHECK(config.virtio_blk); /* its own key only */
	CHECK_EQ(file("ncq = on\n"), 0);
	CHECK(config.ncq);
	CHECK_EQ(config_parse_cmdline("ncq=1"), -E_INVAL);
	CHECK(strstr(fake_log_last, "ncq"));
	CHECK(config.ncq);
}

TEST(kernel_and_initrd_names)
{
	reset();
	CHECK_STR(config.kernel, "");
	CHECK_STR(config.initrd, "");
	CHECK_EQ(file("kernel = vmlinuz\ninitrd = initrd.gz\nguest_cmds = console=ttyS0 quiet\n"), 0);
	CHECK_STR(config.kernel, "vmlinuz");
	CHECK_STR(config.initrd, "initrd.gz");
	CHECK_STR(config.guest_cmds, "console=ttyS0 quiet");
	CHECK_EQ(config_check(), 0);
	CHECK_EQ(config_parse_cmdline("ferry.elf kernel=bzImage-6.1"), 0); /* the command line overrides */
	CHECK_STR(config.kernel, "bzImage-6.1");
	reset();
	CHECK_EQ(file("kernel = Vmlinuz\ninitrd = VMLINUZ\n"), 0);
	CHECK_EQ(config_check(), -E_INVAL); /* the same file twice, as FAT sees names */
	reset();
	CHECK_EQ(file("initrd = initrd.gz\n"), 0); /* an initrd for the first module */
	CHECK_EQ(config_check(), 0);
}

TEST(bad_kernel_names_are_refused)
{
	static const char *const bad[] = {
		"kernel =\n", "kernel = boot/vmlinuz\n", "kernel = \\ferry\\vmlinuz\n", "kernel = my kernel\n",
		"initrd = a\tb\n", "kernel = ferry.cfg\n", "initrd = FERRY.ELF\n", "kernel = caf\xc3\xa9\n",
		"kernel = 0123456789012345678901234567890123456789012345678901234567890123\n", /* 64 characters */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset();
		CHECK_EQ(file(bad[i]), -E_INVAL);
		CHECK(fake_log_count == 1);
		CHECK_STR(config.kernel, "");
		CHECK_STR(config.initrd, "");
	}
	reset();
	CHECK_EQ(file("kernel = 012345678901234567890123456789012345678901234567890123456789012\n"), 0); /* 63 */
	CHECK_EQ(strlen(config.kernel), 63);
}

TEST(file_module_names)
{
	CHECK(config_is_file_module("ferry.cfg"));
	CHECK(config_is_file_module("/tmp/x/ferry.cfg"));
	CHECK(!config_is_file_module("ferry.cfg.bak"));
	CHECK(!config_is_file_module("ls /; sha256 /ferry.cfg x"));
	CHECK(!config_is_file_module(""));
}

TEST(client_names_and_keys)
{
	static const char k32[] = "key = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
	static char text[256];
	reset();
	CHECK_STR(config.client_name, "");
	snprintf(text, sizeof(text), "role = client\n%sclient = build-box.7\n", k32);
	CHECK_EQ(file(text), 0);
	CHECK_STR(config.client_name, "build-box.7");
	CHECK_EQ(config_check(), 0);
	reset();
	CHECK_EQ(file("client = 0123456789abcdef0123456789abcdef\n"), 0); /* 32 characters */
	reset();
	CHECK_EQ(file("client = 0123456789abcdef0123456789abcdef0\n"), -E_INVAL); /* 33 */
	CHECK_STR(config.client_name, "");
	CHECK_EQ(config_parse_cmdline("client=a,b"), -E_INVAL);
	CHECK_EQ(file("client = has blank\n"), -E_INVAL);
	CHECK_EQ(file("client = caf\xc3\xa9\n"), -E_INVAL);
	CHECK_EQ(file("client =\n"), -E_INVAL);
	/* A client's key is its own 32-byte key: a 16-byte one (a master?) or
	 * none is refused with the way to make one. */
	reset();
	CHECK_EQ(config_parse_cmdline("role=client key=0123456789abcdef0123456789abcdef"), 0);
	CHECK_EQ(config_check(), -E_INVAL);
	CHECK(fake_log_count > 0);
	reset();
	CHECK_EQ(config_parse_cmdline("role=client"), 0);
	CHECK_EQ(config_check(), -E_INVAL);
	/* The server's list of clients. */
	reset();
	CHECK_STR(config.clients, "");
	CHECK_EQ(file("role = server\nkey = 0123456789abcdef0123456789abcdef\nclients = alpha, beta ,gamma\n"), 0);
	CHECK_STR(config.clients, "alpha,beta,gamma");
	CHECK_EQ(config_check(), 0);
	CHECK_EQ(config_parse_cmdline("clients=one"), 0);
	CHECK_STR(config.clients, "one");
	CHECK_EQ(file("clients = a,,b\n"), -E_INVAL);
	CHECK_EQ(file("clients = a,\n"), -E_INVAL);
	CHECK_EQ(file("clients = ,a\n"), -E_INVAL);
	CHECK_EQ(file("clients = a b\n"), -E_INVAL);
	CHECK_EQ(file("clients =\n"), -E_INVAL);
	char big[1200] = "clients = ";
	for (int i = 0; i < 100; i++)
		strcat(big, "abcdefghij,");
	strcat(big, "z\n");
	CHECK_EQ(file(big), -E_INVAL);
}

TEST(secrets_masked_in_logs)
{
	char out[128];
	config_mask_secrets("ferry.elf role=client key=0123456789abcdef0123456789abcdef nic=e1000", out, sizeof(out));
	CHECK_STR(out, "ferry.elf role=client key=<hidden> nic=e1000");
	config_mask_secrets("key=00112233445566778899aabbccddeeff", out, sizeof(out));
	CHECK_STR(out, "key=<hidden>");
	config_mask_secrets("monkey=1 key=ab", out, sizeof(out)); /* only the key itself */
	CHECK_STR(out, "monkey=1 key=<hidden>");
	config_mask_secrets("key=ab", out, 6); /* truncated, still terminated, never the secret */
	CHECK_STR(out, "key=<");
	/* after a newline or tab (found by fuzz_config), and up to one */
	config_mask_secrets("nic=e1000\nkey=00112233\tkey=44556677 role=client", out, sizeof(out));
	CHECK_STR(out, "nic=e1000\nkey=<hidden> role=client");
	config_mask_secrets("key=0011\x05" "2233 nic=e1000", out, sizeof(out)); /* a control byte inside */
	CHECK_STR(out, "key=<hidden> nic=e1000");
}

TEST(aoe_keys)
{
	reset();
	CHECK(!config.aoe);
	CHECK_EQ(config.aoe_shelf, 0);
	CHECK_EQ(config.aoe_slot, 0);
	CHECK_EQ(file("role = server\nkey = 00112233445566778899AABBCCDDEEFF\naoe = on\naoe_shelf = 65534\n"
		      "aoe_slot = 254\naoe_allow = 52:54:00:00:00:01, 02-00-00-00-00-0a\n"),
		 0);
	CHECK(config.aoe);
	CHECK_EQ(config.aoe_shelf, 65534);
	CHECK_EQ(config.aoe_slot, 254);
	CHECK_EQ(config.aoe_nallow, 2);
	CHECK_EQ(config.aoe_allow[1][5], 0x0a);
	CHECK_EQ(config_check(), 0);
	CHECK_EQ(file("aoe_shelf = 65535\n"), -E_INVAL); /* the broadcast shelf */
	CHECK_EQ(file("aoe_slot = 255\n"), -E_INVAL);
	CHECK_EQ(file("aoe_allow = 52:54:00:00:00\n"), -E_INVAL);
	CHECK_EQ(file("aoe_allow = 52:54:00:00:00:01,\n"), -E_INVAL);
	CHECK_EQ(file("aoe = yes\n"), -E_INVAL);
	CHECK_EQ(config.aoe_nallow, 2); /* a refused value changes nothing */
	char many[400] = "aoe_allow = ";
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s02:00:00:00:00:%02x", i ? "," : "", i);
	CHECK_EQ(file(many), -E_INVAL);
	reset();
	CHECK_EQ(file("role = client\naoe = on\n"), 0);
	CHECK_EQ(config_check(), -E_INVAL); /* AoE target is a server's */
	CHECK(strstr(fake_log_last, "aoe=on") != NULL);
}

TEST(aoe_client_keys)
{
	reset();
	CHECK_EQ(config.protocol, PROTO_FERRY);
	CHECK_EQ(file("role = client\nprotocol = aoe\n"), 0);
	CHECK_EQ(config_check(), 0); /* no key: AoE has none */
	CHECK(!config.aoe_want_target);
	CHECK_EQ(file("target = e65534.254\n"), 0);
	CHECK(config.aoe_want_target);
	CHECK_EQ(config.aoe_target_shelf, 65534);
	CHECK_EQ(config.aoe_target_slot, 254);
	CHECK_EQ(file("target = E1.2\n"), 0);
	CHECK_EQ(config.aoe_target_shelf, 1);
	CHECK_EQ(config.aoe_target_slot, 2);
	CHECK_EQ(file("target = e65535.0\n"), -E_INVAL);
	CHECK_EQ(file("target = e1.255\n"), -E_INVAL);
	CHECK_EQ(file("target = e1\n"), -E_INVAL);
	CHECK_EQ(file("target = 1.2\n"), -E_INVAL);
	CHECK_EQ(file("target = e.2\n"), -E_INVAL);
	CHECK_EQ(file("target = e1.\n"), -E_INVAL);
	CHECK_EQ(file("protocol = nbd\n"), -E_INVAL);
	CHECK_EQ(config.aoe_target_shelf, 1);
	CHECK_EQ(file("key = 00112233445566778899AABBCCDDEEFF\n"), 0);
	CHECK_EQ(config_check(), -E_INVAL);
	CHECK(strstr(fake_log_last, "no authentication") != NULL);
	reset();
	CHECK_EQ(file("role = server\nkey = 00112233445566778899AABBCCDDEEFF\nprotocol = aoe\n"), 0);
	CHECK_EQ(config_check(), -E_INVAL);
	reset();
	CHECK_EQ(file("role = client\ntarget = e0.0\n"), 0); /* target= without protocol=aoe */
	CHECK_EQ(config_check(), -E_INVAL);
}

/* ---- Several exports (platform/config_export.c) ------------------------------- */

static const char SRV[] = "role = server\nkey = 0123456789abcdef0123456789abcdef\n";

static int server_file(const char *lines)
{
	char text[2048];
	snprintf(text, sizeof(text), "%s%s", SRV, lines);
	int rc = file(text);
	return rc < 0 ? rc : config_check();
}

/* The error line says this. */
static bool said(const char *what)
{
	return strstr(fake_log_last, what) != NULL;
}

TEST(no_export_lines_export_the_one_disk_as_before)
{
	reset();
	CHECK_EQ(server_file("disk = virtio1\nread_only = yes\naoe = on\naoe_shelf = 3\naoe_slot = 4\n"
			     "aoe_allow = 52:54:00:c1:00:01\n"), 0);
	CHECK_EQ(config.nexports, 1);
	const struct config_export *e = &config.exports[0];
	CHECK_STR(e->name, "default");
	CHECK_STR(e->disk, "virtio1");
	CHECK(e->read_only);
	CHECK(e->shared); /* no writer rule: what existing configurations did */
	CHECK(e->aoe);
	CHECK_EQ(e->aoe_shelf, 3);
	CHECK_EQ(e->aoe_slot, 4);
	CHECK_EQ(e->aoe_nallow, 1);
	CHECK_STR(e->clients, "");
	/* A local ferry has no exports. */
	reset();
	CHECK_EQ(config_check(), 0);
	CHECK_EQ(config.nexports, 0);
}

TEST(export_lines)
{
	reset();
	CHECK_EQ(server_file("aoe = on\nread_only = yes\naoe_allow = 52:54:00:00:00:09\n"
			     "export = home   disk=virtio0 aoe=e1.0 clients=alice read_only=no\n"
			     "export = lib\tdisk=ahci0:port1  clients=alice,bob aoe=e1.1 aoe_allow=52:54:00:c1:00:01,"
			     "52:54:00:c1:00:02 shared=yes\n"
			     "export = scratch disk=nvme0n1\n"), 0);
	CHECK_EQ(config.nexports, 3);
	const struct config_export *e = config.exports;
	CHECK_STR(e[0].name, "home");
	CHECK_STR(e[0].disk, "virtio0");
	CHECK_STR(e[0].clients, "alice");
	CHECK(!e[0].read_only);
	CHECK(!e[0].shared);
	CHECK(e[0].aoe);
	CHECK_EQ(e[0].aoe_shelf, 1);
	CHECK_EQ(e[0].aoe_slot, 0);
	CHECK_EQ(e[0].aoe_nallow, 1); /* the server-wide aoe_allow */
	CHECK_EQ(e[0].aoe_allow[0][5], 9);
	CHECK_STR(e[1].clients, "alice,bob");
	CHECK(e[1].read_only); /* the server-wide read_only */
	CHECK(e[1].shared);
	CHECK_EQ(e[1].aoe_nallow, 2);
	CHECK_EQ(e[1].aoe_allow[1][5], 2);
	CHECK(!e[2].aoe);
	CHECK_STR(e[2].disk, "nvme0n1");
	/* The command line's key=value words: an export line without blanks. */
	reset();
	CHECK_EQ(file(SRV), 0);
	CHECK_EQ(config_parse_cmdline("ferry.elf export=solo"), 0);
	CHECK_EQ(config_check(), -E_INVAL);
	CHECK(said("export solo names no disk: add disk=NAME"));
}

TEST(export_line_errors)
{
	reset();
	CHECK_EQ(server_file("export = home\n"), -E_INVAL);
	CHECK(said("export home names no disk"));
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0\nexport = b disk=virtio0\n"), -E_INVAL);
	CHECK(said("exports a and b both name disk=virtio0"));
	reset();
	CHECK_EQ(server_file("aoe = on\nexport = a disk=virtio0 aoe=e1.2\nexport = b disk=virtio1 aoe=e1.2\n"), -E_INVAL);
	CHECK(said("exports a and b both have the AoE address e1.2"));
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0\nexport = A disk=virtio1\n"), -E_INVAL);
	CHECK(said("export A is named twice"));
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0 aoe=e1.2\n"), -E_INVAL);
	CHECK(said("aoe is off"));
	reset();
	CHECK_EQ(server_file("aoe = on\nexport = a disk=virtio0\n"), -E_INVAL);
	CHECK(said("no export line has an aoe=eS.N address"));
	reset();
	CHECK_EQ(server_file("disk = virtio0\nexport = a disk=virtio1\n"), -E_INVAL);
	CHECK(said("disk is for a server without export lines"));
	reset();
	CHECK_EQ(server_file("aoe_slot = 1\nexport = a disk=virtio1\n"), -E_INVAL);
	CHECK(said("aoe_shelf/aoe_slot is for a server without export lines"));
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0 size=3\n"), -E_INVAL);
	CHECK(said("export a: unknown option size"));
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0 shared\n"), -E_INVAL);
	CHECK(said("is not key=value"));
	reset();
	CHECK_EQ(server_file("export = a disk=floppy0\n"), -E_INVAL);
	CHECK(said("name a disk as ferry's log does"));
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0 clients=al ice\n"), -E_INVAL);
	reset();
	CHECK_EQ(server_file("export = -a disk=virtio0\n"), -E_INVAL);
	CHECK(said("an export line starts with its name"));
	reset();
	char many[1024] = "";
	for (unsigned i = 0; i <= CONFIG_EXPORTS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "export = e%u disk=virtio%u\n", i, i);
	CHECK_EQ(server_file(many), -E_INVAL);
	CHECK(said("more than 8 export lines"));
	/* Export lines are a server's; export = N a ferry client's. */
	reset();
	CHECK_EQ(file("role = client\nexport = a disk=virtio0\n"
		      "key = a2e89e3576ba7e74b39b828b3358debee59b175c59ea98a1e9cd341ff201c5b6\n"), 0);
	CHECK_EQ(config_check(), -E_INVAL);
	CHECK(said("export lines (export = a ...) are for role=server"));
	reset();
	CHECK_EQ(server_file("export = 1\n"), -E_INVAL);
	CHECK(said("a server's export line starts with a name"));
}

TEST(client_export_number)
{
	reset();
	CHECK(!config.want_export);
	CHECK_EQ(config_parse_cmdline("ferry.elf role=client key=a2e89e3576ba7e74b39b828b3358debee59b175c59ea98a1e9cd341ff201c5b6 export=3"), 0);
	CHECK_EQ(config_check(), 0);
	CHECK(config.want_export);
	CHECK_EQ(config.export_index, 3);
	reset();
	CHECK_EQ(config_parse_cmdline("export=65535"), -E_INVAL);
	reset();
	CHECK_EQ(config_parse_cmdline("role=client protocol=aoe export=1"), 0);
	CHECK_EQ(config_check(), -E_INVAL);
	CHECK(said("AoE clients use target="));
}

/* Mistakes in export lines that used to be taken silently. */
TEST(export_line_mistakes_are_errors)
{
	/* read_only=yes then =no: which is meant?  Not "the last". */
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0 read_only=yes read_only=no\n"), -E_INVAL);
	CHECK(said("export a: read_only= given twice in its line"));
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0 disk=virtio1\n"), -E_INVAL);
	CHECK(said("export a: disk= given twice"));
	/* aoe_allow without aoe: the admin believes AoE is narrowed. */
	reset();
	CHECK_EQ(server_file("aoe = on\nexport = a disk=virtio0 aoe_allow=52:54:00:c1:00:01\n"
			     "export = b disk=virtio1 aoe=e1.0\n"), -E_INVAL);
	CHECK(said("export a has aoe_allow= but no aoe=eS.N"));
	/* An export for a client the server does not enroll: nobody could
	 * import it. */
	reset();
	CHECK_EQ(server_file("clients = alice\nexport = a disk=virtio0 clients=alice,bob\n"), -E_INVAL);
	CHECK(said("export a: clients= names bob, who is not in the server's clients= (alice)"));
	/* What is right stays right. */
	reset();
	CHECK_EQ(server_file("clients = alice,bob\naoe = on\n"
			     "export = a disk=virtio0 clients=bob aoe=e1.0 aoe_allow=52:54:00:c1:00:01 read_only=yes\n"
			     "export = b disk=virtio1 clients=alice,bob\n"), 0);
	CHECK_EQ(config.nexports, 2);
	CHECK(config.exports[0].read_only);
	reset();
	CHECK_EQ(server_file("export = a disk=virtio0 clients=carol\n"), 0); /* no server-wide list: any */
}

int main(void)
{
	RUN(defaults);
	RUN(file_with_comments_blanks_and_spaces);
	RUN(command_line_overrides_file);
	RUN(dead_time);
	RUN(bad_file_lines_are_refused);
	RUN(bad_command_lines_are_refused);
	RUN(virtio_blk_on_by_default_and_switchable);
	RUN(ncq_on_by_default_and_switchable);
	RUN(kernel_and_initrd_names);
	RUN(bad_kernel_names_are_refused);
	RUN(file_module_names);
	RUN(client_names_and_keys);
	RUN(secrets_masked_in_logs);
	RUN(disk_names);
	RUN(aoe_keys);
	RUN(aoe_client_keys);
	RUN(no_export_lines_export_the_one_disk_as_before);
	RUN(export_lines);
	RUN(export_line_errors);
	RUN(client_export_number);
	RUN(export_line_mistakes_are_errors);
	return CHECK_SUMMARY();
}
