// glibc's malloc tuning (mallopt), which the Glibc module does not import: the engine keeps freed
// activation buffers in the heap instead of returning them to the kernel after every batch.
#ifndef CKPTFORGET_CMALLOC_SHIM_H
#define CKPTFORGET_CMALLOC_SHIM_H
#include <malloc.h>
#endif
