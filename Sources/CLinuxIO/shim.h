// Linux file calls that glibc declares only under _GNU_SOURCE, which the Glibc module Swift
// imports is not built with; part of libc, so nothing to link or install.
#ifndef CKPTFORGET_CLINUXIO_SHIM_H
#define CKPTFORGET_CLINUXIO_SHIM_H
#include <sys/types.h>

#ifdef __linux__
int sync_file_range(int fd, __off64_t offset, __off64_t nbytes, unsigned int flags);

/// Starts writing the dirty pages of `fd` (the whole file) to disk without waiting for them
/// (SYNC_FILE_RANGE_WRITE, 2 in <fcntl.h>); 0 or -1 with errno.
static inline int ckf_start_writeback(int fd) { return sync_file_range(fd, 0, 0, 2); }
#else
static inline int ckf_start_writeback(int fd) { (void)fd; return 0; }
#endif

#endif
