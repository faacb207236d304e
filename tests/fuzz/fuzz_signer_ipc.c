/*
 * fuzz_signer_ipc.c - libFuzzer target for the frames between pcad's front
 * and its signer (hsm/hsm_ipc.h): the input is a stream of frames (a
 * 16-byte header and the body it announces).  Each is checked as a request
 * and as a reply; a frame that decodes must re-encode to the same bytes
 * and its labels must be bounded.  Nothing may crash, leak or read out of
 * bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/limits.h"
#include "../../hsm/hsm_ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const struct hsm_ipc_hdr *h, const uint8_t *body, int reply)
{
	struct hsm_ipc_msg m;
	char label[LIM_LABEL + 1];
	uint8_t *re = NULL;
	size_t len;

	if (hsm_ipc_decode(h, reply, body, &m) != PCA_OK)
		return;
	if (m.n > 0 && !reply && h->type != HSM_IPC_HEALTH &&
	    h->type != HSM_IPC_STATS &&
	    hsm_ipc_label(&m.f[0], label, sizeof(label)) == PCA_OK &&
	    strlen(label) != m.f[0].len)
		abort();
	if (hsm_ipc_encode(h->type, h->id, h->status, m.f, m.n, &re, &len) !=
	    PCA_OK)
		abort();
	if (len != HSM_IPC_HDR_LEN + h->len ||
	    memcmp(re + HSM_IPC_HDR_LEN, body, h->len) != 0)
		abort();
	free(re);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsm_ipc_hdr h;
	uint8_t *body;

	while (size >= HSM_IPC_HDR_LEN) {
		memcpy(&h, data, HSM_IPC_HDR_LEN);
		data += HSM_IPC_HDR_LEN;
		size -= HSM_IPC_HDR_LEN;
		if (h.len > size)
			h.len =
			    (uint32_t)size; /* what a short read would see */
		/* a copy of exactly the body: overreads are caught */
		if ((body = malloc(h.len ? h.len : 1)) == NULL)
			return 0;
		memcpy(body, data, h.len);
		one(&h, body, 0);
		one(&h, body, 1);
		free(body);
		data += h.len;
		size -= h.len;
	}
	return 0;
}
