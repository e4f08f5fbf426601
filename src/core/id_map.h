/* SPDX-License-Identifier: MIT */
/*
 * A set of free IDs in [0, size) that finds its lowest member in
 * O(log64 size): a bitmap with one bit per ID (set = free) and, above it,
 * summary levels with one bit per 64-bit word of the level below (set =
 * that word has a free ID).  Finding the lowest free ID reads one word per
 * level; freeing or taking one touches at most one word per level.  The
 * object table (main.c) keeps its free slots here, so allocating the lowest
 * free ID, as the kernel's ID allocator does, never scans the table.
 */
#ifndef UIOMMUFD_CORE_ID_MAP_H
#define UIOMMUFD_CORE_ID_MAP_H

#include <stdbool.h>
#include <stdint.h>

#define ID_MAP_LEVELS 6		/* 64^6 covers every 32-bit ID */

struct id_map {
	uint64_t *level[ID_MAP_LEVELS];	/* [0]: one bit per ID */
	unsigned int nlevels;
	uint32_t size;			/* IDs covered */
};

/*
 * Cover [0, @size): the IDs from the old size up are free.  On -ENOMEM
 * the map is as it was.
 */
int id_map_resize(struct id_map *m, uint32_t size);
void id_map_free(struct id_map *m);
void id_map_set_free(struct id_map *m, uint32_t id);
void id_map_set_used(struct id_map *m, uint32_t id);
bool id_map_is_free(const struct id_map *m, uint32_t id);
/* The lowest free ID, or false when none is free. */
bool id_map_lowest(const struct id_map *m, uint32_t *id);

#endif
