/*
 * errors.c - the one place where pca_err codes become ACM-PCA exception
 * names and HTTP statuses (spec 1.4).  Transient faults become 5xx or
 * ThrottlingException (botocore retries both); permanent ones the modelled
 * 4xx exceptions.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api_int.h"

static const struct {
	pca_err err;
	int status;
	const char *code;
} generic[] = {
    {PCA_EBADARN, 400, "InvalidArnException"},
    {PCA_ENOTFOUND, 400, "ResourceNotFoundException"},
    {PCA_ESTATE, 400, "InvalidStateException"},
    {PCA_EINVAL, 400, "InvalidArgsException"},
    {PCA_EUNSUPPORTED, 400, "InvalidArgsException"},
    {PCA_EPARSE, 400, "InvalidArgsException"},
    {PCA_EBADCSR, 400, "MalformedCSRException"},
    {PCA_EBADCERT, 400, "MalformedCertificateException"},
    {PCA_EMISMATCH, 400, "CertificateMismatchException"},
    {PCA_EBADREQ, 400, "InvalidRequestException"},
    {PCA_EALREADY, 400, "RequestAlreadyProcessedException"},
    {PCA_ELIMIT, 400, "LimitExceededException"},
    {PCA_EINPROGRESS, 400, "RequestInProgressException"},
    {PCA_EVALIDATION, 400, "ValidationException"},
    {PCA_ETOOBIG, 400, "ValidationException"},
    {PCA_EPOLICY, 400, "InvalidPolicyException"},
    {PCA_EEXISTS, 400, "InvalidRequestException"},
    /* permanent dependency failures, safe to report */
    {PCA_EHSM, 400, "RequestFailedException"},
    {PCA_EKEYMISMATCH, 400, "RequestFailedException"},
    {PCA_EDBFULL, 400, "RequestFailedException"},
    /* transient: retried by the clients */
    {PCA_EBUSY, 400, "ThrottlingException"},
    {PCA_EUNAVAIL, 503, "ServiceUnavailable"},
    {PCA_EIO, 503, "ServiceUnavailable"},
    {PCA_EDB, 500, "InternalFailure"},
    {PCA_ENOMEM, 500, "InternalFailure"},
    {PCA_EINTERNAL, 500, "InternalFailure"},
};

/* Operation-specific names for the same engine codes. */
static const struct {
	const char *op;
	pca_err err;
	const char *code;
} per_op[] = {
    {"TagCertificateAuthority", PCA_EINVAL, "InvalidTagException"},
    {"TagCertificateAuthority", PCA_ELIMIT, "TooManyTagsException"},
    {"UntagCertificateAuthority", PCA_EINVAL, "InvalidTagException"},
    {"CreateCertificateAuthority", PCA_EPOLICY, "InvalidPolicyException"},
    /* the S3 probe (spec 5.1): S3 unreachable */
    {"CreateCertificateAuthority", PCA_EIO, "RequestFailedException"},
    {"UpdateCertificateAuthority", PCA_EIO, "RequestFailedException"},
    {"CreatePermission", PCA_EEXISTS, "PermissionAlreadyExistsException"},
    {"PutPolicy", PCA_EINVAL, "InvalidPolicyException"},
    {"PutPolicy", PCA_EPOLICY, "InvalidPolicyException"},
    {"DeletePolicy", PCA_EPOLICY, "LockoutPreventedException"},
};

void
api_error_set(struct api_error *e, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void
api_error_from(const char *op, pca_err err, const char *msg,
    struct api_error *out)
{
	size_t i;

	out->status = 500;
	out->code = "InternalFailure";
	for (i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
		if (generic[i].err == err) {
			out->status = generic[i].status;
			out->code = generic[i].code;
			break;
		}
	for (i = 0; op != NULL && i < sizeof(per_op) / sizeof(per_op[0]); i++)
		if (per_op[i].err == err && strcmp(per_op[i].op, op) == 0) {
			out->code = per_op[i].code;
			out->status = 400;
			break;
		}
	if (out->status >= 500)
		/* details go to the log, not to the client */
		(void)snprintf(out->message, sizeof(out->message), "%s",
		    err == PCA_EUNAVAIL || err == PCA_EIO
			? "The service is temporarily unavailable; retry later."
			: "An internal error occurred; retry later.");
	else if (out->code[0] == 'T' &&
		 strcmp(out->code, "ThrottlingException") == 0)
		(void)snprintf(out->message, sizeof(out->message),
		    "Rate exceeded: %s", msg && *msg ? msg : "busy");
	else
		(void)snprintf(out->message, sizeof(out->message), "%s",
		    msg && *msg ? msg : pca_strerror(err));
}
