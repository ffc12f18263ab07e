/* sif.h — EE side of the SIF: command packets and RPC client.
 *
 * Protocol facts: REFERENCE.md §3, from ps2sdk common/include/sifcmd-common.h,
 * sifrpc-common.h, ee/kernel/src/sifcmd.c, sifrpc.c, and Play!
 * Source/ee/SIF.cpp. The encoders below are plain functions over uint32_t
 * words so that tests/test_sdk.py checks them on the host against the
 * documented layouts; sif_cmd.c / sif_rpc.c do the hardware part.
 */
#ifndef PS2LLM_SIF_H
#define PS2LLM_SIF_H

#include <stdint.h>

/* Command ids (sifcmd-common.h). */
#define SIF_CMD_CHANGE_SADDR 0x80000000u
#define SIF_CMD_SET_SREG 0x80000001u
#define SIF_CMD_INIT 0x80000002u
#define SIF_CMD_RESET 0x80000003u
#define SIF_CMD_RPC_END 0x80000008u
#define SIF_CMD_RPC_BIND 0x80000009u
#define SIF_CMD_RPC_CALL 0x8000000Au
#define SIF_CMD_RPC_RDATA 0x8000000Cu

/* SifGetReg/SifSetReg numbers (ps2sdk ee/kernel/include/sifdma.h:26-50). */
#define SIF_REG_MAINADDR 1u
#define SIF_REG_SUBADDR 2u
#define SIF_REG_MSFLAG 3u
#define SIF_REG_SMFLAG 4u
#define SIF_SYSREG_SUBADDR 0x80000000u /* IOP command buffer, kept by kernel */
#define SIF_SYSREG_MAINADDR 0x80000001u
#define SIF_SYSREG_RPCINIT 0x80000002u
#define SIF_STAT_SIFINIT 0x10000u
#define SIF_STAT_CMDINIT 0x20000u
#define SIF_STAT_BOOTEND 0x40000u

#define SIF_CMD_HEADER_WORDS 4
#define SIF_CMD_PACKET_MAX 112 /* bytes, including the header */
#define SIF_RPC_PACKET_SIZE 64 /* bytes */
#define SIF_RPC_PACKET_WORDS 16

/* Word offsets inside an RPC packet (sifrpc-common.h:38-96). */
enum {
    SIF_RPC_W_REC_ID = 4,   /* +0x10 slot<<16 | 0x4 | 1 */
    SIF_RPC_W_PKT_ADDR = 5, /* +0x14 EE address of this packet */
    SIF_RPC_W_RPC_ID = 6,   /* +0x18 */
    SIF_RPC_W_CLIENT = 7,   /* +0x1C client pointer, echoed in END */
    /* BIND */
    SIF_RPC_W_BIND_SID = 8, /* +0x20 */
    /* CALL */
    SIF_RPC_W_CALL_FNO = 8,       /* +0x20 */
    SIF_RPC_W_CALL_SEND_SIZE = 9, /* +0x24 */
    SIF_RPC_W_CALL_RECVBUF = 10,  /* +0x28 */
    SIF_RPC_W_CALL_RECV_SIZE = 11,/* +0x2C */
    SIF_RPC_W_CALL_RMODE = 12,    /* +0x30 1 = reply with END */
    SIF_RPC_W_CALL_SERVER = 13,   /* +0x34 server pointer from the bind */
    /* END */
    SIF_RPC_W_END_CID = 8,    /* +0x20 command answered */
    SIF_RPC_W_END_SERVER = 9, /* +0x24 */
    SIF_RPC_W_END_BUF = 10,   /* +0x28 where call payloads go */
    SIF_RPC_W_END_CBUF = 11   /* +0x2C */
};

/* ---- packet encoders (host-testable) ---------------------------------- */

/* 16-byte header: word0 = psize (bits 0-7) | dsize << 8; word1 = IOP dest of
 * the payload (0 if none); word2 = cid; word3 = opt. */
void sif_encode_header(uint32_t *pkt, uint32_t psize, uint32_t dsize, uint32_t dest,
                       uint32_t cid, uint32_t opt);
/* INIT (opt 0): tell the IOP where our receive buffer is. 20 bytes. */
uint32_t sif_encode_init(uint32_t pkt[5], uint32_t ee_recv_buf);
/* INIT with opt 1: ask the IOP to init RPC and answer with SET_SREG 0. 16 bytes. */
uint32_t sif_encode_init_rpc(uint32_t pkt[4]);
/* CHANGE_SADDR: new receive buffer when the IOP side is already set up. 20 bytes. */
uint32_t sif_encode_change_saddr(uint32_t pkt[5], uint32_t ee_recv_buf);
uint32_t sif_rpc_rec_id(uint32_t slot);
/* Return the packet size in bytes (64). */
uint32_t sif_encode_rpc_bind(uint32_t pkt[16], uint32_t slot, uint32_t rpc_id,
                             uint32_t pkt_addr, uint32_t client, uint32_t sid);
uint32_t sif_encode_rpc_call(uint32_t pkt[16], uint32_t slot, uint32_t rpc_id,
                             uint32_t pkt_addr, uint32_t client, uint32_t fno,
                             uint32_t send_size, uint32_t server_buf, uint32_t recvbuf,
                             uint32_t recv_size, uint32_t server);

typedef struct {
    uint32_t cid;    /* header cid: SIF_CMD_RPC_END for an END */
    uint32_t client; /* client pointer we sent */
    uint32_t answered_cid;
    uint32_t server;
    uint32_t buf;
    uint32_t cbuf;
    uint32_t rpc_id;
} sif_rpc_end;
void sif_decode_rpc_end(const uint32_t *pkt, sif_rpc_end *out);

/* ---- runtime (EE only) ------------------------------------------------- */

typedef enum {
    SIF_OK = 0,
    SIF_ERR_TIMEOUT = -1, /* the IOP did not answer in time */
    SIF_ERR_DMA = -2,     /* SIF DMA queue stayed full */
    SIF_ERR_UNBOUND = -3, /* the server is not registered on the IOP */
    SIF_ERR_BUSY = -4     /* a call is already in flight on this client */
} sif_status;

/* One RPC client: one call in flight at a time. Zero it before sif_rpc_bind. */
typedef struct sif_rpc_client {
    uint32_t packet[SIF_RPC_PACKET_WORDS] __attribute__((aligned(64))); /* via uncached alias only */
    uint32_t server; /* IOP server pointer, 0 = not bound */
    uint32_t buf;    /* IOP buffer that receives call payloads */
    uint32_t cbuf;
    uint32_t sid;
    volatile uint32_t busy; /* a packet is out, END not yet seen */
    volatile uint32_t end_seen;
    uint32_t rpc_id;
} __attribute__((aligned(64))) sif_rpc_client;

int sif_init(void); /* SIF command + RPC init; idempotent */
int sif_rpc_bind(sif_rpc_client *c, uint32_t sid, uint32_t timeout_ms);
/* Send a call; recv (64-aligned, 64-multiple) gets rsize reply bytes. */
int sif_rpc_call_start(sif_rpc_client *c, uint32_t fno, const void *send, uint32_t ssize,
                       void *recv, uint32_t rsize);
int sif_rpc_call_done(const sif_rpc_client *c); /* 1 once END arrived */
int sif_rpc_call_wait(sif_rpc_client *c, uint32_t timeout_ms);
/* Give up on the call in flight after a timeout (a late END still marks
 * the client done: treat a timeout as fatal). */
void sif_rpc_abandon(sif_rpc_client *c);
int sif_rpc_call(sif_rpc_client *c, uint32_t fno, const void *send, uint32_t ssize,
                 void *recv, uint32_t rsize, uint32_t timeout_ms);

#endif
