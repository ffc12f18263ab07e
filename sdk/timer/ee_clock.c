/* ee_clock.c — 64-bit tick count from COP0 Count; see ee_clock.h.
 * INTC cause 2 = VBLANK_START (TEK PS2/INTC.md; Play! CINTC::INTC_LINE_VBLANK_START).
 */
#include "ee_clock.h"

#ifndef PS2LLM_HOST_TEST
#include "ee_kernel.h"
#endif

uint64_t ee_clock_fold(uint64_t total, uint32_t *last, uint32_t now)
{
    /* Unsigned difference is right across one wrap. */
    total += (uint32_t)(now - *last);
    *last = now;
    return total;
}

#ifndef PS2LLM_HOST_TEST

#define INTC_VBLANK_START 2

static volatile uint64_t s_total;
static volatile uint32_t s_last;
static int s_handler_id = -1;

static uint32_t _count(void)
{
    uint32_t c;
    __asm__ volatile("mfc0 %0, $9" : "=r"(c));
    return c;
}

static uint64_t _sample(void)
{
    uint32_t last = s_last;
    uint64_t t = ee_clock_fold(s_total, &last, _count());
    s_total = t;
    s_last = last;
    return t;
}

static int _vblank_handler(int cause)
{
    (void)cause;
    _sample(); /* interrupts are off inside the handler */
    __asm__ volatile("sync.l\n\tei" ::: "memory"); /* ExitHandler, REFERENCE.md §2 */
    return 0;
}

void ee_clock_init(void)
{
    int was = ee_intr_disable();
    s_last = _count();
    if (s_handler_id < 0) {
        s_handler_id = AddIntcHandler(INTC_VBLANK_START, _vblank_handler, 0);
        if (s_handler_id >= 0)
            _EnableIntc(INTC_VBLANK_START);
    }
    ee_intr_restore(was);
}

uint64_t ee_clock_ticks(void)
{
    int was = ee_intr_disable();
    uint64_t t = _sample();
    ee_intr_restore(was);
    return t;
}

void ee_delay_us(uint32_t us)
{
    uint64_t end = ee_clock_ticks() + (uint64_t)us * (EE_CLOCK_HZ / 1000000u);
    while (ee_clock_ticks() < end)
        ;
}

#endif
