/*
 * oid.c - the OBJECT IDENTIFIERs the readers compare against, as content
 * octets (X.690 8.19): key algorithms (RFC 3279 2.3, RFC 5480 2.1.1),
 * the named curves (RFC 5480 2.1.1.1), signature algorithms (RFC 4055 5,
 * RFC 5758 3.2) and the CSR extension-request attributes (RFC 2985
 * 5.4.2; Microsoft's 1.3.6.1.4.1.311.2.1.14).
 */
#include <string.h>

#include "x509.h"

const struct x509_oid X509_OID_RSA = {9,
    {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01}};
const struct x509_oid X509_OID_EC = {7,
    {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}};
const struct x509_oid X509_OID_P256 = {8,
    {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}};
const struct x509_oid X509_OID_P384 = {5, {0x2b, 0x81, 0x04, 0x00, 0x22}};
const struct x509_oid X509_OID_P521 = {5, {0x2b, 0x81, 0x04, 0x00, 0x23}};
#define OID_PKCS1(x)                                                           \
	{                                                                      \
		9,                                                             \
		{                                                              \
			0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, x      \
		}                                                              \
	}
#define OID_ECDSA(x)                                                           \
	{                                                                      \
		8,                                                             \
		{                                                              \
			0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, x            \
		}                                                              \
	}
const struct x509_oid X509_OID_RSA_PSS = OID_PKCS1(0x0a);
const struct x509_oid X509_OID_RSA_SHA2[3] = {OID_PKCS1(0x0b), OID_PKCS1(0x0c),
    OID_PKCS1(0x0d)};
const struct x509_oid X509_OID_ECDSA_SHA2[3] = {OID_ECDSA(0x02),
    OID_ECDSA(0x03), OID_ECDSA(0x04)};
const struct x509_oid X509_OID_EXT_REQ = {9,
    {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e}};
const struct x509_oid X509_OID_MS_EXT_REQ = {10,
    {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0e}};

int
x509_oid_is(const uint8_t *c, size_t n, const struct x509_oid *o)
{
	return n == o->len && memcmp(c, o->c, n) == 0;
}
