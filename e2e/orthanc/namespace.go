package orthanc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"imageshare/internal/testenv"
)

// Paths of the programs the package runs.
const (
	OrthancPath = "/usr/sbin/Orthanc"
	PluginPath  = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
)

// First ports of the servers of a namespace; each further server takes
// the next one.
const (
	firstHTTPPort  = 8042
	firstDICOMPort = 4242
)

// cmdTimeout bounds each ip command.
const cmdTimeout = 30 * time.Second

// A Namespace is a network namespace with only loopback, made for one
// test and deleted by its clean-up, in which Orthanc servers run.
type Namespace struct {
	name string

	client *http.Client // dials inside the namespace

	mu      sync.Mutex
	servers int // started so far, which decides the next ports
}

// NewNamespace makes a namespace for t, with loopback up, and registers
// its deletion (after killing whatever still runs in it) with t.Cleanup.
// It skips t when this is not root on Linux with ip, Orthanc and the
// DICOMweb plugin, and fails it instead when CI is "true".
func NewNamespace(t testing.TB) *Namespace {
	t.Helper()
	requirements(t)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("orthanc: naming a namespace: %v", err)
	}
	ns := &Namespace{name: "imgsh-pacs-" + hex.EncodeToString(b[:])}
	ns.client = &http.Client{Transport: &http.Transport{
		Proxy:               nil, // whatever the environment says
		DialContext:         ns.DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}}
	if err := ipCommand("netns", "add", ns.name); err != nil {
		t.Fatalf("orthanc: %v", err)
	}
	t.Cleanup(func() { ns.remove(t) })
	if err := ipCommand("-n", ns.name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("orthanc: %v", err)
	}
	return ns
}

// requirements skips or, under CI, fails t when Orthanc cannot run here.
func requirements(t testing.TB) {
	t.Helper()
	why := ""
	switch {
	case runtime.GOOS != "linux":
		why = "needs Linux: Orthanc runs in a network namespace of its own"
	case os.Geteuid() != 0:
		why = "needs root: Orthanc runs in a network namespace of its own"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			why = "needs ip to make network namespaces (Debian package iproute2)"
		}
		for _, path := range []string{OrthancPath, PluginPath} {
			if _, err := os.Stat(path); err != nil {
				why = fmt.Sprintf("needs %s (Debian packages orthanc orthanc-dicomweb): %v", path, err)
				break
			}
		}
	}
	if why == "" {
		return
	}
	testenv.Missing(t, "orthanc: %s (CI must run the tests against a real PACS)", why)
}

// Name is the namespace's name, as ip netns knows it.
func (ns *Namespace) Name() string { return ns.name }

// String returns the namespace's name.
func (ns *Namespace) String() string { return ns.name }

// nextPorts hands out the ports of the namespace's next server.
func (ns *Namespace) nextPorts() (httpPort, dicomPort int) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	n := ns.servers
	ns.servers++
	return firstHTTPPort + n, firstDICOMPort + n
}

// remove kills what still runs in the namespace, this process aside, and
// deletes it.
func (ns *Namespace) remove(t testing.TB) {
	ns.client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "pids", ns.name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
		}
	}
	if err := ipCommand("netns", "del", ns.name); err != nil {
		t.Errorf("orthanc: removing the namespace: %v", err)
	}
}

// DialContext connects to address inside the namespace; the connection
// then works from any goroutine. It dials on a locked thread switched into
// the namespace and back (see the package documentation).
func (ns *Namespace) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ns.dialHere(ctx, network, address)
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}

// dialHere dials from the namespace on the calling goroutine's thread. It
// must run on a goroutine of its own: when it cannot switch the thread
// back, it leaves the thread locked, so that the runtime ends the thread
// with the goroutine.
func (ns *Namespace) dialHere(ctx context.Context, network, address string) (net.Conn, error) {
	runtime.LockOSThread()
	own, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("dialing %s in namespace %s: %w", address, ns.name, err)
	}
	defer own.Close()
	target, err := os.Open("/run/netns/" + ns.name)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("dialing %s in namespace %s: %w", address, ns.name, err)
	}
	defer target.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("dialing %s: entering namespace %s: %w", address, ns.name, err)
	}
	// FallbackDelay < 0: no second address family dialed on another
	// goroutine, which would run on another thread, outside the namespace.
	d := net.Dialer{FallbackDelay: -1}
	conn, dialErr := d.DialContext(ctx, network, address)
	if err := setns(own); err != nil {
		// The thread stays locked, and dies with this goroutine.
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("dialing %s: leaving namespace %s: %w", address, ns.name, err)
	}
	runtime.UnlockOSThread()
	if dialErr != nil {
		return nil, fmt.Errorf("dialing %s in namespace %s: %w", address, ns.name, dialErr)
	}
	return conn, nil
}

// HTTPClient returns the namespace's HTTP client, the same on every call:
// its connections are made inside the namespace (see DialContext), and it
// uses no proxy, whatever the environment says.
func (ns *Namespace) HTTPClient() *http.Client { return ns.client }

// Command returns a command that runs name with args inside the namespace,
// through ip netns exec. The namespace's clean-up kills it if it still
// runs then.
func (ns *Namespace) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
}

// ipCommand runs ip with args, and says what failed and why.
func ipCommand(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("ip %s: %s", strings.Join(args, " "), msg)
	}
	return nil
}
