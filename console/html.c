/*
 * html.c - the one escaping helper every page uses: text and attribute
 * values alike go through it.
 */
#include <stdio.h>
#include <string.h>

#include "../common/buf.h"
#include "console.h"

pca_err
con_html_escape_n(struct buf *b, const char *s, size_t n)
{
	size_t i, from = 0;
	const char *rep;
	char num[16];
	pca_err err = PCA_OK;

	for (i = 0; i < n && err == PCA_OK; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			if ((c >= 0x20 && c != 0x7f) || c == '\n' || c == '\t')
				continue;
			/* other control characters: shown, never raw */
			(void)snprintf(num, sizeof(num), "&#%u;",
			    c == 0 ? 0xfffdu
				   : 0x2400u + (c == 0x7f ? 0x21u : c));
			rep = num;
			break;
		}
		if (i > from)
			err = buf_add(b, s + from, i - from);
		if (err == PCA_OK)
			err = buf_addstr(b, rep);
		from = i + 1;
	}
	if (err == PCA_OK && n > from)
		err = buf_add(b, s + from, n - from);
	return err;
}

pca_err
con_html_escape(struct buf *b, const char *s)
{
	return s == NULL ? PCA_OK : con_html_escape_n(b, s, strlen(s));
}
