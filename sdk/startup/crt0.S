/* crt0.S — entry point of a ps2llm EE program.
 *
 * What the loader leaves us (REFERENCE.md §1; ps2sdk iop/system/loadfile/src/
 * eeelfloader.c; ps2sdk ee/startup/src/crt0.c:43-134 for the sequence):
 *   - only p_filesz bytes of the PT_LOAD segment are copied, so .bss is garbage;
 *   - $gp is 0; there is no stack until SetupThread gives us one.
 * Sequence:
 *   1. clear [_bss_start, _bss_end) with 16-byte `sq $0` (both 16-aligned);
 *   2. $gp = _gp (unused with -G0, set for handlers and tools that expect it);
 *   3. SetupThread (syscall 0x3C): a0 gp, a1 stack base, a2 stack size,
 *      a3 args buffer the kernel fills as {argc; argv[16]; payload[256]},
 *      t0 root (where the main thread returns to); v0 becomes $sp;
 *   4. SetupHeap (0x3D) from _end, size -1 (we never use the kernel heap);
 *   5. FlushCache(0) (0x64): write back the D-cache;
 *   6. `ei` (legal in user mode: Status.EDI is set, REFERENCE.md §9), main();
 *   7. main should end in hal_exit(), which never returns. If main returns
 *      anyway we spin instead of calling Exit (syscall 4 would leave for the
 *      browser and take the screen with it).
 * Numbers: sdk/kernel/syscallnr.h. Symbols: sdk/startup/ps2.ld.
 */
#include "../kernel/syscallnr.h"

	.section .text.start, "ax", @progbits
	.set	reorder
	.globl	_start
	.type	_start, @function
	.ent	_start
_start:
	/* 1. clear .bss */
	la	$t0, _bss_start
	la	$t1, _bss_end
	b	2f
1:	sq	$0, 0($t0)
	addiu	$t0, $t0, 16
2:	sltu	$t2, $t0, $t1
	bne	$t2, $0, 1b

	/* 2. global pointer */
	la	$gp, _gp

	/* 3. SetupThread(gp, _stack, _stack_size, _crt0_args, _crt0_halt) */
	move	$a0, $gp
	la	$a1, _stack
	la	$a2, _stack_size
	la	$a3, _crt0_args
	la	$t0, _crt0_halt
	li	$v1, NR_SetupThread
	syscall
	move	$sp, $v0

	/* 4. SetupHeap(_end, -1) */
	la	$a0, _end
	li	$a1, -1
	li	$v1, NR_SetupHeap
	syscall

	/* 5. FlushCache(0): write back D-cache */
	move	$a0, $0
	li	$v1, NR_FlushCache
	syscall

	/* 6. interrupts on, main(argc, argv) */
	ei
	la	$t0, _crt0_args
	lw	$a0, 0($t0)
	addiu	$a1, $t0, 4
	jal	main

	/* 7. main returned: keep whatever is on screen, never Exit */
	.globl	_crt0_halt
_crt0_halt:
	b	_crt0_halt
	.end	_start
	.size	_start, . - _start

	/* Argument block filled by SetupThread (ps2sdk ee/startup/include/startup.h). */
	.section .bss._crt0_args, "aw", @nobits
	.p2align 4
	.type	_crt0_args, @object
_crt0_args:
	.space	4 + 16 * 4 + 256
	.size	_crt0_args, . - _crt0_args
