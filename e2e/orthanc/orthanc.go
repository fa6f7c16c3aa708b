package orthanc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeouts of the harness.
const (
	// StartTimeout bounds the wait for a started server to answer.
	StartTimeout = 30 * time.Second
	// requestTimeout bounds each request the harness itself makes.
	requestTimeout = 60 * time.Second
	// logTail is how many lines of a server's log a failed test shows.
	logTail = 40
)

// An Option changes how a server is configured.
type Option func(*config)

type config struct {
	name   string
	reject []string
	drop   []string
}

// Name sets the server's name and DICOM AE title (at most 16 characters,
// upper case by convention); the default is PACS, PACS2, PACS3… in the
// order started in the namespace.
func Name(name string) Option {
	return func(c *config) { c.name = name }
}

// RejectInstances makes the server refuse to store the instances with
// these SOP Instance UIDs: its ReceivedInstanceFilter raises an error, so
// a REST upload answers an error and a STOW-RS request does not list them
// as stored (see the package documentation for what it does list).
func RejectInstances(sopInstanceUIDs ...string) Option {
	return func(c *config) { c.reject = append(c.reject, sopInstanceUIDs...) }
}

// DropInstances makes the server discard the instances with these SOP
// Instance UIDs while answering as if it had stored them: its
// ReceivedInstanceFilter returns false. Only a query shows they are not
// there.
func DropInstances(sopInstanceUIDs ...string) Option {
	return func(c *config) { c.drop = append(c.drop, sopInstanceUIDs...) }
}

// A Server is one Orthanc with the DICOMweb plugin, running in a
// namespace until its test ends. Its methods fail the test on error, so
// they must be called from the test's goroutine.
type Server struct {
	// Name is Orthanc's name and DICOM AE title.
	Name string
	// URL is the root of Orthanc's REST API, http://127.0.0.1:PORT,
	// reachable inside the namespace only.
	URL string
	// DICOMwebURL is the root of the DICOMweb API, URL + "/dicom-web".
	DICOMwebURL string
	// HTTPPort and DICOMPort are the ports it listens on in the namespace.
	HTTPPort, DICOMPort int
	// LogFile holds Orthanc's output; a failed test shows its tail.
	LogFile string

	ns         *Namespace
	configFile string

	mu      sync.Mutex
	cmd     *exec.Cmd     // nil while stopped
	exited  chan struct{} // closed when cmd has exited
	waitErr error         // cmd's exit, once exited is closed
}

// Start runs one server in a namespace of its own; s.Namespace() returns
// that namespace. It skips t, or fails it under CI, when Orthanc cannot
// run here.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return NewNamespace(t).Start(t, opts...)
}

// Start runs a server in the namespace, with its own storage in a
// temporary folder of t, and waits until its REST API answers (at most
// StartTimeout). t's clean-up kills it, and shows the tail of its log if t
// failed.
func (ns *Namespace) Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	httpPort, dicomPort := ns.nextPorts()
	c := config{name: "PACS"}
	if n := dicomPort - firstDICOMPort; n > 0 {
		c.name = "PACS" + strconv.Itoa(n+1)
	}
	for _, opt := range opts {
		opt(&c)
	}
	if c.name == "" || len(c.name) > 16 {
		t.Fatalf("orthanc: server name %q: want 1 to 16 characters (it is the AE title)", c.name)
	}
	dir := t.TempDir()
	s := &Server{
		Name:        c.name,
		URL:         fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		HTTPPort:    httpPort,
		DICOMPort:   dicomPort,
		LogFile:     filepath.Join(dir, "orthanc.log"),
		ns:          ns,
		configFile:  filepath.Join(dir, "orthanc.json"),
		DICOMwebURL: fmt.Sprintf("http://127.0.0.1:%d/dicom-web", httpPort),
	}
	if err := writeConfig(dir, s, &c); err != nil {
		t.Fatalf("orthanc: server %s: %v", s.Name, err)
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("orthanc: server %s in %s, last lines of %s:\n%s", s.Name, ns.name, s.LogFile, s.logTail(logTail))
		}
	})
	s.start(t)
	return s
}

// writeConfig writes the server's configuration, and its Lua filter if it
// refuses instances, into dir.
func writeConfig(dir string, s *Server, c *config) error {
	storage := filepath.Join(dir, "storage")
	conf := map[string]any{
		"Name":                   s.Name,
		"DicomAet":               s.Name,
		"StorageDirectory":       storage,
		"IndexDirectory":         storage,
		"HttpPort":               s.HTTPPort,
		"DicomPort":              s.DICOMPort,
		"RemoteAccessAllowed":    false, // loopback is all the namespace has
		"AuthenticationEnabled":  false,
		"OrthancExplorerEnabled": false,
		"WebDavEnabled":          false,
		"StableAge":              1,
		"OverwriteInstances":     false,
		"Plugins":                []string{PluginPath},
		"DicomWeb": map[string]any{
			"Enable":          true,
			"Root":            "/dicom-web/",
			"EnableWado":      false,
			"StudiesMetadata": "Full",
			"SeriesMetadata":  "Full",
		},
	}
	if len(c.reject) > 0 || len(c.drop) > 0 {
		script, err := filterScript(c.reject, c.drop)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, "filter.lua")
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			return err
		}
		conf["LuaScripts"] = []string{path}
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(s.configFile, b, 0o644)
}

// filterScript is the Lua ReceivedInstanceFilter that refuses the reject
// UIDs with an error and discards the drop UIDs silently.
func filterScript(reject, drop []string) (string, error) {
	var b strings.Builder
	for _, set := range []struct {
		name string
		uids []string
	}{{"reject", reject}, {"drop", drop}} {
		fmt.Fprintf(&b, "local %s = {\n", set.name)
		for _, uid := range set.uids {
			if !validUID(uid) {
				return "", fmt.Errorf("SOP Instance UID %q to %s: want digits and dots, at most 64", uid, set.name)
			}
			fmt.Fprintf(&b, "  [\"%s\"] = true,\n", uid)
		}
		b.WriteString("}\n")
	}
	b.WriteString(`
function ReceivedInstanceFilter(dicom, origin, info)
  local uid = dicom.SOPInstanceUID
  if reject[uid] then
    error('refused by the test harness: ' .. uid)
  end
  if drop[uid] then
    return false
  end
  return true
end
`)
	return b.String(), nil
}

func validUID(uid string) bool {
	if uid == "" || len(uid) > 64 {
		return false
	}
	for _, r := range uid {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

// Namespace returns the namespace the server runs in.
func (s *Server) Namespace() *Namespace { return s.ns }

// HTTPClient returns the namespace's client, the one that reaches URL.
func (s *Server) HTTPClient() *http.Client { return s.ns.HTTPClient() }

// start runs Orthanc and waits until it answers.
func (s *Server) start(t testing.TB) {
	t.Helper()
	log, err := os.OpenFile(s.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("orthanc: server %s: %v", s.Name, err)
	}
	defer log.Close()
	// ip netns exec execs Orthanc in place, so the process is Orthanc.
	cmd := exec.Command("ip", "netns", "exec", s.ns.name, OrthancPath, s.configFile)
	cmd.Dir = filepath.Dir(s.configFile)
	cmd.Stdout, cmd.Stderr = log, log
	// Should the test binary die, Orthanc dies with it.
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		t.Fatalf("orthanc: starting server %s: %v", s.Name, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()

	deadline := time.Now().Add(StartTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		err := s.get(ctx, "/system", io.Discard)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			s.mu.Lock()
			werr := s.waitErr
			s.mu.Unlock()
			t.Fatalf("orthanc: server %s exited while starting (%v); last lines of %s:\n%s", s.Name, werr, s.LogFile, s.logTail(logTail))
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("orthanc: server %s did not answer GET %s/system within %s: %v; last lines of %s:\n%s",
				s.Name, s.URL, StartTimeout, err, s.LogFile, s.logTail(logTail))
		}
	}
}

// Stop kills the server at once (SIGKILL), as a PACS that crashes or loses
// its network would go: connections under way break, and new ones are
// refused. Its storage stays, for Restart. Stopping a stopped server does
// nothing.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.kill()
}

// Restart starts a stopped server again, on the same ports and storage,
// and waits until it answers. A running server is stopped first.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.kill()
	s.start(t)
}

// kill ends Orthanc, if it runs, and waits for it.
func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Upload stores each file through Orthanc's REST API (POST /instances),
// failing t unless Orthanc answers that it stored it or had it already.
func (s *Server) Upload(t testing.TB, paths ...string) {
	t.Helper()
	for _, path := range paths {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("orthanc: uploading to %s: %v", s.Name, err)
		}
		var answer struct{ Status string }
		if err := s.post(t.Context(), "/instances", "application/dicom", body, &answer); err != nil {
			t.Fatalf("orthanc: uploading %s to %s: %v", path, s.Name, err)
		}
		if answer.Status != "Success" && answer.Status != "AlreadyStored" {
			t.Fatalf("orthanc: uploading %s to %s: Orthanc says %q", path, s.Name, answer.Status)
		}
	}
}

// Instances returns the SOP Instance UIDs of the study that the server
// holds, sorted, none if it does not have the study. It asks the REST API
// (POST /tools/find), not DICOMweb, so that it checks the DICOMweb code
// under test rather than relying on it.
func (s *Server) Instances(t testing.TB, studyUID string) []string {
	t.Helper()
	query, err := json.Marshal(map[string]any{
		"Level":  "Instance",
		"Query":  map[string]string{"StudyInstanceUID": studyUID},
		"Expand": true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var found []struct {
		MainDicomTags struct{ SOPInstanceUID string }
	}
	if err := s.post(t.Context(), "/tools/find", "application/json", query, &found); err != nil {
		t.Fatalf("orthanc: listing study %s on %s: %v", studyUID, s.Name, err)
	}
	uids := make([]string, 0, len(found))
	for _, f := range found {
		uids = append(uids, f.MainDicomTags.SOPInstanceUID)
	}
	slices.Sort(uids)
	return uids
}

// get copies the answer to GET path into w; a status other than 200 is an
// error.
func (s *Server) get(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		return err
	}
	return s.do(req, func(body io.Reader) error {
		_, err := io.Copy(w, body)
		return err
	})
}

// post sends body to path and decodes the JSON answer into answer.
func (s *Server) post(ctx context.Context, path, contentType string, body []byte, answer any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	return s.do(req, func(body io.Reader) error {
		if err := json.NewDecoder(body).Decode(answer); err != nil {
			return fmt.Errorf("%s %s: reading the answer: %w", req.Method, path, err)
		}
		return nil
	})
}

// do sends req and hands the body of a 200 answer to read.
func (s *Server) do(req *http.Request, read func(io.Reader) error) error {
	resp, err := s.ns.HTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(excerpt))
	}
	return read(resp.Body)
}

// logTail returns the last n lines of the server's log.
func (s *Server) logTail(n int) string {
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
