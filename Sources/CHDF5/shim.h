// HDF5's identifiers for property-list classes, native types and file flags are macros over
// global variables that Swift cannot import (and Swift 6 refuses mutable C globals). Each
// wrapper below is the macro as a function; calling any of them also initialises the library.
#ifndef CKPTFORGET_CHDF5_SHIM_H
#define CKPTFORGET_CHDF5_SHIM_H

#include <hdf5.h>

// Default property list and error stack, as hid_t (they import as Int32 otherwise).
static inline hid_t ckf_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t ckf_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t ckf_H5S_ALL(void) { return H5S_ALL; }
// The address libhdf5 reports for storage never allocated.
static inline haddr_t ckf_HADDR_UNDEF(void) { return HADDR_UNDEF; }

// File access flags.
static inline unsigned ckf_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned ckf_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline unsigned ckf_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline H5F_libver_t ckf_H5F_LIBVER_LATEST(void) { return H5F_LIBVER_LATEST; }
static inline unsigned ckf_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }

// Property-list classes.
static inline hid_t ckf_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t ckf_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t ckf_H5P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline hid_t ckf_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t ckf_H5P_OBJECT_COPY(void) { return H5P_OBJECT_COPY; }
static inline hid_t ckf_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }

// Native memory types used for reading and writing.
static inline hid_t ckf_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t ckf_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t ckf_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t ckf_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t ckf_H5T_C_S1(void) { return H5T_C_S1; }
static inline size_t ckf_H5T_VARIABLE(void) { return H5T_VARIABLE; }

// Object-copy flags (macros in H5Opublic.h).
static inline unsigned ckf_H5O_COPY_MERGE_COMMITTED_DTYPE_FLAG(void) { return H5O_COPY_MERGE_COMMITTED_DTYPE_FLAG; }

// Dataset chunk option: edge chunks stored unfiltered (H5Dpublic.h).
static inline unsigned ckf_H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS(void) { return H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS; }

// Link-iteration creation-order tracking flags for group creation property lists.
static inline unsigned ckf_H5P_CRT_ORDER_TRACKED(void) { return H5P_CRT_ORDER_TRACKED; }

#endif
