/* sif_rpc.c — SIF RPC client: bind and call, one call in flight per client.
 *
 * Protocol (REFERENCE.md §3; ps2sdk ee/kernel/src/sifrpc.c:119-230, 280-300;
 * Play! Source/ee/SIF.cpp Cmd_Bind/Cmd_Call):
 *   BIND {sid} -> END {cid=BIND, server, buf, cbuf}; server == 0 means the
 *   server is not registered yet: retry (ps2sdk ee/rpc/cdvd/src/libcdvd.c:
 *   142-150; Play! answers 0 after a timeout).
 *   CALL {fno, send_size, recvbuf, recv_size, rmode=1, server}, payload
 *   DMA'd to `buf` in the same SifSetDma list -> reply data DMA'd to
 *   recvbuf, then END {cid=CALL}.
 * Packets are 64 bytes, 64-aligned, written and read only through the
 * uncached alias. The END handler finds the client by the pointer we sent.
 */
#include "ee_kernel.h"
#include "sif_internal.h"

#define MAX_CLIENTS 8

static sif_rpc_client *s_clients[MAX_CLIENTS];
static uint32_t s_next_rpc_id = 1;

static int _register(sif_rpc_client *c)
{
    int free_slot = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (s_clients[i] == c)
            return i;
        if (!s_clients[i] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot >= 0)
        s_clients[free_slot] = c;
    return free_slot;
}

static int _slot_of(const sif_rpc_client *c)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s_clients[i] == c)
            return i;
    return -1;
}

void _sif_rpc_on_end(const uint32_t *pkt)
{
    sif_rpc_end e;
    sif_decode_rpc_end(pkt, &e);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        sif_rpc_client *c = s_clients[i];
        if (c && (uint32_t)(uintptr_t)c == e.client) {
            if (e.answered_cid == SIF_CMD_RPC_BIND) {
                c->server = e.server;
                c->buf = e.buf;
                c->cbuf = e.cbuf;
            }
            c->end_seen = 1;
            c->busy = 0;
            return;
        }
    }
}

static uint32_t _new_rpc_id(void)
{
    uint32_t id = s_next_rpc_id++;
    if (s_next_rpc_id == 0)
        s_next_rpc_id = 1;
    return id;
}

void sif_rpc_abandon(sif_rpc_client *c)
{
    /* The real IOP's END does not echo our rpc_id (ps2sdk iop/system/sifcmd/
     * src/sifrpc.c:237-247), so a late END cannot be told apart: callers
     * treat a timeout as fatal for the client. */
    c->busy = 0;
}

static int _wait_end(sif_rpc_client *c, uint32_t timeout_ms)
{
    uint64_t deadline = _sif_deadline(timeout_ms);
    while (!c->end_seen)
        if (_sif_expired(deadline)) {
            sif_rpc_abandon(c);
            return SIF_ERR_TIMEOUT;
        }
    return SIF_OK;
}

int sif_rpc_bind(sif_rpc_client *c, uint32_t sid, uint32_t timeout_ms)
{
    int slot = _register(c);
    if (slot < 0)
        return SIF_ERR_BUSY;
    uint64_t deadline = _sif_deadline(timeout_ms);
    for (;;) {
        uint32_t *pkt = (uint32_t *)EE_UNCACHED(c->packet);
        c->server = 0;
        c->sid = sid;
        c->end_seen = 0;
        c->busy = 1;
        c->rpc_id = _new_rpc_id();
        uint32_t size = sif_encode_rpc_bind(pkt, (uint32_t)slot, c->rpc_id,
                                            (uint32_t)(uintptr_t)pkt,
                                            (uint32_t)(uintptr_t)c, sid);
        int r = _sif_send_cmd(pkt, size, 0, 0, 0);
        if (r != SIF_OK)
            return r;
        r = _wait_end(c, timeout_ms);
        if (r != SIF_OK)
            return r;
        if (c->server != 0)
            return SIF_OK;
        if (_sif_expired(deadline))
            return SIF_ERR_UNBOUND;
        for (volatile int i = 0; i < 100000; i++) /* ps2sdk nopdelay() between tries */
            ;
    }
}

int sif_rpc_call_start(sif_rpc_client *c, uint32_t fno, const void *send, uint32_t ssize,
                       void *recv, uint32_t rsize)
{
    int slot = _slot_of(c);
    if (slot < 0 || c->server == 0)
        return SIF_ERR_UNBOUND;
    if (c->busy)
        return SIF_ERR_BUSY;
    if (rsize)
        ee_dcache_writeback_invalidate(recv, rsize);
    uint32_t *pkt = (uint32_t *)EE_UNCACHED(c->packet);
    c->end_seen = 0;
    c->busy = 1;
    c->rpc_id = _new_rpc_id();
    uint32_t size = sif_encode_rpc_call(pkt, (uint32_t)slot, c->rpc_id, (uint32_t)(uintptr_t)pkt,
                                        (uint32_t)(uintptr_t)c, fno, ssize, c->buf,
                                        rsize ? (uint32_t)(uintptr_t)recv : 0u, rsize, c->server);
    int r = _sif_send_cmd(pkt, size, send, ssize, c->buf);
    if (r != SIF_OK)
        c->busy = 0;
    return r;
}

int sif_rpc_call_done(const sif_rpc_client *c)
{
    return c->end_seen != 0;
}

int sif_rpc_call_wait(sif_rpc_client *c, uint32_t timeout_ms)
{
    return _wait_end(c, timeout_ms);
}

int sif_rpc_call(sif_rpc_client *c, uint32_t fno, const void *send, uint32_t ssize, void *recv,
                 uint32_t rsize, uint32_t timeout_ms)
{
    int r = sif_rpc_call_start(c, fno, send, ssize, recv, rsize);
    if (r != SIF_OK)
        return r;
    return sif_rpc_call_wait(c, timeout_ms);
}
