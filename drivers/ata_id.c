/* IDENTIFY DEVICE parsing and ATA command names, shared by the AHCI and IDE
 * drivers (see ata_id.h). */
#include "ata_id.h"
#include "platform/console.h"

/* ATA strings hold two characters per word, the first in the high byte. */
static void ata_id_string(const u16 *id, unsigned word, unsigned nchars, char *out)
{
	for (unsigned i = 0; i < nchars; i += 2) {
		u16 w = id[word + i / 2];
		out[i] = (char)(w >> 8);
		out[i + 1] = (char)w;
	}
	out[nchars] = '\0';
	for (unsigned i = 0; i < nchars; i++)
		if (out[i] < 0x20 || out[i] > 0x7E)
			out[i] = ' ';
	for (unsigned i = nchars; i > 0 && out[i - 1] == ' '; i--)
		out[i - 1] = '\0';
}

void ata_id_model(const u16 *id, char *out)
{
	ata_id_string(id, ATA_ID_MODEL, ATA_ID_MODEL_LEN, out);
}

int ata_id_parse(const u16 *id, const char *who, struct ata_ident *out)
{
	if (id[ATA_ID_CONFIG] & BIT(15)) {
		log_err("%s: IDENTIFY data says this is not an ATA device", who);
		return -E_IO;
	}
	if ((id[ATA_ID_INTEGRITY] & 0xFF) == 0xA5) {
		u8 sum = 0;
		for (unsigned i = 0; i < ATA_ID_WORDS; i++)
			sum += (u8)(id[i] + (id[i] >> 8));
		if (sum)
			log_warn("%s: IDENTIFY data checksum is wrong; using it anyway", who);
	}

	/* Word 83 is valid when bits 15:14 read 01b. */
	bool lba48 = (id[ATA_ID_CMDSET2] & 0xC000) == 0x4000 && (id[ATA_ID_CMDSET2] & BIT(10));
	u64 sectors = 0;
	if (lba48)
		for (unsigned i = 0; i < 4; i++)
			sectors |= (u64)id[ATA_ID_LBA48_SECTORS + i] << (16 * i);
	if (!sectors) {
		lba48 = false;
		if (!(id[ATA_ID_CAPABILITY] & BIT(9))) {
			log_err("%s: the disk does not support LBA addressing", who);
			return -E_NOTSUP;
		}
		sectors = id[ATA_ID_LBA28_SECTORS] | (u32)id[ATA_ID_LBA28_SECTORS + 1] << 16;
	}

	u32 ss = 512;
	u16 w106 = id[ATA_ID_SECTOR_SIZE];
	if ((w106 & 0xC000) == 0x4000 && (w106 & BIT(12)))
		ss = 2 * (id[ATA_ID_LOGICAL_SIZE] | (u32)id[ATA_ID_LOGICAL_SIZE + 1] << 16);
	if (ss != 512 && ss != 4096) {
		log_err("%s: logical sector size %u is not supported", who, ss);
		return -E_NOTSUP;
	}
	if (!sectors) {
		log_err("%s: the disk reports no capacity", who);
		return -E_IO;
	}

	*out = (struct ata_ident){
		.sectors = sectors,
		.sector_size = ss,
		.lba48 = lba48,
		.dma = id[ATA_ID_CAPABILITY] & BIT(8),
	};
	ata_id_string(id, ATA_ID_MODEL, ATA_ID_MODEL_LEN, out->model);
	ata_id_string(id, ATA_ID_SERIAL, ATA_ID_SERIAL_LEN, out->serial);
	return 0;
}

const char *ata_cmd_name(u8 cmd)
{
	switch (cmd) {
	case ATA_CMD_READ_SECTORS: return "READ SECTORS";
	case ATA_CMD_READ_SECTORS_EXT: return "READ SECTORS EXT";
	case ATA_CMD_WRITE_SECTORS: return "WRITE SECTORS";
	case ATA_CMD_WRITE_SECTORS_EXT: return "WRITE SECTORS EXT";
	case ATA_CMD_READ_DMA: return "READ DMA";
	case ATA_CMD_WRITE_DMA: return "WRITE DMA";
	case ATA_CMD_READ_DMA_EXT: return "READ DMA EXT";
	case ATA_CMD_WRITE_DMA_EXT: return "WRITE DMA EXT";
	case ATA_CMD_FLUSH_CACHE: return "FLUSH CACHE";
	case ATA_CMD_FLUSH_CACHE_EXT: return "FLUSH CACHE EXT";
	case ATA_CMD_IDENTIFY_DEVICE: return "IDENTIFY DEVICE";
	case ATA_CMD_IDENTIFY_PACKET: return "IDENTIFY PACKET DEVICE";
	default: return "command";
	}
}
