/* preview_bench.c - see preview_bench.h. */
#define _DEFAULT_SOURCE
#include "preview_bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "images.h"
#include "pngio.h"

#define SIDE 512

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int mirror(int i, int n)
{
    const int period = 2 * n;
    i %= period;
    return i < n ? i : period - 1 - i;
}

/* The region: RGB, or its first channel when grey. */
static int load_region(const char *dir, float *rgb)
{
    size_t total;
    char **names = images_list_png(dir, &total);
    if (!names)
        return -1;
    int found = -1;
    for (size_t i = 0; i < total && found < 0; i++) {
        char msg[256];
        pngio_image p;
        if (pngio_read(names[i], &p, msg, sizeof msg) != PNGIO_OK)
            continue;
        if (p.channels == 3) {
            for (int y = 0; y < SIDE; y++)
                for (int x = 0; x < SIDE; x++)
                    memcpy(rgb + ((size_t)y * SIDE + x) * 3,
                           p.pixels + ((size_t)mirror(y, p.height) * p.width + mirror(x, p.width)) * 3,
                           3 * sizeof(float));
            printf("\npreview: a %dx%d region of %s (%dx%d)", SIDE, SIDE, names[i], p.width,
                   p.height);
            found = 0;
        }
        pngio_free(&p);
    }
    images_free_list(names, total);
    return found;
}

static double psnr(const float *a, const float *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i] < 0 ? 0 : (a[i] > 1 ? 1 : a[i]);
        se += (x - b[i]) * (x - b[i]);
    }
    return 10.0 * log10((double)n / se);
}

static void row(const char *name, const crsae_model *m, const crsae_denoise_params *p,
                const float *noisy, const float *clean, int ch)
{
    const size_t n = (size_t)SIDE * SIDE * ch;
    float *out = malloc(n * sizeof(float));
    if (!out)
        exit(1);
    double best = 1e30;
    for (int k = 0; k < 3; k++) {
        double t0 = seconds_now();
        crsae_status st = crsae_denoise_image(m, p, noisy, (size_t)SIDE * ch, out,
                                              (size_t)SIDE * ch, SIDE, SIDE, ch);
        double t = seconds_now() - t0;
        if (st != CRSAE_OK) {
            fprintf(stderr, "crsae-bench: preview: %s\n", crsae_strerror(st));
            exit(1);
        }
        best = t < best ? t : best;
    }
    printf("%-36s %8.3f %8.2f\n", name, best, psnr(out, clean, n));
    free(out);
}

void bench_preview(const crsae_model *m, const char *dir, double sigma)
{
    const size_t n = (size_t)SIDE * SIDE;
    float *rgb = malloc(n * 3 * sizeof(float)), *noisy = malloc(n * 3 * sizeof(float));
    float *grey = malloc(n * sizeof(float)), *gnoisy = malloc(n * sizeof(float));
    if (!rgb || !noisy || !grey || !gnoisy)
        exit(1);
    if (load_region(dir, rgb) != 0) {
        printf("\npreview: no RGB image in %s\n", dir);
        free(rgb), free(noisy), free(grey), free(gnoisy);
        return;
    }
    printf(", sigma %.1f, 2 threads\n", sigma);
    for (size_t i = 0; i < n; i++)
        grey[i] = rgb[i * 3 + 1]; /* green as the grey image */
    memcpy(noisy, rgb, n * 3 * sizeof(float));
    memcpy(gnoisy, grey, n * sizeof(float));
    const float sg = (float)(sigma / 255.0);
    crsae_add_noise(noisy, (size_t)SIDE * 3, SIDE, SIDE, 3, sg, 31);
    crsae_add_noise(gnoisy, (size_t)SIDE, SIDE, SIDE, 1, sg, 32);
    printf("%-36s %8s %8s\n", "setting", "seconds", "PSNR");
    crsae_denoise_params p;
    crsae_denoise_params_init(&p);
    p.sigma = sg;
    p.threads = 2;
    p.shifts = (int)crsae_param_get(CRSAE_PARAM_DRAFT_SHIFTS)->def;
    p.chroma_shifts = (int)crsae_param_get(CRSAE_PARAM_DRAFT_CHROMA_SHIFTS)->def;
    row("grey draft (the dialog's)", m, &p, gnoisy, grey, 1);
    row("colour draft (the dialog's)", m, &p, noisy, rgb, 3);
    p.chroma_shifts = 0;
    row("colour draft, chroma at all its shifts", m, &p, noisy, rgb, 3);
    crsae_denoise_params_set_quality(&p, CRSAE_QUALITY_NORMAL);
    row("colour normal (the final preview)", m, &p, noisy, rgb, 3);
    free(rgb), free(noisy), free(grey), free(gnoisy);
}
