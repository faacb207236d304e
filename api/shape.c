/*
 * shape.c - request bodies: strict JSON decoding and validation of every
 * input member against the model's constraints (model.c), with Coral-style
 * ValidationException messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/util.h"
#include "api_int.h"

#define VALUE_SHOWN 100 /* bytes of a bad value quoted back */
#define PATH_MAX_LEN 512

/* ---- UTF-8 ---- */

/* Decodes one code point at s[*i]; -1 on invalid UTF-8. */
static long
utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	size_t n, k;
	long cp, min;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xe0) == 0xc0)
		n = 1, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 2, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 3, cp = c & 0x07, min = 0x10000;
	else
		return -1;
	if (*i + n >= len)
		return -1;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += n + 1;
	return cp;
}

long long
api_utf16_len(const char *s, size_t len)
{
	size_t i = 0;
	long long n = 0;
	long cp;

	while (i < len) {
		if ((cp = utf8_next((const unsigned char *)s, len, &i)) < 0)
			return -1;
		n += cp >= 0x10000 ? 2 : 1;
	}
	return n;
}

/* ---- patterns ---- */

static int
in_set(int c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int
all_of(const char *s, size_t len, int (*ok)(int))
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!ok((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
c_printable(int c)
{
	/* [a-zA-Z0-9'()+-.?:/= ]: "+-." is the range + , - . */
	return is_alnum(c) || in_set(c, "'()+,-.?:/= ");
}

static int
c_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
c_cname(int c)
{
	return is_alnum(c) || in_set(c, "-;/?:@&=+$,%_.!~*()'");
}

static int
c_seg(int c)
{
	return is_alnum(c) || in_set(c, "-;?:@&=+$,%_.!~*()'");
}

static int
c_bucket(int c)
{
	return is_alnum(c) || in_set(c, "-._/");
}

static int
c_arn1(int c) /* [\w+=/,.@-] */
{
	return is_alnum(c) || in_set(c, "_+=/,.@-");
}

static int
c_arn2(int c) /* [\w+=,.@-] */
{
	return is_alnum(c) || in_set(c, "_+=,.@-");
}

static int
c_b64(int c)
{
	return is_alnum(c) || c == '+' || c == '/';
}

/* Splits s at the first sep: the length before it, or len if absent. */
static size_t
span_to(const char *s, size_t len, char sep)
{
	const char *p = memchr(s, sep, len);

	return p ? (size_t)(p - s) : len;
}

/* seg(/seg)* with every seg non-empty and made of ok characters. */
static int
segments(const char *s, size_t len, int (*ok)(int))
{
	size_t n;

	for (;;) {
		n = span_to(s, len, '/');
		if (n == 0 || !all_of(s, n, ok))
			return 0;
		if (n == len)
			return 1;
		s += n + 1;
		len -= n + 1;
	}
}

static int
match_arn(const char *s, size_t len)
{
	size_t n;

	if (len < 4 || memcmp(s, "arn:", 4) != 0)
		return 0;
	s += 4, len -= 4;
	n = span_to(s, len, ':'); /* partition */
	if (n == 0 || n == len || !all_of(s, n, c_arn1))
		return 0;
	s += n + 1, len -= n + 1;
	if (len < 8 || memcmp(s, "acm-pca:", 8) != 0)
		return 0;
	s += 8, len -= 8;
	n = span_to(s, len, ':'); /* region */
	if (n == len || !all_of(s, n, c_arn1))
		return 0;
	s += n + 1, len -= n + 1;
	n = span_to(s, len, ':'); /* account */
	if (n == len || !all_of(s, n, c_digit))
		return 0;
	s += n + 1, len -= n + 1;
	return segments(s, len, c_arn2);
}

static int
match_oid(const char *s, size_t len)
{
	size_t i = 0, n, arcs = 0;

	if (len < 3 || s[0] < '0' || s[0] > '2' || s[1] != '.')
		return 0;
	s += 2, len -= 2;
	n = span_to(s, len, '.');
	if (!(n == 1 && c_digit((unsigned char)s[0])) &&
	    !(n == 2 && s[0] >= '0' && s[0] <= '3' &&
		c_digit((unsigned char)s[1])))
		return 0;
	for (i = n; i < len; i += n, arcs++) {
		i++; /* the '.' */
		n = span_to(s + i, len - i, '.');
		if (n == 0 || !all_of(s + i, n, c_digit) || arcs >= 126)
			return 0;
	}
	return 1;
}

static int
match_b64(const char *s, size_t len)
{
	size_t body;

	if (len % 4 != 0)
		return 0;
	if (len == 0)
		return 1;
	body = len - 4;
	if (!all_of(s, body, c_b64))
		return 0;
	s += body;
	if (s[3] != '=')
		return all_of(s, 4, c_b64);
	if (s[2] == '=')
		return c_b64((unsigned char)s[0]) && c_b64((unsigned char)s[1]);
	return all_of(s, 3, c_b64);
}

static int
match_report_id(const char *s, size_t len)
{
	static const size_t groups[] = {8, 4, 4, 4, 12};
	size_t g, i, pos = 0;

	if (len != 36)
		return 0;
	for (g = 0; g < 5; g++) {
		for (i = 0; i < groups[g]; i++, pos++)
			if (!((s[pos] >= 'a' && s[pos] <= 'z') ||
				c_digit((unsigned char)s[pos])))
				return 0;
		if (g < 4 && s[pos++] != '-')
			return 0;
	}
	return 1;
}

static int
tag_cp(long cp)
{
	size_t lo = 0, hi = api_ntag_ranges;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if ((uint32_t)cp < api_tag_ranges[mid].lo)
			hi = mid;
		else if ((uint32_t)cp > api_tag_ranges[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static int
latin1_cp(long cp)
{
	return cp == 9 || cp == 10 || cp == 13 || (cp >= 0x20 && cp <= 0xff);
}

static int
all_cp(const char *s, size_t len, int (*ok)(long))
{
	size_t i = 0;
	long cp;

	while (i < len)
		if ((cp = utf8_next((const unsigned char *)s, len, &i)) < 0 ||
		    !ok(cp))
			return 0;
	return 1;
}

int
api_pat_match(enum api_pat p, const char *s, size_t len)
{
	switch (p) {
	case API_PAT_NONE:
		return 1;
	case API_PAT_PRINTABLE:
		return all_of(s, len, c_printable);
	case API_PAT_LATIN1:
		return all_cp(s, len, latin1_cp);
	case API_PAT_DIGITS:
		return len > 0 && all_of(s, len, c_digit);
	case API_PAT_ARN:
		return match_arn(s, len);
	case API_PAT_REPORT_ID:
		return match_report_id(s, len);
	case API_PAT_BASE64:
		return match_b64(s, len);
	case API_PAT_CNAME:
		return all_of(s, len, c_cname);
	case API_PAT_COUNTRY:
		return len == 2 && is_alnum((unsigned char)s[0]) &&
		       !c_digit((unsigned char)s[0]) &&
		       is_alnum((unsigned char)s[1]) &&
		       !c_digit((unsigned char)s[1]);
	case API_PAT_CRLPATH:
		return segments(s, len, c_seg);
	case API_PAT_OID:
		return match_oid(s, len);
	case API_PAT_NOSTAR:
		return len > 0 && memchr(s, '*', len) == NULL;
	case API_PAT_BUCKET:
		return len > 0 && all_of(s, len, c_bucket);
	case API_PAT_TAG:
		return all_cp(s, len, tag_cp);
	}
	return 0;
}

/* ---- JSON decoding ---- */

/* Nesting depth of a JSON text, counted outside strings. */
static int
json_depth_ok(const uint8_t *p, size_t len)
{
	size_t i;
	int depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_str = 0;
			continue;
		}
		if (p[i] == '"')
			in_str = 1;
		else if (p[i] == '{' || p[i] == '[') {
			if (++depth > LIM_JSON_DEPTH)
				return 0;
		} else if (p[i] == '}' || p[i] == ']')
			depth--;
	}
	return 1;
}

pca_err
api_json_decode(const uint8_t *body, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *v;
	size_t i;

	for (i = 0; i < len && (body[i] == ' ' || body[i] == '\t' ||
				   body[i] == '\r' || body[i] == '\n');
	     i++)
		;
	if (i == len) {
		if ((v = json_object()) == NULL)
			return pca_err_set(PCA_ENOMEM, "no memory");
		*out = v;
		return PCA_OK;
	}
	if (len > LIM_API_BODY)
		return pca_err_set(PCA_EPARSE, "request body is too large");
	if (!json_depth_ok(body, len))
		return pca_err_set(PCA_EPARSE,
		    "JSON nesting deeper than %d levels", LIM_JSON_DEPTH);
	v = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL)
		return pca_err_set(PCA_EPARSE, "%s at line %d column %d",
		    jerr.text, jerr.line, jerr.column);
	if (!json_is_object(v)) {
		json_decref(v);
		return pca_err_set(PCA_EPARSE,
		    "the request body must be a JSON object");
	}
	*out = v;
	return PCA_OK;
}

static int
op_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct api_op *)e)->name);
}

const struct api_op *
api_op_find(const char *name)
{
	return bsearch(name, api_ops, api_nops, sizeof(api_ops[0]), op_cmp);
}

size_t
api_op_index(const struct api_op *op)
{
	return op ? (size_t)(op - api_ops) : api_nops;
}

/* ---- validation ---- */

struct vstate {
	struct buf msg; /* "Value ... at '...' failed ..." joined */
	unsigned nerr;
	int serial; /* a type error: SerializationException */
	char serial_msg[300];
	const char *code; /* a field with an exception of its own */
	char code_msg[300];
	char path[PATH_MAX_LEN];
};

static void check_value(struct vstate *, const struct api_shape *,
    const json_t *, size_t plen);

static void
shown_value(const json_t *v, char *out, size_t outlen)
{
	char *dump = NULL;
	const char *s;
	size_t n;

	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
	} else {
		dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		s = dump ? dump : "";
		n = strlen(s);
	}
	if (n > VALUE_SHOWN)
		(void)snprintf(out, outlen, "'%.*s...'", VALUE_SHOWN, s);
	else
		(void)snprintf(out, outlen, "'%.*s'", (int)n, s);
	free(dump);
}

static void
verr(struct vstate *st, const json_t *v, const char *rule)
{
	char shown[VALUE_SHOWN + 8];

	if (st->nerr++ >= API_MAX_VALIDATION_ERRORS)
		return;
	if (v == NULL)
		(void)snprintf(shown, sizeof(shown), "null");
	else
		shown_value(v, shown, sizeof(shown));
	if (st->msg.len > 0 && buf_addstr(&st->msg, "; ") != PCA_OK)
		return;
	if (buf_printf(&st->msg,
		"Value %s at '%s' failed to satisfy constraint: Member must %s",
		shown, st->path, rule) != PCA_OK)
		pca_err_clear(); /* the count still tells */
}

static void
verr_num(struct vstate *st, const json_t *v, const char *what, long long n)
{
	char rule[96];

	(void)snprintf(rule, sizeof(rule), "have %s %lld", what, n);
	verr(st, v, rule);
}

static void
type_err(struct vstate *st, const char *want)
{
	if (st->serial)
		return;
	st->serial = 1;
	(void)snprintf(st->serial_msg, sizeof(st->serial_msg),
	    "Unexpected JSON type at '%.200s': expected %s", st->path, want);
}

static void
check_len(struct vstate *st, const struct api_shape *sh, const json_t *v,
    long long n)
{
	if (sh->has_min && n < sh->min)
		verr_num(st, v, "length greater than or equal to", sh->min);
	else if (sh->has_max && n > sh->max)
		verr_num(st, v, "length less than or equal to", sh->max);
}

static void
check_enum(struct vstate *st, const struct api_shape *sh, const json_t *v)
{
	const char *s = json_string_value(v);
	char set[1024];
	size_t i, used = 0;

	for (i = 0; sh->enums[i] != NULL; i++)
		if (strcmp(s, sh->enums[i]) == 0 &&
		    strlen(sh->enums[i]) == json_string_length(v))
			return;
	if (strcmp(sh->name, "S3ObjectAcl") == 0 && st->code == NULL) {
		st->code = "InvalidS3ObjectAclInCrlConfiguration";
		(void)snprintf(st->code_msg, sizeof(st->code_msg),
		    "Invalid value for parameter RevocationConfiguration."
		    "CrlConfiguration.S3ObjectAcl, value: %.64s, valid values: "
		    "['PUBLIC_READ', 'BUCKET_OWNER_FULL_CONTROL']",
		    s);
		return;
	}
	used = (size_t)snprintf(set, sizeof(set), "satisfy enum value set: [");
	for (i = 0; sh->enums[i] != NULL && used < sizeof(set); i++) {
		int n = snprintf(set + used, sizeof(set) - used, "%s%s",
		    i ? ", " : "", sh->enums[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (used < sizeof(set) - 1)
		(void)snprintf(set + used, sizeof(set) - used, "]");
	verr(st, v, set);
}

static void
check_string(struct vstate *st, const struct api_shape *sh, const json_t *v)
{
	const char *s;
	size_t n;
	long long u16;

	if (!json_is_string(v)) {
		type_err(st, "a string");
		return;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if ((u16 = api_utf16_len(s, n)) < 0) {
		type_err(st, "a UTF-8 string");
		return;
	}
	if (sh->enums != NULL) {
		check_enum(st, sh, v);
		return;
	}
	if ((sh->has_min && u16 < sh->min) || (sh->has_max && u16 > sh->max))
		check_len(st, sh, v, u16);
	else if (sh->pattern != API_PAT_NONE &&
		 !api_pat_match(sh->pattern, s, n)) {
		char rule[300];
		(void)snprintf(rule, sizeof(rule),
		    "satisfy regular expression pattern: %s", sh->pattern_text);
		verr(st, v, rule);
	}
}

static void
check_blob(struct vstate *st, const struct api_shape *sh, const json_t *v)
{
	uint8_t *raw = NULL;
	size_t n = 0;

	if (!json_is_string(v)) {
		type_err(st, "a base64 string");
		return;
	}
	if (json_string_length(v) > 0 &&
	    util_b64_decode(json_string_value(v), json_string_length(v),
		LIM_API_BODY, &raw, &n) != PCA_OK) {
		pca_err_clear();
		type_err(st, "base64-encoded data");
		return;
	}
	free(raw);
	check_len(st, sh, v, (long long)n);
}

static void
check_number(struct vstate *st, const struct api_shape *sh, const json_t *v)
{
	json_int_t n;

	if (!json_is_integer(v)) {
		type_err(st, "an integer");
		return;
	}
	n = json_integer_value(v);
	if (sh->type == API_T_INT && (n < INT32_MIN || n > INT32_MAX)) {
		type_err(st, "a 32-bit integer");
		return;
	}
	if (sh->has_min && n < sh->min)
		verr_num(st, v, "value greater than or equal to", sh->min);
	else if (sh->has_max && n > sh->max)
		verr_num(st, v, "value less than or equal to", sh->max);
}

/* Appends ".name" (just "name" at the top) to the path; the new length. */
static size_t
path_name(struct vstate *st, size_t plen, const char *name)
{
	int n = snprintf(st->path + plen, sizeof(st->path) - plen, "%s%s",
	    plen ? "." : "", name);

	if (n < 0 || (size_t)n >= sizeof(st->path) - plen)
		return strlen(st->path);
	return plen + (size_t)n;
}

/* Appends ".N.member" (Coral numbers list elements from 1). */
static size_t
path_index(struct vstate *st, size_t plen, size_t idx)
{
	int n = snprintf(st->path + plen, sizeof(st->path) - plen,
	    "%s%zu.member", plen ? "." : "", idx);

	if (n < 0 || (size_t)n >= sizeof(st->path) - plen)
		return strlen(st->path);
	return plen + (size_t)n;
}

static void
check_struct(struct vstate *st, const struct api_shape *sh, const json_t *v,
    size_t plen)
{
	const struct api_member *m;
	const char *key;
	const json_t *mv;
	size_t i, np;

	if (!json_is_object(v)) {
		type_err(st, "an object");
		return;
	}
	for (i = 0; i < sh->nmembers; i++) {
		m = &sh->members[i];
		mv = json_object_get(v, m->name);
		np = path_name(st, plen, m->path);
		if (mv == NULL || json_is_null(mv)) {
			if (m->required)
				verr(st, NULL, "not be null");
		} else
			check_value(st, &api_shapes[m->shape], mv, np);
		st->path[plen] = '\0';
	}
	if (log_getlevel() >= LOG_LEVEL_DEBUG) {
		json_object_foreach ((json_t *)v, key, mv) {
			for (i = 0; i < sh->nmembers; i++)
				if (strcmp(sh->members[i].name, key) == 0)
					break;
			if (i == sh->nmembers)
				log_debug("ignoring unknown member %.64s of %s",
				    key, sh->name);
		}
	}
}

static void
check_list(struct vstate *st, const struct api_shape *sh, const json_t *v,
    size_t plen)
{
	size_t i, np;

	if (!json_is_array(v)) {
		type_err(st, "a list");
		return;
	}
	check_len(st, sh, v, (long long)json_array_size(v));
	for (i = 0; i < json_array_size(v) && !st->serial; i++) {
		np = path_index(st, plen, i + 1);
		if (json_is_null(json_array_get(v, i)))
			verr(st, NULL, "not be null");
		else
			check_value(st, &api_shapes[sh->member],
			    json_array_get(v, i), np);
		st->path[plen] = '\0';
	}
}

static void
check_value(struct vstate *st, const struct api_shape *sh, const json_t *v,
    size_t plen)
{
	if (st->serial)
		return;
	switch (sh->type) {
	case API_T_STRUCT:
		check_struct(st, sh, v, plen);
		break;
	case API_T_LIST:
		check_list(st, sh, v, plen);
		break;
	case API_T_STRING:
		check_string(st, sh, v);
		break;
	case API_T_BLOB:
		check_blob(st, sh, v);
		break;
	case API_T_BOOL:
		if (!json_is_boolean(v))
			type_err(st, "a boolean");
		break;
	case API_T_INT:
	case API_T_LONG:
		check_number(st, sh, v);
		break;
	}
}

pca_err
api_shape_check(const struct api_op *op, const json_t *req, const char **code)
{
	struct vstate st;
	pca_err err = PCA_OK;

	memset(&st, 0, sizeof(st));
	buf_init(&st.msg, 8192);
	*code = NULL;
	check_value(&st, &api_shapes[op->input], req, 0);
	if (st.serial)
		err = pca_err_set(PCA_EPARSE, "%s", st.serial_msg);
	else if (st.code != NULL) {
		*code = st.code;
		err = pca_err_set(PCA_EINVAL, "%s", st.code_msg);
	} else if (st.nerr > 0 && buf_nul(&st.msg) == PCA_OK)
		err = pca_err_set(PCA_EVALIDATION,
		    "%u validation error%s detected: %s", st.nerr,
		    st.nerr == 1 ? "" : "s", (char *)st.msg.p);
	else if (st.nerr > 0)
		err = pca_err_set(PCA_EVALIDATION, "%u validation errors",
		    st.nerr);
	buf_free(&st.msg);
	return err;
}
