// SPDX-License-Identifier: MIT
/*
 * The registry of device models: what `--device NAME` may name, in the
 * order `uiommufd run --help` lists them.  A new model adds its type
 * here and nowhere else.
 */
#include <stddef.h>
#include <string.h>

#include "devices/ioat_hw.h"
#include "devices/model.h"

const struct devmodel_type *const devmodel_types[] = {
	&ioat_devmodel_type,
	NULL,
};

const struct devmodel_type *devmodel_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; devmodel_types[i]; i++) {
		if (strcmp(devmodel_types[i]->name, name) == 0)
			return devmodel_types[i];
	}
	return NULL;
}
