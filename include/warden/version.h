/* SPDX-License-Identifier: Apache-2.0 */
/* One version for the agent and the CLI. */
#ifndef WARDEN_VERSION_H
#define WARDEN_VERSION_H

#define WARDEN_VERSION "0.1.0"

#endif /* WARDEN_VERSION_H */
