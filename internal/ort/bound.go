package ort

// #cgo LDFLAGS: -ldl
// #include <stdlib.h>
// #include "capi.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"unsafe"
)

// onnxruntime_go binds only tensors in Go memory and does not expose its
// session, so the IoBinding path goes through fmam's own calls into the C
// API (capi.c), on the library onnxruntime_go loaded.

// statusErr turns an OrtStatus from capi.c into an error and frees it:
// the one place C statuses become Go errors.
func statusErr(st *C.OrtStatus) error {
	if st == nil {
		return nil
	}
	defer C.fmam_release_status(st)
	return errors.New(C.GoString(C.fmam_status_message(st)))
}

// capi is the C API handle Open takes beside onnxruntime_go's: the OrtApi
// table and a reference on the process's one OrtEnv.
type capi struct {
	env *C.OrtEnv
}

func loadCAPI(libPath string) (*capi, error) {
	p := C.CString(libPath)
	defer C.free(unsafe.Pointer(p))
	if msg := C.fmam_load(p); msg != nil {
		return nil, fmt.Errorf("ONNX Runtime C API from %s: %s", libPath, C.GoString(msg))
	}
	c := &capi{}
	// ONNX Runtime keeps one environment per process: this is a second
	// reference on the one onnxruntime_go created.
	if err := statusErr(C.fmam_create_env(&c.env)); err != nil {
		C.fmam_unload()
		return nil, fmt.Errorf("ONNX Runtime environment: %w", err)
	}
	return c, nil
}

func (c *capi) close() {
	C.fmam_release_env(c.env)
	C.fmam_unload()
}

// Bound is a session run through ONNX Runtime's IoBinding: its inputs and
// outputs are Values bound once, so a Run moves no data but what is bound
// in host memory. Values in device memory (NewDeviceValue) stay on the
// device between runs: on CUDA, a train step's state lives there and only
// the batch goes in and the losses come out. On the CPU, device memory is
// CPU memory and the same code runs.
type Bound struct {
	Inputs, Outputs []string
	Device          Device

	sess     *C.OrtSession
	alloc    *C.OrtAllocator // the session's allocator for device memory
	host     *C.OrtAllocator // ONNX Runtime's default CPU allocator (not owned)
	ro       *C.OrtRunOptions
	values   []*Value
	bindings []*C.OrtIoBinding
}

// Value is a float32 tensor made by a Bound session, in host or device
// memory.
type Value struct {
	v      *C.OrtValue
	data   unsafe.Pointer
	n      int
	device bool // in CUDA memory: reach it only through CopyIn and CopyOut
}

// Len is the number of elements.
func (v *Value) Len() int { return v.n }

// NewBound loads a model for IoBinding runs with the inputs and outputs
// named, on the device opt picks (as NewSession).
func (r *Runtime) NewBound(model []byte, inputs, outputs []string, opt Options) (*Bound, error) {
	if r.capi == nil {
		return nil, errors.New("ONNX Runtime runtime is closed")
	}
	var so *C.OrtSessionOptions
	if err := statusErr(C.fmam_create_session_options(&so)); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer C.fmam_release_session_options(so)
	// The same options NewSession sets, so both paths run the same graph
	// with the same kernels.
	if opt.Threads > 0 {
		if err := statusErr(C.fmam_set_threads(so, C.int(opt.Threads), 1)); err != nil {
			return nil, fmt.Errorf("session options: %w", err)
		}
	}
	if opt.Training {
		if err := statusErr(C.fmam_set_extended_optimization(so)); err != nil {
			return nil, fmt.Errorf("session options: %w", err)
		}
	}
	if opt.Profile != "" {
		p := C.CString(opt.Profile)
		err := statusErr(C.fmam_enable_profiling(so, p))
		C.free(unsafe.Pointer(p))
		if err != nil {
			return nil, fmt.Errorf("enable profiling: %w", err)
		}
	}
	dev, err := r.device(opt, func() error {
		if err := r.cudaFiles(); err != nil {
			return err
		}
		if err := statusErr(C.fmam_append_cuda(so)); err != nil {
			return fmt.Errorf("append CUDA execution provider: %w (needs %s, CUDA 13 runtime libraries and a visible GPU)", err, r.CUDAProviderPath())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b := &Bound{Inputs: inputs, Outputs: outputs, Device: dev}
	if len(model) == 0 {
		return nil, errors.New("create ONNX Runtime session: empty model")
	}
	if err := statusErr(C.fmam_create_session(r.capi.env, unsafe.Pointer(&model[0]), C.size_t(len(model)), so, &b.sess)); err != nil {
		return nil, fmt.Errorf("create ONNX Runtime session: %w", err)
	}
	cuda := C.int(0)
	if dev == CUDA {
		cuda = 1
	}
	if err := statusErr(C.fmam_create_allocator(b.sess, cuda, &b.alloc)); err != nil {
		return nil, errors.Join(fmt.Errorf("%s allocator: %w", dev, err), b.Close())
	}
	if err := statusErr(C.fmam_cpu_allocator(&b.host)); err != nil {
		return nil, errors.Join(fmt.Errorf("CPU allocator: %w", err), b.Close())
	}
	if err := statusErr(C.fmam_create_run_options(&b.ro)); err != nil {
		return nil, errors.Join(fmt.Errorf("run options: %w", err), b.Close())
	}
	return b, nil
}

func (b *Bound) newValue(a *C.OrtAllocator, shape []int64, device bool) (*Value, error) {
	if len(shape) == 0 {
		shape = []int64{1} // the engine's scalars are [1], as NewTensor's
	}
	n := int64(1)
	for _, d := range shape {
		if d <= 0 {
			return nil, fmt.Errorf("tensor %v: dimensions must be positive", shape)
		}
		n *= d
	}
	cs := make([]C.int64_t, len(shape))
	for i, d := range shape {
		cs[i] = C.int64_t(d)
	}
	v := &Value{n: int(n), device: device}
	if err := statusErr(C.fmam_create_tensor(a, &cs[0], C.size_t(len(cs)), &v.v)); err != nil {
		return nil, fmt.Errorf("tensor %v: %w", shape, err)
	}
	b.values = append(b.values, v)
	if err := statusErr(C.fmam_tensor_data(v.v, &v.data)); err != nil {
		return nil, fmt.Errorf("tensor %v: %w", shape, err)
	}
	if !device {
		clear(v.Host())
	}
	return v, nil
}

// NewDeviceValue allocates a tensor in the session's device memory (CPU
// memory on the CPU); its contents are undefined until written.
func (b *Bound) NewDeviceValue(shape []int64) (*Value, error) {
	return b.newValue(b.alloc, shape, b.Device == CUDA)
}

// NewHostValue allocates a zero tensor in CPU memory, read and written
// through Host. Bound as an input of a CUDA session, ONNX Runtime copies
// it to the device each run; as an output, back.
func (b *Bound) NewHostValue(shape []int64) (*Value, error) {
	return b.newValue(b.host, shape, false)
}

// Host is the tensor's memory; nil for a value in CUDA memory.
func (v *Value) Host() []float32 {
	if v.device {
		return nil
	}
	return unsafe.Slice((*float32)(v.data), v.n)
}

// CopyIn writes src into v, wherever v lives.
func (b *Bound) CopyIn(v *Value, src []float32) error {
	if len(src) != v.n {
		return fmt.Errorf("copy in: %d values for a tensor of %d", len(src), v.n)
	}
	if !v.device {
		copy(v.Host(), src)
		return nil
	}
	if msg := C.fmam_cuda_copy(v.data, unsafe.Pointer(&src[0]), C.size_t(4*v.n), 1); msg != nil {
		return fmt.Errorf("copy to the GPU: %s", C.GoString(msg))
	}
	return nil
}

// CopyOut reads v into dst, wherever v lives.
func (b *Bound) CopyOut(v *Value, dst []float32) error {
	if len(dst) != v.n {
		return fmt.Errorf("copy out: %d values for a tensor of %d", len(dst), v.n)
	}
	if !v.device {
		copy(dst, v.Host())
		return nil
	}
	if msg := C.fmam_cuda_copy(unsafe.Pointer(&dst[0]), v.data, C.size_t(4*v.n), 0); msg != nil {
		return fmt.Errorf("copy from the GPU: %s", C.GoString(msg))
	}
	return nil
}

// Binding is one fixed assignment of Values to a session's inputs and
// outputs.
type Binding struct {
	b *C.OrtIoBinding
}

// Bind binds ins and outs, in the order of Inputs and Outputs. A Value
// must not be both an input and an output: ONNX Runtime may read it after
// writing it.
func (b *Bound) Bind(ins, outs []*Value) (*Binding, error) {
	if len(ins) != len(b.Inputs) || len(outs) != len(b.Outputs) {
		return nil, fmt.Errorf("bind: %d inputs and %d outputs for a session of %d and %d", len(ins), len(outs), len(b.Inputs), len(b.Outputs))
	}
	var ib *C.OrtIoBinding
	if err := statusErr(C.fmam_create_binding(b.sess, &ib)); err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	b.bindings = append(b.bindings, ib)
	bind := func(name string, v *Value, out bool) error {
		if v == nil {
			return fmt.Errorf("bind: %q has no value", name)
		}
		cn := C.CString(name)
		defer C.free(unsafe.Pointer(cn))
		if out {
			return statusErr(C.fmam_bind_output(ib, cn, v.v))
		}
		return statusErr(C.fmam_bind_input(ib, cn, v.v))
	}
	for i, v := range ins {
		if err := bind(b.Inputs[i], v, false); err != nil {
			return nil, fmt.Errorf("bind input %q: %w", b.Inputs[i], err)
		}
	}
	for i, v := range outs {
		for _, in := range ins {
			if in == v {
				return nil, fmt.Errorf("bind: value for %q is both an input and an output", b.Outputs[i])
			}
		}
		if err := bind(b.Outputs[i], v, true); err != nil {
			return nil, fmt.Errorf("bind output %q: %w", b.Outputs[i], err)
		}
	}
	return &Binding{b: ib}, nil
}

// Run runs the session on a binding. When ctx is cancelled during the
// run, ONNX Runtime is told to terminate it (between kernels), and Run
// returns ctx's error; see Session.Run.
func (b *Bound) Run(ctx context.Context, bi *Binding) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ctx.Done() == nil {
		if err := statusErr(C.fmam_run_binding(b.sess, b.ro, bi.b)); err != nil {
			return fmt.Errorf("onnxruntime run: %w", err)
		}
		return nil
	}
	stop := context.AfterFunc(ctx, func() { _ = statusErr(C.fmam_terminate(b.ro, 1)) })
	err := statusErr(C.fmam_run_binding(b.sess, b.ro, bi.b))
	if !stop() {
		// Cancelled: the flag may be set whether or not it stopped this
		// run, and must be cleared for the next one.
		_ = statusErr(C.fmam_terminate(b.ro, 0))
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
	}
	if err != nil {
		return fmt.Errorf("onnxruntime run: %w", err)
	}
	return nil
}

// Close frees the bindings, every Value the session made, and the session.
func (b *Bound) Close() error {
	if b == nil {
		return nil
	}
	for _, ib := range b.bindings {
		C.fmam_release_binding(ib)
	}
	b.bindings = nil
	// Values before their allocator, the allocator before its session.
	for _, v := range b.values {
		if v.v != nil {
			C.fmam_release_value(v.v)
			v.v, v.data = nil, nil
		}
	}
	b.values = nil
	if b.alloc != nil {
		C.fmam_release_allocator(b.alloc)
		b.alloc = nil
	}
	if b.ro != nil {
		C.fmam_release_run_options(b.ro)
		b.ro = nil
	}
	if b.sess != nil {
		C.fmam_release_session(b.sess)
		b.sess = nil
	}
	return nil
}
