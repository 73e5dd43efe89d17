package main

import (
	"os"
	"syscall"
)

// protocolOut moves the protocol off fd 1: it returns a copy of stdout and points fd 1 at stderr,
// so whatever trivy prints to stdout (even through a handle it took at init) cannot corrupt it.
func protocolOut() (*os.File, error) {
	fd, err := syscall.Dup(1)
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	if err := syscall.Dup3(2, 1, 0); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "protocol"), nil
}
