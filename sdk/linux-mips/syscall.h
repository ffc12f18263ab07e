/* Raw MIPS o32 Linux system calls, no libc.
 * Convention (Linux arch/mips/kernel/scall32-o32.S): number in v0, arguments in
 * a0-a3 (a 5th and 6th at 16($sp)/20($sp)), result in v0, a3 != 0 on error with
 * v0 = errno. Numbers from arch/mips/include/uapi/asm/unistd.h (o32 base 4000). */
#ifndef PS2LLM_LINUX_MIPS_SYSCALL_H
#define PS2LLM_LINUX_MIPS_SYSCALL_H

#include <stdint.h>

#define SYS_exit_group    4246
#define SYS_read          4003
#define SYS_write         4004
#define SYS_openat        4288
#define SYS_close         4006
#define SYS_llseek        4140
#define SYS_mmap2         4210
#define SYS_clock_gettime 4263
#define SYS_nanosleep     4166

#define AT_FDCWD   (-100)
#define O_RDONLY   0
#define PROT_READ  1
#define PROT_WRITE 2
#define MAP_PRIVATE   0x002
#define MAP_ANONYMOUS 0x800       /* MIPS value, not x86's 0x20 */
#define CLOCK_MONOTONIC 1

/* Returns the result, or -errno. */
static inline long linux_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long v0 __asm__("$2") = n;
    register long a0 __asm__("$4") = a;
    register long a1 __asm__("$5") = b;
    register long a2 __asm__("$6") = c;
    register long a3 __asm__("$7") = d;
    __asm__ volatile(
        "addiu $sp, $sp, -32\n\t"
        "sw    %5, 16($sp)\n\t"
        "sw    %6, 20($sp)\n\t"
        "syscall\n\t"
        "addiu $sp, $sp, 32"
        : "+r"(v0), "+r"(a3)
        : "r"(a0), "r"(a1), "r"(a2), "r"(e), "r"(f)
        : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
          "$24", "$25", "hi", "lo", "memory");
    return a3 ? -v0 : v0;
}

#define linux_syscall3(n, a, b, c) linux_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

#endif
