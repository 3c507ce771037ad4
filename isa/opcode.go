// Package isa is the eBPF instruction set (RFC 9669, cpu v4, plus callx) as
// ebpfhost understands it: opcode constants, the one decoded instruction form
// that the verifier, the interpreter and the JIT share, decoding from raw
// bytecode and from cilium/ebpf instructions with precise validation, and the
// text form (assembler and disassembler) used by the bpf_conformance suite.
//
// Everything here is pure data manipulation: no memory is touched and nothing
// is executed.
package isa

// Instruction classes (the low three bits of the opcode).
const (
	ClassLD    = 0x00
	ClassLDX   = 0x01
	ClassST    = 0x02
	ClassSTX   = 0x03
	ClassALU   = 0x04
	ClassJMP   = 0x05
	ClassJMP32 = 0x06
	ClassALU64 = 0x07
)

// Source of the second operand of ALU and jump instructions.
const (
	SrcK = 0x00 // 32-bit immediate
	SrcX = 0x08 // register
)

// ALU operations (bits 4-7 of ALU and ALU64 opcodes).
const (
	ALUAdd  = 0x00
	ALUSub  = 0x10
	ALUMul  = 0x20
	ALUDiv  = 0x30 // offset 1: signed
	ALUOr   = 0x40
	ALUAnd  = 0x50
	ALULsh  = 0x60
	ALURsh  = 0x70
	ALUNeg  = 0x80
	ALUMod  = 0x90 // offset 1: signed
	ALUXor  = 0xa0
	ALUMov  = 0xb0 // offset 8/16/32 with SrcX: sign-extending move
	ALUArsh = 0xc0
	ALUEnd  = 0xd0 // byte swaps; imm is the width
)

// Jump operations (bits 4-7 of JMP and JMP32 opcodes).
const (
	JumpA    = 0x00
	JumpEQ   = 0x10
	JumpGT   = 0x20
	JumpGE   = 0x30
	JumpSET  = 0x40
	JumpNE   = 0x50
	JumpSGT  = 0x60
	JumpSGE  = 0x70
	JumpCall = 0x80
	JumpExit = 0x90
	JumpLT   = 0xa0
	JumpLE   = 0xb0
	JumpSLT  = 0xc0
	JumpSLE  = 0xd0
)

// Access sizes of load and store instructions (bits 3-4).
const (
	SizeW  = 0x00
	SizeH  = 0x08
	SizeB  = 0x10
	SizeDW = 0x18
)

// Modes of load and store instructions (bits 5-7).
const (
	ModeIMM    = 0x00
	ModeABS    = 0x20
	ModeIND    = 0x40
	ModeMEM    = 0x60
	ModeMEMSX  = 0x80
	ModeATOMIC = 0xc0
)

// Atomic operations, held in the immediate of atomic instructions.
const (
	AtomicAdd     = 0x00
	AtomicOr      = 0x40
	AtomicAnd     = 0x50
	AtomicXor     = 0xa0
	AtomicFetch   = 0x01
	AtomicXchg    = 0xe0 | AtomicFetch
	AtomicCmpXchg = 0xf0 | AtomicFetch
)

// Source values of the 64-bit immediate load (lddw) that say what the
// immediate refers to. The runtime resolves everything but PseudoImm64 before
// a program runs.
const (
	PseudoImm64      = 0 // plain 64-bit constant
	PseudoMapFD      = 1 // imm: map file descriptor; loads the map
	PseudoMapValue   = 2 // imm: map fd, next imm: offset into its value
	PseudoBTFID      = 3 // imm: BTF id of a kernel variable
	PseudoFunc       = 4 // imm: instruction offset of a function
	PseudoMapIdx     = 5 // imm: map index
	PseudoMapIdxVal  = 6 // imm: map index, next imm: offset into its value
	maxPseudoLDDWSrc = PseudoMapIdxVal
)

// Source values of call instructions.
const (
	CallHelper = 0 // imm: helper id
	CallLocal  = 1 // imm: instruction offset of the callee
	CallKfunc  = 2 // imm: BTF id of a kernel function
)

// Frequently used complete opcodes.
const (
	OpLDDW  = ClassLD | ModeIMM | SizeDW // 0x18
	OpCall  = ClassJMP | JumpCall        // 0x85
	OpCallX = ClassJMP | JumpCall | SrcX // 0x8d
	OpExit  = ClassJMP | JumpExit        // 0x95
	OpJA    = ClassJMP | JumpA           // 0x05
	OpJA32  = ClassJMP32 | JumpA         // 0x06
)

// Register is an eBPF register number. R10 is the read-only frame pointer.
type Register uint8

// The eleven registers of the eBPF machine.
const (
	R0 Register = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
)

// RFP is the frame pointer, another name for R10.
const RFP = R10

// NumRegisters is the number of architectural registers.
const NumRegisters = 11

// Opcode is the first byte of an instruction.
type Opcode uint8

// Class returns the instruction class.
func (o Opcode) Class() uint8 { return uint8(o) & 0x07 }

// IsALU reports whether o is in the ALU or ALU64 class.
func (o Opcode) IsALU() bool { c := o.Class(); return c == ClassALU || c == ClassALU64 }

// IsJump reports whether o is in the JMP or JMP32 class.
func (o Opcode) IsJump() bool { c := o.Class(); return c == ClassJMP || c == ClassJMP32 }

// IsLoadStore reports whether o is in one of the four memory classes.
func (o Opcode) IsLoadStore() bool { return o.Class() <= ClassSTX }

// Op returns the ALU or jump operation (bits 4-7).
func (o Opcode) Op() uint8 { return uint8(o) & 0xf0 }

// Source returns SrcK or SrcX for ALU and jump instructions.
func (o Opcode) Source() uint8 { return uint8(o) & 0x08 }

// Size returns the access size bits of a load or store.
func (o Opcode) Size() uint8 { return uint8(o) & 0x18 }

// Mode returns the mode bits of a load or store.
func (o Opcode) Mode() uint8 { return uint8(o) & 0xe0 }

// SizeBytes returns the access width in bytes of a load or store.
func SizeBytes(size uint8) int {
	switch size {
	case SizeB:
		return 1
	case SizeH:
		return 2
	case SizeW:
		return 4
	default:
		return 8
	}
}
