package mailpittest

import "syscall"

// procAttr kills mailpit when the test binary dies before its cleanup.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
