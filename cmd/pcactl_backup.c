/*
 * pcactl_backup.c - "pcactl backup" and "pcactl restore".
 *
 * A backup is one tar archive (pax, written with libarchive, so `tar tvf`
 * reads it) holding, in this order:
 *   manifest.json  what the backup holds: id, time, the SHA-256 and size of
 *                  every other part, the audit-chain head, every CA (ARN,
 *                  status, key label, SHA-256 of its public key, CRL
 *                  number, certificates) - described in docs/backup.md
 *   data.mdb       the LMDB store, a compacted copy taken inside one read
 *                  transaction (pcad keeps issuing meanwhile)
 *   pcad.conf      the configuration
 *   policies       the [policy] file, when one is configured
 *   tls-ca.pem, tls-ca.label, tls-server.pem
 *                  the API's TLS CA certificate, the token label of its
 *                  key and the server certificate (public parts only)
 * CA private keys are never in it: they stay in the token, whose own backup
 * is the vendor's.  Access-key secrets are in the store, sealed under a key
 * that never leaves the token.  PINs and the API TLS key are not in it.
 *
 * A restore lays out a new appliance directory from a backup, checks every
 * part against the manifest, and refuses a backup whose CA keys the token
 * does not hold (same public keys), removing what it made.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../sync/sync.h"
#include "appliance.h"
#include "pcactl.h"

#include "../backup/backup.h"

static const char *const bk_names[] = {"data.mdb", "pcad.conf", "policies",
    "tls-ca.pem", "tls-ca.label", "tls-server.pem", NULL};

static pca_err
ar_err(struct archive *a, const char *what)
{
	return pca_err_set(PCA_EIO, "%s: %s", what,
	    archive_error_string(a) ? archive_error_string(a) : "failed");
}

static pca_err
copy_file(const char *from, const char *to, mode_t mode, size_t max)
{
	uint8_t *p = NULL;
	size_t n;
	pca_err err;

	if ((err = util_file_read(from, max, &p, &n)) != PCA_OK)
		return err;
	err = util_file_write(to, p, n, mode, 1);
	OPENSSL_cleanse(p, n);
	free(p);
	return err;
}

static void
s3_conf_of(const struct appliance_conf *ac, struct sync_conf *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->endpoint = ac->s3_endpoint;
	sc->region = ac->s3_region;
	sc->path_style = ac->s3_path_style;
	sc->credentials_file = ac->s3_credentials_file;
	sc->timeout_s = ac->s3_timeout_s;
}

static const char *
tmp_dir(void)
{
	const char *t = getenv("TMPDIR");

	return t != NULL && *t ? t : "/tmp";
}

static void
print_summary(const char *verb, const json_t *m, const char *where)
{
	if (json_out) {
		json_t *o = json_pack("{s:s,s:O,s:O,s:I,s:O,s:O,s:s?}",
		    "Result", verb, "BackupId", json_object_get(m, "BackupId"),
		    "CreatedAt", json_object_get(m, "CreatedAt"),
		    "CertificateAuthorities",
		    (json_int_t)json_array_size(
			json_object_get(m, "CertificateAuthorities")),
		    "Certificates", json_object_get(m, "Certificates"), "Audit",
		    json_object_get(m, "Audit"), "Location", where);
		if (print_json_new(o) != PCA_OK)
			fprintf(stderr, "pcactl: %s\n", pca_err_msg());
		return;
	}
	printf("%s %s (%s): %zu CAs, %lld certificates, audit sequence %lld"
	       "%s%s\n",
	    verb, json_string_value(json_object_get(m, "BackupId")),
	    json_string_value(json_object_get(m, "CreatedAt")),
	    json_array_size(json_object_get(m, "CertificateAuthorities")),
	    (long long)json_integer_value(json_object_get(m, "Certificates")),
	    (long long)json_integer_value(
		json_object_get(json_object_get(m, "Audit"), "Sequence")),
	    where ? " -> " : "", where ? where : "");
}

/* rate_mb < 0: [backup] rate_mb of the configuration. */
static pca_err
cmd_backup_to(const char *config_path, const char *where, long long rate_mb)
{
	struct appliance_conf ac;
	struct sync_conf sc;
	struct bk_conf bc;
	struct store *st = NULL;
	struct bk_s3 s3;
	struct bk_archive b;
	char file[PATH_MAX], url[PATH_MAX + 80];
	pca_err err;

	memset(&b, 0, sizeof(b));
	memset(&s3, 0, sizeof(s3));
	(void)snprintf(file, sizeof(file), "%s", where);
	if ((err = appliance_conf_load(config_path, &ac)) != PCA_OK)
		return err;
	if (bk_is_s3(where)) {
		s3_conf_of(&ac, &sc);
		if ((err = bk_s3_open(where, &sc, &s3)) != PCA_OK)
			goto out;
		if (snprintf(file, sizeof(file), "%s/openpca-backup.%ld.tar",
			tmp_dir(), (long)getpid()) >= (int)sizeof(file)) {
			err = pca_err_set(PCA_EINVAL, "TMPDIR too long");
			goto out;
		}
		(void)unlink(file);
	} else if (access(file, F_OK) == 0) {
		err = pca_err_set(PCA_EEXISTS,
		    "%s exists: refusing to "
		    "overwrite it",
		    file);
		goto out;
	}
	appliance_backup_conf(&ac, config_path, &bc);
	if (rate_mb >= 0)
		bc.rate = (uint64_t)rate_mb << 20;
	if ((err = store_open(&ac.store, &st)) != PCA_OK ||
	    (err = bk_make(&bc, st, file, &b)) != PCA_OK)
		goto out;
	store_close(st);
	st = NULL;
	if (s3.sync != NULL) {
		if ((err = bk_s3_backup_key(&s3, b.manifest)) != PCA_OK ||
		    (err = bk_s3_upload(&s3, file, &b)) != PCA_OK)
			goto out;
		(void)snprintf(url, sizeof(url), "s3://%s/%s", s3.bucket,
		    s3.key);
		print_summary("backup", b.manifest, url);
	} else
		print_summary("backup", b.manifest, file);
out:
	store_close(st);
	if (s3.sync != NULL) {
		(void)unlink(file);
		sync_free(s3.sync);
	}
	bk_free(&b);
	appliance_conf_free(&ac);
	return err;
}

/* ---- reading a backup back: every part checked against the manifest ---- */

static const json_t *
manifest_part(const json_t *m, const char *name)
{
	const json_t *p;
	size_t i;

	json_array_foreach (json_object_get(m, "Parts"), i, p)
		if (strcmp(json_string_value(json_object_get(p, "Name")) ?: "",
			name) == 0)
			return p;
	return NULL;
}

static pca_err
manifest_check(const json_t *m)
{
	const json_t *p;
	const char *name, *sha;
	size_t i, j;

	if (!json_is_object(m) ||
	    strcmp(json_string_value(json_object_get(m, "Format")) ?: "",
		BK_FORMAT) != 0)
		return pca_err_set(PCA_EPARSE,
		    "not an OpenPCA backup "
		    "(manifest Format is not %s)",
		    BK_FORMAT);
	if (json_integer_value(json_object_get(m, "Version")) != BK_VERSION)
		return pca_err_set(PCA_EPARSE,
		    "backup format version %lld is "
		    "not supported (this pcactl reads %d)",
		    (long long)json_integer_value(
			json_object_get(m, "Version")),
		    BK_VERSION);
	if (json_integer_value(json_object_get(m, "StoreSchema")) >
	    STORE_SCHEMA_VERSION)
		return pca_err_set(PCA_EPARSE,
		    "backup store schema %lld is "
		    "newer than this pcactl's (%d)",
		    (long long)json_integer_value(
			json_object_get(m, "StoreSchema")),
		    STORE_SCHEMA_VERSION);
	if (!json_is_array(json_object_get(m, "Parts")) ||
	    manifest_part(m, "data.mdb") == NULL ||
	    manifest_part(m, "pcad.conf") == NULL)
		return pca_err_set(PCA_EPARSE, "backup manifest lacks its "
					       "data.mdb or pcad.conf part");
	json_array_foreach (json_object_get(m, "Parts"), i, p) {
		name = json_string_value(json_object_get(p, "Name"));
		sha = json_string_value(json_object_get(p, "Sha256"));
		for (j = 0; name != NULL && bk_names[j] != NULL; j++)
			if (strcmp(name, bk_names[j]) == 0)
				break;
		if (name == NULL || bk_names[j] == NULL || sha == NULL ||
		    strlen(sha) != 64 || manifest_part(m, name) != p ||
		    !json_is_integer(json_object_get(p, "Size")))
			return pca_err_set(PCA_EPARSE,
			    "backup manifest: "
			    "part %zu is not valid",
			    i);
	}
	return PCA_OK;
}

/* Streams the current entry to dir/name, checking size and hash. */
static pca_err
extract_part(struct archive *a, const json_t *p, const char *dir,
    struct bk_part *out)
{
	const char *name = json_string_value(json_object_get(p, "Name"));
	uint64_t want =
	    (uint64_t)json_integer_value(json_object_get(p, "Size"));
	uint8_t buf[BK_CHUNK];
	la_ssize_t n;
	int fd;
	pca_err err = PCA_OK;

	(void)snprintf(out->name, sizeof(out->name), "%s", name);
	if ((err = bk_path_fmt(out->path, dir, name)) != PCA_OK)
		return err;
	if ((fd = open(out->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		 0600)) < 0)
		return pca_err_set(PCA_EIO, "%s: %s", out->path,
		    strerror(errno));
	out->size = 0;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		out->size += (uint64_t)n;
		if (out->size > want ||
		    write(fd, buf, (size_t)n) != (ssize_t)n) {
			err = out->size > want
				  ? pca_err_set(PCA_EPARSE,
					"backup part %s is longer than its "
					"manifest says",
					name)
				  : pca_err_set(PCA_EIO, "%s: %s", out->path,
					strerror(errno));
			break;
		}
	}
	if (err == PCA_OK && n < 0)
		err = ar_err(a, name);
	if (err == PCA_OK && fsync(fd) != 0)
		err =
		    pca_err_set(PCA_EIO, "%s: %s", out->path, strerror(errno));
	close(fd);
	if (err == PCA_OK)
		err = bk_file_hash(out->path, out->sha256, &out->size);
	if (err == PCA_OK &&
	    (out->size != want ||
		strcmp(out->sha256,
		    json_string_value(json_object_get(p, "Sha256"))) != 0))
		err = pca_err_set(PCA_EPARSE,
		    "backup part %s does not match "
		    "its manifest (SHA-256 or size differs): the backup is "
		    "damaged",
		    name);
	return err;
}

static pca_err
read_manifest(struct archive *a, json_t **out)
{
	struct archive_entry *e;
	char *text = NULL;
	la_ssize_t n;
	la_int64_t size;
	json_error_t je;
	pca_err err = PCA_OK;

	if (archive_read_next_header(a, &e) != ARCHIVE_OK)
		return ar_err(a, "backup");
	size = archive_entry_size(e);
	if (strcmp(archive_entry_pathname(e) ?: "", BK_MANIFEST) != 0 ||
	    size <= 0 || (size_t)size > BK_SMALL_MAX)
		return pca_err_set(PCA_EPARSE,
		    "not an OpenPCA backup (its "
		    "first entry is not a %s of at most %zu bytes)",
		    BK_MANIFEST, BK_SMALL_MAX);
	if ((text = malloc((size_t)size + 1)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((n = archive_read_data(a, text, (size_t)size)) != size)
		err = ar_err(a, BK_MANIFEST);
	else {
		text[size] = '\0';
		if ((*out = json_loads(text, JSON_REJECT_DUPLICATES, &je)) ==
		    NULL)
			err = pca_err_set(PCA_EPARSE,
			    "backup manifest: %s "
			    "(line %d)",
			    je.text, je.line);
	}
	free(text);
	if (err == PCA_OK && (err = manifest_check(*out)) != PCA_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

/* Reads FILE into b (manifest + parts in b->tmp, created under parent). */
static pca_err
backup_read(const char *file, const char *parent, struct bk_archive *b)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	const json_t *p;
	const char *name;
	size_t i;
	int rc;
	pca_err err;

	if (a == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if (snprintf(b->tmp, sizeof(b->tmp), "%s/.pcactl-restore.XXXXXX",
		parent) >= (int)sizeof(b->tmp) ||
	    mkdtemp(b->tmp) == NULL) {
		b->tmp[0] = '\0';
		err = pca_err_set(PCA_EIO, "cannot write in %s: %s", parent,
		    strerror(errno));
		goto out;
	}
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_filename(a, file, BK_CHUNK) != ARCHIVE_OK) {
		err = ar_err(a, file);
		goto out;
	}
	if ((err = read_manifest(a, &b->manifest)) != PCA_OK)
		goto out;
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		name = archive_entry_pathname(e) ?: "";
		p = manifest_part(b->manifest, name);
		for (i = 0; i < b->nparts; i++)
			if (strcmp(b->part[i].name, name) == 0)
				p = NULL;
		if (p == NULL || archive_entry_filetype(e) != AE_IFREG) {
			err = pca_err_set(PCA_EPARSE,
			    "backup entry '%.64s' is "
			    "not in its manifest (or appears twice)",
			    name);
			goto out;
		}
		if ((err = extract_part(a, p, b->tmp, &b->part[b->nparts])) !=
		    PCA_OK)
			goto out;
		b->nparts++;
	}
	if (rc != ARCHIVE_EOF) {
		err = ar_err(a, file);
		goto out;
	}
	if (b->nparts != json_array_size(json_object_get(b->manifest, "Parts")))
		err = pca_err_set(PCA_EPARSE,
		    "backup is truncated: %zu of its "
		    "%zu parts are present",
		    b->nparts,
		    json_array_size(json_object_get(b->manifest, "Parts")));
out:
	archive_read_free(a);
	return err;
}

static const struct bk_part *
bk_part_get(const struct bk_archive *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nparts; i++)
		if (strcmp(b->part[i].name, name) == 0)
			return &b->part[i];
	return NULL;
}

static void
note_problem(const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "problem: %s\n", msg);
}

/* The extracted store: audit head as the manifest says, verifies clean. */
static pca_err
store_check(const struct bk_archive *b, const char *dir)
{
	struct store_conf sc = {0};
	struct store_verify_report rep;
	struct store *st = NULL;
	const json_t *au = json_object_get(b->manifest, "Audit");
	uint8_t head[32];
	uint64_t seq;
	char hex[65];
	pca_err err;

	sc.path = dir;
	sc.read_only = 1;
	memset(&rep, 0, sizeof(rep));
	if ((err = store_open(&sc, &st)) != PCA_OK ||
	    (err = store_audit_head(st, &seq, head)) != PCA_OK)
		goto out;
	util_hex(head, sizeof(head), hex, sizeof(hex), 0);
	if ((json_int_t)seq !=
		json_integer_value(json_object_get(au, "Sequence")) ||
	    strcmp(hex, json_string_value(json_object_get(au, "HeadSha256"))
			    ?: "") != 0) {
		err = pca_err_set(PCA_EPARSE,
		    "backup store's audit head "
		    "(sequence %llu) is not the manifest's",
		    (unsigned long long)seq);
		goto out;
	}
	if ((err = store_verify(st, &rep, note_problem, NULL, NULL)) ==
		PCA_OK &&
	    rep.errors > 0)
		err = pca_err_set(PCA_EDB,
		    "backup store verification found "
		    "%zu problems",
		    rep.errors);
out:
	store_close(st);
	return err;
}

/*
 * Makes src a local file: an s3:// URL is fetched (with the [s3] settings
 * of sc) into tmp/backup.tar; a path is used as it is.
 */
static pca_err
backup_local(const char *src, const struct sync_conf *sc, const char *tmp,
    char *out)
{
	struct bk_s3 s3;
	pca_err err;

	if (!bk_is_s3(src)) {
		(void)snprintf(out, PATH_MAX, "%s", src);
		if (access(src, R_OK) != 0)
			return pca_err_set(PCA_EIO, "%s: %s", src,
			    strerror(errno));
		return PCA_OK;
	}
	memset(&s3, 0, sizeof(s3));
	if ((err = bk_s3_open(src, sc, &s3)) == PCA_OK &&
	    (err = bk_path_fmt(out, tmp, "backup.tar")) == PCA_OK)
		err = bk_s3_fetch(&s3, out);
	sync_free(s3.sync);
	return err;
}

static pca_err
cmd_backup_verify(const char *config_path, const char *src)
{
	struct appliance_conf ac;
	struct sync_conf sc;
	struct bk_archive b;
	char dl[PATH_MAX] = "", file[PATH_MAX];
	int conf_ok = 0;
	pca_err err = PCA_OK;

	memset(&b, 0, sizeof(b));
	memset(&sc, 0, sizeof(sc));
	if (bk_is_s3(src)) {
		if ((err = appliance_conf_load(config_path, &ac)) != PCA_OK)
			return err;
		conf_ok = 1;
		s3_conf_of(&ac, &sc);
		if (snprintf(dl, sizeof(dl), "%s/.pcactl-fetch.XXXXXX",
			tmp_dir()) >= (int)sizeof(dl) ||
		    mkdtemp(dl) == NULL) {
			dl[0] = '\0';
			err = pca_err_set(PCA_EIO, "mkdtemp: %s",
			    strerror(errno));
		}
	}
	if (err == PCA_OK &&
	    (err = backup_local(src, &sc, dl, file)) == PCA_OK &&
	    (err = backup_read(file, tmp_dir(), &b)) == PCA_OK &&
	    (err = store_check(&b, b.tmp)) == PCA_OK)
		print_summary("backup verified:", b.manifest, NULL);
	bk_free(&b);
	bk_rm_tree(dl);
	if (conf_ok)
		appliance_conf_free(&ac);
	return err;
}

/* ---- pcactl restore FILE DIR ---- */

struct restore_opts {
	const char *file;
	const char *dir;
	const char *pin_file;
	const char *module_env;
	const char *tls_cert;
	const char *tls_key;
	const char *s3_endpoint;
	const char *s3_region;
	const char *s3_credentials;
	const char *replay_feed;    /* s3://bucket/prefix */
	const struct sync_conf *sc; /* the --s3-* options */
};

/*
 * The config text with "key = value" set in [sect] (replacing the line
 * that sets it, or added at the top of the section).  Caller frees.
 */
static int
conf_line_is(const char *p, const char *key)
{
	size_t kl = strlen(key);

	return strncmp(p, key, kl) == 0 && strchr(" \t=", p[kl]) != NULL;
}

static char *
conf_line_set(const char *text, const char *sect, const char *key,
    const char *value)
{
	struct buf o;
	const char *p, *nl;
	char hdr[64];
	int pass, in, has = 0, done = 0;

	(void)snprintf(hdr, sizeof(hdr), "[%s]", sect);
	buf_init(&o, BK_SMALL_MAX);
	/* pass 0: does [sect] set key?  pass 1: copy, replacing or adding */
	for (pass = 0; pass < 2; pass++)
		for (in = 0, p = text; *p; p = nl) {
			nl = strchr(p, '\n');
			nl = nl ? nl + 1 : p + strlen(p);
			if (p[0] == '[')
				in = strncmp(p, hdr, strlen(hdr)) == 0;
			if (pass == 0) {
				has |= in && conf_line_is(p, key);
				continue;
			}
			if (in && has && conf_line_is(p, key)) {
				if (buf_printf(&o, "%s = %s\n", key, value))
					goto fail;
				done = 1;
				continue;
			}
			if (buf_add(&o, p, (size_t)(nl - p)) != PCA_OK)
				goto fail;
			if (in && !has && !done && p[0] == '[') {
				if (buf_printf(&o, "%s = %s\n", key, value))
					goto fail;
				done = 1;
			}
		}
	if (!done &&
	    buf_printf(&o, "\n%s\n%s = %s\n", hdr, key, value) != PCA_OK)
		goto fail;
	if (buf_nul(&o) != PCA_OK)
		goto fail;
	return (char *)o.p;
fail:
	buf_free(&o);
	return NULL;
}

static int
inside(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/' &&
	       strstr(path + n, "/../") == NULL;
}

static pca_err
mkdirs(const char *dir, const char *path)
{
	char p[PATH_MAX], *s;

	(void)snprintf(p, sizeof(p), "%s", path);
	for (s = p + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return pca_err_set(PCA_EIO, "mkdir %s: %s", p,
			    strerror(errno));
		*s = '/';
	}
	return PCA_OK;
}

/* Places a file of the restored appliance at path (inside dir). */
static pca_err
place(const char *dir, const char *what, const char *from, const char *path,
    mode_t mode)
{
	pca_err err;

	if (!inside(dir, path))
		return pca_err_set(PCA_EINVAL,
		    "the backup's %s (%s) is outside "
		    "%s: edit pcad.conf to a relative path first",
		    what, path, dir);
	if ((err = mkdirs(dir, path)) != PCA_OK)
		return err;
	return copy_file(from, path, mode, BK_SMALL_MAX);
}

static pca_err
restore_conf(const struct restore_opts *o, const struct bk_archive *b)
{
	const struct bk_part *cp = bk_part_get(b, "pcad.conf");
	char path[PATH_MAX], *text = NULL, *edited = NULL;
	size_t len;
	pca_err err;

	if ((err = bk_path_fmt(path, o->dir, "pcad.conf")) != PCA_OK ||
	    (err = util_file_read(cp->path, BK_SMALL_MAX, (uint8_t **)&text,
		 &len)) != PCA_OK)
		return err;
	if (o->module_env != NULL && (edited = conf_line_set(text, "hsm",
					  "module_env", o->module_env)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	if (err == PCA_OK)
		err = util_file_write(path, edited ? edited : text,
		    strlen(edited ? edited : text), 0600, 1);
	free(text);
	free(edited);
	return err;
}

/*
 * The API's TLS files: the operator's (--tls-cert/--tls-key); or the
 * appliance's TLS CA from the backup, whose key is in the token, and a
 * new server key and certificate from it once the token is open (*tls =
 * TLS_RENEW); or a new TLS CA then (*tls = TLS_NEW).
 */
enum restore_tls { TLS_GIVEN, TLS_RENEW, TLS_NEW };

static pca_err
restore_tls_files(const struct restore_opts *o, const struct bk_archive *b,
    const struct appliance_conf *ac, enum restore_tls *tls)
{
	const struct bk_part *ca = bk_part_get(b, "tls-ca.pem");
	const struct bk_part *lb = bk_part_get(b, "tls-ca.label");
	const struct bk_part *sv = bk_part_get(b, "tls-server.pem");
	char p[PATH_MAX];
	pca_err err;

	if (o->tls_cert != NULL) {
		*tls = TLS_GIVEN;
		return (err = place(o->dir, "[api] tls_cert", o->tls_cert,
			    ac->api_tls_cert, 0644)) != PCA_OK
			   ? err
			   : place(o->dir, "[api] tls_key", o->tls_key,
				 ac->api_tls_key, 0600);
	}
	*tls = TLS_NEW;
	if (ca == NULL || lb == NULL || sv == NULL)
		return PCA_OK;
	*tls = TLS_RENEW;
	if ((err = bk_path_fmt(p, o->dir, "tls/ca.pem")) != PCA_OK ||
	    (err = place(o->dir, "TLS CA", ca->path, p, 0644)) != PCA_OK ||
	    (err = bk_path_fmt(p, o->dir, "tls/ca.label")) != PCA_OK ||
	    (err = place(o->dir, "TLS CA label", lb->path, p, 0644)) != PCA_OK)
		return err;
	return place(o->dir, "[api] tls_cert", sv->path, ac->api_tls_cert,
	    0644);
}

static pca_err
restore_files(const struct restore_opts *o, const struct bk_archive *b,
    const struct appliance_conf *ac, enum restore_tls *tls)
{
	const struct bk_part *pp = bk_part_get(b, "policies");
	char data[PATH_MAX];
	pca_err err;

	if (!inside(o->dir, ac->store_path))
		return pca_err_set(PCA_EINVAL,
		    "the backup's [store] path (%s) "
		    "is outside %s: edit pcad.conf to a relative path first",
		    ac->store_path, o->dir);
	if ((err = mkdirs(o->dir, ac->store_path)) != PCA_OK)
		return err;
	if (mkdir(ac->store_path, 0700) != 0)
		return pca_err_set(PCA_EIO, "mkdir %s: %s", ac->store_path,
		    strerror(errno));
	if ((err = bk_path_fmt(data, ac->store_path, "data.mdb")) != PCA_OK)
		return err;
	if (rename(bk_part_get(b, "data.mdb")->path, data) != 0)
		return pca_err_set(PCA_EIO, "%s: %s", data, strerror(errno));
	if (pp != NULL && ac->policy_file != NULL &&
	    (err = place(o->dir, "[policy] file", pp->path, ac->policy_file,
		 0600)) != PCA_OK)
		return err;
	if (ac->hsm_pin_file != NULL) {
		if (o->pin_file == NULL)
			return pca_err_set(PCA_EINVAL,
			    "the backup's pcad.conf "
			    "reads the PIN from a file: give it with "
			    "--pin-file FILE");
		if ((err = place(o->dir, "[hsm] pin_file", o->pin_file,
			 ac->hsm_pin_file, 0600)) != PCA_OK)
			return err;
	}
	/* the S3 credentials given for the restore serve the appliance */
	if (o->s3_credentials != NULL && ac->s3_credentials_file != NULL &&
	    access(ac->s3_credentials_file, F_OK) != 0 &&
	    inside(o->dir, ac->s3_credentials_file) &&
	    (err = place(o->dir, "[s3] credentials_file", o->s3_credentials,
		 ac->s3_credentials_file, 0600)) != PCA_OK)
		return err;
	return restore_tls_files(o, b, ac, tls);
}

/* Every live CA's key is in the token, with the recorded public key. */
static pca_err
token_check(struct appliance *ap)
{
	char(*ids)[37] = NULL;
	struct ca_info ci;
	uint8_t *spki = NULL;
	size_t i, n = 0, len;
	pca_err err;

	if ((err = ca_info_ids(ap->engine, &ids, &n)) != PCA_OK)
		return err;
	for (i = 0; i < n && err == PCA_OK; i++) {
		if ((err = ca_info_get(ap->engine, ids[i], &ci)) != PCA_OK)
			break;
		if (strcmp(ci.status, "DELETED") != 0 &&
		    strcmp(ci.status, "FAILED") != 0 && ci.spki != NULL) {
			if (hsm_key_spki(ap->hsm, ci.key_label, &spki, &len) !=
				PCA_OK ||
			    len != ci.spki_len ||
			    memcmp(spki, ci.spki, len) != 0)
				err = pca_err_set(PCA_EKEYMISMATCH,
				    "the token "
				    "does not hold the key of CA %s (label %s, "
				    "or its public key differs): this backup "
				    "does not belong to this token",
				    ci.arn, ci.key_label);
			free(spki);
			spki = NULL;
		}
		ca_info_clear(&ci);
	}
	free(ids);
	return err;
}

static pca_err
replay(const struct restore_opts *o, const json_t *m, struct store *st)
{
	struct bk_replay_stats r;
	struct bk_s3 s3;
	char text[512];
	uint64_t from, last = 0, seq, shipped = 0;
	pca_err err;

	memset(&r, 0, sizeof(r));
	memset(&s3, 0, sizeof(s3));
	from = (uint64_t)json_integer_value(
	    json_object_get(json_object_get(m, "ChangeFeed"), "Sequence"));
	if ((err = bk_s3_open(o->replay_feed, o->sc, &s3)) != PCA_OK)
		return err;
	/*
	 * The replayed changes get sequences after every shipped one, and
	 * the shipper resumes there: it ships them again (replaying twice
	 * changes nothing), then what comes next, so the shipped feed stays
	 * one unbroken sequence.
	 */
	if ((err = bk_feed_last(&s3, &shipped)) != PCA_OK ||
	    (err = store_feed_advance(st, shipped)) != PCA_OK ||
	    (shipped > 0 &&
		(err = store_feed_ack(st, BK_FEED_NAME, shipped)) != PCA_OK))
		goto out;
	if ((err = bk_replay(st, &s3, from, &r, &last)) != PCA_OK ||
	    (err = bk_standby_applied_set(st, last)) != PCA_OK ||
	    (err = bk_crl_numbers_raise(st, s3.sync)) != PCA_OK)
		goto out;
	(void)snprintf(text, sizeof(text),
	    "op=RestoreReplay restored from %s "
	    "up to %llu (feed %s: %zu certificates, %zu revocations, %zu CA "
	    "changes, %zu CAs purged, %zu skipped)",
	    json_string_value(json_object_get(m, "BackupId")),
	    (unsigned long long)last, o->replay_feed, r.issued, r.revoked,
	    r.cas, r.purged, r.skipped);
	if ((err = store_audit_append(st, util_now(), text, &seq)) != PCA_OK)
		goto out;
	if (!json_out)
		printf("replayed the change feed %llu..%llu from %s: %zu "
		       "certificates, %zu revocations, %zu CA changes\n",
		    (unsigned long long)from + 1, (unsigned long long)last,
		    o->replay_feed, r.issued, r.revoked, r.cas);
out:
	sync_free(s3.sync);
	return err;
}

/* ---- store verify --against-s3 ---- */

#define KEY_LEN (36 + 1 + 2 * LIM_SERIAL_BYTES + 1)

struct against {
	char (*k)[KEY_LEN]; /* "caid:serialhex" of shipped certificates */
	size_t n, cap;
	int64_t first, last; /* span of the shipped records (epoch s) */
	size_t missing, unshipped;
	int oom;
};

static void
cert_key(const char *ca, const uint8_t *sn, size_t len, char out[KEY_LEN])
{
	char hex[2 * LIM_SERIAL_BYTES + 1];

	util_hex(sn, len, hex, sizeof(hex), 0);
	(void)snprintf(out, KEY_LEN, "%s:%s", ca, hex);
}

static pca_err
against_cb(const struct bk_feed_rec *f, void *arg)
{
	struct against *a = arg;
	char(*t)[KEY_LEN];

	if (a->first == 0 || f->when < a->first)
		a->first = f->when;
	if (f->when > a->last)
		a->last = f->when;
	if (f->type != STORE_CHG_CERT_ISSUED || f->der == NULL)
		return PCA_OK;
	if (a->n == a->cap) {
		if ((t = realloc(a->k,
			 (a->cap ? 2 * a->cap : 1024) * sizeof(*t))) == NULL)
			return pca_err_set(PCA_ENOMEM, "no memory");
		a->k = t;
		a->cap = a->cap ? 2 * a->cap : 1024;
	}
	cert_key(f->ca_id, f->serial, f->serial_len, a->k[a->n++]);
	return PCA_OK;
}

static int
key_cmp(const void *x, const void *y)
{
	return strcmp(x, y);
}

static int
unshipped_cb(const struct store_cert *c, void *arg)
{
	struct against *a = arg;
	char k[KEY_LEN];

	if (c->state != STORE_CERT_ISSUED || c->issued_at < a->first ||
	    c->issued_at > a->last)
		return 0;
	cert_key(c->ca_id, c->serial, c->serial_len, k);
	if (bsearch(k, a->k, a->n, sizeof(*a->k), key_cmp) == NULL) {
		printf("not in the shipped feed: %s\n", k);
		a->unshipped++;
	}
	return 0;
}

pca_err
pcactl_store_against_s3(struct appliance *ap, const char *url)
{
	struct against a;
	struct sync_conf sc;
	struct store_cert c;
	struct bk_s3 s3;
	uint8_t sn[LIM_SERIAL_BYTES];
	size_t i, len;
	char *colon;
	pca_err err;

	memset(&a, 0, sizeof(a));
	memset(&s3, 0, sizeof(s3));
	s3_conf_of(&ap->conf, &sc);
	if ((err = bk_s3_open(url, &sc, &s3)) != PCA_OK)
		return err;
	if ((err = bk_feed_read(&s3, BK_FEED_FROM_FIRST, against_cb, &a,
		 NULL)) != PCA_OK)
		goto out;
	qsort(a.k, a.n, sizeof(*a.k), key_cmp);
	for (i = 0; i < a.n; i++) {
		colon = strchr(a.k[i], ':');
		*colon = '\0';
		if (util_unhex(colon + 1, sn, sizeof(sn), &len) == PCA_OK &&
		    (err = store_cert_get(ap->store, a.k[i], sn, len, &c)) ==
			PCA_OK)
			store_cert_clear(&c);
		else if (err == PCA_ENOTFOUND) {
			printf("missing from the store: %s:%s\n", a.k[i],
			    colon + 1);
			a.missing++;
		}
		*colon = ':';
		if (err != PCA_OK && err != PCA_ENOTFOUND)
			goto out;
	}
	err = PCA_OK;
	if (a.n > 0 && (err = store_cert_foreach(ap->store, NULL, unshipped_cb,
			    &a)) != PCA_OK)
		goto out;
	printf("against %s: %zu certificates shipped, %zu missing from the "
	       "store, %zu of the store's not shipped\n",
	    url, a.n, a.missing, a.unshipped);
	if (a.missing + a.unshipped > 0)
		err = pca_err_set(PCA_EMISMATCH,
		    "the store and the change "
		    "feed shipped to %s differ: %zu missing from the store, "
		    "%zu not shipped",
		    url, a.missing, a.unshipped);
out:
	free(a.k);
	sync_free(s3.sync);
	return err;
}

static pca_err
restore_open(const struct restore_opts *o, const struct bk_archive *b,
    enum restore_tls tls)
{
	struct appliance ap;
	const json_t *m = b->manifest;
	char conf[PATH_MAX], text[512], cfg[PATH_MAX + 256];
	uint64_t seq;
	pca_err err;

	if ((err = bk_path_fmt(conf, o->dir, "pcad.conf")) != PCA_OK ||
	    (err = appliance_open(conf, &ap)) != PCA_OK)
		return err;
	if ((err = token_check(&ap)) != PCA_OK)
		goto out;
	if (tls == TLS_RENEW && (err = pcactl_tls_renew(&ap, 0, 1)) != PCA_OK)
		goto out;
	if (tls == TLS_NEW &&
	    (err = pcactl_tls_init(o->dir, NULL, 0, ap.hsm)) != PCA_OK)
		goto out;
	(void)snprintf(text, sizeof(text),
	    "op=Restore backup=%s created=%s "
	    "audit_seq=%lld certificates=%lld",
	    json_string_value(json_object_get(m, "BackupId")),
	    json_string_value(json_object_get(m, "CreatedAt")),
	    (long long)json_integer_value(
		json_object_get(json_object_get(m, "Audit"), "Sequence")),
	    (long long)json_integer_value(json_object_get(m, "Certificates")));
	if ((err = store_audit_append(ap.store, util_now(), text, &seq)) !=
	    PCA_OK)
		goto out;
	if (o->replay_feed != NULL && (err = replay(o, m, ap.store)) != PCA_OK)
		goto out;
	(void)snprintf(cfg, sizeof(cfg),
	    "[default]\nregion = %s\n"
	    "ca_bundle = %s/tls/ca.pem\nendpoint_url = https://%s\n",
	    ap.conf.region, o->dir, ap.conf.api_listen);
	err = bk_path_fmt(conf, o->dir, "aws-config");
	if (err == PCA_OK)
		err = util_file_write(conf, cfg, strlen(cfg), 0644, 1);
out:
	appliance_close(&ap);
	return err;
}

static pca_err
restore_opts_parse(int argc, char **argv, struct restore_opts *o)
{
	int i;
	const char **v;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc; i++) {
		v = NULL;
		if (strcmp(argv[i], "--pin-file") == 0)
			v = &o->pin_file;
		else if (strcmp(argv[i], "--module-env") == 0)
			v = &o->module_env;
		else if (strcmp(argv[i], "--tls-cert") == 0)
			v = &o->tls_cert;
		else if (strcmp(argv[i], "--tls-key") == 0)
			v = &o->tls_key;
		else if (strcmp(argv[i], "--s3-endpoint") == 0)
			v = &o->s3_endpoint;
		else if (strcmp(argv[i], "--s3-region") == 0)
			v = &o->s3_region;
		else if (strcmp(argv[i], "--s3-credentials") == 0)
			v = &o->s3_credentials;
		else if (strcmp(argv[i], "--replay-feed") == 0)
			v = &o->replay_feed;
		else if (strncmp(argv[i], "--", 2) == 0)
			return pca_err_set(PCA_EINVAL, "unknown option '%s'",
			    argv[i]);
		else if (o->file == NULL)
			o->file = argv[i];
		else if (o->dir == NULL)
			o->dir = argv[i];
		else
			return pca_err_set(PCA_EINVAL,
			    "unexpected argument "
			    "'%s'",
			    argv[i]);
		if (v != NULL) {
			if (*v != NULL || i + 1 >= argc)
				return pca_err_set(PCA_EINVAL,
				    "%s needs one "
				    "value",
				    argv[i]);
			*v = argv[++i];
		}
	}
	if (o->file == NULL || o->dir == NULL)
		return pca_err_set(PCA_EINVAL,
		    "usage: pcactl restore BACKUP "
		    "DIR [--pin-file F] [--module-env NAME=VALUE] "
		    "[--tls-cert F --tls-key F] [--s3-endpoint URL "
		    "--s3-credentials F [--s3-region R]] [--replay-feed "
		    "s3://BUCKET/PREFIX]");
	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		return pca_err_set(PCA_EINVAL, "--tls-cert and --tls-key go "
					       "together");
	if (bk_is_s3(o->file) &&
	    (o->s3_endpoint == NULL || o->s3_credentials == NULL))
		return pca_err_set(PCA_EINVAL,
		    "a backup in S3 needs "
		    "--s3-endpoint URL and --s3-credentials FILE");
	if (o->replay_feed != NULL &&
	    (!bk_is_s3(o->replay_feed) || o->s3_endpoint == NULL ||
		o->s3_credentials == NULL))
		return pca_err_set(PCA_EINVAL,
		    "--replay-feed takes "
		    "s3://BUCKET/PREFIX and needs --s3-endpoint URL and "
		    "--s3-credentials FILE");
	if (o->module_env != NULL && strchr(o->module_env, '=') == NULL)
		return pca_err_set(PCA_EINVAL, "--module-env takes "
					       "NAME=VALUE");
	return PCA_OK;
}

/* DIR: made (absent) or adopted (empty); its real path into out. */
static pca_err
restore_dir(const char *dir, char *out, int *made)
{
	struct stat st;

	*made = 0;
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || mkdir(dir, 0700) != 0)
			return pca_err_set(PCA_EIO, "%s: %s", dir,
			    strerror(errno));
		*made = 1;
	} else if (!S_ISDIR(st.st_mode) || rmdir(dir) != 0 ||
		   mkdir(dir, 0700) != 0)
		return pca_err_set(PCA_EEXISTS,
		    "%s exists and is not an empty "
		    "directory: refusing to restore over it",
		    dir);
	if (realpath(dir, out) == NULL)
		return pca_err_set(PCA_EIO, "%s: %s", dir, strerror(errno));
	return PCA_OK;
}

static pca_err
cmd_restore(int argc, char **argv)
{
	struct restore_opts o;
	struct appliance_conf ac;
	enum restore_tls tls = TLS_NEW;
	struct sync_conf sc;
	struct bk_archive b;
	char dir[PATH_MAX], conf[PATH_MAX], msg[512], file[PATH_MAX];
	int made, conf_ok = 0;
	pca_err err;

	memset(&b, 0, sizeof(b));
	if ((err = restore_opts_parse(argc, argv, &o)) != PCA_OK)
		return err;
	if (!bk_is_s3(o.file) && access(o.file, R_OK) != 0)
		return pca_err_set(PCA_EIO, "%s: %s", o.file, strerror(errno));
	if ((err = restore_dir(o.dir, dir, &made)) != PCA_OK)
		return err;
	o.dir = dir;
	memset(&sc, 0, sizeof(sc));
	sc.endpoint = o.s3_endpoint;
	sc.region = o.s3_region ? o.s3_region : "us-east-1";
	sc.path_style = 1;
	sc.credentials_file = o.s3_credentials;
	o.sc = &sc;
	if ((err = backup_local(o.file, &sc, dir, file)) != PCA_OK ||
	    (err = backup_read(file, dir, &b)) != PCA_OK ||
	    (err = store_check(&b, b.tmp)) != PCA_OK ||
	    (err = restore_conf(&o, &b)) != PCA_OK ||
	    (err = bk_path_fmt(conf, dir, "pcad.conf")) != PCA_OK ||
	    (err = appliance_conf_load(conf, &ac)) != PCA_OK)
		goto out;
	conf_ok = 1;
	if ((err = restore_files(&o, &b, &ac, &tls)) != PCA_OK)
		goto out;
	bk_rm_tree(b.tmp);
	b.tmp[0] = '\0';
	if (bk_is_s3(o.file))
		(void)unlink(file);
	if ((err = restore_open(&o, &b, tls)) != PCA_OK)
		goto out;
	print_summary("restored backup", b.manifest, dir);
	if (!json_out)
		printf("start it with: pcad --config %s/pcad.conf\n"
		       "access keys are restored (sealed in the store); bring "
		       "your "
		       "own credentials file\n",
		    dir);
out:
	if (conf_ok)
		appliance_conf_free(&ac);
	if (err != PCA_OK) {
		(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
		bk_free(&b);
		bk_rm_tree(dir);
		if (!made)
			(void)mkdir(dir, 0700);
		return pca_err_set(err, "restore failed, nothing kept: %s",
		    msg);
	}
	bk_free(&b);
	return PCA_OK;
}

/* backup --to WHERE [--rate-mb N], in either order. */
static pca_err
backup_to_args(const char *config_path, int argc, char **argv)
{
	const char *to = NULL, *rate = NULL;
	long long mb = -1;
	int i;

	for (i = 0; i + 1 < argc && argc % 2 == 0; i += 2)
		if (strcmp(argv[i], "--to") == 0 && to == NULL)
			to = argv[i + 1];
		else if (strcmp(argv[i], "--rate-mb") == 0 && rate == NULL)
			rate = argv[i + 1];
		else
			break;
	if (to == NULL || i < argc)
		return pca_err_set(PCA_EINVAL,
		    "usage: pcactl backup --to "
		    "FILE|s3://BUCKET[/PREFIX] [--rate-mb N] | pcactl backup "
		    "verify FILE|s3://BUCKET/KEY");
	if (rate != NULL && util_strtonum(rate, 0, 1 << 20, &mb) != PCA_OK)
		return pca_err_set(PCA_EINVAL,
		    "--rate-mb %.32s: not a number "
		    "of MiB a second from 0 (no limit) to 1048576",
		    rate);
	return cmd_backup_to(config_path, to, mb);
}

int
pcactl_backup(const char *config_path, int argc, char **argv)
{
	pca_err err;

	if (argc == 2 && strcmp(argv[0], "verify") == 0)
		err = cmd_backup_verify(config_path, argv[1]);
	else
		err = backup_to_args(config_path, argc, argv);
	return err == PCA_OK ? 0 : pcactl_fail(err);
}

/* ---- pcactl promote [DIR] ---- */

#define PROMOTE_WAIT_S 60 /* for a running standby pcad to stop */

/*
 * The appliance's pcad.lock held by us: a running pcad (the standby) is
 * asked to stop (SIGTERM) and waited for.  *fd: the lock, held until
 * closed.
 */
static pca_err
promote_lock(const char *store_path, int *fd)
{
	char lp[PATH_MAX], pid[32];
	ssize_t n;
	long p;
	int i;

	if (snprintf(lp, sizeof(lp), "%s/pcad.lock", store_path) >=
	    (int)sizeof(lp))
		return pca_err_set(PCA_EINVAL, "[store] path too long");
	if ((*fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return pca_err_set(PCA_EIO, "%s: %s", lp, strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return PCA_OK;
	n = pread(*fd, pid, sizeof(pid) - 1, 0);
	pid[n > 0 ? n : 0] = '\0';
	if ((p = strtol(pid, NULL, 10)) <= 1 || kill((pid_t)p, SIGTERM) != 0)
		return pca_err_set(PCA_EBUSY,
		    "%s is locked by a pcad that "
		    "cannot be stopped (pid %s): stop it first",
		    lp, pid);
	for (i = 0; i < PROMOTE_WAIT_S * 10; i++) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return PCA_OK;
		(void)usleep(100000);
	}
	return pca_err_set(PCA_EBUSY,
	    "the standby pcad (pid %ld) did not "
	    "stop within %d s",
	    p, PROMOTE_WAIT_S);
}

struct promote {
	struct store *st;
	struct bk_s3 s3;
	struct bk_fence prev;
	uint64_t epoch, applied;
	struct bk_replay_stats n;
	char holder[BK_HOLDER_MAX];
};

/*
 * The new epoch first (an old primary stops shipping at its next check),
 * a grace for a shipment already under way, then the feed to its end,
 * CRL numbers above S3's, the feed lined up for shipping from here.
 */
static pca_err
promote_run(struct promote *pr, unsigned grace)
{
	uint64_t mine, seq;
	char text[768];
	pca_err err;

	if ((err = bk_fence_get(&pr->s3, &pr->prev)) != PCA_OK ||
	    (err = bk_fence_local(pr->st, &mine)) != PCA_OK)
		return err;
	pr->epoch = (pr->prev.epoch > mine ? pr->prev.epoch : mine) + 1;
	if ((err = bk_fence_take(&pr->s3, pr->epoch, pr->holder)) != PCA_OK ||
	    (err = bk_fence_local_set(pr->st, pr->epoch)) != PCA_OK)
		return err;
	if (grace > 0)
		(void)sleep(grace);
	if ((err = bk_standby_catch_up(pr->st, &pr->s3, &pr->n,
		 &pr->applied)) != PCA_OK ||
	    (err = bk_crl_numbers_raise(pr->st, pr->s3.sync)) != PCA_OK ||
	    (err = bk_feed_align(pr->st, &pr->s3)) != PCA_OK)
		return err;
	(void)snprintf(text, sizeof(text),
	    "op=Promote epoch=%llu holder=%s "
	    "previous=%s applied=%llu (%zu certificates, %zu revocations, %zu "
	    "CA changes in the catch-up)",
	    (unsigned long long)pr->epoch, pr->holder,
	    pr->prev.holder[0] ? pr->prev.holder : "-",
	    (unsigned long long)pr->applied, pr->n.issued, pr->n.revoked,
	    pr->n.cas);
	return store_audit_append(pr->st, util_now(), text, &seq);
}

static pca_err
cmd_promote(const char *config_path, int argc, char **argv)
{
	struct appliance_conf ac;
	struct sync_conf sc;
	struct promote pr;
	char conf[PATH_MAX];
	const char *dir = NULL, *path = config_path;
	long long grace = 3;
	int i, fd = -1;
	pca_err err;

	memset(&pr, 0, sizeof(pr));
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc &&
		    util_strtonum(argv[i + 1], 0, 300, &grace) == PCA_OK)
			i++;
		else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else
			return pca_err_set(PCA_EINVAL,
			    "usage: pcactl promote "
			    "[DIR] [--grace SECONDS (0-300)]");
	}
	if (dir != NULL) {
		if ((err = bk_path_fmt(conf, dir, "pcad.conf")) != PCA_OK)
			return err;
		path = conf;
	}
	if ((err = appliance_conf_load(path, &ac)) != PCA_OK)
		return err;
	if (ac.backup_to == NULL || !bk_is_s3(ac.backup_to) ||
	    ac.s3_endpoint == NULL) {
		err = pca_err_set(PCA_EINVAL,
		    "%s: promote needs [backup] to = "
		    "s3://BUCKET/PREFIX (the feed the standby follows) and "
		    "[s3] "
		    "endpoint",
		    path);
		goto out;
	}
	s3_conf_of(&ac, &sc);
	bk_holder_name(ac.api_listen, pr.holder, sizeof(pr.holder));
	if ((err = promote_lock(ac.store_path, &fd)) != PCA_OK ||
	    (err = bk_s3_open(ac.backup_to, &sc, &pr.s3)) != PCA_OK ||
	    (err = store_open(&ac.store, &pr.st)) != PCA_OK ||
	    (err = promote_run(&pr, (unsigned)grace)) != PCA_OK)
		goto out;
	if (json_out) {
		if ((err = print_json_new(json_pack("{s:s,s:I,s:s,s:I,s:I}",
			 "Result", "promoted", "Epoch", (json_int_t)pr.epoch,
			 "PreviousHolder", pr.prev.holder, "AppliedSequence",
			 (json_int_t)pr.applied, "CatchUpCertificates",
			 (json_int_t)pr.n.issued))) != PCA_OK)
			goto out;
	} else
		printf("promoted to primary: fencing epoch %llu (previous "
		       "holder: %s); the shipped feed applied up to %llu (%zu "
		       "certificates in the catch-up)\nstart it with: pcad "
		       "--config %s\n",
		    (unsigned long long)pr.epoch,
		    pr.prev.holder[0] ? pr.prev.holder : "none",
		    (unsigned long long)pr.applied, pr.n.issued, path);
out:
	store_close(pr.st);
	sync_free(pr.s3.sync);
	if (fd >= 0)
		close(fd); /* the lock goes with it */
	appliance_conf_free(&ac);
	return err;
}

int
pcactl_promote(const char *config_path, int argc, char **argv)
{
	pca_err err = cmd_promote(config_path, argc, argv);

	return err == PCA_OK ? 0 : pcactl_fail(err);
}

int
pcactl_restore(int argc, char **argv)
{
	pca_err err = cmd_restore(argc, argv);

	return err == PCA_OK ? 0 : pcactl_fail(err);
}
