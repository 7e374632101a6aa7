/* The cluster's status for `drove cluster` (cluster_status.c). */
#ifndef DVI_CLI_CLUSTER_STATUS_H
#define DVI_CLI_CLUSTER_STATUS_H

#include <jansson.h>

#include "common/profile.h"
#include "drove.h"

/* The scheduler's status (dv_scheduler_info) with each worker marked
 * `local` if started from here (profile p's record). NULL with the reason
 * printed. Caller owns (json_decref). */
json_t *dvi_cluster_status(const dvi_profile *p, dv_client *c);
/* Prints it as a table. */
void dvi_cluster_print_status(const dvi_profile *p, json_t *o);

#endif
