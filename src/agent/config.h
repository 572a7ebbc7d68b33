/* SPDX-License-Identifier: Apache-2.0 */
/* wardend's command line (config.c). */
#ifndef WARDEN_AGENT_CONFIG_H
#define WARDEN_AGENT_CONFIG_H

struct agent_config;

/* agent_config__parse() results besides 0 (run the agent). */
#define CONFIG_HELP 1 /* --help was printed: exit 0 */

/*
 * Fill config from the command line (defaults for what it does not say).
 * Returns 0, CONFIG_HELP, or -EINVAL after printing what was wrong (exit 2).
 * config keeps pointers into argv.
 */
int agent_config__parse(struct agent_config *config, int argc, char **argv);

#endif /* WARDEN_AGENT_CONFIG_H */
