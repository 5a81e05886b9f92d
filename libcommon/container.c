// SPDX-License-Identifier: GPL-2.0
/*
 * cgroups and containers without a container runtime API: BPF records a cgroup id, which is
 * the inode of the cgroupfs directory (kernfs node id); we map it to a path by walking the
 * controller's hierarchy once (then cached), and read the container id out of the path.
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

#include "huatuo.h"

struct mount_entry {
	char controller[32];
	char path[512];
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

const char *ht_cgroup_mount(const char *controller, bool *is_v2)
{
	char line[4096], v2path[512] = "";
	struct mount_entry *m = NULL;
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
	/* "36 35 0:30 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory" */
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), mnt[512], fstype[32], src[256], opts[1024];

		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep + 3, "%31s %255s %1023s", fstype, src, opts) != 3)
			continue;
		if (!strcmp(fstype, "cgroup") && has_word(opts, controller)) {
			snprintf(m->path, sizeof(m->path), "%s", mnt);
			m->found = true;
			break;
		}
		if (!strcmp(fstype, "cgroup2") && !v2path[0])
			snprintf(v2path, sizeof(v2path), "%s", mnt);
	}
	fclose(f);
	if (!m->found && v2path[0] && (!*controller || v2_has_controller(v2path, controller))) {
		snprintf(m->path, sizeof(m->path), "%s", v2path);
		m->found = m->v2 = true;
	}
	*is_v2 = m->v2;
	return m->found ? m->path : NULL;
}

/* ---- id -> path cache, one per controller root ---- */

struct id_path {
	uint64_t id;
	char *path;
};

struct id_index {
	char root[512];
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
	ix->v[ix->n].path = strdup(rel[0] ? rel : "/");
	if (ix->v[ix->n].path)
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

int ht_cgroup_path(const char *controller, uint64_t cgroup_id, char *path, size_t len)
{
	struct id_index *ix = NULL;
	const char *root, *found;
	bool v2;

	if (!cgroup_id)
		return -ENOENT;
	root = ht_cgroup_mount(controller, &v2);
	if (!root)
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(indexes) && !ix; i++) {
		if (!strcmp(indexes[i].root, root))
			ix = &indexes[i];
		else if (!indexes[i].root[0]) {
			ix = &indexes[i];
			snprintf(ix->root, sizeof(ix->root), "%s", root);
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

int ht_cgroup_read_u64(const char *controller, const char *path, const char *file, uint64_t *val)
{
	char full[4096], buf[64];
	const char *root;
	bool v2;
	int n;

	root = ht_cgroup_mount(controller, &v2);
	if (!root)
		return -ENOENT;
	snprintf(full, sizeof(full), "%s%s%s/%s", root, path[0] == '/' ? "" : "/",
		 strcmp(path, "/") ? path : "", file);
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
	if (uts_nodename)
		ht_utf8_sanitize(uts_nodename, strnlen(uts_nodename, 65), ct->hostname,
				 sizeof(ct->hostname));
	return true;
}

void ht_json_add_container(cJSON *obj, const char *prefix, const struct ht_container *ct)
{
	char key[64];

	snprintf(key, sizeof(key), "%scontainer_id", prefix);
	cJSON_AddStringToObject(obj, key, ct ? ct->id : "");
	snprintf(key, sizeof(key), "%scontainer_hostname", prefix);
	ht_json_add_bytes(obj, key, ct ? ct->hostname : "", sizeof(ct->hostname));
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

int ht_cgroup_path_of_pid(pid_t pid, const char *controller, char *path, size_t len)
{
	char file[64], line[4096], v2[4096] = "";
	bool found = false;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	f = fopen(file, "re");
	if (!f)
		return -errno;
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

bool ht_container_of_pid(pid_t pid, struct ht_container *ct)
{
	char path[4096] = "", host[256], file[64];

	memset(ct, 0, sizeof(*ct));
	if (ht_cgroup_path_of_pid(pid, "memory", path, sizeof(path)) ||
	    !ht_container_from_path(path, ct))
		return false;
	/* the container's hostname as its processes see it */
	snprintf(file, sizeof(file), "/proc/%d/root/etc/hostname", (int)pid);
	if (ht_read_file(file, host, sizeof(host)) > 0) {
		host[strcspn(host, "\n")] = '\0';
		ht_utf8_sanitize(host, strlen(host), ct->hostname, sizeof(ct->hostname));
	}
	return true;
}
