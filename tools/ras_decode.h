/* SPDX-License-Identifier: GPL-2.0 */
/* huatuo-ras: decoding, counting and reporting the records of bpf/ras.h (ras_decode.c). */
#ifndef HT_RAS_DECODE_H
#define HT_RAS_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "huatuo.h"

#define RAS_THR_BACKOFF_DEFAULT_NS (30 * 60 * NSEC_PER_SEC)
#define RAS_THR_BACKOFF_MAX_NS (24 * 3600 * NSEC_PER_SEC)

/* the tracer_data keys huatuo_bamai_ras_events_total is labelled by */
#define RAS_METRIC_LABELS "dev", "event", "type"

struct ras_ctx {
	uint64_t thr_backoff_ns; /* --thr-backoff */
	uint64_t thr_last_ns;	 /* ts of the last reported threshold interrupt, 0 = none */
	uint64_t thr_suppressed; /* threshold interrupts since then, not reported */
};

/* Declare the hardware error total for --metrics: 0, or 1 with the message printed. */
int ras_metrics_open(struct ht_env *env);

/*
 * The event handler: one struct ras_event of @size bytes decoded, counted and emitted, a
 * threshold interrupt held back while @ctx (struct ras_ctx) is within its --thr-backoff.
 */
int ras_report(struct ht_env *env, void *ctx, const void *data, size_t size);

#endif /* HT_RAS_DECODE_H */
