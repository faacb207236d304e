/*
 * backup.c - writing a backup archive (pcactl backup, pcad's schedule) and
 * the S3 helpers both use.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../ca/ca.h"
#include "../common/util.h"
#include "../store/store.h"
#include "../sync/sync.h"
#include "backup.h"
#include "backup_int.h"

#define BK_SHRINK_STEP ((uint64_t)32 << 20)
#define BK_SHRINK_PAUSE_NS 5000000L

/* ---- small file helpers ---- */

pca_err
bk_path_fmt(char *out, const char *a, const char *b)
{
	if (snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX)
		return pca_err_set(PCA_EINVAL, "%s/%s: path too long", a, b);
	return PCA_OK;
}

/*
 * A large file (the store's copy) is cut down from its end a step at a
 * time before it goes: freeing a gigabyte of blocks in one unlink makes one
 * large journal commit (with online discard, a long one) that every fsync
 * of the store's commits then waits for (0.16 s at 1M certificates).
 */
static void
shrink(const char *path, off_t size)
{
	struct timespec pause = {0, BK_SHRINK_PAUSE_NS};
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	while (size > (off_t)BK_SHRINK_STEP) {
		size -= (off_t)BK_SHRINK_STEP;
		if (ftruncate(fd, size) != 0 || fdatasync(fd) != 0)
			break;
		(void)nanosleep(&pause, NULL);
	}
	close(fd);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)f;
	if (flag == FTW_F && S_ISREG(st->st_mode) &&
	    st->st_size > (off_t)BK_SHRINK_STEP)
		shrink(path, st->st_size);
	return remove(path);
}

void
bk_rm_tree(const char *path)
{
	if (path[0] != '\0')
		(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * SHA-256 (hex) and size of a file, streamed; read past the page cache
 * where the filesystem allows (a backup's gigabytes are read once).
 */
pca_err
bk_file_hash(const char *path, char hex[65], uint64_t *size)
{
	uint8_t md[32], *buf = NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	void *mem;
	ssize_t n;
	int fd = -1;
	pca_err err = PCA_OK;

	*size = 0;
	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    posix_memalign(&mem, BK_OUT_ALIGN, BK_COPY_CHUNK) != 0) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	buf = mem;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err = pca_err_set(PCA_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	(void)bk_direct(fd);
	while ((n = read(fd, buf, BK_COPY_CHUNK)) > 0 ||
	       (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		(void)EVP_DigestUpdate(c, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	if (n < 0) {
		err = pca_err_set(PCA_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	(void)EVP_DigestFinal_ex(c, md, NULL);
	util_hex(md, sizeof(md), hex, 65, 0);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	EVP_MD_CTX_free(c);
	return err;
}
/* A part whose SHA-256 (hex) and size are known (hex NULL: hashed here). */
static pca_err
part_set(struct bk_archive *b, const char *name, const char *path,
    const char *hex, uint64_t size)
{
	struct bk_part *p;

	if (b->nparts == BK_PARTS_MAX)
		return pca_err_set(PCA_ELIMIT, "too many backup parts");
	p = &b->part[b->nparts];
	(void)snprintf(p->name, sizeof(p->name), "%s", name);
	(void)snprintf(p->path, sizeof(p->path), "%s", path);
	if (hex != NULL) {
		(void)snprintf(p->sha256, sizeof(p->sha256), "%s", hex);
		p->size = size;
	} else if (bk_file_hash(path, p->sha256, &p->size) != PCA_OK)
		return PCA_EIO;
	b->nparts++;
	return PCA_OK;
}

pca_err
bk_part_add(struct bk_archive *b, const char *name, const char *path)
{
	return part_set(b, name, path, NULL, 0);
}

void
bk_free(struct bk_archive *b)
{
	bk_rm_tree(b->tmp);
	json_decref(b->manifest);
	memset(b, 0, sizeof(*b));
}
/* ---- what the copy holds ---- */

static pca_err
ca_entry(struct ca_engine *eng, struct store *st, const char *id, json_t *cas)
{
	struct ca_info ci;
	char name[64], hex[65];
	uint8_t md[32];
	uint64_t crlnum = 0;
	size_t certs = 0;
	pca_err err;

	if ((err = ca_info_get(eng, id, &ci)) != PCA_OK)
		return err;
	(void)snprintf(name, sizeof(name), "crlnum/%s", id);
	if (store_counter_get(st, name, &crlnum) != PCA_OK)
		crlnum = 0;
	if ((err = store_cert_count(st, id, &certs)) != PCA_OK)
		goto out;
	hex[0] = '\0';
	if (ci.spki != NULL &&
	    EVP_Digest(ci.spki, ci.spki_len, md, NULL, EVP_sha256(), NULL))
		util_hex(md, sizeof(md), hex, sizeof(hex), 0);
	if (json_array_append_new(cas,
		json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,"
			  "s:I}",
		    "Id", id, "Arn", ci.arn, "Status", ci.status, "KeyLabel",
		    ci.key_label, "PublicKeySha256", hex, "CrlNumber",
		    (json_int_t)crlnum, "Certificates", (json_int_t)certs)) !=
	    0)
		err = pca_err_set(PCA_ENOMEM, "no memory");
out:
	ca_info_clear(&ci);
	return err;
}

static int
feed_cb(const struct store_change *c, void *arg)
{
	(void)c;
	(void)arg;
	return 1;
}

/* Describes the copied store (opened read-only from dir) in m. */
static pca_err
describe_copy(const struct bk_conf *ac, const char *dir, json_t *m)
{
	struct store_conf sc = {0};
	struct store *st = NULL;
	struct ca_engine *eng = NULL;
	char(*ids)[37] = NULL, hex[65];
	uint8_t head[32];
	uint64_t seq = 0;
	size_t i, n = 0, certs = 0;
	struct store_feed_pos fp;
	json_t *cas = json_array();
	pca_err err;

	memset(&fp, 0, sizeof(fp));
	sc.path = dir;
	sc.read_only = 1;
	/*
	 * the copy is on disk only (written past the page cache): read what
	 * is needed of it, not megabytes around each page (read-ahead)
	 */
	sc.flags = STORE_NORDAHEAD;
	sc.map_max = ac->map_max;
	if ((err = store_open(&sc, &st)) != PCA_OK ||
	    (err = ca_engine_new(ac->engine, NULL, st, &eng)) != PCA_OK ||
	    (err = store_audit_head(st, &seq, head)) != PCA_OK ||
	    (err = store_cert_count(st, NULL, &certs)) != PCA_OK ||
	    (err = store_changes_after(st, 0, 1, feed_cb, NULL, &fp)) !=
		PCA_OK ||
	    (err = ca_info_ids(eng, &ids, &n)) != PCA_OK)
		goto out;
	for (i = 0; i < n && err == PCA_OK; i++)
		err = ca_entry(eng, st, ids[i], cas);
	if (err != PCA_OK)
		goto out;
	util_hex(head, sizeof(head), hex, sizeof(hex), 0);
	if (json_object_set_new(m, "StoreSchema",
		json_integer(STORE_SCHEMA_VERSION)) ||
	    json_object_set_new(m, "Audit",
		json_pack("{s:I,s:s}", "Sequence", (json_int_t)seq,
		    "HeadSha256", hex)) ||
	    json_object_set_new(m, "Certificates",
		json_integer((json_int_t)certs)) ||
	    json_object_set_new(m, "ChangeFeed",
		json_pack("{s:I}", "Sequence", (json_int_t)fp.head)) ||
	    json_object_set(m, "CertificateAuthorities", cas))
		err = pca_err_set(PCA_ENOMEM, "no memory");
out:
	free(ids);
	json_decref(cas);
	ca_engine_free(eng);
	store_close(st);
	return err;
}

/* ---- the archive ---- */

static pca_err
ar_err(struct archive *a, const char *what)
{
	return pca_err_set(PCA_EIO, "%s: %s", what,
	    archive_error_string(a) ? archive_error_string(a) : "failed");
}

/* The archive's own writer: paced, pushed out as it grows, not cached. */
static la_ssize_t
ar_write_cb(struct archive *a, void *arg, const void *p, size_t n)
{
	struct bk_out *o = arg;

	if (bk_out_write(o, p, n) != PCA_OK) {
		archive_set_error(a, EIO, "%s", pca_err_msg());
		return -1;
	}
	return (la_ssize_t)n;
}

static pca_err
ar_put(struct archive *a, const struct bk_part *p, const void *mem,
    uint64_t size, uint8_t *buf)
{
	struct archive_entry *e = archive_entry_new();
	uint64_t off = 0;
	ssize_t n = 0;
	int fd = -1;
	pca_err err = PCA_OK;

	if (e == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	archive_entry_set_pathname(e, p != NULL ? p->name : BK_MANIFEST);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_mtime(e, (time_t)util_now(), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		err = ar_err(a, p != NULL ? p->name : BK_MANIFEST);
		goto out;
	}
	if (p == NULL) {
		if (archive_write_data(a, mem, size) != (la_ssize_t)size)
			err = ar_err(a, BK_MANIFEST);
		goto out;
	}
	if ((fd = open(p->path, O_RDONLY | O_CLOEXEC)) < 0) {
		err = pca_err_set(PCA_EIO, "%s: %s", p->path, strerror(errno));
		goto out;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	/* the store's copy is read past the page cache, as it was written */
	if (size >= BK_COPY_CHUNK)
		(void)bk_direct(fd);
	while (err == PCA_OK && (n = read(fd, buf, BK_COPY_CHUNK)) > 0) {
		if (archive_write_data(a, buf, (size_t)n) != n)
			err = ar_err(a, p->name);
		off += (uint64_t)n;
	}
	if (err == PCA_OK && n < 0)
		err = pca_err_set(PCA_EIO, "%s: %s", p->path, strerror(errno));
	if (err == PCA_OK && off != size)
		err = pca_err_set(PCA_EIO, "%s changed while it was archived",
		    p->path);
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	return err;
}

static pca_err
write_archive(const struct bk_conf *c, struct bk_archive *b, const char *file)
{
	struct archive *a = archive_write_new();
	struct bk_out o;
	char tmp[PATH_MAX] = "", *text = NULL;
	uint8_t *buf = NULL, md[32];
	void *mem;
	size_t i;
	pca_err err = PCA_OK;

	memset(&o, 0, sizeof(o));
	o.fd = -1;
	/* aligned: the parts are read with O_DIRECT where they can be */
	if (posix_memalign(&mem, BK_OUT_ALIGN, BK_COPY_CHUNK) == 0)
		buf = mem;
	if ((o.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(o.md, EVP_sha256(), NULL) != 1)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	if (err != PCA_OK)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.partial", file) >= (int)sizeof(tmp))
		err = pca_err_set(PCA_EINVAL, "%s: path too long", file);
	else if (a == NULL || buf == NULL ||
		 (text = json_dumps(b->manifest,
		      JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	else if ((o.fd = bk_out_open(tmp,
		      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600,
		      &o.direct)) < 0)
		err = pca_err_set(PCA_EIO, "%s: %s", tmp, strerror(errno));
	if (err != PCA_OK)
		goto out;
	o.rate = c->rate;
	o.name = tmp;
	if ((err = bk_out_start(&o)) != PCA_OK)
		goto out;
	/* no blocking: libarchive hands each write straight to ar_write_cb */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open2(a, &o, NULL, ar_write_cb, NULL, NULL) !=
		ARCHIVE_OK) {
		err = ar_err(a, file);
		goto out;
	}
	err = ar_put(a, NULL, text, strlen(text), buf);
	for (i = 0; err == PCA_OK && i < b->nparts; i++)
		err = ar_put(a, &b->part[i], NULL, b->part[i].size, buf);
	if (err == PCA_OK && archive_write_close(a) != ARCHIVE_OK)
		err = ar_err(a, file);
	if (err == PCA_OK)
		err = bk_out_flush(&o);
	if (err == PCA_OK && fsync(o.fd) != 0)
		err =
		    pca_err_set(PCA_EIO, "%s: fsync: %s", tmp, strerror(errno));
	if (err == PCA_OK && link(tmp, file) != 0)
		err = pca_err_set(PCA_EIO, "%s: %s", file,
		    errno == EEXIST ? "exists: refusing to overwrite it"
				    : strerror(errno));
	if (err == PCA_OK) {
		(void)EVP_DigestFinal_ex(o.md, md, NULL);
		util_hex(md, sizeof(md), b->sha256, sizeof(b->sha256), 0);
		b->size = o.done;
	}
out:
	if (a != NULL)
		archive_write_free(a);
	if (o.fd >= 0)
		close(o.fd);
	bk_out_end(&o);
	EVP_MD_CTX_free(o.md);
	if (tmp[0] != '\0')
		(void)unlink(tmp);
	free(text);
	free(buf);
	return err;
}
int
bk_is_s3(const char *where)
{
	return strncmp(where, "s3://", 5) == 0;
}

/* "s3://bucket/key" into b; key may be empty (a prefix). */
pca_err
bk_s3_url_parse(const char *url, struct bk_s3 *b)
{
	const char *p = url + 5, *slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : strlen(p);

	if (n < 3 || n >= sizeof(b->bucket) ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789.-") < n)
		return pca_err_set(PCA_EINVAL,
		    "%s: not s3://BUCKET[/KEY] with "
		    "a valid bucket name",
		    url);
	memcpy(b->bucket, p, n);
	b->bucket[n] = '\0';
	if (snprintf(b->key, sizeof(b->key), "%s", slash ? slash + 1 : "") >=
	    (int)sizeof(b->key))
		return pca_err_set(PCA_EINVAL, "%s: key too long", url);
	return PCA_OK;
}

pca_err
bk_s3_open(const char *url, const struct sync_conf *sc, struct bk_s3 *b)
{
	pca_err err;

	if ((err = bk_s3_url_parse(url, b)) != PCA_OK)
		return err;
	if (sc->endpoint == NULL)
		return pca_err_set(PCA_EINVAL,
		    "%s: no S3 endpoint configured "
		    "(the [s3] section, or --s3-endpoint)",
		    url);
	return sync_new(sc, NULL, &b->sync);
}
pca_err
bk_s3_upload(struct bk_s3 *b, const char *file, const struct bk_archive *a)
{
	char hex[65];
	uint64_t size;
	int fd;
	pca_err err;

	if (a != NULL && a->sha256[0] != '\0') {
		memcpy(hex, a->sha256, sizeof(hex));
		size = a->size;
	} else if ((err = bk_file_hash(file, hex, &size)) != PCA_OK)
		return err;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return pca_err_set(PCA_EIO, "%s: %s", file, strerror(errno));
	err = sync_s3_put_file(b->sync, b->bucket, b->key, "application/x-tar",
	    fd, size, hex);
	close(fd);
	return err;
}

/* Fetches s3://bucket/key into a new file path (mode 0600). */
pca_err
bk_s3_fetch(struct bk_s3 *b, const char *path)
{
	int fd;
	pca_err err;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) <
	    0)
		return pca_err_set(PCA_EIO, "%s: %s", path, strerror(errno));
	err = sync_s3_get_file(b->sync, b->bucket, b->key, fd, BK_S3_MAX);
	if (err == PCA_OK && fsync(fd) != 0)
		err = pca_err_set(PCA_EIO, "%s: %s", path, strerror(errno));
	close(fd);
	return err;
}
/* The public TLS parts, when the API certificate is the appliance's own. */
static pca_err
tls_parts(const struct bk_conf *ac, struct bk_archive *b)
{
	char ca[PATH_MAX], label[PATH_MAX];
	pca_err err;

	if ((err = bk_path_fmt(ca, ac->dir, "tls/ca.pem")) != PCA_OK ||
	    (err = bk_path_fmt(label, ac->dir, "tls/ca.label")) != PCA_OK)
		return err;
	if (access(ca, R_OK) != 0 || access(label, R_OK) != 0 ||
	    ac->api_tls_cert == NULL || access(ac->api_tls_cert, R_OK) != 0)
		return PCA_OK; /* operator-supplied TLS files: not ours */
	if ((err = bk_part_add(b, "tls-ca.pem", ca)) != PCA_OK ||
	    (err = bk_part_add(b, "tls-ca.label", label)) != PCA_OK)
		return err;
	return bk_part_add(b, "tls-server.pem", ac->api_tls_cert);
}

/* ---- the store's copy ---- */

/*
 * The store copied into path (a scratch file), then its SHA-256 (hex) and
 * size.  LMDB writes the copy straight into the file,
 * O_DIRECT where the filesystem takes it (its buffers are page-aligned for
 * that): the copy's read transaction, during which no page freed by a
 * writer is reused, lasts only as long as the walk and the device take,
 * and the gigabytes pass through no pipe and no page cache (in a VM whose
 * free memory goes back to the host, each new page-cache page costs a
 * fault: copying through them made the copy five times slower).  The
 * hash is a second pass, after the transaction.
 */
static pca_err
copy_store(struct store *st, const char *path, char hex[65], uint64_t *size)
{
	int fd, direct;
	pca_err err;

	if ((fd = bk_out_open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		 0600, &direct)) < 0)
		return pca_err_set(PCA_EIO, "%s: %s", path, strerror(errno));
	err = store_copy_fd(st, fd);
	close(fd);
	if (err != PCA_OK)
		return err;
	return bk_file_hash(path, hex, size);
}

/* ---- pcactl backup --to FILE ---- */

static pca_err
backup_make(const struct bk_conf *ac, struct store *src, const char *file,
    struct bk_archive *b)
{
	char dir[PATH_MAX], *slash, id[37], when[21], data[PATH_MAX], hex[65];
	uint64_t size = 0;
	pca_err err;

	(void)snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		(void)snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0';
	if (snprintf(b->tmp, sizeof(b->tmp), "%s/.pcactl-backup.XXXXXX", dir) >=
		(int)sizeof(b->tmp) ||
	    mkdtemp(b->tmp) == NULL) {
		b->tmp[0] = '\0';
		return pca_err_set(PCA_EIO, "cannot write in %s: %s", dir,
		    strerror(errno));
	}
	if ((err = bk_path_fmt(data, b->tmp, "data.mdb")) != PCA_OK ||
	    (err = copy_store(src, data, hex, &size)) != PCA_OK ||
	    (err = util_uuid(id)) != PCA_OK)
		goto out;
	b->manifest = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s}", "Format",
	    BK_FORMAT, "Version", BK_VERSION, "BackupId", id, "CreatedAt",
	    util_iso8601(util_now(), when), "Region", ac->region, "AccountId",
	    ac->account);
	if (b->manifest == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if ((err = describe_copy(ac, b->tmp, b->manifest)) != PCA_OK ||
	    (err = part_set(b, "data.mdb", data, hex, size)) != PCA_OK ||
	    (err = bk_part_add(b, "pcad.conf", ac->config_path)) != PCA_OK)
		goto out;
	if (ac->policy_file != NULL &&
	    (err = bk_part_add(b, "policies", ac->policy_file)) != PCA_OK)
		goto out;
	err = tls_parts(ac, b);
out:
	return err;
}

static pca_err
manifest_parts(struct bk_archive *b)
{
	json_t *parts = json_array();
	size_t i;

	for (i = 0; parts != NULL && i < b->nparts; i++)
		if (json_array_append_new(parts,
			json_pack("{s:s,s:I,s:s}", "Name", b->part[i].name,
			    "Size", (json_int_t)b->part[i].size, "Sha256",
			    b->part[i].sha256)) != 0)
			break;
	if (parts == NULL || i < b->nparts ||
	    json_object_set_new(b->manifest, "Parts", parts) != 0)
		return pca_err_set(PCA_ENOMEM, "no memory");
	return PCA_OK;
}
/* The object key of a backup under a prefix: <prefix>/openpca-<time>-<id>.tar
 */
pca_err
bk_s3_backup_key(struct bk_s3 *s3, const json_t *m)
{
	char when[32], prefix[1024];
	const char *c = json_string_value(json_object_get(m, "CreatedAt"));
	size_t i, n = 0;

	for (i = 0; c[i] && n < sizeof(when) - 1; i++)
		if (c[i] != '-' && c[i] != ':')
			when[n++] = c[i];
	when[n] = '\0';
	(void)snprintf(prefix, sizeof(prefix), "%s", s3->key);
	while ((n = strlen(prefix)) > 0 && prefix[n - 1] == '/')
		prefix[n - 1] = '\0';
	if (snprintf(s3->key, sizeof(s3->key), "%s%sopenpca-%s-%s.tar", prefix,
		prefix[0] ? "/" : "", when,
		json_string_value(json_object_get(m, "BackupId"))) >=
	    (int)sizeof(s3->key))
		return pca_err_set(PCA_EINVAL, "S3 prefix too long");
	return PCA_OK;
}

struct maker {
	const struct bk_conf *c;
	struct store *st;
	const char *file;
	struct bk_archive *b;
	pca_err err;
	char msg[256];
};

/* One backup, in a thread of its own at background priority. */
static void *
maker_main(void *arg)
{
	struct maker *m = arg;

	bk_thread_background();
	if ((m->err = backup_make(m->c, m->st, m->file, m->b)) == PCA_OK &&
	    (m->err = manifest_parts(m->b)) == PCA_OK)
		m->err = write_archive(m->c, m->b, m->file);
	/* the scratch copy goes now, before the kernel writes it back */
	bk_rm_tree(m->b->tmp);
	if (m->err != PCA_OK)
		(void)snprintf(m->msg, sizeof(m->msg), "%s", pca_err_msg());
	return NULL;
}

pca_err
bk_make(const struct bk_conf *c, struct store *st, const char *file,
    struct bk_archive *b)
{
	struct maker m = {c, st, file, b, PCA_OK, ""};
	pthread_t th;

	if (access(file, F_OK) == 0)
		return pca_err_set(PCA_EEXISTS,
		    "%s exists: refusing to "
		    "overwrite it",
		    file);
	if (pthread_create(&th, NULL, maker_main, &m) != 0)
		return pca_err_set(PCA_ENOMEM, "backup: no thread");
	pthread_join(th, NULL);
	if (m.err != PCA_OK)
		return pca_err_set(m.err, "%s", m.msg);
	return PCA_OK;
}
