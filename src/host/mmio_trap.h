/* SPDX-License-Identifier: MIT */
/*
 * MMIO traps: memory the program maps from a device region (a VFIO BAR)
 * whose loads and stores reach a device model, as stores into a real BAR
 * reach the device.
 *
 * The range is mapped PROT_NONE.  A load or store by any thread faults;
 * the host's SIGSEGV handler sees the address inside a trap, decodes the
 * faulting x86-64 instruction (the MOV family a compiler emits for
 * volatile 1/2/4/8-byte accesses, with any addressing form and prefix,
 * plus SSE/AVX moves and ALU instructions with a memory operand),
 * calls the trap's read or write with the offset and size, puts a load's
 * value in the destination register, and resumes after the instruction.
 * An instruction it cannot emulate is not silently skipped: the fault goes
 * on to the program's handler (or kills it as an unhandled SIGSEGV would)
 * after a message naming the address, the trap and the opcode bytes.
 *
 * What the device sees: read/write with size 1, 2, 4 or 8 and the offset
 * of the access.  A 16- or 32-byte vector move comes as 8-byte pieces in
 * ascending order; xchg and an ALU instruction with a memory destination
 * (add, or, and, ... even with a lock prefix) as a read then a write of
 * the same offset; cmp/test as a read.  An access that runs past the end
 * of the trap is not emulated.
 *
 * read and write run in signal context on the faulting thread: they must
 * be async-signal-safe in the sense that matters here (no malloc, no lock
 * the interrupted thread may hold; a device's own register lock is fine
 * when no program-visible path holds it across an MMIO access).  They run
 * on the thread's alternate signal stack if it has one (the handler is
 * SA_ONSTACK; ASan gives threads small ones): keep their stack use to a
 * few KiB.  They may map and unmap traps, their own included.
 *
 * A thread that blocks SIGSEGV cannot use a trap: the kernel delivers a
 * fault's SIGSEGV to a blocking thread with the default action (death).
 */
#ifndef UIOMMUFD_HOST_MMIO_TRAP_H
#define UIOMMUFD_HOST_MMIO_TRAP_H

#include <stddef.h>
#include <stdint.h>

struct mmio_trap;

struct mmio_trap_ops {
	uint64_t (*read)(void *priv, uint64_t off, unsigned int size);
	void (*write)(void *priv, uint64_t off, unsigned int size, uint64_t val);
};

/*
 * Map @len bytes (page multiple) of trapping memory at @addr (a hint, or
 * the exact place with MAP_FIXED in @flags, as mmap() takes them); offsets
 * passed to @ops count from @base_off.  Returns 0 and *@out / *@where, or a
 * negative errno (nothing mapped).
 */
int mmio_trap_map(void *addr, size_t len, int flags, const struct mmio_trap_ops *ops,
		  void *priv, uint64_t base_off, struct mmio_trap **out, void **where);
/*
 * Remove the trap and its mapping.  Waits for handlers running on other
 * threads to return; after it, @ops are never called for this trap.
 */
void mmio_trap_unmap(struct mmio_trap *trap);
/*
 * The program unmapped [addr, addr + len) (munmap, or mmap/mremap over it):
 * traps inside stop trapping (the mapping is already gone or going).
 * Called by the shim before the real call, and before anything calls
 * mmio_trap_unmap() for it: mmio_trap_unmap() unmaps only the parts of a
 * trap that were not forgotten, so the program's new mapping there stays.
 */
void mmio_trap_forget_range(void *addr, size_t len);
/*
 * From the host's SIGSEGV handler: true if the fault was an access to a
 * trap and has been emulated (the handler then just returns).
 */
int mmio_trap_fault(void *fault_addr, void *ucontext);
/*
 * From the host (inproc_uaccess.c): install its SIGSEGV handler, or put it back in
 * front of whatever replaced it.  mmio_trap_map() calls it before mapping.
 */
void inproc_fault_handler_ensure(void);

#endif
