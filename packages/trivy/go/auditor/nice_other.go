//go:build !linux

package main

// niceThread: only Linux gives each thread its own nice value; elsewhere bulk audits run as the worker.
func niceThread(int) {}
