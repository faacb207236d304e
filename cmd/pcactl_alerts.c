/*
 * pcactl_alerts.c - "pcactl alerts list" and "pcactl alerts ack ID": the
 * anomaly alerts pcad raised (alert/).
 */
#include <stdio.h>
#include <string.h>

#include "../alert/alert.h"
#include "../common/util.h"
#include "appliance.h"
#include "pcactl.h"

pca_err
pcactl_cmd_alerts(struct appliance *ap, int argc, char **argv)
{
	json_t *items = NULL, *it;
	size_t i;
	pca_err err;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		if ((err = alert_list(ap->store, &items)) != PCA_OK)
			return err;
		if (json_out)
			return print_json_new(
			    json_pack("{s:o}", "Alerts", items));
		json_array_foreach (items, i, it)
			printf("%s\t%s\t%s\n",
			    json_string_value(json_object_get(it, "id")),
			    json_string_value(json_object_get(it, "kind")),
			    json_is_true(json_object_get(it, "acknowledged"))
				? "acked"
				: "open");
		json_decref(items);
		return PCA_OK;
	}
	if (argc == 2 && strcmp(argv[0], "ack") == 0) {
		if ((err = alert_ack(ap->store, argv[1], "pcactl",
			 util_now())) != PCA_OK)
			return err;
		if (json_out)
			return print_json_new(json_pack("{s:s,s:b}", "Id",
			    argv[1], "Acknowledged", 1));
		printf("acknowledged %s\n", argv[1]);
		return PCA_OK;
	}
	return pca_err_set(PCA_EINVAL, "usage: pcactl alerts list | "
				       "alerts ack ID");
}
