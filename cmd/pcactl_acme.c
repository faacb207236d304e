/*
 * pcactl_acme.c - ACME operations of pcactl:
 *   cert renew-early --ca ARN [--serial S]: RFC 9773 renewal information
 *   moves into the past for that certificate (or every certificate of the
 *   CA issued before now), so ACME clients that ask renew at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/util.h"
#include "../store/store.h"
#include "appliance.h"
#include "pcactl.h"

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
	if ((err = ca_arn_uuid(ca, uuid)) != PCA_OK)
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
