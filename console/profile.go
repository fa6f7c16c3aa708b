package console

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// ProfileEnv names the environment variable that, when set to a file
// name, makes a command write a CPU profile of its run there, for
// "go tool pprof". make bench uses it (bench -profile); it is not meant
// for production use.
const ProfileEnv = "IMAGESHARE_CPUPROFILE"

// TraceEnv names the environment variable that, when set to a file name,
// makes a command write an execution trace there, for "go tool trace":
// where the CPU profile says what runs, the trace shows what waits.
const TraceEnv = "IMAGESHARE_TRACE"

// HeapProfileEnv names the environment variable that, when set to a file
// name, makes a command write a heap profile there as it ends, for
// "go tool pprof -sample_index=alloc_space" (what was allocated, and
// where) or inuse_space (what the command still held at the end).
const HeapProfileEnv = "IMAGESHARE_HEAPPROFILE"

// StartProfile starts the CPU profile and the execution trace that
// ProfileEnv and TraceEnv ask for, if any, and returns the function that
// stops them and writes the heap profile HeapProfileEnv asks for. A
// profile that cannot be started or written is reported on stderr and the
// command runs without one.
func StartProfile(stderr io.Writer) (stop func()) {
	stopTrace := startTrace(stderr)
	stopCPU := startCPUProfile(stderr)
	return func() {
		stopCPU()
		stopTrace()
		writeHeapProfile(stderr)
	}
}

func writeHeapProfile(stderr io.Writer) {
	name := os.Getenv(HeapProfileEnv)
	if name == "" {
		return
	}
	f, err := os.Create(name)
	if err == nil {
		err = pprof.Lookup("heap").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "warning: %s: %v\n", HeapProfileEnv, err)
	}
}

func startTrace(stderr io.Writer) (stop func()) {
	name := os.Getenv(TraceEnv)
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintf(stderr, "warning: %s: %v\n", TraceEnv, err)
		return func() {}
	}
	if err := trace.Start(f); err != nil {
		fmt.Fprintf(stderr, "warning: %s: %v\n", TraceEnv, err)
		f.Close()
		return func() {}
	}
	return func() {
		trace.Stop()
		f.Close()
	}
}

func startCPUProfile(stderr io.Writer) (stop func()) {
	name := os.Getenv(ProfileEnv)
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintf(stderr, "warning: %s: %v\n", ProfileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "warning: %s: %v\n", ProfileEnv, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
