// See capi.h. One-line wrappers over the OrtApi table; no logic.
#include <dlfcn.h>

#include "capi.h"

static void *lib;
static const OrtApi *api;

// cudaMemcpy from the CUDA runtime the CUDA provider loaded, found on
// first use: fmam links nothing from CUDA, so CPU-only machines need none.
typedef int (*cuda_memcpy_fn)(void *, const void *, size_t, int);
static cuda_memcpy_fn cuda_memcpy;

const char *fmam_load(const char *path) {
  if (api != NULL) {
    return NULL;
  }
  lib = dlopen(path, RTLD_LAZY);
  if (lib == NULL) {
    return dlerror();
  }
  typedef const OrtApiBase *(*get_base_fn)(void);
  get_base_fn get_base = (get_base_fn)dlsym(lib, "OrtGetApiBase");
  if (get_base == NULL) {
    dlclose(lib);
    lib = NULL;
    return "OrtGetApiBase not found";
  }
  api = get_base()->GetApi(ORT_API_VERSION);
  if (api == NULL) {
    dlclose(lib);
    lib = NULL;
    return "the library does not offer the ONNX Runtime C API version fmam is built for";
  }
  return NULL;
}

void fmam_unload(void) {
  if (lib != NULL) {
    dlclose(lib);
  }
  lib = NULL;
  api = NULL;
}

const char *fmam_status_message(OrtStatus *st) { return api->GetErrorMessage(st); }
void fmam_release_status(OrtStatus *st) { api->ReleaseStatus(st); }

OrtStatus *fmam_create_env(OrtEnv **out) { return api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "fmam", out); }
void fmam_release_env(OrtEnv *env) { api->ReleaseEnv(env); }

OrtStatus *fmam_create_session_options(OrtSessionOptions **out) { return api->CreateSessionOptions(out); }
void fmam_release_session_options(OrtSessionOptions *so) { api->ReleaseSessionOptions(so); }

OrtStatus *fmam_set_threads(OrtSessionOptions *so, int intra, int inter) {
  OrtStatus *st = api->SetIntraOpNumThreads(so, intra);
  if (st != NULL) {
    return st;
  }
  return api->SetInterOpNumThreads(so, inter);
}

OrtStatus *fmam_set_extended_optimization(OrtSessionOptions *so) {
  return api->SetSessionGraphOptimizationLevel(so, ORT_ENABLE_EXTENDED);
}

OrtStatus *fmam_enable_profiling(OrtSessionOptions *so, const char *prefix) { return api->EnableProfiling(so, prefix); }

OrtStatus *fmam_append_cuda(OrtSessionOptions *so) {
  OrtCUDAProviderOptionsV2 *co = NULL;
  OrtStatus *st = api->CreateCUDAProviderOptions(&co);
  if (st != NULL) {
    return st;
  }
  st = api->SessionOptionsAppendExecutionProvider_CUDA_V2(so, co);
  api->ReleaseCUDAProviderOptions(co);
  return st;
}

OrtStatus *fmam_create_session(OrtEnv *env, const void *model, size_t n, OrtSessionOptions *so, OrtSession **out) {
  return api->CreateSessionFromArray(env, model, n, so, out);
}
void fmam_release_session(OrtSession *s) { api->ReleaseSession(s); }

OrtStatus *fmam_create_allocator(OrtSession *s, int cuda, OrtAllocator **out) {
  OrtMemoryInfo *info = NULL;
  OrtStatus *st = api->CreateMemoryInfo(cuda ? "Cuda" : "Cpu", OrtArenaAllocator, 0, OrtMemTypeDefault, &info);
  if (st != NULL) {
    return st;
  }
  st = api->CreateAllocator(s, info, out);
  api->ReleaseMemoryInfo(info);
  return st;
}
void fmam_release_allocator(OrtAllocator *a) { api->ReleaseAllocator(a); }
OrtStatus *fmam_cpu_allocator(OrtAllocator **out) { return api->GetAllocatorWithDefaultOptions(out); }

OrtStatus *fmam_create_tensor(OrtAllocator *a, const int64_t *shape, size_t rank, OrtValue **out) {
  return api->CreateTensorAsOrtValue(a, shape, rank, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, out);
}
OrtStatus *fmam_tensor_data(OrtValue *v, void **out) { return api->GetTensorMutableData(v, out); }
void fmam_release_value(OrtValue *v) { api->ReleaseValue(v); }

const char *fmam_cuda_copy(void *dst, const void *src, size_t n, int to_device) {
  if (cuda_memcpy == NULL) {
    // The CUDA provider links libcudart; RTLD_NOLOAD finds that copy
    // rather than loading another.
    void *h = dlopen("libcudart.so.13", RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL) {
      h = dlopen("libcudart.so", RTLD_LAZY | RTLD_NOLOAD);
    }
    if (h == NULL) {
      return "the CUDA runtime (libcudart.so.13) is not loaded";
    }
    cuda_memcpy = (cuda_memcpy_fn)dlsym(h, "cudaMemcpy");
    if (cuda_memcpy == NULL) {
      return "cudaMemcpy not found in the CUDA runtime";
    }
  }
  // cudaMemcpyHostToDevice is 1, cudaMemcpyDeviceToHost 2.
  if (cuda_memcpy(dst, src, n, to_device ? 1 : 2) != 0) {
    return "cudaMemcpy failed";
  }
  return NULL;
}

OrtStatus *fmam_create_binding(OrtSession *s, OrtIoBinding **out) { return api->CreateIoBinding(s, out); }
void fmam_release_binding(OrtIoBinding *b) { api->ReleaseIoBinding(b); }
OrtStatus *fmam_bind_input(OrtIoBinding *b, const char *name, const OrtValue *v) { return api->BindInput(b, name, v); }
OrtStatus *fmam_bind_output(OrtIoBinding *b, const char *name, const OrtValue *v) {
  return api->BindOutput(b, name, v);
}

OrtStatus *fmam_create_run_options(OrtRunOptions **out) { return api->CreateRunOptions(out); }
void fmam_release_run_options(OrtRunOptions *ro) { api->ReleaseRunOptions(ro); }
OrtStatus *fmam_terminate(OrtRunOptions *ro, int on) {
  return on ? api->RunOptionsSetTerminate(ro) : api->RunOptionsUnsetTerminate(ro);
}
OrtStatus *fmam_run_binding(OrtSession *s, const OrtRunOptions *ro, const OrtIoBinding *b) {
  return api->RunWithBinding(s, ro, b);
}
