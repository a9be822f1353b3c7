// zlib's gzip file API, for reading the gzipped MNIST IDX files. gzopen, gzread and gzclose are
// plain functions and import as they are.
#ifndef CKPTFORGET_CZLIB_SHIM_H
#define CKPTFORGET_CZLIB_SHIM_H
#include <zlib.h>
#endif
