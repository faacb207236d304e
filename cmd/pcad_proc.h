/*
 * pcad_proc.h - pcad's front, keeper and signer processes (pcad_proc.c).
 */
#ifndef PCA_CMD_PCAD_PROC_H
#define PCA_CMD_PCAD_PROC_H

#include "../hsm/hsm_ipc.h"
#include "appliance.h"

/*
 * Forks the keeper, which starts signers for config path; *ctl is the
 * front's end for hsm_proxy_new.  Call while single-threaded, before the
 * listeners exist; lock_fd (the appliance lock, or -1) is not inherited.
 */
pca_err pcad_proc_keeper(const char *path, int lock_fd, int *ctl) PCA_WUR;

/*
 * The front, stopping, after it closed its token socket (appliance_close):
 * waits up to timeout_ms for the keeper, which waits for its signer, so
 * that the token is released when pcad exits (pcactl may use it at once).
 */
void pcad_proc_wait(int timeout_ms);

/*
 * Drops to [process] user (nothing without it; started as root without it
 * is a warning).  signer: adds [process] signer_group and turns core dumps
 * off again.
 */
pca_err pcad_proc_drop(const struct appliance_conf *, int signer) PCA_WUR;

/*
 * The front's system call filter (pcad_seccomp.c), for every thread: a
 * call outside the list is logged and ends the process.
 */
pca_err pcad_proc_seccomp(void) PCA_WUR;

/* pcad --role responder (pcad_responder.c): serves until SIGTERM. */
int pcad_responder_serve(const char *path);

#endif
