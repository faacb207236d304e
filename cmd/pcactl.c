/*
 * pcactl - the offline admin CLI over the appliance's store and token.
 *
 *   pcactl init DIR [--api-port N] [--http-port N] [--s3-endpoint URL]
 *                   [--region R] [--account-id ID]
 *   pcactl [--config FILE] [--json] COMMAND ...
 *     ca create --type ROOT|SUBORDINATE --key-alg A --signing-alg S
 *               (--subject DN | --config-json FILE) [--revocation-json FILE]
 *               [--usage-mode M] [--idempotency-token T]
 *     ca list | ca show CA | ca csr CA [--out F]
 *     ca import CA --cert F [--chain F] | ca enable CA | ca disable CA
 *     ca delete CA [--days N] | ca restore CA
 *     ca rotate CA [--validity-days N] [--idempotency-token T]
 *     ca rotate --due | ca schedule CA --rotate-before-days N|default
 *     issue --ca CA --csr F --signing-alg S --validity V [--template T]
 *           [--not-before UNIX] [--api-passthrough F] [--out F]
 *           [--chain-out F] [--idempotency-token T]
 *     revoke --ca CA --serial HEX --reason R
 *     cert list [--ca CA] [--status S] [--expiring-days N]
 *               [--expiring-before UNIX] [--subject TEXT] [--template T]
 *     cert show CERT_ARN | cert show --ca CA --serial HEX
 *     store verify
 *     key create [--role admin|issuer|auditor | --policy FILE] [--ca ARN]...
 *                [--account ID] | key list | key revoke AKID
 *     key policy get AKID | key policy put AKID (--policy FILE | --role R
 *                [--ca ARN]...) | key policy simulate AKID --action OP
 *                [--resource ARN] [--template T] [--tag K=V]...
 *                [--source-ip IP]
 *
 * CA is an ARN or the bare CA id.  --config defaults to $PCACTL_CONFIG, then
 * ./var/appliance/pcad.conf.  Errors: one line on stderr, exit status 1.
 */
#include <ctype.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "../api/api.h"
#include "../api/inventory.h"
#include "../ca/ca_int.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../iam/iam.h"
#include "appliance.h"
#include "pcactl.h"

#define PCACTL_MAX_INPUT (4 * 1024 * 1024)

static int json_out;
static const char *config_path;

int
pcactl_fail(pca_err err)
{
	const char *m = pca_err_msg();

	fprintf(stderr, "pcactl: %s\n", *m ? m : pca_strerror(err));
	return 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pcactl init DIR [--api-port N] [--http-port N] "
	    "[--s3-endpoint URL] [--region R] [--account-id ID]\n"
	    "       pcactl [--config FILE] [--json] ca "
	    "create|list|show|csr|import|enable|disable|delete|restore ...\n"
	    "       pcactl [--config FILE] [--json] ca rotate CA "
	    "[--validity-days N] | ca rotate --due | ca schedule CA "
	    "--rotate-before-days N|default\n"
	    "       pcactl [--config FILE] [--json] issue --ca CA --csr FILE "
	    "--signing-alg ALG --validity 365d|12m|2y|end:YYYYMMDDHHMMSS|"
	    "abs:UNIX [--template NAME]\n"
	    "       pcactl [--config FILE] [--json] revoke --ca CA --serial "
	    "HEX --reason REASON\n"
	    "       pcactl [--config FILE] [--json] cert list [--ca CA] "
	    "[--status S] [--expiring-days N] [--expiring-before UNIX] "
	    "[--subject TEXT] [--template T] | cert show CERT_ARN\n"
	    "       pcactl [--config FILE] store verify\n"
	    "       pcactl [--config FILE] [--json] report [--json]\n"
	    "       pcactl [--config FILE] [--json] key create [--role R | "
	    "--policy FILE] [--ca ARN]... | key list | key revoke AKID | key "
	    "policy get|put|simulate AKID ...\n"
	    "       pcactl audit verify REPORT MANIFEST [--offline]\n"
	    "       pcactl [--config FILE] backup --to FILE | backup verify "
	    "FILE\n"
	    "       pcactl restore BACKUP DIR [--pin-file F] [--module-env "
	    "NAME=VALUE] [--tls-cert F --tls-key F]\n"
	    "       pcactl [--config FILE] policy list | policy check CSR "
	    "--policy NAME [--days N] [--template NAME] [--signing-alg ALG]\n");
}

/* ---- helpers ---- */

static void
print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

static pca_err
read_input(const char *path, uint8_t **out, size_t *len)
{
	if (strcmp(path, "-") == 0) {
		struct buf b;
		uint8_t chunk[4096];
		size_t n;
		pca_err err = PCA_OK;
		buf_init(&b, PCACTL_MAX_INPUT);
		while (err == PCA_OK &&
		    (n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			err = buf_add(&b, chunk, n);
		if (err == PCA_OK && (err = buf_nul(&b)) == PCA_OK)
			*out = buf_steal(&b, len);
		buf_free(&b);
		return err;
	}
	return util_file_read(path, PCACTL_MAX_INPUT, out, len);
}

static pca_err
read_json(const char *path, json_t **out)
{
	uint8_t *data = NULL;
	size_t len;
	json_error_t jerr;
	pca_err err;

	if ((err = read_input(path, &data, &len)) != PCA_OK)
		return err;
	*out = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	free(data);
	if (*out == NULL)
		return pca_err_set(PCA_EPARSE, "%s:%d: %s", path, jerr.line,
		    jerr.text);
	return PCA_OK;
}

static pca_err
write_output(const char *path, const char *text)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		fputs(text, stdout);
		return PCA_OK;
	}
	return util_file_write(path, text, strlen(text), 0644, 0);
}

static void
ca_arn_expand(const struct appliance *ap, const char *in, char *out,
    size_t n)
{
	if (util_is_uuid(in))
		(void)snprintf(out, n,
		    "arn:%s:acm-pca:%s:%s:certificate-authority/%s",
		    ap->conf.engine.partition, ap->conf.region,
		    ap->conf.account, in);
	else
		(void)snprintf(out, n, "%s", in);
}

static const char *
opt_value(int argc, char **argv, const char *name)
{
	int i;

	for (i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* Checks that every "--x" is known and has a value; positional ok. */
static pca_err
opts_check(int argc, char **argv, const char *const *known, int npos,
    const char **pos)
{
	int i, j, np = 0;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			if (np >= npos)
				return pca_err_set(PCA_EINVAL,
				    "unexpected argument '%s'", argv[i]);
			pos[np++] = argv[i];
			continue;
		}
		for (j = 0; known[j] != NULL; j++)
			if (strcmp(argv[i], known[j]) == 0)
				break;
		if (known[j] == NULL)
			return pca_err_set(PCA_EINVAL, "unknown option '%s'",
			    argv[i]);
		for (j = 0; j < i; j++)
			if (strcmp(argv[i], argv[j]) == 0)
				return pca_err_set(PCA_EINVAL,
				    "option '%s' given twice", argv[i]);
		if (i + 1 >= argc)
			return pca_err_set(PCA_EINVAL, "%s needs a value",
			    argv[i]);
		i++;
	}
	if (np < npos)
		return pca_err_set(PCA_EINVAL, "missing argument");
	return PCA_OK;
}

static pca_err
need(int argc, char **argv, const char *name, const char **out)
{
	if ((*out = opt_value(argc, argv, name)) == NULL)
		return pca_err_set(PCA_EINVAL, "%s is required", name);
	return PCA_OK;
}

static struct ca_caller
caller_of(const struct appliance *ap)
{
	struct ca_caller c = {ap->conf.account, ap->conf.region, "pcactl"};

	return c;
}

/* ---- subjects: "CN=x,O=y,C=US" to an ASN1Subject object ---- */

static const struct {
	const char *sn;
	const char *member;
} dn_map[] = {
	{"C", "Country"}, {"ST", "State"}, {"L", "Locality"},
	{"O", "Organization"}, {"OU", "OrganizationalUnit"},
	{"CN", "CommonName"}, {"dnQualifier", "DistinguishedNameQualifier"},
	{"title", "Title"}, {"SN", "Surname"}, {"GN", "GivenName"},
	{"initials", "Initials"}, {"pseudonym", "Pseudonym"},
	{"generationQualifier", "GenerationQualifier"},
	{"serialNumber", "SerialNumber"},
};

static pca_err
subject_parse(const char *dn, json_t **out)
{
	json_t *o = json_object();
	char part[512], *eq;
	const char *p = dn;
	size_t i, n;

	while (o != NULL && *p) {
		for (n = 0; *p && *p != ',' && n < sizeof(part) - 1; p++) {
			if (*p == '\\' && p[1])
				p++;
			part[n++] = *p;
		}
		part[n] = '\0';
		if (*p == ',')
			p++;
		if ((eq = strchr(part, '=')) == NULL)
			break;
		*eq = '\0';
		for (i = 0; i < sizeof(dn_map) / sizeof(dn_map[0]); i++)
			if (strcmp(dn_map[i].sn, part) == 0)
				break;
		if (i == sizeof(dn_map) / sizeof(dn_map[0]))
			break;
		json_object_set_new(o, dn_map[i].member, json_string(eq + 1));
	}
	if (o == NULL || *p != '\0' || json_object_size(o) == 0) {
		json_decref(o);
		return pca_err_set(PCA_EINVAL,
		    "--subject '%s' is not a DN like 'CN=name,O=org,C=US' "
		    "(attributes: C ST L O OU CN dnQualifier title SN GN "
		    "initials pseudonym generationQualifier serialNumber)", dn);
	}
	*out = o;
	return PCA_OK;
}

/* ---- ca ---- */

static pca_err
cmd_ca_create(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--type", "--key-alg",
	    "--signing-alg", "--subject", "--config-json", "--revocation-json",
	    "--usage-mode", "--idempotency-token", NULL};
	struct ca_caller c = caller_of(ap);
	const char *v, *type;
	json_t *req = NULL, *cfg = NULL, *subj = NULL, *o;
	char *arn = NULL;
	pca_err err;

	if ((err = opts_check(argc, argv, known, 0, NULL)) != PCA_OK ||
	    (err = need(argc, argv, "--type", &type)) != PCA_OK)
		return err;
	if ((v = opt_value(argc, argv, "--config-json")) != NULL) {
		if ((err = read_json(v, &cfg)) != PCA_OK)
			return err;
	} else {
		const char *ka, *sa, *dn;
		if ((err = need(argc, argv, "--key-alg", &ka)) != PCA_OK ||
		    (err = need(argc, argv, "--signing-alg", &sa)) != PCA_OK ||
		    (err = need(argc, argv, "--subject", &dn)) != PCA_OK ||
		    (err = subject_parse(dn, &subj)) != PCA_OK)
			return err;
		cfg = json_pack("{s:s,s:s,s:o}", "KeyAlgorithm", ka,
		    "SigningAlgorithm", sa, "Subject", subj);
	}
	req = json_pack("{s:o,s:s}", "CertificateAuthorityConfiguration", cfg,
	    "CertificateAuthorityType", type);
	if (req == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((v = opt_value(argc, argv, "--revocation-json")) != NULL) {
		if ((err = read_json(v, &o)) != PCA_OK)
			goto out;
		json_object_set_new(req, "RevocationConfiguration", o);
	}
	if ((v = opt_value(argc, argv, "--usage-mode")) != NULL)
		json_object_set_new(req, "UsageMode", json_string(v));
	if ((v = opt_value(argc, argv, "--idempotency-token")) != NULL)
		json_object_set_new(req, "IdempotencyToken", json_string(v));
	if ((err = ca_create(ap->engine, &c, req, &arn)) != PCA_OK)
		goto out;
	if (json_out) {
		o = json_pack("{s:s}", "CertificateAuthorityArn", arn);
		print_json(o);
		json_decref(o);
	} else
		printf("%s\n", arn);
out:
	free(arn);
	json_decref(req);
	return err;
}

static void
print_ca_line(const json_t *d)
{
	json_int_t na = json_integer_value(json_object_get(d, "NotAfter"));
	char t[21] = "-";

	if (na)
		util_iso8601(na, t);
	printf("%-92s %-12s %-20s %-14s %s\n",
	    json_string_value(json_object_get(d, "Arn")),
	    json_string_value(json_object_get(d, "Type")),
	    json_string_value(json_object_get(d, "Status")),
	    json_string_value(json_object_get(json_object_get(d,
		"CertificateAuthorityConfiguration"), "KeyAlgorithm")),
	    t);
}

static pca_err
cmd_ca_list(struct appliance *ap, int argc, char **argv)
{
	struct ca_caller c = caller_of(ap);
	json_t *list = NULL, *d;
	size_t i;
	pca_err err;

	(void)argv;
	if (argc != 0)
		return pca_err_set(PCA_EINVAL, "usage: pcactl ca list");
	if ((err = ca_list(ap->engine, &c, &list)) != PCA_OK)
		return err;
	if (json_out)
		print_json(list);
	else {
		printf("%-92s %-12s %-20s %-14s %s\n", "ARN", "TYPE", "STATUS",
		    "KEY", "NOT AFTER");
		json_array_foreach(list, i, d)
			print_ca_line(d);
	}
	json_decref(list);
	return PCA_OK;
}

static pca_err
cmd_ca_show(struct appliance *ap, const char *arn)
{
	struct ca_caller c = caller_of(ap);
	struct hsm_key_info ki;
	json_t *d = NULL;
	char label[64];
	const char *uuid;
	pca_err err;

	if ((err = ca_describe(ap->engine, &c, arn, &d)) != PCA_OK)
		return err;
	uuid = strrchr(arn, '/') + 1;
	(void)snprintf(label, sizeof(label), "pca-%s", uuid);
	if (hsm_key_info(ap->hsm, label, &ki) == PCA_OK)
		json_object_set_new(d, "Key", json_pack(
		    "{s:s,s:b,s:b,s:b,s:b,s:b}", "Label", label,
		    "Sensitive", ki.sensitive, "Extractable", ki.extractable,
		    "AlwaysSensitive", ki.always_sensitive, "NeverExtractable",
		    ki.never_extractable, "GeneratedOnToken", ki.local));
	else
		json_object_set_new(d, "Key", json_pack("{s:s,s:s}", "Label",
		    label, "Error", pca_err_msg()));
	print_json(d);
	json_decref(d);
	return PCA_OK;
}

static pca_err
cmd_ca_import(struct appliance *ap, const char *arn, int argc, char **argv)
{
	struct ca_caller c = caller_of(ap);
	uint8_t *cert = NULL, *chain = NULL;
	size_t cl, chl = 0;
	const char *cf, *chf;
	pca_err err;

	if ((err = need(argc, argv, "--cert", &cf)) != PCA_OK ||
	    (err = read_input(cf, &cert, &cl)) != PCA_OK)
		return err;
	if ((chf = opt_value(argc, argv, "--chain")) != NULL &&
	    (err = read_input(chf, &chain, &chl)) != PCA_OK)
		goto out;
	err = ca_import_cert(ap->engine, &c, arn, cert, cl, chain, chl);
	if (err == PCA_OK && !json_out)
		printf("imported: %s\n", arn);
out:
	free(cert);
	free(chain);
	return err;
}

/* ca rotate CA [...] | ca rotate --due (the rotation pass). */
static pca_err
cmd_ca_rotate(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {
	    "--validity-days", "--idempotency-token", NULL};
	struct ca_caller c = caller_of(ap);
	struct ca_rotate_req r = {NULL, 0};
	const char *pos[1], *v;
	char arn[512], *succ = NULL;
	size_t rotated, retired;
	long long days;
	json_t *o;
	pca_err err;

	if (argc == 1 && strcmp(argv[0], "--due") == 0) {
		if ((err = ca_rotate_maintain(
			 ap->engine, &rotated, &retired)) != PCA_OK)
			return err;
		if (json_out) {
			o = json_pack("{s:I,s:I}", "Rotated",
			    (json_int_t)rotated, "Retired",
			    (json_int_t)retired);
			print_json(o);
			json_decref(o);
		} else
			printf(
			    "rotated: %zu, retired: %zu\n", rotated, retired);
		return PCA_OK;
	}
	if ((err = opts_check(argc, argv, known, 1, pos)) != PCA_OK)
		return err;
	if ((v = opt_value(argc, argv, "--validity-days")) != NULL) {
		if ((err = util_strtonum(v, 1, 36500, &days)) != PCA_OK)
			return err;
		r.validity_days = (int)days;
	}
	r.idempotency_token = opt_value(argc, argv, "--idempotency-token");
	ca_arn_expand(ap, pos[0], arn, sizeof(arn));
	if ((err = ca_rotate(ap->engine, &c, arn, &r, &succ)) != PCA_OK)
		return err;
	if (json_out) {
		o = json_pack("{s:s,s:s}", "CertificateAuthorityArn", succ,
		    "PredecessorArn", arn);
		print_json(o);
		json_decref(o);
	} else
		printf("%s\n", succ);
	free(succ);
	return PCA_OK;
}

/* ca schedule CA --rotate-before-days N|default */
static pca_err
cmd_ca_schedule(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--rotate-before-days", NULL};
	struct ca_caller c = caller_of(ap);
	const char *pos[1], *v;
	char arn[512];
	long long days = -1;
	pca_err err;

	if ((err = opts_check(argc, argv, known, 1, pos)) != PCA_OK ||
	    (err = need(argc, argv, "--rotate-before-days", &v)) != PCA_OK)
		return err;
	if (strcmp(v, "default") != 0 &&
	    (err = util_strtonum(v, 0, 36500, &days)) != PCA_OK)
		return err;
	ca_arn_expand(ap, pos[0], arn, sizeof(arn));
	if ((err = ca_rotate_schedule(ap->engine, &c, arn, (int)days)) !=
	    PCA_OK)
		return err;
	if (!json_out)
		printf("schedule: %s\n", arn);
	return PCA_OK;
}

static pca_err
cmd_ca(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--cert", "--chain", "--out",
	    "--days", NULL};
	struct ca_caller c = caller_of(ap);
	const char *pos[1], *v;
	char arn[512], *pem = NULL;
	long long days = 0;
	pca_err err;

	if (argc < 1)
		return pca_err_set(PCA_EINVAL, "usage: pcactl ca SUBCOMMAND");
	if (strcmp(argv[0], "create") == 0)
		return cmd_ca_create(ap, argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0)
		return cmd_ca_list(ap, argc - 1, argv + 1);
	if (strcmp(argv[0], "rotate") == 0)
		return cmd_ca_rotate(ap, argc - 1, argv + 1);
	if (strcmp(argv[0], "schedule") == 0)
		return cmd_ca_schedule(ap, argc - 1, argv + 1);
	if ((err = opts_check(argc - 1, argv + 1, known, 1, pos)) != PCA_OK)
		return err;
	ca_arn_expand(ap, pos[0], arn, sizeof(arn));
	if (strcmp(argv[0], "show") == 0)
		return cmd_ca_show(ap, arn);
	if (strcmp(argv[0], "import") == 0)
		return cmd_ca_import(ap, arn, argc - 1, argv + 1);
	if (strcmp(argv[0], "csr") == 0) {
		if ((err = ca_csr_get(ap->engine, &c, arn, &pem)) == PCA_OK)
			err = write_output(opt_value(argc, argv, "--out"), pem);
		free(pem);
		return err;
	}
	if (strcmp(argv[0], "enable") == 0 || strcmp(argv[0], "disable") == 0)
		err = ca_update(ap->engine, &c, arn,
		    argv[0][0] == 'e' ? "ACTIVE" : "DISABLED", NULL);
	else if (strcmp(argv[0], "delete") == 0) {
		if ((v = opt_value(argc, argv, "--days")) != NULL &&
		    (err = util_strtonum(v, 7, 30, &days)) != PCA_OK)
			return err;
		err = ca_delete(ap->engine, &c, arn, (int)days);
	} else if (strcmp(argv[0], "restore") == 0)
		err = ca_restore(ap->engine, &c, arn);
	else
		return pca_err_set(PCA_EINVAL, "unknown 'ca %s'", argv[0]);
	if (err == PCA_OK && !json_out)
		printf("%s: %s\n", argv[0], arn);
	return err;
}

/* ---- issue, revoke ---- */

static pca_err
validity_parse(const char *v, struct ca_issue_req *r)
{
	long long n;
	size_t len = strlen(v);
	char num[32];

	if (strncmp(v, "end:", 4) == 0 || strncmp(v, "abs:", 4) == 0) {
		r->validity_type = v[0] == 'e' ? "END_DATE" : "ABSOLUTE";
		if (util_strtonum(v + 4, 1, 99999999999999LL, &n) != PCA_OK)
			goto bad;
		r->validity_value = n;
		return PCA_OK;
	}
	if (len < 2 || len > sizeof(num))
		goto bad;
	memcpy(num, v, len - 1);
	num[len - 1] = '\0';
	if (util_strtonum(num, 1, 100000, &n) != PCA_OK)
		goto bad;
	r->validity_value = n;
	switch (v[len - 1]) {
	case 'd': r->validity_type = "DAYS"; return PCA_OK;
	case 'm': r->validity_type = "MONTHS"; return PCA_OK;
	case 'y': r->validity_type = "YEARS"; return PCA_OK;
	default: break;
	}
bad:
	return pca_err_set(PCA_EINVAL,
	    "--validity '%s' must be Nd, Nm, Ny, end:YYYYMMDDHHMMSS or "
	    "abs:UNIXTIME", v);
}

static void
template_arn(const char *t, char *out, size_t n)
{
	if (strncmp(t, "arn:", 4) == 0)
		(void)snprintf(out, n, "%s", t);
	else if (strchr(t, '/') != NULL)
		(void)snprintf(out, n, "arn:aws:acm-pca:::template/%s", t);
	else
		(void)snprintf(out, n, "arn:aws:acm-pca:::template/%s/V1", t);
}

static pca_err
issue_output(struct appliance *ap, const char *arn, const char *cert_arn,
    int argc, char **argv)
{
	struct ca_caller c = caller_of(ap);
	char *pem = NULL, *chain = NULL;
	const char *co = opt_value(argc, argv, "--chain-out");
	json_t *o;
	pca_err err;

	if ((err = ca_cert_get(ap->engine, &c, arn, cert_arn, &pem,
		 &chain)) != PCA_OK)
		return err;
	if (json_out) {
		o = json_pack("{s:s,s:s}", "CertificateArn", cert_arn,
		    "Certificate", pem);
		if (chain != NULL)
			json_object_set_new(o, "CertificateChain",
			    json_string(chain));
		print_json(o);
		json_decref(o);
	} else
		err = write_output(opt_value(argc, argv, "--out"), pem);
	if (err == PCA_OK && co != NULL)
		err = write_output(co, chain ? chain : "");
	free(pem);
	free(chain);
	return err;
}

static pca_err
cmd_issue(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--ca", "--csr", "--signing-alg",
	    "--validity", "--template", "--not-before", "--api-passthrough",
	    "--out", "--chain-out", "--idempotency-token", NULL};
	struct ca_caller c = caller_of(ap);
	struct ca_issue_req r;
	const char *ca, *csr, *v;
	char arn[512], tarn[512], *cert_arn = NULL;
	uint8_t *data = NULL;
	json_t *pass = NULL;
	long long nb;
	pca_err err;

	memset(&r, 0, sizeof(r));
	if ((err = opts_check(argc, argv, known, 0, NULL)) != PCA_OK ||
	    (err = need(argc, argv, "--ca", &ca)) != PCA_OK ||
	    (err = need(argc, argv, "--csr", &csr)) != PCA_OK ||
	    (err = need(argc, argv, "--signing-alg",
		 &r.signing_algorithm)) != PCA_OK ||
	    (err = need(argc, argv, "--validity", &v)) != PCA_OK ||
	    (err = validity_parse(v, &r)) != PCA_OK)
		return err;
	ca_arn_expand(ap, ca, arn, sizeof(arn));
	r.ca_arn = arn;
	if ((v = opt_value(argc, argv, "--template")) != NULL) {
		template_arn(v, tarn, sizeof(tarn));
		r.template_arn = tarn;
	}
	if ((v = opt_value(argc, argv, "--not-before")) != NULL) {
		if ((err = util_strtonum(v, 0, 253402300799LL, &nb)) != PCA_OK)
			return err;
		r.not_before_type = "ABSOLUTE";
		r.not_before_value = nb;
	}
	if ((v = opt_value(argc, argv, "--api-passthrough")) != NULL &&
	    (err = read_json(v, &pass)) != PCA_OK)
		return err;
	r.api_passthrough = pass;
	r.idempotency_token = opt_value(argc, argv, "--idempotency-token");
	if ((err = read_input(csr, &data, &r.csr_len)) != PCA_OK)
		goto out;
	r.csr = data;
	if ((err = ca_issue(ap->engine, &c, &r, &cert_arn)) != PCA_OK)
		goto out;
	err = issue_output(ap, arn, cert_arn, argc, argv);
out:
	free(cert_arn);
	free(data);
	json_decref(pass);
	return err;
}

static pca_err
cmd_revoke(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--ca", "--serial", "--reason",
	    NULL};
	struct ca_caller c = caller_of(ap);
	const char *ca, *serial, *reason;
	char arn[512];
	pca_err err;

	if ((err = opts_check(argc, argv, known, 0, NULL)) != PCA_OK ||
	    (err = need(argc, argv, "--ca", &ca)) != PCA_OK ||
	    (err = need(argc, argv, "--serial", &serial)) != PCA_OK ||
	    (err = need(argc, argv, "--reason", &reason)) != PCA_OK)
		return err;
	ca_arn_expand(ap, ca, arn, sizeof(arn));
	if ((err = ca_revoke(ap->engine, &c, arn, serial, reason)) != PCA_OK)
		return err;
	if (!json_out)
		printf("revoked: %s (%s)\n", serial, reason);
	return PCA_OK;
}

/* ---- progress on a terminal ---- */

static void
progress(size_t done, size_t total, void *arg)
{
	static time_t last;
	time_t now = time(NULL);
	int i, w = 40, fill;

	(void)arg;
	if (!isatty(2) || total == 0 || (now == last && done < total))
		return;
	last = now;
	fill = (int)((double)done / (double)total * w);
	if (fill > w)
		fill = w;
	fprintf(stderr, "\r[");
	for (i = 0; i < w; i++)
		fputc(i < fill ? '#' : ' ', stderr);
	fprintf(stderr, "] %zu/%zu", done, total);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- cert list / show ---- */

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
	const char *ca = json_string_value(json_object_get(it,
	    "CertificateAuthorityArn"));

	if (ca_arn_uuid(ca, id) != PCA_OK) {
		pca_err_clear();
		(void)snprintf(id, sizeof(id), "%s", ca);
	}
	util_iso8601(json_integer_value(json_object_get(it, "NotAfter")), na);
	json_array_append_new(l->out, json_pack("{s:s,s:O,s:O,s:s,s:s,s:O}",
	    "CaId", id, "Serial", json_object_get(it, "Serial"),
	    "Status", json_object_get(it, "Status"), "NotAfter", na,
	    "Template", api_inv_tmpl_name(json_string_value(json_object_get(it,
		"TemplateArn"))),
	    "RequestedBy", json_object_get(it, "RequestedBy")));
}

/* The filters of "cert list" as an inventory query. */
static pca_err
list_query(struct appliance *ap, int argc, char **argv,
    struct api_inv_query *q, char id[37], char status[16])
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
		for (n = 0; v[n] != '\0' && n < 15; n++)
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
	q->tmpl = api_inv_tmpl_name(opt_value(argc, argv, "--template"));
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
		json_array_foreach(pg.items, i, e)
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
		printf("%-36s %-32s %-8s %-20s %s\n", "CA", "SERIAL", "STATUS",
		    "NOT AFTER", "TEMPLATE");
		json_array_foreach(l.out, i, e)
			printf("%-36s %-32s %-8s %-20s %s\n",
			    json_string_value(json_object_get(e, "CaId")),
			    json_string_value(json_object_get(e, "Serial")),
			    json_string_value(json_object_get(e, "Status")),
			    json_string_value(json_object_get(e, "NotAfter")),
			    json_string_value(json_object_get(e, "Template")));
	}
out:
	free(l.cas);
	json_decref(l.out);
	return err;
}

static pca_err
cmd_cert_show(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--ca", "--serial", NULL};
	struct ca_caller c = caller_of(ap);
	const char *pos[1] = {NULL}, *ca, *serial, *mark;
	char arn[512], cert_arn[700];
	int np = opt_value(argc, argv, "--ca") ? 0 : 1;
	pca_err err;

	if ((err = opts_check(argc, argv, known, np, pos)) != PCA_OK)
		return err;
	if (np == 1) {
		if ((mark = strstr(pos[0], "/certificate/")) == NULL)
			return pca_err_set(PCA_EINVAL,
			    "'%s' is not a certificate ARN", pos[0]);
		(void)snprintf(arn, sizeof(arn), "%.*s",
		    (int)(mark - pos[0]), pos[0]);
		(void)snprintf(cert_arn, sizeof(cert_arn), "%s", pos[0]);
	} else {
		uint8_t sb[LIM_SERIAL_BYTES];
		size_t sl;
		char hex[2 * LIM_SERIAL_BYTES + 1];
		ca = opt_value(argc, argv, "--ca");
		if ((err = need(argc, argv, "--serial", &serial)) != PCA_OK ||
		    (err = util_unhex(serial, sb, sizeof(sb), &sl)) != PCA_OK)
			return err;
		ca_arn_expand(ap, ca, arn, sizeof(arn));
		util_hex(sb, sl, hex, sizeof(hex), 0);
		(void)snprintf(cert_arn, sizeof(cert_arn),
		    "%s/certificate/%s", arn, hex);
	}
	(void)c;
	return issue_output(ap, arn, cert_arn, 0, NULL);
}

static pca_err
cmd_cert(struct appliance *ap, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "list") == 0)
		return cmd_cert_list(ap, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "show") == 0)
		return cmd_cert_show(ap, argc - 1, argv + 1);
	return pca_err_set(PCA_EINVAL, "usage: pcactl cert list|show ...");
}

/* ---- store verify ---- */

static void
report_problem(const char *msg, void *arg)
{
	(void)arg;
	if (isatty(2))
		fputc('\n', stderr);
	fprintf(stderr, "problem: %s\n", msg);
}

static pca_err
cmd_store(struct appliance *ap, int argc, char **argv)
{
	struct store_verify_report rep;
	size_t checked = 0, problems = 0;
	json_t *o;
	pca_err err;

	if (argc != 1 || strcmp(argv[0], "verify") != 0)
		return pca_err_set(PCA_EINVAL, "usage: pcactl store verify");
	memset(&rep, 0, sizeof(rep));
	if ((err = store_verify(ap->store, &rep, report_problem, progress,
		 NULL)) != PCA_OK)
		return err;
	if ((err = ca_verify_all(ap->engine, &checked, &problems,
		 report_problem, progress, NULL)) != PCA_OK)
		return err;
	if (json_out) {
		o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "CAs",
		    (json_int_t)rep.cas, "Certificates", (json_int_t)rep.certs,
		    "Pending", (json_int_t)rep.pending, "Revoked",
		    (json_int_t)rep.revoked, "AuditEntries",
		    (json_int_t)rep.audit_entries, "SignaturesChecked",
		    (json_int_t)checked, "Problems",
		    (json_int_t)(rep.errors + problems));
		print_json(o);
		json_decref(o);
	} else
		printf("store: %zu CAs, %zu certificates (%zu pending), %zu "
		       "revoked, %zu audit entries; %zu signatures checked; "
		       "%zu problems\n",
		    rep.cas, rep.certs, rep.pending, rep.revoked,
		    rep.audit_entries, checked, rep.errors + problems);
	if (rep.errors + problems > 0)
		return pca_err_set(PCA_EDB, "store verification found %zu "
		    "problems", rep.errors + problems);
	return PCA_OK;
}

/* ---- access keys ---- */

#define KEY_USAGE                                                              \
	"usage: pcactl key create [--role R | --policy FILE] [--ca ARN]... "   \
	"[--account ID] | key list | key revoke AKID | key policy get AKID | " \
	"key policy put AKID (--policy FILE | --role R [--ca ARN]...) | key "  \
	"policy simulate AKID --action OP [--resource ARN] [--template T] "    \
	"[--tag K=V]... [--source-ip IP]"
#define KEY_MAX_MULTI 64

/* Options of the key commands; --ca and --tag may repeat. */
struct key_opts {
	const char *role, *policy_file, *account, *action, *resource;
	const char *template_name, *source_ip;
	const char *cas[KEY_MAX_MULTI], *tags[KEY_MAX_MULTI];
	size_t ncas, ntags;
	const char *pos;
	char *policy; /* the file's text */
};

static pca_err
key_opt(struct key_opts *o, const char *name, const char *v)
{
	static const struct {
		const char *name;
		size_t off;
	} one[] = {
	    {"--role", offsetof(struct key_opts, role)},
	    {"--policy", offsetof(struct key_opts, policy_file)},
	    {"--account", offsetof(struct key_opts, account)},
	    {"--action", offsetof(struct key_opts, action)},
	    {"--resource", offsetof(struct key_opts, resource)},
	    {"--template", offsetof(struct key_opts, template_name)},
	    {"--source-ip", offsetof(struct key_opts, source_ip)},
	};
	const char **slot;
	size_t i;

	if (strcmp(name, "--ca") == 0 || strcmp(name, "--tag") == 0) {
		size_t *n = name[2] == 'c' ? &o->ncas : &o->ntags;
		if (*n == KEY_MAX_MULTI)
			return pca_err_set(PCA_ETOOBIG, "more than %d %s",
			    KEY_MAX_MULTI, name);
		(name[2] == 'c' ? o->cas : o->tags)[(*n)++] = v;
		return PCA_OK;
	}
	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		if (strcmp(name, one[i].name) != 0)
			continue;
		slot = (const char **)(void *)((char *)o + one[i].off);
		if (*slot != NULL)
			return pca_err_set(
			    PCA_EINVAL, "option '%s' given twice", name);
		*slot = v;
		return PCA_OK;
	}
	return pca_err_set(PCA_EINVAL, "unknown option '%s'", name);
}

static pca_err
key_opts_parse(int argc, char **argv, int npos, struct key_opts *o)
{
	int i, np = 0;
	pca_err err;
	uint8_t *data = NULL;
	size_t len;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			if (np++ >= npos)
				return pca_err_set(PCA_EINVAL,
				    "unexpected argument '%s'", argv[i]);
			o->pos = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			return pca_err_set(
			    PCA_EINVAL, "%s needs a value", argv[i]);
		if ((err = key_opt(o, argv[i], argv[i + 1])) != PCA_OK)
			return err;
		i++;
	}
	if (np < npos)
		return pca_err_set(PCA_EINVAL, "missing access key id");
	if (o->role != NULL && o->policy_file != NULL)
		return pca_err_set(
		    PCA_EINVAL, "--role and --policy are exclusive");
	if (o->policy_file != NULL) {
		if ((err = read_input(o->policy_file, &data, &len)) != PCA_OK)
			return err;
		if (len > IAM_MAX_POLICY_BYTES || strlen((char *)data) != len) {
			free(data);
			return pca_err_set(PCA_ETOOBIG,
			    "policy file %s: more than %d bytes or a NUL",
			    o->policy_file, IAM_MAX_POLICY_BYTES);
		}
		o->policy = (char *)data;
	}
	return PCA_OK;
}

static void
key_spec(const struct key_opts *o, const char *account, struct api_key_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->account = account;
	sp->managed = o->role ? o->role : "admin";
	sp->cas = o->cas;
	sp->ncas = o->ncas;
	sp->policy = o->policy;
}

static pca_err
key_create(struct appliance *ap, const struct key_opts *o)
{
	struct api_key_spec sp;
	char akid[21], secret[41];
	pca_err err;

	key_spec(o, o->account ? o->account : ap->conf.account, &sp);
	if ((err = api_key_create_ex(ap->store, ap->hsm, &sp, akid, secret)) !=
	    PCA_OK)
		return err;
	printf("[default]\naws_access_key_id = %s\n"
	       "aws_secret_access_key = %s\nregion = %s\n"
	       "# policy %s%s; the secret is shown only this once\n",
	    akid, secret, ap->conf.region, o->policy ? "custom" : sp.managed,
	    o->ncas ? " on the named CAs" : "");
	OPENSSL_cleanse(secret, sizeof(secret));
	return PCA_OK;
}

static pca_err
key_policy_get(struct appliance *ap, const char *akid)
{
	char *name = NULL, *doc = NULL, *account = NULL;
	json_t *d;
	pca_err err;

	if ((err = api_key_policy_get(
		 ap->store, akid, &name, &doc, &account)) != PCA_OK)
		return err;
	d = json_loads(doc, 0, NULL);
	if (json_out) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:O}", "AccessKeyId", akid,
		    "Account", account, "Policy", name, "PolicyDocument", d);
		print_json(o);
		json_decref(o);
	} else {
		printf("# %s policy of %s (account %s)\n", name, akid, account);
		print_json(d);
	}
	json_decref(d);
	free(name);
	free(doc);
	free(account);
	return PCA_OK;
}

static pca_err
key_policy_simulate(struct appliance *ap, const struct key_opts *o)
{
	struct api_simulate s;
	char tmpl[256];
	json_t *out = NULL;
	pca_err err;

	if (o->action == NULL)
		return pca_err_set(PCA_EINVAL, "--action is required");
	memset(&s, 0, sizeof(s));
	s.akid = o->pos;
	s.op =
	    strncmp(o->action, "acm-pca:", 8) == 0 ? o->action + 8 : o->action;
	s.resource = o->resource;
	if (o->template_name != NULL) {
		template_arn(o->template_name, tmpl, sizeof(tmpl));
		s.template_arn = tmpl;
	}
	s.tags = o->tags;
	s.ntags = o->ntags;
	s.source_ip = o->source_ip;
	s.partition = ap->conf.engine.partition;
	s.region = ap->conf.region;
	if ((err = api_key_simulate(ap->store, ap->engine, &s, &out)) != PCA_OK)
		return err;
	if (json_out)
		print_json(out);
	else {
		int st =
		    (int)json_integer_value(json_object_get(out, "Statement"));
		const char *sid =
		    json_string_value(json_object_get(out, "Sid"));
		printf("%s (%s",
		    json_string_value(json_object_get(out, "Decision")),
		    json_string_value(json_object_get(out, "Reason")));
		if (st >= 0)
			printf("; %s policy Statement[%d]%s%s",
			    json_string_value(json_object_get(out, "Policy")),
			    st, *sid ? " Sid " : "", sid);
		printf(")\n");
		if (*json_string_value(json_object_get(out, "Message")))
			printf("%s\n",
			    json_string_value(json_object_get(out, "Message")));
	}
	json_decref(out);
	return PCA_OK;
}

static pca_err
key_policy(struct appliance *ap, int argc, char **argv)
{
	struct key_opts o;
	struct api_key_spec sp;
	pca_err err;

	if (argc < 1)
		return pca_err_set(PCA_EINVAL, KEY_USAGE);
	if ((err = key_opts_parse(argc - 1, argv + 1, 1, &o)) != PCA_OK)
		return err;
	if (strcmp(argv[0], "get") == 0 && argc == 2)
		err = key_policy_get(ap, o.pos);
	else if (strcmp(argv[0], "put") == 0) {
		if (o.role == NULL && o.policy == NULL)
			err = pca_err_set(PCA_EINVAL,
			    "--policy FILE or --role R is required");
		else {
			key_spec(&o, NULL, &sp);
			if ((err = api_key_policy_put(ap->store, o.pos, &sp)) ==
			    PCA_OK)
				printf("policy of %s replaced (%s)\n", o.pos,
				    o.policy ? "custom" : sp.managed);
		}
	} else if (strcmp(argv[0], "simulate") == 0)
		err = key_policy_simulate(ap, &o);
	else
		err = pca_err_set(PCA_EINVAL, KEY_USAGE);
	free(o.policy);
	return err;
}

static pca_err
cmd_key(struct appliance *ap, int argc, char **argv)
{
	struct key_opts o;
	json_t *lst;
	size_t migrated = 0;
	pca_err err;

	/* version-1 records (a role) become managed policies */
	if (api_key_migrate(ap->store, &migrated) != PCA_OK)
		log_warnx("access keys: %s", pca_err_msg());
	if (argc >= 1 && strcmp(argv[0], "create") == 0) {
		if ((err = key_opts_parse(argc - 1, argv + 1, 0, &o)) == PCA_OK)
			err = key_create(ap, &o);
		free(o.policy);
		return err;
	}
	if (argc >= 1 && strcmp(argv[0], "policy") == 0)
		return key_policy(ap, argc - 1, argv + 1);
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if ((err = api_key_list(ap->store, &lst)) != PCA_OK)
			return err;
		print_json(lst);
		json_decref(lst);
		return PCA_OK;
	}
	if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
		if ((err = api_key_revoke(ap->store, argv[1])) == PCA_OK)
			printf("revoked: %s\n", argv[1]);
		return err;
	}
	return pca_err_set(PCA_EINVAL, KEY_USAGE);
}

/* ---- audit verify ---- */

/*
 * audit verify REPORT MANIFEST [--offline]: the manifest's signature, the
 * report's hash and, unless --offline, that this appliance's audit log
 * passes through the manifest's chain head.
 */
static int
cmd_audit(int argc, char **argv)
{
	struct appliance ap;
	uint8_t *rep = NULL, *man = NULL;
	size_t rl = 0, ml = 0;
	int offline = argc == 4 && strcmp(argv[3], "--offline") == 0, opened = 0;
	pca_err err;

	if ((argc != 3 && !offline) || strcmp(argv[0], "verify") != 0) {
		fprintf(stderr, "usage: pcactl audit verify REPORT MANIFEST "
				"[--offline]\n");
		return 1;
	}
	if ((err = util_file_read(argv[1], (size_t)256 << 20, &rep, &rl)) ==
		PCA_OK &&
	    (err = util_file_read(argv[2], 1 << 20, &man, &ml)) == PCA_OK &&
	    !offline && (err = appliance_open(config_path, &ap)) == PCA_OK)
		opened = 1;
	if (err == PCA_OK)
		err = crl_audit_verify(rep, rl, man, ml,
		    opened ? ap.store : NULL);
	if (opened)
		appliance_close(&ap);
	free(rep);
	free(man);
	if (err != PCA_OK)
		return pcactl_fail(err);
	printf("audit report %s matches its manifest%s\n", argv[1],
	    offline ? "" : " and the audit log");
	return 0;
}

/* ---- policy (offline: the config's policy file, no token) ---- */

static void
policy_note(const char *rule, int ok, const char *detail, void *arg)
{
	(void)arg;
	if (json_out)
		return;
	printf("%-4s %-22s %s\n", ok > 0 ? "ok" : ok == 0 ? "FAIL" : "n/a",
	    rule, detail);
}

struct policy_args {
	const char *csr, *name, *tmpl, *alg;
	long long days;
};

static pca_err
policy_args(int argc, char **argv, struct policy_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->days = -1;
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--policy") == 0 && v)
			a->name = argv[++i];
		else if (strcmp(argv[i], "--template") == 0 && v)
			a->tmpl = argv[++i];
		else if (strcmp(argv[i], "--signing-alg") == 0 && v)
			a->alg = argv[++i];
		else if (strcmp(argv[i], "--days") == 0 && v) {
			if (util_strtonum(argv[++i], 0, 36500, &a->days) !=
			    PCA_OK)
				return PCA_EINVAL;
		} else if (argv[i][0] != '-' && a->csr == NULL)
			a->csr = argv[i];
		else
			return pca_err_set(PCA_EINVAL,
			    "usage: policy check CSR --policy NAME [--days N] "
			    "[--template NAME] [--signing-alg ALG]");
	}
	if (a->csr == NULL || a->name == NULL)
		return pca_err_set(PCA_EINVAL,
		    "policy check needs a CSR file and --policy NAME");
	return PCA_OK;
}

static pca_err
policy_check(const struct pol_set *ps, int argc, char **argv)
{
	struct policy_args a;
	struct pol_input in;
	const struct pol *p;
	uint8_t *csr = NULL;
	size_t len;
	pca_err err;

	if ((err = policy_args(argc, argv, &a)) != PCA_OK)
		return err;
	if ((p = pol_set_get0(ps, a.name)) == NULL)
		return pca_err_set(PCA_ENOTFOUND, "no policy named '%.64s'",
		    a.name);
	if ((err = util_file_read(a.csr, PCACTL_MAX_INPUT, &csr, &len)) !=
	    PCA_OK)
		return err;
	err = pol_input_from_csr(csr, len, &in);
	free(csr);
	if (err != PCA_OK)
		return err;
	in.validity_s = a.days < 0 ? -1 : a.days * 86400;
	in.tmpl = a.tmpl;
	in.sig_alg = a.alg;
	err = pol_check(p, &in, policy_note, NULL);
	pol_input_clear(&in);
	if (err == PCA_OK && json_out)
		printf("{\"Policy\":\"%s\",\"Decision\":\"PERMITTED\"}\n",
		    pol_name(p));
	else if (err == PCA_OK)
		printf("decision: permitted by policy %s\n", pol_name(p));
	return err;
}

static int
cmd_policy(int argc, char **argv)
{
	struct appliance_conf conf;
	struct pol_set *ps = NULL;
	size_t i;
	pca_err err;

	if (argc < 1 || (strcmp(argv[0], "list") && strcmp(argv[0], "check"))) {
		usage();
		return 1;
	}
	if ((err = appliance_conf_load(config_path, &conf)) != PCA_OK)
		return pcactl_fail(err);
	if ((err = appliance_policies_load(&conf, &ps)) == PCA_OK) {
		if (strcmp(argv[0], "list") == 0)
			for (i = 0; i < pol_set_count(ps); i++)
				printf("%s\n", pol_set_name(ps, i));
		else
			err = policy_check(ps, argc, argv);
	}
	pol_set_free(ps);
	appliance_conf_free(&conf);
	return err == PCA_OK ? 0 : pcactl_fail(err);
}

/* ---- main ---- */

/* ---- report ---- */

/* The compliance report of every CA (monitor/), as JSON or a table. */
static pca_err
cmd_report(struct appliance *ap, int argc, char **argv)
{
	struct mon_report_req q = {ap->store, ap->engine, ap->policies, NULL,
	    util_now(), 30};
	struct buf b;
	json_t *rep = NULL;
	char *s;
	int i, as_json = json_out;
	pca_err err;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			return pca_err_set(PCA_EINVAL, "usage: report [--json]");
		as_json = 1;
	}
	if ((err = mon_report_build(&q, &rep)) != PCA_OK)
		return err;
	if (as_json) {
		if ((s = json_dumps(rep, JSON_INDENT(2))) == NULL)
			err = pca_err_set(PCA_ENOMEM, "no memory");
		else
			printf("%s\n", s);
		free(s);
	} else {
		buf_init(&b, (size_t)64 << 20);
		if ((err = mon_report_table(rep, &b)) == PCA_OK)
			fputs((const char *)b.p, stdout);
		buf_free(&b);
	}
	json_decref(rep);
	return err;
}

int
main(int argc, char **argv)
{
	struct appliance ap;
	const char *cmd;
	int i = 1;
	pca_err err;

	log_init("pcactl", LOG_LEVEL_WARN);
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return pcactl_init(argc - 1, argv + 1);
	config_path = getenv("PCACTL_CONFIG");
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--help") == 0) {
			usage();
			return 0;
		} else {
			usage();
			return 1;
		}
	}
	if (i >= argc) {
		usage();
		return 1;
	}
	if (config_path == NULL)
		config_path = "var/appliance/pcad.conf";
	cmd = argv[i++];
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(argc - i, argv + i);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(argc - i, argv + i);
	if (strcmp(cmd, "backup") == 0)
		return pcactl_backup(config_path, argc - i, argv + i);
	if (strcmp(cmd, "restore") == 0)
		return pcactl_restore(argc - i, argv + i);
	if (strcmp(cmd, "ca") && strcmp(cmd, "issue") && strcmp(cmd, "revoke") &&
	    strcmp(cmd, "cert") && strcmp(cmd, "store") && strcmp(cmd, "key") &&
	    strcmp(cmd, "report")) {
		fprintf(stderr, "pcactl: unknown command '%s' (see pcactl "
				"--help)\n", cmd);
		return 1;
	}
	if ((err = appliance_open(config_path, &ap)) != PCA_OK)
		return pcactl_fail(err);
	if (strcmp(cmd, "ca") == 0)
		err = cmd_ca(&ap, argc - i, argv + i);
	else if (strcmp(cmd, "issue") == 0)
		err = cmd_issue(&ap, argc - i, argv + i);
	else if (strcmp(cmd, "revoke") == 0)
		err = cmd_revoke(&ap, argc - i, argv + i);
	else if (strcmp(cmd, "cert") == 0)
		err = cmd_cert(&ap, argc - i, argv + i);
	else if (strcmp(cmd, "store") == 0)
		err = cmd_store(&ap, argc - i, argv + i);
	else if (strcmp(cmd, "report") == 0)
		err = cmd_report(&ap, argc - i, argv + i);
	else
		err = cmd_key(&ap, argc - i, argv + i);
	appliance_close(&ap);
	return err == PCA_OK ? 0 : pcactl_fail(err);
}
