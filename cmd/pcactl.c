/*
 * pcactl - the offline admin CLI over the appliance's store and token.
 *
 *   pcactl init DIR [--api-port N] [--http-port N] [--s3-endpoint URL]
 *                   [--region R] [--account-id ID]
 *   pcactl [--config FILE] [--json] COMMAND ...
 *     ca create --type ROOT|SUBORDINATE --key-alg A --signing-alg S
 *               (--subject DN | --config-json FILE)
 *               [--revocation crl,ocsp|crl|ocsp|none [--crl-bucket B] |
 *                --revocation-json FILE]
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
 *     cert show CERT_ARN | SERIAL [--ca CA] [--pem] [--out F] [--chain-out F]
 *     cert renew-early --ca CA [--serial S]
 *     cert import FILE|DIR | cert list --external [--status S]
 *     discover [--targets FILE | HOST:PORT ...] [--cidr C --ports P]
 *              [--sni N] [--starttls smtp|imap|postgres] [--import]
 *     alerts list | alerts ack ID
 *     acme eab create --ca CA [--policy NAME] [--names SUFFIX,...]
 *         [--profiles P,...]
 *     acme profile set|list|delete --ca CA ..., acme cert --serial S,
 *     acme prune [--keep-days N]
 *     store verify
 *     promote [DIR] [--grace S]      (a standby becomes primary)
 *     key create [--role admin|issuer|auditor | --policy FILE] [--ca ARN]...
 *                [--account ID] | key list | key revoke AKID
 *     key policy get AKID | key policy put AKID (--policy FILE | --role R
 *                [--ca ARN]...) | key policy simulate AKID --action OP
 *                [--resource ARN] [--template T] [--tag K=V]...
 *                [--source-ip IP]
 *
 * CA is an ARN or the bare CA id.  --config defaults to $PCACTL_CONFIG, then
 * ./var/appliance/pcad.conf.  Errors: one line on stderr, exit status 1.
 * --json (before or after the command): one JSON document on stdout, and
 * the files of --out/--chain-out written all the same.  -h/--help on every
 * command and subcommand (pcactl_help.c); --version.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "../api/api.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../iam/iam.h"
#include "appliance.h"
#include "pcactl.h"
#include "version.h"

#define PCACTL_MAX_INPUT (4 * 1024 * 1024)

int json_out;
static const char *config_path;

int
pcactl_fail(pca_err err)
{
	const char *m = pca_err_msg();

	fprintf(stderr, "pcactl: %s\n", *m ? m : pca_strerror(err));
	return 1;
}

/* ---- helpers ---- */

void
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
	*out =
	    json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (*out == NULL)
		return pca_err_set(PCA_EPARSE, "%s:%d: %s", path, jerr.line,
		    jerr.text);
	return PCA_OK;
}

pca_err
write_output(const char *path, const char *text)
{
	if (path == NULL || strcmp(path, "-") == 0) {
		fputs(text, stdout);
		return PCA_OK;
	}
	return util_file_write(path, text, strlen(text), 0644, 0);
}

/*
 * Checks, before anything is changed, that path ("-" or NULL: stdout) can
 * be written: its directory exists and is writable, and the path is not a
 * directory.
 */
pca_err
out_check(const char *opt, const char *path)
{
	char dir[4096];
	struct stat st;

	if (path == NULL || strcmp(path, "-") == 0)
		return PCA_OK;
	if (strlen(path) >= sizeof(dir))
		return pca_err_set(PCA_EINVAL, "%s: path too long", opt);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return pca_err_set(PCA_EINVAL, "%s %s: is a directory", opt,
		    path);
	memcpy(dir, path, strlen(path) + 1);
	if (stat(dirname(dir), &st) != 0 || !S_ISDIR(st.st_mode))
		return pca_err_set(PCA_EIO,
		    "%s %s: directory %s does not "
		    "exist",
		    opt, path, dir);
	if (access(dir, W_OK | X_OK) != 0)
		return pca_err_set(PCA_EIO, "%s %s: cannot write in %s: %s",
		    opt, path, dir, strerror(errno));
	return PCA_OK;
}

/* "Key: value" lines for the scalars and nested objects of j. */
static void
print_text(const json_t *j, int indent)
{
	const char *k;
	json_t *v, *e;
	size_t i;

	json_object_foreach ((json_t *)j, k, v) {
		if (json_is_object(v)) {
			printf("%*s%s:\n", indent, "", k);
			print_text(v, indent + 2);
		} else if (json_is_array(v)) {
			printf("%*s%s:\n", indent, "", k);
			json_array_foreach (v, i, e) {
				if (json_is_object(e)) {
					printf("%*s-\n", indent + 2, "");
					print_text(e, indent + 4);
				} else if (json_is_string(e))
					printf("%*s- %s\n", indent + 2, "",
					    json_string_value(e));
			}
		} else if (json_is_string(v))
			printf("%*s%s: %s\n", indent, "", k,
			    json_string_value(v));
		else if (json_is_integer(v))
			printf("%*s%s: %lld\n", indent, "", k,
			    (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			printf("%*s%s: %s\n", indent, "", k,
			    json_is_true(v) ? "true" : "false");
		else if (json_is_real(v))
			printf("%*s%s: %g\n", indent, "", k,
			    json_real_value(v));
	}
}

pca_err
print_json_new(json_t *o)
{
	if (o == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	print_json(o);
	json_decref(o);
	return PCA_OK;
}

void
ca_arn_expand(const struct appliance *ap, const char *in, char *out, size_t n)
{
	if (util_is_uuid(in))
		(void)snprintf(out, n,
		    "arn:%s:acm-pca:%s:%s:certificate-authority/%s",
		    ap->conf.engine.partition, ap->conf.region,
		    ap->conf.account, in);
	else
		(void)snprintf(out, n, "%s", in);
}

const char *
opt_value(int argc, char **argv, const char *name)
{
	int i;

	for (i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* Checks that every "--x" is known and has a value; positional ok. */
pca_err
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

struct ca_caller
caller_of(const struct appliance *ap)
{
	struct ca_caller c = {ap->conf.account, ap->conf.region, "pcactl"};

	return c;
}

/* ---- ca ---- */

/* What the appliance cannot serve: an error if asked for, else a note. */
static pca_err
left_out(const char *mode, const char *why)
{
	if (mode != NULL)
		return pca_err_set(PCA_EINVAL, "--revocation %s: %s", mode,
		    why);
	fprintf(stderr, "pcactl: note: %s\n", why);
	return PCA_OK;
}

/*
 * --revocation crl,ocsp|crl|ocsp|none: the default is crl,ocsp, limited to
 * what this appliance serves: OCSP with an [ocsp] url, a CRL with a
 * [crl] url_base, local only (served by pcad, no S3BucketName) unless
 * --crl-bucket names the bucket; with an [s3] endpoint a CRL needs that
 * bucket (the uploads would have nowhere to go).  Asked for explicitly,
 * what cannot be served is an error; left to the default, a note.
 * *rev: NULL for none.
 */
static pca_err
revocation_opts(const struct appliance *ap, int argc, char **argv, json_t **rev,
    unsigned *flags)
{
	const char *mode = opt_value(argc, argv, "--revocation");
	const char *bucket = opt_value(argc, argv, "--crl-bucket");
	const char *why = NULL, *p = mode ? mode : "crl,ocsp";
	int crl = 0, ocsp = 0;
	size_t n;
	pca_err err;

	*rev = NULL;
	*flags = 0;
	for (n = 0; strcmp(p, "none") != 0 || n > 0; p += n + 1) {
		n = strcspn(p, ",");
		if (n == 3 && strncmp(p, "crl", 3) == 0 && !crl)
			crl = 1;
		else if (n == 4 && strncmp(p, "ocsp", 4) == 0 && !ocsp)
			ocsp = 1;
		else
			return pca_err_set(PCA_EINVAL,
			    "--revocation must be "
			    "crl,ocsp, crl, ocsp or none");
		if (p[n] == '\0')
			break;
	}
	if (bucket != NULL && !crl)
		return pca_err_set(PCA_EINVAL,
		    "--crl-bucket needs a CRL (--revocation crl or crl,ocsp)");
	if (ocsp && ap->conf.engine.ocsp_url == NULL) {
		if ((err = left_out(mode, "no OCSP: the appliance has no "
					  "[ocsp] url")) != PCA_OK)
			return err;
		ocsp = 0;
	}
	if (crl && bucket == NULL && ap->conf.engine.crl_url_base == NULL)
		why = "no CRL: the appliance has no [crl] url_base to serve it "
		      "under (--crl-bucket B publishes to S3)";
	else if (crl && bucket == NULL && ap->conf.s3_endpoint != NULL)
		why = "no CRL: this appliance uploads CRLs to S3 ([s3] "
		      "endpoint): give --crl-bucket BUCKET";
	if (why != NULL) {
		if ((err = left_out(mode, why)) != PCA_OK)
			return err;
		crl = 0;
	}
	if (!crl && !ocsp)
		return PCA_OK;
	*rev = json_pack("{s:{s:b},s:{s:b}}", "CrlConfiguration", "Enabled",
	    crl, "OcspConfiguration", "Enabled", ocsp);
	if (*rev == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (crl && bucket != NULL)
		json_object_set_new(json_object_get(*rev, "CrlConfiguration"),
		    "S3BucketName", json_string(bucket));
	else if (crl)
		*flags = CA_CREATE_LOCAL_CRL;
	return PCA_OK;
}

static pca_err
cmd_ca_create(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--type", "--key-alg",
	    "--signing-alg", "--subject", "--config-json", "--revocation-json",
	    "--revocation", "--crl-bucket", "--usage-mode",
	    "--idempotency-token", NULL};
	struct ca_caller c = caller_of(ap);
	const char *v, *type;
	json_t *req = NULL, *cfg = NULL, *subj = NULL, *o, *rev = NULL;
	char *arn = NULL;
	unsigned flags = 0;
	pca_err err;

	if ((err = opts_check(argc, argv, known, 0, NULL)) != PCA_OK ||
	    (err = need(argc, argv, "--type", &type)) != PCA_OK)
		return err;
	if (opt_value(argc, argv, "--revocation-json") != NULL &&
	    (opt_value(argc, argv, "--revocation") != NULL ||
		opt_value(argc, argv, "--crl-bucket") != NULL))
		return pca_err_set(PCA_EINVAL,
		    "--revocation-json cannot be "
		    "combined with --revocation or --crl-bucket");
	if (opt_value(argc, argv, "--revocation-json") == NULL &&
	    (err = revocation_opts(ap, argc, argv, &rev, &flags)) != PCA_OK)
		return err;
	if ((v = opt_value(argc, argv, "--config-json")) != NULL) {
		if ((err = read_json(v, &cfg)) != PCA_OK) {
			json_decref(rev);
			return err;
		}
	} else {
		const char *ka, *sa, *dn;
		if ((err = need(argc, argv, "--key-alg", &ka)) != PCA_OK ||
		    (err = need(argc, argv, "--signing-alg", &sa)) != PCA_OK ||
		    (err = need(argc, argv, "--subject", &dn)) != PCA_OK ||
		    (err = pcactl_subject_parse(dn, &subj)) != PCA_OK) {
			json_decref(rev);
			return err;
		}
		cfg = json_pack("{s:s,s:s,s:o}", "KeyAlgorithm", ka,
		    "SigningAlgorithm", sa, "Subject", subj);
	}
	req = json_pack("{s:o,s:s}", "CertificateAuthorityConfiguration", cfg,
	    "CertificateAuthorityType", type);
	if (req == NULL) {
		json_decref(rev);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	if (rev != NULL)
		json_object_set_new(req, "RevocationConfiguration", rev);
	if ((v = opt_value(argc, argv, "--revocation-json")) != NULL) {
		if ((err = read_json(v, &o)) != PCA_OK)
			goto out;
		json_object_set_new(req, "RevocationConfiguration", o);
	}
	if ((v = opt_value(argc, argv, "--usage-mode")) != NULL)
		json_object_set_new(req, "UsageMode", json_string(v));
	if ((v = opt_value(argc, argv, "--idempotency-token")) != NULL)
		json_object_set_new(req, "IdempotencyToken", json_string(v));
	if ((err = ca_create_ex(ap->engine, &c, req, flags, &arn)) != PCA_OK)
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
	    json_string_value(json_object_get(
		json_object_get(d, "CertificateAuthorityConfiguration"),
		"KeyAlgorithm")),
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
		json_array_foreach (list, i, d)
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
		json_object_set_new(d, "Key",
		    json_pack("{s:s,s:b,s:b,s:b,s:b,s:b}", "Label", label,
			"Sensitive", ki.sensitive, "Extractable",
			ki.extractable, "AlwaysSensitive", ki.always_sensitive,
			"NeverExtractable", ki.never_extractable,
			"GeneratedOnToken", ki.local));
	else
		json_object_set_new(d, "Key",
		    json_pack("{s:s,s:s}", "Label", label, "Error",
			pca_err_msg()));
	if (json_out)
		print_json(d);
	else
		print_text(d, 0);
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
out:
	free(cert);
	free(chain);
	return err;
}

/* What "ca import|enable|disable|delete|restore" did, and the state now. */
static pca_err
ca_done(struct appliance *ap, const char *verb, const char *arn)
{
	static const char *const past[][2] = {{"import", "imported"},
	    {"enable", "enabled"}, {"disable", "disabled"},
	    {"delete", "deleted"}, {"restore", "restored"}};
	struct ca_caller c = caller_of(ap);
	const char *done = verb, *st;
	json_t *d = NULL;
	size_t i;
	pca_err err;

	for (i = 0; i < sizeof(past) / sizeof(past[0]); i++)
		if (strcmp(past[i][0], verb) == 0)
			done = past[i][1];
	if ((err = ca_describe(ap->engine, &c, arn, &d)) != PCA_OK)
		return err;
	st = json_string_value(json_object_get(d, "Status"));
	if (json_out)
		err = print_json_new(
		    json_pack("{s:s,s:s,s:s}", "CertificateAuthorityArn", arn,
			"Action", done, "Status", st ? st : ""));
	else
		printf("%s: %s (status %s)\n", done, arn, st ? st : "?");
	json_decref(d);
	return err;
}

/* ca rotate CA [...] | ca rotate --due (the rotation pass). */
static pca_err
cmd_ca_rotate(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--validity-days",
	    "--idempotency-token", NULL};
	struct ca_caller c = caller_of(ap);
	struct ca_rotate_req r = {NULL, 0};
	const char *pos[1], *v;
	char arn[512], *succ = NULL;
	size_t rotated, retired;
	long long days;
	json_t *o;
	pca_err err;

	if (argc == 1 && strcmp(argv[0], "--due") == 0) {
		if ((err = ca_rotate_maintain(ap->engine, &rotated,
			 &retired)) != PCA_OK)
			return err;
		if (json_out) {
			o = json_pack("{s:I,s:I}", "Rotated",
			    (json_int_t)rotated, "Retired",
			    (json_int_t)retired);
			print_json(o);
			json_decref(o);
		} else
			printf("rotated: %zu, retired: %zu\n", rotated,
			    retired);
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
	if (strcmp(argv[0], "csr") == 0) {
		v = opt_value(argc, argv, "--out");
		if ((err = out_check("--out", v)) != PCA_OK ||
		    (err = ca_csr_get(ap->engine, &c, arn, &pem)) != PCA_OK)
			return err;
		if (!json_out || (v != NULL && strcmp(v, "-") != 0))
			err = write_output(v, pem);
		if (err == PCA_OK && json_out)
			err = print_json_new(json_pack("{s:s,s:s}",
			    "CertificateAuthorityArn", arn, "Csr", pem));
		free(pem);
		return err;
	}
	if (strcmp(argv[0], "import") == 0)
		err = cmd_ca_import(ap, arn, argc - 1, argv + 1);
	else if (strcmp(argv[0], "enable") == 0 ||
		 strcmp(argv[0], "disable") == 0)
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
	if (err != PCA_OK)
		return err;
	return ca_done(ap, argv[0], arn);
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
	case 'd':
		r->validity_type = "DAYS";
		return PCA_OK;
	case 'm':
		r->validity_type = "MONTHS";
		return PCA_OK;
	case 'y':
		r->validity_type = "YEARS";
		return PCA_OK;
	default:
		break;
	}
bad:
	return pca_err_set(PCA_EINVAL,
	    "--validity '%s' must be Nd, Nm, Ny, end:YYYYMMDDHHMMSS or "
	    "abs:UNIXTIME",
	    v);
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

/*
 * The certificate of cert_arn: PEM to --out (stdout when absent and not
 * --json), the chain to --chain-out; with --json one object on stdout.
 * After an issuance (issued) a failed write says the certificate exists.
 */
static pca_err
issue_output(struct appliance *ap, const char *arn, const char *cert_arn,
    int issued, int argc, char **argv)
{
	struct ca_caller c = caller_of(ap);
	char *pem = NULL, *chain = NULL;
	const char *out = opt_value(argc, argv, "--out");
	const char *co = opt_value(argc, argv, "--chain-out");
	const char *failed = NULL;
	json_t *o;
	pca_err err;

	if ((err = ca_cert_get(ap->engine, &c, arn, cert_arn, &pem, &chain)) !=
	    PCA_OK)
		goto out;
	if ((json_out ? out != NULL && strcmp(out, "-") != 0 : 1) &&
	    (err = write_output(out, pem)) != PCA_OK)
		failed = out;
	else if (co != NULL &&
		 (err = write_output(co, chain ? chain : "")) != PCA_OK)
		failed = co;
	if (err == PCA_OK && json_out) {
		o = json_pack("{s:s,s:s}", "CertificateArn", cert_arn,
		    "Certificate", pem);
		if (o != NULL && chain != NULL)
			json_object_set_new(o, "CertificateChain",
			    json_string(chain));
		err = print_json_new(o);
	} else if (err == PCA_OK && issued && out != NULL &&
		   strcmp(out, "-") != 0)
		printf("%s\n", cert_arn);
out:
	if (err != PCA_OK && issued) {
		char msg[768];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		err = pca_err_set(err, "issued %s, but could not write %s: %s",
		    cert_arn, failed ? failed : "it", msg);
	}
	free(pem);
	free(chain);
	return err;
}

/* An unknown --signing-alg, named as such with the valid ones. */
static pca_err
sigalg_check(const char *name)
{
	char list[256] = "";
	size_t n = 0;
	int i;

	if (pca_sigalg_from_name(name) != PCA_SIG_NONE)
		return PCA_OK;
	for (i = PCA_SIG_NONE + 1; i < PCA_SIG_MAX; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    n ? " " : "", pca_sigalg_name((enum pca_sigalg)i));
	return pca_err_set(PCA_EINVAL,
	    "--signing-alg '%s' is unknown; valid: "
	    "%s",
	    name, list);
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
	    (err = need(argc, argv, "--signing-alg", &r.signing_algorithm)) !=
		PCA_OK ||
	    (err = sigalg_check(r.signing_algorithm)) != PCA_OK ||
	    (err = need(argc, argv, "--validity", &v)) != PCA_OK ||
	    (err = validity_parse(v, &r)) != PCA_OK ||
	    (err = out_check("--out", opt_value(argc, argv, "--out"))) !=
		PCA_OK ||
	    (err = out_check("--chain-out",
		 opt_value(argc, argv, "--chain-out"))) != PCA_OK)
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
	err = issue_output(ap, arn, cert_arn, 1, argc, argv);
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
	static const char *const reasons[] = {"UNSPECIFIED", "KEY_COMPROMISE",
	    "CERTIFICATE_AUTHORITY_COMPROMISE", "AFFILIATION_CHANGED",
	    "SUPERSEDED", "CESSATION_OF_OPERATION", "PRIVILEGE_WITHDRAWN",
	    "A_A_COMPROMISE", NULL};
	struct ca_caller c = caller_of(ap);
	const char *ca, *serial, *reason;
	char arn[512];
	size_t i;
	pca_err err;

	if ((err = opts_check(argc, argv, known, 0, NULL)) != PCA_OK ||
	    (err = need(argc, argv, "--ca", &ca)) != PCA_OK ||
	    (err = need(argc, argv, "--serial", &serial)) != PCA_OK ||
	    (err = need(argc, argv, "--reason", &reason)) != PCA_OK)
		return err;
	ca_arn_expand(ap, ca, arn, sizeof(arn));
	for (i = 0; reasons[i] != NULL; i++)
		if (strcmp(reasons[i], reason) == 0)
			break;
	if (reasons[i] == NULL) {
		char list[256] = "";
		size_t n = 0;
		for (i = 0; reasons[i] != NULL; i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n,
			    "%s%s", i ? " " : "", reasons[i]);
		return pca_err_set(PCA_EINVAL,
		    "--reason '%s' is not valid; "
		    "valid: %s",
		    reason, list);
	}
	if ((err = ca_revoke(ap->engine, &c, arn, serial, reason)) != PCA_OK)
		return err;
	if (json_out)
		return print_json_new(
		    json_pack("{s:s,s:s,s:s}", "CertificateAuthorityArn", arn,
			"Serial", serial, "RevocationReason", reason));
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

	if ((argc != 1 && (argc != 3 || strcmp(argv[1], "--against-s3"))) ||
	    strcmp(argv[0], "verify") != 0)
		return pca_err_set(PCA_EINVAL,
		    "usage: pcactl store verify "
		    "[--against-s3 s3://BUCKET/PREFIX]");
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
	if (argc == 3 && (err = pcactl_store_against_s3(ap, argv[2])) != PCA_OK)
		return err;
	if (rep.errors + problems > 0)
		return pca_err_set(PCA_EDB,
		    "store verification found %zu "
		    "problems",
		    rep.errors + problems);
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
			return pca_err_set(PCA_EINVAL,
			    "option '%s' given twice", name);
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
			return pca_err_set(PCA_EINVAL, "%s needs a value",
			    argv[i]);
		if ((err = key_opt(o, argv[i], argv[i + 1])) != PCA_OK)
			return err;
		i++;
	}
	if (np < npos)
		return pca_err_set(PCA_EINVAL, "missing access key id");
	if (o->role != NULL && o->policy_file != NULL)
		return pca_err_set(PCA_EINVAL,
		    "--role and --policy are exclusive");
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

/* key create --json: the one time the secret is shown, as an object. */
static pca_err
key_json(const char *akid, const char *secret, const char *role,
    const char *account, const char *region)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "AccessKeyId", akid,
	    "SecretAccessKey", secret, "Policy", role, "Account", account,
	    "Region", region);
	char *t;

	if (o == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o); /* jansson copied the secret: it is freed unwiped */
	if (t == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	printf("%s\n", t);
	OPENSSL_cleanse(t, strlen(t));
	free(t);
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
	struct seal_ops seal;
	char akid[21], secret[41];
	pca_err err;

	key_spec(o, o->account ? o->account : ap->conf.account, &sp);
	hsm_seal_ops(ap->hsm, &seal);
	if ((err = api_key_create_ex(ap->store, &seal, &sp, akid, secret)) !=
	    PCA_OK)
		return err;
	if (json_out) {
		err = key_json(akid, secret, o->policy ? "custom" : sp.managed,
		    sp.account, ap->conf.region);
		OPENSSL_cleanse(secret, sizeof(secret));
		return err;
	}
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

	if ((err = api_key_policy_get(ap->store, akid, &name, &doc,
		 &account)) != PCA_OK)
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
			if ((err = api_key_policy_put(ap->store, o.pos, &sp)) !=
			    PCA_OK)
				;
			else if (json_out)
				err = print_json_new(json_pack("{s:s,s:s}",
				    "AccessKeyId", o.pos, "Policy",
				    o.policy ? "custom" : sp.managed));
			else
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

/* key list as a table (never a secret: the list holds none). */
static void
key_table(const json_t *list)
{
	static const char *const cols[] = {"AccessKeyId", "Policy", "Account",
	    "Status", "CreatedAt"};
	static const int width[] = {22, 8, 13, 9, 0};
	json_t *k, *v;
	char iso[21];
	size_t i, c;

	printf("%-22s %-8s %-13s %-9s %s\n", "ACCESS KEY", "POLICY", "ACCOUNT",
	    "STATUS", "CREATED");
	json_array_foreach ((json_t *)list, i, k) {
		for (c = 0; c < 5; c++) {
			v = json_object_get(k, cols[c]);
			printf("%-*s%s", width[c],
			    json_is_integer(v)
				? util_iso8601(json_integer_value(v), iso)
			    : json_string_value(v) ? json_string_value(v)
						   : "-",
			    c < 4 ? " " : "\n");
		}
	}
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
		if (json_out)
			print_json(lst);
		else
			key_table(lst);
		json_decref(lst);
		return PCA_OK;
	}
	if (argc == 2 && strcmp(argv[0], "revoke") == 0) {
		if ((err = api_key_revoke(ap->store, argv[1])) != PCA_OK)
			return err;
		if (json_out)
			return print_json_new(json_pack("{s:s,s:s}",
			    "AccessKeyId", argv[1], "Status", "REVOKED"));
		printf("revoked: %s\n", argv[1]);
		return PCA_OK;
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
	int offline = argc == 4 && strcmp(argv[3], "--offline") == 0,
	    opened = 0;
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
	if (json_out) {
		err = print_json_new(json_pack("{s:s,s:s,s:b,s:b}", "Report",
		    argv[1], "Manifest", argv[2], "Verified", 1,
		    "AuditLogChecked", !offline));
		return err == PCA_OK ? 0 : pcactl_fail(err);
	}
	printf("audit report %s matches its manifest%s\n", argv[1],
	    offline ? "" : " and the audit log");
	return 0;
}

/* ---- policy (offline: the config's policy file, no token) ---- */

static void
policy_note(const char *rule, int ok, const char *detail, void *arg)
{
	const char *res = ok > 0 ? "ok" : ok == 0 ? "FAIL" : "n/a";

	if (json_out)
		json_array_append_new(arg,
		    json_pack("{s:s,s:s,s:s}", "Rule", rule, "Result", res,
			"Detail", detail ? detail : ""));
	else
		printf("%-4s %-22s %s\n", res, rule, detail);
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
	json_t *rules, *o;
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
	if ((rules = json_array()) == NULL) {
		pol_input_clear(&in);
		return pca_err_set(PCA_ENOMEM, "no memory");
	}
	err = pol_check(p, &in, policy_note, rules);
	pol_input_clear(&in);
	if (json_out) {
		/* the decision either way; a refusal still exits 1 */
		char msg[512];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		o = json_pack("{s:s,s:s,s:O}", "Policy", pol_name(p),
		    "Decision", err == PCA_OK ? "PERMITTED" : "REFUSED",
		    "Rules", rules);
		if (o != NULL && err != PCA_OK)
			json_object_set_new(o, "Reason", json_string(msg));
		if (o != NULL)
			print_json(o);
		json_decref(o);
		if (err != PCA_OK)
			(void)pca_err_set(err, "%s", msg);
	} else if (err == PCA_OK)
		printf("decision: permitted by policy %s\n", pol_name(p));
	json_decref(rules);
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
		pcactl_help("policy", NULL, stderr);
		return 1;
	}
	if ((err = appliance_conf_load(config_path, &conf)) != PCA_OK)
		return pcactl_fail(err);
	if ((err = appliance_policies_load(&conf, &ps)) == PCA_OK) {
		if (strcmp(argv[0], "list") == 0 && json_out) {
			json_t *l = json_array();
			for (i = 0; l != NULL && i < pol_set_count(ps); i++)
				json_array_append_new(l,
				    json_string(pol_set_name(ps, i)));
			err = print_json_new(l);
		} else if (strcmp(argv[0], "list") == 0)
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

/* ---- approvals of CA-level operations ---- */

static void
print_approval(const json_t *r)
{
	printf("%s  %-9s %-38s by %s  %zu/%lld approvals  %s\n",
	    json_string_value(json_object_get(r, "Id")),
	    json_string_value(json_object_get(r, "Status")),
	    json_string_value(json_object_get(r, "Operation")),
	    json_string_value(json_object_get(r, "Requester")),
	    json_array_size(json_object_get(r, "Approvals")),
	    (long long)json_integer_value(json_object_get(r, "Quorum")),
	    json_string_value(json_object_get(r, "Resource")) ?: "-");
}

static pca_err
approval_out(json_t *j, int list)
{
	size_t i;
	json_t *r;

	if (json_out)
		print_json(j);
	else if (list)
		json_array_foreach (j, i, r)
			print_approval(r);
	else
		print_approval(j);
	json_decref(j);
	return PCA_OK;
}

static pca_err
cmd_approval(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--status", "--as", "--reason",
	    NULL};
	struct api_approval_decision d;
	const char *pos[2] = {NULL, NULL}, *as;
	char who[API_APPROVAL_NAME];
	json_t *j = NULL;
	pca_err err;

	if (argc < 1 ||
	    (err = opts_check(argc - 1, argv + 1, known,
		 strcmp(argv[0], "list") == 0 ? 0 : 1, pos + 1)) != PCA_OK)
		return argc < 1
			   ? pca_err_set(PCA_EINVAL,
				 "usage: pcactl "
				 "approval list [--status S] | show ID | "
				 "approve ID --as "
				 "NAME | deny ID --as NAME [--reason TEXT]")
			   : err;
	if (strcmp(argv[0], "list") == 0)
		return (err = api_approval_list(ap->store, NULL,
			    opt_value(argc, argv, "--status"), util_now(), &j))
			   ? err
			   : approval_out(j, 1);
	if (strcmp(argv[0], "show") == 0)
		return (err = api_approval_show(ap->store, pos[1], util_now(),
			    &j))
			   ? err
			   : approval_out(j, 0);
	if (strcmp(argv[0], "approve") && strcmp(argv[0], "deny"))
		return pca_err_set(PCA_EINVAL, "usage: pcactl approval "
					       "list|show|approve|deny ...");
	if ((err = need(argc, argv, "--as", &as)) != PCA_OK)
		return err;
	if (snprintf(who, sizeof(who), "operator:%s", as) >= (int)sizeof(who))
		return pca_err_set(PCA_EINVAL, "--as: name too long");
	memset(&d, 0, sizeof(d));
	d.id = pos[1];
	d.who = who;
	d.approve = strcmp(argv[0], "approve") == 0;
	d.reason = opt_value(argc, argv, "--reason");
	d.now = util_now();
	if ((err = api_approval_decide(ap->store, &ap->conf.approval, &d,
		 &j)) != PCA_OK)
		return err;
	return approval_out(j, 0);
}

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

	for (i = 0; i < argc; i++)
		return pca_err_set(PCA_EINVAL,
		    "unexpected argument '%s' (usage: "
		    "pcactl report)",
		    argv[i]);
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

/*
 * Takes the global flags out of the command's arguments (they may come
 * after the command too): --json, --config FILE, -h/--help (*help).
 */
static int
strip_globals(int argc, char **argv, int *help)
{
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0)
			*help = 1;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else
			argv[n++] = argv[i];
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct appliance ap;
	const char *cmd;
	char **args;
	int i = 1, n, help = 0;
	pca_err err;

	log_init("pcactl", LOG_LEVEL_WARN);
	config_path = getenv("PCACTL_CONFIG");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--help") == 0 ||
			 strcmp(argv[i], "-h") == 0) {
			pcactl_usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("pcactl %s\n", PCA_VERSION);
			return 0;
		} else {
			fprintf(stderr,
			    "pcactl: unknown option '%s' (see "
			    "pcactl --help)\n",
			    argv[i]);
			return 1;
		}
	}
	if (i >= argc) {
		pcactl_usage(stderr);
		return 1;
	}
	cmd = argv[i++];
	args = argv + i;
	n = strip_globals(argc - i, args, &help);
	if (strcmp(cmd, "help") == 0 || help) {
		const char *c =
		    strcmp(cmd, "help") == 0 ? n > 0 ? args[0] : NULL : cmd;
		const char *sub = strcmp(cmd, "help") == 0
				      ? n > 1 ? args[1] : NULL
				  : n > 0 ? args[0]
					  : NULL;
		if (c == NULL)
			pcactl_usage(stdout);
		else if (!pcactl_help(c, sub, stdout)) {
			fprintf(stderr,
			    "pcactl: unknown command '%s' (see "
			    "pcactl --help)\n",
			    c);
			return 1;
		}
		return 0;
	}
	if (config_path == NULL)
		config_path = "var/appliance/pcad.conf";
	if (strcmp(cmd, "init") == 0) {
		if (json_out) {
			fprintf(stderr,
			    "pcactl: init has no --json output; its "
			    "results are the files it writes\n");
			return 1;
		}
		args[-1] = argv[i - 1];
		return pcactl_init(n + 1, args - 1);
	}
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(n, args);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(n, args);
	if (strcmp(cmd, "backup") == 0)
		return pcactl_backup(config_path, n, args);
	if (strcmp(cmd, "restore") == 0)
		return pcactl_restore(n, args);
	if (strcmp(cmd, "promote") == 0)
		return pcactl_promote(config_path, n, args);
	if (strcmp(cmd, "token") == 0) /* cmd/pcactl_token.c */
		return pcactl_token(config_path, n, args);
	if (strcmp(cmd, "tls") == 0) /* cmd/pcactl_tls.c */
		return pcactl_tls(config_path, n, args);
	if (strcmp(cmd, "ca") && strcmp(cmd, "issue") &&
	    strcmp(cmd, "revoke") && strcmp(cmd, "cert") &&
	    strcmp(cmd, "store") && strcmp(cmd, "key") &&
	    strcmp(cmd, "report") && strcmp(cmd, "approval") &&
	    strcmp(cmd, "acme") && strcmp(cmd, "discover") &&
	    strcmp(cmd, "alerts")) {
		fprintf(stderr,
		    "pcactl: unknown command '%s' (see pcactl "
		    "--help)\n",
		    cmd);
		return 1;
	}
	if ((err = appliance_open(config_path, &ap)) != PCA_OK)
		return pcactl_fail(err);
	/* what opening left on OpenSSL's queue is not about the command */
	ERR_clear_error();
	if (strcmp(cmd, "ca") == 0)
		err = cmd_ca(&ap, n, args);
	else if (strcmp(cmd, "issue") == 0)
		err = cmd_issue(&ap, n, args);
	else if (strcmp(cmd, "revoke") == 0)
		err = cmd_revoke(&ap, n, args);
	else if (strcmp(cmd, "cert") == 0)
		err = pcactl_cmd_cert(&ap, n, args);
	else if (strcmp(cmd, "store") == 0)
		err = cmd_store(&ap, n, args);
	else if (strcmp(cmd, "report") == 0)
		err = cmd_report(&ap, n, args);
	else if (strcmp(cmd, "approval") == 0)
		err = cmd_approval(&ap, n, args);
	else if (strcmp(cmd, "acme") == 0) /* cmd/pcactl_acme.c */
		err = pcactl_cmd_acme(&ap, n, args);
	else if (strcmp(cmd, "discover") == 0) /* cmd/pcactl_discover.c */
		err = pcactl_cmd_discover(&ap, n, args);
	else if (strcmp(cmd, "alerts") == 0) /* cmd/pcactl_alerts.c */
		err = pcactl_cmd_alerts(&ap, n, args);
	else
		err = cmd_key(&ap, n, args);
	appliance_close(&ap);
	return err == PCA_OK ? 0 : pcactl_fail(err);
}
