// SPDX-License-Identifier: GPL-2.0
/*
 * A summary of the event lines huatuo-* tools print: per tracer_name the events, snapshots
 * and losses, and tables of the top items that answer "what happened" at a glance.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

#define MAX_ITEMS 1000 /* distinct items per table; the rest are counted as "others" */
#define TOP_ITEMS 10
#define FIELD_MAX 80 /* bytes of one value shown */

/*
 * A table of items for one tracer. Fields are "label:key" (or "key") in tracer_data;
 * "container" is the container of the event (envelope). With @value, items are ranked by the
 * largest value of that field (in @unit: "ms" or "ns"), else by count.
 */
struct tally_def {
	const char *tracer;
	const char *title;
	const char *fields[8];
	const char *value;
	const char *unit;
	const char *skip_if; /* a tracer_data boolean that marks lines to leave out */
};

static const struct tally_def tally_defs[] = {
	{ .tracer = "oom",
	  .title = "OOM victims",
	  .fields = { "pid:victim_pid", "comm:victim_process_name", "container",
		      "memcg:victim_memcg", "trigger_pid", "trigger:trigger_process_name" } },
	{ .tracer = "dropwatch", .title = "drop reasons", .fields = { "reason" } },
	{ .tracer = "dropwatch", .title = "drop locations", .fields = { "location" } },
	{ .tracer = "net_rx_latency",
	  .title = "worst receive latencies",
	  .fields = { "where", "comm", "pid", "saddr", "sport", "daddr", "dport" },
	  .value = "latency_ms",
	  .unit = "ms" },
	{ .tracer = "softirq",
	  .title = "stalled CPUs (ticks held off)",
	  .fields = { "cpu" },
	  .value = "offtime",
	  .unit = "ns" },
	{ .tracer = "softlockup",
	  .title = "stalled CPUs (soft lockups)",
	  .fields = { "cpu", "pid", "comm" } },
	{ .tracer = "hungtask", .title = "hung tasks", .fields = { "pid", "comm" } },
	{ .tracer = "memory_reclaim_events",
	  .title = "direct reclaim stalls",
	  .fields = { "pid", "comm" },
	  .value = "deltatime",
	  .unit = "ns" },
	{ .tracer = "ras", .title = "hardware errors", .fields = { "event", "type", "dev" } },
	{ .tracer = "netdev_events",
	  .title = "link changes",
	  .fields = { "ifname", "linkstatus" },
	  .skip_if = "start" },
	{ .tracer = "netdev_txqueue_timeout",
	  .title = "TX queue timeouts",
	  .fields = { "ifname", "queue_index", "driver" } },
	{ .tracer = "netdev_bonding_lacp", .title = "LACP changes", .fields = { "bond", "slave" } },
};
#define MAX_TALLIES 4

struct item {
	char *key;
	uint64_t count;
	double max;
};

struct tally {
	const struct tally_def *def;
	struct item *items;
	size_t n, cap;
	uint64_t others; /* lines whose item did not fit in MAX_ITEMS */
};

#define MAX_SNAPSHOT_COUNTS 8

struct tracer {
	char name[64];
	uint64_t events, snapshots;
	/* hungtask snapshots: the D-state tasks each one found, in order (the first ones) */
	uint64_t dstate[MAX_SNAPSHOT_COUNTS];
	uint64_t lost, held;
	bool ran;	   /* a tracer run (not only snapshots) */
	bool losses_known; /* it said at exit what it lost */
	struct tally tallies[MAX_TALLIES];
	int ntallies;
};

struct ht_evsummary {
	struct tracer *t;
	size_t n, cap;
	uint64_t not_json; /* lines that are not a JSON envelope */
};

struct ht_evsummary *ht_evsummary_new(void)
{
	return calloc(1, sizeof(struct ht_evsummary));
}

void ht_evsummary_free(struct ht_evsummary *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		for (int j = 0; j < s->t[i].ntallies; j++) {
			struct tally *ta = &s->t[i].tallies[j];

			for (size_t k = 0; k < ta->n; k++)
				free(ta->items[k].key);
			free(ta->items);
		}
	free(s->t);
	free(s);
}

static struct tracer *find_tracer(const struct ht_evsummary *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->t[i].name, name))
			return &s->t[i];
	return NULL;
}

static struct tracer *get_tracer(struct ht_evsummary *s, const char *name)
{
	struct tracer *t = find_tracer(s, name);

	if (t)
		return t;
	if (ht_grow(&s->t, &s->cap, s->n + 1, sizeof(*s->t), 16))
		return NULL;
	t = &s->t[s->n++];
	memset(t, 0, sizeof(*t));
	ht_printable(name, strlen(name), t->name, sizeof(t->name));
	for (size_t i = 0; i < ARRAY_SIZE(tally_defs) && t->ntallies < MAX_TALLIES; i++)
		if (!strcmp(tally_defs[i].tracer, name))
			t->tallies[t->ntallies++].def = &tally_defs[i];
	return t;
}

void ht_evsummary_tracer(struct ht_evsummary *s, const char *tracer_name)
{
	get_tracer(s, tracer_name);
}

/* One value as text: strings made printable and cut, numbers as integers where whole. */
static void value_text(const cJSON *v, char *buf, size_t len)
{
	char raw[FIELD_MAX + 1];

	if (cJSON_IsString(v) && v->valuestring[0]) {
		ht_printable(v->valuestring, strlen(v->valuestring), raw, sizeof(raw));
		snprintf(buf, len, "%s", raw);
	} else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
		   fabs(v->valuedouble) < 1e18) {
		snprintf(buf, len, "%lld", (long long)v->valuedouble);
	} else if (cJSON_IsNumber(v)) {
		snprintf(buf, len, "%g", v->valuedouble);
	} else if (cJSON_IsBool(v)) {
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
	} else {
		snprintf(buf, len, "-");
	}
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* The event's container: its name (and pod) when the envelope has them, else its id. */
static void container_text(const cJSON *env, const cJSON *data, char *buf, size_t len)
{
	const cJSON *name = field(env, "container_name"), *pod = field(env, "container_pod_name");
	const cJSON *id = field(env, "container_id");
	char a[FIELD_MAX + 1], b[FIELD_MAX + 1];

	if (cJSON_IsString(name) && name->valuestring[0]) {
		value_text(name, a, sizeof(a));
		if (cJSON_IsString(pod) && pod->valuestring[0]) {
			value_text(pod, b, sizeof(b));
			snprintf(buf, len, "%s(pod %s)", a, b);
		} else {
			snprintf(buf, len, "%s", a);
		}
		return;
	}
	if (!cJSON_IsString(id) || !id->valuestring[0])
		id = field(data, "victim_container_id");
	value_text(id, a, sizeof(a));
	snprintf(buf, len, "%s", a);
}

static void tally_add(struct tally *ta, const cJSON *env, const cJSON *data)
{
	const struct tally_def *d = ta->def;
	const cJSON *v, *skip = d->skip_if ? field(data, d->skip_if) : NULL;
	char key[1024], val[FIELD_MAX * 4];
	double value = 0;
	size_t n = 0;

	if (cJSON_IsTrue(skip))
		return;
	key[0] = '\0';
	for (int i = 0; i < (int)ARRAY_SIZE(d->fields) && d->fields[i]; i++) {
		const char *colon = strchr(d->fields[i], ':');
		const char *name = colon ? colon + 1 : d->fields[i];
		int label_len = colon ? (int)(colon - d->fields[i]) : (int)strlen(name);

		if (!strcmp(name, "container"))
			container_text(env, data, val, sizeof(val));
		else
			value_text(field(data, name), val, sizeof(val));
		n += (size_t)snprintf(key + n, sizeof(key) - n, "%s%.*s=%s", n ? " " : "",
				      label_len, d->fields[i], val);
		if (n >= sizeof(key))
			n = sizeof(key) - 1;
	}
	if (d->value) {
		v = field(data, d->value);
		value = cJSON_IsNumber(v) ? v->valuedouble : 0;
	}
	for (size_t i = 0; i < ta->n; i++) {
		if (strcmp(ta->items[i].key, key))
			continue;
		ta->items[i].count++;
		if (value > ta->items[i].max)
			ta->items[i].max = value;
		return;
	}
	if (ta->n == MAX_ITEMS) {
		ta->others++;
		return;
	}
	if (ht_grow(&ta->items, &ta->cap, ta->n + 1, sizeof(*ta->items), 16)) {
		ta->others++;
		return;
	}
	ta->items[ta->n].key = strdup(key);
	if (!ta->items[ta->n].key) {
		ta->others++;
		return;
	}
	ta->items[ta->n].count = 1;
	ta->items[ta->n].max = value;
	ta->n++;
}

void ht_evsummary_line(struct ht_evsummary *s, const char *line, size_t len)
{
	cJSON *env = cJSON_ParseWithLength(line, len);
	const cJSON *name = field(env, "tracer_name"), *type = field(env, "tracer_type");
	const cJSON *data = field(env, "tracer_data");
	struct tracer *t;

	if (!cJSON_IsString(name) || !cJSON_IsObject(data) ||
	    !(t = get_tracer(s, name->valuestring))) {
		s->not_json++;
		cJSON_Delete(env);
		return;
	}
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "manual")) {
		const cJSON *d = field(data, "d_process_count");

		if (!strcmp(t->name, "hungtask") && cJSON_IsNumber(d) && d->valuedouble >= 0 &&
		    t->snapshots < MAX_SNAPSHOT_COUNTS)
			t->dstate[t->snapshots] = (uint64_t)d->valuedouble;
		t->snapshots++;
	} else {
		t->events++;
		for (int i = 0; i < t->ntallies; i++)
			tally_add(&t->tallies[i], env, data);
	}
	cJSON_Delete(env);
}

void ht_evsummary_losses(struct ht_evsummary *s, const char *tracer_name, uint64_t lost,
			 uint64_t held, bool known)
{
	struct tracer *t = get_tracer(s, tracer_name);

	if (!t)
		return;
	t->lost += lost;
	t->held += held;
	t->ran = true;
	t->losses_known = known;
}

uint64_t ht_evsummary_events(const struct ht_evsummary *s, const char *tracer_name)
{
	const struct tracer *t = find_tracer(s, tracer_name);

	return t ? t->events : 0;
}

static const struct tally *sort_tally;

static int by_rank(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (sort_tally->def->value && x->max != y->max)
		return x->max < y->max ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

static const char *fmt_value(const struct tally_def *d, double v, char *buf, size_t len)
{
	if (!strcmp(d->unit, "ns")) /* a tool's numbers, but not trusted to fit */
		return ht_fmt_duration(v <= 0	   ? 0 :
				       v >= 1.8e19 ? UINT64_MAX :
						     (uint64_t)v,
				       buf, len);
	snprintf(buf, len, "%g%s", v, d->unit);
	return buf;
}

static void tally_text(const struct tracer *t, const struct tally *ta, struct ht_strbuf *out)
{
	const struct tally_def *d = ta->def;
	size_t shown = ta->n < TOP_ITEMS ? ta->n : TOP_ITEMS;
	char v[32];

	if (!ta->n && !ta->others)
		return;
	/* ranked in place: the summary is written once, at the end */
	sort_tally = ta;
	qsort(ta->items, ta->n, sizeof(*ta->items), by_rank);
	ht_sb_printf(out, "\n%s: %s\n", t->name, d->title);
	if (d->value)
		ht_sb_printf(out, "  %10s %8s  %s\n", "WORST", "COUNT", "ITEM");
	else
		ht_sb_printf(out, "  %8s  %s\n", "COUNT", "ITEM");
	for (size_t i = 0; i < shown; i++) {
		const struct item *it = &ta->items[i];

		if (d->value)
			ht_sb_printf(out, "  %10s %8llu  %s\n", fmt_value(d, it->max, v, sizeof(v)),
				     (unsigned long long)it->count, it->key);
		else
			ht_sb_printf(out, "  %8llu  %s\n", (unsigned long long)it->count, it->key);
	}
	if (ta->n > shown || ta->others) {
		uint64_t rest = ta->others;

		for (size_t i = shown; i < ta->n; i++)
			rest += ta->items[i].count;
		ht_sb_printf(out, "  %*s%8llu  (others)\n", d->value ? 11 : 0, "",
			     (unsigned long long)rest);
	}
}

void ht_evsummary_text(const struct ht_evsummary *s, struct ht_strbuf *out)
{
	char lost[24], held[24];

	ht_sb_printf(out, "%-24s %10s %10s %10s %10s\n", "TRACER", "EVENTS", "SNAPSHOTS", "LOST",
		     "HELD BACK");
	for (size_t i = 0; i < s->n; i++) {
		const struct tracer *t = &s->t[i];
		/* "?": killed before it could say; "-": only snapshots, nothing to lose */
		const char *unknown = t->ran ? "?" : "-";

		if (!t->ran && !t->events && !t->snapshots)
			continue;
		snprintf(lost, sizeof(lost), "%llu", (unsigned long long)t->lost);
		snprintf(held, sizeof(held), "%llu", (unsigned long long)t->held);
		ht_sb_printf(out, "%-24s %10llu %10llu %10s %10s\n", t->name,
			     (unsigned long long)t->events, (unsigned long long)t->snapshots,
			     t->losses_known ? lost : unknown, t->losses_known ? held : unknown);
	}
	if (s->not_json)
		ht_sb_printf(out, "%llu lines were not JSON event lines\n",
			     (unsigned long long)s->not_json);
	for (size_t i = 0; i < s->n; i++) {
		const struct tracer *t = &s->t[i];

		if (!strcmp(t->name, "hungtask") && t->snapshots) {
			ht_sb_printf(out, "\nhungtask: tasks in D state at each snapshot:");
			for (uint64_t k = 0; k < t->snapshots && k < MAX_SNAPSHOT_COUNTS; k++)
				ht_sb_printf(out, " %llu", (unsigned long long)t->dstate[k]);
			ht_sb_printf(out, "\n");
		}
		for (int j = 0; j < t->ntallies; j++)
			tally_text(t, &t->tallies[j], out);
	}
}
