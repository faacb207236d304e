/*
 * err.h - the project's single error enum and a per-thread detail message.
 *
 * A function that can fail returns enum pca_err and sets its out-parameters
 * only on success.  The code that detects a failure records one readable
 * sentence with pca_err_set(); callers translate the code (api/ maps it onto
 * ACM-PCA exception names, pcactl prints the sentence) and do not log again.
 *
 * The enum is append-only: never renumber or remove a value.
 */
#ifndef PCA_COMMON_ERR_H
#define PCA_COMMON_ERR_H

enum pca_err {
	PCA_OK = 0,
	PCA_EINVAL,       /* semantically invalid argument (InvalidArgs) */
	PCA_ENOMEM,       /* allocation failed */
	PCA_ETOOBIG,      /* input over a limit in limits.h */
	PCA_EPARSE,       /* input does not parse */
	PCA_EPOLICY,      /* refused by policy */
	PCA_ENOTFOUND,    /* no such record */
	PCA_EEXISTS,      /* record already exists */
	PCA_ESTATE,       /* state does not allow the operation */
	PCA_EHSM,         /* token refused an operation (permanent) */
	PCA_EUNAVAIL,     /* token unavailable: retry later */
	PCA_EDB,          /* store failure */
	PCA_EDBFULL,      /* store at its maximum size */
	PCA_EIO,          /* filesystem error (disk full, read-only) */
	PCA_EBADCSR,      /* CSR malformed, bad signature, bad key */
	PCA_EBADCERT,     /* certificate or chain malformed */
	PCA_EMISMATCH,    /* certificate does not match key or issuer */
	PCA_EBADREQ,      /* request shape invalid (InvalidRequest) */
	PCA_EALREADY,     /* already done (RequestAlreadyProcessed) */
	PCA_EBADARN,      /* ARN malformed or not the caller's */
	PCA_ELIMIT,       /* quota reached */
	PCA_EINPROGRESS,  /* not ready yet */
	PCA_EVALIDATION,  /* shape constraint (ValidationException) */
	PCA_EKEYMISMATCH, /* token key differs from the CA certificate's */
	PCA_EUNSUPPORTED, /* algorithm or feature not supported */
	PCA_EINTERNAL,    /* a bug: should not happen */
	PCA_EBUSY,        /* concurrent modification */
	PCA_E_MAX
};

typedef enum pca_err pca_err;

/* Short fixed name of a code, e.g. "EBADCSR"; never NULL. */
const char *pca_strerror(pca_err);

/* True for codes a client should retry (token down, store busy). */
int pca_err_retryable(pca_err);

/*
 * Records a detail message for the calling thread and returns code, so a
 * failure reads:  return pca_err_set(PCA_EBADCSR, "CSR signature ...");
 * The arguments may include pca_err_msg() (to prefix or re-code it).
 */
pca_err pca_err_set(pca_err code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The calling thread's last detail message ("" if none). */
const char *pca_err_msg(void);

/* Clears the calling thread's detail message. */
void pca_err_clear(void);

/*
 * Appends the OpenSSL error queue (most recent reason only) to the thread's
 * message and clears the queue.
 */
void pca_err_add_openssl(void);

#define PCA_WUR __attribute__((warn_unused_result))

#endif
