// SPDX-License-Identifier: MIT
/*
 * Object caches (slab.h).
 *
 * A chunk starts with room for its header; objects follow at the cache's
 * offset.  The header sits at one of SLAB_COLORS line offsets in that room,
 * picked by the chunk's address: chunks are 2 MiB aligned, so headers all
 * at offset 0 would share one set of every cache level, and a workload
 * freeing into a hundred chunks at random (a million areas) would miss on
 * every header.
 * Objects never handed out are not on any list: the chunk hands them out
 * in address order from @unused (bump allocation), so a fresh chunk's
 * memory is touched only as far as it is used.  Freed objects go on the
 * chunk's own free list, linked through their first word.  Each chunk is
 * on one of two lists of its cache, by whether it has room; alloc takes
 * from the head of the room list, so a cache fills one chunk at a time.
 * Every move between the lists is at a head: a million objects freed at
 * random reopen a hundred chunks, and nothing walks past them.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/slab.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef POISON
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

struct slab_chunk {
	struct slab_chunk *prev, *next;	/* on the room or full list */
	void *free;			/* freed objects, linked through word 0 */
	size_t used;			/* objects out */
	size_t unused;			/* index of the first never handed out */
	int full;			/* on the full list */
};

#define SLAB_COLORS 32
#define COLOR_STRIDE 64

static inline uint8_t *base_of(const void *p)
{
	return (uint8_t *)((uintptr_t)p & ~(uintptr_t)(SLAB_CHUNK_SIZE - 1));
}

static inline struct slab_chunk *header_at(const uint8_t *base)
{
	return (struct slab_chunk *)(base + ((uintptr_t)base / SLAB_CHUNK_SIZE % SLAB_COLORS) *
					     COLOR_STRIDE);
}

static atomic_size_t mapped_bytes;

size_t slab_mapped_bytes(void)
{
	return atomic_load_explicit(&mapped_bytes, memory_order_relaxed);
}

/* The list @k is on: full chunks and chunks with room are kept apart. */
static struct slab_chunk **list_of(struct slab_cache *c, const struct slab_chunk *k)
{
	return k->full ? &c->full : &c->room;
}

static void chunk_unlink(struct slab_cache *c, struct slab_chunk *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		*list_of(c, k) = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->prev = k->next = NULL;
}

/* At the head of its list; for the room list, alloc takes from here next. */
static void chunk_push(struct slab_cache *c, struct slab_chunk *k)
{
	struct slab_chunk **head = list_of(c, k);

	k->prev = NULL;
	k->next = *head;
	if (*head)
		(*head)->prev = k;
	*head = k;
}

void slab_init(struct slab_cache *c, size_t size)
{
	slab_init_aligned(c, size, size >= 64 && !(size % 64) ? 64 : 16);
}

void slab_init_aligned(struct slab_cache *c, size_t size, size_t align)
{
	memset(c, 0, sizeof(*c));
	if (size < sizeof(void *))
		size = sizeof(void *);
	c->size = (size + align - 1) & ~(align - 1);
	c->offset = ((SLAB_COLORS - 1) * COLOR_STRIDE + sizeof(struct slab_chunk) + align - 1) &
		    ~(align - 1);
	c->per_chunk = (SLAB_CHUNK_SIZE - c->offset) / c->size;
}

/*
 * Chunks are the library's own memory, never the program's: they are
 * mapped by system call, as malloc maps its own, so the shim's mmap and
 * munmap wrappers (which take the host's memory-map locks and notify
 * every context) never run inside a command that holds a context lock.
 */
#ifdef UNDER_TSAN
/* ThreadSanitizer must see a chunk go, or a later chunk at its address looks raced. */
static void *raw_map(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void raw_unmap(void *at, size_t len)
{
	munmap(at, len);
}
#else
static void *raw_map(size_t len)
{
	long p = syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	return p < 0 && p > -4096 ? MAP_FAILED : (void *)p;
}

static void raw_unmap(void *at, size_t len)
{
	syscall(SYS_munmap, at, len);
}
#endif

/* 2 MiB of address space at a 2 MiB boundary: map twice that, trim both ends. */
static struct slab_chunk *chunk_map(struct slab_cache *c)
{
	size_t span = 2 * SLAB_CHUNK_SIZE;
	uint8_t *raw = raw_map(span);
	uint8_t *at, *end;

	if (raw == MAP_FAILED)
		return NULL;
	at = (uint8_t *)(((uintptr_t)raw + SLAB_CHUNK_SIZE - 1) & ~(uintptr_t)(SLAB_CHUNK_SIZE - 1));
	end = at + SLAB_CHUNK_SIZE;
	if (at != raw)
		raw_unmap(raw, (size_t)(at - raw));
	if (end != raw + span)
		raw_unmap(end, (size_t)(raw + span - end));
	/* A cache past one chunk is a big one: worth huge pages. */
	if (c->nchunks)
		syscall(SYS_madvise, at, SLAB_CHUNK_SIZE, MADV_HUGEPAGE);
	atomic_fetch_add_explicit(&mapped_bytes, SLAB_CHUNK_SIZE, memory_order_relaxed);
	POISON(at + c->offset, SLAB_CHUNK_SIZE - c->offset);
	c->nchunks++;
	return header_at(at);
}

static void chunk_unmap(struct slab_cache *c, struct slab_chunk *k)
{
	uint8_t *base = base_of(k);

	UNPOISON(base + c->offset, SLAB_CHUNK_SIZE - c->offset);
	raw_unmap(base, SLAB_CHUNK_SIZE);
	atomic_fetch_sub_explicit(&mapped_bytes, SLAB_CHUNK_SIZE, memory_order_relaxed);
	c->nchunks--;
}

void *slab_zalloc(struct slab_cache *c)
{
	struct slab_chunk *k = c->room;
	void *obj;

	if (!k) {
		k = chunk_map(c);
		if (!k)
			return NULL;
		chunk_push(c, k);
	}
	if (k->free) {
		obj = k->free;
		UNPOISON(obj, c->size);
		k->free = *(void **)obj;
		/*
		 * The next object out was freed at some other time, often long
		 * enough ago to have left the caches, and its link is the first
		 * thing the next alloc reads: fetch it now, for writing, since
		 * it is zeroed then.
		 */
		if (k->free)
			__builtin_prefetch(k->free, 1);
	} else {
		obj = base_of(k) + c->offset + k->unused++ * c->size;
		UNPOISON(obj, c->size);
	}
	if (++k->used == c->per_chunk) {
		chunk_unlink(c, k);
		k->full = 1;
		chunk_push(c, k);
	}
	c->live++;
	memset(obj, 0, c->size);
	return obj;
}

void slab_free(struct slab_cache *c, void *obj)
{
	struct slab_chunk *k;

	if (!obj)
		return;
	k = header_at(base_of(obj));
	*(void **)obj = k->free;
	k->free = obj;
	POISON(obj, c->size);
	c->live--;
	if (k->full) {
		chunk_unlink(c, k);
		k->full = 0;
		chunk_push(c, k);
	}
	/* An empty chunk goes back, unless the cache would be left with none. */
	if (!--k->used && c->nchunks > 1) {
		chunk_unlink(c, k);
		chunk_unmap(c, k);
	}
}

void slab_destroy(struct slab_cache *c)
{
	if (c->live)
		return;
	while (c->room || c->full) {
		struct slab_chunk *k = c->room ? c->room : c->full;

		chunk_unlink(c, k);
		chunk_unmap(c, k);
	}
	c->nchunks = 0;
}

/* One of the cache's lists, every chunk on it @full or not; chunks and objects out added up. */
static int verify_list(const struct slab_cache *c, const struct slab_chunk *k, int full,
		       size_t *chunks, size_t *live)
{
	const struct slab_chunk *prev = NULL;

	for (; k; prev = k, k = k->next) {
		const uint8_t *base = base_of(k);
		size_t nfree = 0;
		const void *f;

		if (k->prev != prev || k != header_at(base))
			return -1;
		/* A room chunk on the full list would never be allocated from again. */
		if (k->full != full || k->unused > c->per_chunk || k->used > k->unused)
			return -1;
		if (!!k->full != (k->used == c->per_chunk))
			return -1;
		for (f = k->free; f;) {
			uintptr_t at = (uintptr_t)f - (uintptr_t)base - c->offset;
			const void *next;

			if ((uintptr_t)f < (uintptr_t)base + c->offset || at % c->size ||
			    at / c->size >= k->unused || ++nfree > k->unused)
				return -1;
			/* The link lives in a poisoned object: open it for the read only. */
			UNPOISON((void *)f, sizeof(void *));
			next = *(void *const *)f;
			POISON((void *)f, c->size);
			f = next;
		}
		if (nfree != k->unused - k->used)
			return -1;
		++*chunks;
		*live += k->used;
	}
	return 0;
}

long slab_verify(const struct slab_cache *c)
{
	size_t chunks = 0, live = 0;

	if (verify_list(c, c->room, 0, &chunks, &live) || verify_list(c, c->full, 1, &chunks, &live))
		return -1;
	if (chunks != c->nchunks || live != c->live)
		return -1;
	return (long)live;
}
