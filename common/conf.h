/*
 * conf.h - pcad.conf: INI-style "[section]" and "key = value" lines, '#'
 * comments.  Parsed and validated whole before anything uses it; each
 * subsystem reads its own section through the typed, range-checked getters.
 */
#ifndef PCA_COMMON_CONF_H
#define PCA_COMMON_CONF_H

#include "err.h"

struct conf;

pca_err conf_load(const char *path, struct conf **out) PCA_WUR;
pca_err conf_parse(const char *text, size_t len, const char *name,
    struct conf **out) PCA_WUR;
void conf_free(struct conf *);

/* Borrowed value (valid until conf_free) or NULL when absent. */
const char *conf_get0(const struct conf *, const char *sect, const char *key);
/* A string value, or def when absent. */
const char *conf_str(const struct conf *, const char *sect, const char *key,
    const char *def);
/*
 * A path value; a relative path is resolved against the directory of the
 * config file.  Caller frees *out; *out is NULL when absent and def is NULL.
 */
pca_err conf_path(const struct conf *, const char *sect, const char *key,
    const char *def, char **out) PCA_WUR;
/* A decimal number in [min, max], or def when absent. */
pca_err conf_num(const struct conf *, const char *sect, const char *key,
    long long min, long long max, long long def, long long *out) PCA_WUR;
/* true/false/yes/no/on/off/1/0, or def when absent. */
pca_err conf_bool(const struct conf *, const char *sect, const char *key,
    int def, int *out) PCA_WUR;
/*
 * Refuses any "section.key" not in the NULL-terminated list, so a typo is an
 * error instead of a silently ignored line.
 */
pca_err conf_check_known(const struct conf *, const char *const *known) PCA_WUR;
/* The file name given to conf_load / conf_parse. */
const char *conf_name(const struct conf *);

#endif
