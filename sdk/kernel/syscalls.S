/* syscalls.S — EE kernel syscall stubs, all from one macro.
 *
 * Each stub loads its number (kernel/syscallnr.h) into $v1 and executes
 * `syscall`; the kernel returns the result in $v0 (REFERENCE.md §2; ps2sdk
 * ee/kernel/src/kernel.S:41-56). Arguments are already in $a0..$a3/$t0 by the
 * o32 calling convention. Every stub sits in its own section so that
 * --gc-sections drops the unused ones. Prototypes: sdk/include/ee_kernel.h.
 */
#include "syscallnr.h"

#define SYSCALL(name)                                   \
	.section .text.name, "ax", @progbits;           \
	.globl name;                                    \
	.type name, @function;                          \
	.ent name;                                      \
name:                                                   \
	li	$v1, NR_##name;                         \
	syscall;                                        \
	jr	$ra;                                    \
	nop;                                            \
	.end name;                                      \
	.size name, . - name

	.set	noreorder
	.set	nomacro

SYSCALL(ResetEE)
SYSCALL(SetGsCrt)
SYSCALL(Exit)
SYSCALL(LoadExecPS2)
SYSCALL(ExecPS2)
SYSCALL(AddIntcHandler)
SYSCALL(RemoveIntcHandler)
SYSCALL(AddDmacHandler)
SYSCALL(RemoveDmacHandler)
SYSCALL(_EnableIntc)
SYSCALL(_DisableIntc)
SYSCALL(_EnableDmac)
SYSCALL(_DisableDmac)
SYSCALL(SetupThread)
SYSCALL(SetupHeap)
SYSCALL(EndOfHeap)
SYSCALL(FlushCache)
SYSCALL(GsPutIMR)
SYSCALL(SifDmaStat)
SYSCALL(iSifDmaStat)
SYSCALL(SifSetDma)
SYSCALL(iSifSetDma)
SYSCALL(SifSetDChain)
SYSCALL(iSifSetDChain)
SYSCALL(SifSetReg)
SYSCALL(SifGetReg)
SYSCALL(Deci2Call)
SYSCALL(GetMemorySize)
