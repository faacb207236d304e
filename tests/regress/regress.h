/*
 * regress.h - shared by the golden-output drivers of tests/regress/ (in
 * the style of OpenBSD's regress/usr.sbin/rpki-client: "driver -f FILE"
 * prints what the module made of FILE, and regress.sh compares that with
 * tests/regress/<area>/expected/ using cmp).  Output is plain text, one
 * "key: value" a line, stable across runs (no time, no addresses); a
 * rejection is printed as "result: <PCA_E...>" and "error: <message>".
 */
#ifndef REGRESS_H
#define REGRESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "../../common/err.h"
#include "../../common/log.h"
#include "../../common/util.h"

#define REGRESS_MAX_INPUT (1u << 20)

/* "driver -f FILE": reads FILE into *p (NUL appended); 0, or exits 2. */
static inline void
regress_input(int argc, char **argv, const char *prog, uint8_t **p, size_t *len)
{
	if (argc != 3 || strcmp(argv[1], "-f") != 0) {
		fprintf(stderr, "usage: %s -f FILE\n", prog);
		exit(2);
	}
	log_init(prog, LOG_LEVEL_WARN);
	if (util_file_read(argv[2], REGRESS_MAX_INPUT, p, len) != PCA_OK) {
		fprintf(stderr, "%s: %s\n", prog, pca_err_msg());
		exit(2);
	}
}

/*
 * A rejection: its code and its message, less any OpenSSL error string
 * " (error:...)" (it differs between OpenSSL releases).
 */
static inline void
regress_error(pca_err e)
{
	const char *m = pca_err_msg(), *o = strstr(m, " (error:");

	printf("result: %s\nerror: %.*s\n", pca_strerror(e),
	    o != NULL ? (int)(o - m) : (int)strlen(m), m);
}

/* "key: <lowercase hex>" */
static inline void
regress_hex(const char *key, const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);

	if (h == NULL)
		exit(2);
	printf("%s: %s\n", key, util_hex(p, n, h, 2 * n + 1, 0));
	free(h);
}

/* "key: <RFC 2253 name>" */
static inline void
regress_name(const char *key, const X509_NAME *n)
{
	BIO *b = BIO_new_fp(stdout, BIO_NOCLOSE);

	fflush(stdout);
	printf("%s: ", key);
	fflush(stdout);
	if (b != NULL)
		(void)X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
	BIO_free(b);
	printf("\n");
}

#endif
