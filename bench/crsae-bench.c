/* crsae-bench - quality, speed and memory of the denoiser on a folder of
 * PNG images.  For each noise level: mean PSNR (noise added in float, not
 * clipped; optionally also rounded and clipped to 8 bits as a user's file
 * would be), seconds per megapixel with 1 and 2 threads, the achieved
 * GFLOP/s, the noise estimator's error, and the peak resident memory.
 *
 *   crsae-bench [options] DIR...
 *     --sigmas LIST        noise levels, 0..255 scale (default 15,25,50)
 *     --model FILE         model (default: built-in)
 *     --threshold-sigma S  denoise at this sigma whatever the noise (for the
 *                          published checkpoints' own procedure: 19.89)
 *     --iterations T, --shifts S, --transforms 1|8
 *     --time-images N      time 1 thread on the first N images (default 8)
 *     --clipped            also report PSNR with 8-bit rounded, clipped noise
 *     --limit N            use only the first N images of each folder
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "crsae.h"
#include "images.h"
#include "peak.h"
#include "pngio.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct image {
    int w, h;
    float *clean; /* grey */
} image;

static int load_folder(const char *dir, image **out, int limit)
{
    size_t total;
    char **names = images_list_png(dir, &total);
    if (!names) {
        fprintf(stderr, "crsae-bench: cannot open %s\n", dir);
        return -1;
    }
    size_t n = limit > 0 && total > (size_t)limit ? (size_t)limit : total;
    image *imgs = calloc(n, sizeof(image));
    for (size_t i = 0; i < n; i++) {
        char msg[256];
        pngio_image p;
        if (pngio_read(names[i], &p, msg, sizeof msg) != PNGIO_OK) {
            fprintf(stderr, "crsae-bench: %s: %s\n", names[i], msg);
            exit(1);
        }
        imgs[i].w = p.width;
        imgs[i].h = p.height;
        imgs[i].clean = images_luma(&p);
        pngio_free(&p);
        if (!imgs[i].clean)
            exit(1);
    }
    images_free_list(names, total);
    *out = imgs;
    return (int)n;
}

static double psnr(const float *a, const float *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double x = a[i] < 0 ? 0 : (a[i] > 1 ? 1 : a[i]);
        double d = x - b[i];
        se += d * d;
    }
    return 10.0 * log10((double)n / se);
}

int main(int argc, char **argv)
{
    double sigmas[16] = {15, 25, 50};
    int nsig = 3, time_images = 8, clipped = 0, limit = 0, iterations = 0, shifts = 0;
    int transforms = 1;
    double thr_sigma = 0;
    const char *model_path = NULL;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        const char *o = argv[first];
        if (!strcmp(o, "--clipped")) {
            clipped = 1;
            continue;
        }
        if (first + 1 >= argc) {
            fprintf(stderr, "crsae-bench: %s needs a value\n", o);
            return 2;
        }
        const char *v = argv[++first];
        if (!strcmp(o, "--sigmas")) {
            nsig = 0;
            for (const char *t = v; *t && nsig < 16; t += strcspn(t, ",") + (t[strcspn(t, ",")] != 0))
                sigmas[nsig++] = atof(t);
        } else if (!strcmp(o, "--model")) {
            model_path = v;
        } else if (!strcmp(o, "--threshold-sigma")) {
            thr_sigma = atof(v);
        } else if (!strcmp(o, "--time-images")) {
            time_images = atoi(v);
        } else if (!strcmp(o, "--limit")) {
            limit = atoi(v);
        } else if (!strcmp(o, "--iterations")) {
            iterations = atoi(v);
        } else if (!strcmp(o, "--shifts")) {
            shifts = atoi(v);
        } else if (!strcmp(o, "--transforms")) {
            transforms = atoi(v);
        } else {
            fprintf(stderr, "crsae-bench: unknown option %s\n", o);
            return 2;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "usage: crsae-bench [options] DIR...\n");
        return 2;
    }
    crsae_model *model;
    crsae_status st = model_path ? crsae_model_load_file(&model, model_path)
                                 : crsae_model_default(&model);
    if (st != CRSAE_OK) {
        fprintf(stderr, "crsae-bench: model: %s\n", crsae_strerror(st));
        return 1;
    }
    crsae_model_info mi;
    crsae_model_get_info(model, &mi);
    int T = iterations ? iterations : mi.iterations;
    int nsh = shifts ? shifts : mi.stride * mi.stride;
    /* multiply-adds per pixel: two convolutions per iteration over all
     * shifts (s*s shifts x 1/s^2 atoms per pixel), plus the final decoding */
    double flop_px = 2.0 * mi.filters * mi.size * mi.size * (2.0 * T + 1) * nsh /
                     ((double)mi.stride * mi.stride);
    double peak1 = peak_gflops(1), peak2 = peak_gflops(2);
    printf("FMA peak measured here: %.1f GFLOP/s on 1 thread, %.1f on 2\n", peak1, peak2);
    printf("model: %s, C=%d K=%d s=%d T=%d shifts=%d (%.1f kFLOP/pixel)\n",
           model_path ? model_path : "built-in", mi.filters, mi.size, mi.stride, T, nsh,
           flop_px / 1e3);

    for (int a = first; a < argc; a++) {
        image *imgs;
        int n = load_folder(argv[a], &imgs, limit);
        if (n <= 0)
            continue;
        double mp = 0;
        for (int i = 0; i < n; i++)
            mp += (double)imgs[i].w * imgs[i].h / 1e6;
        printf("\n%s: %d images, %.2f megapixels\n", argv[a], n, mp);
        printf("%6s %9s %9s %9s %10s %10s %8s %9s %9s\n", "sigma", "noisy", "PSNR", "clipped",
               "s/MP 1thr", "s/MP 2thr", "speedup", "GFLOP/s", "est.err");
        for (int k = 0; k < nsig; k++) {
            double sig = sigmas[k] / 255.0, sum_noisy = 0, sum = 0, sum_clip = 0;
            double t2 = 0, t1 = 0, mp1 = 0, worst_est = 0;
            for (int i = 0; i < n; i++) {
                size_t np = (size_t)imgs[i].w * imgs[i].h;
                float *noisy = malloc(np * sizeof(float)), *out = malloc(np * sizeof(float));
                memcpy(noisy, imgs[i].clean, np * sizeof(float));
                crsae_add_noise(noisy, (size_t)imgs[i].w, imgs[i].w, imgs[i].h, 1, (float)sig,
                                1000u * (unsigned)k + (unsigned)i);
                float est;
                crsae_estimate_sigma(noisy, (size_t)imgs[i].w, imgs[i].w, imgs[i].h, 1, &est);
                double rel = est / sig - 1.0;
                if (fabs(rel) > fabs(worst_est))
                    worst_est = rel;
                crsae_denoise_params p;
                crsae_denoise_params_init(&p);
                p.sigma = (float)(thr_sigma > 0 ? thr_sigma / 255.0 : sig);
                p.iterations = iterations;
                p.shifts = shifts;
                p.transforms = transforms;
                p.threads = 2;
                double t0 = now();
                st = crsae_denoise_plane(model, &p, noisy, (size_t)imgs[i].w, out,
                                         (size_t)imgs[i].w, imgs[i].w, imgs[i].h);
                t2 += now() - t0;
                if (st != CRSAE_OK) {
                    fprintf(stderr, "crsae-bench: %s\n", crsae_strerror(st));
                    return 1;
                }
                sum += psnr(out, imgs[i].clean, np);
                sum_noisy += psnr(noisy, imgs[i].clean, np);
                if (i < time_images) {
                    p.threads = 1;
                    t0 = now();
                    crsae_denoise_plane(model, &p, noisy, (size_t)imgs[i].w, out,
                                        (size_t)imgs[i].w, imgs[i].w, imgs[i].h);
                    t1 += now() - t0;
                    mp1 += (double)np / 1e6;
                    p.threads = 2;
                }
                if (clipped) {
                    for (size_t q = 0; q < np; q++) {
                        float v = roundf(noisy[q] * 255.0f) / 255.0f;
                        noisy[q] = v < 0 ? 0 : (v > 1 ? 1 : v);
                    }
                    crsae_denoise_plane(model, &p, noisy, (size_t)imgs[i].w, out,
                                        (size_t)imgs[i].w, imgs[i].w, imgs[i].h);
                    sum_clip += psnr(out, imgs[i].clean, np);
                }
                free(noisy);
                free(out);
            }
            char clip[16] = "-";
            if (clipped)
                snprintf(clip, sizeof clip, "%.2f", sum_clip / n);
            printf("%6.1f %9.2f %9.2f %9s %10.2f %10.2f %8.2f %9.1f %+8.1f%%\n", sigmas[k],
                   sum_noisy / n, sum / n, clip, mp1 > 0 ? t1 / mp1 : 0.0, t2 / mp,
                   mp1 > 0 ? (t1 / mp1) / (t2 / mp) : 0.0, flop_px * mp * 1e6 / t2 / 1e9,
                   100.0 * worst_est);
            fflush(stdout);
        }
        for (int i = 0; i < n; i++) {
            free(imgs[i].clean);
        }
        free(imgs);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\npeak resident memory: %.1f MiB\n", ru.ru_maxrss / 1024.0);
    printf("(GFLOP/s is for 2 threads; the 2-thread FMA peak above is %.1f)\n", peak2);
    printf("(PSNR: mean over images, dB; s/MP 1thr timed on the first %d images of each "
           "folder; est.err: worst relative error of the noise estimator)\n",
           time_images);
    crsae_model_free(model);
    return 0;
}
