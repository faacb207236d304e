/* pcactl.h - shared by the pcactl source files. */
#ifndef PCA_CMD_PCACTL_H
#define PCA_CMD_PCACTL_H

#include <stddef.h>
#include <stdio.h>

#include "../common/err.h"

struct hsm;

/* pcactl init DIR [...]: lays out a ready appliance; returns exit code. */
int pcactl_init(int argc, char **argv);

/* pcactl backup --to FILE | verify FILE (pcactl_backup.c). */
int pcactl_backup(const char *config_path, int argc, char **argv);
struct appliance;
/*
 * store verify --against-s3 URL (pcactl_backup.c): the certificates of the
 * change feed shipped under URL missing from the store, and the store's
 * certificates of the shipped span missing from the feed, one line each.
 */
pca_err pcactl_store_against_s3(struct appliance *, const char *url) PCA_WUR;
/* pcactl restore BACKUP DIR [...] (pcactl_backup.c). */
int pcactl_restore(int argc, char **argv);
/* pcactl promote [DIR] [--grace S]: a standby becomes primary. */
int pcactl_promote(const char *config_path, int argc, char **argv);

/*
 * pcactl token migrate ... (cmd/pcactl_token.c): the access-key secrets
 * re-sealed under another token, pcad.conf's [hsm] rewritten; returns exit
 * code.
 */
int pcactl_token(const char *config, int argc, char **argv);

/*
 * The API TLS material of a new appliance (cmd/pcactl_tls.c): dir/tls/
 * ca.pem (a TLS CA whose key is made in hsm), server.pem for names (plus
 * localhost, 127.0.0.1, ::1), server.key, ca.label.
 */
pca_err pcactl_tls_init(const char *dir, char *const *names, size_t nnames,
    struct hsm *hsm) PCA_WUR;
/* pcactl tls renew [--if-due|--force]; returns exit code. */
int pcactl_tls(const char *config, int argc, char **argv);
struct appliance;
/*
 * A new API server key and certificate from the appliance's TLS CA (in
 * the token; DIR/tls/ca.pem and ca.label), with the names of the current
 * certificate; if_due: only once 2/3 of its life have passed; quiet:
 * nothing on stdout.
 */
pca_err pcactl_tls_renew(struct appliance *, int if_due, int quiet) PCA_WUR;

/* pcactl cert renew-early --ca ARN [--serial S] (pcactl_acme.c). */
pca_err pcactl_cert_renew_early(struct appliance *, int argc,
    char **argv) PCA_WUR;

/* pcactl acme eab create --ca ARN [--names S,...] (pcactl_acme.c). */
pca_err pcactl_cmd_acme(struct appliance *, int argc, char **argv) PCA_WUR;

/* Prints "pcactl: <message>" for err and returns 1. */
int pcactl_fail(pca_err err);

/* ---- pcactl.c's helpers, shared by the pcactl_*.c files ---- */

#include <jansson.h>

#include "../ca/ca.h"

struct appliance;

extern int json_out; /* --json: one JSON document on stdout */
void print_json(json_t *);
/* Prints o (then decrefs it) as JSON; PCA_ENOMEM when o is NULL. */
pca_err print_json_new(json_t *o) PCA_WUR;
/* text to path, or stdout for NULL and "-" */
pca_err write_output(const char *path, const char *text) PCA_WUR;
/* Before anything changes: can option opt's path be written? */
pca_err out_check(const char *opt, const char *path) PCA_WUR;
/* A bare CA id to its ARN (an ARN is copied). */
void ca_arn_expand(const struct appliance *, const char *in, char *out,
    size_t n);
const char *opt_value(int argc, char **argv, const char *name);
/* Every "--x" known and with a value; npos positional arguments. */
pca_err opts_check(int argc, char **argv, const char *const *known, int npos,
    const char **pos) PCA_WUR;
struct ca_caller caller_of(const struct appliance *);

/* pcactl_cert.c: "cert list|show ...". */
pca_err pcactl_cmd_cert(struct appliance *, int argc, char **argv) PCA_WUR;
/* pcactl_discover.c: "discover ...", "cert import", "cert list --external". */
pca_err pcactl_cmd_discover(struct appliance *, int argc, char **argv) PCA_WUR;
pca_err pcactl_cert_import(struct appliance *, int argc, char **argv) PCA_WUR;
pca_err pcactl_cert_list_external(struct appliance *, int argc,
    char **argv) PCA_WUR;
/* pcactl_alerts.c: "alerts list | alerts ack ID". */
pca_err pcactl_cmd_alerts(struct appliance *, int argc, char **argv) PCA_WUR;
/* "SeenAt" (endpoints discovery saw cert_arn at) into o. */
void pcactl_seen_add(struct appliance *, const char *cert_arn, json_t *o);
/* pcactl_subject.c: "CN=x,O=y" to an ASN1Subject object. */
pca_err pcactl_subject_parse(const char *dn, json_t **out) PCA_WUR;

/* pcactl_help.c: the overview, and the help of "CMD [SUB]" (0: none). */
void pcactl_usage(FILE *);
int pcactl_help(const char *cmd, const char *sub, FILE *);

#endif
