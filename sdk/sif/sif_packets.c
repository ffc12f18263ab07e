/* sif_packets.c — SIF command and RPC packet encoders (no hardware access).
 *
 * Layouts: ps2sdk common/include/sifcmd-common.h:22-46 (header bitfields
 * psize:8, dsize:24, dest, cid, opt), sifrpc-common.h:38-96 (RPC packets),
 * ee/kernel/src/sifcmd.c:60-103 (_SifSendCmd fills cid/psize/dest/dsize),
 * sifrpc.c:59-100 (rec_id = slot<<16 | 0x04 | 1). Play! reads the same fields
 * (Source/ee/SIF.h SIFCMDHEADER/SIFRPCCALL, used in SIF.cpp Cmd_Bind/Cmd_Call).
 */
#include "sif.h"

void sif_encode_header(uint32_t *pkt, uint32_t psize, uint32_t dsize, uint32_t dest,
                       uint32_t cid, uint32_t opt)
{
    pkt[0] = (psize & 0xFFu) | ((dsize & 0xFFFFFFu) << 8);
    pkt[1] = dsize ? dest : 0u;
    pkt[2] = cid;
    pkt[3] = opt;
}

uint32_t sif_encode_init(uint32_t pkt[5], uint32_t ee_recv_buf)
{
    sif_encode_header(pkt, 20, 0, 0, SIF_CMD_INIT, 0);
    pkt[4] = ee_recv_buf;
    return 20;
}

uint32_t sif_encode_init_rpc(uint32_t pkt[4])
{
    sif_encode_header(pkt, 16, 0, 0, SIF_CMD_INIT, 1);
    return 16;
}

uint32_t sif_encode_change_saddr(uint32_t pkt[5], uint32_t ee_recv_buf)
{
    sif_encode_header(pkt, 20, 0, 0, SIF_CMD_CHANGE_SADDR, 0);
    pkt[4] = ee_recv_buf;
    return 20;
}

uint32_t sif_rpc_rec_id(uint32_t slot)
{
    return (slot << 16) | 0x04u | 0x01u;
}

static void _rpc_common(uint32_t pkt[16], uint32_t slot, uint32_t rpc_id, uint32_t pkt_addr,
                        uint32_t client)
{
    for (int i = 0; i < SIF_RPC_PACKET_WORDS; i++)
        pkt[i] = 0;
    pkt[SIF_RPC_W_REC_ID] = sif_rpc_rec_id(slot);
    pkt[SIF_RPC_W_PKT_ADDR] = pkt_addr;
    pkt[SIF_RPC_W_RPC_ID] = rpc_id;
    pkt[SIF_RPC_W_CLIENT] = client;
}

uint32_t sif_encode_rpc_bind(uint32_t pkt[16], uint32_t slot, uint32_t rpc_id,
                             uint32_t pkt_addr, uint32_t client, uint32_t sid)
{
    _rpc_common(pkt, slot, rpc_id, pkt_addr, client);
    sif_encode_header(pkt, SIF_RPC_PACKET_SIZE, 0, 0, SIF_CMD_RPC_BIND, 0);
    pkt[SIF_RPC_W_BIND_SID] = sid;
    return SIF_RPC_PACKET_SIZE;
}

uint32_t sif_encode_rpc_call(uint32_t pkt[16], uint32_t slot, uint32_t rpc_id,
                             uint32_t pkt_addr, uint32_t client, uint32_t fno,
                             uint32_t send_size, uint32_t server_buf, uint32_t recvbuf,
                             uint32_t recv_size, uint32_t server)
{
    _rpc_common(pkt, slot, rpc_id, pkt_addr, client);
    /* The payload travels in the same SifSetDma list, to the server's buffer
     * (the `buf` of the bind's END); the header names it (sifcmd.c:74-79). */
    sif_encode_header(pkt, SIF_RPC_PACKET_SIZE, send_size, server_buf, SIF_CMD_RPC_CALL, 0);
    pkt[SIF_RPC_W_CALL_FNO] = fno;
    pkt[SIF_RPC_W_CALL_SEND_SIZE] = send_size;
    pkt[SIF_RPC_W_CALL_RECVBUF] = recvbuf;
    pkt[SIF_RPC_W_CALL_RECV_SIZE] = recv_size;
    /* rmode 1: the IOP answers with END after the reply data. Play! sends END
     * even for rmode 0 (SIF.cpp Cmd_Call), real SIFCMD does not
     * (iop/system/sifcmd/src/sifrpc.c:685-757): 1 behaves the same on both. */
    pkt[SIF_RPC_W_CALL_RMODE] = 1;
    pkt[SIF_RPC_W_CALL_SERVER] = server;
    return SIF_RPC_PACKET_SIZE;
}

void sif_decode_rpc_end(const uint32_t *pkt, sif_rpc_end *out)
{
    out->cid = pkt[2];
    out->rpc_id = pkt[SIF_RPC_W_RPC_ID];
    out->client = pkt[SIF_RPC_W_CLIENT];
    out->answered_cid = pkt[SIF_RPC_W_END_CID];
    out->server = pkt[SIF_RPC_W_END_SERVER];
    out->buf = pkt[SIF_RPC_W_END_BUF];
    out->cbuf = pkt[SIF_RPC_W_END_CBUF];
}
