/*
 * rotate.c - OpenPCA.RotateCertificateAuthority: a new key for a CA (the
 * engine's ca_rotate).  The caller's own CAs only: a CA shared by a
 * resource policy is not rotated from another account (InvalidArn).
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

pca_err
api_op_rotate(struct api_call *call, const json_t *in, json_t **out)
{
	struct ca_rotate_req r;
	const json_t *days = json_object_get(in, "ValidityDays");
	char *arn = NULL;
	pca_err err;

	memset(&r, 0, sizeof(r));
	r.idempotency_token =
	    json_string_value(json_object_get(in, "IdempotencyToken"));
	r.validity_days =
	    json_is_integer(days) ? (int)json_integer_value(days) : 0;
	if ((err = ca_rotate(call->ctx->engine, &call->caller,
		 json_string_value(
		     json_object_get(in, "CertificateAuthorityArn")),
		 &r, &arn)) != PCA_OK)
		return err;
	*out = json_pack("{s:s}", "CertificateAuthorityArn", arn);
	free(arn);
	return *out ? PCA_OK : pca_err_set(PCA_ENOMEM, "no memory");
}
