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
#define API_INV_FP_LEN 64 /* SHA-256 hex of an external certificate */

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
	/* external certificates (inventory_ext.c): resume after ext_last
	   ("" from the first) */
	int ext_more;
	char ext_last[API_INV_FP_LEN + 1];
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

/* ---- external certificates (inventory_ext.c) ---- */

struct ca_engine;

/* Which certificates a ListCertificates request lists (Origin). */
enum api_inv_origin {
	API_INV_OURS = 0, /* issued here (no Origin: the default) */
	API_INV_EXTERNAL, /* found by discovery or imported (discover/) */
	API_INV_ALL,      /* ours, then the external ones */
};

/* The request's Origin (absent: OURS); PCA_EINVAL for another value. */
pca_err api_inv_origin_of(const json_t *in, enum api_inv_origin *out) PCA_WUR;
/*
 * Appends to pg->items the external certificates after fingerprint after
 * ("" from the first, in fingerprint order) that match q's filters (Status
 * ISSUED or EXPIRED, NameContains on the subject, ExpiringBefore; none
 * with a CA or template filter) until q->max items are there; then
 * pg->ext_more / ext_last say where the rest resumes.  Each item is
 * disc_ext_item's (Fingerprint, Source EXTERNAL, Subject, Issuer, Serial,
 * NotBefore, NotAfter, Status, SeenAt, FirstSeen, LastSeen, Findings) with
 * UNKNOWN_ISSUER added when neither one of our CAs nor a recorded external
 * certificate has the issuer's name.
 */
pca_err api_inv_ext_list(struct ca_engine *, struct store *,
    const struct api_inv_query *, const char *after,
    struct api_inv_page *pg) PCA_WUR;
/*
 * Our items (CertificateAuthorityArn, Serial) that discovery saw somewhere
 * get "SeenAt" (the endpoints); with source set every one of them also
 * gets "Source": "OURS".  One store look when nothing was ever seen.
 */
pca_err api_inv_seen_add(struct store *, json_t *items, int source) PCA_WUR;

#endif
