// SPDX-License-Identifier: MIT
/*
 * uiommufd: the command.
 *
 *   uiommufd run [--debug] [--log FILE] [--shim PATH] [--device SPEC]... -- PROGRAM [ARGS...]
 *
 * runs PROGRAM with the uiommufd shim preloaded, so that its /dev/iommu
 * (and /dev/vfio/vfio) is uiommufd's.  The program's exit status is ours.
 * Each --device adds an emulated VFIO PCI device; the list reaches the
 * shim as UIOMMUFD_DEVICES (entries joined by ';').  The list is checked
 * here with the library's own parser before the program starts, so a bad
 * entry is one clear message and exit status 2, never a half-started
 * program.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/model.h"
#include "vfio/vfio.h"

#ifndef UIOMMUFD_PKGLIBDIR
#define UIOMMUFD_PKGLIBDIR "/usr/local/lib/uiommufd"
#endif
#define SHIM_NAME "uiommufd_preload.so"
#define VERSION_STRING "0.1.0"

static void list_models(FILE *f)
{
	const struct devmodel_type *const *table = devmodel_types;
	size_t k;

	if (!table[0]) {
		fprintf(f, "  (none built in)\n");
		return;
	}
	for (k = 0; table[k]; k++)
		fprintf(f, "  %-16s %s\n", table[k]->name, table[k]->summary ? table[k]->summary : "");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uiommufd run [options] -- PROGRAM [ARGS...]\n"
		"       uiommufd version\n"
		"\n"
		"Runs PROGRAM with /dev/iommu served by uiommufd, the Linux iommufd\n"
		"subsystem in userspace.\n"
		"\n"
		"options for run:\n"
		"  -d, --debug       log every iommufd ioctl and its result to stderr\n"
		"  -l, --log FILE    write the debug log to FILE instead (implies --debug)\n"
		"  -s, --shim PATH   use this shim library instead of the installed one\n"
		"  -D, --device SPEC give PROGRAM an emulated VFIO PCI device (repeatable);\n"
		"                    SPEC is MODEL[,bdf=DDDD:BB:DD.F][,group=N][,noiommu]\n"
		"                    plus the model's own options; without bdf= devices take\n"
		"                    free slots on bus 01 (0000:01:00.0 first), without group=\n"
		"                    each gets its own IOMMU group\n"
		"  -h, --help        show this help\n"
		"\n"
		"device models:\n");
	list_models(f);
}

static bool file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The shim next to this binary (build tree or install tree), else the libdir. */
static int find_shim(char *out, size_t len)
{
	const char *env = getenv("UIOMMUFD_PRELOAD");
	static const char *const rel[] = { "/../lib/" SHIM_NAME, "/../lib/uiommufd/" SHIM_NAME };
	char exe[PATH_MAX];
	ssize_t n;
	size_t i;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return file_exists(out) ? 0 : -1;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		for (i = 0; i != sizeof(rel) / sizeof(rel[0]); i++) {
			char candidate[PATH_MAX + 64];

			snprintf(candidate, sizeof(candidate), "%s%s", exe, rel[i]);
			if (file_exists(candidate) && realpath(candidate, out))
				return 0;
		}
	}
	snprintf(out, len, "%s/%s", UIOMMUFD_PKGLIBDIR, SHIM_NAME);
	return file_exists(out) ? 0 : -1;
}

/* Append one --device entry to the ';'-joined list; 0, or 1 after a message. */
static int add_device(char **list, const char *entry)
{
	size_t have = *list ? strlen(*list) : 0, add = strlen(entry);
	char *grown;

	if (!add || strchr(entry, ';')) {
		fprintf(stderr, "uiommufd run: --device '%s': give one device per --device\n", entry);
		return 1;
	}
	grown = realloc(*list, have + add + 2);
	if (!grown) {
		fprintf(stderr, "uiommufd run: out of memory\n");
		return 1;
	}
	if (have)
		grown[have++] = ';';
	memcpy(grown + have, entry, add + 1);
	*list = grown;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "debug", no_argument, NULL, 'd' },
		{ "log", required_argument, NULL, 'l' },
		{ "shim", required_argument, NULL, 's' },
		{ "device", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char shim[PATH_MAX] = "", *preload, *devices = NULL;
	const char *old;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+dl:s:D:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			setenv("UIOMMUFD_DEBUG", "1", 1);
			break;
		case 'l':
			setenv("UIOMMUFD_DEBUG", "1", 1);
			setenv("UIOMMUFD_LOG", optarg, 1);
			break;
		case 's':
			setenv("UIOMMUFD_PRELOAD", optarg, 1);
			break;
		case 'D':
			if (add_device(&devices, optarg))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "uiommufd run: no program given; usage: uiommufd run -- PROGRAM [ARGS...]\n");
		return 2;
	}
	if (devices) {
		char err[256];
		int rc = vfio_devset_validate(devices, err, sizeof(err));

		if (rc) {
			fprintf(stderr, "uiommufd run: %s\n", err[0] ? err : strerror(-rc));
			free(devices);
			return 2;
		}
		setenv("UIOMMUFD_DEVICES", devices, 1);
		free(devices);
	}
	if (find_shim(shim, sizeof(shim))) {
		fprintf(stderr,
			"uiommufd run: cannot find the shim library %s (looked next to this binary and in %s);\n"
			"  build it with `make`, or name it with --shim PATH or UIOMMUFD_PRELOAD.\n",
			shim[0] ? shim : SHIM_NAME, UIOMMUFD_PKGLIBDIR);
		return 127;
	}

	/* After what is already preloaded, so a sanitizer runtime stays first. */
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		size_t len = strlen(old) + strlen(shim) + 2;

		preload = malloc(len);
		if (!preload) {
			fprintf(stderr, "uiommufd run: out of memory\n");
			return 127;
		}
		snprintf(preload, len, "%s:%s", old, shim);
	} else {
		preload = shim;
	}
	setenv("LD_PRELOAD", preload, 1);

	execvp(argv[optind], &argv[optind]);
	fprintf(stderr, "uiommufd run: cannot run %s: %s\n", argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("uiommufd %s\n", VERSION_STRING);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	fprintf(stderr, "uiommufd: unknown command '%s'; try `uiommufd --help`\n", argv[1]);
	return 2;
}
