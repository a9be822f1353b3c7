// The system's CBLAS (OpenBLAS) for the engine's matrix products. Nothing here needs wrapping:
// cblas_sgemm and its enums import as they are.
#ifndef CKPTFORGET_CBLAS_SHIM_H
#define CKPTFORGET_CBLAS_SHIM_H
#include <cblas.h>
#endif
