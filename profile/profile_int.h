/*
 * profile_int.h - helpers shared by the files of profile/ (subject.c,
 * template.c, tbs.c, csrinfo.c, serial.c) and its unit tests.
 */
#ifndef PCA_PROFILE_INT_H
#define PCA_PROFILE_INT_H

#include "../x509/x509.h"
#include "profile.h"

/* A JSON path for messages; a path that does not fit is cut short. */
void prof_fieldf(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A JSON string of at most max characters (UTF-8, no NUL). */
pca_err prof_json_string(const json_t *, const char *field, size_t max,
    const char **s, size_t *len) PCA_WUR;
/* A model CustomObjectIdentifier string ("1.2.3") to an object. */
pca_err prof_oid_from_json(const json_t *, const char *field,
    ASN1_OBJECT **out) PCA_WUR;
/* prof_general_name_from_json naming field (a JSON path) in errors. */
pca_err prof_gn_from_json(const json_t *, const char *field,
    GENERAL_NAME **out) PCA_WUR;
/* A GeneralNameList of 1..LIM_SAN_ENTRIES names. */
pca_err prof_general_names_from_json(const json_t *, const char *field,
    GENERAL_NAMES **out) PCA_WUR;
/*
 * An ACM-PCA KeyUsage object to the keyUsage extnValue (a DER BIT STRING
 * of at most 5 bytes); at least one usage must be true.
 */
pca_err prof_ku_from_json(const json_t *, const char *field, uint8_t out[5],
    size_t *len) PCA_WUR;
/* Every template of spec 4.2 (for tests). */
const struct prof_template *prof_template_all(size_t *n);

#endif
