/*
 * policy.h - issuance policies: pure judgement over what a certificate
 * would contain.  policy/ signs nothing and stores nothing; ca/ asks it
 * (through the hook cmd/ installs) before anything is reserved or signed.
 *
 * Four built-in policies (web_server, client_auth, code_signing,
 * internal_service) and operator-defined ones from a policy file (see
 * conf/policies.example), bound to a CA and optionally to an access key.
 *
 * A refusal is PCA_EBADCSR for a fault of the CSR itself (the key) and
 * PCA_EINVAL for everything else, with the message
 *   "policy NAME: rule RULE: detail"
 * so that the rule reaches the API caller (MalformedCSRException /
 * InvalidArgsException).
 */
#ifndef PCA_POLICY_H
#define PCA_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509v3.h>

#include "../common/err.h"

#define POL_NAME_MAX 64
#define POL_LIST_MAX 32  /* entries in one list setting */
#define POL_BIND_MAX 256 /* bindings in one file */
#define POL_MAX 64       /* operator-defined policies in one file */

enum pol_key { POL_KEY_OTHER = 0, POL_KEY_RSA, POL_KEY_EC };

/* ExtendedKeyUsage purposes as bits. */
#define POL_EKU_SERVER 0x01u
#define POL_EKU_CLIENT 0x02u
#define POL_EKU_CODE 0x04u
#define POL_EKU_EMAIL 0x08u
#define POL_EKU_TIME 0x10u
#define POL_EKU_OCSP 0x20u
#define POL_EKU_OTHER 0x40u /* any other OID */

/* What is judged: one certificate as it would be issued. */
struct pol_input {
	enum pol_key key;
	int key_bits;        /* RSA modulus bits; EC field bits (256...) */
	const char *sig_alg; /* "SHA256WITHRSA", ...; NULL: not judged */
	int64_t validity_s;  /* issuance to notAfter; < 0: not judged */
	const char *tmpl;    /* "EndEntityCertificate/V1"; NULL: not judged */
	int has_eku;         /* an ExtendedKeyUsage extension is present */
	int eku_unknown;     /* EKU not judged (a CSR that requests none:
				the template will decide) */
	unsigned eku;        /* POL_EKU_* */
	X509_NAME *subject;  /* owned */
	GENERAL_NAMES *san;  /* owned; NULL when there is none */
};

/*
 * From a DER TBSCertificate (what ca/ is about to sign): key, subject,
 * SAN and EKU; sig_alg, validity_s and tmpl are left unset for the caller.
 * PCA_EPARSE when the bytes are not a TBSCertificate.
 */
pca_err pol_input_from_tbs(const uint8_t *tbs, size_t len,
    struct pol_input *out) PCA_WUR;
/*
 * From a CSR (PEM or DER, as read from a file) for an offline check: key,
 * subject and the requested SAN and EKU.  PCA_EBADCSR when it does not
 * parse.
 */
pca_err pol_input_from_csr(const uint8_t *p, size_t len,
    struct pol_input *out) PCA_WUR;
void pol_input_clear(struct pol_input *);

struct pol;     /* one named policy */
struct pol_set; /* the built-ins, the file's policies, bindings */

/* The built-ins only, no bindings. */
pca_err pol_set_new(struct pol_set **out) PCA_WUR;
/*
 * The built-ins plus the policies and bindings of a policy file.  Every
 * error names the file, the line and the setting.
 */
pca_err pol_set_load(const char *path, struct pol_set **out) PCA_WUR;
pca_err pol_set_parse(const char *text, size_t len, const char *name,
    struct pol_set **out) PCA_WUR;
void pol_set_free(struct pol_set *);

/* The policy called name, or NULL (borrowed: valid until pol_set_free). */
const struct pol *pol_set_get0(const struct pol_set *, const char *name);
/*
 * The policy bound to this access key on this CA, else the one bound to
 * the CA, else the one bound to "*", else NULL (no policy applies).
 * ca is a CA UUID; access_key may be NULL.
 */
const struct pol *pol_set_lookup0(const struct pol_set *, const char *ca,
    const char *access_key);
/* The names of every policy, built-ins first (n of them). */
const char *pol_set_name(const struct pol_set *, size_t i);
size_t pol_set_count(const struct pol_set *);
const char *pol_name(const struct pol *);

/*
 * Judges in against p.  PCA_OK when every rule passes; otherwise the code
 * and message of the first rule that failed (see the top of this file).
 * note, when not NULL, is told about every rule (ok 1/0, or -1 when the
 * input lacks what the rule needs), and every rule is evaluated.
 */
pca_err pol_check(const struct pol *p, const struct pol_input *in,
    void (*note)(const char *rule, int ok, const char *detail, void *arg),
    void *arg) PCA_WUR;

/*
 * The nameConstraints extnValue (RFC 5280 4.2.1.10) that p stamps on the
 * subordinate CA certificates issued by a CA it is bound to: DER, owned by
 * the caller.  *der is NULL (and *len 0) when p defines no constraint.
 */
pca_err pol_name_constraints_der(const struct pol *p, uint8_t **der,
    size_t *len) PCA_WUR;

#endif
