/* ee_sio.c — bytes out of the EE SIO, the debug UART.
 *
 * ps2sdk ee/kernel/include/sio.h:29-82 and sio.c:63-77 (REFERENCE.md §5):
 * ISR 0x1000F130, TXFIFO 0x1000F180; wait while (ISR & 0xF000) == 0x8000
 * (FIFO full), then a byte store to TXFIFO. PCSX2 prints these lines in its
 * "EE Console" log (buffered until '\n'); Play! forwards each byte to IOP
 * stdout. On a real console the UART needs wiring, so the screen is primary.
 * We do not reprogram the baud rate: the BIOS has set the port up.
 */
#include "ee_kernel.h"
#include "ee_sio.h"

#define SIO_ISR 0x1000F130u
#define SIO_TXFIFO 0x1000F180u

void ee_sio_putc(char c)
{
    for (int spin = 0; spin < 100000 && (EE_REG32(SIO_ISR) & 0xF000u) == 0x8000u; spin++)
        ; /* bounded: an unwired, stuck port must not hang the program */
    *(volatile uint8_t *)SIO_TXFIFO = (uint8_t)c;
}

void ee_sio_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ee_sio_putc(s[i]);
}
