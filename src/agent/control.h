/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket (control.c, protocol in docs/control-protocol.md): its
 * listener, its clients and their requests.
 */
#ifndef WARDEN_AGENT_CONTROL_H
#define WARDEN_AGENT_CONTROL_H

struct agent;
struct control;
struct loop;

/*
 * Listen on the Unix socket at agent->config.socket_path (mode 0600 root,
 * or 0660 root:--socket-group; a stale socket of a crashed agent is
 * replaced) and serve its clients from loop. Returns 0 or -errno.
 */
int control__open(struct control **out, struct agent *agent, struct loop *loop);
/* After every loop round: requests begun too long ago fail, a paused
 * listener listens again. */
void control__tick(struct control *control);
/* Close every client and the listener, and remove the socket. */
void control__close(struct control *control);

#endif /* WARDEN_AGENT_CONTROL_H */
