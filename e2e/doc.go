// Package e2e runs the real anyphone binary ($ANYPHONE_BIN) in a terminal
// (tmux) and reads the screen, as a user would. It has only tests.
package e2e
