// The system's CBLAS (OpenBLAS) for the engine's matrix products: cblas_sgemm and its enums import
// as they are.
#ifndef CKPTFORGET_CBLAS_SHIM_H
#define CKPTFORGET_CBLAS_SHIM_H
#include <cblas.h>

// OpenBLAS's pthread build starts its thread pool when the library is loaded, and each idle pool
// thread spins for its first ~0.1 s (THREAD_TIMEOUT) before it sleeps. The engine runs its batches
// on every core itself, with OpenBLAS on one thread, so the pool only takes a core from them:
// this ends it. blas_thread_shutdown_ is exported but not declared in OpenBLAS's headers; it is
// weak here because a serial or OpenMP build of the library may not have it.
int blas_thread_shutdown_(void) __attribute__((weak));

static inline void ckf_openblas_single_threaded(void) {
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}
#endif
