/*
 * clamav_plugin.h - the antivirus and the attachment policy as scan
 * plugins (data stage).
 *
 *   clamav       [clamav]: every decoded part of every reading of the
 *                message, then the raw message (split by ClamAV's own mail
 *                parser as well when mxmoat's parser found the structure
 *                ambiguous: [clamav] raw_mail_parser), through libclamav
 *                in-process (av_engine.h) or clamd (av_clamd.h); MIME
 *                parser limits that left content undecoded make the
 *                message unscannable. The first object with a virus ends
 *                the scan (the message is decided; the rest would only add
 *                names). The engine belongs to the snapshot:
 *                a reload (SIGHUP, or the database directory changing:
 *                the plugin's stale()) builds a new one off the event loop,
 *                scans in progress finish on the old one.
 *   attachments  [attachments]: every candidate file name of every part,
 *                and the type of every part by its content (attach_policy.h);
 *                inside archives the clamav plugin applies the same policy.
 * Both only add symbols, forced actions and X-Virus-* headers
 * (av_findings.h); verdict/ decides. clamav runs first (priority 20, then
 * attachments 25), so that among equally severe forced rejects the virus
 * name is what the client reads.
 */
#ifndef MXMOAT_CLAMAV_PLUGIN_H
#define MXMOAT_CLAMAV_PLUGIN_H

#include "scan/plugin.h"

extern const struct scan_plugin clamav_plugin;
extern const struct scan_plugin attach_plugin;

/* clamav_plugin_symbol_description(): what the symbols of both plugins
 * mean (`mxmoat scan` prints it), or NULL for another name */
const char *clamav_plugin_symbol_description(const char *name);

#endif
