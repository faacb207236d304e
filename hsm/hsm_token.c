/*
 * hsm_token.c - initializing a fresh token (C_InitToken + C_InitPIN), as
 * "pcactl init" does.  Works with any module that supports C_InitToken.
 */
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>

#include "../common/log.h"
#include "hsm_int.h"

/* The label to give the token: conf->token, or token= of a URI. */
static pca_err
init_label(const char *token, CK_UTF8CHAR label[32])
{
	P11KitUri *uri;
	CK_TOKEN_INFO *ti;
	pca_err rc;
	int r;

	if (token == NULL || token[0] == '\0')
		return pca_err_set(PCA_EINVAL, "no token label configured");
	if (strncmp(token, "pkcs11:", 7) != 0)
		return hsm_token_label_pad(token, label);
	if ((uri = p11_kit_uri_new()) == NULL)
		return pca_err_set(PCA_ENOMEM, "out of memory");
	r = p11_kit_uri_parse(token, P11_KIT_URI_FOR_TOKEN, uri);
	ti = p11_kit_uri_get_token_info(uri);
	if (r != P11_KIT_URI_OK)
		rc = pca_err_set(PCA_EPARSE, "token URI %s: %s", token,
		    p11_kit_uri_message(r));
	else if (ti == NULL || ti->label[0] == 0 || ti->label[0] == ' ')
		rc = pca_err_set(PCA_EINVAL,
		    "token URI %s has no token=", token);
	else {
		memcpy(label, ti->label, 32);
		rc = PCA_OK;
	}
	p11_kit_uri_free(uri);
	return rc;
}

/*
 * The first slot with a present, uninitialized token; PCA_EEXISTS if a
 * token already carries the label.
 */
static pca_err
free_slot(CK_FUNCTION_LIST *fl, const CK_UTF8CHAR label[32], const char *name,
    CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	int found = 0;
	CK_RV rv;

	if ((rv = fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return hsm_p11_fail("C_GetSlotList", rv, NULL);
	for (i = 0; i < n; i++) {
		if ((rv = fl->C_GetTokenInfo(slots[i], &ti)) != CKR_OK)
			return hsm_p11_fail("C_GetTokenInfo", rv, NULL);
		if (ti.flags & CKF_TOKEN_INITIALIZED) {
			if (memcmp(ti.label, label, 32) == 0)
				return pca_err_set(PCA_EEXISTS,
				    "a token labelled %s exists already", name);
		} else if (!found) {
			*slot = slots[i];
			found = 1;
		}
	}
	if (!found)
		return pca_err_set(PCA_ENOTFOUND,
		    "no slot holds an uninitialized token");
	return PCA_OK;
}

/* The slot of the freshly initialized token, by label (ids may move). */
static pca_err
labelled_slot(CK_FUNCTION_LIST *fl, const CK_UTF8CHAR label[32],
    CK_SLOT_ID *slot)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	if ((rv = fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return hsm_p11_fail("C_GetSlotList", rv, NULL);
	for (i = 0; i < n; i++)
		if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    (ti.flags & CKF_TOKEN_INITIALIZED) &&
		    memcmp(ti.label, label, 32) == 0) {
			*slot = slots[i];
			return PCA_OK;
		}
	return pca_err_set(PCA_ENOTFOUND,
	    "the token vanished right after C_InitToken");
}

/* SO login, C_InitPIN, logout. */
static pca_err
set_user_pin(CK_FUNCTION_LIST *fl, CK_SLOT_ID slot, const char *so_pin,
    const char *user_pin)
{
	CK_SESSION_HANDLE s;
	pca_err rc = PCA_OK;
	CK_RV rv;

	rv = fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
	    NULL, &s);
	if (rv != CKR_OK)
		return hsm_p11_fail("C_OpenSession", rv, NULL);
	rv = fl->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin));
	if (rv != CKR_OK) {
		rc = hsm_p11_fail("C_Login(SO)", rv, NULL);
		goto out;
	}
	rv = fl->C_InitPIN(s, (CK_UTF8CHAR_PTR)user_pin, strlen(user_pin));
	if (rv != CKR_OK)
		rc = hsm_p11_fail("C_InitPIN", rv, NULL);
	(void)fl->C_Logout(s);
out:
	(void)fl->C_CloseSession(s);
	return rc;
}

static pca_err
token_init(CK_FUNCTION_LIST *fl, const CK_UTF8CHAR label[32], const char *name,
    const char *so_pin, const char *user_pin)
{
	CK_SLOT_ID slot = 0;
	pca_err rc;
	CK_RV rv;

	if ((rc = free_slot(fl, label, name, &slot)) != PCA_OK)
		return rc;
	rv = fl->C_InitToken(slot, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin),
	    (CK_UTF8CHAR_PTR)label);
	if (rv != CKR_OK)
		return hsm_p11_fail("C_InitToken", rv, NULL);
	if ((rc = labelled_slot(fl, label, &slot)) != PCA_OK)
		return rc;
	return set_user_pin(fl, slot, so_pin, user_pin);
}

static pca_err
pins_check(const char *so_pin, const char *user_pin)
{
	if (so_pin == NULL || user_pin == NULL || so_pin[0] == '\0' ||
	    user_pin[0] == '\0')
		return pca_err_set(PCA_EINVAL, "both PINs must be given");
	if (strlen(so_pin) > LIM_PIN || strlen(user_pin) > LIM_PIN)
		return pca_err_set(PCA_ETOOBIG, "a PIN is over %d bytes",
		    LIM_PIN);
	return PCA_OK;
}

pca_err
hsm_token_init(const struct hsm_conf *conf, const char *so_pin,
    const char *user_pin)
{
	CK_FUNCTION_LIST *fl = NULL;
	CK_UTF8CHAR label[32];
	struct hsm_sigpipe sp;
	char *path = NULL;
	int inited = 0;
	pca_err rc;

	if (conf == NULL)
		return pca_err_set(PCA_EINVAL, "hsm_token_init: no config");
	if ((rc = pins_check(so_pin, user_pin)) != PCA_OK ||
	    (rc = init_label(conf->token, label)) != PCA_OK)
		return rc;
	hsm_sigpipe_block(1, &sp);
	if ((rc = hsm_module_resolve(conf->module, &path)) != PCA_OK ||
	    (rc = hsm_env_apply(conf->module_env)) != PCA_OK ||
	    (rc = hsm_module_load(path, &fl)) != PCA_OK ||
	    (rc = hsm_initialize(fl)) != PCA_OK)
		goto out;
	inited = 1;
	if ((rc = token_init(fl, label, conf->token, so_pin, user_pin)) ==
	    PCA_OK)
		log_info("hsm: initialized token %s", conf->token);
out:
	if (inited)
		(void)fl->C_Finalize(NULL);
	if (fl != NULL)
		p11_kit_module_release(fl);
	hsm_sigpipe_restore(&sp);
	free(path);
	return rc;
}
