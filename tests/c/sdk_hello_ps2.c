/* sdk_hello_ps2.c — the smallest ps2 program: prints a line and halts.
 * Cross-compiled by tests/test_sdk.py to check the ELF the SDK produces. */
#include <stdio.h>

#include "hal.h"

int main(void)
{
    char line[64];
    int r = hal_init(0);
    int n = snprintf(line, sizeof line, "hello from the EE (init %d)\n", r);
    hal_write(line, (size_t)n);
    hal_exit(r);
}
