/* sif_internal.h — shared between sif_cmd.c and sif_rpc.c. */
#ifndef PS2LLM_SIF_INTERNAL_H
#define PS2LLM_SIF_INTERNAL_H

#include <stdint.h>
#include "sif.h"

/* Send one command packet (psize bytes at pkt, 16-aligned) with an optional
 * payload (psize <= 112) that lands at payload_dest in IOP memory. */
int _sif_send_cmd(const void *pkt, uint32_t psize, const void *payload, uint32_t payload_size,
                  uint32_t payload_dest);
/* Called from the SIF0 interrupt handler for RPC END packets. */
void _sif_rpc_on_end(const uint32_t *pkt);
/* Software registers set by the IOP's SET_SREG (sreg 0 = RPC init). */
uint32_t _sif_sreg(uint32_t index);
int _sif_cmd_init(void);
uint64_t _sif_deadline(uint32_t timeout_ms);
int _sif_expired(uint64_t deadline);

#endif
