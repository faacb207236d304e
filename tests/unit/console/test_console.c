/*
 * test_console.c - the console's HTML escaper (every character that could
 * end a text node or an attribute value, control characters, NUL-free
 * output, bounded buffers) and its session table (random ids, constant
 * lookups, idle and absolute expiry, sign-out, the bound).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../../common/buf.h"
#include "../../../common/util.h"
#include "../../../console/console.h"

static char *
esc(struct buf *b, const char *s)
{
	b->len = 0;
	assert_int_equal(con_html_escape(b, s), PCA_OK);
	assert_int_equal(buf_nul(b), PCA_OK);
	return (char *)b->p;
}

static void
test_escape_specials(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_string_equal(esc(&b, "plain text 123"), "plain text 123");
	assert_string_equal(esc(&b, "<script>alert('x')</script>"),
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	assert_string_equal(esc(&b, "a&b \"q\""), "a&amp;b &quot;q&quot;");
	assert_string_equal(esc(&b, "\"><img src=x onerror=1>"),
	    "&quot;&gt;&lt;img src=x onerror=1&gt;");
	assert_string_equal(esc(&b, "&amp;"), "&amp;amp;");
	assert_string_equal(esc(&b, ""), "");
	/* UTF-8 passes untouched; newlines and tabs too */
	assert_string_equal(esc(&b, "Zürich\tline\n"), "Zürich\tline\n");
	buf_free(&b);
}

static void
test_escape_controls(void **state)
{
	struct buf b;
	const char raw[] = {'a', 0x01, 'b', 0x1b, 0x7f, 0x00, 'z'};
	char *s;

	(void)state;
	buf_init(&b, 4096);
	s = esc(&b, "x\ry");
	assert_string_equal(s, "x&#9229;y"); /* U+240D, never a raw CR */
	b.len = 0;
	assert_int_equal(con_html_escape_n(&b, raw, sizeof(raw)), PCA_OK);
	assert_int_equal(buf_nul(&b), PCA_OK);
	assert_string_equal((char *)b.p, "a&#9217;b&#9243;&#9249;&#65533;z");
	assert_null(memchr(b.p, 0x1b, b.len));
	buf_free(&b);
}

static void
test_escape_bounded(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(con_html_escape(&b, "<<<<<<"), PCA_ETOOBIG);
	pca_err_clear();
	buf_free(&b);
	buf_init(&b, 16);
	assert_int_equal(con_html_escape(&b, NULL), PCA_OK);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
hex_of(const struct con_session *s, char out[65])
{
	(void)util_hex(s->id, sizeof(s->id), out, 65, 0);
}

static void
test_session_open_find_close(void **state)
{
	struct con_sessions *t = NULL;
	struct con_session a, b, f;
	char ha[65], hb[65], bad[65];

	(void)state;
	assert_int_equal(con_sessions_new(4, &t), PCA_OK);
	assert_int_equal(con_session_open(t, "AKIAAAAAAAAAAAAAAAAA",
			     "111122223333", 1000, 60, 3600, &a),
	    PCA_OK);
	assert_int_equal(con_session_open(t, "AKIABBBBBBBBBBBBBBBB",
			     "111122223333", 1000, 60, 3600, &b),
	    PCA_OK);
	assert_memory_not_equal(a.id, b.id, sizeof(a.id));
	assert_string_not_equal(a.csrf, b.csrf);
	assert_int_equal(strlen(a.csrf), 64);
	hex_of(&a, ha);
	hex_of(&b, hb);
	assert_int_equal(con_session_find(t, ha, 1010, 60, 3600, &f), PCA_OK);
	assert_string_equal(f.akid, "AKIAAAAAAAAAAAAAAAAA");
	assert_string_equal(f.csrf, a.csrf);
	/* a near miss, a short id and garbage find nothing */
	memcpy(bad, ha, sizeof(bad));
	bad[63] = bad[63] == '0' ? '1' : '0';
	assert_int_equal(con_session_find(t, bad, 1010, 60, 3600, &f),
	    PCA_ENOTFOUND);
	assert_int_equal(con_session_find(t, "abcd", 1010, 60, 3600, &f),
	    PCA_ENOTFOUND);
	assert_int_equal(con_session_find(t, NULL, 1010, 60, 3600, &f),
	    PCA_ENOTFOUND);
	con_session_close(t, a.id);
	assert_int_equal(con_session_find(t, ha, 1011, 60, 3600, &f),
	    PCA_ENOTFOUND);
	assert_int_equal(con_session_find(t, hb, 1011, 60, 3600, &f), PCA_OK);
	assert_int_equal(con_sessions_count(t), 1);
	pca_err_clear();
	con_sessions_free(t);
}

static void
test_session_expiry(void **state)
{
	struct con_sessions *t = NULL;
	struct con_session a, f;
	char ha[65];
	int64_t now;

	(void)state;
	assert_int_equal(con_sessions_new(2, &t), PCA_OK);
	assert_int_equal(con_session_open(t, "AKIAAAAAAAAAAAAAAAAA",
			     "111122223333", 1000, 60, 300, &a),
	    PCA_OK);
	hex_of(&a, ha);
	/* use within the idle time keeps it alive ... */
	for (now = 1050; now < 1300; now += 50)
		assert_int_equal(con_session_find(t, ha, now, 60, 300, &f),
		    PCA_OK);
	/* ... until the absolute limit */
	assert_int_equal(con_session_find(t, ha, 1300, 60, 300, &f),
	    PCA_ENOTFOUND);
	assert_int_equal(con_sessions_count(t), 0);
	/* idle for the idle time: gone */
	assert_int_equal(con_session_open(t, "AKIAAAAAAAAAAAAAAAAA",
			     "111122223333", 2000, 60, 300, &a),
	    PCA_OK);
	hex_of(&a, ha);
	assert_int_equal(con_session_find(t, ha, 2060, 60, 300, &f),
	    PCA_ENOTFOUND);
	/* a clock that went back does not extend a session */
	assert_int_equal(con_session_open(t, "AKIAAAAAAAAAAAAAAAAA",
			     "111122223333", 3000, 60, 300, &a),
	    PCA_OK);
	hex_of(&a, ha);
	assert_int_equal(con_session_find(t, ha, 2990, 60, 300, &f),
	    PCA_ENOTFOUND);
	pca_err_clear();
	con_sessions_free(t);
}

static void
test_session_bound(void **state)
{
	struct con_sessions *t = NULL;
	struct con_session s;
	int i;

	(void)state;
	assert_int_equal(con_sessions_new(3, &t), PCA_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(con_session_open(t, "AKIAAAAAAAAAAAAAAAAA",
				     "111122223333", 1000, 60, 300, &s),
		    PCA_OK);
	/* full of live sessions: refused, nobody is pushed out */
	assert_int_equal(con_session_open(t, "AKIAAAAAAAAAAAAAAAAA",
			     "111122223333", 1010, 60, 300, &s),
	    PCA_ELIMIT);
	assert_int_equal(con_sessions_count(t), 3);
	/* once they expire, their slots are reused */
	assert_int_equal(con_session_open(t, "AKIAAAAAAAAAAAAAAAAA",
			     "111122223333", 1100, 60, 300, &s),
	    PCA_OK);
	assert_int_equal(con_sessions_count(t), 1);
	assert_int_equal(con_sessions_new(0, &t), PCA_EINVAL);
	pca_err_clear();
	con_sessions_free(NULL);
	con_sessions_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_specials),
	    cmocka_unit_test(test_escape_controls),
	    cmocka_unit_test(test_escape_bounded),
	    cmocka_unit_test(test_session_open_find_close),
	    cmocka_unit_test(test_session_expiry),
	    cmocka_unit_test(test_session_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
