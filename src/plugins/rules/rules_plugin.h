/*
 * rules_plugin.h - the rules engine's scan plugin, and loading a rule set
 * from a configuration the way the plugin does (`mxmoat lint`).
 */
#ifndef MXMOAT_RULES_PLUGIN_H
#define MXMOAT_RULES_PLUGIN_H

#include "plugins/rules/rules.h"
#include "scan/plugin.h"

extern const struct scan_plugin rules_plugin;

int rules_plugin_load(const struct conf *conf, struct rules **rules_r,
		      struct rules_stats *stats_r, struct buf *problems, char **error_r);

#endif
