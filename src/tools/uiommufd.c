// SPDX-License-Identifier: MIT
/*
 * uiommufd: the command.
 *
 *   uiommufd run [--debug] [--log FILE] [--shim PATH] -- PROGRAM [ARGS...]
 *
 * runs PROGRAM with the uiommufd shim preloaded, so that its /dev/iommu
 * (and /dev/vfio/vfio) is uiommufd's.  The program's exit status is ours.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef UIOMMUFD_PKGLIBDIR
#define UIOMMUFD_PKGLIBDIR "/usr/local/lib/uiommufd"
#endif
#define SHIM_NAME "uiommufd_preload.so"
#define VERSION_STRING "0.1.0"

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
		"  -h, --help        show this help\n");
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

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "debug", no_argument, NULL, 'd' },
		{ "log", required_argument, NULL, 'l' },
		{ "shim", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char shim[PATH_MAX] = "", *preload;
	const char *old;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+dl:s:h", opts, NULL)) != -1) {
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
