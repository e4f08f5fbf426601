// SPDX-License-Identifier: MIT
/*
 * The free-ID map (id_map.h).  Growing rebuilds the summary levels from
 * the bitmap: it happens when the table doubles, so its O(size / 64) cost
 * is spread over the IDs that made it grow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/id_map.h"

static inline uint32_t words_for(uint64_t bits)
{
	return (uint32_t)((bits + 63) / 64);
}

void id_map_free(struct id_map *m)
{
	unsigned int l;

	for (l = 0; l != ID_MAP_LEVELS; l++)
		free(m->level[l]);
	memset(m, 0, sizeof(*m));
}

int id_map_resize(struct id_map *m, uint32_t size)
{
	uint64_t *fresh[ID_MAP_LEVELS] = { NULL };
	uint32_t words[ID_MAP_LEVELS], old_words = words_for(m->size), id;
	unsigned int nlevels = 0, l;

	if (size <= m->size)
		return 0;
	/* Levels until one word summarises everything. */
	words[0] = words_for(size);
	for (nlevels = 1; words[nlevels - 1] > 1; nlevels++)
		words[nlevels] = words_for(words[nlevels - 1]);
	for (l = 0; l != nlevels; l++) {
		fresh[l] = calloc(words[l], sizeof(uint64_t));
		if (!fresh[l])
			goto free_fresh;
	}
	if (old_words)
		memcpy(fresh[0], m->level[0], old_words * sizeof(uint64_t));
	for (id = m->size; id < size && id % 64; id++)
		fresh[0][id / 64] |= 1ull << (id % 64);
	for (; id < size; id += 64)
		fresh[0][id / 64] = size - id >= 64 ? ~0ull : (1ull << (size - id)) - 1;
	for (l = 1; l != nlevels; l++) {
		uint32_t w;

		for (w = 0; w != words[l - 1]; w++)
			if (fresh[l - 1][w])
				fresh[l][w / 64] |= 1ull << (w % 64);
	}
	for (l = 0; l != ID_MAP_LEVELS; l++) {
		free(m->level[l]);
		m->level[l] = fresh[l];
	}
	m->nlevels = nlevels;
	m->size = size;
	return 0;

free_fresh:
	for (l = 0; l != nlevels; l++)
		free(fresh[l]);
	return -ENOMEM;
}

bool id_map_is_free(const struct id_map *m, uint32_t id)
{
	return id < m->size && (m->level[0][id / 64] >> (id % 64)) & 1;
}

void id_map_set_free(struct id_map *m, uint32_t id)
{
	unsigned int l;

	/* Set the bit; a word that was empty now marks its summary bit. */
	for (l = 0; l != m->nlevels; l++) {
		uint64_t *word = &m->level[l][id / 64];
		bool was_empty = !*word;

		*word |= 1ull << (id % 64);
		if (!was_empty)
			return;
		id /= 64;
	}
}

void id_map_set_used(struct id_map *m, uint32_t id)
{
	unsigned int l;

	/* Clear the bit; a word left empty clears its summary bit too. */
	for (l = 0; l != m->nlevels; l++) {
		uint64_t *word = &m->level[l][id / 64];

		*word &= ~(1ull << (id % 64));
		if (*word)
			return;
		id /= 64;
	}
}

bool id_map_lowest(const struct id_map *m, uint32_t *id)
{
	uint32_t at = 0;
	unsigned int l;

	if (!m->nlevels || !m->level[m->nlevels - 1][0])
		return false;
	/* Each level's lowest set bit names the word to read one level down. */
	for (l = m->nlevels; l--;)
		at = at * 64 + (uint32_t)__builtin_ctzll(m->level[l][at]);
	*id = at;
	return true;
}
