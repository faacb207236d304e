/*
 * fuzz_nexttoken.c - libFuzzer target for NextToken decoding (api/token.c,
 * used by api/inventory.c): the first byte picks a mode, the rest is
 *   0: a NextToken as a client sends it (api_token_open);
 *   1: a token payload, signed here with the same HMAC-SHA256 (truncated
 *      to 16 bytes) so the JSON behind the MAC is reached too;
 *   2: a "last key" of the length inventory.c gives (the hex of a cursor,
 *      at most 2 * STORE_INV_CURSOR_MAX characters): api_token_make, then
 *      api_token_open must give it back unchanged, and the hex cursor is
 *      decoded as inventory.c does.  (api_token_make accepts longer keys
 *      whose token api_token_open then refuses as longer than TOKEN_MAX.)
 * Seeds: tests/fuzz/corpus/nexttoken/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../../api/api_int.h"
#include "../../common/util.h"
#include "../../store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OP "OpenPCA.ListCertificates"
#define SCOPE "111122223333|us-east-1|-|-|0|0|-|-"

static const uint8_t key[API_TOKEN_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};

/* base64url without padding of n bytes into a new string. */
static char *
b64url(const uint8_t *p, size_t n)
{
	char *s = malloc(4 * (n / 3 + 1) + 1), *c;
	int len;

	if (s == NULL)
		return NULL;
	len = EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	while (len > 0 && s[len - 1] == '=')
		len--;
	s[len] = '\0';
	for (c = s; *c != '\0'; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	return s;
}

static void
open_one(const char *tok)
{
	uint8_t cur[STORE_INV_CURSOR_MAX];
	char *last = NULL;
	size_t n;

	if (api_token_open(key, OP, SCOPE, tok, &last) == PCA_OK) {
		(void)util_unhex(last, cur, sizeof(cur), &n);
		free(last);
	}
	pca_err_clear();
}

static void
signed_payload(const uint8_t *p, size_t n)
{
	uint8_t m[32];
	unsigned int ml = sizeof(m);
	char *a, *b, *tok;

	(void)HMAC(EVP_sha256(), key, sizeof(key), p, n, m, &ml);
	a = b64url(p, n);
	b = b64url(m, 16);
	if (a != NULL && b != NULL &&
	    (tok = malloc(strlen(a) + strlen(b) + 2)) != NULL) {
		memcpy(tok, a, strlen(a));
		tok[strlen(a)] = '.';
		memcpy(tok + strlen(a) + 1, b, strlen(b) + 1);
		open_one(tok);
		free(tok);
	}
	free(a);
	free(b);
}

static void
roundtrip(const char *last)
{
	char *tok = NULL, *back = NULL;

	if (api_token_make(key, OP, SCOPE, last, &tok) == PCA_OK) {
		if (api_token_open(key, OP, SCOPE, tok, &back) != PCA_OK ||
		    strcmp(back, last) != 0)
			abort(); /* a token we made must open */
		free(back);
		open_one(tok);
		free(tok);
	}
	pca_err_clear();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 8192 || (s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		open_one(s);
		break;
	case 1:
		signed_payload(data + 1, size - 1);
		break;
	default:
		/* a C string, as JSON gives, no longer than a hex cursor */
		if (strlen(s) == size - 1 &&
		    size - 1 <= 2 * STORE_INV_CURSOR_MAX)
			roundtrip(s);
		break;
	}
	free(s);
	return 0;
}
