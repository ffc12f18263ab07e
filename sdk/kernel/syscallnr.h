/* syscallnr.h — EE kernel syscall numbers used by the ps2llm SDK.
 *
 * Convention (REFERENCE.md §2; ps2sdk ee/kernel/src/kernel.S:41-56): number in
 * $v1, arguments in $a0..$a3,$t0, `syscall`, result in $v0. A negative number
 * selects the interrupt-context ("i") variant of the same call.
 *
 * Numbers: ps2sdk ee/kernel/include/syscallnr.h (names there in brackets where
 * they differ) and israpps/ps2tek PS2/BIOS/EE_Syscalls.md. Play! lists the same
 * numbers in Source/ee/PS2OS.cpp (its syscall name table).
 *
 * Plain #defines only: this file is included from assembly (syscalls.S) and
 * parsed by tests/test_sdk.py.
 */
#ifndef PS2LLM_SYSCALLNR_H
#define PS2LLM_SYSCALLNR_H

#define NR_ResetEE            0x01  /* ResetEE(flags) */
#define NR_SetGsCrt           0x02  /* SetGsCrt(interlace, mode, ffmd) */
#define NR_Exit               0x04  /* [KExit] back to the browser */
#define NR_LoadExecPS2        0x06  /* [_LoadExecPS2] */
#define NR_ExecPS2            0x07  /* [_ExecPS2] */
#define NR_AddIntcHandler     0x10
#define NR_RemoveIntcHandler  0x11
#define NR_AddDmacHandler     0x12  /* (channel, handler, next) */
#define NR_RemoveDmacHandler  0x13
#define NR__EnableIntc        0x14
#define NR__DisableIntc       0x15
#define NR__EnableDmac        0x16  /* toggles D_STAT mask bit 16+ch */
#define NR__DisableDmac       0x17
#define NR_SetupThread        0x3C  /* [RFU060] (gp, stack, size, args, root) */
#define NR_SetupHeap          0x3D  /* [RFU061] (start, size or -1) */
#define NR_EndOfHeap          0x3E
#define NR_FlushCache         0x64  /* 0 wb D$, 1 inv D$, 2 inv I$ */
#define NR_GsPutIMR           0x71
#define NR_SifDmaStat         0x76  /* [sceSifDmaStat] >0 queued, 0 busy, <0 done */
#define NR_iSifDmaStat        (-0x76)
#define NR_SifSetDma          0x77  /* [sceSifSetDma] (list, n) -> id, 0 = full */
#define NR_iSifSetDma         (-0x77)
#define NR_SifSetDChain       0x78  /* [sceSifSetDChain] re-arm SIF0 */
#define NR_iSifSetDChain      (-0x78)
#define NR_SifSetReg          0x79  /* [sceSifSetReg] */
#define NR_SifGetReg          0x7A  /* [sceSifGetReg] */
#define NR_Deci2Call          0x7C
#define NR_GetMemorySize      0x7F

#endif
