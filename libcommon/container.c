// SPDX-License-Identifier: GPL-2.0
/*
 * cgroups and containers without a container runtime API. BPF records a cgroup id (the
 * cgroupfs inode, kernfs node id) and, in tools built with HT_WANT_CONTAINERS, the cgroup's
 * path in the map ht_cgroup_paths at the event (bpf/common.bpf.h): the path is read there,
 * else found by walking the controller's hierarchy (cached), and the container id is read out
 * of the path. The rest of a container's identity comes from its runtime's state (runtime.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/types.h>

#include <bpf/bpf.h>

#include "common.h" /* struct ht_cgroup_path, shared with bpf/common.bpf.h */
#include "huatuo.h"

struct mount_entry {
	char controller[32];
	char path[512]; /* mount point */
	char root[512]; /* the hierarchy's directory mounted there: "/" unless a container's view */
	bool v2;
	bool found;
};

static struct mount_entry mounts[8];

/* True if the comma-separated @opts contains @word. */
static bool has_word(const char *opts, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, n) &&
		    (p[n] == ',' || p[n] == '\0' || isspace((unsigned char)p[n])))
			return true;
	return false;
}

static bool v2_has_controller(const char *mnt, const char *controller)
{
	char path[600], buf[1024];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
	if (ht_read_file(path, buf, sizeof(buf)) < 0)
		return false;
	for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
		if (!strcmp(tok, controller))
			return true;
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_mountinfo(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

struct mount_line {
	char mnt[512], root[512], fstype[32], opts[1024];
};

/* "36 35 0:30 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory" */
static bool parse_mountinfo_line(const char *line, struct mount_line *m)
{
	const char *sep = strstr(line, " - ");
	char src[256];

	if (!sep || sscanf(line, "%*s %*s %*s %511s %511s", m->root, m->mnt) != 2 ||
	    sscanf(sep + 3, "%31s %255s %1023s", m->fstype, src, m->opts) != 3)
		return false;
	unescape_mountinfo(m->root);
	unescape_mountinfo(m->mnt);
	return true;
}

/*
 * Whether @m is the better mount of a hierarchy than @best: one that shows the whole
 * hierarchy (root "/") over a container's view of its own cgroup (podman and docker mount
 * the container's cgroup on /sys/fs/cgroup/<controller>, on top of a host /sys bind-mounted
 * into a debug container).
 */
static bool better_mount(const struct mount_line *m, const struct mount_entry *best)
{
	return !best->found || (strcmp(best->root, "/") && !strcmp(m->root, "/"));
}

const char *ht_cgroup_mount(const char *controller, bool *is_v2)
{
	struct mount_entry *m = NULL, v2 = { .v2 = true };
	struct mount_line *lines = NULL, *ml;
	size_t n = 0, cap = 0;
	char line[4096];
	FILE *f;

	for (size_t i = 0; i < ARRAY_SIZE(mounts); i++) {
		if (!strcmp(mounts[i].controller, controller)) {
			*is_v2 = mounts[i].v2;
			return mounts[i].found ? mounts[i].path : NULL;
		}
		if (!m && !mounts[i].controller[0])
			m = &mounts[i];
	}
	if (!m)
		return NULL;
	snprintf(m->controller, sizeof(m->controller), "%s", controller);
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (n == cap) {
			struct mount_line *grown =
				realloc(lines, (cap ? cap * 2 : 64) * sizeof(*lines));

			if (!grown)
				break;
			lines = grown;
			cap = cap ? cap * 2 : 64;
		}
		if (parse_mountinfo_line(line, &lines[n]))
			n++;
	}
	fclose(f);
	for (size_t i = 0; i < n; i++) {
		bool shadowed = false;

		ml = &lines[i];
		/* a later mount on the same mount point hides this one (stacked mounts) */
		for (size_t j = i + 1; j < n && !shadowed; j++)
			shadowed = !strcmp(lines[j].mnt, ml->mnt);
		if (shadowed)
			continue;
		if (!strcmp(ml->fstype, "cgroup") && has_word(ml->opts, controller) &&
		    better_mount(ml, m)) {
			snprintf(m->path, sizeof(m->path), "%s", ml->mnt);
			snprintf(m->root, sizeof(m->root), "%s", ml->root);
			m->found = true;
		}
		if (!strcmp(ml->fstype, "cgroup2") && better_mount(ml, &v2)) {
			snprintf(v2.path, sizeof(v2.path), "%s", ml->mnt);
			snprintf(v2.root, sizeof(v2.root), "%s", ml->root);
			v2.found = true;
		}
	}
	free(lines);
	if (!m->found && v2.found && (!*controller || v2_has_controller(v2.path, controller))) {
		snprintf(m->path, sizeof(m->path), "%s", v2.path);
		snprintf(m->root, sizeof(m->root), "%s", v2.root);
		m->found = m->v2 = true;
	}
	*is_v2 = m->v2;
	return m->found ? m->path : NULL;
}

/* The hierarchy's directory mounted at @controller's mount point ("/" for the whole). */
static const char *mount_root(const char *controller)
{
	bool v2;

	if (!ht_cgroup_mount(controller, &v2))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(mounts); i++)
		if (!strcmp(mounts[i].controller, controller))
			return mounts[i].root;
	return NULL;
}

/*
 * A hierarchy path ("/docker/<id>") as a file system path below the controller's mount, or
 * -ENOENT when the mount does not show it (a container's view of its own cgroup only).
 */
static int path_in_mount(const char *controller, const char *path, const char *file, char *out,
			 size_t len)
{
	const char *root = mount_root(controller), *mnt;
	size_t n;
	bool v2;

	mnt = ht_cgroup_mount(controller, &v2);
	if (!mnt || !root)
		return -ENOENT;
	if (strcmp(root, "/")) {
		n = strlen(root);
		if (strncmp(path, root, n) || (path[n] != '/' && path[n] != '\0'))
			return -ENOENT;
		path += n;
	}
	if (!strcmp(path, "/"))
		path = "";
	if ((size_t)snprintf(out, len, "%s%s%s%s%s", mnt, path[0] && path[0] != '/' ? "/" : "",
			     path, file ? "/" : "", file ? file : "") >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- id -> path cache, one per controller root ---- */

struct id_path {
	uint64_t id;
	char *path;
};

struct id_index {
	char root[512];	  /* mount point walked */
	char prefix[512]; /* its directory in the hierarchy, "" for the hierarchy's root */
	struct id_path *v;
	size_t n, cap;
	uint64_t walked_ns;
};

static struct id_index indexes[4];

static void index_add(struct id_index *ix, uint64_t id, const char *rel)
{
	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 256;
		struct id_path *v = realloc(ix->v, cap * sizeof(*v));

		if (!v)
			return;
		ix->v = v;
		ix->cap = cap;
	}
	ix->v[ix->n].id = id;
	if (asprintf(&ix->v[ix->n].path, "%s%s", ix->prefix, rel[0] || ix->prefix[0] ? rel : "/") >=
	    0)
		ix->n++;
}

static void walk(struct id_index *ix, const char *abs, size_t root_len, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (depth > 32 || stat(abs, &st))
		return;
	index_add(ix, st.st_ino, abs + root_len);
	d = opendir(abs);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char child[4096];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", abs, de->d_name) >=
		    sizeof(child))
			continue;
		walk(ix, child, root_len, depth + 1);
	}
	closedir(d);
}

static int cmp_id(const void *a, const void *b)
{
	const struct id_path *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void reindex(struct id_index *ix)
{
	for (size_t i = 0; i < ix->n; i++)
		free(ix->v[i].path);
	ix->n = 0;
	walk(ix, ix->root, strlen(ix->root), 0);
	qsort(ix->v, ix->n, sizeof(*ix->v), cmp_id);
	ix->walked_ns = ht_now_mono_ns();
}

static const char *index_find(struct id_index *ix, uint64_t id)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ix->v[mid].id == id)
			return ix->v[mid].path;
		if (ix->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- paths the kernel recorded at the event (bpf/common.bpf.h) ---- */

static int kernel_paths_fd = -1, verdicts_fd = -1;

void ht_containers_attach(struct bpf_object *obj)
{
	struct bpf_map *paths = bpf_object__find_map_by_name(obj, "ht_cgroup_paths");
	struct bpf_map *verdicts = bpf_object__find_map_by_name(obj, "ht_verdicts");

	kernel_paths_fd = paths ? bpf_map__fd(paths) : -1;
	verdicts_fd = verdicts ? bpf_map__fd(verdicts) : -1;
}

/* The last paths looked up, direct-mapped by id: one hash step per event in a storm. */
static struct {
	uint64_t id;
	char *path;
} recent[1024];

static const char *recent_find(uint64_t id)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ULL >> 54);

	return recent[i].id == id ? recent[i].path : NULL;
}

static void recent_add(uint64_t id, const char *path)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ULL >> 54);
	char *copy = strdup(path);

	if (!copy)
		return;
	free(recent[i].path);
	recent[i].id = id;
	recent[i].path = copy;
}

/*
 * The path the kernel recorded for @id, its names joined root first: 0, 1 when it is partial
 * (deeper than HT_CGROUP_DEPTH: "/..." stands for the outer levels; or a name maybe cut), or
 * -ENOENT.
 */
static int kernel_path(uint64_t id, char *path, size_t len)
{
	struct ht_cgroup_path p;
	size_t n = 0;

	if (kernel_paths_fd < 0 || bpf_map_lookup_elem(kernel_paths_fd, &id, &p) ||
	    p.depth > HT_CGROUP_DEPTH)
		return -ENOENT;
	path[0] = '\0';
	if (p.truncated && p.depth == HT_CGROUP_DEPTH)
		n = (size_t)snprintf(path, len, "/...");
	for (int i = (int)p.depth - 1; i >= 0 && n < len; i--) {
		p.names[i][HT_CGROUP_NAME - 1] = '\0';
		n += (size_t)snprintf(path + n, len - n, "/%s", p.names[i]);
	}
	if (!p.depth)
		snprintf(path, len, "/");
	return p.truncated ? 1 : 0;
}

static int walked_path(const char *controller, uint64_t cgroup_id, char *path, size_t len)
{
	struct id_index *ix = NULL;
	const char *root, *found;
	bool v2;

	root = ht_cgroup_mount(controller, &v2);
	if (!root)
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(indexes) && !ix; i++) {
		if (!strcmp(indexes[i].root, root))
			ix = &indexes[i];
		else if (!indexes[i].root[0]) {
			ix = &indexes[i];
			snprintf(ix->root, sizeof(ix->root), "%s", root);
			snprintf(ix->prefix, sizeof(ix->prefix), "%s",
				 strcmp(mount_root(controller), "/") ? mount_root(controller) : "");
		}
	}
	if (!ix)
		return -ENOSPC;
	found = index_find(ix, cgroup_id);
	/* new cgroups appear all the time: walk again, at most every 100 ms */
	if (!found && (!ix->walked_ns || ht_now_mono_ns() - ix->walked_ns > 100 * NSEC_PER_MSEC)) {
		reindex(ix);
		found = index_find(ix, cgroup_id);
	}
	if (!found)
		return -ENOENT;
	snprintf(path, len, "%s", found);
	return 0;
}

int ht_cgroup_path(const char *controller, uint64_t cgroup_id, char *path, size_t len)
{
	const char *known;
	int err;

	if (!cgroup_id)
		return -ENOENT;
	known = recent_find(cgroup_id);
	if (known) {
		snprintf(path, len, "%s", known);
		return 0;
	}
	/* a partial path from the kernel only if cgroupfs has no whole one (any more) */
	err = kernel_path(cgroup_id, path, len);
	if (err && walked_path(controller, cgroup_id, path, len) && err < 0)
		return err;
	recent_add(cgroup_id, path);
	return 0;
}

void ht_container_cgroup_made(uint64_t id, const char *path, size_t len)
{
	struct ht_container ct;

	/* a cut path is not the cgroup's: its first event has the kernel record it whole */
	if (!path[0] || strnlen(path, len) >= len - 1 || !ht_container_from_path(path, &ct))
		return;
	recent_add(id, path);
	ht_runtime_fill(&ct);
}

int ht_cgroup_read_u64(const char *controller, const char *path, const char *file, uint64_t *val)
{
	char full[4096], buf[64];
	int n;

	n = path_in_mount(controller, path, file, full, sizeof(full));
	if (n)
		return n;
	n = ht_read_file(full, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (!strncmp(buf, "max", 3)) {
		*val = UINT64_MAX;
		return 0;
	}
	return ht_parse_u64(strtok(buf, "\n"), 0, UINT64_MAX, val);
}

/* ---- container identity from a path ---- */

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* One path segment: "docker-<id>.scope", "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "libpod-<id>.scope" (systemd driver) or a bare "<id>" (cgroupfs driver). */
static bool segment_id(const char *seg, size_t len, const char *parent, struct ht_container *ct)
{
	static const struct {
		const char *prefix;
		const char *runtime;
	} prefixes[] = {
		{ "docker-", "docker" }, { "cri-containerd-", "containerd" }, { "crio-", "crio" },
		{ "libpod-", "podman" }, { "containerd-", "containerd" },
	};
	const char *runtime = NULL;

	if (len > 6 && !strncmp(seg + len - 6, ".scope", 6))
		len -= 6;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i].prefix);

		if (len > n && !strncmp(seg, prefixes[i].prefix, n)) {
			seg += n;
			len -= n;
			runtime = prefixes[i].runtime;
			break;
		}
	}
	if (!is_hex64(seg, len))
		return false; /* includes "crio-conmon-<id>", "libpod-conmon-<id>": monitors */
	if (!runtime) {
		if (!strcmp(parent, "docker"))
			runtime = "docker";
		else if (!strncmp(parent, "pod", 3) || strstr(parent, "kubepods"))
			runtime = "cri";
		else
			runtime = "unknown";
	}
	memcpy(ct->id, seg, 64);
	ct->id[64] = '\0';
	snprintf(ct->runtime, sizeof(ct->runtime), "%s", runtime);
	return true;
}

bool ht_container_from_path(const char *cgroup_path, struct ht_container *ct)
{
	char parent[256] = "";
	const char *p = cgroup_path;
	bool found = false;

	memset(ct, 0, sizeof(*ct));
	if (!p)
		return false;
	while (*p) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (!len)
			break;
		/* the innermost container id wins (nested runtimes) */
		if (segment_id(p, len, parent, ct))
			found = true;
		snprintf(parent, sizeof(parent), "%.*s", (int)len, p);
		p += len;
	}
	if (!found) {
		memset(ct, 0, sizeof(*ct));
		return false;
	}
	if (strstr(cgroup_path, "kubepods")) {
		if (strstr(cgroup_path, "besteffort"))
			snprintf(ct->qos, sizeof(ct->qos), "besteffort");
		else if (strstr(cgroup_path, "burstable"))
			snprintf(ct->qos, sizeof(ct->qos), "burstable");
		else
			snprintf(ct->qos, sizeof(ct->qos), "guaranteed");
	}
	return true;
}

bool ht_container_lookup(const char *controller, uint64_t cgroup_id, const char *uts_nodename,
			 struct ht_container *ct, char *path, size_t path_len)
{
	char local[4096];

	if (!path) {
		path = local;
		path_len = sizeof(local);
	}
	path[0] = '\0';
	memset(ct, 0, sizeof(*ct));
	if (ht_cgroup_path(controller, cgroup_id, path, path_len))
		return false;
	if (!ht_container_from_path(path, ct))
		return false;
	/* the hostname the task itself saw, at the event, over the runtime's config */
	if (uts_nodename)
		ht_utf8_sanitize(uts_nodename, strnlen(uts_nodename, 65), ct->hostname,
				 sizeof(ct->hostname));
	ht_runtime_fill(ct);
	return true;
}

static void add_key(cJSON *obj, const char *prefix, const char *key, const char *value, bool always)
{
	char full[64];

	if (!always && !value[0])
		return;
	snprintf(full, sizeof(full), "%s%s", prefix, key);
	ht_json_add_bytes(obj, full, value, strlen(value) + 1);
}

void ht_json_add_container(cJSON *obj, const char *prefix, const struct ht_container *ct)
{
	static const struct ht_container none;

	if (!ct || !ct->id[0])
		ct = &none;
	add_key(obj, prefix, "container_id", ct->id, true);
	add_key(obj, prefix, "container_hostname", ct->hostname, true);
	add_key(obj, prefix, "container_name", ct->name, false);
	add_key(obj, prefix, "container_pod_name", ct->pod_name, false);
	add_key(obj, prefix, "container_host_namespace", ct->host_namespace, false);
	add_key(obj, prefix, "container_type", ct->type, false);
	add_key(obj, prefix, "container_qos", ct->qos, false);
}

bool ht_cgroup_wanted(const struct ht_env *env, const char *controller, uint64_t cgroup_id,
		      const char *event_path)
{
	static char filter[4096];
	static bool resolved;
	size_t n;

	if (!env->cgroup_id)
		return true;
	if (cgroup_id == env->cgroup_id)
		return true;
	if (!resolved) {
		resolved = true;
		if (ht_cgroup_path(controller, env->cgroup_id, filter, sizeof(filter)))
			filter[0] = '\0';
	}
	if (!filter[0] || !event_path || !event_path[0])
		return false;
	if (!strcmp(filter, "/"))
		return true;
	n = strlen(filter);
	return !strncmp(event_path, filter, n) && (event_path[n] == '/' || event_path[n] == '\0');
}

/* ---- the container of a network namespace ---- */

/*
 * The container whose network namespace @inum is, found through a process in it (/proc, so
 * the tool must see the host's processes: --pid=host in a container). The host's namespace
 * (kthreadd's; shared by host-network containers) is nobody's, and processes outside any
 * container in another one (nsenter, a runtime joining it) do not make it theirs. A pod's
 * containers share one: its sandbox wins.
 *
 * Cached per namespace, NETNS_SLOTS of them (a node's pods each have one; the least recently
 * used gives its slot up). An answer holds while the process it was found through is still
 * in the namespace, checked at most every NETNS_CHECK_NS, and once a second for a namespace
 * whose --container verdict the kernel keeps (ht_netns_recheck(): the kernel drops a
 * namespace's events on its verdict, so no event would come to check it): the kernel gives a
 * freed namespace's inode number to the next one it makes, which may be nobody's or another
 * pod's. The verdict goes with the answer.
 *
 * A namespace without an answer is looked up again 1 s later, then 2, 4 and 8 s apart: a
 * container's processes join its namespace within a second or two of its creation, and a
 * namespace that is nobody's (ip netns, a CNI's) would otherwise cost a walk of /proc every
 * second while its packets drop.
 */
#define NETNS_SLOTS 256
#define NETNS_PROBES 8
#define NETNS_CHECK_NS (100 * NSEC_PER_MSEC)
#define NETNS_RETRY_FIRST_NS NSEC_PER_SEC
#define NETNS_RETRY_MAX_NS (8 * NSEC_PER_SEC)

struct netns_entry {
	uint32_t inum;
	bool found;
	bool host;	   /* the host's namespace: nobody's for good */
	pid_t pid;	   /* found through this process */
	uint64_t used_ns;  /* last asked for */
	uint64_t tried_ns; /* last looked up in /proc, or checked through pid */
	uint64_t retry_ns; /* from tried_ns to the next walk, while not found */
	bool verdict;	   /* the kernel keeps a --container verdict for it (ht_verdicts) */
	struct ht_container ct;
};

static struct netns_entry *netns_cache[NETNS_SLOTS];

/* "net:[inum]", the link /proc/PID/ns/net holds */
static bool pid_in_netns(const char *pid, const char *want)
{
	char file[64], link[64];
	ssize_t n;

	snprintf(file, sizeof(file), "/proc/%s/ns/net", pid);
	n = readlink(file, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, want);
}

static bool scan_netns(uint32_t inum, struct ht_container *ct, pid_t *pid, bool *host)
{
	char want[32], path[4096] = "";
	struct ht_container c;
	bool found = false;
	struct dirent *de;
	DIR *d = opendir("/proc");

	if (!d)
		return false;
	snprintf(want, sizeof(want), "net:[%u]", inum);
	/* the host's: kernel threads are in it (pid 2, kthreadd, in the host's pid namespace) */
	if (ht_host_pidns() && pid_in_netns("2", want)) {
		closedir(d);
		*host = true;
		return false;
	}
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]) || !pid_in_netns(de->d_name, want))
			continue;
		if (ht_cgroup_path_of_pid(atoi(de->d_name), "memory", path, sizeof(path)))
			continue; /* gone meanwhile */
		if (!ht_container_from_path(path, &c))
			continue;
		if (found && (!strcmp(ct->type, "sandbox") || !strcmp(c.id, ct->id)))
			continue;
		ht_runtime_fill(&c);
		if (!found || !strcmp(c.type, "sandbox")) {
			*ct = c;
			*pid = atoi(de->d_name);
		}
		found = true;
	}
	closedir(d);
	return found;
}

/* @e's answer no longer holds (or @e leaves the cache): look again, and take its verdict back */
static void netns_forget(struct netns_entry *e)
{
	uint64_t key = HT_VERDICT_NETNS | e->inum;

	if (e->verdict && verdicts_fd >= 0)
		bpf_map_delete_elem(verdicts_fd, &key);
	e->verdict = false;
	e->found = false;
	e->retry_ns = 0; /* look now */
}

/* Is the process @e's answer was found through still in @e's namespace? */
static bool netns_still(const struct netns_entry *e)
{
	char want[32], pid[16];

	snprintf(want, sizeof(want), "net:[%u]", e->inum);
	snprintf(pid, sizeof(pid), "%d", (int)e->pid);
	return pid_in_netns(pid, want);
}

/* @inum's cache entry: its own, else a free slot, else the least recently used; NULL: no memory */
static struct netns_entry *netns_entry(uint32_t inum)
{
	uint32_t h = (uint32_t)(inum * 0x9E3779B1u) >> 24; /* NETNS_SLOTS = 1 << 8 */
	struct netns_entry **victim = NULL, *e;

	for (int i = 0; i < NETNS_PROBES; i++) {
		struct netns_entry **slot = &netns_cache[(h + i) % NETNS_SLOTS];

		e = *slot;
		if (!e) { /* entries are never freed: past a free slot there is none of @inum */
			e = *slot = calloc(1, sizeof(*e));
			if (e)
				e->inum = inum;
			return e;
		}
		if (e->inum == inum)
			return e;
		if (!victim || e->used_ns < (*victim)->used_ns)
			victim = slot;
	}
	e = *victim;
	netns_forget(e);
	memset(e, 0, sizeof(*e));
	e->inum = inum;
	return e;
}

/* @inum's cache entry with its answer brought up to date; NULL: no namespace, or no memory */
static struct netns_entry *netns_answer(const struct ht_env *env, uint32_t inum)
{
	uint64_t now = ht_now_mono_ns();
	struct netns_entry *e;

	if (!inum || !(e = netns_entry(inum)))
		return NULL;
	e->used_ns = now;
	if (e->found && now - e->tried_ns >= NETNS_CHECK_NS) {
		e->tried_ns = now;
		if (!netns_still(e)) /* a freed namespace's number, or its process left */
			netns_forget(e);
	}
	if (!e->found && !e->host && now - e->tried_ns >= e->retry_ns) {
		e->tried_ns = now;
		e->found = scan_netns(inum, &e->ct, &e->pid, &e->host);
		e->retry_ns = e->retry_ns ? e->retry_ns * 2 : NETNS_RETRY_FIRST_NS;
		if (e->retry_ns > NETNS_RETRY_MAX_NS)
			e->retry_ns = NETNS_RETRY_MAX_NS;
		if (!e->found && !e->host)
			ht_info(env,
				"containers: network namespace %u is no container's (looked for again in %llu s)",
				inum, (unsigned long long)(e->retry_ns / NSEC_PER_SEC));
	}
	return e;
}

/* @ns's container into @ct (zeroed if none); whether it has one */
static bool netns_container(const struct netns_entry *ns, struct ht_container *ct)
{
	if (!ns || !ns->found)
		return false;
	*ct = ns->ct;
	return true;
}

bool ht_container_of_netns(const struct ht_env *env, uint32_t inum, struct ht_container *ct)
{
	memset(ct, 0, sizeof(*ct));
	return netns_container(netns_answer(env, inum), ct);
}

void ht_netns_recheck(void)
{
	uint64_t now = ht_now_mono_ns();

	for (size_t i = 0; i < NETNS_SLOTS; i++) {
		struct netns_entry *e = netns_cache[i];

		if (!e || !e->verdict || now - e->tried_ns < NETNS_CHECK_NS)
			continue;
		e->tried_ns = now;
		if (!netns_still(e))
			netns_forget(e);
	}
}

/* ---- --container, and the kernel's verdicts (ht_verdicts in bpf/common.bpf.h) ---- */

/* 12 to 64 lowercase hex digits: an id or an id prefix */
static bool is_id_prefix(const char *spec)
{
	size_t n = strlen(spec);

	if (n < 12 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)spec[i]) || isupper((unsigned char)spec[i]))
			return false;
	return true;
}

bool ht_container_matches(const char *spec, const struct ht_container *ct)
{
	if (!ct->id[0])
		return false;
	if (is_id_prefix(spec) && !strncmp(ct->id, spec, strlen(spec)))
		return true;
	return !strcmp(ct->runtime_name, spec) || !strcmp(ct->name, spec) ||
	       !strcmp(ct->pod_name, spec);
}

bool ht_attribute(struct ht_env *env, uint64_t cgroup_id, uint32_t netns_inum, const char *nodename,
		  struct ht_container *ct, char *memcg, size_t memcg_len)
{
	char local[4096];
	uint64_t key = cgroup_id ? cgroup_id : HT_VERDICT_NETNS | netns_inum;
	bool known, wanted = true, final = true, host_task = false;
	struct netns_entry *ns = NULL;
	uint8_t verdict;

	if (!memcg) {
		memcg = local;
		memcg_len = sizeof(local);
	}
	memcg[0] = '\0';
	memset(ct, 0, sizeof(*ct));
	if (cgroup_id) {
		ht_container_lookup("memory", cgroup_id, nodename, ct, memcg, memcg_len);
		known = memcg[0] != '\0';
		/* a task outside any container (a host process, nsenter): its packet's namespace's */
		if (!ct->id[0] && netns_inum) {
			host_task = known;
			ns = netns_answer(env, netns_inum);
			netns_container(ns, ct);
		}
	} else {
		ns = netns_answer(env, netns_inum);
		known = netns_container(ns, ct);
	}
	if (!env->cgroup_id && !env->container)
		return true;
	if (env->cgroup_id)
		wanted = cgroup_id && ht_cgroup_wanted(env, "memory", cgroup_id, memcg);
	if (verdicts_fd < 0 || !(cgroup_id || netns_inum))
		return wanted && (!env->container || ht_container_matches(env->container, ct));
	/*
	 * The kernel keeps what it knows: the verdict of a cgroup never changes; a namespace's
	 * holds while its container does (ht_netns_recheck()). A task outside any container
	 * leaves --container to its packet's namespace, the verdict its cgroup gets.
	 */
	if (host_task && env->container && wanted) {
		verdict = HT_VERDICT_NETNS_OF_TASK;
		bpf_map_update_elem(verdicts_fd, &cgroup_id, &verdict, BPF_ANY);
		key = HT_VERDICT_NETNS | netns_inum;
		known = ns && (ns->found || ns->host);
	}
	if (wanted && env->container) {
		wanted = ht_container_matches(env->container, ct);
		/* a container whose state was not read yet may still turn out to be the one */
		final = !ct->id[0] || ct->type[0] || is_id_prefix(env->container);
	}
	if (known && final) {
		verdict = wanted ? HT_VERDICT_PASS : HT_VERDICT_DROP;
		/* a namespace's verdict is checked once a second from now (ht_netns_recheck()) */
		if (!bpf_map_update_elem(verdicts_fd, &key, &verdict, BPF_ANY) &&
		    (key & HT_VERDICT_NETNS) && ns && ns->found)
			ns->verdict = true;
	}
	return wanted;
}

bool ht_attribute_pid(struct ht_env *env, pid_t pid, struct ht_container *ct)
{
	char path[4096] = "";

	memset(ct, 0, sizeof(*ct));
	if (pid > 0 && !ht_cgroup_path_of_pid(pid, "memory", path, sizeof(path)) &&
	    ht_container_from_path(path, ct))
		ht_runtime_fill(ct);
	return !env->container || ht_container_matches(env->container, ct);
}

/* The tool itself runs in a container (its own cgroup, or the runtimes' marker files). */
static bool in_container(void)
{
	struct ht_container self;
	char path[4096] = "";

	return !access("/.dockerenv", F_OK) || !access("/run/.containerenv", F_OK) ||
	       (!ht_cgroup_path_of_pid(getpid(), "memory", path, sizeof(path)) &&
		ht_container_from_path(path, &self));
}

/* What attribution this tool can do here: one -v line, one warning for what it cannot. */
static void report_attribution(struct ht_env *env)
{
	bool host_procs = ht_host_pidns(), contained = in_container();
	char state[1024], missing[512] = "";
	int runtimes = ht_runtime_visible(state, sizeof(state));
	size_t n = 0;

	ht_info(env,
		"containers: ids from cgroup paths %s; metadata from %s; network namespaces from "
		"%s",
		kernel_paths_fd >= 0 ? "the kernel records at the event" : "found in cgroupfs",
		runtimes ? state : "no runtime state (none readable here)",
		host_procs ? "/proc (the host's processes)" :
			     "nowhere (not the host's pid namespace: /proc shows this one's)");
	if (!contained)
		return;
	if (!runtimes)
		n += (size_t)snprintf(missing + n, sizeof(missing) - n,
				      "no container runtime's state is readable here, so names, "
				      "pods and namespaces are missing (mount /var/lib/docker, "
				      "/run/containerd or /var/lib/containers/storage read-only)");
	if (!host_procs)
		snprintf(missing + n, sizeof(missing) - n,
			 "%snot in the host's pid namespace, so packets are not attributed by "
			 "network namespace and a task read from /proc has no container (run it "
			 "with --pid=host)",
			 n ? "; " : "");
	if (missing[0])
		ht_warn(env, "running in a container: %s", missing);
}

void ht_containers_start(struct ht_env *env)
{
	const struct ht_container *known[4096];
	size_t n;

	report_attribution(env);
	/* asked to stop before tracing began (a signal right after the banner): start nothing more */
	if (ht_exiting())
		return;
	ht_bpf_attach_deferred(env);
	ht_runtime_scan();
	if (!env->container)
		return;
	n = ht_runtime_known(known, ARRAY_SIZE(known));
	for (size_t i = 0; i < n; i++)
		if (ht_container_matches(env->container, known[i]))
			return;
	ht_warn(env,
		"no container matches --container %s yet; its events are reported once it "
		"starts",
		env->container);
}

const char *ht_container_label(const struct ht_container *ct, char *buf, size_t len)
{
	if (!ct || !ct->id[0])
		return "-";
	if (ct->name[0]) {
		/* one column: a space in a hostile name would make two */
		ht_printable(ct->name, strlen(ct->name), buf, len);
		for (char *p = buf; *p; p++)
			if (*p == ' ')
				*p = '?';
		return buf;
	}
	snprintf(buf, len, "%.12s", ct->id);
	return buf;
}

int ht_cgroup_path_of_pid(pid_t pid, const char *controller, char *path, size_t len)
{
	char file[64], line[4096], v2[4096] = "";
	bool found = false;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	f = fopen(file, "re");
	if (!f)
		return errno ? -errno : -ENOENT;
	/* "4:memory:/docker/<id>" (v1) or "0::/system.slice/x.scope" (v2) */
	while (fgets(line, sizeof(line), f)) {
		char *ctrls = strchr(line, ':'), *p;

		if (!ctrls)
			continue;
		p = strchr(++ctrls, ':');
		if (!p)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		if (!*ctrls) {
			snprintf(v2, sizeof(v2), "%s", p);
		} else if (has_word(ctrls, controller)) {
			snprintf(path, len, "%s", p);
			found = true;
			break;
		}
	}
	fclose(f);
	if (!found && v2[0]) {
		snprintf(path, len, "%s", v2);
		found = true;
	}
	return found ? 0 : -ENOENT;
}
