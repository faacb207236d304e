/* limits.h - every bound on untrusted input, in one place. */
#ifndef PCA_COMMON_LIMITS_H
#define PCA_COMMON_LIMITS_H

#define LIM_CSR_DER (32 * 1024)     /* CSR, DER or PEM text, bytes */
#define LIM_CERT (32 * 1024)        /* one imported certificate */
#define LIM_CHAIN (2 * 1024 * 1024) /* an imported chain, PEM text */
#define LIM_CHAIN_CERTS 16          /* certificates in a chain */
#define LIM_API_BODY (64 * 1024)    /* one API request body */
#define LIM_JSON_DEPTH 16
#define LIM_SAN_ENTRIES 150 /* model: SubjectAlternativeNames */
#define LIM_CERT_SANS 100   /* names in a certificate's SAN */
#define LIM_CSR_EXTS 64     /* extensions in a CSR */
#define LIM_CUSTOM_EXTS 150
#define LIM_CUSTOM_EXT_VALUE 4096
#define LIM_SERIAL_BYTES 20 /* RFC 5280 4.1.2.2 */
#define LIM_LABEL 64        /* token object label */
#define LIM_CONF_FILE (256 * 1024)
#define LIM_CONF_LINE 4096
#define LIM_PIN 256
#define LIM_SIG 1024 /* largest signature we produce */
#define LIM_RSA_MIN_BITS 2048
#define LIM_RSA_MAX_BITS 8192

#endif
