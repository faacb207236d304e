/*
 * hsm_ipc.h - private to hsm/ (and its tests, the fuzz target): the frames
 * the front and the signer exchange over their socketpair.
 *
 * A frame is a fixed header {type, len, id, status} (host byte order: both
 * ends are the same binary on the same machine) and len bytes of body.  A
 * body is a sequence of fields, each a 32-bit length and that many bytes;
 * every type has a fixed field list with a length range per field (fixed
 * size fields: exact) and the fields must use the body exactly.  Anything
 * else is malformed: the receiver ends the peer (relayd's IMSG_SIZE_CHECK
 * plus exact-length rule).  A reply carries the request's id and type;
 * status is PCA_OK with the type's reply fields, or a pca_err code with one
 * field, the error message.
 */
#ifndef PCA_HSM_IPC_H
#define PCA_HSM_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../common/limits.h"

enum hsm_ipc_type {
	HSM_IPC_SIGN = 1,
	HSM_IPC_KEYGEN,
	HSM_IPC_SPKI,
	HSM_IPC_INFO,
	HSM_IPC_DESTROY,
	HSM_IPC_SEAL,
	HSM_IPC_UNSEAL,
	HSM_IPC_HEALTH,
	HSM_IPC_STATS,
	HSM_IPC_SIGV4, /* label, sealed, date, region, service -> kSigning */
	HSM_IPC_TYPE_MAX
};

struct hsm_ipc_hdr {
	uint32_t type;
	uint32_t len;    /* body bytes after the header */
	uint32_t id;     /* request id, echoed by the reply */
	uint32_t status; /* replies: pca_err; requests: 0 */
};

#define HSM_IPC_HDR_LEN ((size_t)sizeof(struct hsm_ipc_hdr))
/*
 * Limits are per message type (each type's field list, below in
 * hsm_ipc.c).  Only a SIGN request's TBS may be large: the TBSCertList of
 * a big CA's complete CRL or of a partition (~40-55 bytes per entry, so
 * 256 MiB is ~5M revoked entries; crl/ refuses a bigger one with a clear
 * error).  Every other type keeps its small bound.  The old single 32 MiB
 * limit (~700k entries) failed a CRL of 1,000,000 revocations.
 */
#define HSM_IPC_TBS_MAX ((size_t)256 * 1024 * 1024)
#define HSM_IPC_SIGN_FIXED (5 * 4 + LIM_LABEL + HSM_IPC_SPKI_MAX + 8)
/* the largest body of any type: a SIGN request with the largest TBS */
#define HSM_IPC_BODY_MAX (HSM_IPC_SIGN_FIXED + HSM_IPC_TBS_MAX)
#define HSM_IPC_FIELDS_MAX 5
#define HSM_IPC_MSG_MAX 512 /* an error message */
#define HSM_IPC_SPKI_MAX 4096
#define HSM_IPC_SECRET_MAX 4096
#define HSM_IPC_SEALED_MAX (HSM_IPC_SECRET_MAX + 64)
#define HSM_IPC_INFO_LEN 28  /* 7 x u32 */
#define HSM_IPC_STATS_LEN 28 /* 3 x u64 + u32 */

struct hsm_ipc_field {
	const uint8_t *p;
	size_t len;
};

struct hsm_ipc_msg {
	struct hsm_ipc_hdr hdr;
	size_t n;
	struct hsm_ipc_field f[HSM_IPC_FIELDS_MAX];
};

/*
 * Checks a header: known type, len within the type's bounds, status 0 on a
 * request and < PCA_E_MAX on a reply.  PCA_EPARSE with the rule broken.
 */
pca_err hsm_ipc_hdr_check(const struct hsm_ipc_hdr *, int reply) PCA_WUR;

/*
 * Splits body (hdr->len bytes) into the fields of hdr's type; the fields
 * point into body.  PCA_EPARSE when the body is not exactly that list.
 */
pca_err hsm_ipc_decode(const struct hsm_ipc_hdr *, int reply,
    const uint8_t *body, struct hsm_ipc_msg *out) PCA_WUR;

/*
 * Encodes a frame: header then the fields.  *out (caller frees) holds
 * HSM_IPC_HDR_LEN + body bytes.  PCA_ETOOBIG over the type's limit (a
 * SIGN request's TBS over HSM_IPC_TBS_MAX).
 */
pca_err hsm_ipc_encode(uint32_t type, uint32_t id, uint32_t status,
    const struct hsm_ipc_field *f, size_t n, uint8_t **out,
    size_t *out_len) PCA_WUR;

/* Whole-buffer I/O on a stream socket; EINTR retried.  0 on success, 1 on
 * end of file before the first byte (read only), -1 otherwise. */
int hsm_ipc_read_full(int fd, void *buf, size_t len);
int hsm_ipc_write_full(int fd, const void *buf, size_t len);

/*
 * Reads one frame: header, checks, body (caller frees *body).  PCA_EIO on
 * end of file or an I/O error, PCA_EPARSE on a malformed frame.
 */
pca_err hsm_ipc_read(int fd, int reply, struct hsm_ipc_msg *msg,
    uint8_t **body) PCA_WUR;

/* The label of field i as a C string (no NUL inside, 1..LIM_LABEL). */
pca_err hsm_ipc_label(const struct hsm_ipc_field *, char *out,
    size_t size) PCA_WUR;
uint32_t hsm_ipc_u32(const struct hsm_ipc_field *);

/* hsm_ipc.c: the front's side behind struct hsm (h->ipc != NULL). */
struct hsm;
struct hsm_key;
struct hsm_key_info;
struct hsm_stats;
pca_err hsm_ipc_sign(struct hsm *, const struct hsm_key *, uint32_t alg,
    const uint8_t *tbs, size_t tbs_len, uint8_t *sig, size_t *sig_len) PCA_WUR;
pca_err hsm_ipc_keygen(struct hsm *, const char *label, const uint8_t *id,
    size_t id_len, uint32_t alg, uint8_t **spki, size_t *spki_len) PCA_WUR;
pca_err hsm_ipc_spki(struct hsm *, const char *label, uint8_t **spki,
    size_t *spki_len) PCA_WUR;
pca_err hsm_ipc_info(struct hsm *, const char *label,
    struct hsm_key_info *) PCA_WUR;
pca_err hsm_ipc_destroy(struct hsm *, const char *label) PCA_WUR;
pca_err hsm_ipc_seal(struct hsm *, int unseal, const char *label,
    const uint8_t *in, size_t len, uint8_t **out, size_t *out_len) PCA_WUR;
struct hsm_sigv4_scope;
pca_err hsm_ipc_sigv4(struct hsm *, const char *label, const uint8_t *sealed,
    size_t len, const struct hsm_sigv4_scope *, uint8_t key[32]) PCA_WUR;
pca_err hsm_ipc_health(struct hsm *) PCA_WUR;
void hsm_ipc_stats(struct hsm *, struct hsm_stats *);
void hsm_ipc_close(struct hsm *);

#endif
