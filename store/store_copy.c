/*
 * store_copy.c - a consistent, compacted copy of the whole store (for
 * backups) taken inside one LMDB read transaction: writers go on.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

pca_err
store_copy_fd(struct store *s, int fd)
{
	pca_err e;
	int rc, tries;

	for (tries = 0;; tries++) {
		if ((e = store_lock_shared(s)) != PCA_OK)
			return e;
		rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
		store_unlock_shared(s);
		if (rc != MDB_MAP_RESIZED || tries == 3)
			break;
		/* another process grew the map: adopt its size, start over */
		if ((e = store_map_adopt(s)) != PCA_OK)
			return e;
		if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
			return pca_err_set(PCA_EIO, "store copy: %s",
			    strerror(errno));
	}
	if (rc != 0)
		return store_mdb_err(rc, "store copy");
	if (fsync(fd) != 0)
		return pca_err_set(PCA_EIO, "store copy: fsync: %s",
		    strerror(errno));
	return PCA_OK;
}
