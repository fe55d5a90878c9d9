#ifndef RUNLOG_CCRYPTO_SHIM_H
#define RUNLOG_CCRYPTO_SHIM_H
// The system's libcrypto (OpenSSL 3, Debian's libssl-dev), for SHA-256 through its EVP digest
// API: the one hash Runlog needs, without compiling a copy of BoringSSL.
#include <openssl/evp.h>
#endif
