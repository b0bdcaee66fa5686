//go:build linux

package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Proc is an external process started by a benchmark and stopped by its PID.
type Proc struct {
	Name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	err   error // Wait's result; read after done
}

// StartProc starts bin with args; stdout and stderr go to logPath (if not
// empty) and stdin stays open until Stop, so programs that end on EOF keep
// running. If firstLine is not nil it receives stdout's first line and the
// rest of stdout is discarded (the anyphone endpoint's JSON lines).
func StartProc(name, logPath string, firstLine chan<- string, bin string, args ...string) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var logf *os.File
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		logf = f
		cmd.Stderr = f
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	var stdout io.ReadCloser
	if firstLine != nil {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	} else if logf != nil {
		cmd.Stdout = logf
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	copied := make(chan struct{})
	if stdout != nil {
		go func() {
			// The stdout drain: owned by the Proc, ends at the process's EOF.
			defer close(copied)
			br := bufio.NewReaderSize(stdout, 64*1024)
			line, err := br.ReadString('\n')
			if err == nil {
				firstLine <- line
			}
			close(firstLine)
			_, _ = io.Copy(io.Discard, br)
		}()
	} else {
		close(copied)
	}
	go func() {
		// The waiter: owned by the Proc; closes done when the process exits.
		<-copied
		p.err = cmd.Wait()
		if logf != nil {
			logf.Close()
		}
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit on its own, or kills it when ctx ends.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		p.Stop(0)
		return ctx.Err()
	}
}

// Stop closes stdin, sends SIGTERM, and SIGKILL after grace; it returns
// once the process has exited. Only this process is signalled.
func (p *Proc) Stop(grace time.Duration) {
	_ = p.stdin.Close()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// ExitErr is how the process ended (nil: status 0).
func (p *Proc) ExitErr() error {
	select {
	case <-p.done:
		return p.err
	default:
		return errors.New("bench: still running")
	}
}

// FreePorts returns the first port p of n consecutive free UDP ports on
// 127.0.0.1 (sipp binds its media port and port+2). Another process may
// still take them before use; the benchmarks run alone.
func FreePorts(n int) (int, error) {
	for range 200 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		base := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if base+n > 65535 {
			continue
		}
		ok := true
		var held []*net.UDPConn
		for i := range n {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + i})
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
			// sipp and the SUTs also use TCP on the SIP port.
			if tl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + i}); err == nil {
				tl.Close()
			} else {
				ok = false
				break
			}
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("bench: no free port range")
}
