/* SPDX-License-Identifier: GPL-2.0 */
/* Additions to the Prometheus text exposition API of huatuo.h (metrics.c). */
#ifndef HT_METRICS_H
#define HT_METRICS_H

#include <stdio.h>

#include "huatuo.h"

/* Print the exposition (the same text ht_metrics_write() puts in the file) to @f. */
void ht_metrics_print(const struct ht_metrics *m, FILE *f);

#endif /* HT_METRICS_H */
