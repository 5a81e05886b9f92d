// SPDX-License-Identifier: GPL-2.0
/* Drives libcommon pieces from the unit bats suite: ht-unit <what> [args...]. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/dcbnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "btfwalk.h"
#include "capture.h"
#include "huatuo.h"
#include "metrics.h"
#include "netlink.h"

/* A number parser's answer: @v, or "error ERANGE" / "error EINVAL" and 1. */
static int print_parsed(int err, uint64_t v)
{
	if (err) {
		printf("error %s\n", err == -ERANGE ? "ERANGE" : "EINVAL");
		return 1;
	}
	printf("%llu\n", (unsigned long long)v);
	return 0;
}

static int duration(int argc, char **argv)
{
	uint64_t ns = 0, bare = argc > 1 ? strtoull(argv[1], NULL, 10) : NSEC_PER_MSEC;
	int err = ht_parse_duration(argv[0], bare, &ns);

	return print_parsed(err, ns);
}

static int size(int argc, char **argv)
{
	uint64_t bytes = 0;
	int err = ht_parse_size(argv[0], &bytes);

	(void)argc;
	return print_parsed(err, bytes);
}

static int ksyms(int argc, char **argv)
{
	struct ht_ksyms *ks = ht_ksyms_load(argv[0]);
	char buf[256];

	if (!ks) {
		printf("error load\n");
		return 1;
	}
	if (ht_ksyms_hidden(ks))
		printf("hidden\n");
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '=') {
			printf("%llx\n", (unsigned long long)ht_ksyms_addr(ks, argv[i] + 1));
			continue;
		}
		printf("%s\n", ht_ksyms_format(ks, strtoull(argv[i], NULL, 16), buf, sizeof(buf)));
	}
	ht_ksyms_free(ks);
	return 0;
}

static int container(int argc, char **argv)
{
	struct ht_container ct;

	(void)argc;
	if (!ht_container_from_path(argv[0], &ct)) {
		printf("none\n");
		return 0;
	}
	printf("%s %s %s\n", ct.id, ct.runtime, ct.qos[0] ? ct.qos : "-");
	return 0;
}

static void print_container(const struct ht_container *ct)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(o, "runtime", ct->runtime);
	cJSON_AddStringToObject(o, "runtime_name", ct->runtime_name);
	ht_json_add_container(o, "", ct);
	s = cJSON_PrintUnformatted(o);
	printf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(o);
}

/* runtime docker|oci FILE, runtime storage FILE ID, runtime fill ID RUNTIME (roots from env) */
static int runtime(int argc, char **argv)
{
	struct ht_container ct = { .id = "" };
	char text[1 << 16], name[256];
	size_t n = 0;
	bool ok;
	FILE *f;

	if (!strcmp(argv[0], "fill") && argc >= 3) {
		snprintf(ct.id, sizeof(ct.id), "%s", argv[1]);
		snprintf(ct.runtime, sizeof(ct.runtime), "%s", argv[2]);
		if (!ht_runtime_fill(&ct)) {
			printf("none\n");
			return 0;
		}
		print_container(&ct);
		return 0;
	}
	f = argc >= 2 ? fopen(argv[1], "r") : NULL;
	if (!f)
		return 1;
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	snprintf(ct.id, sizeof(ct.id), "%064d", 0);
	if (!strcmp(argv[0], "storage") && argc >= 3) {
		ok = ht_runtime_parse_storage_names(text, n, argv[2], name, sizeof(name));
		printf("%s\n", ok ? name : "none");
		return 0;
	}
	ok = !strcmp(argv[0], "docker") ? ht_runtime_parse_docker(text, n, &ct) :
					  ht_runtime_parse_oci(text, n, &ct);
	if (!ok) {
		printf("none\n");
		return 0;
	}
	print_container(&ct);
	return 0;
}

/* stdin bytes -> {"s": ...} through the same path every tool uses */
static int json(int argc, char **argv)
{
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);
	cJSON *o = cJSON_CreateObject();
	char *s;

	(void)argc, (void)argv;
	buf[n] = '\0';
	ht_json_add_bytes(o, "s", buf, n);
	ht_json_add_u64(o, "u64max", UINT64_MAX);
	ht_json_add_hex(o, "hex", 0xffff888104d55780ULL);
	s = cJSON_PrintUnformatted(o);
	printf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(o);
	return 0;
}

static int store(int argc, char **argv)
{
	uint64_t max = strtoull(argv[1], NULL, 10);
	unsigned int keep = (unsigned int)atoi(argv[2]);
	int lines = atoi(argv[3]), len = argc > 4 ? atoi(argv[4]) : 100;
	char err[256], *line = malloc((size_t)len + 1);
	int rc;
	struct ht_store *st = ht_store_open(argv[0], "oom", max, keep, err, sizeof(err));

	if (!st || !line) {
		printf("error %s\n", st ? "out of memory" : err);
		ht_store_close(st);
		free(line);
		return 1;
	}
	for (int i = 0; i < lines; i++) {
		snprintf(line, (size_t)len + 1, "{\"n\":%d,\"pad\":\"%0*d\"}", i, len - 20, 0);
		rc = ht_store_append(st, line, strlen(line));
		if (rc) {
			printf("error %s\n", strerror(-rc));
			ht_store_close(st);
			free(line);
			return 1;
		}
		/* rotated names carry milliseconds: keep them distinct */
		if (i % 10 == 9)
			usleep(2000);
	}
	rc = ht_store_flush(st);
	if (rc) {
		printf("error %s\n", strerror(-rc));
		ht_store_close(st);
		free(line);
		return 1;
	}
	ht_store_close(st);
	free(line);
	printf("ok\n");
	return 0;
}

static int envelope(int argc, char **argv)
{
	struct ht_env env = { .tool = "huatuo-unit", .tracer_name = "oom", .region = "r1" };
	struct ht_container ct;
	cJSON *d = cJSON_CreateObject();
	char *line;

	(void)argc;
	cJSON_AddNumberToObject(d, "victim_pid", 42);
	ht_container_from_path(argv[0], &ct);
	snprintf(ct.hostname, sizeof(ct.hostname), "web-1");
	line = ht_envelope(&env, d, &ct, "auto");
	printf("%s\n", line);
	free(line);
	cJSON_Delete(d);
	return 0;
}

/*
 * The envelope prints tracer_data itself (no cJSON buffer growth per event): it must be
 * byte for byte what cJSON_PrintUnformatted writes. Prints "same" or both texts.
 */
static int tracer_data(int argc, char **argv)
{
	static const double numbers[] = { 0,
					  -0.0,
					  1,
					  -1,
					  42,
					  2147483647.0,
					  2147483648.0,
					  -2147483649.0,
					  4026531840.0,
					  4294967295.0,
					  999999999999999.0,
					  1e15,
					  1e16,
					  18446744073709551615.0,
					  0.5,
					  -0.25,
					  3.14159265358979,
					  0.1,
					  1.0 / 3,
					  1e-7,
					  1e300,
					  123456789.123 };
	struct ht_env env = { .tool = "huatuo-unit", .tracer_name = "oom" };
	cJSON *d = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(d, "numbers");
	cJSON *nested = cJSON_AddObjectToObject(d, "nested");
	char *line, *mine, *ref;
	size_t n;
	int rc;

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < ARRAY_SIZE(numbers); i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(numbers[i]));
	cJSON_AddItemToArray(arr, cJSON_CreateNumber(NAN));
	cJSON_AddStringToObject(d, "escapes", "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f é漢🙂");
	cJSON_AddStringToObject(d, "empty", "");
	cJSON_AddTrueToObject(nested, "t");
	cJSON_AddFalseToObject(nested, "f");
	cJSON_AddNullToObject(nested, "n");
	cJSON_AddArrayToObject(nested, "empty_array");
	cJSON_AddObjectToObject(nested, "empty_object");
	ht_json_add_u64(nested, "u64", UINT64_MAX);
	cJSON_AddStringToObject(nested, "key \"quoted\"", "v");
	line = ht_envelope(&env, d, NULL, "auto");
	ref = cJSON_PrintUnformatted(d);
	mine = line ? strstr(line, "\"tracer_data\":") : NULL;
	if (!mine || !ref) {
		printf("error building the lines\n");
		return 1;
	}
	mine += strlen("\"tracer_data\":");
	n = strlen(mine) - 1; /* the envelope's closing brace */
	rc = strlen(ref) == n && !strncmp(mine, ref, n) ? 0 : 1;
	if (rc)
		printf("ours:  %.*s\ncJSON: %s\n", (int)n, mine, ref);
	else
		printf("same\n");
	free(line);
	cJSON_free(ref);
	cJSON_Delete(d);
	return rc;
}

static int tracer_ids(int argc, char **argv)
{
	char id[21];

	(void)argc;
	for (int i = atoi(argv[0]); i > 0; i--) {
		ht_tracer_id(id);
		printf("%s\n", id);
	}
	return 0;
}

static int cgroup_path(int argc, char **argv)
{
	char path[4096];
	int err = ht_cgroup_path(argv[0], strtoull(argv[1], NULL, 10), path, sizeof(path));

	(void)argc;
	if (err) {
		printf("error %s\n", strerror(-err));
		return 1;
	}
	printf("%s\n", path);
	return 0;
}

static int pid_cgroup(int argc, char **argv)
{
	char path[4096];
	struct ht_container ct;
	int err = ht_cgroup_path_of_pid(atoi(argv[0]), argv[1], path, sizeof(path));

	(void)argc;
	if (err) {
		printf("error %s\n", strerror(-err));
		return 1;
	}
	printf("%s %s\n", path, ht_container_from_path(path, &ct) ? ct.id : "none");
	return 0;
}

/* stdin: /proc/<pid>/stack or stat text */
static int procfs(int argc, char **argv)
{
	char buf[8192], comm[64], state = '?', *stack;
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);

	(void)argc;
	buf[n] = '\0';
	if (!strcmp(argv[0], "stat")) {
		if (ht_parse_proc_stat(buf, &state, comm, sizeof(comm))) {
			printf("error\n");
			return 1;
		}
		printf("%c|%s\n", state, comm);
		return 0;
	}
	stack = ht_parse_proc_stack(buf, n);
	printf("%s\n", stack ? stack : "(null)");
	free(stack);
	return 0;
}

/* Append one attribute to @buf at @off; returns the new offset. */
static size_t put_attr(uint8_t *buf, size_t off, uint16_t type, const void *data, size_t len)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };

	memcpy(buf + off, &a, sizeof(a));
	memcpy(buf + off + NLA_HDRLEN, data, len);
	return off + NLA_ALIGN(NLA_HDRLEN + len);
}

/*
 * A fake RTM_GETDCB reply as the kernel builds it (dcbnl_ieee_fill): MODE pfc, nopfc (IEEE
 * nest without PFC), eopnotsupp (NLMSG_ERROR), truncated (PFC struct cut short), overrun (an
 * attribute longer than the message). Prints the parse and the exposition, or with a third
 * argument "raw" the message bytes.
 */
static int dcb(int argc, char **argv)
{
	uint8_t buf[1024] = { 0 };
	struct nlmsghdr nlh = { .nlmsg_type = RTM_GETDCB };
	struct dcbmsg dm = { .dcb_family = AF_UNSPEC, .cmd = DCB_CMD_IEEE_GET };
	struct ieee_pfc pfc = { .pfc_cap = 8, .pfc_en = 0x18 };
	struct ht_metrics *m;
	struct ht_dcb_pfc out;
	const char *mode = argv[0], *ifname = argv[1];
	size_t off = NLMSG_HDRLEN, nest;
	uint8_t ets[59] = { 0 };
	int err;

	for (int i = 0; i < 8; i++) {
		pfc.requests[i] = 1000ULL * i + 1;
		pfc.indications[i] = i == 7 ? UINT64_MAX : 2000ULL * i + 2;
	}
	if (!strcmp(mode, "eopnotsupp")) {
		int e = -EOPNOTSUPP;

		nlh.nlmsg_type = NLMSG_ERROR;
		memcpy(buf + off, &e, sizeof(e));
		off += sizeof(struct nlmsgerr);
	} else {
		memcpy(buf + off, &dm, sizeof(dm));
		off += NLMSG_ALIGN(sizeof(dm));
		off = put_attr(buf, off, DCB_ATTR_IFNAME, ifname, strlen(ifname) + 1);
		nest = off;
		off += NLA_HDRLEN;
		off = put_attr(buf, off, DCB_ATTR_IEEE_ETS, ets, sizeof(ets));
		if (!strcmp(mode, "pfc") || !strcmp(mode, "overrun"))
			off = put_attr(buf, off, DCB_ATTR_IEEE_PFC, &pfc, sizeof(pfc));
		else if (!strcmp(mode, "truncated"))
			off = put_attr(buf, off, DCB_ATTR_IEEE_PFC, &pfc, 40);
		((struct nlattr *)(buf + nest))->nla_len = (uint16_t)(off - nest);
		((struct nlattr *)(buf + nest))->nla_type = DCB_ATTR_IEEE | NLA_F_NESTED;
		if (!strcmp(mode, "overrun"))
			((struct nlattr *)(buf + nest))->nla_len = (uint16_t)(off - nest + 64);
	}
	nlh.nlmsg_len = (uint32_t)off;
	memcpy(buf, &nlh, sizeof(nlh));
	if (argc > 2 && !strcmp(argv[2], "raw")) /* the bytes themselves: fuzz seeds */
		return fwrite(buf, 1, off, stdout) == off ? 0 : 1;

	err = ht_dcb_parse_ieee(buf, off, &out);
	if (err) {
		printf("error %s\n", strerror(-err));
		return 1;
	}
	printf("ifname=%s ieee=%d pfc=%d cap=%u en=0x%x\n", out.ifname, out.has_ieee, out.has_pfc,
	       out.pfc_cap, out.pfc_en);
	if (!out.has_pfc)
		return 0;
	m = ht_metrics_new("-");
	if (!m || ht_pfc_metrics_families(m) || ht_pfc_metrics_set(m, &out))
		return 2;
	ht_metrics_print(m, stdout);
	ht_metrics_free(m);
	return 0;
}

/* A counter labelled v=ARG for each argument (host="h", region="r" constant), printed. */
static int metrics_exposition(int argc, char **argv)
{
	const char *host_region[] = { "host", "h", "region", "r", NULL };
	struct ht_metrics *m = ht_metrics_new("-");
	int rc = 0;

	if (!m || ht_metrics_const_labels(m, host_region) ||
	    ht_metrics_family(m, "t_total", "counter", "Help with a \\ and a\nnewline"))
		return 2;
	for (int i = 0; i < argc && rc >= 0; i++) {
		const char *labels[] = { "v", argv[i], NULL };

		rc = ht_metrics_add(m, "t_total", labels, 1);
	}
	if (rc >= 0) {
		const char *bad[] = { "__name", "x", NULL }, *bad2[] = { "1x", "x", NULL };

		printf("bad names: %d %d\n", ht_metrics_add(m, "t_total", bad, 1),
		       ht_metrics_add(m, "t_total", bad2, 1));
		ht_metrics_print(m, stdout);
	}
	ht_metrics_free(m);
	return rc < 0 ? 1 : 0;
}

/* N label sets into a counter and a gauge: the series cap, "other", reset. */
static int metrics_cap(int argc, char **argv)
{
	struct ht_metrics *m = ht_metrics_new("-");
	int n = atoi(argv[0]), overflow = 0, e2big = 0, added = 0;
	const char *other[] = { "v", HT_METRICS_OTHER, NULL };
	uint64_t in_other = 0, last = 0;
	char v[16];

	(void)argc;
	if (!m || ht_metrics_family(m, "c_total", "counter", "c") ||
	    ht_metrics_family(m, "g", "gauge", "g"))
		return 2;
	for (int i = 0; i < n; i++) {
		const char *labels[] = { "v", v, NULL };
		int rc;

		snprintf(v, sizeof(v), "%d", i);
		rc = ht_metrics_add(m, "c_total", labels, 1);
		overflow += rc == HT_METRICS_OVERFLOW;
		added += rc == 0;
		rc = ht_metrics_set(m, "g", labels, (uint64_t)i);
		e2big += rc == -E2BIG;
	}
	ht_metrics_get(m, "c_total", other, &in_other);
	ht_metrics_reset(m, "g");
	{
		const char *labels[] = { "v", "after-reset", NULL };

		ht_metrics_set(m, "g", labels, 7);
		ht_metrics_get(m, "g", labels, &last);
	}
	printf("added=%d overflow=%d other=%llu e2big=%d reset=%llu\n", added, overflow,
	       (unsigned long long)in_other, e2big, (unsigned long long)last);
	ht_metrics_print(m, stdout);
	ht_metrics_free(m);
	return 0;
}

/* ht_snprintf against snprintf: formats x values x buffer sizes; prints mismatches */
static int printf_cmp(int argc, char **argv)
{
	static const char *const ints[] = { "%d",  "%i",   "%5d", "%-5d|", "%05d",
					    "%u",  "%x",   "%X",  "%08x",  "%-8x|",
					    "%hd", "%hhu", "%c",  "%3c|",  "%%d" };
	static const char *const longs[] = { "%lld",   "%llu",	   "%llx",    "%016llx",
					     "%08llx", "%-20lld|", "%020lld", "%ld",
					     "%lu",    "%zu",	   "%zx" };
	static const char *const strs[] = { "%s", "%10s|", "%-10s|", "%05s", "%.3s", "x%sy" };
	static const long long values[] = { 0,
					    1,
					    -1,
					    42,
					    -42,
					    255,
					    65535,
					    2147483647,
					    -2147483647 - 1,
					    4294967295LL,
					    0x7fffffffffffffffLL,
					    -0x7fffffffffffffffLL - 1,
					    1234567890123LL };
	static const char *const texts[] = { "", "a", "hello world", "exactly-ten" };
	static const size_t sizes[] = { 0, 1, 2, 5, 64 };
	char want[64], got[64];
	int bad = 0, nw, ng;

	(void)argc, (void)argv;
#define CMP(fmt, ...)                                                                           \
	for (size_t z = 0; z < ARRAY_SIZE(sizes); z++) {                                        \
		memset(want, 'W', sizeof(want));                                                \
		memset(got, 'W', sizeof(got));                                                  \
		nw = snprintf(want, sizes[z], fmt, __VA_ARGS__);                                \
		ng = ht_snprintf(got, sizes[z], fmt, __VA_ARGS__);                              \
		if (nw != ng || memcmp(want, got, sizeof(want))) {                              \
			printf("mismatch: \"%s\" size %zu: want %d \"%.*s\" got %d \"%.*s\"\n", \
			       fmt, sizes[z], nw, (int)sizes[z], want, ng, (int)sizes[z], got); \
			bad++;                                                                  \
		}                                                                               \
	}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
	for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
		for (size_t f = 0; f < ARRAY_SIZE(ints); f++)
			CMP(ints[f], (int)values[v]);
		for (size_t f = 0; f < ARRAY_SIZE(longs); f++)
			CMP(longs[f], values[v]);
	}
	for (size_t t = 0; t < ARRAY_SIZE(texts); t++)
		for (size_t f = 0; f < ARRAY_SIZE(strs); f++)
			CMP(strs[f], texts[t]);
	CMP("%s and %d, %llx; %s%%", "one", -7, 0xabcdefULL, "end");
	CMP("%-*d|", 6, 42); /* '*' goes to vsnprintf */
#pragma GCC diagnostic pop
#undef CMP
	printf("%d mismatches\n", bad);
	return bad ? 1 : 0;
}

/* stdin through ht_printable into a buffer of argv[0] bytes */
static int printable(int argc, char **argv)
{
	char in[4096], out[4096];
	size_t n = fread(in, 1, sizeof(in) - 1, stdin), len = strtoul(argv[0], NULL, 10);

	(void)argc;
	in[n] = '\0';
	if (len > sizeof(out))
		len = sizeof(out);
	printf("%s\n", ht_printable(in, n, out, len));
	return 0;
}

/*
 * safedir OP DIR [ARGS]: open DIR (OP "open", "mkdir" creates it), then
 *   append NAME TEXT | create NAME | replace NAME TEXT | rename FROM TO | unlink NAME | list
 * Prints "ok" (list: the names) or "error <why>".
 */
static int safedir(int argc, char **argv)
{
	const char *op = argv[0];
	struct ht_dir d;
	int rc = ht_dir_open(&d, argv[1], !strcmp(op, "mkdir"));

	if (!rc && !strcmp(op, "append") && argc >= 4) {
		rc = ht_dir_append(&d, argv[2], 0640);
		if (rc >= 0) {
			if (write(rc, argv[3], strlen(argv[3])) != (ssize_t)strlen(argv[3]))
				rc = -EIO;
			else
				close(rc), rc = 0;
		}
	} else if (!rc && !strcmp(op, "create") && argc >= 3) {
		rc = ht_dir_create(&d, argv[2], O_WRONLY, 0640);
		if (rc >= 0)
			close(rc), rc = 0;
	} else if (!rc && !strcmp(op, "replace") && argc >= 4) {
		rc = ht_dir_replace(&d, argv[2], argv[3], strlen(argv[3]), 0644);
	} else if (!rc && !strcmp(op, "rename") && argc >= 4) {
		rc = ht_dir_rename(&d, argv[2], argv[3]);
	} else if (!rc && !strcmp(op, "unlink") && argc >= 3) {
		rc = ht_dir_unlink(&d, argv[2]);
	} else if (!rc && !strcmp(op, "list")) {
		char **names;
		int n = ht_dir_list(&d, NULL, NULL, &names);

		for (int i = 0; i < n; i++) {
			printf("%s\n", names[i]);
			free(names[i]);
		}
		free(names);
		ht_dir_close(&d);
		return n < 0;
	} else if (!rc && strcmp(op, "open") && strcmp(op, "mkdir")) {
		rc = -EINVAL;
		snprintf(d.why, sizeof(d.why), "unknown operation %s", op);
	}
	ht_dir_close(&d);
	if (rc < 0) {
		printf("error %s\n", d.why[0] ? d.why : strerror(-rc));
		return 1;
	}
	printf("ok\n");
	return 0;
}

/* metrics-labels K V [K V...]: the rendered label set, then the same in a 40-byte buffer */
static int metrics_labels(int argc, char **argv)
{
	const char **labels = calloc((size_t)argc + 1, sizeof(*labels));
	char buf[4096], small[40];
	size_t n;

	if (!labels)
		return 1;
	for (int i = 0; i < argc; i++)
		labels[i] = argv[i];
	n = ht_metrics_labels(buf, sizeof(buf), labels);
	printf("%zu %s\n", n, buf);
	n = ht_metrics_labels(small, sizeof(small), labels);
	printf("%zu %s\n", n, small);
	free(labels);
	return 0;
}

/* raw-string: stdin's bytes added to tracer_data as they are (no sanitizing): the envelope */
static int raw_string(int argc, char **argv)
{
	struct ht_env env = { .tool = "huatuo-unit", .tracer_name = "oom" };
	cJSON *d = cJSON_CreateObject();
	char in[4096], *line;
	size_t n = fread(in, 1, sizeof(in) - 1, stdin);

	(void)argc, (void)argv;
	in[n] = '\0';
	cJSON_AddStringToObject(d, "s", in);
	line = ht_envelope(&env, d, NULL, "auto");
	printf("%s\n", line ? line : "error");
	free(line);
	cJSON_Delete(d);
	return !line;
}

/*
 * btf-subset FILE auto|map|read MODDIR|- ROOT|.MEMBER...: the CO-RE subset of raw BTF FILE
 * (btfwalk.c) on stdout, its structs and unions pruned to the .MEMBERs if any are given;
 * "kept total mapped|read pieces" on stderr; exit 1 with the error.
 */
static int btf_subset(int argc, char **argv)
{
	unsigned int flags = !strcmp(argv[1], "map")  ? HT_BTF_MAP :
			     !strcmp(argv[1], "read") ? HT_BTF_READ :
							0;
	struct ht_btf_roots roots = { .n = 0 };
	struct ht_btf_subset sub;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC), err;

	if (fd < 0) {
		perror(argv[0]);
		return 1;
	}
	for (int i = 3; i < argc; i++) {
		if (argv[i][0] == '.') {
			roots.prune = true;
			ht_btf_add_member(&roots, argv[i] + 1);
			continue;
		}
		ht_btf_add_root(&roots, argv[i]);
	}
	roots.required = roots.n;
	err = ht_btf_subset(fd, &roots, strcmp(argv[2], "-") ? argv[2] : NULL, flags, &sub);
	close(fd);
	if (err) {
		fprintf(stderr, "btf-subset: %s\n", strerror(-err));
		return 1;
	}
	fprintf(stderr, "%u %u %s %d\n", sub.kept, sub.total, sub.mapped ? "mapped" : "read",
		sub.pieces);
	fwrite(sub.raw, 1, sub.len, stdout);
	free(sub.raw);
	return 0;
}

/*
 * btf-min OBJ [BTF]: ht_btf_min() for the BPF object file OBJ (kernel BTF, or BTF as with
 * --btf), verbose: the path handed to libbpf on stdout ("all" for all of the BTF), and what
 * is there copied to the file $HT_UNIT_COPY if set (a memfd's is gone with the process).
 */
/* What is at @from (a subset: a few KB) into the file @to */
static int copy_file(const char *from, const char *to)
{
	static char buf[1 << 20];
	int n = ht_read_file(from, buf, sizeof(buf));
	FILE *out = n < 0 ? NULL : fopen(to, "we");
	int err = !out || fwrite(buf, 1, (size_t)n, out) != (size_t)n;

	if (out && fclose(out))
		err = 1;
	if (err)
		fprintf(stderr, "ht-unit: cannot copy %s to %s\n", from, to);
	return err;
}

static int btf_min(int argc, char **argv)
{
	struct ht_env env = { .tool = "ht-unit",
			      .verbose = 1,
			      .btf_path = argc > 1 ? argv[1] : NULL };
	const char *path = NULL;
	struct stat st;
	char *elf = NULL;
	FILE *f = fopen(argv[0], "re");

	if (!f || fstat(fileno(f), &st) || !(elf = malloc((size_t)st.st_size + 1)) ||
	    fread(elf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		perror(argv[0]);
		free(elf);
		if (f)
			fclose(f);
		return 1;
	}
	fclose(f);
	path = ht_btf_min(&env, elf, (size_t)st.st_size);
	printf("%s\n", path ? path : "all");
	free(elf);
	if (path && getenv("HT_UNIT_COPY"))
		return copy_file(path, getenv("HT_UNIT_COPY"));
	return 0;
}

/* ht_btf_enum_range() on a BTF file: "code name" lines */
static int enum_range(int argc, char **argv)
{
	struct ht_env env = { .tool = "ht-unit", .btf_path = argv[0] };
	struct ht_enum_names en;
	int err;

	(void)argc;
	err = ht_btf_enum_range(&env, argv[1], (uint32_t)strtoul(argv[2], NULL, 0), &en);
	if (err) {
		fprintf(stderr, "ht_btf_enum_range: %s\n", strerror(-err));
		return 1;
	}
	for (uint32_t i = 0; i < en.n; i++)
		if (ht_enum_name(&en, i))
			printf("%u %s\n", i, ht_enum_name(&en, i));
	ht_enum_names_free(&en);
	return 0;
}

/*
 * huatuo-capture's summary of the event lines on stdin; argv: TRACER:LOST:HELD for each tracer
 * that ran ("?" for losses it could not say).
 */
static int evsummary(int argc, char **argv)
{
	struct ht_evsummary *s = ht_evsummary_new();
	struct ht_strbuf text = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	for (int i = 0; i < argc; i++) {
		char name[64] = "";
		unsigned long long lost = 0, held = 0;
		bool known = sscanf(argv[i], "%63[^:]:%llu:%llu", name, &lost, &held) == 3;

		if (!known)
			sscanf(argv[i], "%63[^:]", name);
		ht_evsummary_tracer(s, name);
		ht_evsummary_losses(s, name, lost, held, known);
	}
	while ((n = getline(&line, &cap, stdin)) > 0)
		ht_evsummary_line(s, line, (size_t)n - (line[n - 1] == '\n'));
	ht_evsummary_text(s, &text);
	fwrite(text.p, 1, text.len, stdout);
	free(line);
	ht_sb_free(&text);
	ht_evsummary_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int nargs;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "duration", 1, duration },
		{ "size", 1, size },
		{ "ksyms", 1, ksyms },
		{ "container", 1, container },
		{ "runtime", 2, runtime },
		{ "json", 0, json },
		{ "store", 4, store },
		{ "envelope", 1, envelope },
		{ "tracer-id", 1, tracer_ids },
		{ "cgroup-path", 2, cgroup_path },
		{ "pid-cgroup", 2, pid_cgroup },
		{ "procfs", 1, procfs },
		{ "dcb", 2, dcb },
		{ "tracer-data", 0, tracer_data },
		{ "printf", 0, printf_cmp },
		{ "printable", 1, printable },
		{ "safedir", 2, safedir },
		{ "metrics-labels", 0, metrics_labels },
		{ "raw-string", 0, raw_string },
		{ "btf-subset", 3, btf_subset },
		{ "btf-min", 1, btf_min },
		{ "metrics", 0, metrics_exposition },
		{ "metrics-cap", 1, metrics_cap },
		{ "enum-range", 3, enum_range },
		{ "evsummary", 0, evsummary },
	};

	ht_json_pool_init(); /* as the tools run */
	for (size_t i = 0; argc > 1 && i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name) && argc - 2 >= cmds[i].nargs)
			return cmds[i].fn(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: ht-unit duration|size|ksyms|container|runtime|json|store|envelope|"
		"tracer-id|tracer-data|cgroup-path|pid-cgroup|procfs|dcb|printf|printable|safedir|"
		"metrics-labels|metrics|metrics-cap|raw-string|btf-subset|btf-min|enum-range|evsummary ARGS\n");
	return HT_EX_USAGE;
}
