// fmam's own calls into ONNX Runtime's C API, beside onnxruntime_go: the
// IoBinding path (sessions whose inputs and outputs are bound once, state
// in device memory). Go cannot call the OrtApi's function pointers, so each
// call gets a one-line C wrapper here; all logic stays in Go (capi.go).
#ifndef FMAM_CAPI_H
#define FMAM_CAPI_H

#include <stddef.h>
#include <stdint.h>

#include "onnxruntime_c_api.h"

// fmam_load finds the OrtApi in the library at path (already loaded by
// onnxruntime_go: dlopen returns the same handle). It returns NULL or a
// static error message.
const char *fmam_load(const char *path);
void fmam_unload(void);

// fmam_status_message and fmam_release_status read and free a status.
const char *fmam_status_message(OrtStatus *st);
void fmam_release_status(OrtStatus *st);

OrtStatus *fmam_create_env(OrtEnv **out);
void fmam_release_env(OrtEnv *env);

OrtStatus *fmam_create_session_options(OrtSessionOptions **out);
void fmam_release_session_options(OrtSessionOptions *so);
OrtStatus *fmam_set_threads(OrtSessionOptions *so, int intra, int inter);
OrtStatus *fmam_set_extended_optimization(OrtSessionOptions *so);
OrtStatus *fmam_enable_profiling(OrtSessionOptions *so, const char *prefix);
OrtStatus *fmam_append_cuda(OrtSessionOptions *so);

OrtStatus *fmam_create_session(OrtEnv *env, const void *model, size_t n, OrtSessionOptions *so, OrtSession **out);
void fmam_release_session(OrtSession *s);

// fmam_create_allocator makes the session's allocator for device memory:
// "Cpu" or "Cuda" (device 0).
OrtStatus *fmam_create_allocator(OrtSession *s, int cuda, OrtAllocator **out);
void fmam_release_allocator(OrtAllocator *a);
OrtStatus *fmam_cpu_allocator(OrtAllocator **out);

OrtStatus *fmam_create_tensor(OrtAllocator *a, const int64_t *shape, size_t rank, OrtValue **out);
OrtStatus *fmam_tensor_data(OrtValue *v, void **out);
void fmam_release_value(OrtValue *v);

// fmam_cuda_copy copies n bytes between host and CUDA memory with the CUDA
// runtime the CUDA provider loaded; to_device picks the direction. It
// returns NULL or a static error message.
const char *fmam_cuda_copy(void *dst, const void *src, size_t n, int to_device);

OrtStatus *fmam_create_binding(OrtSession *s, OrtIoBinding **out);
void fmam_release_binding(OrtIoBinding *b);
OrtStatus *fmam_bind_input(OrtIoBinding *b, const char *name, const OrtValue *v);
OrtStatus *fmam_bind_output(OrtIoBinding *b, const char *name, const OrtValue *v);

OrtStatus *fmam_create_run_options(OrtRunOptions **out);
void fmam_release_run_options(OrtRunOptions *ro);
OrtStatus *fmam_terminate(OrtRunOptions *ro, int on);
OrtStatus *fmam_run_binding(OrtSession *s, const OrtRunOptions *ro, const OrtIoBinding *b);

#endif
