package tracepoint

import (
	"golang.org/x/sys/unix"

	"github.com/ebpfhost/ebpfhost/internal/source/file"
)

// The kernel program reads x86-64 system call registers (struct pt_regs's
// di, si, dx, r10, r8, r9), so the source runs on amd64 only.
const supported = true

// syscalls maps this architecture's system call numbers to their kinds
// and, where the kind does not decide it, their operation.
var syscalls = map[uint32]syscallEntry{
	unix.SYS_OPEN:      {kOpen, file.Open},
	unix.SYS_OPENAT:    {kOpenat, file.Open},
	unix.SYS_OPENAT2:   {kOpenat2, file.Open},
	unix.SYS_CREAT:     {kCreat, file.Create},
	unix.SYS_READ:      {kIO, file.Read},
	unix.SYS_PREAD64:   {kPIO, file.Read},
	unix.SYS_READV:     {kIOV, file.Read},
	unix.SYS_PREADV:    {kPIOV, file.Read},
	unix.SYS_PREADV2:   {kPIOV, file.Read},
	unix.SYS_WRITE:     {kIO, file.Write},
	unix.SYS_PWRITE64:  {kPIO, file.Write},
	unix.SYS_WRITEV:    {kIOV, file.Write},
	unix.SYS_PWRITEV:   {kPIOV, file.Write},
	unix.SYS_PWRITEV2:  {kPIOV, file.Write},
	unix.SYS_CLOSE:     {kClose, file.Close},
	unix.SYS_RENAME:    {kRename, file.Rename},
	unix.SYS_RENAMEAT:  {kRenameat, file.Rename},
	unix.SYS_RENAMEAT2: {kRenameat2, file.Rename},
	unix.SYS_UNLINK:    {kUnlink, file.Unlink},
	unix.SYS_UNLINKAT:  {kUnlinkat, file.Unlink},
	unix.SYS_RMDIR:     {kRmdir, file.Rmdir},
	unix.SYS_MKDIR:     {kMkdir, file.Mkdir},
	unix.SYS_MKDIRAT:   {kMkdirat, file.Mkdir},
	unix.SYS_TRUNCATE:  {kTruncate, file.Setattr},
	unix.SYS_FTRUNCATE: {kFtruncate, file.Setattr},
	unix.SYS_LINK:      {kLink, file.Link},
	unix.SYS_LINKAT:    {kLinkat, file.Link},
	unix.SYS_SYMLINK:   {kSymlink, file.Symlink},
	unix.SYS_SYMLINKAT: {kSymlinkat, file.Symlink},
}
