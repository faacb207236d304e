/* testlib_store.c - an LMDB store opened for a test (store/). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../store/store.h"
#include "testlib.h"

struct store *
testlib_store_open(const char *dir, size_t map_max)
{
	struct store_conf c = {dir, 1 << 20, map_max, STORE_NOSYNC, 0};
	struct store *s = NULL;

	if (store_open(&c, &s) != PCA_OK)
		fail_msg("store_open %s: %s", dir, pca_err_msg());
	return s;
}
