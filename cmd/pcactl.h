/* pcactl.h - shared by the pcactl source files. */
#ifndef PCA_CMD_PCACTL_H
#define PCA_CMD_PCACTL_H

#include <stdio.h>

#include "../common/err.h"

/* pcactl init DIR [...]: lays out a ready appliance; returns exit code. */
int pcactl_init(int argc, char **argv);

/* Prints "pcactl: <message>" for err and returns 1. */
int pcactl_fail(pca_err err);

/* pcactl_help.c: the overview, and the help of "CMD [SUB]" (0: none). */
void pcactl_usage(FILE *);
int pcactl_help(const char *cmd, const char *sub, FILE *);

#endif
