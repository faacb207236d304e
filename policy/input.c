/*
 * input.c - what a policy judges, read from a TBSCertificate or a CSR, and
 * the name-matching helpers of the SAN rules.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "../common/limits.h"
#include "../common/util.h"
#include "../common/x509.h"
#include "../x509/x509.h"
#include "pol_int.h"

#define TBS_MAX (1u << 20)

static void
key_fill(EVP_PKEY *k, struct pol_input *in)
{
	int id = k ? EVP_PKEY_get_base_id(k) : 0;

	in->key = id == EVP_PKEY_RSA  ? POL_KEY_RSA
		  : id == EVP_PKEY_EC ? POL_KEY_EC
				      : POL_KEY_OTHER;
	in->key_bits = k ? EVP_PKEY_get_bits(k) : 0;
}

static void
key_fill_spki(const X509_PUBKEY *pub, struct pol_input *in)
{
	int rsa = 0, bits = 0;

	if (pub == NULL || x509_spki_key_size(pub, &rsa, &bits) != PCA_OK) {
		pca_err_clear();
		in->key = POL_KEY_OTHER;
		in->key_bits = 0;
		return;
	}
	in->key = rsa ? POL_KEY_RSA : POL_KEY_EC;
	in->key_bits = bits;
}

static const struct {
	int nid;
	unsigned bit;
} eku_nids[] = {
    {NID_server_auth, POL_EKU_SERVER},
    {NID_client_auth, POL_EKU_CLIENT},
    {NID_code_sign, POL_EKU_CODE},
    {NID_email_protect, POL_EKU_EMAIL},
    {NID_time_stamp, POL_EKU_TIME},
    {NID_OCSP_sign, POL_EKU_OCSP},
};

/* SAN and EKU from a list of extensions (a certificate's or a CSR's). */
static void
exts_fill(const STACK_OF(X509_EXTENSION) * exts, struct pol_input *in)
{
	EXTENDED_KEY_USAGE *eku;
	size_t j;
	int i, k;

	in->san = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	eku = X509V3_get_d2i(exts, NID_ext_key_usage, NULL, NULL);
	in->has_eku = eku != NULL;
	for (i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++) {
		k = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		for (j = 0; j < sizeof(eku_nids) / sizeof(eku_nids[0]); j++)
			if (eku_nids[j].nid == k)
				break;
		in->eku |= j < sizeof(eku_nids) / sizeof(eku_nids[0])
			       ? eku_nids[j].bit
			       : POL_EKU_OTHER;
	}
	EXTENDED_KEY_USAGE_free(eku);
	ERR_clear_error(); /* absent extensions leave nothing to report */
}

static void
input_init(struct pol_input *in)
{
	memset(in, 0, sizeof(*in));
	in->validity_s = -1;
}

/*
 * Certificate ::= SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING } with
 * a placeholder algorithm and an empty signature, so OpenSSL reads it.
 */
static X509 *
tbs_wrap(const uint8_t *tbs, size_t len)
{
	static const uint8_t tail[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
	    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00, 0x03, 0x01, 0x00};
	size_t body = len + sizeof(tail), n = 0;
	uint8_t *der = malloc(body + 6);
	X509 *x = NULL;

	if (der == NULL)
		return NULL;
	der[n++] = 0x30;
	if (body < 0x80)
		der[n++] = (uint8_t)body;
	else if (body < 0x100) {
		der[n++] = 0x81;
		der[n++] = (uint8_t)body;
	} else if (body < 0x10000) {
		der[n++] = 0x82;
		der[n++] = (uint8_t)(body >> 8);
		der[n++] = (uint8_t)body;
	} else {
		der[n++] = 0x83;
		der[n++] = (uint8_t)(body >> 16);
		der[n++] = (uint8_t)(body >> 8);
		der[n++] = (uint8_t)body;
	}
	memcpy(der + n, tbs, len);
	memcpy(der + n + len, tail, sizeof(tail));
	/* the key is read from its SPKI bytes: no decoder on this path */
	x = util_x509_parse_nokey(der, n + body);
	free(der);
	return x;
}

pca_err
pol_input_from_tbs(const uint8_t *tbs, size_t len, struct pol_input *out)
{
	struct pol_input in;
	X509 *x = NULL;

	input_init(&in);
	if (len == 0 || len > TBS_MAX || (x = tbs_wrap(tbs, len)) == NULL) {
		ERR_clear_error(); /* reported below */
		return pca_err_set(PCA_EPARSE,
		    "policy: the bytes are not a TBSCertificate");
	}
	key_fill_spki(X509_get_X509_PUBKEY(x), &in);
	exts_fill(X509_get0_extensions(x), &in);
	in.subject = X509_NAME_dup(X509_get_subject_name(x));
	X509_free(x);
	if (in.subject == NULL) {
		pol_input_clear(&in);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	*out = in;
	return PCA_OK;
}

static X509_REQ *
csr_read(const uint8_t *p, size_t len)
{
	const unsigned char *q = p;
	X509_REQ *r = NULL;
	BIO *b;

	if (len >= 5 && memcmp(p, "-----", 5) == 0) {
		if ((b = BIO_new_mem_buf(p, (int)len)) == NULL)
			return NULL;
		r = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
		BIO_free(b);
		return r;
	}
	r = d2i_X509_REQ(NULL, &q, (long)len);
	if (r != NULL && q != p + len) {
		X509_REQ_free(r);
		r = NULL;
	}
	return r;
}

pca_err
pol_input_from_csr(const uint8_t *p, size_t len, struct pol_input *out)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	struct pol_input in;
	X509_REQ *r = NULL;

	input_init(&in);
	if (len == 0 || len > 4 * LIM_CSR_DER ||
	    (r = csr_read(p, len)) == NULL) {
		ERR_clear_error(); /* reported below */
		return pca_err_set(PCA_EBADCSR,
		    "policy: the CSR does not parse (PEM or DER)");
	}
	key_fill(X509_REQ_get0_pubkey(r), &in);
	exts = X509_REQ_get_extensions(r);
	exts_fill(exts, &in);
	in.eku_unknown = !in.has_eku;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	in.subject = X509_NAME_dup(X509_REQ_get_subject_name(r));
	X509_REQ_free(r);
	if (in.subject == NULL) {
		pol_input_clear(&in);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	*out = in;
	return PCA_OK;
}

void
pol_input_clear(struct pol_input *in)
{
	if (in == NULL)
		return;
	X509_NAME_free(in->subject);
	GENERAL_NAMES_free(in->san);
	memset(in, 0, sizeof(*in));
	in->validity_s = -1;
}

int
pol_dns_suffix_match(const char *name, const char *s)
{
	size_t nl = strlen(name), sl;

	if (*s == '.')
		s++;
	sl = strlen(s);
	if (sl == 0 || nl < sl || strcasecmp(name + nl - sl, s) != 0)
		return 0;
	return nl == sl || name[nl - sl - 1] == '.';
}

size_t
pol_cidr_parse(const char *cidr, unsigned char addr[16], int *bits)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(cidr, '/');
	size_t hl = slash ? (size_t)(slash - cidr) : strlen(cidr);
	size_t alen;
	long long b;

	if (hl == 0 || hl >= sizeof(host))
		return 0;
	memcpy(host, cidr, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, addr) == 1)
		alen = 4;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		alen = 16;
	else
		return 0;
	b = (long long)alen * 8;
	if (slash != NULL &&
	    util_strtonum(slash + 1, 0, (long long)alen * 8, &b) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	*bits = (int)b;
	return alen;
}

int
pol_ip_in_cidr(const unsigned char *ip, size_t len, const char *cidr)
{
	unsigned char net[16];
	int bits, i;
	unsigned char mask;

	if (pol_cidr_parse(cidr, net, &bits) != len)
		return 0;
	for (i = 0; i < bits / 8; i++)
		if (ip[i] != net[i])
			return 0;
	if (bits % 8 == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - bits % 8));
	return (ip[bits / 8] & mask) == (net[bits / 8] & mask);
}

pca_err
pol_cidr_check(const char *cidr)
{
	unsigned char net[16];
	int bits;

	if (pol_cidr_parse(cidr, net, &bits) == 0)
		return pca_err_set(PCA_EINVAL, "'%s' is not an address range",
		    cidr);
	return PCA_OK;
}
