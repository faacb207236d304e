/*
 * fuzz_json.c - libFuzzer target for the request decoder: the first byte
 * picks one of the 23 operations, the rest is the body, decoded and checked
 * against that operation's input shape; the same bytes are also offered as
 * a NextToken and as a resource policy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[API_TOKEN_KEY_LEN] = {7};
	const struct api_op *op;
	const char *code = NULL;
	char *text, *last = NULL;
	json_t *in = NULL;

	if (size == 0)
		return 0;
	op = &api_ops[data[0] % api_nops];
	if (api_json_decode(data + 1, size - 1, &in) == PCA_OK) {
		(void)api_shape_check(op, in, &code);
		json_decref(in);
	}
	if ((text = malloc(size)) != NULL) {
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		if (api_token_open(key, op->name, "scope", text, &last) ==
		    PCA_OK)
			free(last);
		(void)api_policy_shares(text, "222233334444");
		free(text);
	}
	pca_err_clear();
	return 0;
}
