/*
 * pcactl_acme.c - ACME operations of pcactl:
 *   cert renew-early --ca ARN [--serial S]: RFC 9773 renewal information
 *   moves into the past for that certificate (or every certificate of the
 *   CA issued before now), so ACME clients that ask renew at once.
 *   acme eab create --ca ARN [--names SUFFIX,...]: an external account
 *   binding key (RFC 8555 7.3.4) for that CA; prints its kid and base64url
 *   HMAC key; the one account it binds may order only names equal to or
 *   below the suffixes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../acme/acme.h"
#include "../common/util.h"
#include "../store/store.h"
#include "appliance.h"
#include "pcactl.h"

/* CA: an ARN or the bare CA id. */
static pca_err
ca_uuid(const char *ca, char uuid[37])
{
	if (util_is_uuid(ca)) {
		(void)snprintf(uuid, 37, "%s", ca);
		return PCA_OK;
	}
	return ca_arn_uuid(ca, uuid);
}

pca_err
pcactl_cert_renew_early(struct appliance *ap, int argc, char **argv)
{
	const char *ca = NULL, *serial = NULL;
	char uuid[37], key[128], hex[2 * 20 + 1], *txt = NULL;
	uint8_t bin[21];
	size_t bl = 0;
	json_t *o;
	pca_err err;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca = argv[++i];
		else if (strcmp(argv[i], "--serial") == 0 && i + 1 < argc)
			serial = argv[++i];
		else
			return pca_err_set(PCA_EINVAL, "usage: pcactl cert "
			    "renew-early --ca ARN [--serial S]");
	}
	if (ca == NULL)
		return pca_err_set(PCA_EINVAL, "cert renew-early: --ca ARN is "
		    "required");
	if ((err = ca_uuid(ca, uuid)) != PCA_OK)
		return err;
	if (serial != NULL) {
		if (util_unhex(serial, bin, sizeof(bin), &bl) != PCA_OK ||
		    bl == 0 || (bl == 21 && bin[0] != 0))
			return pca_err_set(PCA_EINVAL, "cert renew-early: "
			    "--serial must be at most 20 octets of hex");
		if (bin[0] == 0 && bl > 1)
			util_hex(bin + 1, bl - 1, hex, sizeof(hex), 0);
		else
			util_hex(bin, bl, hex, sizeof(hex), 0);
		(void)snprintf(key, sizeof(key), "%s/%s", uuid, hex);
	} else
		(void)snprintf(key, sizeof(key), "%s", uuid);
	if ((o = json_pack("{s:I}", "at", (json_int_t)util_now())) == NULL ||
	    (txt = json_dumps(o, JSON_COMPACT)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	else
		err = store_kv_put(ap->store, "acme-renew", key, txt,
		    strlen(txt), 0);
	json_decref(o);
	free(txt);
	if (err == PCA_OK)
		printf("renewal window moved into the past for %s%s%s\n",
		    serial ? "certificate " : "every certificate of ",
		    serial ? hex : "", serial ? "" : ca);
	return err;
}

#define EAB_NAMES_MAX 50

static pca_err
eab_names(const char *list, json_t *out)
{
	char *dup, *p, *save = NULL, *tok;
	size_t k;

	if ((dup = strdup(list)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (p = dup; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		for (k = 0; tok[k]; k++)
			if (!((tok[k] >= 'a' && tok[k] <= 'z') ||
			    (tok[k] >= 'A' && tok[k] <= 'Z') ||
			    (tok[k] >= '0' && tok[k] <= '9') || tok[k] == '-' ||
			    tok[k] == '.'))
				break;
		if (k == 0 || tok[k] != '\0' || k > 253 || tok[0] == '.' ||
		    json_array_size(out) >= EAB_NAMES_MAX) {
			free(dup);
			return pca_err_set(PCA_EINVAL, "--names: \"%s\" is not "
			    "a DNS name suffix (at most %d)", tok,
			    EAB_NAMES_MAX);
		}
		json_array_append_new(out, json_string(tok));
	}
	free(dup);
	return PCA_OK;
}

static pca_err
eab_create(struct appliance *ap, int argc, char **argv)
{
	const char *ca = NULL, *names = NULL;
	char uuid[37], *kid = NULL, *hk = NULL, *txt = NULL;
	uint8_t rk[16], key[32];
	json_t *o = NULL, *nl = json_array();
	pca_err err;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca = argv[++i];
		else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc)
			names = argv[++i];
		else {
			err = pca_err_set(PCA_EINVAL, "usage: pcactl acme eab "
			    "create --ca ARN [--names SUFFIX,...]");
			goto out;
		}
	}
	if (ca == NULL) {
		err = pca_err_set(PCA_EINVAL, "acme eab create: --ca ARN is "
		    "required");
		goto out;
	}
	if ((err = ca_uuid(ca, uuid)) != PCA_OK ||
	    (names != NULL && (err = eab_names(names, nl)) != PCA_OK))
		goto out;
	if (RAND_bytes(rk, sizeof(rk)) != 1 ||
	    RAND_bytes(key, sizeof(key)) != 1) {
		err = pca_err_set(PCA_EINTERNAL, "no randomness");
		goto out;
	}
	if ((err = acme_b64url_encode(rk, sizeof(rk), &kid)) != PCA_OK ||
	    (err = acme_b64url_encode(key, sizeof(key), &hk)) != PCA_OK)
		goto out;
	if ((o = json_pack("{s:s,s:s,s:O,s:I}", "ca", uuid, "hmac", hk,
		 "names", nl, "created", (json_int_t)util_now())) == NULL ||
	    (txt = json_dumps(o, JSON_COMPACT)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if ((err = store_kv_put(ap->store, "acme-eab", kid, txt, strlen(txt),
		 1)) != PCA_OK)
		goto out;
	if (json_out)
		err = print_json_new(json_pack("{s:s,s:s}", "kid", kid,
		    "hmac_key", hk));
	else
		printf("kid %s\nhmac_key %s\n", kid, hk);
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (hk != NULL)
		OPENSSL_cleanse(hk, strlen(hk));
	if (txt != NULL)
		OPENSSL_cleanse(txt, strlen(txt));
	free(hk);
	free(txt);
	free(kid);
	json_decref(o);
	json_decref(nl);
	return err;
}

pca_err
pcactl_cmd_acme(struct appliance *ap, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[0], "eab") == 0 &&
	    strcmp(argv[1], "create") == 0)
		return eab_create(ap, argc - 2, argv + 2);
	return pca_err_set(PCA_EINVAL,
	    "usage: pcactl acme eab create --ca ARN [--names SUFFIX,...]");
}
