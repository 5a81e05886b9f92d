// SPDX-License-Identifier: GPL-2.0
/*
 * Container metadata from the container runtime's own state on disk, no daemon API (a wedged
 * runtime still answers): docker's config.v2.json (what cri-dockerd runs for Kubernetes too),
 * the OCI bundle config.json of containerd (CRI) and of containers/storage (CRI-O, podman).
 * Read once per container and cached, from the moment a tool first hears of the container
 * (a scan at start, the kernel's cgroup_mkdir, or the event itself), so that an exited or
 * removed container keeps its metadata.
 *
 * These files sit in directories a container or its image can influence: nothing is followed
 * out of the runtime's state directory (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or
 * O_NOFOLLOW per component), only regular files are read, at most a bounded size, and a
 * hostile or truncated file gives no metadata. Every string kept is valid UTF-8.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "huatuo.h"

#define STATE_FILE_MAX (1 << 20)    /* config.v2.json, config.json */
#define STORAGE_LIST_MAX (8 << 20)  /* containers/storage's containers.json: every container */
#define RETRY_NS (2 * NSEC_PER_SEC) /* a container whose state was not found: look again */

/* ---- roots, overridable by environment (tests, non-default installs) ---- */

static const char *root_of(const char *env_name, const char *def)
{
	const char *v = getenv(env_name);

	return v && *v ? v : def;
}

static const char *docker_root(void)
{
	return root_of("HUATUO_DOCKER_ROOT", "/var/lib/docker");
}

static const char *containerd_root(void)
{
	return root_of("HUATUO_CONTAINERD_ROOT", "/run/containerd");
}

static const char *storage_roots(int i)
{
	return i == 0 ? root_of("HUATUO_STORAGE_ROOT", "/var/lib/containers/storage") :
			root_of("HUATUO_STORAGE_RUNROOT", "/run/containers/storage");
}

/* ---- reading without leaving the state directory ---- */

/*
 * Open @rel below the directory @dirfd, following no symlink and no "..": openat2 where the
 * kernel has it (5.6), else one O_NOFOLLOW openat per component. @flags as for openat.
 */
static int open_beneath(int dirfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	char comp[256];
	int fd, next;

	fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd; /* EPERM: a seccomp profile that predates openat2 */
	fd = dup(dirfd);
	while (fd >= 0) {
		const char *slash = strchr(rel, '/');
		size_t n = slash ? (size_t)(slash - rel) : strlen(rel);

		if (!n || n >= sizeof(comp) ||
		    (rel[0] == '.' && (n == 1 || (n == 2 && rel[1] == '.')))) {
			close(fd);
			errno = EXDEV;
			return -1;
		}
		memcpy(comp, rel, n);
		comp[n] = '\0';
		next = openat(fd, comp,
			      slash ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC :
				      flags | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		if (!slash)
			break;
		rel = slash + 1;
	}
	return fd;
}

/*
 * The regular file @rel below directory @root, at most @max bytes, NUL-terminated and
 * malloc'd; NULL with errno set (EFBIG: larger than @max, EINVAL: not a regular file).
 */
static char *read_beneath(const char *root, const char *rel, size_t max, size_t *len)
{
	int dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd, err;
	char *buf = NULL;
	struct stat st;
	size_t got = 0;

	if (dirfd < 0)
		return NULL;
	/* O_NONBLOCK: a FIFO planted under that name must not block the tool */
	fd = open_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK);
	err = errno;
	close(dirfd);
	if (fd < 0) {
		errno = err;
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		err = EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		err = EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 2);
	if (!buf) {
		err = ENOMEM;
		goto fail;
	}
	/* the file may grow while we read: read one byte more than it had to see that */
	while (got < (size_t)st.st_size + 1) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			goto fail;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	if (got > (size_t)st.st_size) {
		err = EAGAIN; /* being rewritten (docker writes a new file and renames it) */
		goto fail;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	errno = err;
	return NULL;
}

/* ---- parsers (also driven by tests/fuzz/fuzz_runtime.c) ---- */

static bool is_hex_id(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n == 64;
}

/* A string member of @obj, "" when absent or not a string. */
static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) && item->valuestring ? item->valuestring : "";
}

/* Keep @s (any bytes) as valid UTF-8 in @dst, unless @dst already has a value. */
static void keep(char *dst, size_t size, const char *s)
{
	if (!dst[0] && s && *s)
		ht_utf8_sanitize(s, strlen(s), dst, size);
}

/* normal or sandbox from a runtime's container-type value; "" when it says neither */
static const char *container_type(const char *v)
{
	if (!strcmp(v, "sandbox") || !strcmp(v, "podsandbox"))
		return "sandbox";
	if (!strcmp(v, "container"))
		return "normal";
	return "";
}

/* Kubernetes labels or annotations, as cri-dockerd, containerd's CRI and CRI-O set them. */
static void kubernetes_keys(const cJSON *map, struct ht_container *ct)
{
	if (!cJSON_IsObject(map))
		return;
	keep(ct->host_namespace, sizeof(ct->host_namespace),
	     str_of(map, "io.kubernetes.pod.namespace"));
	keep(ct->host_namespace, sizeof(ct->host_namespace),
	     str_of(map, "io.kubernetes.cri.sandbox-namespace"));
	keep(ct->pod_name, sizeof(ct->pod_name), str_of(map, "io.kubernetes.pod.name"));
	keep(ct->pod_name, sizeof(ct->pod_name), str_of(map, "io.kubernetes.cri.sandbox-name"));
	keep(ct->name, sizeof(ct->name), str_of(map, "io.kubernetes.container.name"));
	keep(ct->name, sizeof(ct->name), str_of(map, "io.kubernetes.cri.container-name"));
	keep(ct->type, sizeof(ct->type), container_type(str_of(map, "io.kubernetes.docker.type")));
	keep(ct->type, sizeof(ct->type),
	     container_type(str_of(map, "io.kubernetes.cri.container-type")));
	keep(ct->type, sizeof(ct->type),
	     container_type(str_of(map, "io.kubernetes.cri-o.ContainerType")));
	/* containerd without Kubernetes (nerdctl) */
	keep(ct->runtime_name, sizeof(ct->runtime_name), str_of(map, "nerdctl/name"));
}

/* What every parser does last: the name reported, and a type once the state was read. */
static void finish(struct ht_container *ct)
{
	keep(ct->name, sizeof(ct->name), ct->runtime_name);
	keep(ct->type, sizeof(ct->type), "normal");
}

bool ht_runtime_parse_docker(const char *json, size_t len, struct ht_container *ct)
{
	cJSON *root = cJSON_ParseWithLength(json, len), *config;
	const char *name;

	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return false;
	}
	/* "Name": "/web" */
	name = str_of(root, "Name");
	keep(ct->runtime_name, sizeof(ct->runtime_name), name[0] == '/' ? name + 1 : name);
	config = cJSON_GetObjectItemCaseSensitive(root, "Config");
	if (cJSON_IsObject(config)) {
		keep(ct->hostname, sizeof(ct->hostname), str_of(config, "Hostname"));
		kubernetes_keys(cJSON_GetObjectItemCaseSensitive(config, "Labels"), ct);
	}
	finish(ct);
	cJSON_Delete(root);
	return true;
}

bool ht_runtime_parse_oci(const char *json, size_t len, struct ht_container *ct)
{
	cJSON *root = cJSON_ParseWithLength(json, len), *annotations;

	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return false;
	}
	annotations = cJSON_GetObjectItemCaseSensitive(root, "annotations");
	keep(ct->hostname, sizeof(ct->hostname), str_of(root, "hostname"));
	kubernetes_keys(annotations, ct);
	if (cJSON_IsObject(annotations) &&
	    !strcmp(str_of(annotations, "io.container.manager"), "libpod"))
		snprintf(ct->runtime, sizeof(ct->runtime), "podman");
	finish(ct);
	cJSON_Delete(root);
	return true;
}

bool ht_runtime_parse_storage_names(const char *json, size_t len, const char *id, char *name,
				    size_t size)
{
	cJSON *root = cJSON_ParseWithLength(json, len), *c;
	bool found = false;

	name[0] = '\0';
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return false;
	}
	/* [{"id": "<64 hex>", "names": ["web"], ...}, ...] */
	cJSON_ArrayForEach(c, root)
	{
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(c, "names");
		const cJSON *first = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;

		if (!cJSON_IsObject(c) || strcmp(str_of(c, "id"), id))
			continue;
		if (first && cJSON_IsString(first) && first->valuestring)
			ht_utf8_sanitize(first->valuestring, strlen(first->valuestring), name,
					 size);
		found = true;
		break;
	}
	cJSON_Delete(root);
	return found;
}

/* ---- reading one container's state ---- */

static bool read_docker(struct ht_container *ct)
{
	char rel[128];
	size_t len;
	char *text;
	bool ok;

	snprintf(rel, sizeof(rel), "containers/%s/config.v2.json", ct->id);
	text = read_beneath(docker_root(), rel, STATE_FILE_MAX, &len);
	if (!text)
		return false;
	ok = ht_runtime_parse_docker(text, len, ct);
	free(text);
	if (ok)
		snprintf(ct->runtime, sizeof(ct->runtime), "docker");
	return ok;
}

/* An OCI bundle's config.json, <root>/<rel>, into @ct: false if it is missing or unusable. */
static bool read_oci(const char *root, const char *rel, struct ht_container *ct)
{
	size_t len;
	char *text = read_beneath(root, rel, STATE_FILE_MAX, &len);
	bool ok = text && ht_runtime_parse_oci(text, len, ct);

	free(text);
	return ok;
}

/* containerd: the task's OCI bundle, <root>/io.containerd.runtime.v2.task/<namespace>/<id>/ */
static bool read_containerd(struct ht_container *ct)
{
	char dir[4096], rel[400];
	struct dirent *de;
	bool ok = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/io.containerd.runtime.v2.task", containerd_root());
	d = opendir(dir);
	if (!d)
		return false;
	while (!ok && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 200)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/config.json", de->d_name, ct->id);
		ok = read_oci(dir, rel, ct);
	}
	closedir(d);
	if (ok)
		snprintf(ct->runtime, sizeof(ct->runtime), "containerd");
	return ok;
}

/* containers/storage (CRI-O, podman): <root>/overlay-containers/<id>/userdata/config.json */
static bool read_storage(struct ht_container *ct)
{
	char rel[160], name[256];
	bool ok = false;
	size_t len;
	char *text;

	snprintf(rel, sizeof(rel), "overlay-containers/%s/userdata/config.json", ct->id);
	for (int i = 0; i < 2 && !ok; i++)
		ok = read_oci(storage_roots(i), rel, ct);
	/* podman's annotations say it made the container (parse_oci); CRI-O's do not */
	if (ok && strcmp(ct->runtime, "podman"))
		snprintf(ct->runtime, sizeof(ct->runtime), "crio");
	if (!ok || ct->runtime_name[0])
		return ok;
	/* podman's name is in the storage's list of containers, not in the bundle */
	text = read_beneath(storage_roots(0), "overlay-containers/containers.json",
			    STORAGE_LIST_MAX, &len);
	if (text && ht_runtime_parse_storage_names(text, len, ct->id, name, sizeof(name))) {
		keep(ct->runtime_name, sizeof(ct->runtime_name), name);
		keep(ct->name, sizeof(ct->name), name);
	}
	free(text);
	return ok;
}

/* ---- the cache, one entry per container id ---- */

struct meta {
	char id[65];
	bool found;	   /* the runtime's state was read */
	uint64_t tried_ns; /* when it was last looked for */
	struct ht_container ct;
};

static struct meta *cache;
static size_t cache_cap, cache_used;

static size_t slot_of(const char *id, size_t cap)
{
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < 16; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211ULL;
	return (size_t)(h & (cap - 1));
}

static struct meta *cache_find(const char *id, bool create)
{
	size_t i;

	if (!cache_cap || cache_used * 4 >= cache_cap * 3) {
		/* grow (keeping what is known), up to 64k containers; past that start over */
		size_t cap = cache_cap ? cache_cap * 2 : 64, old_cap = cache_cap;
		struct meta *old = cache, *grown;

		if (cap > 65536)
			cap = 64, old_cap = 0;
		grown = calloc(cap, sizeof(*grown));
		if (!grown)
			return NULL;
		cache = grown;
		cache_cap = cap;
		cache_used = 0;
		for (size_t j = 0; j < old_cap; j++) {
			if (!old[j].id[0])
				continue;
			for (i = slot_of(old[j].id, cap); cache[i].id[0]; i = (i + 1) & (cap - 1))
				;
			cache[i] = old[j];
			cache_used++;
		}
		free(old);
	}
	for (i = slot_of(id, cache_cap); cache[i].id[0]; i = (i + 1) & (cache_cap - 1))
		if (!strcmp(cache[i].id, id))
			return &cache[i];
	if (!create)
		return NULL;
	memcpy(cache[i].id, id, 65);
	cache_used++;
	return &cache[i];
}

/* Read @id's state (runtime hint @runtime from its cgroup path) into the cache. */
static struct meta *load(const char *id, const char *runtime)
{
	struct meta *m = cache_find(id, true);
	uint64_t now = ht_now_mono_ns();
	struct ht_container ct;

	if (!m || m->found || (m->tried_ns && now - m->tried_ns < RETRY_NS))
		return m;
	m->tried_ns = now;
	memset(&ct, 0, sizeof(ct));
	snprintf(ct.id, sizeof(ct.id), "%s", id);
	if (!strcmp(runtime, "docker"))
		m->found = read_docker(&ct);
	else if (!strcmp(runtime, "containerd"))
		m->found = read_containerd(&ct);
	else if (!strcmp(runtime, "crio") || !strcmp(runtime, "podman"))
		m->found = read_storage(&ct);
	else /* a bare id under kubepods: any of them */
		m->found = read_docker(&ct) || read_containerd(&ct) || read_storage(&ct);
	if (m->found)
		m->ct = ct;
	return m;
}

bool ht_runtime_fill(struct ht_container *ct)
{
	const struct meta *m;

	if (!is_hex_id(ct->id))
		return false;
	m = load(ct->id, ct->runtime);
	if (!m || !m->found)
		return false;
	keep(ct->hostname, sizeof(ct->hostname), m->ct.hostname);
	keep(ct->name, sizeof(ct->name), m->ct.name);
	keep(ct->runtime_name, sizeof(ct->runtime_name), m->ct.runtime_name);
	keep(ct->pod_name, sizeof(ct->pod_name), m->ct.pod_name);
	keep(ct->host_namespace, sizeof(ct->host_namespace), m->ct.host_namespace);
	keep(ct->type, sizeof(ct->type), m->ct.type);
	if (m->ct.runtime[0])
		snprintf(ct->runtime, sizeof(ct->runtime), "%s", m->ct.runtime);
	return true;
}

/* Every container id directory below @dir/@sub... (entries named by a 64-hex id). */
static void scan_dir(const char *dir, const char *runtime)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (is_hex_id(de->d_name))
			load(de->d_name, runtime);
	closedir(d);
}

void ht_runtime_scan(void)
{
	char dir[4096];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/containers", docker_root());
	scan_dir(dir, "docker");
	snprintf(dir, sizeof(dir), "%s/io.containerd.runtime.v2.task", containerd_root());
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		char ns[4400];

		if (de->d_name[0] == '.')
			continue;
		snprintf(ns, sizeof(ns), "%s/%s", dir, de->d_name);
		scan_dir(ns, "containerd");
	}
	if (d)
		closedir(d);
	for (int i = 0; i < 2; i++) {
		snprintf(dir, sizeof(dir), "%s/overlay-containers", storage_roots(i));
		scan_dir(dir, "podman");
	}
}

int ht_runtime_visible(char *buf, size_t len)
{
	static const char *const names[] = { "docker", "containerd", "containers/storage",
					     "containers/storage" };
	const char *dirs[4];
	char dir[4200];
	size_t used = 0;
	int n = 0;

	dirs[0] = docker_root();
	dirs[1] = containerd_root();
	dirs[2] = storage_roots(0);
	dirs[3] = storage_roots(1);
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		static const char *const subs[] = { "containers", "io.containerd.runtime.v2.task",
						    "overlay-containers", "overlay-containers" };

		snprintf(dir, sizeof(dir), "%s/%s", dirs[i], subs[i]);
		if (access(dir, R_OK | X_OK))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s %s", n ? ", " : "", names[i],
					 dirs[i]);
		if (used >= len)
			used = len - 1;
		n++;
	}
	return n;
}

size_t ht_runtime_known(const struct ht_container **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cache_cap && n < max; i++)
		if (cache[i].id[0] && cache[i].found)
			out[n++] = &cache[i].ct;
	return n;
}
