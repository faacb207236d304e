/* pcactl.h - shared by the pcactl source files. */
#ifndef PCA_CMD_PCACTL_H
#define PCA_CMD_PCACTL_H

#include "../common/err.h"

/* pcactl init DIR [...]: lays out a ready appliance; returns exit code. */
int pcactl_init(int argc, char **argv);

/*
 * pcactl token migrate ... (cmd/pcactl_token.c): the access-key secrets
 * re-sealed under another token, pcad.conf's [hsm] rewritten; returns exit
 * code.
 */
int pcactl_token(const char *config, int argc, char **argv);

/* Prints "pcactl: <message>" for err and returns 1. */
int pcactl_fail(pca_err err);

#endif
