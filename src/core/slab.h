/* SPDX-License-Identifier: MIT */
/*
 * Fixed-size object caches for the core's per-area bookkeeping (areas,
 * their pages objects, area-tree nodes) and for the 4 KiB tables of
 * paging domains, where a million live objects at random IOVAs is the
 * case that matters.
 *
 * Objects of one cache are carved from 2 MiB chunks aligned to 2 MiB.
 * From a cache's second chunk on, the chunks are advised for transparent
 * huge pages, so a lookup that touches an object far from the last one
 * costs a cache miss but no TLB miss and page walk besides; the first chunk
 * keeps small pages, so a context with a few areas costs a few pages, not a
 * huge one.  No per-object header: an object's chunk is its address rounded
 * down, and the chunk's header, in the chunk's first 2 KiB, keeps its own
 * free list and count.  A chunk left empty is returned to the system unless
 * it is the cache's only one.
 *
 * Not locked: each cache belongs to one context (or one of its domains)
 * and is used under its lock.
 * Under AddressSanitizer, free objects are poisoned, so a use after free of
 * a cached object is still caught.
 */
#ifndef UIOMMUFD_CORE_SLAB_H
#define UIOMMUFD_CORE_SLAB_H

#include <stddef.h>

#define SLAB_CHUNK_SIZE (2ul << 20)

struct slab_chunk;

struct slab_cache {
	size_t size;			/* of an object, rounded to its alignment */
	size_t per_chunk;		/* objects a chunk holds */
	size_t offset;			/* of the first object from the chunk start */
	struct slab_chunk *room;	/* chunks with a free object, most recent first */
	struct slab_chunk *full;	/* chunks without one */
	size_t nchunks;
	size_t live;			/* objects handed out */
};

/* A cache of @size-byte objects (at most a quarter chunk). */
void slab_init(struct slab_cache *c, size_t size);
/* Likewise, each object aligned to @align (a power of two, at most @size rounded up to it). */
void slab_init_aligned(struct slab_cache *c, size_t size, size_t align);
/* A zeroed object, or NULL when no memory is left. */
void *slab_zalloc(struct slab_cache *c);
/* @obj came from slab_zalloc(c); NULL is ignored. */
void slab_free(struct slab_cache *c, void *obj);
/*
 * Release every chunk.  Only an empty cache is torn down: objects still
 * out keep their memory (leaked, never freed under a holder).
 */
void slab_destroy(struct slab_cache *c);
/* Bytes of chunks mapped by every cache, for the benchmarks' accounting. */
size_t slab_mapped_bytes(void);
/* Check a cache's chunk lists and counts; the live count, or -1.  For tests. */
long slab_verify(const struct slab_cache *c);

#endif
