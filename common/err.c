#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "err.h"

#define ERR_MSG_MAX 512

static _Thread_local char err_msg[ERR_MSG_MAX];

static const char *const names[PCA_E_MAX] = {
    [PCA_OK] = "OK",
    [PCA_EINVAL] = "EINVAL",
    [PCA_ENOMEM] = "ENOMEM",
    [PCA_ETOOBIG] = "ETOOBIG",
    [PCA_EPARSE] = "EPARSE",
    [PCA_EPOLICY] = "EPOLICY",
    [PCA_ENOTFOUND] = "ENOTFOUND",
    [PCA_EEXISTS] = "EEXISTS",
    [PCA_ESTATE] = "ESTATE",
    [PCA_EHSM] = "EHSM",
    [PCA_EUNAVAIL] = "EUNAVAIL",
    [PCA_EDB] = "EDB",
    [PCA_EDBFULL] = "EDBFULL",
    [PCA_EIO] = "EIO",
    [PCA_EBADCSR] = "EBADCSR",
    [PCA_EBADCERT] = "EBADCERT",
    [PCA_EMISMATCH] = "EMISMATCH",
    [PCA_EBADREQ] = "EBADREQ",
    [PCA_EALREADY] = "EALREADY",
    [PCA_EBADARN] = "EBADARN",
    [PCA_ELIMIT] = "ELIMIT",
    [PCA_EINPROGRESS] = "EINPROGRESS",
    [PCA_EVALIDATION] = "EVALIDATION",
    [PCA_EKEYMISMATCH] = "EKEYMISMATCH",
    [PCA_EUNSUPPORTED] = "EUNSUPPORTED",
    [PCA_EINTERNAL] = "EINTERNAL",
    [PCA_EBUSY] = "EBUSY",
};

const char *
pca_strerror(pca_err code)
{
	if ((unsigned)code >= PCA_E_MAX || names[code] == NULL)
		return "EUNKNOWN";
	return names[code];
}

int
pca_err_retryable(pca_err code)
{
	return code == PCA_EUNAVAIL || code == PCA_EBUSY;
}

pca_err
pca_err_set(pca_err code, const char *fmt, ...)
{
	va_list ap;
	char tmp[ERR_MSG_MAX];

	/* via tmp: the arguments may include pca_err_msg() itself */
	va_start(ap, fmt);
	(void)vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	memcpy(err_msg, tmp, sizeof(err_msg));
	return code;
}

const char *
pca_err_msg(void)
{
	return err_msg;
}

void
pca_err_clear(void)
{
	err_msg[0] = '\0';
}

void
pca_err_add_openssl(void)
{
	unsigned long e;
	char reason[256];
	size_t n;

	e = ERR_peek_last_error();
	if (e != 0) {
		ERR_error_string_n(e, reason, sizeof(reason));
		n = strlen(err_msg);
		if (n + 3 < sizeof(err_msg))
			(void)snprintf(err_msg + n, sizeof(err_msg) - n,
			    " (%s)", reason);
	}
	ERR_clear_error();
}
