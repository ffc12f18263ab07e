/* cdvd_packets.c — CDVDFSV request encoders and error names (no hardware).
 * Layouts: ps2sdk common/include/libcdvd-rpc.h:750-759 (read request),
 * ee/rpc/cdvd/src/ncmd.c:194-199 (how sceCdRead fills it), libcdvd.c:147
 * (init {mode}); error codes libcdvd-common.h:69-107 (REFERENCE.md §4).
 */
#include "cdvd.h"

uint32_t cdvd_encode_rmode(uint32_t trycount, uint32_t spindle, uint32_t pattern)
{
    return (trycount & 0xFFu) | ((spindle & 0xFFu) << 8) | ((pattern & 0xFFu) << 16);
}

uint32_t cdvd_encode_read(uint32_t req[6], uint32_t lbn, uint32_t sectors, uint32_t ee_buf,
                          uint32_t rmode, uint32_t ee_remain, uint32_t ee_pos)
{
    req[0] = lbn;
    req[1] = sectors;
    req[2] = ee_buf;
    req[3] = rmode;
    req[4] = ee_remain;
    req[5] = ee_pos;
    return 24;
}

uint32_t cdvd_encode_init(uint32_t req[1], uint32_t mode)
{
    req[0] = mode;
    return 4;
}

const char *cdvd_error_name(int code)
{
    switch (code) {
    case CDVD_ERR_NONE: return "no error";
    case CDVD_ERR_ABORT: return "aborted";
    case CDVD_ERR_CMD: return "unsupported command";
    case CDVD_ERR_TRAY_OPEN: return "tray open";
    case CDVD_ERR_NO_DISC: return "no disc";
    case CDVD_ERR_NOT_READY: return "drive not ready";
    case CDVD_ERR_UNSUPPORTED: return "unsupported for this disc";
    case CDVD_ERR_BAD_LSN: return "illegal LSN";
    case CDVD_ERR_BAD_LENGTH: return "illegal length";
    case CDVD_ERR_BAD_PARAM: return "bad parameter";
    case CDVD_ERR_READ: return "read error";
    case CDVD_ERR_TRAY_OPENED_DURING_READ: return "tray opened during read";
    case CDVD_ERR_END_OF_MEDIA: return "end of media";
    case CDVD_E_SIF: return "SIF RPC failed";
    case CDVD_E_TIMEOUT: return "CDVDFSV did not answer";
    case CDVD_E_ARGS: return "bad arguments";
    case CDVD_E_BUSY: return "read already in flight";
    case CDVD_E_NOT_READY: return "disc never became ready";
    default: return "unknown error";
    }
}
