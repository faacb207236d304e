/*
 * certref.h - a certificate named the way the API names it (its CA's
 * UUID and its serial in hex, as a CertificateArn spells them) with the
 * times a reader of another module's records needs: what api/'s inventory
 * hands to acme/ (acme_cert_info) through the hook cmd/ sets, so neither
 * module includes the other.
 */
#ifndef PCA_COMMON_CERTREF_H
#define PCA_COMMON_CERTREF_H

#include <stdint.h>

struct cert_ref {
	const char *ca_uuid;
	const char *serial; /* hex, as its CertificateArn spells it */
	int64_t not_before;
	int64_t not_after;
	int64_t rotated_at; /* when its CA was rotated; 0: not rotated */
};

#endif
