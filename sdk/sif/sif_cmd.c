/* sif_cmd.c — SIF command layer: DMA to the IOP and the SIF0 receive handler.
 *
 * Facts (REFERENCE.md §3): SIF0 (IOP->EE) is DMA channel 5, CHCR 0x1000C000;
 * D_STAT 0x1000E010 bit 5 = SIF0 done (write 1 clears). The IOP DMAs each
 * command packet into our 128-byte, 64-aligned receive buffer; the handler
 * copies it out, zeroes psize, re-arms SIF0 with iSifSetDChain (-0x78) and
 * dispatches (ps2sdk ee/kernel/src/sifcmd.c:125-172). Play! releases the
 * next packet only after the negative-number SifSetDChain (SIF.cpp
 * CountTicks/MarkPacketProcessed, PS2OS.cpp sc_SifSetDChain).
 * Init (sifcmd.c:216-283): if the kernel's sysreg 0x80000000 already holds the
 * IOP command buffer, send CHANGE_SADDR with our buffer; else wait for SMFLAG
 * CMDINIT, read SUBADDR, remember it in 0x80000000 and send INIT (opt 0).
 */
#include "ee_clock.h"
#include "ee_kernel.h"
#include "sif_internal.h"

#define D_STAT 0x1000E010u
#define D5_CHCR 0x1000C000u
#define CHCR_STR 0x100u
#define STAT_SIF0 0x20u
#define DMAC_SIF0 5

#define SREG_COUNT 32

static uint8_t s_recv_buf[128] __attribute__((aligned(64)));
static uint32_t s_init_pkt[16] __attribute__((aligned(64)));
static volatile uint32_t s_sregs[SREG_COUNT];
static uint32_t s_iop_cmd_buf; /* IOP address our packets go to */
static int s_handler_id = -1;
static int s_inited;

uint64_t _sif_deadline(uint32_t timeout_ms)
{
    return ee_clock_ticks() + (uint64_t)timeout_ms * (EE_CLOCK_HZ / 1000u);
}

int _sif_expired(uint64_t deadline)
{
    return ee_clock_ticks() > deadline;
}

uint32_t _sif_sreg(uint32_t index)
{
    return index < SREG_COUNT ? s_sregs[index] : 0u;
}

static int _sif0_handler(int channel)
{
    (void)channel;
    volatile uint32_t *rb = (volatile uint32_t *)EE_UNCACHED(s_recv_buf);
    uint32_t pkt[28];
    uint32_t psize = rb[0] & 0xFFu;
    if (psize != 0) {
        uint32_t words = (psize + 3u) / 4u;
        if (words > 28)
            words = 28;
        for (uint32_t i = 0; i < words; i++)
            pkt[i] = rb[i];
        for (uint32_t i = words; i < 28; i++)
            pkt[i] = 0;
        rb[0] = 0; /* psize = 0: buffer free */
        iSifSetDChain();
        switch (pkt[2]) {
        case SIF_CMD_CHANGE_SADDR:
            s_iop_cmd_buf = pkt[4];
            break;
        case SIF_CMD_SET_SREG:
            if (pkt[4] < SREG_COUNT)
                s_sregs[pkt[4]] = pkt[5];
            break;
        case SIF_CMD_RPC_END:
            _sif_rpc_on_end(pkt);
            break;
        default: /* calls from the IOP to EE servers: we serve none */
            break;
        }
    }
    __asm__ volatile("sync.l\n\tei" ::: "memory"); /* ExitHandler (REFERENCE.md §2) */
    return 0;
}

int _sif_send_cmd(const void *pkt, uint32_t psize, const void *payload, uint32_t payload_size,
                  uint32_t payload_dest)
{
    sif_dma_transfer t[2];
    int n = 0;
    if (payload_size) {
        ee_dcache_writeback_invalidate(payload, payload_size);
        t[n].src = (uint32_t)(uintptr_t)payload;
        t[n].dest = payload_dest;
        t[n].size = payload_size;
        t[n].attr = 0;
        n++;
    }
    ee_dcache_writeback_invalidate(pkt, psize);
    t[n].src = (uint32_t)(uintptr_t)pkt;
    t[n].dest = s_iop_cmd_buf;
    t[n].size = psize;
    t[n].attr = SIF_DMA_ERT | SIF_DMA_INT_O;
    n++;
    uint64_t deadline = _sif_deadline(1000);
    for (;;) {
        uint32_t id = SifSetDma(t, n); /* 0 = kernel queue full: retry */
        if (id != 0)
            return SIF_OK;
        if (_sif_expired(deadline))
            return SIF_ERR_DMA;
    }
}

int _sif_cmd_init(void)
{
    if (s_inited)
        return SIF_OK;

    volatile uint32_t *rb = (volatile uint32_t *)EE_UNCACHED(s_recv_buf);
    for (int i = 0; i < 32; i++)
        rb[i] = 0;
    for (int i = 0; i < SREG_COUNT; i++)
        s_sregs[i] = 0;
    FlushCache(0);

    if (EE_REG32(D_STAT) & STAT_SIF0)
        EE_REG32(D_STAT) = STAT_SIF0;
    if (!(EE_REG32(D5_CHCR) & CHCR_STR))
        SifSetDChain();

    s_handler_id = AddDmacHandler(DMAC_SIF0, _sif0_handler, 0);
    ee_enable_dmac(DMAC_SIF0);

    /* ps2sdk passes the uncached alias of its receive buffer (sifcmd.c:199);
     * Play! masks it to a physical address (SIF.cpp Cmd_Initialize). */
    uint32_t recv = (uint32_t)(uintptr_t)EE_UNCACHED(s_recv_buf);
    uint32_t *pkt = (uint32_t *)EE_UNCACHED(s_init_pkt);
    uint32_t size;
    s_iop_cmd_buf = SifGetReg(SIF_SYSREG_SUBADDR);
    if (s_iop_cmd_buf) {
        size = sif_encode_change_saddr(pkt, recv);
    } else {
        uint64_t deadline = _sif_deadline(5000);
        while (!(SifGetReg(SIF_REG_SMFLAG) & SIF_STAT_CMDINIT))
            if (_sif_expired(deadline))
                return SIF_ERR_TIMEOUT;
        s_iop_cmd_buf = SifGetReg(SIF_REG_SUBADDR);
        SifSetReg(SIF_SYSREG_SUBADDR, s_iop_cmd_buf);
        size = sif_encode_init(pkt, recv);
    }
    int r = _sif_send_cmd(pkt, size, 0, 0, 0);
    if (r != SIF_OK)
        return r;
    s_inited = 1;
    return SIF_OK;
}

int sif_init(void)
{
    static int rpc_inited;
    int r = _sif_cmd_init();
    if (r != SIF_OK || rpc_inited)
        return r;
    /* RPC init (sifrpc.c:403-458): unless the kernel says it was done, send
     * INIT with opt 1 and wait for the IOP's SET_SREG 0. Play! reads 1 here. */
    if (SifGetReg(SIF_SYSREG_RPCINIT) == 0) {
        /* Words 8..11: the first INIT (words 0..4) may still be queued. */
        uint32_t *pkt = (uint32_t *)EE_UNCACHED(s_init_pkt + 8);
        uint32_t size = sif_encode_init_rpc(pkt);
        r = _sif_send_cmd(pkt, size, 0, 0, 0);
        if (r != SIF_OK)
            return r;
        uint64_t deadline = _sif_deadline(5000);
        while (_sif_sreg(0) == 0)
            if (_sif_expired(deadline))
                return SIF_ERR_TIMEOUT;
        SifSetReg(SIF_SYSREG_RPCINIT, 1);
    }
    rpc_inited = 1;
    return SIF_OK;
}
