/*
 * store.c - opening and closing the LMDB environment, the schema check,
 * the map lock, LMDB error translation and the read-side helpers shared by
 * the rest of store/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#define STORE_DEF_MAP ((size_t)64 << 20)
#define STORE_DEF_MAX ((size_t)64 << 30)

/* which members of struct store are initialised (store->inited) */
#define INIT_RWLOCK 0x1
#define INIT_KEY 0x2
#define INIT_QLOCK 0x4
#define INIT_REG 0x8
#define INIT_GCOND 0x10

static const char *const dbi_names[STORE_DBI_COUNT] = {
    [STORE_DBI_META] = "meta",
    [STORE_DBI_CAS] = "cas",
    [STORE_DBI_CERTS] = "certs",
    [STORE_DBI_REVOKED] = "revoked",
    [STORE_DBI_EXPIRY] = "expiry",
    [STORE_DBI_IDEM] = "idem",
    [STORE_DBI_COUNTERS] = "counters",
    [STORE_DBI_AUDIT] = "audit",
    [STORE_DBI_KV] = "kv",
    [STORE_DBI_INV] = "inv",
    [STORE_DBI_FEED] = "feed",
};

/*
 * LMDB forbids opening one environment twice in a process (closing the
 * second copy's file descriptor drops the first one's fcntl locks), so the
 * open stores are registered by directory device and inode.
 */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *reg_head;

pca_err
store_mdb_err(int rc, const char *what)
{
	char eb[128];

	switch (rc) {
	case MDB_MAP_FULL:
		return pca_err_set(PCA_EDBFULL,
		    "%s failed: the store map is "
		    "full",
		    what);
	case MDB_READERS_FULL:
		return pca_err_set(PCA_EBUSY,
		    "%s failed: all %d store "
		    "reader slots are in use",
		    what, STORE_MAX_READERS);
	case MDB_PANIC:
		return pca_err_set(PCA_EIO,
		    "%s failed: the store had a fatal "
		    "I/O error and must be reopened",
		    what);
	case ENOMEM:
		return pca_err_set(PCA_ENOMEM, "%s failed: out of memory",
		    what);
	case ENOSPC:
	case EROFS:
	case EIO:
	case EACCES:
	case EPERM:
	case EFBIG:
	case EDQUOT:
		return pca_err_set(PCA_EIO, "%s failed: %s", what,
		    strerror_r(rc, eb, sizeof(eb)));
	default:
		break;
	}
	if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
		return pca_err_set(PCA_EDB, "%s failed: %s", what,
		    mdb_strerror(rc));
	return pca_err_set(PCA_EDB, "%s failed: %s", what,
	    strerror_r(rc, eb, sizeof(eb)));
}

/*
 * store_mdb_err() for a failed commit.  LMDB reports a short write (the
 * usual face of a full disk) as EIO, so an I/O failure also tells how much
 * room the store's filesystem has left.
 */
pca_err
store_commit_err(struct store *s, int rc)
{
	char msg[STORE_MSG_MAX];
	struct statvfs sv;
	pca_err e;

	e = store_mdb_err(rc, "committing to the store");
	if (e != PCA_EIO || statvfs(s->path, &sv) != 0)
		return e;
	(void)snprintf(msg, sizeof(msg), "%s", pca_err_msg());
	return pca_err_set(e, "%s (%llu bytes free on the filesystem of %s)",
	    msg, (unsigned long long)sv.f_bavail * sv.f_frsize, s->path);
}

pca_err
store_full_err(struct store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	size_t used = 0;

	if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0)
		used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	return pca_err_set(PCA_EDBFULL,
	    "store is full: %zu bytes of %zu "
	    "maximum",
	    used, s->map_max);
}

/*
 * The map lock.  Readers and the group-commit leader hold it shared for the
 * life of their transaction; a map resize holds it exclusively, because
 * mdb_env_set_mapsize() needs no transaction active in this process.  The
 * lock prefers writers so a stream of readers cannot starve a resize, which
 * makes a plain recursive read lock deadlock-prone: the per-thread depth
 * lets a callback of an iteration call read functions again.
 */
pca_err
store_lock_shared(struct store *s)
{
	uintptr_t d = (uintptr_t)pthread_getspecific(s->depth);

	if (d == 0 && pthread_rwlock_rdlock(&s->maplock) != 0)
		return pca_err_set(PCA_EINTERNAL, "cannot take the store map "
						  "lock");
	if (pthread_setspecific(s->depth, (void *)(d + 1)) != 0) {
		if (d == 0)
			(void)pthread_rwlock_unlock(&s->maplock);
		return pca_err_set(PCA_ENOMEM, "out of memory");
	}
	return PCA_OK;
}

void
store_unlock_shared(struct store *s)
{
	uintptr_t d = (uintptr_t)pthread_getspecific(s->depth);

	/* d >= 1: the value exists, so setting it cannot allocate or fail */
	(void)pthread_setspecific(s->depth, (void *)(d - 1));
	if (d == 1)
		(void)pthread_rwlock_unlock(&s->maplock);
}

int
store_in_read(struct store *s)
{
	return pthread_getspecific(s->depth) != NULL;
}

static pca_err
map_set(struct store *s, size_t size)
{
	MDB_envinfo info;
	size_t old = s->map_cur;
	int rc;

	if ((rc = mdb_env_set_mapsize(s->env, size)) != 0) {
		/* put the old mapping back so the env stays usable */
		(void)mdb_env_set_mapsize(s->env, old);
		return store_mdb_err(rc, "resizing the store map");
	}
	if ((rc = mdb_env_info(s->env, &info)) != 0)
		return store_mdb_err(rc, "reading the store map size");
	s->map_cur = info.me_mapsize;
	return PCA_OK;
}

/* Grows the map by one step (at most to map_max); takes maplock itself. */
pca_err
store_map_grow(struct store *s)
{
	pca_err e;
	size_t next;

	if (pthread_rwlock_wrlock(&s->maplock) != 0)
		return pca_err_set(PCA_EINTERNAL, "cannot take the store map "
						  "lock");
	if (s->map_cur >= s->map_max) {
		e = store_full_err(s);
		goto out;
	}
	next = s->map_cur + s->map_step;
	if (next < s->map_cur || next > s->map_max)
		next = s->map_max;
	e = map_set(s, next);
out:
	(void)pthread_rwlock_unlock(&s->maplock);
	return e;
}

/* Adopts a map grown by another process (MDB_MAP_RESIZED). */
pca_err
store_map_adopt(struct store *s)
{
	pca_err e;

	if (pthread_rwlock_wrlock(&s->maplock) != 0)
		return pca_err_set(PCA_EINTERNAL, "cannot take the store map "
						  "lock");
	e = map_set(s, 0);
	(void)pthread_rwlock_unlock(&s->maplock);
	return e;
}

pca_err
store_rtxn_begin(struct store *s, MDB_txn **out)
{
	MDB_txn *txn = NULL;
	pca_err e;
	int rc, tries;

	for (tries = 0;; tries++) {
		if ((e = store_lock_shared(s)) != PCA_OK)
			return e;
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
		if (rc == 0) {
			*out = txn;
			return PCA_OK;
		}
		store_unlock_shared(s);
		if (rc != MDB_MAP_RESIZED || tries > 0 || store_in_read(s))
			return store_mdb_err(rc, "starting a store read");
		if ((e = store_map_adopt(s)) != PCA_OK)
			return e;
	}
}

void
store_rtxn_end(struct store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	store_unlock_shared(s);
}

/*
 * Calls fn for every record from start (the first record when slen is 0)
 * whose key begins with the first plen bytes of start.
 */
pca_err
store_scan(MDB_txn *txn, MDB_dbi dbi, const void *start, size_t slen,
    size_t plen, store_scan_fn fn, void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_cursor_op op = slen > 0 ? MDB_SET_RANGE : MDB_FIRST;
	MDB_val k, v;
	int rc, stop = 0;
	pca_err e = PCA_OK;

	if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
		return store_mdb_err(rc, "opening a store cursor");
	k = store_val(start, slen);
	while (!stop && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (plen > 0 &&
		    (k.mv_size < plen || memcmp(k.mv_data, start, plen) != 0))
			break;
		if ((e = fn(&k, &v, arg, &stop)) != PCA_OK)
			goto out;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		e = store_mdb_err(rc, "reading the store");
out:
	mdb_cursor_close(cur);
	return e;
}

pca_err
store_scan_read(struct store *s, enum store_dbi db, const void *start,
    size_t slen, size_t plen, store_scan_fn fn, void *arg)
{
	MDB_txn *txn = NULL;
	pca_err e;

	if ((e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	e = store_scan(txn, s->dbi[db], start, slen, plen, fn, arg);
	store_rtxn_end(s, txn);
	return e;
}

pca_err
store_entries(struct store *s, enum store_dbi db, size_t *out)
{
	MDB_txn *txn = NULL;
	MDB_stat st;
	pca_err e;
	int rc;

	if ((e = store_rtxn_begin(s, &txn)) != PCA_OK)
		return e;
	rc = mdb_stat(txn, s->dbi[db], &st);
	store_rtxn_end(s, txn);
	if (rc != 0)
		return store_mdb_err(rc, "counting store records");
	*out = st.ms_entries;
	return PCA_OK;
}

/* ---- open and close ---- */

static int
store_empty(MDB_txn *txn, const MDB_dbi *dbi)
{
	MDB_stat st;
	int i;

	for (i = 0; i < STORE_DBI_COUNT; i++)
		if (mdb_stat(txn, dbi[i], &st) != 0 || st.ms_entries != 0)
			return 0;
	return 1;
}

static pca_err
store_schema(struct store *s, MDB_txn *txn)
{
	MDB_val k = store_val(STORE_META_SCHEMA, strlen(STORE_META_SCHEMA));
	MDB_val v;
	uint8_t b[4];
	uint32_t ver;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);
	if (rc == MDB_NOTFOUND) {
		if (s->read_only || !store_empty(txn, s->dbi))
			return pca_err_set(PCA_EDB,
			    "store at %s has no schema "
			    "version",
			    s->path);
		store_be32_put(b, STORE_SCHEMA_VERSION);
		v = store_val(b, sizeof(b));
		rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
		return rc == 0
			   ? PCA_OK
			   : store_mdb_err(rc, "writing the schema version");
	}
	if (rc != 0)
		return store_mdb_err(rc, "reading the schema version");
	if (v.mv_size != 4)
		return pca_err_set(PCA_EDB,
		    "store at %s has a malformed "
		    "schema version",
		    s->path);
	ver = store_be32_get(v.mv_data);
	if (ver != STORE_SCHEMA_VERSION)
		return pca_err_set(PCA_EUNSUPPORTED,
		    "store at %s has schema "
		    "version %u; this build supports only version %u",
		    s->path, ver, STORE_SCHEMA_VERSION);
	return PCA_OK;
}

/*
 * The inventory database came after schema version 1: a store without it
 * gets it created and built (*build) when opened for writing, and is
 * walked through the expiry index when opened read-only (s->inv_ok = 0).
 */
static pca_err
store_inv_open(struct store *s, MDB_txn *txn, int *build)
{
	const char *name = dbi_names[STORE_DBI_INV];
	int rc;

	*build = 0;
	rc = mdb_dbi_open(txn, name, 0, &s->dbi[STORE_DBI_INV]);
	if (rc == MDB_NOTFOUND && !s->read_only) {
		*build = 1;
		rc =
		    mdb_dbi_open(txn, name, MDB_CREATE, &s->dbi[STORE_DBI_INV]);
	}
	if (rc == MDB_NOTFOUND) {
		s->dbi[STORE_DBI_INV] = s->dbi[STORE_DBI_EXPIRY];
		return PCA_OK;
	}
	if (rc != 0)
		return store_mdb_err(rc, "opening the inventory database");
	s->inv_ok = 1;
	return PCA_OK;
}

/*
 * The change feed came after schema version 1 too: created when opened for
 * writing; read-only without it, the feed reads as empty (s->feed_ok = 0).
 */
static pca_err
store_feed_open(struct store *s, MDB_txn *txn)
{
	const char *name = dbi_names[STORE_DBI_FEED];
	int rc;

	rc = mdb_dbi_open(txn, name, s->read_only ? 0 : MDB_CREATE,
	    &s->dbi[STORE_DBI_FEED]);
	if (rc == MDB_NOTFOUND) {
		s->dbi[STORE_DBI_FEED] = s->dbi[STORE_DBI_META];
		return PCA_OK;
	}
	if (rc != 0)
		return store_mdb_err(rc, "opening the change feed database");
	s->feed_ok = 1;
	return PCA_OK;
}

/*
 * The 'v' inventory entries came after the others (STORE_META_INV_V): a
 * store opened for writing gets them (built from the certificates unless
 * the whole index is being built now); read-only without them, the
 * inventory walks ISSUED/EXPIRED through the other indexes.
 */
static pca_err
store_inv_valid_open(struct store *s, MDB_txn *txn, int build)
{
	MDB_val k = store_val(STORE_META_INV_V, strlen(STORE_META_INV_V));
	MDB_val v;
	pca_err e;
	int rc;

	if (!s->inv_ok)
		return PCA_OK;
	rc = mdb_get(txn, s->dbi[STORE_DBI_META], &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_mdb_err(rc, "reading the store's meta data");
	if (rc == 0 || s->read_only) {
		s->inv_valid = rc == 0;
		return PCA_OK;
	}
	s->inv_valid = 1;
	if (!build && (e = store_inv_valid_build(s, txn)) != PCA_OK)
		return e;
	v = store_val("1", 1);
	rc = mdb_put(txn, s->dbi[STORE_DBI_META], &k, &v, 0);
	return rc == 0 ? PCA_OK
		       : store_mdb_err(rc, "writing the store's meta data");
}

static pca_err
store_dbs_open(struct store *s)
{
	MDB_txn *txn = NULL;
	unsigned flags = s->read_only ? 0 : MDB_CREATE;
	pca_err e = PCA_OK;
	int i, rc, build = 0;

	s->inv_ok = s->inv_valid = s->feed_ok = 0;
	rc = mdb_txn_begin(s->env, NULL, s->read_only ? MDB_RDONLY : 0, &txn);
	if (rc != 0)
		return store_mdb_err(rc, "opening the store");
	for (i = 0; i < STORE_DBI_COUNT; i++) {
		if (i == STORE_DBI_INV) {
			if ((e = store_inv_open(s, txn, &build)) != PCA_OK)
				goto out;
			continue;
		}
		if (i == STORE_DBI_FEED) {
			if ((e = store_feed_open(s, txn)) != PCA_OK)
				goto out;
			continue;
		}
		rc = mdb_dbi_open(txn, dbi_names[i], flags, &s->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			e = pca_err_set(PCA_EDB,
			    "store at %s has no \"%s\" "
			    "database",
			    s->path, dbi_names[i]);
			goto out;
		}
		if (rc != 0) {
			e = store_mdb_err(rc, "opening a store database");
			goto out;
		}
	}
	if ((e = store_schema(s, txn)) != PCA_OK ||
	    (e = store_inv_valid_open(s, txn, build)) != PCA_OK ||
	    (build && (e = store_inv_build(s, txn)) != PCA_OK))
		goto out;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		e = store_mdb_err(rc, "initialising the store");
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return e;
}

static pca_err
store_env_open(struct store *s, const struct store_conf *conf)
{
	MDB_envinfo info;
	unsigned flags = MDB_NOTLS;
	int rc, dead;
	pca_err e;

	if (conf->flags & STORE_NOSYNC)
		flags |= MDB_NOSYNC;
	if (conf->flags & STORE_NORDAHEAD)
		flags |= MDB_NORDAHEAD;
	if (s->read_only)
		flags |= MDB_RDONLY;
	if ((rc = mdb_env_create(&s->env)) != 0)
		return store_mdb_err(rc, "creating the store environment");
	if ((rc = mdb_env_set_maxdbs(s->env, STORE_DBI_COUNT)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, STORE_MAX_READERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, s->map_step)) != 0)
		return store_mdb_err(rc, "configuring the store");
	if ((rc = mdb_env_open(s->env, s->path, flags, 0600)) != 0) {
		if (rc == ENOENT)
			return pca_err_set(PCA_ENOTFOUND, "no store at %s",
			    s->path);
		if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
			return pca_err_set(PCA_EDB,
			    "%s does not hold an LMDB "
			    "store this build can read",
			    s->path);
		e = store_mdb_err(rc, "opening the store");
		return pca_err_set(e, "opening the store at %s failed: %s",
		    s->path, mdb_strerror(rc));
	}
	/* clear reader slots left behind by crashed processes */
	(void)mdb_reader_check(s->env, &dead);
	if ((rc = mdb_env_info(s->env, &info)) != 0)
		return store_mdb_err(rc, "reading the store map size");
	s->map_cur = info.me_mapsize;
	return PCA_OK;
}

static pca_err
store_register(struct store *s, const struct store_conf *conf)
{
	struct store *r;
	struct stat st;
	char eb[128];
	pca_err e = PCA_OK;

	if (!conf->read_only && mkdir(conf->path, 0700) != 0 && errno != EEXIST)
		return pca_err_set(errno == ENOENT ? PCA_ENOTFOUND : PCA_EIO,
		    "cannot create the store directory %s: %s", conf->path,
		    strerror_r(errno, eb, sizeof(eb)));
	if (stat(conf->path, &st) != 0)
		return pca_err_set(errno == ENOENT ? PCA_ENOTFOUND : PCA_EIO,
		    "no store at %s: %s", conf->path,
		    strerror_r(errno, eb, sizeof(eb)));
	if (!S_ISDIR(st.st_mode))
		return pca_err_set(PCA_EINVAL,
		    "store path %s is not a "
		    "directory",
		    conf->path);
	(void)pthread_mutex_lock(&reg_lock);
	for (r = reg_head; r != NULL; r = r->reg_next)
		if (r->dev == st.st_dev && r->ino == st.st_ino)
			break;
	if (r != NULL) {
		e = pca_err_set(PCA_EBUSY,
		    "the store at %s is already open "
		    "in this process",
		    conf->path);
	} else {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		s->reg_next = reg_head;
		reg_head = s;
		s->inited |= INIT_REG;
	}
	(void)pthread_mutex_unlock(&reg_lock);
	return e;
}

static void
store_unregister(struct store *s)
{
	struct store **pp;

	(void)pthread_mutex_lock(&reg_lock);
	for (pp = &reg_head; *pp != NULL; pp = &(*pp)->reg_next)
		if (*pp == s) {
			*pp = s->reg_next;
			break;
		}
	(void)pthread_mutex_unlock(&reg_lock);
}

static pca_err
store_conf_check(const struct store_conf *conf, size_t *step, size_t *max)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t p = pg > 0 ? (size_t)pg : 4096;

	if (conf == NULL || conf->path == NULL || conf->path[0] == '\0')
		return pca_err_set(PCA_EINVAL, "store path is missing");
	if (conf->flags & ~(unsigned)(STORE_NOSYNC | STORE_NORDAHEAD))
		return pca_err_set(PCA_EINVAL, "unknown store flags 0x%x",
		    conf->flags);
	*step = conf->map_size ? conf->map_size : STORE_DEF_MAP;
	*max = conf->map_max ? conf->map_max : STORE_DEF_MAX;
	if (*step > SIZE_MAX - p || *max > SIZE_MAX - p)
		return pca_err_set(PCA_EINVAL, "store map size is too large");
	*step = (*step + p - 1) / p * p;
	*max = (*max + p - 1) / p * p;
	if (*step > *max)
		return pca_err_set(PCA_EINVAL,
		    "store map_size %zu exceeds "
		    "map_max %zu",
		    *step, *max);
	return PCA_OK;
}

static pca_err
store_alloc(struct store **out)
{
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;
	struct store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	*out = s;
	if (pthread_rwlockattr_init(&ra) != 0)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	(void)pthread_rwlockattr_setkind_np(&ra,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	if (pthread_rwlock_init(&s->maplock, &ra) == 0)
		s->inited |= INIT_RWLOCK;
	(void)pthread_rwlockattr_destroy(&ra);
	if (pthread_key_create(&s->depth, NULL) == 0)
		s->inited |= INIT_KEY;
	if (pthread_mutex_init(&s->qlock, NULL) == 0)
		s->inited |= INIT_QLOCK;
	/* the gather wait must not stretch when the wall clock steps */
	if (pthread_condattr_init(&ca) == 0) {
		if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
		    pthread_cond_init(&s->gcond, &ca) == 0)
			s->inited |= INIT_GCOND;
		(void)pthread_condattr_destroy(&ca);
	}
	if (s->inited != (INIT_RWLOCK | INIT_KEY | INIT_QLOCK | INIT_GCOND))
		return pca_err_set(PCA_ENOMEM, "cannot create the store locks");
	return PCA_OK;
}

static void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	if (s->inited & INIT_REG)
		store_unregister(s);
	if (s->inited & INIT_GCOND)
		(void)pthread_cond_destroy(&s->gcond);
	if (s->inited & INIT_QLOCK)
		(void)pthread_mutex_destroy(&s->qlock);
	if (s->inited & INIT_KEY)
		(void)pthread_key_delete(s->depth);
	if (s->inited & INIT_RWLOCK)
		(void)pthread_rwlock_destroy(&s->maplock);
	free(s->path);
	free(s);
}

pca_err
store_open(const struct store_conf *conf, struct store **out)
{
	struct store *s = NULL;
	size_t step = 0, max = 0;
	pca_err e;

	if ((e = store_conf_check(conf, &step, &max)) != PCA_OK)
		return e;
	if ((e = store_alloc(&s)) != PCA_OK)
		goto out;
	s->read_only = conf->read_only != 0;
	s->gather = !(conf->flags & STORE_NOSYNC);
	s->map_step = step;
	s->map_max = max;
	if ((s->path = strdup(conf->path)) == NULL) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	if ((e = store_register(s, conf)) != PCA_OK ||
	    (e = store_env_open(s, conf)) != PCA_OK)
		goto out;
	/* building an index at open may need a larger map */
	while (
	    (e = store_dbs_open(s)) == PCA_EDBFULL && s->map_cur < s->map_max) {
		pca_err_clear();
		if ((e = store_map_grow(s)) != PCA_OK)
			break;
	}
	if (e != PCA_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	store_free(s);
	return e;
}

void
store_close(struct store *s)
{
	store_free(s);
}
