/* Entry point of the linux-mips port: no libc, the kernel (qemu-user) enters here
 * with argc at 0($sp) and argv from 4($sp) (MIPS o32 process start-up, as in the
 * System V MIPS ABI supplement). */
    .text
    .globl  __start
    .set    noreorder
__start:
    lw      $a0, 0($sp)         /* argc */
    addiu   $a1, $sp, 4         /* argv */
    addiu   $sp, $sp, -16       /* o32 home space for four argument registers */
    li      $t0, -16
    and     $sp, $sp, $t0       /* keep the stack 16-byte aligned */
    jal     main
    nop
    move    $a0, $v0
    jal     hal_exit
    nop
1:  b       1b
    nop
