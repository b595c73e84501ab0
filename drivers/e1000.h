/* Intel 8254x ("e1000") and 82574L ("e1000e") Gigabit Ethernet definitions.
 *
 * Register offsets and bits follow the "PCI/PCI-X Family of Gigabit
 * Ethernet Controllers Software Developer's Manual" (82540EP/EM, 82541xx,
 * 82544GC/EI, 82545GM/EM, 82546GB/EB, 82547xx; "SDM" below), chapter 13.4
 * for registers and chapter 3 for descriptors.  The 82574L keeps every
 * register used here at the same offset and still accepts the legacy
 * descriptors of chapter 3 (while RFCTL.EXTEN is clear, its reset value);
 * where it differs (EERD) both layouts are given.  Access types: RW read/write, RO
 * read only, WO write only, RC clear on read, W1C write 1 to clear, SC
 * self-clearing.  Bits are spelled as masks, never as C bit-fields.
 *
 * The driver itself (drivers/e1000.c) runs one receive and one transmit
 * ring per device, polled, with an optional legacy interrupt. */
#ifndef FERRY_E1000_H
#define FERRY_E1000_H

#include "lib/types.h"
#include "platform/nic.h"

/* ---- PCI identity ------------------------------------------------------ */
#define E1000_PCI_VENDOR 0x8086
#define E1000_DEV_82540EM 0x100E   /* QEMU "e1000", Bochs, VirtualBox */
#define E1000_DEV_82545EM 0x100F   /* QEMU "e1000-82545em" (copper) */
#define E1000_DEV_82574L 0x10D3    /* QEMU "e1000e", q35's default NIC */
#define E1000_PCI_CLASS 0x02       /* network controller */
#define E1000_PCI_SUBCLASS 0x00    /* Ethernet */
#define E1000_PCI_BAR_MMIO 0       /* BAR0: the 128 KiB register window (SDM chapter 4) */

/* ---- General registers (SDM 13.4) -------------------------------------- */
#define E1000_CTRL 0x00000    /* RW 13.4.1 Device Control */
#define E1000_STATUS 0x00008  /* RO 13.4.2 Device Status */
#define E1000_EECD 0x00010    /* RW 13.4.3 EEPROM/Flash Control and Data */
#define E1000_EERD 0x00014    /* RW 13.4.4 EEPROM Read */

/* CTRL (13.4.1) */
#define E1000_CTRL_FD BIT32(0)        /* full duplex (when not auto-resolved) */
#define E1000_CTRL_LRST BIT32(3)      /* link reset: holds the link down while set */
#define E1000_CTRL_ASDE BIT32(5)      /* auto-speed detection enable */
#define E1000_CTRL_SLU BIT32(6)       /* set link up: lets the MAC follow the PHY's link */
#define E1000_CTRL_ILOS BIT32(7)      /* invert loss-of-signal */
#define E1000_CTRL_FRCSPD BIT32(11)   /* force speed */
#define E1000_CTRL_FRCDPLX BIT32(12)  /* force duplex */
#define E1000_CTRL_RST BIT32(26)      /* SC device reset (everything but PCI config) */
#define E1000_CTRL_VME BIT32(30)      /* VLAN mode enable */
#define E1000_CTRL_PHY_RST BIT32(31)  /* PHY reset: holds the PHY in reset while set */

/* STATUS (13.4.2) */
#define E1000_STATUS_FD BIT32(0)         /* full duplex */
#define E1000_STATUS_LU BIT32(1)         /* link up */
#define E1000_STATUS_SPEED_SHIFT 6     /* 7:6 00 10, 01 100, 1x 1000 Mb/s */
#define E1000_STATUS_SPEED_MASK 0x3u

/* EECD (13.4.3) */
#define E1000_EECD_PRES BIT32(8)  /* RO an EEPROM is present */

/* EERD (13.4.4): one 16-bit EEPROM word without bit-banging EECD.  The
 * 8254x (except the 82541/82547) and the 82574L place DONE and the word
 * address differently; the data sits in 31:16 on both. */
#define E1000_EERD_START BIT32(0)       /* W start a read */
#define E1000_EERD_DONE BIT32(4)        /* 8254x: the read finished */
#define E1000_EERD_ADDR_SHIFT 8       /* 8254x: word address in 15:8 */
#define E1000_EERD_82574_DONE BIT32(1)  /* 82574L: the read finished */
#define E1000_EERD_82574_ADDR_SHIFT 2 /* 82574L: word address in 15:2 */
#define E1000_EERD_DATA_SHIFT 16

/* EEPROM words 00h-02h hold the Ethernet address, low byte first (SDM
 * chapter 5, EEPROM address map). */
#define E1000_EEPROM_MAC_WORD 0x00

/* ---- Interrupts (SDM 13.4.17 - 13.4.21) -------------------------------- */
#define E1000_ICR 0x000C0  /* RC/W1C 13.4.17 Interrupt Cause Read */
#define E1000_ICS 0x000C8  /* WO 13.4.19 Interrupt Cause Set */
#define E1000_IMS 0x000D0  /* RW 13.4.20 Interrupt Mask Set/Read */
#define E1000_IMC 0x000D8  /* WO 13.4.21 Interrupt Mask Clear */

/* One layout for ICR, ICS, IMS and IMC. */
#define E1000_INT_TXDW BIT32(0)    /* transmit descriptor written back */
#define E1000_INT_TXQE BIT32(1)    /* transmit queue empty */
#define E1000_INT_LSC BIT32(2)     /* link status change */
#define E1000_INT_RXSEQ BIT32(3)   /* receive sequence error */
#define E1000_INT_RXDMT0 BIT32(4)  /* free receive descriptors below RCTL.RDMTS */
#define E1000_INT_RXO BIT32(6)     /* receiver overrun (no free descriptor) */
#define E1000_INT_RXT0 BIT32(7)    /* receiver timer: a frame arrived */
#define E1000_INT_ALL 0xFFFFFFFFu

/* ---- Receive (SDM 13.4; ring rules 3.2.6) ------------------------------ */
#define E1000_RCTL 0x00100   /* RW 13.4.22 Receive Control */
#define E1000_RDBAL 0x02800  /* RW Receive Descriptor Base Address Low (16-byte aligned) */
#define E1000_RDBAH 0x02804  /* RW Receive Descriptor Base Address High */
#define E1000_RDLEN 0x02808  /* RW Receive Descriptor Length (bytes, multiple of 128) */
#define E1000_RDH 0x02810    /* RW Receive Descriptor Head (the device's next write) */
#define E1000_RDT 0x02818    /* RW Receive Descriptor Tail (one past software's last free) */

/* RCTL (13.4.22) */
#define E1000_RCTL_EN BIT32(1)      /* receiver enable */
#define E1000_RCTL_SBP BIT32(2)     /* store bad packets */
#define E1000_RCTL_UPE BIT32(3)     /* unicast promiscuous */
#define E1000_RCTL_MPE BIT32(4)     /* multicast promiscuous */
#define E1000_RCTL_LPE BIT32(5)     /* long packets (over 1522 bytes) */
#define E1000_RCTL_LBM_MASK (3u << 6)   /* loopback mode: 00 none */
#define E1000_RCTL_RDMTS_HALF (0u << 8) /* RXDMT0 when half the ring is free */
#define E1000_RCTL_MO_MASK (3u << 12)   /* multicast offset into the MTA */
#define E1000_RCTL_BAM BIT32(15)    /* broadcast accept mode */
#define E1000_RCTL_BSIZE_2048 (0u << 16) /* 17:16 with BSEX = 0: 2048-byte buffers */
#define E1000_RCTL_VFE BIT32(18)    /* VLAN filter enable */
#define E1000_RCTL_DPF BIT32(22)    /* discard pause frames */
#define E1000_RCTL_BSEX BIT32(25)   /* buffer size extension (x16) */
#define E1000_RCTL_SECRC BIT32(26)  /* strip the Ethernet CRC from received frames */

/* ---- Transmit (SDM 13.4; ring rules 3.4) ------------------------------- */
#define E1000_TCTL 0x00400   /* RW Transmit Control */
#define E1000_TIPG 0x00410   /* RW Transmit Inter-Packet Gap */
#define E1000_TDBAL 0x03800  /* RW Transmit Descriptor Base Address Low (16-byte aligned) */
#define E1000_TDBAH 0x03804  /* RW Transmit Descriptor Base Address High */
#define E1000_TDLEN 0x03808  /* RW Transmit Descriptor Length (bytes, multiple of 128) */
#define E1000_TDH 0x03810    /* RW Transmit Descriptor Head (the device's next read) */
#define E1000_TDT 0x03818    /* RW Transmit Descriptor Tail (one past software's last queued) */

/* TCTL */
#define E1000_TCTL_EN BIT32(1)    /* transmitter enable */
#define E1000_TCTL_PSP BIT32(3)   /* pad short packets (to 64 bytes with the FCS) */
#define E1000_TCTL_CT_SHIFT 4   /* 11:4 collision threshold (retries) */
#define E1000_TCTL_CT_DEFAULT 0x0Fu      /* the manual's recommended 15 */
#define E1000_TCTL_COLD_SHIFT 12         /* 21:12 collision distance, byte times */
#define E1000_TCTL_COLD_FULL_DUPLEX 0x40u /* 64: the full-duplex value */
#define E1000_TCTL_RTLC BIT32(24) /* retransmit on late collision */

/* TIPG: the IEEE 802.3 inter-packet gap of 96 bit times for copper. */
#define E1000_TIPG_IPGT_COPPER 10u
#define E1000_TIPG_IPGR1_SHIFT 10
#define E1000_TIPG_IPGR1_DEFAULT 8u
#define E1000_TIPG_IPGR2_SHIFT 20
#define E1000_TIPG_IPGR2_DEFAULT 6u

/* ---- Receive filters (SDM 13.4) ----------------------------------------- */
#define E1000_MTA 0x05200     /* RW Multicast Table Array, 128 dwords */
#define E1000_MTA_DWORDS 128
#define E1000_RAL(n) (0x05400 + 8 * (n)) /* RW Receive Address Low: MAC bytes 0-3 */
#define E1000_RAH(n) (0x05404 + 8 * (n)) /* RW Receive Address High: bytes 4-5 in 15:0 */
#define E1000_RAR_ENTRIES 16
#define E1000_RAH_AV BIT32(31)  /* address valid: the filter uses this entry */

/* ---- Descriptors (SDM chapter 3) --------------------------------------- */

/* Receive descriptor (3.2.3): the device fills buffer_addr's buffer and
 * writes length, status and errors back. */
struct e1000_rx_desc {
	u64 buffer_addr; /* 0: buffer address, written by software */
	u16 length;      /* 8: bytes stored in this buffer */
	u16 csum;        /* 10: packet checksum */
	u8 status;       /* 12: E1000_RXD_STAT_* */
	u8 errors;       /* 13: E1000_RXD_ERR_*, valid with EOP */
	u16 special;     /* 14: VLAN tag when VP is set */
} __packed;
_Static_assert(sizeof(struct e1000_rx_desc) == 16, "legacy receive descriptor is 16 bytes");
_Static_assert(offsetof(struct e1000_rx_desc, length) == 8, "RDESC.LENGTH at byte 8");
_Static_assert(offsetof(struct e1000_rx_desc, status) == 12, "RDESC.STATUS at byte 12");
_Static_assert(offsetof(struct e1000_rx_desc, errors) == 13, "RDESC.ERRORS at byte 13");

/* Receive status (3.2.3.1) */
#define E1000_RXD_STAT_DD BIT32(0)   /* descriptor done: the device wrote it back */
#define E1000_RXD_STAT_EOP BIT32(1)  /* last descriptor of the frame */
#define E1000_RXD_STAT_IXSM BIT32(2) /* ignore checksum indications */
#define E1000_RXD_STAT_VP BIT32(3)   /* 802.1Q tag stripped into special */

/* Receive errors (3.2.3.2) */
#define E1000_RXD_ERR_CE BIT32(0)   /* CRC or alignment error */
#define E1000_RXD_ERR_SE BIT32(1)   /* symbol error */
#define E1000_RXD_ERR_SEQ BIT32(2)  /* sequence error */
#define E1000_RXD_ERR_CXE BIT32(4)  /* carrier extension error */
#define E1000_RXD_ERR_TCPE BIT32(5) /* TCP/UDP checksum error (offload only) */
#define E1000_RXD_ERR_IPE BIT32(6)  /* IP checksum error (offload only) */
#define E1000_RXD_ERR_RXE BIT32(7)  /* RX data error */
/* Errors that make the frame itself bad (the checksum ones only judge the
 * IP payload, which this driver does not ask the device to check). */
#define E1000_RXD_ERR_FRAME \
	(E1000_RXD_ERR_CE | E1000_RXD_ERR_SE | E1000_RXD_ERR_SEQ | E1000_RXD_ERR_CXE | E1000_RXD_ERR_RXE)

/* Legacy transmit descriptor (3.3.3): DEXT (bit 5 of cmd) clear. */
struct e1000_tx_desc {
	u64 buffer_addr; /* 0: buffer address */
	u16 length;      /* 8: bytes to send from this buffer */
	u8 cso;          /* 10: checksum offset (with IC) */
	u8 cmd;          /* 11: E1000_TXD_CMD_* */
	u8 status;       /* 12: E1000_TXD_STAT_* in 3:0, written back with RS */
	u8 css;          /* 13: checksum start */
	u16 special;     /* 14: VLAN tag (with VLE) */
} __packed;
_Static_assert(sizeof(struct e1000_tx_desc) == 16, "legacy transmit descriptor is 16 bytes");
_Static_assert(offsetof(struct e1000_tx_desc, cmd) == 11, "TDESC.CMD at byte 11");
_Static_assert(offsetof(struct e1000_tx_desc, status) == 12, "TDESC.STA at byte 12");

/* Transmit command (3.3.3.1) */
#define E1000_TXD_CMD_EOP BIT32(0)  /* end of packet: last descriptor of the frame */
#define E1000_TXD_CMD_IFCS BIT32(1) /* insert the FCS */
#define E1000_TXD_CMD_IC BIT32(2)   /* insert checksum */
#define E1000_TXD_CMD_RS BIT32(3)   /* report status: write DD back when done */
#define E1000_TXD_CMD_DEXT BIT32(5) /* extended descriptor (must be 0 here) */
#define E1000_TXD_CMD_VLE BIT32(6)  /* VLAN packet enable */
#define E1000_TXD_CMD_IDE BIT32(7)  /* interrupt delay enable */

/* Transmit status (3.3.3.2) */
#define E1000_TXD_STAT_DD BIT32(0)  /* descriptor done */
#define E1000_TXD_STAT_EC BIT32(1)  /* excess collisions (half duplex) */
#define E1000_TXD_STAT_LC BIT32(2)  /* late collision (half duplex) */

/* Ring geometry: rings must be a multiple of 128 bytes (RDLEN/TDLEN) and
 * buffers 2048 bytes (RCTL.BSIZE).  Both rings hold at most N - 1 frames
 * in flight, because head == tail means "empty" to the device (3.2.6).
 * The receive ring is the deeper one: a jumbo frame takes 5 descriptors,
 * and a device that finds fewer free than a frame needs drops it (QEMU's
 * model does, even while it holds back frames when none is free), so 512
 * descriptors keep about 99 jumbo frames: more than a peer's burst (64
 * frames, net/client.h) with room to spare. */
#define E1000_RX_DESCS 512
#define E1000_TX_DESCS 256
#define E1000_BUF_SIZE 2048
_Static_assert((E1000_RX_DESCS * sizeof(struct e1000_rx_desc)) % 128 == 0, "RDLEN is a multiple of 128");
_Static_assert((E1000_TX_DESCS * sizeof(struct e1000_tx_desc)) % 128 == 0, "TDLEN is a multiple of 128");
/* Descriptors one received frame may span: a jumbo frame needs 5; the
 * 8254x accepts long frames up to 16 KiB (RCTL.LPE), 8 buffers. */
#define E1000_RX_MAX_DESCS (16384 / E1000_BUF_SIZE)
_Static_assert(NIC_JUMBO_FRAME <= E1000_RX_MAX_DESCS * E1000_BUF_SIZE, "a jumbo frame fits the descriptors it may span");

extern const struct nic_driver e1000_driver;

#endif
