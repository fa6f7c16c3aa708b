// Package profile is the profiling a command does when the environment
// asks for it: a CPU profile, an execution trace and a heap profile, each
// written to the file an IMAGESHARE_* variable names. It is for make bench
// and for developers, not for production use.
package profile

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// CPUEnv names the environment variable that, when set to a file
// name, makes a command write a CPU profile of its run there, for
// "go tool pprof". make bench uses it (bench -profile); it is not meant
// for production use.
const CPUEnv = "IMAGESHARE_CPUPROFILE"

// TraceEnv names the environment variable that, when set to a file name,
// makes a command write an execution trace there, for "go tool trace":
// where the CPU profile says what runs, the trace shows what waits.
const TraceEnv = "IMAGESHARE_TRACE"

// HeapEnv names the environment variable that, when set to a file
// name, makes a command write a heap profile there as it ends, for
// "go tool pprof -sample_index=alloc_space" (what was allocated, and
// where) or inuse_space (what the command still held at the end).
const HeapEnv = "IMAGESHARE_HEAPPROFILE"

// Start starts the CPU profile and the execution trace that CPUEnv and
// TraceEnv ask for, if any, and returns the function that stops them and
// writes the heap profile HeapEnv asks for. A profile that cannot be
// started or written is reported on stderr and the command runs without
// one.
func Start(stderr io.Writer) (stop func()) {
	stopTrace := startTrace(stderr)
	stopCPU := startCPUProfile(stderr)
	return func() {
		stopCPU()
		stopTrace()
		writeHeapProfile(stderr)
	}
}

func writeHeapProfile(stderr io.Writer) {
	name := os.Getenv(HeapEnv)
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
		fmt.Fprintf(stderr, "warning: %s: %v\n", HeapEnv, err)
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
	name := os.Getenv(CPUEnv)
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintf(stderr, "warning: %s: %v\n", CPUEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(stderr, "warning: %s: %v\n", CPUEnv, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
