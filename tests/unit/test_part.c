/* Partition table parsing (guest/part.c) on RAM disks built here. */
#include "check.h"
#include "guest/part.h"
#include "guest/alloc.h"
#include <stdlib.h>

struct ram {
	struct disk d;
	u8 *img;
	unsigned reads;
};

static int ram_read(struct disk *d, u64 lba, u32 count, void *buf)
{
	struct ram *r = (struct ram *)d;
	r->reads++;
	memcpy(buf, r->img + lba * d->sector_size, (size_t)count * d->sector_size);
	return 0;
}

static int ram_write(struct disk *d, u64 lba, u32 count, const void *buf)
{
	struct ram *r = (struct ram *)d;
	memcpy(r->img + lba * d->sector_size, buf, (size_t)count * d->sector_size);
	return 0;
}

/* Images are also remembered here so a failing CHECK (which returns
 * early) does not leak them. */
static u8 *all_imgs[64];
static size_t n_imgs;

static void ram_init(struct ram *r, u32 ss, u64 sectors)
{
	memset(r, 0, sizeof(*r));
	r->d.name = "ld0";
	r->d.driver = "ram";
	r->d.sector_size = ss;
	r->d.sectors = sectors;
	r->d.read = ram_read;
	r->d.write = ram_write;
	r->img = calloc(sectors, ss);
	if (n_imgs < ARRAY_SIZE(all_imgs))
		all_imgs[n_imgs++] = r->img;
}

static void ram_free(struct ram *r)
{
	(void)r; /* freed by ram_free_all() */
}

static void ram_free_all(void)
{
	while (n_imgs)
		free(all_imgs[--n_imgs]);
}

/* A minimal FAT16-looking boot sector at `lba`. */
static void put_bpb(struct ram *r, u64 lba)
{
	u8 *s = r->img + lba * r->d.sector_size;
	s[0] = 0xeb;
	s[1] = 0x3c;
	s[2] = 0x90;
	put_le16(s + 11, (u16)r->d.sector_size);
	s[13] = 4;
	put_le16(s + 14, 1);
	s[16] = 2;
	put_le16(s + 17, 512);
	put_le16(s + 19, 0);
	s[21] = 0xf8;
	put_le16(s + 22, 32);
	put_le32(s + 32, 100000);
	s[510] = 0x55;
	s[511] = 0xaa;
}

static void put_mbr_entry(struct ram *r, int i, u8 status, u8 type, u32 start, u32 count)
{
	u8 *e = r->img + 446 + 16 * i;
	e[0] = status;
	e[4] = type;
	put_le32(e + 8, start);
	put_le32(e + 12, count);
	r->img[510] = 0x55;
	r->img[511] = 0xaa;
}

static const u8 guid_basic[16] = { 0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44,
				   0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7 };
static const u8 guid_esp[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
				 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
static const u8 guid_linux[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
				   0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 };

struct gpt_part {
	const u8 *type;
	u64 first, last;
};

/* Writes one GPT header + entry array pair (primary or backup), following
 * the UEFI layout: header at hdr_lba, 128 entries of 128 bytes at ent_lba. */
static void put_gpt_copy(struct ram *r, u64 hdr_lba, u64 alt_lba, u64 ent_lba,
			 const struct gpt_part *p, int np)
{
	u32 ss = r->d.sector_size;
	u8 *ents = r->img + ent_lba * ss;
	memset(ents, 0, 128 * 128);
	for (int i = 0; i < np; i++) {
		u8 *e = ents + 128 * i;
		memcpy(e, p[i].type, 16);
		e[16] = (u8)(i + 1); /* unique GUID, any value */
		put_le64(e + 32, p[i].first);
		put_le64(e + 40, p[i].last);
	}
	u8 *h = r->img + hdr_lba * ss;
	memset(h, 0, ss);
	memcpy(h, "EFI PART", 8);
	put_le32(h + 8, 0x00010000);
	put_le32(h + 12, 92);
	put_le64(h + 24, hdr_lba);
	put_le64(h + 32, alt_lba);
	u64 ent_secs = 128 * 128 / ss;
	put_le64(h + 40, 2 + ent_secs);
	put_le64(h + 48, r->d.sectors - 2 - ent_secs);
	h[56] = 0x42; /* disk GUID */
	put_le64(h + 72, ent_lba);
	put_le32(h + 80, 128);
	put_le32(h + 84, 128);
	put_le32(h + 88, part_crc32(0, ents, 128 * 128));
	put_le32(h + 16, part_crc32(0, h, 92));
}

static void put_gpt(struct ram *r, const struct gpt_part *p, int np)
{
	u32 ss = r->d.sector_size;
	u64 last = r->d.sectors - 1, ent_secs = 128 * 128 / ss;
	put_mbr_entry(r, 0, 0, 0xee, 1, (u32)MIN(last, 0xffffffffULL));
	put_gpt_copy(r, 1, last, 2, p, np);
	put_gpt_copy(r, last, 1, last - ent_secs, p, np);
}

TEST(part_crc32_check_value)
{
	CHECK_EQ(part_crc32(0, "123456789", 9), 0xcbf43926);
	CHECK_EQ(part_crc32(part_crc32(0, "1234", 4), "56789", 5), 0xcbf43926);
	CHECK_EQ(part_crc32(0, "", 0), 0);
}

TEST(part_superfloppy)
{
	struct ram r;
	struct part_info pi;
	ram_init(&r, 512, 8192);
	put_bpb(&r, 0);
	/* Boot code bytes where a table would be must not matter. */
	put_mbr_entry(&r, 0, 0x12, 0x34, 99999999, 5);
	CHECK_EQ(part_find_fat(&r.d, &pi), 0);
	CHECK_EQ(pi.scheme, PART_SCHEME_NONE);
	CHECK_STR(part_scheme_name(pi.scheme), "none");
	CHECK_EQ(pi.start_lba, 0);
	CHECK_EQ(pi.sectors, 8192);
	ram_free(&r);
}

TEST(part_empty_disk)
{
	struct ram r;
	struct part_info pi;
	ram_init(&r, 512, 100);
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_NOENT);
	CHECK(pi.why != NULL);
	ram_free(&r);
}

TEST(part_mbr)
{
	struct ram r;
	struct part_info pi;
	ram_init(&r, 512, 65536);
	put_mbr_entry(&r, 0, 0x80, 0x83, 2048, 1000);  /* Linux */
	put_mbr_entry(&r, 1, 0x00, 0x0c, 4096, 2000);  /* FAT32 type, no BPB */
	put_mbr_entry(&r, 3, 0x00, 0x0e, 8192, 50000); /* FAT16 LBA with BPB */
	put_bpb(&r, 8192);
	CHECK_EQ(part_find_fat(&r.d, &pi), 0);
	CHECK_EQ(pi.scheme, PART_SCHEME_MBR);
	CHECK_EQ(pi.index, 3);
	CHECK_EQ(pi.start_lba, 8192);
	CHECK_EQ(pi.sectors, 50000);
	/* Now the earlier FAT-type partition gets a BPB and wins. */
	put_bpb(&r, 4096);
	CHECK_EQ(part_find_fat(&r.d, &pi), 0);
	CHECK_EQ(pi.index, 1);
	CHECK_EQ(pi.start_lba, 4096);
	ram_free(&r);
}

TEST(part_mbr_all_fat_types)
{
	static const u8 types[] = { 0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e };
	for (size_t i = 0; i < sizeof(types); i++) {
		struct ram r;
		struct part_info pi;
		ram_init(&r, 512, 4096);
		put_mbr_entry(&r, 2, 0, types[i], 63, 4000);
		put_bpb(&r, 63);
		CHECK_EQ(part_find_fat(&r.d, &pi), 0);
		CHECK_EQ(pi.start_lba, 63);
		ram_free(&r);
	}
}

TEST(part_mbr_no_fat)
{
	struct ram r;
	struct part_info pi;
	ram_init(&r, 512, 65536);
	put_mbr_entry(&r, 0, 0x80, 0x83, 2048, 1000);
	put_bpb(&r, 2048); /* looks like FAT but the type says Linux */
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_NOENT);
	CHECK_STR(pi.why, "no FAT partition");
	ram_free(&r);
}

TEST(part_mbr_corrupt)
{
	struct ram r;
	struct part_info pi;
	ram_init(&r, 512, 65536);
	put_mbr_entry(&r, 0, 0x33, 0x0c, 2048, 1000);
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_CORRUPT);
	CHECK_STR(pi.why, "mbr status byte");
	put_mbr_entry(&r, 0, 0x00, 0x0c, 2048, 65536);
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_CORRUPT);
	CHECK_STR(pi.why, "mbr partition outside disk");
	ram_free(&r);
}

static void gpt_case(u32 ss, u64 sectors)
{
	struct ram r;
	struct part_info pi;
	struct gpt_part p[3] = {
		{ guid_linux, 64, 127 },
		{ guid_esp, 128, 255 },
		{ guid_basic, 256, sectors - 64 },
	};
	ram_init(&r, ss, sectors);
	put_gpt(&r, p, 3);
	/* No partition carries a BPB yet. */
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_NOENT);
	CHECK_EQ(pi.scheme, PART_SCHEME_GPT);
	put_bpb(&r, 256);
	CHECK_EQ(part_find_fat(&r.d, &pi), 0);
	CHECK_EQ(pi.scheme, PART_SCHEME_GPT);
	CHECK_EQ(pi.index, 2);
	CHECK_EQ(pi.start_lba, 256);
	CHECK_EQ(pi.sectors, sectors - 64 - 256 + 1);
	CHECK(!pi.gpt_backup);
	put_bpb(&r, 128);
	CHECK_EQ(part_find_fat(&r.d, &pi), 0);
	CHECK_EQ(pi.index, 1);
	CHECK_EQ(pi.sectors, 128);
	/* A bad primary header falls back to the backup. */
	r.img[ss + 20] ^= 1;
	CHECK_EQ(part_find_fat(&r.d, &pi), 0);
	CHECK(pi.gpt_backup);
	CHECK_EQ(pi.start_lba, 128);
	/* Both bad: corrupt, with the primary's reason. */
	r.img[(sectors - 1) * ss + 20] ^= 1;
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_CORRUPT);
	CHECK_STR(pi.why, "gpt header crc");
	ram_free(&r);
}

TEST(part_gpt_512)
{
	gpt_case(512, 20000);
}

TEST(part_gpt_4096)
{
	gpt_case(4096, 4000);
}

TEST(part_gpt_bad_entries_crc)
{
	struct ram r;
	struct part_info pi;
	struct gpt_part p[1] = { { guid_basic, 100, 900 } };
	ram_init(&r, 512, 2048);
	put_gpt(&r, p, 1);
	put_bpb(&r, 100);
	CHECK_EQ(part_find_fat(&r.d, &pi), 0);
	/* Flip a byte in an unused entry of both arrays: CRC mismatch. */
	r.img[2 * 512 + 128 * 5 + 60] = 1;
	r.img[(2048 - 33) * 512 + 128 * 5 + 60] = 1;
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_CORRUPT);
	CHECK_STR(pi.why, "gpt entries crc");
	ram_free(&r);
}

TEST(part_gpt_bad_my_lba_and_signature)
{
	struct ram r;
	struct part_info pi;
	struct gpt_part p[1] = { { guid_basic, 100, 900 } };
	ram_init(&r, 512, 2048);
	put_gpt(&r, p, 1);
	put_bpb(&r, 100);
	/* Backup header gone; primary claims to live at LBA 5 (CRC fixed). */
	memset(r.img + 2047 * 512, 0, 512);
	u8 *h = r.img + 512;
	put_le64(h + 24, 5);
	put_le32(h + 16, 0);
	put_le32(h + 16, part_crc32(0, h, 92));
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_CORRUPT);
	CHECK_STR(pi.why, "gpt my_lba");
	memset(h, 0, 8);
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_CORRUPT);
	CHECK_STR(pi.why, "gpt signature");
	ram_free(&r);
}

TEST(part_gpt_partition_outside)
{
	struct ram r;
	struct part_info pi;
	struct gpt_part p[1] = { { guid_basic, 100, 2040 } }; /* beyond last usable */
	ram_init(&r, 512, 2048);
	put_gpt(&r, p, 1);
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_CORRUPT);
	CHECK_STR(pi.why, "gpt partition outside usable range");
	ram_free(&r);
}

TEST(part_gpt_huge_array_refused)
{
	struct ram r;
	struct part_info pi;
	struct gpt_part p[1] = { { guid_basic, 100, 900 } };
	ram_init(&r, 512, 2048);
	put_gpt(&r, p, 1);
	memset(r.img + 2047 * 512, 0, 512);
	u8 *h = r.img + 512;
	put_le32(h + 80, 0x10000000); /* 2^28 entries */
	put_le32(h + 16, 0);
	put_le32(h + 16, part_crc32(0, h, 92));
	CHECK_EQ(part_find_fat(&r.d, &pi), -E_CORRUPT);
	CHECK_STR(pi.why, "gpt entry array size");
	ram_free(&r);
}


/* Random damage to a GPT disk: any answer is fine, a crash is not. */
TEST(part_gpt_fuzz)
{
	struct ram r;
	struct part_info pi;
	struct gpt_part p[2] = { { guid_esp, 64, 127 }, { guid_basic, 128, 1900 } };
	u32 rng = 99;
	int found = 0;
	ram_init(&r, 512, 2048);
	u8 *base = malloc(2048 * 512);
	put_gpt(&r, p, 2);
	put_bpb(&r, 128);
	memcpy(base, r.img, 2048 * 512);
	for (int round = 0; round < 3000; round++) {
		memcpy(r.img, base, 2048 * 512);
		for (int k = 0; k < 4; k++) {
			rng = rng * 1103515245u + 12345u;
			/* MBR, primary header and first entries, or the backup's */
			u32 at = (rng >> 4) % (3 * 512);
			if (rng & 0x8)
				at = 2047 * 512 + (at % 512) - (rng & 0x4 ? 32 * 512 : 0);
			rng = rng * 1103515245u + 12345u;
			r.img[at] = (u8)(rng >> 16);
		}
		rng = rng * 1103515245u + 12345u;
		if (rng & 0x100) {
			/* Keep the header CRC right so the checks behind it run. */
			u8 *h = r.img + 512;
			u32 hs = le32_at(h + 12);
			if (hs >= 92 && hs <= 512) {
				put_le32(h + 16, 0);
				put_le32(h + 16, part_crc32(0, h, hs));
			}
		}
		if (part_find_fat(&r.d, &pi) == 0) {
			found++;
			CHECK(pi.start_lba + pi.sectors <= 2048);
		}
	}
	free(base);
	printf("  3000 damaged tables, %d still gave a partition\n", found);
	ram_free(&r);
}

TEST(part_disk_wrappers)
{
	struct ram r;
	u32 buf[128];
	ram_init(&r, 512, 10);
	CHECK_EQ(disk_read(&r.d, 9, 1, buf), 0);
	CHECK_EQ(disk_read(&r.d, 9, 2, buf), -E_RANGE);
	CHECK_EQ(disk_read(&r.d, 10, 1, buf), -E_RANGE);
	CHECK_EQ(disk_read(&r.d, 0, 0, buf), -E_INVAL);
	CHECK_EQ(disk_read(&r.d, 0, 1, (u8 *)buf + 1), -E_INVAL);
	CHECK_EQ(disk_write(&r.d, ~0ULL, 2, buf), -E_RANGE);
	CHECK_EQ(disk_flush(&r.d), 0);
	ram_free(&r);
}

int main(void)
{
	RUN(part_crc32_check_value);
	RUN(part_superfloppy);
	RUN(part_empty_disk);
	RUN(part_mbr);
	RUN(part_mbr_all_fat_types);
	RUN(part_mbr_no_fat);
	RUN(part_mbr_corrupt);
	RUN(part_gpt_512);
	RUN(part_gpt_4096);
	RUN(part_gpt_bad_entries_crc);
	RUN(part_gpt_bad_my_lba_and_signature);
	RUN(part_gpt_partition_outside);
	RUN(part_gpt_huge_array_refused);
	RUN(part_gpt_fuzz);
	RUN(part_disk_wrappers);
	ram_free_all();
	return CHECK_SUMMARY();
}
