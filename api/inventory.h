/*
 * inventory.h - the certificate inventory (OpenPCA.ListCertificates and
 * "pcactl cert list"): one page of certificates matching the filters,
 * walked through the store's inventory indexes in not_after order.
 */
#ifndef PCA_API_INVENTORY_H
#define PCA_API_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/err.h"
#include "../store/store.h"

#define API_INV_PAGE_MAX 1000
#define API_INV_SCAN_MAX 20000 /* index entries examined per API page */
#define API_INV_NAME_MAX 256

/* A CA the caller may see. */
struct api_inv_ca {
	char id[37];
	char arn[256];
	int64_t rotated_at; /* OpenPCA.RotatedAt of its description, or 0 */
};

struct api_inv_query {
	const struct api_inv_ca *cas; /* sorted by id: the visible CAs */
	size_t ncas;
	const char *ca_id;  /* one CA (must be among cas); NULL: all */
	const char *status; /* ISSUED|REVOKED|EXPIRED|PENDING or NULL */
	int has_before;
	int64_t before;   /* NotAfter < before */
	const char *name; /* substring of Subject or a SAN (any case) */
	const char *tmpl; /* template name, e.g. EndEntityCertificate/V1 */
	int acme_only;    /* issued through ACME (RequestedBy "acme:...") */
	const uint8_t *serial; /* that certificate of ca_id only (read */
	size_t serial_len;     /* directly: no walk, no cursor) */
	const char *partition; /* of template ARNs; NULL = "aws" */
	int64_t now;
	const uint8_t *after; /* resume cursor (from a previous page) */
	size_t after_len;
	size_t max;      /* page size, 1..API_INV_PAGE_MAX */
	size_t max_scan; /* 0 = no limit */
};

struct api_inv_page {
	json_t *items; /* Certificates (caller decrefs) */
	uint8_t cursor[STORE_INV_CURSOR_MAX];
	size_t cursor_len;
	int more; /* resume from cursor for the rest */
};

/*
 * One page: each item {"CertificateArn","CertificateAuthorityArn","Serial",
 * "Status","NotBefore","NotAfter","IssuedAt","Subject",
 * "SubjectAlternativeNames","TemplateArn","RequestedBy","RevokedAt"?,
 * "RevocationReason"?} with epoch-second times (the API adds "Acme" to
 * the items issued through ACME: api_services.acme_cert).  A page may be short
 * (even empty) with more set when max_scan entries were examined.
 */
pca_err api_inv_list(struct store *, const struct api_inv_query *,
    struct api_inv_page *out) PCA_WUR;
/* The template name of a template ARN (or the name itself). */
const char *api_inv_tmpl_name(const char *arn_or_name);

#endif
