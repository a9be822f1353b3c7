// OpenSSL 3 libcrypto for ckptforget's signing code. A few of the calls it needs are macros or
// variadic functions, which Swift cannot import; each wrapper below is one of them as a function.
#ifndef CKPTFORGET_CCRYPTO_SHIM_H
#define CKPTFORGET_CCRYPTO_SHIM_H

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

// BIO_get_mem_data is a macro over BIO_ctrl.
static inline long ckf_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

// EVP_PKEY_Q_keygen is variadic: one wrapper per key type ckptforget generates.
static inline EVP_PKEY *ckf_generate_ec_key(const char *curve) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve); }
static inline EVP_PKEY *ckf_generate_ed25519_key(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); }

#endif
