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
 *     --qualities LIST     rows for each of these presets (fast,normal,best)
 *                          instead of --shifts/--transforms
 *     --train N            also time N training steps (batch 8, 64x64 patches,
 *                          the model's shape) on the first folder's images with
 *                          1 and 2 threads, one shift per patch and the
 *                          shift ensemble: patches per second
 *     --time-images N      time 1 and 2 threads on the first N images, best
 *                          of 3 runs each (default 8; the others: 2 threads,
 *                          one run)
 *     --precise            float products throughout (the default multiplies in
 *                          bfloat16 where the CPU has AVX512-BF16)
 *     --clipped            also report PSNR with 8-bit rounded, clipped noise
 *     --limit N            use only the first N images of each folder
 *     --kernels            also time the kernels by themselves (H, H^T, a
 *                          FISTA tile, a training patch) on 1 thread
 *     --colour DIR         also denoise DIR's colour (RGB) images at the first
 *                          sigma, normal quality: PSNR over the three
 *                          channels and seconds per colour megapixel with 1
 *                          and 2 threads, best of 3 (grey files skipped)
 *     --preview DIR        also time the GIMP dialog's preview of a 512x512
 *                          region of DIR's first RGB image at the first sigma
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
#include "kernel_bench.h"
#include "peak.h"
#include "preview_bench.h"
#include "pngio.h"

/* Timed denoising runs the best of TIME_RUNS (1 and 2 threads alternating):
 * other programs on a shared machine only ever make a run slower. */
#define TIME_RUNS 3

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

static int quiet_progress(const crsae_train_report *r, void *user)
{
    (void)r;
    (void)user;
    return 0;
}

/* Patches per second of crsae_train with the model's shape on imgs. */
static void train_throughput(const crsae_model *m, const image *imgs, int n, int steps)
{
    const float **px = malloc((size_t)n * sizeof *px);
    int *w = malloc((size_t)n * sizeof(int)), *h = malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) {
        px[i] = imgs[i].clean;
        w[i] = imgs[i].w;
        h[i] = imgs[i].h;
    }
    printf("\ntraining throughput (%d steps of 8 patches of 64x64, sigma 25):\n", steps);
    printf("%14s %8s %12s %10s\n", "loss", "threads", "patches/s", "s/step");
    for (int ens = 0; ens <= 1; ens++)
        for (int th = 1; th <= 2; th++) {
            crsae_model *c;
            if (crsae_model_copy(&c, m) != CRSAE_OK)
                exit(1);
            crsae_train_params p;
            crsae_train_params_init(&p);
            p.sigma = 25.0f / 255.0f;
            p.steps = ens ? (steps + 9) / 10 : steps; /* the ensemble is s*s times the work */
            p.threads = th;
            p.ensemble = ens;
            p.progress = quiet_progress;
            double t0 = now();
            crsae_status st = crsae_train(c, &p, px, w, h, n);
            double sec = now() - t0;
            crsae_model_free(c);
            if (st != CRSAE_OK) {
                fprintf(stderr, "crsae-bench: training: %s\n", crsae_strerror(st));
                exit(1);
            }
            printf("%14s %8d %12.1f %10.3f\n", ens ? "shift ensemble" : "one shift", th,
                   8.0 * p.steps / sec, sec / p.steps);
            fflush(stdout);
        }
    free(px);
    free(w);
    free(h);
}

/* Colour: the RGB images of dir (palette files expanded; grey ones left
 * out), noise of std sigma on each channel, normal quality. */
static void colour_speed(const crsae_model *m, const char *dir, double sigma, int limit)
{
    size_t total;
    char **names = images_list_png(dir, &total);
    if (!names) {
        fprintf(stderr, "crsae-bench: cannot open %s\n", dir);
        return;
    }
    double mp = 0, t1 = 0, t2 = 0, sum = 0, sum_noisy = 0;
    int n = 0;
    for (size_t i = 0; i < total && (limit <= 0 || n < limit); i++) {
        char msg[256];
        pngio_image p;
        if (pngio_read(names[i], &p, msg, sizeof msg) != PNGIO_OK) {
            fprintf(stderr, "crsae-bench: %s: %s\n", names[i], msg);
            exit(1);
        }
        if (p.channels != 3) {
            pngio_free(&p);
            continue;
        }
        const size_t np = (size_t)p.width * p.height * 3;
        float *noisy = malloc(np * sizeof(float)), *out = malloc(np * sizeof(float));
        if (!noisy || !out)
            exit(1);
        memcpy(noisy, p.pixels, np * sizeof(float));
        crsae_add_noise(noisy, (size_t)p.width * 3, p.width, p.height, 3, (float)(sigma / 255.0),
                        7000u + (unsigned)i);
        crsae_denoise_params prm;
        crsae_denoise_params_init(&prm);
        prm.sigma = (float)(sigma / 255.0);
        double best[3] = {0, 1e30, 1e30};
        for (int run = 0; run < TIME_RUNS; run++)
            for (int th = 2; th >= 1; th--) {
                prm.threads = th;
                double t0 = now();
                crsae_status st = crsae_denoise_image(m, &prm, noisy, (size_t)p.width * 3, out,
                                                      (size_t)p.width * 3, p.width, p.height, 3);
                best[th] = fmin(best[th], now() - t0);
                if (st != CRSAE_OK) {
                    fprintf(stderr, "crsae-bench: %s: %s\n", names[i], crsae_strerror(st));
                    exit(1);
                }
            }
        t1 += best[1];
        t2 += best[2];
        sum += psnr(out, p.pixels, np);
        sum_noisy += psnr(noisy, p.pixels, np);
        mp += (double)p.width * p.height / 1e6;
        n++;
        free(noisy);
        free(out);
        pngio_free(&p);
    }
    images_free_list(names, total);
    if (n == 0) {
        printf("\n%s: no RGB images\n", dir);
        return;
    }
    printf("\n%s: %d RGB images, %.2f megapixels, colour, sigma %.1f, normal quality\n", dir, n,
           mp, sigma);
    printf("%9s %9s %10s %10s %8s\n", "noisy", "PSNR", "s/MP 1thr", "s/MP 2thr", "speedup");
    printf("%9.2f %9.2f %10.2f %10.2f %8.2f\n", sum_noisy / n, sum / n, t1 / mp, t2 / mp,
           t1 / t2);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    double sigmas[16] = {15, 25, 50};
    int nsig = 3, time_images = 8, clipped = 0, limit = 0, iterations = 0, shifts = 0;
    int transforms = 1, train_steps = 0, kernels = 0, precise = 0;
    int qualities[3], nq = 0;
    double thr_sigma = 0;
    const char *model_path = NULL, *colour_dir = NULL, *preview_dir = NULL;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first++) {
        const char *o = argv[first];
        if (!strcmp(o, "--clipped")) {
            clipped = 1;
            continue;
        }
        if (!strcmp(o, "--kernels")) {
            kernels = 1;
            continue;
        }
        if (!strcmp(o, "--precise")) {
            precise = 1;
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
        } else if (!strcmp(o, "--colour")) {
            colour_dir = v;
        } else if (!strcmp(o, "--preview")) {
            preview_dir = v;
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
        } else if (!strcmp(o, "--train")) {
            train_steps = atoi(v);
        } else if (!strcmp(o, "--qualities")) {
            for (const char *t = v; *t && nq < 3; t += strcspn(t, ",") + (t[strcspn(t, ",")] != 0)) {
                int q = crsae_quality_from_name(t, strcspn(t, ","));
                if (q < 0) {
                    fprintf(stderr, "crsae-bench: qualities are fast, normal, best\n");
                    return 2;
                }
                qualities[nq++] = q;
            }
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
    double peak1 = peak_gflops(1), peak2 = peak_gflops(2);
    printf("FMA peak measured here: %.1f GFLOP/s on 1 thread, %.1f on 2\n", peak1, peak2);
    printf("model: %s, C=%d K=%d s=%d T=%d\n", model_path ? model_path : "built-in",
           mi.filters, mi.size, mi.stride, T);
    if (kernels)
        bench_kernels(model, peak1);
    if (preview_dir)
        bench_preview(model, preview_dir, sigmas[0]);
    if (nq == 0)
        qualities[nq++] = -1; /* the --shifts / --transforms given */

    for (int a = first; a < argc; a++) {
        image *imgs;
        int n = load_folder(argv[a], &imgs, limit);
        if (n <= 0)
            continue;
        double mp = 0;
        for (int i = 0; i < n; i++)
            mp += (double)imgs[i].w * imgs[i].h / 1e6;
        printf("\n%s: %d images, %.2f megapixels\n", argv[a], n, mp);
        if (a == first && train_steps > 0)
            train_throughput(model, imgs, n, train_steps);
        printf("%6s %8s %9s %9s %9s %10s %10s %8s %9s %9s\n", "sigma", "quality", "noisy", "PSNR",
               "clipped", "s/MP 1thr", "s/MP 2thr", "speedup", "GFLOP/s", "est.err");
        for (int kq = 0; kq < nsig * nq; kq++) {
            const int k = kq / nq, q = qualities[kq % nq];
            crsae_denoise_params pq;
            crsae_denoise_params_init(&pq);
            pq.shifts = shifts;
            pq.transforms = transforms;
            if (q >= 0)
                crsae_denoise_params_set_quality(&pq, (crsae_quality)q);
            const int all = mi.stride * mi.stride;
            const int nsh = pq.shifts > 0 && pq.shifts < all ? pq.shifts : all;
            /* multiply-adds per pixel: two convolutions per iteration over the
             * shifts (1/s^2 atoms per pixel each) but none in the first
             * iteration's synthesis (w = 0), plus the final decoding */
            const double flop_px = 2.0 * mi.filters * mi.size * mi.size * (2.0 * T) * nsh /
                                   ((double)all) * (pq.transforms > 1 ? pq.transforms : 1);
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
                p.shifts = pq.shifts;
                p.transforms = pq.transforms;
                p.precise = precise;
                p.threads = 2;
                double t0 = now();
                st = crsae_denoise_plane(model, &p, noisy, (size_t)imgs[i].w, out,
                                         (size_t)imgs[i].w, imgs[i].w, imgs[i].h);
                double best2 = now() - t0;
                if (st != CRSAE_OK) {
                    fprintf(stderr, "crsae-bench: %s\n", crsae_strerror(st));
                    return 1;
                }
                sum += psnr(out, imgs[i].clean, np);
                sum_noisy += psnr(noisy, imgs[i].clean, np);
                if (i < time_images) {
                    /* timed images: the best of TIME_RUNS */
                    double best1 = 1e30;
                    for (int run = 0; run < TIME_RUNS; run++) {
                        p.threads = 1;
                        t0 = now();
                        crsae_denoise_plane(model, &p, noisy, (size_t)imgs[i].w, out,
                                            (size_t)imgs[i].w, imgs[i].w, imgs[i].h);
                        best1 = fmin(best1, now() - t0);
                        if (run + 1 == TIME_RUNS)
                            break;
                        p.threads = 2;
                        t0 = now();
                        crsae_denoise_plane(model, &p, noisy, (size_t)imgs[i].w, out,
                                            (size_t)imgs[i].w, imgs[i].w, imgs[i].h);
                        best2 = fmin(best2, now() - t0);
                    }
                    t1 += best1;
                    mp1 += (double)np / 1e6;
                    p.threads = 2;
                }
                t2 += best2;
                if (clipped) {
                    for (size_t j = 0; j < np; j++) {
                        float v = roundf(noisy[j] * 255.0f) / 255.0f;
                        noisy[j] = v < 0 ? 0 : (v > 1 ? 1 : v);
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
            char qn[16];
            snprintf(qn, sizeof qn, "%s", q >= 0 ? crsae_quality_name((crsae_quality)q) : "-");
            printf("%6.1f %8s %9.2f %9.2f %9s %10.2f %10.2f %8.2f %9.1f %+8.1f%%\n", sigmas[k], qn,
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
    if (colour_dir)
        colour_speed(model, colour_dir, sigmas[0], limit);
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
