#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "limits.h"
#include "util.h"

struct conf_ent {
	char *sect;
	char *key;
	char *val;
	int line;
};

struct conf {
	char *name;
	char *dir;
	struct conf_ent *ents;
	size_t n;
};

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->ents[i].sect);
		free(c->ents[i].key);
		free(c->ents[i].val);
	}
	free(c->ents);
	free(c->name);
	free(c->dir);
	free(c);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int
valid_ident(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' ||
			*s == '.'))
			return 0;
	return 1;
}

static pca_err
conf_add(struct conf *c, const char *sect, const char *key, const char *val,
    int line)
{
	struct conf_ent *n;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->ents[i].sect, sect) == 0 &&
		    strcmp(c->ents[i].key, key) == 0)
			return pca_err_set(PCA_EINVAL,
			    "%s:%d: '%s' set twice in [%s] (first at line %d)",
			    c->name, line, key, sect, c->ents[i].line);
	n = realloc(c->ents, (c->n + 1) * sizeof(*n));
	if (n == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	c->ents = n;
	n = &c->ents[c->n];
	n->sect = strdup(sect);
	n->key = strdup(key);
	n->val = strdup(val);
	n->line = line;
	c->n++;
	if (n->sect == NULL || n->key == NULL || n->val == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	return PCA_OK;
}

pca_err
conf_parse(const char *text, size_t len, const char *name, struct conf **out)
{
	struct conf *c;
	char sect[128] = "";
	char line[LIM_CONF_LINE];
	const char *p = text, *lim = text + len, *nl;
	char *s, *eq, *k, *v;
	const char *slash;
	int lineno = 0;
	size_t ll;
	pca_err e = PCA_OK;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	c->name = strdup(name);
	slash = strrchr(name, '/');
	c->dir = slash ? strndup(name, (size_t)(slash - name)) : strdup(".");
	if (c->name == NULL || c->dir == NULL) {
		e = pca_err_set(PCA_ENOMEM, "out of memory");
		goto out;
	}
	while (p < lim) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(lim - p));
		ll = nl ? (size_t)(nl - p) : (size_t)(lim - p);
		if (ll >= sizeof(line)) {
			e = pca_err_set(PCA_EINVAL, "%s:%d: line too long",
			    name, lineno);
			goto out;
		}
		memcpy(line, p, ll);
		line[ll] = '\0';
		p = nl ? nl + 1 : lim;
		if (memchr(line, '\0', ll) != NULL) {
			e = pca_err_set(PCA_EINVAL, "%s:%d: NUL byte", name,
			    lineno);
			goto out;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			if (close == NULL || close[1] != '\0') {
				e = pca_err_set(PCA_EINVAL,
				    "%s:%d: bad section header", name, lineno);
				goto out;
			}
			*close = '\0';
			s = trim(s + 1);
			if (!valid_ident(s) || strlen(s) >= sizeof(sect)) {
				e = pca_err_set(PCA_EINVAL,
				    "%s:%d: bad section name", name, lineno);
				goto out;
			}
			(void)snprintf(sect, sizeof(sect), "%s", s);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			e = pca_err_set(PCA_EINVAL,
			    "%s:%d: expected 'key = value'", name, lineno);
			goto out;
		}
		*eq = '\0';
		k = trim(s);
		v = trim(eq + 1);
		if (!valid_ident(k)) {
			e = pca_err_set(PCA_EINVAL, "%s:%d: bad key '%s'", name,
			    lineno, k);
			goto out;
		}
		if (sect[0] == '\0') {
			e = pca_err_set(PCA_EINVAL,
			    "%s:%d: '%s' outside any [section]", name, lineno,
			    k);
			goto out;
		}
		if ((e = conf_add(c, sect, k, v, lineno)) != PCA_OK)
			goto out;
	}
	*out = c;
	c = NULL;
out:
	conf_free(c);
	return e;
}

pca_err
conf_load(const char *path, struct conf **out)
{
	uint8_t *text = NULL;
	size_t len;
	pca_err e;

	if ((e = util_file_read(path, LIM_CONF_FILE, &text, &len)) != PCA_OK)
		return e;
	e = conf_parse((const char *)text, len, path, out);
	free(text);
	return e;
}

const char *
conf_get0(const struct conf *c, const char *sect, const char *key)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->ents[i].sect, sect) == 0 &&
		    strcmp(c->ents[i].key, key) == 0)
			return c->ents[i].val;
	return NULL;
}

const char *
conf_str(const struct conf *c, const char *sect, const char *key,
    const char *def)
{
	const char *v = conf_get0(c, sect, key);

	return v ? v : def;
}

pca_err
conf_path(const struct conf *c, const char *sect, const char *key,
    const char *def, char **out)
{
	const char *v = conf_str(c, sect, key, def);
	char buf[PATH_MAX];

	*out = NULL;
	if (v == NULL)
		return PCA_OK;
	if (v[0] == '/')
		*out = strdup(v);
	else {
		if (snprintf(buf, sizeof(buf), "%s/%s", c->dir, v) >=
		    (int)sizeof(buf))
			return pca_err_set(PCA_EINVAL, "%s: [%s] %s too long",
			    c->name, sect, key);
		*out = strdup(buf);
	}
	if (*out == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	return PCA_OK;
}

pca_err
conf_num(const struct conf *c, const char *sect, const char *key, long long min,
    long long max, long long def, long long *out)
{
	const char *v = conf_get0(c, sect, key);
	pca_err e;

	if (v == NULL) {
		*out = def;
		return PCA_OK;
	}
	if ((e = util_strtonum(v, min, max, out)) != PCA_OK)
		return pca_err_set(e, "%s: [%s] %s: %s", c->name, sect, key,
		    pca_err_msg());
	return PCA_OK;
}

pca_err
conf_bool(const struct conf *c, const char *sect, const char *key, int def,
    int *out)
{
	const char *v = conf_get0(c, sect, key);

	if (v == NULL)
		*out = def;
	else if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") ||
		 !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") ||
		 !strcmp(v, "0"))
		*out = 0;
	else
		return pca_err_set(PCA_EINVAL,
		    "%s: [%s] %s: '%s' is not a boolean", c->name, sect, key,
		    v);
	return PCA_OK;
}

pca_err
conf_check_known(const struct conf *c, const char *const *known)
{
	char full[256];
	size_t i, j;

	for (i = 0; i < c->n; i++) {
		(void)snprintf(full, sizeof(full), "%s.%s", c->ents[i].sect,
		    c->ents[i].key);
		for (j = 0; known[j] != NULL; j++)
			if (strcmp(known[j], full) == 0)
				break;
		if (known[j] == NULL)
			return pca_err_set(PCA_EINVAL,
			    "%s:%d: unknown setting '%s' in [%s]", c->name,
			    c->ents[i].line, c->ents[i].key, c->ents[i].sect);
	}
	return PCA_OK;
}

const char *
conf_name(const struct conf *c)
{
	return c->name;
}
