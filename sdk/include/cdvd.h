/* cdvd.h — client of the IOP's CDVDFSV RPC server (sector reads).
 *
 * Facts: REFERENCE.md §4, from ps2sdk ee/rpc/cdvd/src/{libcdvd,ncmd,scmd}.c,
 * common/include/libcdvd-rpc.h:750-759, libcdvd-common.h, iop/cdvd/cdvdfsv/
 * src/cdvdfsv.c, and Play! Source/iop/Iop_Cdvdfsv.cpp.
 * We rely on the CDVDFSV that the BIOS loaded at boot (see docs/SDK.md).
 */
#ifndef PS2LLM_CDVD_H
#define PS2LLM_CDVD_H

#include <stdint.h>

/* RPC server ids (libcdvd.c:35-39, ncmd.c:33-68, scmd.c:36-75). */
#define CDVD_SID_INIT 0x80000592u
#define CDVD_SID_SCMD 0x80000593u
#define CDVD_SID_NCMD 0x80000595u
#define CDVD_SID_SEARCHFILE 0x80000597u
#define CDVD_SID_DISKREADY 0x8000059Au

/* N-command function numbers. */
#define CDVD_NCMD_READ 0x01u
#define CDVD_NCMD_SEEK 0x05u
#define CDVD_NCMD_STANDBY 0x06u
#define CDVD_NCMD_STOP 0x07u
#define CDVD_NCMD_PAUSE 0x08u
#define CDVD_NCMD_DISKREADY 0x0Eu
/* S-command function numbers. */
#define CDVD_SCMD_DISKTYPE 0x03u
#define CDVD_SCMD_GETERROR 0x04u
#define CDVD_SCMD_STATUS 0x0Cu

#define CDVD_DISK_READY 2u     /* DiskReady answers */
#define CDVD_DISK_NOT_READY 6u

/* sceCdRMode fields (libcdvd-common.h:25-62). */
#define CDVD_SPIN_MAX 0u
#define CDVD_SPIN_NOMINAL 1u
#define CDVD_PATTERN_2048 0u

/* Drive error codes (libcdvd-common.h:69-107). */
#define CDVD_ERR_NONE 0x00
#define CDVD_ERR_ABORT 0x01
#define CDVD_ERR_CMD 0x10
#define CDVD_ERR_TRAY_OPEN 0x11
#define CDVD_ERR_NO_DISC 0x12
#define CDVD_ERR_NOT_READY 0x13
#define CDVD_ERR_UNSUPPORTED 0x14
#define CDVD_ERR_BAD_LSN 0x20
#define CDVD_ERR_BAD_LENGTH 0x21
#define CDVD_ERR_BAD_PARAM 0x22
#define CDVD_ERR_READ 0x30
#define CDVD_ERR_TRAY_OPENED_DURING_READ 0x31
#define CDVD_ERR_END_OF_MEDIA 0x32

/* Our own codes, negative so they never collide with the drive's. */
#define CDVD_E_SIF (-1)      /* SIF/RPC failed (see sif_status) */
#define CDVD_E_TIMEOUT (-2)  /* no answer from CDVDFSV in time */
#define CDVD_E_ARGS (-3)
#define CDVD_E_BUSY (-4)
#define CDVD_E_NOT_READY (-5) /* DiskReady never said 2 */

/* ---- encoders (host-testable) ----------------------------------------- */
uint32_t cdvd_encode_rmode(uint32_t trycount, uint32_t spindle, uint32_t pattern);
/* N-command 1 read request, 24 bytes (libcdvd-rpc.h cdvdfsv_rpc5_01_inpacket):
 * +0 lbn, +4 sectors, +8 EE buffer, +0xC rmode, +0x10 EE remain area
 * (144 bytes), +0x14 EE address of the progress counter. Returns 24. */
uint32_t cdvd_encode_read(uint32_t req[6], uint32_t lbn, uint32_t sectors, uint32_t ee_buf,
                          uint32_t rmode, uint32_t ee_remain, uint32_t ee_pos);
/* Init request {int mode}: 0 = SCECdINIT. Returns 4. */
uint32_t cdvd_encode_init(uint32_t req[1], uint32_t mode);
const char *cdvd_error_name(int code);

/* ---- client (EE only) --------------------------------------------------- */
int cdvd_init(void);          /* SIF, binds, Init(0), wait DiskReady; 0 or <0 / drive error */
int cdvd_disk_ready(void);    /* CDVD_DISK_READY / CDVD_DISK_NOT_READY, or <0 */
int cdvd_get_error(void);     /* drive error code >= 0, or <0 */
/* Read n 2048-byte sectors at lba into buf. A 64-aligned buf gets the data
 * straight from the IOP; any other (16-aligned) buf goes through a bounce
 * buffer. Up to 3 tries per chunk. */
int cdvd_read_start(uint32_t lba, uint32_t n, void *buf);
int cdvd_read_poll(void);     /* 1 done, 0 busy, <0 CDVD_E_* or -(drive error) */
int cdvd_read_wait(void);     /* 0 or as poll */
uint64_t cdvd_bytes_read(void);

#endif
