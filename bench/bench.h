/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the benchmarks in bench/.
 *
 * Every figure is measured next to a baseline taken in the same run (memcpy,
 * a flat array store, the raw syscall), because the machines this runs on
 * are noisy; the ratio is the number that means something.  Each figure is
 * the median of BENCH_RUNS runs.  bench_report() prints a readable row and
 * appends one line to the results file in the project's fixed form:
 *
 *   NAME VALUE UNIT baseline=BASELINE_NAME ratio=R
 *
 * where R = VALUE / BASELINE_VALUE, both in UNIT.
 */
#ifndef UIOMMUFD_BENCH_H
#define UIOMMUFD_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_RUNS
#define BENCH_RUNS 7
#endif

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n samples; reorders the array. */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Keeps the compiler from deleting work whose result is otherwise unused. */
static inline void bench_sink(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static inline const char *bench_results_path(void)
{
	const char *p = getenv("BENCH_RESULTS");

	return p && *p ? p : "bench/results.txt";
}

/* Print one row and append it to the results file; @note follows the ratio on screen. */
static inline void bench_emit(const char *name, double value, const char *unit,
			      const char *baseline_name, double baseline, double ratio,
			      const char *note)
{
	FILE *f;

	printf("  %-40s %14.3f %-8s  baseline %-24s %14.3f  ratio %.3f%s\n", name, value,
	       unit, baseline_name, baseline, ratio, note);
	f = fopen(bench_results_path(), "a");
	if (!f) {
		fprintf(stderr, "bench: cannot append to %s: %m\n", bench_results_path());
		return;
	}
	fprintf(f, "%s %.3f %s baseline=%s ratio=%.3f\n", name, value, unit, baseline_name,
		ratio);
	fclose(f);
}

/*
 * Print one figure and append it to the results file.  @value and
 * @baseline are medians in @unit; ratio is value / baseline.
 */
static inline void bench_report(const char *name, double value, const char *unit,
				const char *baseline_name, double baseline)
{
	bench_emit(name, value, unit, baseline_name, baseline,
		   baseline != 0 ? value / baseline : 0, "");
}

/*
 * As bench_report(), for figures measured in pairs (one run of the
 * subject, then one of its baseline, @n times): the ratio is the median of
 * the @n per-pair ratios, which a machine whose speed drifts between runs
 * moves less than the ratio of the two medians.  Reorders both arrays.
 */
static inline void bench_report_paired(const char *name, double *value, double *baseline, int n,
				       const char *unit, const char *baseline_name)
{
	double ratios[n];
	char note[48];

	for (int i = 0; i < n; i++)
		ratios[i] = baseline[i] != 0 ? value[i] / baseline[i] : 0;
	snprintf(note, sizeof(note), " (median of %d pairs)", n);
	bench_emit(name, bench_median(value, n), unit, baseline_name, bench_median(baseline, n),
		   bench_median(ratios, n), note);
}

#endif
