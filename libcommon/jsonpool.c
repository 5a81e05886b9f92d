// SPDX-License-Identifier: GPL-2.0
/*
 * cJSON allocates every node, key and string value on its own: a tracer_data tree is some
 * hundred malloc/free pairs per event, and glibc's tcache keeps only 7 free chunks per
 * size, so a storm went through _int_malloc/_int_free (a fifth of the consumer's time).
 * These hooks keep freed blocks on per-size-class lists and hand them out again: a pop and
 * a push per allocation. Blocks go back to malloc only at exit; the lists never hold more
 * than the biggest tree built at once. Anything cJSON allocates must be freed with
 * cJSON_free() (or cJSON_Delete), never free().
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "huatuo.h"

#define POOL_MIN_SHIFT 5 /* 32-byte blocks */
#define POOL_CLASSES 6	 /* 32 .. 1024 bytes, header included */
#define POOL_LARGE POOL_CLASSES

/* 16 bytes keep the pointer handed out as aligned as malloc's */
struct pool_block {
	size_t cls;
	struct pool_block *next; /* on a free list */
};

/* per thread: a block freed by another thread just changes lists */
static __thread struct pool_block *free_lists[POOL_CLASSES];

static void *pool_malloc(size_t size)
{
	size_t total = size + sizeof(struct pool_block), cls = 0;
	struct pool_block *b;

	while (cls < POOL_CLASSES && total > (size_t)1 << (POOL_MIN_SHIFT + cls))
		cls++;
	if (cls < POOL_CLASSES && free_lists[cls]) {
		b = free_lists[cls];
		free_lists[cls] = b->next;
		return b + 1;
	}
	b = malloc(cls < POOL_CLASSES ? (size_t)1 << (POOL_MIN_SHIFT + cls) : total);
	if (!b)
		return NULL;
	b->cls = cls;
	return b + 1;
}

static void pool_free(void *p)
{
	struct pool_block *b;

	if (!p)
		return;
	b = (struct pool_block *)p - 1;
	if (b->cls == POOL_LARGE) {
		free(b);
		return;
	}
	b->next = free_lists[b->cls];
	free_lists[b->cls] = b;
}

/* At exit: give the main thread's blocks back, so leak checkers see a clean heap. */
static void pool_release(void)
{
	for (int cls = 0; cls < POOL_CLASSES; cls++) {
		while (free_lists[cls]) {
			struct pool_block *b = free_lists[cls];

			free_lists[cls] = b->next;
			free(b);
		}
	}
}

#if defined(__SANITIZE_ADDRESS__)
#define POOL_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_UNDER_ASAN 1
#endif
#endif

void ht_json_pool_init(void)
{
	static bool done;
	cJSON_Hooks hooks = { .malloc_fn = pool_malloc, .free_fn = pool_free };

#ifdef POOL_UNDER_ASAN
	/* under ASan every cJSON block stays a malloc block: use-after-free stays visible */
	done = true;
#endif
	if (done)
		return;
	done = true;
	cJSON_InitHooks(&hooks);
	atexit(pool_release);
}
