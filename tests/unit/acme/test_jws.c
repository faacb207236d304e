/*
 * test_jws.c - acme/jws.c: base64url, the strict protected-header rules of
 * RFC 8555 6.2, signature verification (RFC 8037 A.4 Ed25519 example, then
 * the same with a flipped bit) and RFC 7638 thumbprints (RFC 8037 A.3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../acme/acme.h"

#define ED_JWK                                                                 \
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\","                                \
	"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
#define ED_JWS                                                                 \
	"{\"protected\":\"eyJhbGciOiJFZERTQSJ9\","                             \
	"\"payload\":\"RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc\","                 \
	"\"signature\":\"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR" \
	"4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg\"}"

static void
test_b64url(void **state)
{
	const uint8_t in[] = {0xfb, 0xff, 0x00, 0x41};
	char *s = NULL;
	uint8_t *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(acme_b64url_encode(in, sizeof(in), &s), PCA_OK);
	assert_string_equal(s, "-_8AQQ");
	assert_int_equal(acme_b64url_decode(s, strlen(s), 16, &out, &n),
	    PCA_OK);
	assert_int_equal(n, sizeof(in));
	assert_memory_equal(out, in, n);
	free(out);
	free(s);
	assert_int_not_equal(acme_b64url_decode("a+b/", 4, 16, &out, &n),
	    PCA_OK);
	assert_int_not_equal(acme_b64url_decode("abcde", 5, 16, &out, &n),
	    PCA_OK);
	assert_int_not_equal(acme_b64url_decode("AAAAAAAA", 8, 4, &out, &n),
	    PCA_OK);
}

/* A flattened JWS whose protected header is hdr (JSON text). */
static char *
jws_with(const char *hdr)
{
	char *p = NULL, *out;
	size_t n;

	assert_int_equal(
	    acme_b64url_encode((const uint8_t *)hdr, strlen(hdr), &p), PCA_OK);
	n = strlen(p) + 64;
	out = malloc(n);
	assert_non_null(out);
	(void)snprintf(out, n,
	    "{\"protected\":\"%s\",\"payload\":\"e30\",\"signature\":\"AA\"}",
	    p);
	free(p);
	return out;
}

static enum acme_jws_err
parse_hdr(const char *hdr, const char **why)
{
	struct acme_jws j;
	char *b = jws_with(hdr);
	enum acme_jws_err e;

	e = acme_jws_parse((const uint8_t *)b, strlen(b), 0, &j, why);
	if (e == ACME_JWS_OK) {
		assert_string_equal(j.url, "https://h/u");
		assert_int_equal(j.payload_len, 2);
		acme_jws_clear(&j);
	}
	free(b);
	return e;
}

static void
test_header_rules(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(parse_hdr("{\"alg\":\"ES256\",\"nonce\":\"n\","
				   "\"url\":\"https://h/u\",\"kid\":\"k\"}",
			     &why),
	    ACME_JWS_OK);
	assert_int_equal(parse_hdr("{\"alg\":\"none\",\"nonce\":\"n\","
				   "\"url\":\"https://h/u\",\"kid\":\"k\"}",
			     &why),
	    ACME_JWS_BADALG);
	assert_int_equal(parse_hdr("{\"alg\":\"HS256\",\"nonce\":\"n\","
				   "\"url\":\"https://h/u\",\"kid\":\"k\"}",
			     &why),
	    ACME_JWS_BADALG);
	assert_int_equal(parse_hdr("{\"alg\":\"ES256\","
				   "\"url\":\"https://h/u\",\"kid\":\"k\"}",
			     &why),
	    ACME_JWS_MALFORMED);
	assert_non_null(strstr(why, "nonce"));
	assert_int_equal(parse_hdr("{\"alg\":\"ES256\",\"nonce\":\"n\","
				   "\"kid\":\"k\"}",
			     &why),
	    ACME_JWS_MALFORMED);
	assert_non_null(strstr(why, "url"));
	assert_int_equal(
	    parse_hdr("{\"alg\":\"ES256\",\"nonce\":\"n\","
		      "\"url\":\"https://h/u\",\"kid\":\"k\",\"jwk\":{}}",
		&why),
	    ACME_JWS_MALFORMED);
	assert_int_equal(parse_hdr("{\"alg\":\"ES256\",\"nonce\":\"n\","
				   "\"url\":\"https://h/u\"}",
			     &why),
	    ACME_JWS_MALFORMED);
	assert_int_equal(
	    parse_hdr("{\"alg\":\"ES256\",\"nonce\":\"n\","
		      "\"url\":\"https://h/u\",\"kid\":\"k\",\"crit\":[\"x\"]}",
		&why),
	    ACME_JWS_MALFORMED);
	assert_non_null(strstr(why, "crit"));
	assert_int_equal(
	    parse_hdr("{\"alg\":\"ES256\",\"alg\":\"ES256\","
		      "\"nonce\":\"n\",\"url\":\"https://h/u\",\"kid\":\"k\"}",
		&why),
	    ACME_JWS_MALFORMED);
	assert_int_equal(parse_hdr("[1]", &why), ACME_JWS_MALFORMED);
}

static void
test_body_rules(void **state)
{
	struct acme_jws j;
	const char *why = NULL;
	static const char *const bad[] = {"", "null", "{}", "[]",
	    "{\"protected\":1,\"payload\":\"\",\"signature\":\"\"}",
	    "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"\","
	    "\"header\":{}}",
	    "{\"protected\":\"!!\",\"payload\":\"\",\"signature\":\"\"}"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(acme_jws_parse((const uint8_t *)bad[i],
				     strlen(bad[i]), 0, &j, &why),
		    ACME_JWS_MALFORMED);
}

static void
test_verify_ed25519(void **state)
{
	const char *why = NULL;
	char bad[] = ED_JWS;
	char *p;

	(void)state;
	assert_int_equal(acme_jws_verify((const uint8_t *)ED_JWS,
			     strlen(ED_JWS), "EdDSA", ED_JWK, &why),
	    ACME_JWS_OK);
	p = strstr(bad, "hgyY");
	assert_non_null(p);
	p[0] = 'i';
	assert_int_equal(acme_jws_verify((const uint8_t *)bad, strlen(bad),
			     "EdDSA", ED_JWK, &why),
	    ACME_JWS_BADSIG);
	/* the key does not fit the algorithm */
	assert_int_equal(acme_jws_verify((const uint8_t *)ED_JWS,
			     strlen(ED_JWS), "ES256", ED_JWK, &why),
	    ACME_JWS_BADKEY);
	/* a private key member is refused */
	assert_int_equal(
	    acme_jws_verify((const uint8_t *)ED_JWS, strlen(ED_JWS), "EdDSA",
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
		"\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\"}",
		&why),
	    ACME_JWS_BADKEY);
}

static void
test_thumbprint(void **state)
{
	char t[44];

	(void)state;
	assert_int_equal(acme_jwk_thumbprint(ED_JWK, t), PCA_OK);
	assert_string_equal(t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	assert_int_not_equal(acme_jwk_thumbprint("{\"kty\":\"oct\"}", t),
	    PCA_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url),
	    cmocka_unit_test(test_header_rules),
	    cmocka_unit_test(test_body_rules),
	    cmocka_unit_test(test_verify_ed25519),
	    cmocka_unit_test(test_thumbprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
