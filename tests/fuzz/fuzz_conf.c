/*
 * fuzz_conf.c - libFuzzer target for the configuration parser: arbitrary
 * bytes as pcad.conf, loaded and fully validated by appliance_conf_load
 * (cmd/appliance.c, over common/conf.c), as pcad --check-config does.  The
 * file is written into a private directory made on the first call.  Seeds:
 * tests/fuzz/corpus/conf/ (conf/pcad.conf.example, a pcactl init config).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../cmd/appliance.h"
#include "../../common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/openpca-fuzz-conf.XXXXXX";
static char path[sizeof(dir) + 16];

static void
cleanup(void)
{
	(void)unlink(path);
	(void)rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct appliance_conf a;
	FILE *f;

	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			abort();
		(void)snprintf(path, sizeof(path), "%s/pcad.conf", dir);
		atexit(cleanup);
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, size, 1, f) != 1)
		abort();
	if (fclose(f) != 0)
		abort();
	if (appliance_conf_load(path, &a) == PCA_OK)
		appliance_conf_free(&a);
	pca_err_clear();
	return 0;
}
