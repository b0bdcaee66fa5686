//go:build portaudio && linux

package portaudio

import "syscall"

// dupTo makes newfd a copy of oldfd. Linux/arm64 has no dup2, only dup3.
func dupTo(oldfd, newfd int) error { return syscall.Dup3(oldfd, newfd, 0) }
