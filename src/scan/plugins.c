/*
 * plugins.c - the plugins compiled into mxmoatd, in no particular order
 * (each plugin's priority orders the pipeline).
 */
#include "scan/scan.h"
#include "plugins/rules/rules_plugin.h"
#include "plugins/clamav/clamav_plugin.h"
#include "plugins/greylist/greylist_plugin.h"
#include "plugins/bayes/bayes_plugin.h"

const struct scan_plugin *const scan_plugins[] = {
	&rules_plugin,
	&attach_plugin,
	&clamav_plugin,
	&greylist_rcpt_plugin,
	&greylist_data_plugin,
	&bayes_plugin,
	&bayes_autolearn_plugin,
	NULL,
};
