/* pcactl.h - shared by the pcactl source files. */
#ifndef PCA_CMD_PCACTL_H
#define PCA_CMD_PCACTL_H

#include "../common/err.h"

/* pcactl init DIR [...]: lays out a ready appliance; returns exit code. */
int pcactl_init(int argc, char **argv);

/*
 * The API TLS material of a new appliance in DIR/tls (ca.pem, server.pem,
 * server.key); restore uses it when no TLS files are given.
 */
pca_err pcactl_init_tls(const char *dir) PCA_WUR;

/* pcactl backup --to FILE | verify FILE (pcactl_backup.c). */
int pcactl_backup(const char *config_path, int argc, char **argv);
/* pcactl restore BACKUP DIR [...] (pcactl_backup.c). */
int pcactl_restore(int argc, char **argv);

/* Prints "pcactl: <message>" for err and returns 1. */
int pcactl_fail(pca_err err);

#endif
