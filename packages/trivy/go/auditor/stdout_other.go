//go:build !linux

package main

import "os"

// protocolOut elsewhere: trivy's writes to os.Stdout go to stderr; a handle taken at init would not.
func protocolOut() (*os.File, error) {
	out := os.Stdout
	os.Stdout = os.Stderr
	return out, nil
}
