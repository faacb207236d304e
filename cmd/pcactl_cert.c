/*
 * pcactl_cert.c - "pcactl cert list" (the inventory, with subject and
 * certificate ARN; template short names as "issue" takes them) and
 * "pcactl cert show" (by ARN or by serial, a readable summary, the PEM).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../api/api.h"
#include "../api/inventory.h"
#include "../common/util.h"
#include "appliance.h"
#include "pcactl.h"

struct list_ctx {
	struct api_inv_ca *cas;
	size_t ncas, cap;
	json_t *out;
};

static int
collect_ca(const char *id, const char *json, size_t len, void *arg)
{
	struct list_ctx *l = arg;
	json_t *rec = json_loadb(json, len, 0, NULL);
	const char *arn = json_string_value(json_object_get(rec, "Arn"));
	void *n;

	if (l->ncas == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		if ((n = realloc(l->cas, l->cap * sizeof(*l->cas))) == NULL) {
			json_decref(rec);
			return 1;
		}
		l->cas = n;
	}
	(void)snprintf(l->cas[l->ncas].id, sizeof(l->cas[0].id), "%s", id);
	(void)snprintf(l->cas[l->ncas].arn, sizeof(l->cas[0].arn), "%s",
	    arn ? arn : id);
	l->ncas++;
	json_decref(rec);
	return 0;
}

/* Appends one inventory item in the shape "cert list" always printed. */
static void
list_item(struct list_ctx *l, const json_t *it)
{
	char id[37] = "", na[21];
	const char *ca =
	    json_string_value(json_object_get(it, "CertificateAuthorityArn"));

	if (ca_arn_uuid(ca, id) != PCA_OK) {
		pca_err_clear();
		(void)snprintf(id, sizeof(id), "%s", ca);
	}
	util_iso8601(json_integer_value(json_object_get(it, "NotAfter")), na);
	json_array_append_new(l->out,
	    json_pack("{s:s,s:O,s:O,s:s,s:s,s:O,"
		      "s:s,s:O}",
		"CaId", id, "Serial", json_object_get(it, "Serial"), "Status",
		json_object_get(it, "Status"), "NotAfter", na, "Template",
		api_inv_tmpl_name(
		    json_string_value(json_object_get(it, "TemplateArn")))
		    ?: "",
		"RequestedBy", json_object_get(it, "RequestedBy"), "Subject",
		json_string_value(json_object_get(it, "Subject")) ?: "",
		"CertificateArn", json_object_get(it, "CertificateArn")));
}

/* The filters of "cert list" as an inventory query. */
static pca_err
list_query(struct appliance *ap, int argc, char **argv, struct api_inv_query *q,
    char id[37], char status[16])
{
	const char *ca, *v;
	char arn[512];
	long long n;
	pca_err err;

	q->now = util_now();
	if ((ca = opt_value(argc, argv, "--ca")) != NULL) {
		ca_arn_expand(ap, ca, arn, sizeof(arn));
		if ((err = ca_arn_uuid(arn, id)) != PCA_OK)
			return err;
		q->ca_id = id;
	}
	if ((v = opt_value(argc, argv, "--status")) != NULL) {
		for (n = 0; n < 15 && v[n] != '\0'; n++)
			status[n] = (char)toupper((unsigned char)v[n]);
		status[n] = '\0';
		q->status = status;
	}
	if ((v = opt_value(argc, argv, "--expiring-days")) != NULL) {
		if ((err = util_strtonum(v, 0, 100000, &n)) != PCA_OK)
			return err;
		if (q->status == NULL)
			q->status = "ISSUED";
		q->has_before = 1;
		q->before = q->now + n * 86400 + 1;
	}
	if ((v = opt_value(argc, argv, "--expiring-before")) != NULL) {
		if ((err = util_strtonum(v, 0, INT64_MAX / 2, &n)) != PCA_OK)
			return err;
		if (!q->has_before || n < q->before)
			q->before = n;
		q->has_before = 1;
	}
	q->name = opt_value(argc, argv, "--subject");
	if ((v = opt_value(argc, argv, "--template")) != NULL) {
		/* the short names "issue" takes: a name without /Vn is /V1 */
		static char tn[160];
		v = api_inv_tmpl_name(v);
		(void)snprintf(tn, sizeof(tn), strchr(v, '/') ? "%s" : "%s/V1",
		    v);
		q->tmpl = tn;
	}
	q->max = API_INV_PAGE_MAX;
	return PCA_OK;
}

static pca_err
list_walk(struct appliance *ap, struct list_ctx *l, struct api_inv_query *q)
{
	struct api_inv_page pg;
	uint8_t cur[STORE_INV_CURSOR_MAX];
	size_t i;
	json_t *e;
	pca_err err;

	do {
		if ((err = api_inv_list(ap->store, q, &pg)) != PCA_OK)
			return err;
		json_array_foreach (pg.items, i, e)
			list_item(l, e);
		json_decref(pg.items);
		memcpy(cur, pg.cursor, pg.cursor_len);
		q->after = cur;
		q->after_len = pg.cursor_len;
	} while (pg.more);
	return PCA_OK;
}

static int
ca_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct api_inv_ca *)a)->id,
	    ((const struct api_inv_ca *)b)->id);
}

static pca_err
cmd_cert_list(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--ca", "--status",
	    "--expiring-days", "--expiring-before", "--subject", "--template",
	    NULL};
	struct api_inv_query q;
	struct list_ctx l;
	char id[37], status[16];
	json_t *e;
	size_t i;
	pca_err err;

	memset(&l, 0, sizeof(l));
	memset(&q, 0, sizeof(q));
	l.out = json_array();
	if ((err = opts_check(argc, argv, known, 0, NULL)) != PCA_OK ||
	    (err = list_query(ap, argc, argv, &q, id, status)) != PCA_OK ||
	    (err = store_ca_foreach(ap->store, collect_ca, &l)) != PCA_OK)
		goto out;
	qsort(l.cas, l.ncas, sizeof(*l.cas), ca_id_cmp);
	q.cas = l.cas;
	q.ncas = l.ncas;
	if ((err = list_walk(ap, &l, &q)) != PCA_OK)
		goto out;
	if (json_out)
		print_json(l.out);
	else {
		printf("%-36s %-32s %-8s %-20s %-40s %-30s %s\n", "CA",
		    "SERIAL", "STATUS", "NOT AFTER", "TEMPLATE", "SUBJECT",
		    "ARN");
		json_array_foreach (l.out, i, e)
			printf("%-36s %-32s %-8s %-20s %-40s %-30s %s\n",
			    json_string_value(json_object_get(e, "CaId")),
			    json_string_value(json_object_get(e, "Serial")),
			    json_string_value(json_object_get(e, "Status")),
			    json_string_value(json_object_get(e, "NotAfter")),
			    json_string_value(json_object_get(e, "Template")),
			    json_string_value(json_object_get(e, "Subject")),
			    json_string_value(
				json_object_get(e, "CertificateArn")));
	}
out:
	free(l.cas);
	json_decref(l.out);
	return err;
}

struct serial_find {
	struct store *store;
	const uint8_t *serial;
	size_t len;
	char ca[37];
	size_t found;
};

static int
serial_find_cb(const char *id, const char *json, size_t len, void *arg)
{
	struct serial_find *f = arg;
	struct store_cert sc;

	(void)json;
	(void)len;
	if (store_cert_get(f->store, id, f->serial, f->len, &sc) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	store_cert_clear(&sc);
	if (f->found++ == 0)
		(void)snprintf(f->ca, sizeof(f->ca), "%s", id);
	return 0;
}

/* The CA ARN (arn) and certificate ARN of "cert show" arguments. */
static pca_err
cert_locate(struct appliance *ap, const char *pos, const char *ca,
    const char *serial, char arn[512], char cert_arn[700])
{
	uint8_t sb[LIM_SERIAL_BYTES];
	char hex[2 * LIM_SERIAL_BYTES + 1];
	const char *mark;
	size_t sl;
	pca_err err;

	if (pos != NULL && (mark = strstr(pos, "/certificate/")) != NULL) {
		if (ca != NULL || serial != NULL)
			return pca_err_set(PCA_EINVAL,
			    "a certificate ARN "
			    "takes neither --ca nor --serial");
		(void)snprintf(arn, 512, "%.*s", (int)(mark - pos), pos);
		(void)snprintf(cert_arn, 700, "%s", pos);
		return PCA_OK;
	}
	if (pos != NULL && serial != NULL)
		return pca_err_set(PCA_EINVAL, "give the serial once");
	if ((serial = pos ? pos : serial) == NULL)
		return pca_err_set(PCA_EINVAL, "cert show needs a certificate "
					       "ARN or a serial");
	if (util_unhex(serial, sb, sizeof(sb), &sl) != PCA_OK || sl == 0)
		return pca_err_set(PCA_EINVAL,
		    "'%s' is neither a certificate "
		    "ARN nor a hex serial",
		    serial);
	if (ca == NULL) {
		struct serial_find f = {ap->store, sb, sl, "", 0};
		if ((err = store_ca_foreach(ap->store, serial_find_cb, &f)) !=
		    PCA_OK)
			return err;
		if (f.found == 0)
			return pca_err_set(PCA_ENOTFOUND,
			    "no certificate with "
			    "serial %s",
			    serial);
		if (f.found > 1)
			return pca_err_set(PCA_EINVAL,
			    "serial %s exists under "
			    "%zu CAs; name one with --ca",
			    serial, f.found);
		ca_arn_expand(ap, f.ca, arn, 512);
	} else
		ca_arn_expand(ap, ca, arn, 512);
	util_hex(sb, sl, hex, sizeof(hex), 0);
	(void)snprintf(cert_arn, 700, "%s/certificate/%s", arn, hex);
	return PCA_OK;
}

static const char *
name_text(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int k;

	buf[0] = '\0';
	if (b != NULL && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
	    (k = BIO_read(b, buf, (int)len - 1)) > 0)
		buf[k] = '\0';
	BIO_free(b);
	return buf;
}

/* The readable facts of a certificate (and its record) as an object. */
static json_t *
cert_facts(struct appliance *ap, const char *ca_arn, const char *cert_arn,
    const char *pem)
{
	const GENERAL_NAMES *gns;
	struct store_cert sc;
	uint8_t *der = NULL, md[EVP_MAX_MD_SIZE];
	const unsigned char *p;
	unsigned mdlen = 0;
	char buf[1024], iso[21], fp[3 * EVP_MAX_MD_SIZE + 1], id[37];
	size_t len, i;
	X509 *x = NULL;
	json_t *o = NULL, *sans;
	struct tm tm;
	int bits = 0;
	EVP_PKEY *k;

	if (util_pem_decode(pem, strlen(pem), "CERTIFICATE", LIM_CERT, &der,
		&len) != PCA_OK ||
	    (p = der, x = d2i_X509(NULL, &p, (long)len)) == NULL)
		goto out;
	o = json_pack("{s:s,s:s}", "CertificateArn", cert_arn,
	    "CertificateAuthorityArn", ca_arn);
	if (o == NULL)
		goto out;
	json_object_set_new(o, "Subject",
	    json_string(name_text(X509_get_subject_name(x), buf, sizeof(buf))));
	json_object_set_new(o, "Issuer",
	    json_string(name_text(X509_get_issuer_name(x), buf, sizeof(buf))));
	json_object_set_new(o, "Serial",
	    json_string(strrchr(cert_arn, '/') + 1));
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1)
		json_object_set_new(o, "NotBefore",
		    json_string(util_iso8601(util_timegm(&tm), iso)));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		json_object_set_new(o, "NotAfter",
		    json_string(util_iso8601(util_timegm(&tm), iso)));
	if ((k = X509_get0_pubkey(x)) != NULL) {
		bits = EVP_PKEY_get_bits(k);
		(void)snprintf(buf, sizeof(buf), "%s %d",
		    EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k)
					       : "?",
		    bits);
		json_object_set_new(o, "Key", json_string(buf));
	}
	json_object_set_new(o, "SignatureAlgorithm",
	    json_string(OBJ_nid2ln(X509_get_signature_nid(x))));
	if ((gns = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) !=
	    NULL) {
		sans = json_array();
		for (i = 0;
		     sans != NULL && i < (size_t)sk_GENERAL_NAME_num(gns);
		     i++) {
			const GENERAL_NAME *g =
			    sk_GENERAL_NAME_value(gns, (int)i);
			BIO *b = BIO_new(BIO_s_mem());
			int n;
			if (b != NULL &&
			    GENERAL_NAME_print(b, (GENERAL_NAME *)g) > 0 &&
			    (n = BIO_read(b, buf, sizeof(buf) - 1)) > 0) {
				buf[n] = '\0';
				json_array_append_new(sans, json_string(buf));
			}
			BIO_free(b);
		}
		json_object_set_new(o, "SubjectAlternativeNames", sans);
		GENERAL_NAMES_free((GENERAL_NAMES *)gns);
	}
	ERR_clear_error(); /* an absent SAN leaves nothing to report */
	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1) {
		util_hex(md, mdlen, fp, sizeof(fp), 1);
		json_object_set_new(o, "Sha256Fingerprint", json_string(fp));
	}
	if (ca_arn_uuid(ca_arn, id) == PCA_OK) {
		uint8_t sb[LIM_SERIAL_BYTES];
		size_t sl;
		if (util_unhex(strrchr(cert_arn, '/') + 1, sb, sizeof(sb),
			&sl) == PCA_OK &&
		    store_cert_get(ap->store, id, sb, sl, &sc) == PCA_OK) {
			json_object_set_new(o, "Status",
			    json_string(sc.revoked ? "REVOKED"
					: sc.not_after <= util_now()
					    ? "EXPIRED"
					    : "ISSUED"));
			if (sc.revoked) {
				json_object_set_new(o, "RevokedAt",
				    json_string(
					util_iso8601(sc.revoked_at, iso)));
				json_object_set_new(o, "RevocationReasonCode",
				    json_integer(sc.reason));
			}
			json_object_set_new(o, "Template",
			    json_string(sc.template_name));
			json_object_set_new(o, "RequestedBy",
			    json_string(sc.requested_by));
			json_object_set_new(o, "IssuedAt",
			    json_string(util_iso8601(sc.issued_at, iso)));
			store_cert_clear(&sc);
		}
	}
	pca_err_clear();
out:
	X509_free(x);
	free(der);
	return o;
}

static pca_err
cmd_cert_show(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--ca", "--serial", "--pem",
	    "--out", "--chain-out", NULL};
	struct ca_caller c = caller_of(ap);
	const char *pos[1] = {NULL}, *out, *co;
	char arn[512], cert_arn[700], *pem = NULL, *chain = NULL;
	int i, np = 0, as_pem = 0, a2 = 0;
	char *args[16];
	json_t *o = NULL;
	pca_err err;

	/* --pem is a flag: take it out before the TYPE=value check */
	for (i = 0; i < argc && a2 < 16; i++) {
		if (strcmp(argv[i], "--pem") == 0)
			as_pem = 1;
		else
			args[a2++] = argv[i];
	}
	if (i < argc)
		return pca_err_set(PCA_EINVAL, "too many arguments");
	for (i = 0; i < a2; i++) {
		if (strncmp(args[i], "--", 2) == 0)
			i++;
		else
			np++;
	}
	if (np > 1)
		return pca_err_set(PCA_EINVAL, "cert show takes one "
					       "certificate ARN or serial");
	out = opt_value(a2, args, "--out");
	co = opt_value(a2, args, "--chain-out");
	if ((err = opts_check(a2, args, known, np, pos)) != PCA_OK ||
	    (err = out_check("--out", out)) != PCA_OK ||
	    (err = out_check("--chain-out", co)) != PCA_OK ||
	    (err = cert_locate(ap, pos[0], opt_value(a2, args, "--ca"),
		 opt_value(a2, args, "--serial"), arn, cert_arn)) != PCA_OK ||
	    (err = ca_cert_get(ap->engine, &c, arn, cert_arn, &pem, &chain)) !=
		PCA_OK)
		goto out;
	if (out != NULL && (err = write_output(out, pem)) != PCA_OK)
		goto out;
	if (co != NULL &&
	    (err = write_output(co, chain ? chain : "")) != PCA_OK)
		goto out;
	if (as_pem && !json_out) {
		if (out == NULL)
			fputs(pem, stdout);
		goto out;
	}
	if ((o = cert_facts(ap, arn, cert_arn, pem)) == NULL) {
		err = pca_err_set(PCA_EPARSE, "%s does not parse", cert_arn);
		goto out;
	}
	if (json_out) {
		pcactl_seen_add(ap, cert_arn, o); /* pcactl_discover.c */
		json_object_set_new(o, "Certificate", json_string(pem));
		if (chain != NULL)
			json_object_set_new(o, "CertificateChain",
			    json_string(chain));
		print_json(o);
	} else {
		static const char *const order[] = {"Subject", "Issuer",
		    "Serial", "Status", "RevokedAt", "RevocationReasonCode",
		    "NotBefore", "NotAfter", "Key", "SignatureAlgorithm",
		    "Template", "RequestedBy", "IssuedAt", "Sha256Fingerprint",
		    "CertificateArn", "CertificateAuthorityArn", NULL};
		json_t *v, *e;
		size_t k;
		for (i = 0; order[i] != NULL; i++) {
			if ((v = json_object_get(o, order[i])) == NULL)
				continue;
			if (json_is_integer(v))
				printf("%-24s %lld\n", order[i],
				    (long long)json_integer_value(v));
			else
				printf("%-24s %s\n", order[i],
				    json_string_value(v));
		}
		json_array_foreach (
		    json_object_get(o, "SubjectAlternativeNames"), k, e)
			printf("%-24s %s\n", k ? "" : "SubjectAlternativeNames",
			    json_string_value(e));
	}
out:
	json_decref(o);
	free(pem);
	free(chain);
	return err;
}

pca_err
pcactl_cmd_cert(struct appliance *ap, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[0], "list") == 0 &&
	    strcmp(argv[1], "--external") == 0) /* cmd/pcactl_discover.c */
		return pcactl_cert_list_external(ap, argc - 2, argv + 2);
	if (argc >= 1 && strcmp(argv[0], "import") == 0)
		return pcactl_cert_import(ap, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return cmd_cert_list(ap, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "show") == 0)
		return cmd_cert_show(ap, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "renew-early") == 0)
		return pcactl_cert_renew_early(ap, argc - 1, argv + 1);
	return pca_err_set(PCA_EINVAL,
	    "usage: pcactl cert list|show|renew-early|import ...");
}
