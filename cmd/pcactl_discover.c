/*
 * pcactl_discover.c - "pcactl discover ...", "pcactl cert import FILE|DIR"
 * and "pcactl cert list --external": certificates found on the network or
 * handed in, recorded next to ours (discover/).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <openssl/sha.h>
#include <openssl/x509.h>

#include "../common/util.h"
#include "../discover/disc.h"
#include "appliance.h"
#include "pcactl.h"

#define IMPORT_FILE_MAX (4 << 20)
#define IMPORT_FILES_MAX 10000

/* disc_ours.ca_of: der is the certificate of one of our CAs. */
static int
ca_of(void *arg, const uint8_t *der, size_t len, char ca_id[37])
{
	struct appliance *ap = arg;
	char(*ids)[37] = NULL;
	struct ca_info ci;
	size_t n = 0, i;
	int found = 0;

	if (ca_info_ids(ap->engine, &ids, &n) != PCA_OK) {
		pca_err_clear();
		return 0;
	}
	for (i = 0; i < n && !found; i++) {
		if (ca_info_get(ap->engine, ids[i], &ci) != PCA_OK) {
			pca_err_clear();
			continue;
		}
		if (ci.cert_der != NULL && ci.cert_len == len &&
		    memcmp(ci.cert_der, der, len) == 0) {
			memcpy(ca_id, ci.uuid, 37);
			found = 1;
		}
		ca_info_clear(&ci);
	}
	free(ids);
	return found;
}

static json_t *
chain_entry(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	uint8_t md[SHA256_DIGEST_LENGTH];
	char subj[256], fp[65];
	json_t *o;

	subj[0] = '\0';
	if (x != NULL)
		(void)X509_NAME_oneline(X509_get_subject_name(x), subj,
		    sizeof(subj));
	X509_free(x);
	(void)SHA256(der, len, md);
	util_hex(md, sizeof(md), fp, sizeof(fp), 0);
	o = json_pack("{s:s,s:s}", "Subject", subj, "Fingerprint", fp);
	return o;
}

struct disc_args {
	struct disc_spec spec;
	struct disc_conf conf;
	const char *targets_file;
	const char *hp[DISC_TARGETS_MAX];
	int import;
};

static pca_err
num_opt(const char *name, const char *v, long long max, unsigned *out)
{
	long long n;

	if (util_strtonum(v, 1, max, &n) != PCA_OK) {
		pca_err_clear();
		return pca_err_set(PCA_EINVAL, "%s must be 1 to %lld", name,
		    max);
	}
	*out = (unsigned)n;
	return PCA_OK;
}

static pca_err
disc_args_parse(int argc, char **argv, struct disc_args *a)
{
	const char *v;
	int i;
	pca_err err = PCA_OK;

	for (i = 0; i < argc && err == PCA_OK; i++) {
		if (strcmp(argv[i], "--import") == 0) {
			a->import = 1;
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0) {
			if (a->spec.nhostports >= DISC_TARGETS_MAX)
				return pca_err_set(PCA_ETOOBIG, "too many "
								"targets");
			a->hp[a->spec.nhostports++] = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			return pca_err_set(PCA_EINVAL, "%s needs a value",
			    argv[i]);
		v = argv[++i];
		if (strcmp(argv[i - 1], "--targets") == 0)
			a->targets_file = v;
		else if (strcmp(argv[i - 1], "--cidr") == 0)
			a->spec.cidr = v;
		else if (strcmp(argv[i - 1], "--ports") == 0)
			a->spec.ports = v;
		else if (strcmp(argv[i - 1], "--sni") == 0)
			a->spec.sni = v;
		else if (strcmp(argv[i - 1], "--starttls") == 0)
			a->spec.starttls = v;
		else if (strcmp(argv[i - 1], "--concurrency") == 0)
			err = num_opt("--concurrency", v, 64,
			    &a->conf.concurrency);
		else if (strcmp(argv[i - 1], "--timeout-ms") == 0)
			err = num_opt("--timeout-ms", v, 600000,
			    &a->conf.timeout_ms);
		else if (strcmp(argv[i - 1], "--rate") == 0)
			err = num_opt("--rate", v, 10000, &a->conf.rate);
		else
			return pca_err_set(PCA_EINVAL, "unknown option '%s'",
			    argv[i - 1]);
	}
	a->spec.hostports = a->hp;
	if (err == PCA_OK && a->spec.ports != NULL && a->spec.cidr == NULL)
		err = pca_err_set(PCA_EINVAL, "--ports goes with --cidr");
	return err;
}

/* The endpoint's result as JSON (and recorded when importing). */
static json_t *
endpoint_json(struct appliance *ap, const struct disc_result *r, int import,
    struct disc_import_stats *st, pca_err *err)
{
	char where[DISC_HOST_MAX + 12];
	struct disc_ours ours = {ca_of, ap};
	struct disc_seen seen;
	json_t *o, *chain = json_array();
	size_t k;

	(void)snprintf(where, sizeof(where), "%s:%s", r->target->host,
	    r->target->port);
	seen = (struct disc_seen){where, r->target->sni, "scan", util_now()};
	for (k = 0; chain != NULL && k < r->n; k++) {
		(void)json_array_append_new(chain,
		    chain_entry(r->der[k], r->len[k]));
		if (import && *err == PCA_OK)
			*err = disc_record(ap->store, &ours, r->der[k],
			    r->len[k], &seen, st);
	}
	o = json_pack("{s:s,s:s,s:b,s:o}", "Endpoint", where, "Sni",
	    r->target->sni, "Ok", r->ok, "Chain", chain);
	if (o != NULL && !r->ok)
		(void)json_object_set_new(o, "Error", json_string(r->error));
	return o;
}

static void
endpoint_print(const json_t *e)
{
	const json_t *c = json_object_get(e, "Chain");

	if (!json_is_true(json_object_get(e, "Ok"))) {
		printf("%s\tdown\t%s\n",
		    json_string_value(json_object_get(e, "Endpoint")),
		    json_string_value(json_object_get(e, "Error")));
		return;
	}
	printf("%s\tup\t%zu certificate(s)\t%s\n",
	    json_string_value(json_object_get(e, "Endpoint")),
	    json_array_size(c),
	    json_string_value(
		json_object_get(json_array_get(c, 0), "Subject")));
}

pca_err
pcactl_cmd_discover(struct appliance *ap, int argc, char **argv)
{
	struct disc_import_stats st = {0, 0, 0};
	struct disc_targets ts = {NULL, 0};
	struct disc_result *res = NULL;
	struct disc_args a;
	json_t *eps = NULL, *e;
	size_t i, up = 0;
	pca_err err, rerr = PCA_OK;

	memset(&a, 0, sizeof(a));
	if ((err = disc_args_parse(argc, argv, &a)) != PCA_OK)
		return err;
	err = a.targets_file ? disc_targets_file(a.targets_file, &a.spec, &ts)
			     : disc_targets_build(&a.spec, &ts);
	if (err != PCA_OK)
		return err;
	if (ts.n == 0)
		return pca_err_set(PCA_EINVAL,
		    "no targets: give host:port, "
		    "--targets FILE or --cidr with --ports");
	if ((err = disc_scan(&a.conf, &ts, &res)) != PCA_OK)
		goto out;
	if ((eps = json_array()) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < ts.n; i++) {
		e = endpoint_json(ap, &res[i], a.import, &st, &rerr);
		up += res[i].ok != 0;
		if (!json_out && e != NULL)
			endpoint_print(e);
		(void)json_array_append_new(eps, e);
	}
	if (rerr != PCA_OK) {
		err = rerr;
		goto out;
	}
	if (json_out)
		err = print_json_new(json_pack("{s:O,s:I,s:I,s:b,s:I,s:I,s:I}",
		    "Endpoints", eps, "Scanned", (json_int_t)ts.n, "Up",
		    (json_int_t)up, "Imported", a.import, "Ours",
		    (json_int_t)st.ours, "External", (json_int_t)st.external,
		    "NewExternal", (json_int_t)st.new_external));
	else if (a.import)
		printf("imported: %zu of ours, %zu external (%zu new)\n",
		    st.ours, st.external, st.new_external);
out:
	json_decref(eps);
	disc_results_free(res, ts.n);
	disc_targets_free(&ts);
	return err;
}

/* ---- cert import FILE|DIR ---- */

struct imp {
	struct appliance *ap;
	const char *where;
	struct disc_import_stats st;
	pca_err err;
};

static int
imp_one(const uint8_t *der, size_t len, void *arg)
{
	struct imp *m = arg;
	struct disc_ours ours = {ca_of, m->ap};
	struct disc_seen seen = {m->where, NULL, "import", util_now()};

	m->err = disc_record(m->ap->store, &ours, der, len, &seen, &m->st);
	return m->err != PCA_OK;
}

static pca_err
imp_file(struct imp *m, const char *path)
{
	uint8_t *p = NULL;
	size_t n;
	pca_err err;

	if ((err = util_file_read(path, IMPORT_FILE_MAX, &p, &n)) != PCA_OK)
		return err;
	m->where = path;
	m->err = PCA_OK;
	err = disc_parse_certs(p, n, imp_one, m);
	free(p);
	if (m->err != PCA_OK) {
		pca_err_clear();
		return pca_err_set(m->err, "%.300s: not recorded", path);
	}
	if (err != PCA_OK) {
		char msg[200];
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		pca_err_clear();
		return pca_err_set(err, "%.300s: %s", path, msg);
	}
	return PCA_OK;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir (not recursive), in name order. */
static pca_err
imp_dir(struct imp *m, const char *dir)
{
	char *names[IMPORT_FILES_MAX], path[4096];
	struct dirent *de;
	struct stat sb;
	size_t n = 0, i;
	DIR *d = opendir(dir);
	pca_err err = PCA_OK;

	if (d == NULL)
		return pca_err_set(PCA_EIO, "%.300s: cannot open", dir);
	while ((de = readdir(d)) != NULL && n < IMPORT_FILES_MAX)
		if (de->d_name[0] != '.' &&
		    (names[n] = strdup(de->d_name)) != NULL)
			n++;
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n && err == PCA_OK; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			err = imp_file(m, path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	return err;
}

pca_err
pcactl_cert_import(struct appliance *ap, int argc, char **argv)
{
	struct imp m;
	struct stat sb;
	pca_err err;

	if (argc != 1 || strncmp(argv[0], "--", 2) == 0)
		return pca_err_set(PCA_EINVAL, "usage: pcactl cert import "
					       "FILE|DIR");
	memset(&m, 0, sizeof(m));
	m.ap = ap;
	if (stat(argv[0], &sb) != 0)
		return pca_err_set(PCA_EIO, "%.300s: no such file", argv[0]);
	err =
	    S_ISDIR(sb.st_mode) ? imp_dir(&m, argv[0]) : imp_file(&m, argv[0]);
	if (err != PCA_OK)
		return err;
	if (json_out)
		return print_json_new(
		    json_pack("{s:I,s:I,s:I}", "Ours", (json_int_t)m.st.ours,
			"External", (json_int_t)m.st.external, "NewExternal",
			(json_int_t)m.st.new_external));
	printf("imported: %zu of ours, %zu external (%zu new)\n", m.st.ours,
	    m.st.external, m.st.new_external);
	return PCA_OK;
}

/* ---- cert list --external ---- */

struct ext_list {
	json_t *items;
	int64_t now;
	const char *status;
	const char *name;
	int has_before;
	int64_t before;
};

static int
ext_keep(const struct ext_list *l, json_t *it)
{
	const char *subj = json_string_value(json_object_get(it, "Subject"));

	if (l->status != NULL &&
	    strcmp(l->status,
		json_string_value(json_object_get(it, "Status"))) != 0)
		return 0;
	if (l->has_before &&
	    json_integer_value(json_object_get(it, "NotAfter")) >= l->before)
		return 0;
	return l->name == NULL || (subj && strcasestr(subj, l->name));
}

static int
ext_add(const struct disc_ext *e, void *arg)
{
	struct ext_list *l = arg;
	json_t *it = disc_ext_item(e, l->now);

	if (it != NULL && ext_keep(l, it))
		(void)json_array_append(l->items, it);
	json_decref(it);
	return 0;
}

pca_err
pcactl_cert_list_external(struct appliance *ap, int argc, char **argv)
{
	static const char *const known[] = {"--status", "--subject",
	    "--expiring-days", NULL};
	struct ext_list l;
	const char *days;
	long long d;
	json_t *it;
	size_t i;
	pca_err err;

	if ((err = opts_check(argc, argv, known, 0, NULL)) != PCA_OK)
		return err;
	memset(&l, 0, sizeof(l));
	l.now = util_now();
	l.status = opt_value(argc, argv, "--status");
	l.name = opt_value(argc, argv, "--subject");
	if ((days = opt_value(argc, argv, "--expiring-days")) != NULL) {
		if (util_strtonum(days, 0, 36500, &d) != PCA_OK)
			return err = PCA_EINVAL;
		l.has_before = 1;
		l.before = l.now + d * 86400;
	}
	if (l.status != NULL && strcmp(l.status, "ISSUED") &&
	    strcmp(l.status, "EXPIRED"))
		return pca_err_set(PCA_EINVAL,
		    "--status of external "
		    "certificates is ISSUED or EXPIRED");
	if ((l.items = json_array()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	if ((err = disc_ext_foreach(ap->store, ext_add, &l)) != PCA_OK) {
		json_decref(l.items);
		return err;
	}
	if (json_out)
		return print_json_new(
		    json_pack("{s:o}", "Certificates", l.items));
	json_array_foreach (l.items, i, it)
		printf("%.16s\t%s\t%s\t%s\n",
		    json_string_value(json_object_get(it, "Fingerprint")),
		    json_string_value(json_object_get(it, "Status")),
		    json_string_value(json_object_get(it, "Subject")),
		    json_string_value(json_object_get(
			json_array_get(json_object_get(it, "SeenAt"), 0),
			"where"))
			?: "-");
	json_decref(l.items);
	return PCA_OK;
}

void
pcactl_seen_add(struct appliance *ap, const char *cert_arn, json_t *o)
{
	const char *ca = strstr(cert_arn, ":certificate-authority/");
	const char *serial = strrchr(cert_arn, '/');
	char id[37];
	json_t *eps = NULL;

	if (ca == NULL || serial == NULL)
		return;
	ca += strlen(":certificate-authority/");
	if (strlen(ca) < 36)
		return;
	memcpy(id, ca, 36);
	id[36] = '\0';
	if (disc_ours_seen(ap->store, id, serial + 1, &eps) == PCA_OK)
		(void)json_object_set_new(o, "SeenAt", eps);
	pca_err_clear(); /* no record: nothing seen */
}
