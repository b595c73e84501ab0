/* The ATA command set as both of ferry's disk drivers use it: commands,
 * status and error bits, the device register, and the IDENTIFY DEVICE
 * data with its parser (drivers/ata_id.c).  The AHCI driver
 * (drivers/ahci.c) sends these commands in FISes, the IDE driver
 * (drivers/ata.c) through the task file; the disk answers the same way.
 *
 * References: ATA/ATAPI-6 (T13/1410D) for the task-file registers and
 * protocols, ACS-3 (T13/2161-D) for the commands and the IDENTIFY DEVICE
 * data. */
#ifndef FERRY_ATA_ID_H
#define FERRY_ATA_ID_H

#include "lib/types.h"

/* ---- Commands (ACS-3) --------------------------------------------------- */
#define ATA_CMD_READ_SECTORS 0x20       /* PIO data-in, 28-bit LBA */
#define ATA_CMD_READ_SECTORS_EXT 0x24   /* PIO data-in, 48-bit LBA */
#define ATA_CMD_READ_DMA_EXT 0x25       /* 48-bit LBA, count <= 65536 */
#define ATA_CMD_WRITE_SECTORS 0x30      /* PIO data-out, 28-bit LBA */
#define ATA_CMD_WRITE_SECTORS_EXT 0x34  /* PIO data-out, 48-bit LBA */
#define ATA_CMD_WRITE_DMA_EXT 0x35
#define ATA_CMD_IDENTIFY_PACKET 0xA1    /* ATAPI devices answer this, not ECh */
#define ATA_CMD_READ_DMA 0xC8           /* 28-bit LBA, count <= 256 */
#define ATA_CMD_WRITE_DMA 0xCA
#define ATA_CMD_FLUSH_CACHE 0xE7
#define ATA_CMD_FLUSH_CACHE_EXT 0xEA
#define ATA_CMD_IDENTIFY_DEVICE 0xEC    /* PIO data-in, 512 bytes */

/* Status register (ATA/ATAPI-6, ACS-3 "Status field"). */
#define ATA_STS_ERR BIT(0)  /* the command failed: see the error register */
#define ATA_STS_DRQ BIT(3)  /* the device is ready to move a data block */
#define ATA_STS_DF BIT(5)   /* device fault */
#define ATA_STS_DRDY BIT(6) /* device ready to accept commands */
#define ATA_STS_BSY BIT(7)  /* the device owns the task file */

/* Error register. */
#define ATA_ERR_ABRT BIT(2) /* command aborted (unsupported or bad argument) */
#define ATA_ERR_IDNF BIT(4) /* address not found */
#define ATA_ERR_UNC BIT(6)  /* uncorrectable data */
#define ATA_ERR_ICRC BIT(7) /* interface CRC error */

/* Device register (ATA/ATAPI-6). */
#define ATA_DEV_OBS 0xA0    /* bits 7 and 5: obsolete, written as ones */
#define ATA_DEV_DEV BIT(4)  /* selects device 1 (the "slave") */
#define ATA_DEV_LBA 0x40    /* LBA addressing; 28-bit commands put LBA 27:24 in 3:0 */

#define ATA_LBA28_MAX_COUNT 256   /* a count field of 0 means 256 */
#define ATA_LBA48_MAX_COUNT 65536 /* a count field of 0 means 65536 */
#define ATA_LBA28_LIMIT (1ull << 28)

/* ---- IDENTIFY DEVICE data (ACS-3), in 16-bit words --------------------- */
#define ATA_ID_WORDS 256
#define ATA_ID_CONFIG 0        /* bit 15 set: not an ATA device */
#define ATA_ID_SERIAL 10       /* 10 words, 20 ASCII characters */
#define ATA_ID_SERIAL_LEN 20
#define ATA_ID_MODEL 27        /* 20 words, 40 ASCII characters */
#define ATA_ID_MODEL_LEN 40
#define ATA_ID_CAPABILITY 49   /* bit 9: LBA supported; bit 8: DMA supported */
#define ATA_ID_LBA28_SECTORS 60 /* words 60-61 */
#define ATA_ID_MWDMA 63        /* multiword DMA: 2:0 supported, 10:8 selected */
#define ATA_ID_CMDSET2 83      /* bit 10: 48-bit address feature set supported */
#define ATA_ID_UDMA 88         /* Ultra DMA: 6:0 supported, 14:8 selected */
#define ATA_ID_LBA48_SECTORS 100 /* words 100-103 */
#define ATA_ID_SECTOR_SIZE 106 /* bit 14 set, 15 clear: valid; bit 12: long logical sector */
#define ATA_ID_LOGICAL_SIZE 117 /* words 117-118: logical sector size in words */
#define ATA_ID_INTEGRITY 255   /* A5h in 7:0: checksum in 15:8 */

/* What ferry needs from IDENTIFY DEVICE. */
struct ata_ident {
	u64 sectors;      /* addressable sectors */
	u32 sector_size;  /* logical sector size: 512 or 4096 */
	bool lba48;       /* use the EXT commands */
	bool dma;         /* word 49 bit 8: the device does DMA */
	char model[41];   /* NUL-terminated, trailing blanks removed */
	char serial[21];
};

/* Parses IDENTIFY DEVICE data.  who prefixes the log lines ("ahci: port 0").
 * Returns 0, -E_IO when the data does not describe a usable ATA disk, or
 * -E_NOTSUP for a disk ferry cannot address (no LBA, odd sector size);
 * each failure is logged. */
int ata_id_parse(const u16 *id, const char *who, struct ata_ident *out);

/* The model string of IDENTIFY DEVICE or IDENTIFY PACKET DEVICE data
 * (same place in both): out holds ATA_ID_MODEL_LEN + 1 bytes. */
void ata_id_model(const u16 *id, char *out);

/* A short name for a command, for log lines ("READ DMA EXT"). */
const char *ata_cmd_name(u8 cmd);

#endif
