/*
 * test_frame.c - the request-head rules (http/frame.c, RFC 9112 section
 * 6.3): every ambiguous framing shape is refused, the plain ones pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../http/http.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static pca_err
judge(const struct http_hdr *h, size_t n, enum http_body *b, uint64_t *cl)
{
	pca_err err = http_head_check(h, n, b, cl);

	pca_err_clear();
	return err;
}

static void
test_plain_heads_pass(void **state)
{
	const struct http_hdr none[] = {{"Host", "x"}};
	const struct http_hdr cl[] = {{"Host", "x"}, {"Content-Length", "42"}};
	const struct http_hdr same[] = {{"Content-Length", "7"},
	    {"content-length", "7"}};
	const struct http_hdr te[] = {{"Transfer-Encoding", "Chunked"}};
	enum http_body b;
	uint64_t n;

	(void)state;
	assert_int_equal(judge(none, N(none), &b, &n), PCA_OK);
	assert_int_equal(b, HTTP_BODY_NONE);
	assert_int_equal(judge(cl, N(cl), &b, &n), PCA_OK);
	assert_int_equal(b, HTTP_BODY_LENGTH);
	assert_int_equal(n, 42);
	assert_int_equal(judge(same, N(same), &b, &n), PCA_OK);
	assert_int_equal(n, 7);
	assert_int_equal(judge(te, N(te), &b, &n), PCA_OK);
	assert_int_equal(b, HTTP_BODY_CHUNKED);
}

static void
test_ambiguous_framing_refused(void **state)
{
	const struct http_hdr both[] = {{"Content-Length", "5"},
	    {"Transfer-Encoding", "chunked"}};
	const struct http_hdr two[] = {{"Content-Length", "5"},
	    {"Content-Length", "6"}};
	const struct http_hdr space[] = {{"Content-Length ", "5"}};
	const struct http_hdr xte[] = {{"Transfer-Encoding", "xchunked"}};
	const struct http_hdr list[] = {{"Transfer-Encoding", "chunked, gzip"}};
	const struct http_hdr ident[] = {{"Transfer-Encoding", "identity"}};
	const struct http_hdr tete[] = {{"Transfer-Encoding", "chunked"},
	    {"Transfer-Encoding", "chunked"}};
	const struct http_hdr sign[] = {{"Content-Length", "+5"}};
	const struct http_hdr clist[] = {{"Content-Length", "5, 5"}};
	const struct http_hdr empty[] = {{"Content-Length", ""}};
	const struct http_hdr huge[] = {
	    {"Content-Length", "99999999999999999999999"}};
	const struct http_hdr noname[] = {{"", "x"}};
	const struct http_hdr ctl[] = {{"X\001", "x"}};
	struct {
		const struct http_hdr *h;
		size_t n;
	} bad[] = {{both, N(both)}, {two, N(two)}, {space, N(space)},
	    {xte, N(xte)}, {list, N(list)}, {ident, N(ident)}, {tete, N(tete)},
	    {sign, N(sign)}, {clist, N(clist)}, {empty, N(empty)},
	    {huge, N(huge)}, {noname, N(noname)}, {ctl, N(ctl)}};
	enum http_body b;
	uint64_t n;
	size_t i;

	(void)state;
	for (i = 0; i < N(bad); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(judge(bad[i].h, bad[i].n, &b, &n), PCA_EPARSE);
	}
}

static void
test_header_limits(void **state)
{
	static struct http_hdr many[HTTP_MAX_HEADERS + 1];
	static char big[HTTP_MAX_HEADER_BLOCK + 2];
	struct http_hdr one[1] = {{"X-Big", big}};
	enum http_body b;
	uint64_t n;
	size_t i;

	(void)state;
	for (i = 0; i < N(many); i++)
		many[i] = (struct http_hdr){"X-A", "b"};
	assert_int_equal(judge(many, HTTP_MAX_HEADERS, &b, &n), PCA_OK);
	assert_int_equal(judge(many, N(many), &b, &n), PCA_ETOOBIG);
	memset(big, 'a', sizeof(big) - 1);
	assert_int_equal(judge(one, 1, &b, &n), PCA_ETOOBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_heads_pass),
	    cmocka_unit_test(test_ambiguous_framing_refused),
	    cmocka_unit_test(test_header_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
