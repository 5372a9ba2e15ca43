// Package ort runs ONNX graphs with ONNX Runtime through onnxruntime_go:
// finding the shared library, choosing the execution provider, and running
// sessions on float32 tensors. Train steps run through IoBinding instead
// (Bound, with fmam's own calls into the C API in capi.c), so their state
// stays in device memory between runs.
//
// ONNX Runtime's environment is process-wide (the C library allows one),
// so Open hands out reference-counted handles to it; that counter is the
// one piece of package state, forced by the library.
package ort

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	ortgo "github.com/yalue/onnxruntime_go"
)

// PinnedVersion is the onnxruntime-node release scripts/setup-ort.sh installs.
const PinnedVersion = "1.29.0"

// SetupHint tells users how to get the library.
const SetupHint = "run 'make setup' (or scripts/setup-ort.sh), or point --ort-lib / FMAM_ORT_LIB at a libonnxruntime.so"

// CacheDir is where scripts/setup-ort.sh puts the library.
func CacheDir() string {
	if d := os.Getenv("FMAM_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "fmam")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "fmam-cache")
	}
	return filepath.Join(home, ".cache", "fmam")
}

// DefaultLibPath is the cached library of the pinned version.
func DefaultLibPath() string {
	return filepath.Join(CacheDir(), "ort", PinnedVersion, "libonnxruntime.so.1")
}

// LibraryEnv is the environment variable that names the library.
const LibraryEnv = "FMAM_ORT_LIB"

// FindLibrary returns the ONNX Runtime shared library to load, the first
// of, in this order:
//
//  1. flag, the --ort-lib flag;
//  2. the FMAM_ORT_LIB environment variable (LibraryEnv);
//  3. config, the configuration's ort_lib;
//  4. DefaultLibPath, the cache 'make setup' fills.
//
// Empty values are skipped. A library named by 1-3 must exist: a typo is
// an error, not a silent fall-back to the cache.
func FindLibrary(flag, config string) (string, error) {
	for _, c := range []struct{ path, from string }{{flag, "--ort-lib"}, {os.Getenv(LibraryEnv), LibraryEnv}, {config, "ort_lib in the configuration"}} {
		if c.path == "" {
			continue
		}
		if _, err := os.Stat(c.path); err != nil {
			return "", fmt.Errorf("ONNX Runtime library %s (from %s): %w; fix or unset %s to use the library 'make setup' (scripts/setup-ort.sh) installs, or %s",
				c.path, c.from, err, c.from, SetupHint)
		}
		return c.path, nil
	}
	p := DefaultLibPath()
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("ONNX Runtime library not found (looked for %s); %s", p, SetupHint)
	}
	return p, nil
}

var env struct {
	mu   sync.Mutex
	refs int
	lib  string
	capi *capi // fmam's own C API handle (bound.go), beside onnxruntime_go's
}

// Runtime is a handle on the initialised ONNX Runtime environment.
type Runtime struct {
	LibPath string
	Version string
	closed  bool
	capi    *capi
}

// ErrNoCUDAProvider means the CUDA provider library is not installed
// beside ONNX Runtime: the usual CPU-only machine, not a failure.
var ErrNoCUDAProvider = errors.New("no CUDA provider installed")

// cudaWarning keeps device auto's fallback to the CPU to one warning per
// process, however many runtimes and sessions it opens.
var cudaWarning sync.Once

// Open initialises ONNX Runtime from the library at libPath. Every Open
// must be matched by Close. All handles in a process share one library.
func Open(libPath string) (*Runtime, error) {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.refs > 0 {
		if env.lib != libPath {
			return nil, fmt.Errorf("ONNX Runtime is already loaded from %s; cannot also load %s", env.lib, libPath)
		}
		env.refs++
		return &Runtime{LibPath: libPath, Version: ortgo.GetVersion(), capi: env.capi}, nil
	}
	if _, err := os.Stat(libPath); err != nil {
		return nil, fmt.Errorf("ONNX Runtime library %s: %w; %s", libPath, err, SetupHint)
	}
	ortgo.SetSharedLibraryPath(libPath)
	if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError()); err != nil {
		return nil, fmt.Errorf("load ONNX Runtime %s: %w; %s", libPath, err, SetupHint)
	}
	c, err := loadCAPI(libPath)
	if err != nil {
		return nil, errors.Join(err, ortgo.DestroyEnvironment())
	}
	env.refs, env.lib, env.capi = 1, libPath, c
	return &Runtime{LibPath: libPath, Version: ortgo.GetVersion(), capi: c}, nil
}

// Close releases the handle; the last one tears the environment down.
func (r *Runtime) Close() error {
	env.mu.Lock()
	defer env.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.capi = nil
	env.refs--
	if env.refs == 0 {
		env.lib = ""
		env.capi.close()
		env.capi = nil
		return ortgo.DestroyEnvironment()
	}
	return nil
}

// Device selects the execution provider.
type Device string

// The devices fmam knows.
const (
	CPU  Device = "cpu"
	CUDA Device = "cuda"
	Auto Device = "auto"
)

// ParseDevice validates a --device value.
func ParseDevice(s string) (Device, error) {
	switch d := Device(strings.ToLower(s)); d {
	case CPU, CUDA, Auto:
		return d, nil
	}
	return "", fmt.Errorf("unknown device %q: use cpu, cuda or auto", s)
}

// Options configure a session.
type Options struct {
	Device  Device
	Threads int // intra-op threads; 0 lets ONNX Runtime choose
	// Logger receives the one warning 'auto' gives when it falls back.
	Logger *slog.Logger
	// Profile, when set, makes ONNX Runtime write a per-node timing
	// profile (Chrome trace JSON) with this file prefix.
	Profile string
	// Training marks train-step graphs. They skip ONNX Runtime's NCHWc
	// layout transform: in a train step every conv output feeds
	// reductions and gradient ops that need plain NCHW, and the reorders
	// the transform inserts cost more than the blocked layout saves
	// (measured: DRAEM steps about 25% faster, MNAD about 10%).
	Training bool
}

// CUDAProviderPath is where ONNX Runtime looks for its CUDA provider: in
// the same folder as the core library.
func (r *Runtime) CUDAProviderPath() string {
	return filepath.Join(filepath.Dir(r.LibPath), "libonnxruntime_providers_cuda.so")
}

// CUDAStatus says whether the CUDA provider can be appended, and why not.
func (r *Runtime) CUDAStatus() error {
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	return r.appendCUDA(so)
}

// cudaFiles checks the provider files before the CUDA provider is
// appended: ONNX Runtime would otherwise print its own error to stderr
// before returning one.
func (r *Runtime) cudaFiles() error {
	for _, lib := range []string{r.CUDAProviderPath(), filepath.Join(filepath.Dir(r.LibPath), "libonnxruntime_providers_shared.so")} {
		if _, err := os.Stat(lib); err != nil {
			return fmt.Errorf("%w: %s is missing: run 'scripts/setup-ort.sh --cuda' (CUDA 13 machines)", ErrNoCUDAProvider, lib)
		}
	}
	return nil
}

func (r *Runtime) appendCUDA(so *ortgo.SessionOptions) error {
	if err := r.cudaFiles(); err != nil {
		return err
	}
	co, err := ortgo.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("CUDA provider options: %w (is CUDA 13 with cuDNN installed and is %s present?)", err, r.CUDAProviderPath())
	}
	defer co.Destroy()
	if err := so.AppendExecutionProviderCUDA(co); err != nil {
		return fmt.Errorf("append CUDA execution provider: %w (needs %s, CUDA 13 runtime libraries and a visible GPU)", err, r.CUDAProviderPath())
	}
	return nil
}

// Providers lists the execution providers usable from this library.
func (r *Runtime) Providers() []string {
	out := []string{"CPUExecutionProvider"}
	if r.CUDAStatus() == nil {
		out = append(out, "CUDAExecutionProvider")
	}
	return out
}

// Session is one loaded model with fixed input and output names.
type Session struct {
	s       *ortgo.DynamicAdvancedSession
	Inputs  []string
	Outputs []string
	Device  Device
	// opts is made on the first Run with a cancellable context; it carries
	// the terminate flag Ctrl-C sets.
	opts *ortgo.RunOptions
}

// NewSession loads ONNX bytes. With Device cuda a missing provider is an
// error; with auto it is one warning and the CPU.
func (r *Runtime) NewSession(model []byte, inputs, outputs []string, opt Options) (*Session, error) {
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	if opt.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opt.Threads); err != nil {
			return nil, err
		}
		if err := so.SetInterOpNumThreads(1); err != nil {
			return nil, err
		}
	}
	if opt.Training {
		if err := so.SetGraphOptimizationLevel(ortgo.GraphOptimizationLevelEnableExtended); err != nil {
			return nil, fmt.Errorf("session options: %w", err)
		}
	}
	if opt.Profile != "" {
		if err := so.EnableProfiling(opt.Profile); err != nil {
			return nil, fmt.Errorf("enable profiling: %w", err)
		}
	}
	dev, err := r.device(opt, func() error { return r.appendCUDA(so) })
	if err != nil {
		return nil, err
	}
	s, err := ortgo.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, so)
	if err != nil {
		return nil, fmt.Errorf("create ONNX Runtime session: %w", err)
	}
	return &Session{s: s, Inputs: inputs, Outputs: outputs, Device: dev}, nil
}

// device says where a session with opt runs, appending the CUDA provider
// through appendCUDA where opt asks for it: with Device cuda a failure is
// an error; with auto it is one message and the CPU.
func (r *Runtime) device(opt Options, appendCUDA func() error) (Device, error) {
	switch opt.Device {
	case CUDA:
		if err := appendCUDA(); err != nil {
			return "", err
		}
		return CUDA, nil
	case Auto:
		err := appendCUDA()
		if err == nil {
			return CUDA, nil
		}
		if opt.Logger != nil {
			// Said once: at info level where no CUDA provider is
			// installed (a CPU machine), as a warning where one is
			// installed and fails.
			cudaWarning.Do(func() {
				if errors.Is(err, ErrNoCUDAProvider) {
					opt.Logger.Info("no CUDA provider installed, running on the CPU")
					return
				}
				opt.Logger.Warn("CUDA is not usable, running on the CPU", "reason", err)
			})
		}
	}
	return CPU, nil
}

// Tensor is a float32 tensor ONNX Runtime reads and writes in place.
type Tensor = ortgo.Tensor[float32]

// NewTensor wraps data (not copied) in a tensor of the given shape.
func NewTensor(shape []int64, data []float32) (*Tensor, error) {
	if len(shape) == 0 {
		// onnxruntime_go rejects rank-0 tensors; the engine uses [1].
		shape = []int64{1}
	}
	t, err := ortgo.NewTensor(ortgo.NewShape(shape...), data)
	if err != nil {
		return nil, fmt.Errorf("tensor %v: %w", shape, err)
	}
	return t, nil
}

// ZerosTensor allocates a zero tensor.
func ZerosTensor(shape []int64) (*Tensor, error) {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return NewTensor(shape, make([]float32, n))
}

// Run runs the model; outputs must be preallocated tensors of the right
// shapes (so state can ping-pong without allocation). An input tensor must
// never also be an output of the same Run: ONNX Runtime may read it after
// writing it. When ctx is cancelled during the run, ONNX Runtime is told to
// terminate it (between kernels), and Run returns ctx's error.
func (s *Session) Run(ctx context.Context, inputs, outputs []*Tensor) error {
	if len(inputs) != len(s.Inputs) || len(outputs) != len(s.Outputs) {
		return fmt.Errorf("run: %d inputs and %d outputs for a session of %d and %d", len(inputs), len(outputs), len(s.Inputs), len(s.Outputs))
	}
	ins := make([]ortgo.Value, len(inputs))
	for i, t := range inputs {
		if t == nil {
			return fmt.Errorf("run: input %q is nil", s.Inputs[i])
		}
		ins[i] = t
	}
	outs := make([]ortgo.Value, len(outputs))
	for i, t := range outputs {
		if t == nil {
			return fmt.Errorf("run: output %q is nil", s.Outputs[i])
		}
		for _, in := range inputs {
			if in == t {
				return fmt.Errorf("run: tensor for %q is both an input and an output", s.Outputs[i])
			}
		}
		outs[i] = t
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if ctx.Done() == nil {
		// A context that is never cancelled needs no watcher.
		if err := s.s.Run(ins, outs); err != nil {
			return fmt.Errorf("onnxruntime run: %w", err)
		}
		return nil
	}
	if s.opts == nil {
		ro, err := ortgo.NewRunOptions()
		if err != nil {
			return fmt.Errorf("run options: %w", err)
		}
		s.opts = ro
	}
	stop := context.AfterFunc(ctx, func() { _ = s.opts.Terminate() })
	err := s.s.RunWithOptions(ins, outs, s.opts)
	if !stop() {
		// The context was cancelled: the flag may be set whether or not it
		// stopped this run, and must be cleared for the next one.
		_ = s.opts.UnsetTerminate()
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
	}
	if err != nil {
		return fmt.Errorf("onnxruntime run: %w", err)
	}
	return nil
}

// Destroy frees the session.
func (s *Session) Destroy() error {
	if s == nil || s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	if s.opts != nil {
		err = errors.Join(err, s.opts.Destroy())
		s.opts = nil
	}
	return err
}

// DestroyAll frees tensors, ignoring nils.
func DestroyAll(ts ...*Tensor) error {
	var errs []error
	for _, t := range ts {
		if t != nil {
			errs = append(errs, t.Destroy())
		}
	}
	return errors.Join(errs...)
}

// DefaultThreads is the intra-op thread count ONNX Runtime chooses when
// Options.Threads is 0: one per physical core, read from /proc/cpuinfo
// (the number of logical CPUs where that cannot be read).
func DefaultThreads() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	cores := map[[2]string]bool{}
	var phys string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "physical id":
			phys = strings.TrimSpace(v)
		case "core id":
			cores[[2]string{phys, strings.TrimSpace(v)}] = true
		}
	}
	if len(cores) == 0 {
		return runtime.NumCPU()
	}
	return len(cores)
}
