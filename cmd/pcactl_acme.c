/*
 * pcactl_acme.c - ACME operations of pcactl:
 *   cert renew-early --ca ARN [--serial S]: RFC 9773 renewal information
 *   moves into the past for that certificate (or every certificate of the
 *   CA issued before now), so ACME clients that ask renew at once.
 *   acme eab create --ca ARN [--policy NAME] [--names SUFFIX,...]
 *   [--profiles NAME,...]: an external account binding key (RFC 8555
 *   7.3.4) for that CA; prints its kid and base64url HMAC key (stored
 *   sealed by the token); the one account it binds may order only names
 *   equal to or below the suffixes, is judged by the policy and may name
 *   the profiles.
 *   acme profile set|list|delete --ca ARN ...: the CA's ACME profiles
 *   (policy, template ARN, validity), listed in its directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../acme/acme.h"
#include "../common/util.h"
#include "../hsm/hsm.h"
#include "../policy/policy.h"
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

/* CA (ARN or id) into its id, when the store has that CA. */
static pca_err
ca_known(struct appliance *ap, const char *ca, char uuid[37])
{
	char *rec = NULL;
	size_t n = 0;
	pca_err err;

	if ((err = ca_uuid(ca, uuid)) != PCA_OK)
		return err;
	if ((err = store_ca_get(ap->store, uuid, &rec, &n)) == PCA_ENOTFOUND)
		return pca_err_set(PCA_ENOTFOUND,
		    "no certificate authority %s "
		    "on this appliance",
		    uuid);
	free(rec);
	return err;
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
			return pca_err_set(PCA_EINVAL,
			    "usage: pcactl cert "
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
			return pca_err_set(PCA_EINVAL,
			    "cert renew-early: "
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
				(tok[k] >= '0' && tok[k] <= '9') ||
				tok[k] == '-' || tok[k] == '.'))
				break;
		if (k == 0 || tok[k] != '\0' || k > 253 || tok[0] == '.' ||
		    json_array_size(out) >= EAB_NAMES_MAX) {
			free(dup);
			return pca_err_set(PCA_EINVAL,
			    "--names: \"%s\" is not "
			    "a DNS name suffix (at most %d)",
			    tok, EAB_NAMES_MAX);
		}
		json_array_append_new(out, json_string(tok));
	}
	free(dup);
	return PCA_OK;
}

/* --policy NAME: a policy of this appliance (built-in or the file's). */
static pca_err
policy_known(struct appliance *ap, const char *name)
{
	if (strlen(name) >= 64 || pol_set_get0(ap->policies, name) == NULL)
		return pca_err_set(PCA_EINVAL,
		    "--policy: no issuance policy "
		    "\"%s\" (pcactl policy list shows them)",
		    name);
	return PCA_OK;
}

/* --profiles A,B: profile names (they need not exist yet). */
static pca_err
eab_profiles(const char *list, json_t *out)
{
	char *dup, *p, *save = NULL, *tok;

	if ((dup = strdup(list)) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	for (p = dup; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		if (!acme_profile_name_ok(tok) ||
		    json_array_size(out) >= EAB_NAMES_MAX) {
			free(dup);
			return pca_err_set(PCA_EINVAL,
			    "--profiles: \"%s\" is "
			    "not a profile name (letters, digits, - _ ., at "
			    "most 63)",
			    tok);
		}
		json_array_append_new(out, json_string(tok));
	}
	free(dup);
	return PCA_OK;
}

#define EAB_USAGE                                                              \
	"usage: pcactl acme eab create --ca ARN [--policy NAME] "              \
	"[--names SUFFIX,...] [--profiles NAME,...]"

/* The HMAC key sealed by the token, base64url. */
static pca_err
eab_seal(struct appliance *ap, const uint8_t *key, size_t n, char **out)
{
	uint8_t *sealed = NULL;
	size_t sl = 0;
	pca_err err;

	if ((err = hsm_seal(ap->hsm, ACME_EAB_SEAL_LABEL, key, n, &sealed,
		 &sl)) != PCA_OK)
		return err;
	err = acme_b64url_encode(sealed, sl, out);
	free(sealed);
	return err;
}

static pca_err
eab_create(struct appliance *ap, int argc, char **argv)
{
	const char *ca = NULL, *names = NULL, *policy = NULL, *profs = NULL;
	char uuid[37], *kid = NULL, *hk = NULL, *sk = NULL, *txt = NULL;
	uint8_t rk[16], key[32];
	json_t *o = NULL, *nl = json_array(), *pl = json_array();
	pca_err err;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca = argv[++i];
		else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc)
			names = argv[++i];
		else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc)
			policy = argv[++i];
		else if (strcmp(argv[i], "--profiles") == 0 && i + 1 < argc)
			profs = argv[++i];
		else {
			err = pca_err_set(PCA_EINVAL, EAB_USAGE);
			goto out;
		}
	}
	if (ca == NULL) {
		err = pca_err_set(PCA_EINVAL, "acme eab create: --ca ARN is "
					      "required");
		goto out;
	}
	if ((err = ca_known(ap, ca, uuid)) != PCA_OK ||
	    (names != NULL && (err = eab_names(names, nl)) != PCA_OK) ||
	    (policy != NULL && (err = policy_known(ap, policy)) != PCA_OK) ||
	    (profs != NULL && (err = eab_profiles(profs, pl)) != PCA_OK))
		goto out;
	if (RAND_bytes(rk, sizeof(rk)) != 1 ||
	    RAND_bytes(key, sizeof(key)) != 1) {
		err = pca_err_set(PCA_EINTERNAL, "no randomness");
		goto out;
	}
	/* no leading '-' (base64url 62): clients' option parsers take it for
	   an option (certbot --eab-hmac-key -x...) */
	if (rk[0] >> 2 == 62)
		rk[0] ^= 0x80;
	if (key[0] >> 2 == 62)
		key[0] ^= 0x80;
	if ((err = acme_b64url_encode(rk, sizeof(rk), &kid)) != PCA_OK ||
	    (err = acme_b64url_encode(key, sizeof(key), &hk)) != PCA_OK ||
	    (err = eab_seal(ap, key, sizeof(key), &sk)) != PCA_OK)
		goto out;
	if ((o = json_pack("{s:s,s:s,s:O,s:O,s:I}", "ca", uuid, "hmac_sealed",
		 sk, "names", nl, "profiles", pl, "created",
		 (json_int_t)util_now())) == NULL ||
	    (policy != NULL &&
		json_object_set_new(o, "policy", json_string(policy))) ||
	    (txt = json_dumps(o, JSON_COMPACT)) == NULL) {
		err = pca_err_set(PCA_ENOMEM, "no memory");
		goto out;
	}
	if ((err = store_kv_put(ap->store, "acme-eab", kid, txt, strlen(txt),
		 1)) != PCA_OK)
		goto out;
	if (json_out)
		err = print_json_new(
		    json_pack("{s:s,s:s}", "kid", kid, "hmac_key", hk));
	else
		printf("kid %s\nhmac_key %s\n", kid, hk);
out:
	OPENSSL_cleanse(key, sizeof(key));
	if (hk != NULL)
		OPENSSL_cleanse(hk, strlen(hk));
	free(hk);
	free(sk);
	free(txt);
	free(kid);
	json_decref(o);
	json_decref(nl);
	json_decref(pl);
	return err;
}

/* ---- profiles (draft-ietf-acme-profiles) ---- */

#define PROFILE_USAGE                                                          \
	"usage: pcactl acme profile set --ca ARN --name NAME "                 \
	"--policy POLICY [--template TEMPLATE_ARN] [--validity-days N] "       \
	"[--description TEXT] | list --ca ARN | delete --ca ARN --name NAME"

struct profile_args {
	const char *ca, *name, *policy, *tmpl, *days, *desc;
};

static pca_err
profile_args(int argc, char **argv, struct profile_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		const char **slot = NULL;

		if (i + 1 >= argc)
			break;
		if (strcmp(argv[i], "--ca") == 0)
			slot = &a->ca;
		else if (strcmp(argv[i], "--name") == 0)
			slot = &a->name;
		else if (strcmp(argv[i], "--policy") == 0)
			slot = &a->policy;
		else if (strcmp(argv[i], "--template") == 0)
			slot = &a->tmpl;
		else if (strcmp(argv[i], "--validity-days") == 0)
			slot = &a->days;
		else if (strcmp(argv[i], "--description") == 0)
			slot = &a->desc;
		if (slot == NULL)
			break;
		*slot = argv[++i];
	}
	if (i < argc || a->ca == NULL)
		return pca_err_set(PCA_EINVAL, PROFILE_USAGE);
	return PCA_OK;
}

static pca_err
profile_set(struct appliance *ap, const struct profile_args *a,
    const char *uuid)
{
	char key[128], *txt = NULL;
	long long days = 0;
	json_t *o;
	pca_err err;

	if (a->name == NULL || a->policy == NULL)
		return pca_err_set(PCA_EINVAL, "acme profile set: --name and "
					       "--policy are required");
	if (!acme_profile_name_ok(a->name))
		return pca_err_set(PCA_EINVAL,
		    "--name: \"%s\" is not a "
		    "profile name (letters, digits, - _ ., at most 63)",
		    a->name);
	if ((err = policy_known(ap, a->policy)) != PCA_OK)
		return err;
	if (a->tmpl != NULL &&
	    (strncmp(a->tmpl, "arn:", 4) != 0 ||
		strstr(a->tmpl, ":template/") == NULL || strlen(a->tmpl) > 200))
		return pca_err_set(PCA_EINVAL,
		    "--template: \"%s\" is not a "
		    "template ARN (arn:aws:acm-pca:::template/NAME/V1)",
		    a->tmpl);
	if (a->days != NULL &&
	    util_strtonum(a->days, 1, 36500, &days) != PCA_OK)
		return pca_err_set(PCA_EINVAL, "--validity-days: a number of "
					       "days from 1 to 36500");
	if (a->desc != NULL && strlen(a->desc) > 200)
		return pca_err_set(PCA_EINVAL, "--description: at most 200 "
					       "characters");
	o = json_pack("{s:s,s:s}", "policy", a->policy, "description",
	    a->desc ? a->desc : a->policy);
	if (o == NULL ||
	    (a->tmpl &&
		json_object_set_new(o, "template", json_string(a->tmpl))) ||
	    (days > 0 &&
		json_object_set_new(o, "validity_days", json_integer(days))) ||
	    (txt = json_dumps(o, JSON_COMPACT)) == NULL)
		err = pca_err_set(PCA_ENOMEM, "no memory");
	else {
		(void)snprintf(key, sizeof(key), "%s/%s", uuid, a->name);
		err = store_kv_put(ap->store, "acme-profile", key, txt,
		    strlen(txt), 0);
	}
	if (err == PCA_OK && json_out)
		err = print_json_new(json_incref(o));
	else if (err == PCA_OK)
		printf("profile %s of CA %s: policy %s\n", a->name, uuid,
		    a->policy);
	json_decref(o);
	free(txt);
	return err;
}

struct plist {
	char prefix[40];
	json_t *out;
};

static int
plist_one(const char *key, const uint8_t *val, size_t len, void *arg)
{
	struct plist *l = arg;
	json_t *o;

	if (strncmp(key, l->prefix, strlen(l->prefix)) != 0)
		return 1;
	o = json_loadb((const char *)val, len, 0, NULL);
	if (json_is_object(o)) {
		json_object_set_new(o, "name",
		    json_string(key + strlen(l->prefix)));
		json_array_append(l->out, o);
	}
	json_decref(o);
	return 0;
}

static pca_err
profile_list(struct appliance *ap, const char *uuid)
{
	struct plist l;
	json_t *v;
	size_t i;
	pca_err err;

	(void)snprintf(l.prefix, sizeof(l.prefix), "%s/", uuid);
	if ((l.out = json_array()) == NULL)
		return pca_err_set(PCA_ENOMEM, "no memory");
	if ((err = store_kv_foreach_from(ap->store, "acme-profile", l.prefix,
		 plist_one, &l)) != PCA_OK) {
		json_decref(l.out);
		return err;
	}
	if (json_out)
		return print_json_new(json_pack("{s:o}", "Profiles", l.out));
	json_array_foreach (l.out, i, v) {
		json_t *d = json_object_get(v, "validity_days");

		printf("%s\tpolicy=%s\ttemplate=%s\tvalidity_days=%s%lld\t%s\n",
		    json_string_value(json_object_get(v, "name")),
		    json_string_value(json_object_get(v, "policy")),
		    json_is_string(json_object_get(v, "template"))
			? json_string_value(json_object_get(v, "template"))
			: "-",
		    d ? "" : "[acme] ",
		    d ? (long long)json_integer_value(d) : 0LL,
		    json_string_value(json_object_get(v, "description")));
	}
	json_decref(l.out);
	return PCA_OK;
}

static pca_err
profile_cmd(struct appliance *ap, int argc, char **argv)
{
	struct profile_args a;
	char uuid[37], key[128];
	pca_err err;

	if (argc < 1)
		return pca_err_set(PCA_EINVAL, PROFILE_USAGE);
	if ((err = profile_args(argc - 1, argv + 1, &a)) != PCA_OK ||
	    (err = ca_known(ap, a.ca, uuid)) != PCA_OK)
		return err;
	if (strcmp(argv[0], "set") == 0)
		return profile_set(ap, &a, uuid);
	if (strcmp(argv[0], "list") == 0)
		return profile_list(ap, uuid);
	if (strcmp(argv[0], "delete") == 0 && a.name != NULL) {
		(void)snprintf(key, sizeof(key), "%s/%s", uuid, a.name);
		return store_kv_del(ap->store, "acme-profile", key);
	}
	return pca_err_set(PCA_EINVAL, PROFILE_USAGE);
}

/* acme prune [--keep-days N]: what pcad does hourly, now. */
static pca_err
prune_cmd(struct appliance *ap, int argc, char **argv)
{
	long long keep = ap->conf.acme.keep_days;
	size_t no = 0, na = 0;
	pca_err err;

	if (argc == 2 && strcmp(argv[0], "--keep-days") == 0) {
		if (util_strtonum(argv[1], 0, 3650, &keep) != PCA_OK)
			return pca_err_set(PCA_EINVAL,
			    "--keep-days: 0 to 3650");
	} else if (argc != 0)
		return pca_err_set(PCA_EINVAL, "usage: pcactl acme prune "
					       "[--keep-days N]");
	if ((err = acme_prune(ap->store, util_now(), keep * 86400, &no, &na)) !=
	    PCA_OK)
		return err;
	if (json_out)
		return print_json_new(json_pack("{s:I,s:I}", "Orders",
		    (json_int_t)no, "Authorizations", (json_int_t)na));
	printf("pruned %zu orders and %zu authorizations expired over %lld "
	       "days ago\n",
	    no, na, keep);
	return PCA_OK;
}

/*
 * acme cert --serial S: the ACME record of a certificate (account, order,
 * profile, and the RFC 9773 links: the certificate it replaces and the one
 * that replaced it).
 */
static pca_err
cert_cmd(struct appliance *ap, int argc, char **argv)
{
	uint8_t bin[21], *val = NULL;
	size_t bl = 0, n = 0;
	char hex[2 * 20 + 1];
	json_t *o;
	pca_err err;

	if (argc != 2 || strcmp(argv[0], "--serial") != 0)
		return pca_err_set(PCA_EINVAL, "usage: pcactl acme cert "
					       "--serial S");
	if (util_unhex(argv[1], bin, sizeof(bin), &bl) != PCA_OK || bl == 0 ||
	    (bl == 21 && bin[0] != 0))
		return pca_err_set(PCA_EINVAL, "--serial must be at most 20 "
					       "octets of hex");
	if (bin[0] == 0 && bl > 1)
		util_hex(bin + 1, bl - 1, hex, sizeof(hex), 0);
	else
		util_hex(bin, bl, hex, sizeof(hex), 0);
	if ((err = store_kv_get(ap->store, "acme-cert", hex, &val, &n)) !=
	    PCA_OK)
		return err == PCA_ENOTFOUND
			   ? pca_err_set(PCA_ENOTFOUND,
				 "certificate %s was not issued through ACME",
				 hex)
			   : err;
	o = json_loadb((const char *)val, n, 0, NULL);
	free(val);
	if (!json_is_object(o)) {
		json_decref(o);
		return pca_err_set(PCA_EPARSE, "acme-cert %s unreadable", hex);
	}
	json_object_set_new(o, "serial", json_string(hex));
	if (json_out)
		return print_json_new(o);
	printf("serial %s\nca %s\naccount %s\norder %s\nprofile %s\n"
	       "replaces %s\nreplaced_by %s\n",
	    hex, json_string_value(json_object_get(o, "ca")),
	    json_string_value(json_object_get(o, "acct")),
	    json_string_value(json_object_get(o, "order")),
	    json_is_string(json_object_get(o, "profile"))
		? json_string_value(json_object_get(o, "profile"))
		: "-",
	    json_is_string(json_object_get(o, "replaces"))
		? json_string_value(json_object_get(o, "replaces"))
		: "-",
	    json_is_string(json_object_get(o, "replaced_by"))
		? json_string_value(json_object_get(o, "replaced_by"))
		: "-");
	json_decref(o);
	return PCA_OK;
}

pca_err
pcactl_cmd_acme(struct appliance *ap, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[0], "eab") == 0 &&
	    strcmp(argv[1], "create") == 0)
		return eab_create(ap, argc - 2, argv + 2);
	if (argc >= 1 && strcmp(argv[0], "profile") == 0)
		return profile_cmd(ap, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "prune") == 0)
		return prune_cmd(ap, argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "cert") == 0)
		return cert_cmd(ap, argc - 1, argv + 1);
	return pca_err_set(PCA_EINVAL, "usage: pcactl acme eab create ... | "
				       "acme profile set|list|delete ...");
}
