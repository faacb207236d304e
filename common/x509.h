/*
 * x509.h - parsing certificates without OpenSSL 3.0's key decoders.
 *
 * d2i_X509 decodes the SubjectPublicKeyInfo into an EVP_PKEY through the
 * OSSL_DECODER machinery at parse time, which costs ~180 us per certificate
 * on OpenSSL 3.0 (openssl/openssl#20051): more than building and signing
 * the certificate.  A certificate parsed in a library context that has
 * only the "null" provider keeps its SPKI bytes but gets no EVP_PKEY (the
 * decode finds no decoder and is skipped), for ~12 us.  Everything else
 * (names, extensions, times, algorithms) is there as usual.
 */
#ifndef PCA_COMMON_X509_H
#define PCA_COMMON_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/*
 * Parses exactly len bytes of DER into an X509 whose public key is not
 * decoded (X509_get0_pubkey gives NULL; X509_get_X509_PUBKEY works).
 * NULL if the bytes are not one certificate.
 */
X509 *util_x509_parse_nokey(const uint8_t *der, size_t len);

#endif
