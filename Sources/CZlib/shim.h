// zlib: the gzip file API (gzopen, gzread, gzseek, gzclose) for the gzipped MNIST IDX files, raw
// inflate for zip members, and crc32. Plain functions import as they are; the init functions are
// macros over versioned calls, so each gets a wrapper.
#ifndef CKPTFORGET_CZLIB_SHIM_H
#define CKPTFORGET_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 is a macro passing ZLIB_VERSION and sizeof(z_stream); -15 window bits = raw deflate (zip).
static inline int ckf_inflateInit2(z_streamp stream, int windowBits) { return inflateInit2(stream, windowBits); }
#endif
