// SPDX-License-Identifier: Apache-2.0
/*
 * Endpoints and namespaces: create, relabel, delete. An endpoint's identity
 * labels are its own labels plus the ones Cilium derives (namespace, the
 * namespace's labels, the cluster name), so a namespaceSelector works the
 * same way as in Cilium.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"
#include "endpoint.h"
#include "regenerate.h"
#include "warden/datapath.h"
#include "warden/identity.h"
#include "warden/ipcache.h"
#include "warden/log.h"
#include "warden/prefix.h"

static bool valid_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
		      s[i] == '-'))
			return false;
	return true;
}

struct endpoint *endpoint__find(struct agent *agent, const char *name, const char *ns)
{
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		struct endpoint *ep = agent->endpoints[i];

		if (!strcmp(ep->name, name) && !strcmp(ep->namespace, ns))
			return ep;
	}
	return NULL;
}

struct endpoint *endpoint__find_by_id(struct agent *agent, uint32_t id)
{
	for (size_t i = 0; i < agent->endpoint_count; i++)
		if (agent->endpoints[i]->id == id)
			return agent->endpoints[i];
	return NULL;
}

struct endpoint *endpoint__find_by_netns(struct agent *agent, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < agent->endpoint_count; i++)
		if (agent->endpoints[i]->netns_ino == ino &&
		    agent->endpoints[i]->netns_dev == dev)
			return agent->endpoints[i];
	return NULL;
}

/*
 * Who the endpoint's namespace is (see struct endpoint): the pinned name
 * under /run/netns is a bind mount of the namespace's nsfs file.
 */
static int netns_identify(struct endpoint *ep, char *err, size_t err_len)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/run/netns/%s", ep->net.netns);
	if (stat(path, &st) < 0) {
		int ret = -errno;

		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return ret;
	}
	ep->netns_dev = (uint64_t)st.st_dev;
	ep->netns_ino = (uint64_t)st.st_ino;
	return 0;
}

struct endpoint *endpoint__find_by_ipv4(struct agent *agent, uint32_t ipv4)
{
	for (size_t i = 0; i < agent->endpoint_count; i++)
		if (agent->endpoints[i]->net.ipv4 == ipv4)
			return agent->endpoints[i];
	return NULL;
}

const struct label_set *namespace__labels(struct agent *agent, const char *ns)
{
	for (size_t i = 0; i < agent->namespace_count; i++)
		if (!strcmp(agent->namespaces[i].name, ns))
			return &agent->namespaces[i].labels;
	return NULL;
}

/* user labels + k8s:io.kubernetes.pod.namespace + namespace labels + cluster */
int endpoint__derive_labels(struct agent *agent, const char *ns,
			    const struct label_set *user, struct label_set *out)
{
	const struct label_set *ns_labels = namespace__labels(agent, ns);
	char key[512];
	int err;

	memset(out, 0, sizeof(*out));
	err = label_set__copy(out, user);
	if (!err)
		err = label_set__add(out, LABEL_SOURCE_K8S, LABEL_POD_NAMESPACE, ns);
	if (!err)
		err = label_set__add(out, LABEL_SOURCE_K8S, LABEL_POLICY_CLUSTER,
				     LABEL_CLUSTER_NAME);
	for (size_t i = 0; !err && ns_labels && i < ns_labels->count; i++) {
		snprintf(key, sizeof(key), LABEL_NAMESPACE_LABELS_PREFIX "%s",
			 ns_labels->items[i].key);
		err =
		    label_set__add(out, LABEL_SOURCE_K8S, key, ns_labels->items[i].value);
	}
	if (err)
		label_set__free(out);
	return err;
}

/* Users set k8s labels only: the other sources are the agent's to give. */
static int check_user_labels(const struct label_set *labels, char *err, size_t err_len)
{
	for (size_t i = 0; i < labels->count; i++) {
		if (strcmp(labels->items[i].source, LABEL_SOURCE_K8S)) {
			snprintf(err, err_len,
				 "label %s:%s: only the k8s source can be set",
				 labels->items[i].source, labels->items[i].key);
			return -EINVAL;
		}
	}
	return 0;
}

/* set with changes applied: keys removed, then labels set. */
static int apply_label_changes(struct label_set *set, const struct label_changes *changes,
			       char *err, size_t err_len)
{
	int ret = check_user_labels(&changes->set, err, err_len);

	for (size_t i = 0; !ret && i < changes->remove.count; i++)
		label_set__remove(set, LABEL_SOURCE_K8S, changes->remove.items[i]);
	for (size_t i = 0; !ret && i < changes->set.count; i++)
		ret = label_set__add(set, LABEL_SOURCE_K8S, changes->set.items[i].key,
				     changes->set.items[i].value);
	return ret;
}

static int copy_ports(struct endpoint *ep, const struct endpoint_spec *spec)
{
	if (!spec->port_count)
		return 0;
	ep->ports = calloc(spec->port_count, sizeof(*ep->ports));
	if (!ep->ports)
		return -ENOMEM;
	for (; ep->port_count < spec->port_count; ep->port_count++) {
		struct compile_named_port *port = &ep->ports[ep->port_count];

		*port = spec->ports[ep->port_count];
		port->name = strdup(port->name);
		if (!port->name)
			return -ENOMEM;
	}
	return 0;
}

static void endpoint_free(struct endpoint *ep)
{
	if (!ep)
		return;
	free(ep->name);
	free(ep->namespace);
	label_set__free(&ep->user_labels);
	label_set__free(&ep->labels);
	for (size_t i = 0; i < ep->port_count; i++)
		free((char *)ep->ports[i].name);
	free(ep->ports);
	policy_entries__free(&ep->entries);
	policy_lifted_set__free(&ep->lifted);
	free(ep);
}

static uint32_t allocate_ipv4(struct agent *agent)
{
	uint32_t base = ntohl(agent->config.pod_net);
	uint32_t size = agent->config.pod_prefix_len >= 32
			    ? 1
			    : 1u << (32 - agent->config.pod_prefix_len);

	/* .0 is the network, .1 the host gateway, the last is broadcast-like. */
	for (uint32_t off = 2; off + 1 < size; off++) {
		uint32_t candidate = htonl(base + off);

		if (!endpoint__find_by_ipv4(agent, candidate))
			return candidate;
	}
	return 0;
}

static int list_append(struct agent *agent, struct endpoint *ep)
{
	struct endpoint **items =
	    realloc(agent->endpoints, (agent->endpoint_count + 1) * sizeof(*items));

	if (!items)
		return -ENOMEM;
	agent->endpoints = items;
	agent->endpoints[agent->endpoint_count++] = ep;
	return 0;
}

static void list_remove(struct agent *agent, struct endpoint *ep)
{
	for (size_t i = 0; i < agent->endpoint_count; i++) {
		if (agent->endpoints[i] != ep)
			continue;
		memmove(&agent->endpoints[i], &agent->endpoints[i + 1],
			(agent->endpoint_count - i - 1) * sizeof(*agent->endpoints));
		agent->endpoint_count--;
		return;
	}
}

static struct policy_prefix host_prefix(uint32_t ipv4)
{
	struct policy_prefix p = {.family = 4, .len = 32};

	memcpy(p.addr, &ipv4, 4);
	return p;
}

/*
 * Is there room for one more endpoint: an entry in each endpoints map and
 * one in the ipcache (its /32)? Checked before anything is made, so a full
 * map refuses the endpoint with its name.
 */
static int check_room(struct agent *agent, char *err, size_t err_len)
{
	static const enum datapath_map endpoint_maps[] = {DATAPATH_MAP_ENDPOINTS,
							  DATAPATH_MAP_LOCAL_ENDPOINTS};
	enum datapath_map ipcache = DATAPATH_MAP_IPCACHE;

	for (size_t i = 0; i < 2; i++) {
		uint32_t capacity =
		    datapath__map_capacity(agent->datapath, endpoint_maps[i]);

		if (agent->endpoint_count + 1 > capacity) {
			snprintf(err, err_len, "%s is full: it holds %u endpoints",
				 datapath__map_name(agent->datapath, endpoint_maps[i]),
				 capacity);
			return -ENOSPC;
		}
	}
	if (agent->ipcache->ops->count(agent->ipcache) + 1 >
	    datapath__map_capacity(agent->datapath, ipcache)) {
		snprintf(err, err_len, "%s is full (%u entries)",
			 datapath__map_name(agent->datapath, ipcache),
			 datapath__map_capacity(agent->datapath, ipcache));
		return -ENOSPC;
	}
	return 0;
}

int endpoint__create(struct agent *agent, const struct endpoint_spec *spec,
		     struct endpoint **out, char *err, size_t err_len)
{
	const char *name = spec->name, *ns = spec->namespace;
	struct endpoint *ep = NULL;
	struct policy_prefix prefix;
	bool listed = false, have_identity = false, have_net = false, in_ipcache = false;
	bool regenerated = false;
	int ret;

	if (!valid_dns_label(name)) {
		snprintf(
		    err, err_len,
		    "endpoint name `%s` is not a valid DNS label (lowercase letters, "
		    "digits and '-', at most 63)",
		    name);
		return -EINVAL;
	}
	if (!valid_dns_label(ns)) {
		snprintf(err, err_len, "namespace `%s` is not a valid DNS label", ns);
		return -EINVAL;
	}
	if (endpoint__find(agent, name, ns)) {
		snprintf(err, err_len, "endpoint %s/%s already exists", ns, name);
		return -EEXIST;
	}
	ret = check_user_labels(&spec->labels, err, err_len);
	if (!ret)
		ret = check_room(agent, err, err_len);
	if (ret)
		return ret;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	ep->name = strdup(name);
	ep->namespace = strdup(ns);
	if (!ep->name || !ep->namespace) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = label_set__copy(&ep->user_labels, &spec->labels);
	if (!ret)
		ret = copy_ports(ep, spec);
	if (ret)
		goto fail;
	ep->id = agent->next_endpoint_id++;
	ep->net.id = ep->id;
	ep->net.ipv4 = allocate_ipv4(agent);
	if (!ep->net.ipv4) {
		snprintf(err, err_len, "pod CIDR is full");
		ret = -ENOSPC;
		goto fail;
	}
	ret = endpoint__derive_labels(agent, ns, &ep->user_labels, &ep->labels);
	if (ret)
		goto fail;
	ret = identity__acquire(agent->identities, &ep->labels, &ep->identity);
	if (ret) {
		snprintf(err, err_len, "allocate identity: %s", strerror(-ret));
		goto fail;
	}
	have_identity = true;
	ret = netdev_endpoint__create(&ep->net, agent->config.netns_prefix,
				      agent->config.gateway, err, err_len);
	if (ret)
		goto fail;
	have_net = true;
	ret = netns_identify(ep, err, err_len);
	if (ret)
		goto fail;
	prefix = host_prefix(ep->net.ipv4);
	ret = ipcache__upsert(agent->ipcache, &prefix, ep->identity);
	if (ret == -ENOSPC) {
		snprintf(err, err_len, "%s is full (%u entries)",
			 datapath__map_name(agent->datapath, DATAPATH_MAP_IPCACHE),
			 datapath__map_capacity(agent->datapath, DATAPATH_MAP_IPCACHE));
		goto fail;
	}
	if (ret) {
		snprintf(err, err_len, "ipcache: %s", strerror(-ret));
		goto fail;
	}
	in_ipcache = true;
	ret = list_append(agent, ep);
	if (ret)
		goto fail;
	listed = true;
	/* Policy first, then the programs: the endpoint is never reachable
	 * without its policy in the maps. All or nothing: on error the maps
	 * are as before. */
	ret = regenerate__apply(agent, NULL, err, err_len);
	if (ret)
		goto fail;
	regenerated = true;
	ret = datapath__attach(agent->datapath, ep->net.host_ifindex);
	if (ret) {
		snprintf(err, err_len, "attach tc programs to %s: %s",
			 ep->net.host_ifname, strerror(-ret));
		goto fail;
	}
	pr_info("endpoint %s/%s: id %u, identity %u, %s\n", ns, name, ep->id,
		ep->identity, ep->net.host_ifname);
	*out = ep;
	return 0;
fail:
	if (listed) {
		list_remove(agent, ep);
		/* Only a regeneration that went through wrote anything of it. */
		if (regenerated) {
			datapath__policy_sync(agent->datapath, ep->entries.items,
					      ep->entries.count, NULL, 0, ep->flags);
			datapath__endpoint_delete(agent->datapath, ep->net.host_ifindex);
		}
	}
	if (in_ipcache)
		ipcache__remove(agent->ipcache, &prefix, ep->identity);
	if (have_net)
		netdev_endpoint__destroy(&ep->net);
	if (have_identity)
		identity__release(agent->identities, ep->identity);
	endpoint_free(ep);
	if (regenerated) {
		char ignored[256];

		/* The others' policies named its identity: recompute them. */
		if (regenerate__apply(agent, NULL, ignored, sizeof(ignored)))
			pr_warn("endpoint %s/%s: regenerate after a failed create: "
				"%s\n",
				ns, name, ignored);
	}
	return ret;
}

/* Tear down without recomputing the others (used at shutdown). */
static void endpoint_teardown(struct agent *agent, struct endpoint *ep)
{
	struct policy_prefix prefix = host_prefix(ep->net.ipv4);

	datapath__detach(agent->datapath, ep->net.host_ifindex);
	netdev_endpoint__destroy(&ep->net);
	datapath__endpoint_delete(agent->datapath, ep->net.host_ifindex);
	datapath__policy_sync(agent->datapath, ep->entries.items, ep->entries.count, NULL,
			      0, ep->flags);
	datapath__forget_endpoint(agent->datapath, ep->id);
	ipcache__remove(agent->ipcache, &prefix, ep->identity);
	identity__release(agent->identities, ep->identity);
	list_remove(agent, ep);
	endpoint_free(ep);
}

int endpoint__delete(struct agent *agent, struct endpoint *ep)
{
	char err[256];
	int ret;

	pr_info("endpoint %s/%s: deleting\n", ep->namespace, ep->name);
	endpoint_teardown(agent, ep);
	/* Other endpoints' policies may have named its identity. */
	ret = regenerate__apply(agent, NULL, err, sizeof(err));
	if (ret)
		pr_warn("regenerate after delete: %s\n", err);
	return 0;
}

void endpoint__delete_all(struct agent *agent)
{
	while (agent->endpoint_count)
		endpoint_teardown(agent, agent->endpoints[agent->endpoint_count - 1]);
	free(agent->endpoints);
	agent->endpoints = NULL;
}

/*
 * Give ep the identity of new_labels. On failure everything is as before.
 */
static int endpoint_set_labels(struct agent *agent, struct endpoint *ep,
			       struct label_set *new_user, char *err, size_t err_len)
{
	struct label_set new_labels, old_user = ep->user_labels, old_labels = ep->labels;
	struct policy_prefix prefix = host_prefix(ep->net.ipv4);
	uint32_t old_identity = ep->identity, new_identity;
	int ret;

	ret = endpoint__derive_labels(agent, ep->namespace, new_user, &new_labels);
	if (ret)
		return ret;
	ret = identity__acquire(agent->identities, &new_labels, &new_identity);
	if (ret) {
		label_set__free(&new_labels);
		snprintf(err, err_len, "allocate identity: %s", strerror(-ret));
		return ret;
	}
	ep->user_labels = *new_user;
	ep->labels = new_labels;
	ep->identity = new_identity;
	ret = ipcache__upsert(agent->ipcache, &prefix, new_identity);
	if (!ret)
		ret = regenerate__apply(agent, NULL, err, err_len);
	if (ret) {
		char ignored[256];

		ep->user_labels = old_user;
		ep->labels = old_labels;
		ep->identity = old_identity;
		ipcache__upsert(agent->ipcache, &prefix, old_identity);
		identity__release(agent->identities, new_identity);
		label_set__free(&new_labels);
		regenerate__apply(agent, NULL, ignored, sizeof(ignored));
		return ret;
	}
	identity__release(agent->identities, old_identity);
	label_set__free(&old_user);
	label_set__free(&old_labels);
	return 0;
}

int endpoint__relabel(struct agent *agent, struct endpoint *ep,
		      const struct label_changes *changes, char *err, size_t err_len)
{
	struct label_set next = {0};
	int ret;

	ret = label_set__copy(&next, &ep->user_labels);
	if (!ret)
		ret = apply_label_changes(&next, changes, err, err_len);
	if (!ret)
		ret = endpoint_set_labels(agent, ep, &next, err, err_len);
	if (ret)
		label_set__free(&next);
	return ret;
}

int namespace__relabel(struct agent *agent, const char *ns,
		       const struct label_changes *changes, char *err, size_t err_len)
{
	struct namespace_labels *entry = NULL;
	struct label_set old = {0};
	int ret;

	if (!valid_dns_label(ns)) {
		snprintf(err, err_len, "namespace `%s` is not a valid DNS label", ns);
		return -EINVAL;
	}
	for (size_t i = 0; i < agent->namespace_count; i++)
		if (!strcmp(agent->namespaces[i].name, ns))
			entry = &agent->namespaces[i];
	if (!entry) {
		struct namespace_labels *items = realloc(
		    agent->namespaces, (agent->namespace_count + 1) * sizeof(*items));

		if (!items)
			return -ENOMEM;
		agent->namespaces = items;
		entry = &items[agent->namespace_count++];
		memset(entry, 0, sizeof(*entry));
		entry->name = strdup(ns);
		if (!entry->name)
			return -ENOMEM;
	}
	ret = label_set__copy(&old, &entry->labels);
	if (ret)
		return ret;
	ret = apply_label_changes(&entry->labels, changes, err, err_len);
	/* Every endpoint of the namespace gets the labels, so a new identity. */
	for (size_t i = 0; !ret && i < agent->endpoint_count; i++) {
		struct endpoint *ep = agent->endpoints[i];
		struct label_set same = {0};

		if (strcmp(ep->namespace, ns))
			continue;
		ret = label_set__copy(&same, &ep->user_labels);
		if (!ret)
			ret = endpoint_set_labels(agent, ep, &same, err, err_len);
		if (ret)
			label_set__free(&same);
	}
	if (ret) {
		/* Roll the namespace back; endpoints already moved follow it. */
		label_set__free(&entry->labels);
		entry->labels = old;
		for (size_t i = 0; i < agent->endpoint_count; i++) {
			struct endpoint *ep = agent->endpoints[i];
			struct label_set same = {0};
			char ignored[256];

			if (strcmp(ep->namespace, ns))
				continue;
			if (label_set__copy(&same, &ep->user_labels) ||
			    endpoint_set_labels(agent, ep, &same, ignored,
						sizeof(ignored)))
				label_set__free(&same);
		}
		return ret;
	}
	label_set__free(&old);
	return 0;
}

void namespace__free_all(struct agent *agent)
{
	for (size_t i = 0; i < agent->namespace_count; i++) {
		free(agent->namespaces[i].name);
		label_set__free(&agent->namespaces[i].labels);
	}
	free(agent->namespaces);
	agent->namespaces = NULL;
	agent->namespace_count = 0;
}

int endpoint__set_audit(struct agent *agent, struct endpoint *ep, bool on, char *err,
			size_t err_len)
{
	return regenerate__endpoint(agent, ep, on, err, err_len);
}
