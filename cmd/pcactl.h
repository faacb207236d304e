/* pcactl.h - shared by the pcactl source files. */
#ifndef PCA_CMD_PCACTL_H
#define PCA_CMD_PCACTL_H

#include <stddef.h>

#include "../common/err.h"

struct hsm;

/* pcactl init DIR [...]: lays out a ready appliance; returns exit code. */
int pcactl_init(int argc, char **argv);

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

/* Prints "pcactl: <message>" for err and returns 1. */
int pcactl_fail(pca_err err);

#endif
