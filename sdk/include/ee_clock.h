/* ee_clock.h — a 64-bit monotonic tick count from COP0 Count.
 *
 * Count ticks once per EE cycle at 294,912,000 Hz and wraps every 14.56 s
 * (REFERENCE.md §7: TEK PS2/EE/COP0Timer.md, PCSX2 pcsx2/Common.h). Each read
 * folds the wrap into a 64-bit total; ee_clock_init() also samples it from
 * the VBlank-start interrupt (INTC cause 2, 50/60 Hz), so the total stays
 * right even if nobody reads the clock for longer than one wrap.
 * We never write Count (SetCPUTimer would, REFERENCE.md §2).
 */
#ifndef PS2LLM_EE_CLOCK_H
#define PS2LLM_EE_CLOCK_H

#include <stdint.h>

#define EE_CLOCK_HZ 294912000u

void ee_clock_init(void);
uint64_t ee_clock_ticks(void);
/* Fold one 32-bit sample into a 64-bit total (pure; host-tested). */
uint64_t ee_clock_fold(uint64_t total, uint32_t *last, uint32_t now);
void ee_delay_us(uint32_t us);

#endif
