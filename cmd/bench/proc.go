//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a program the benchmark runs, in a network namespace or not,
// with its standard output and error in files.
type child struct {
	name           string
	cmd            *exec.Cmd
	start, end     time.Time
	stdout, stderr string
	exited         chan struct{} // closed when Wait returns
	err            error
}

// resources is what a child used, from wait4's rusage. "ip netns exec"
// executes the program in place, so the rusage is the program's own.
type resources struct {
	WallSeconds  float64 `json:"wall_seconds"`
	UserSeconds  float64 `json:"user_seconds"`
	SysSeconds   float64 `json:"sys_seconds"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
}

// startChild starts argv in the network namespace ns ("" for this one),
// with env added to the environment, its output in logBase.out and
// logBase.err. When ctx ends the child is interrupted, and killed 5 s
// later.
func startChild(ctx context.Context, ns string, env []string, logBase string, argv ...string) (*child, error) {
	name := argv[0]
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	c := &child{name: name, stdout: logBase + ".out", stderr: logBase + ".err", exited: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(os.Interrupt) }
	c.cmd.WaitDelay = 5 * time.Second
	out, err := os.Create(c.stdout)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	errf, err := os.Create(c.stderr)
	if err != nil {
		return nil, err
	}
	defer errf.Close()
	c.cmd.Stdout, c.cmd.Stderr = out, errf
	c.start = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		c.end = time.Now()
		close(c.exited)
	}()
	return c, nil
}

// wait waits for the child to exit, for at most timeout, and returns what
// it used. An exit status other than 0 is an error that quotes the end of
// its standard error.
func (c *child) wait(timeout time.Duration) (resources, error) {
	select {
	case <-c.exited:
	case <-time.After(timeout):
		c.stop()
		<-c.exited
		return resources{}, fmt.Errorf("%s did not finish within %v; its last words: %s", c.name, timeout, c.lastWords())
	}
	var u resources
	if ps := c.cmd.ProcessState; ps != nil {
		u.WallSeconds = c.end.Sub(c.start).Seconds()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			u.UserSeconds = time.Duration(ru.Utime.Nano()).Seconds()
			u.SysSeconds = time.Duration(ru.Stime.Nano()).Seconds()
			u.CPUSeconds = u.UserSeconds + u.SysSeconds
			u.PeakRSSBytes = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	if c.err != nil {
		return u, fmt.Errorf("%s: %w; its last words: %s", c.name, c.err, c.lastWords())
	}
	return u, nil
}

// stop interrupts the child, if it still runs; it is killed 5 s later.
func (c *child) stop() {
	select {
	case <-c.exited:
		return
	default:
	}
	c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
	}
}

// lastWords is the end of the child's standard error.
func (c *child) lastWords() string {
	b, _ := os.ReadFile(c.stderr)
	b = bytes.TrimSpace(b)
	lines := strings.Split(string(b), "\n")
	if len(lines) > 4 {
		lines = lines[len(lines)-4:]
	}
	s := strings.Join(lines, " | ")
	if s == "" {
		return "(nothing on standard error)"
	}
	return s
}

// waitFor polls until ready returns true, the child exits, ctx ends or
// timeout passes.
func (c *child) waitFor(ctx context.Context, timeout time.Duration, what string, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !ready() {
		select {
		case <-c.exited:
			if ready() {
				return nil
			}
			return fmt.Errorf("%s exited before %s: %v; its last words: %s", c.name, what, c.err, c.lastWords())
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no %s within %v; its last words: %s", c.name, what, timeout, c.lastWords())
		}
	}
	return nil
}

// firstLine waits for the child's first line of output and returns it.
func (c *child) firstLine(ctx context.Context, timeout time.Duration) (string, error) {
	var line string
	err := c.waitFor(ctx, timeout, "first line of output", func() bool {
		b, _ := os.ReadFile(c.stdout)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = string(b[:i])
			return true
		}
		return false
	})
	return line, err
}

// jsonLines reads a file of JSON Lines, skipping lines that are not JSON
// objects.
func jsonLines(name string) ([]map[string]any, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

// number returns m[key] as a float64, and whether it is one.
func number(m map[string]any, key string) (float64, bool) {
	v, ok := m[key].(float64)
	return v, ok
}
