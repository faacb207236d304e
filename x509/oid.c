/*
 * oid.c - the OBJECT IDENTIFIERs the readers compare against, as content
 * octets (X.690 8.19): key algorithms (RFC 3279 2.3, RFC 5480 2.1.1) and
 * the named curves (RFC 5480 2.1.1.1).
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

int
x509_oid_is(const uint8_t *c, size_t n, const struct x509_oid *o)
{
	return n == o->len && memcmp(c, o->c, n) == 0;
}
