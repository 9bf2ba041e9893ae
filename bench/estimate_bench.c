/* crsae-estimate-bench - accuracy and speed of the noise estimator
 * (crsae_estimate_sigma) on folders of PNG images.
 *
 *   crsae-estimate-bench [options] DIR...
 *     --sigmas LIST   noise levels, 0..255 scale (default 5,15,25,50)
 *     --seed N        noise seed (default 1); image i at sigma s gets its
 *                     own stream derived from N, i and s
 *     --clipped       round and clip the noisy image to 8 bits, as a user's
 *                     PNG holds it (default: float noise, not clipped)
 *     --grey          estimate on the grey (BT.601 luma) version of colour
 *                     files (default: each file's own channels; colour noise
 *                     is added independently to R, G and B)
 *     --limit N       only the first N images of each folder
 *     --per-image     also print one line per image and noise level
 *
 * For each folder and sigma: the mean estimate, the mean signed and mean
 * absolute relative error, the worst relative error and its image; at
 * sigma 0 the mean and largest estimate (0..255).  Last line: the
 * estimator's time per megapixel (one thread). */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crsae.h"
#include "images.h"
#include "pngio.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct image {
    int w, h, ch;
    float *pixels;
    const char *name; /* file name without the folder */
} image;

static int load_folder(const char *dir, image **out, char ***names_out, size_t *total_out,
                       int limit, int grey)
{
    size_t total;
    char **names = images_list_png(dir, &total);
    if (!names) {
        fprintf(stderr, "crsae-estimate-bench: cannot open %s\n", dir);
        return -1;
    }
    size_t n = limit > 0 && total > (size_t)limit ? (size_t)limit : total;
    image *imgs = calloc(n ? n : 1, sizeof(image));
    if (!imgs)
        exit(1);
    for (size_t i = 0; i < n; i++) {
        char msg[256];
        pngio_image p;
        if (pngio_read(names[i], &p, msg, sizeof msg) != PNGIO_OK) {
            fprintf(stderr, "crsae-estimate-bench: %s: %s\n", names[i], msg);
            exit(1);
        }
        imgs[i].w = p.width;
        imgs[i].h = p.height;
        const char *slash = strrchr(names[i], '/');
        imgs[i].name = slash ? slash + 1 : names[i];
        if (grey || p.channels == 2) {
            imgs[i].ch = 1;
            imgs[i].pixels = images_luma(&p);
            pngio_free(&p);
            if (!imgs[i].pixels)
                exit(1);
        } else {
            imgs[i].ch = p.channels;
            imgs[i].pixels = p.pixels; /* ours now */
        }
    }
    *out = imgs;
    *names_out = names;
    *total_out = total;
    return (int)n;
}

static int parse_list(const char *s, double *v, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        v[n++] = strtod(s, &end);
        if (end == s)
            return -1;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

int main(int argc, char **argv)
{
    double sigmas[32] = {5, 15, 25, 50};
    int nsig = 4, clipped = 0, grey = 0, limit = 0, per_image = 0;
    uint64_t seed = 1;
    int first_dir = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sigmas") && i + 1 < argc) {
            nsig = parse_list(argv[++i], sigmas, 32);
            if (nsig <= 0) {
                fprintf(stderr, "crsae-estimate-bench: bad --sigmas\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            limit = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--clipped")) {
            clipped = 1;
        } else if (!strcmp(argv[i], "--grey")) {
            grey = 1;
        } else if (!strcmp(argv[i], "--per-image")) {
            per_image = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: crsae-estimate-bench [--sigmas LIST] [--seed N] [--clipped] "
                            "[--grey] [--limit N] [--per-image] DIR...\n");
            return 2;
        } else {
            first_dir = i;
            break;
        }
    }
    if (first_dir >= argc) {
        fprintf(stderr, "crsae-estimate-bench: no folder given\n");
        return 2;
    }
    printf("noise %s, seed %llu\n",
           clipped ? "8-bit (added in float, rounded, clipped to [0,255])" : "float, not clipped",
           (unsigned long long)seed);
    printf("%-10s %5s %3s %8s %7s %7s %7s  %s\n", "folder", "sigma", "n", "mean", "bias%",
           "|err|%", "worst%", "worst image");
    double seconds = 0, megapixels = 0;
    for (int d = first_dir; d < argc; d++) {
        image *imgs;
        char **names;
        size_t total;
        int n = load_folder(argv[d], &imgs, &names, &total, limit, grey);
        if (n < 0)
            return 1;
        const char *label = strrchr(argv[d], '/');
        label = label && label[1] ? label + 1 : argv[d];
        for (int s = 0; s < nsig; s++) {
            double sum = 0, bias = 0, abs_err = 0, worst = 0, largest = 0;
            const char *worst_name = "-";
            for (int i = 0; i < n; i++) {
                const image *im = &imgs[i];
                size_t count = (size_t)im->w * (size_t)im->h * (size_t)im->ch;
                float *noisy = malloc(count * sizeof(float));
                if (!noisy)
                    exit(1);
                memcpy(noisy, im->pixels, count * sizeof(float));
                uint64_t stream = seed * 1000003u + (uint64_t)i * 7919u +
                                  (uint64_t)llround(sigmas[s] * 100.0);
                size_t stride = (size_t)im->w * (size_t)im->ch;
                crsae_add_noise(noisy, stride, im->w, im->h, im->ch, (float)(sigmas[s] / 255.0),
                                stream);
                if (clipped)
                    for (size_t k = 0; k < count; k++)
                        noisy[k] = crsae_sample_to_float(crsae_sample_from_float(noisy[k], 8), 8);
                float est;
                double t0 = now();
                crsae_status st = crsae_estimate_sigma(noisy, stride, im->w, im->h, im->ch, &est);
                seconds += now() - t0;
                megapixels += 1e-6 * (double)im->w * (double)im->h;
                free(noisy);
                if (st != CRSAE_OK) {
                    fprintf(stderr, "crsae-estimate-bench: %s: %s\n", im->name,
                            crsae_strerror(st));
                    return 1;
                }
                double e = 255.0 * est;
                sum += e;
                if (e > largest)
                    largest = e;
                if (sigmas[s] > 0) {
                    double r = e / sigmas[s] - 1.0;
                    bias += r;
                    abs_err += fabs(r);
                    if (fabs(r) >= fabs(worst)) {
                        worst = r;
                        worst_name = im->name;
                    }
                }
                if (per_image)
                    printf("  %-10s %5.1f %-16s %7.3f\n", label, sigmas[s], im->name, e);
            }
            if (sigmas[s] > 0)
                printf("%-10s %5.1f %3d %8.3f %+7.2f %7.2f %+7.2f  %s\n", label, sigmas[s], n,
                       sum / n, 100.0 * bias / n, 100.0 * abs_err / n, 100.0 * worst,
                       worst_name);
            else
                printf("%-10s %5.1f %3d %8.3f %7s %7s %7s  largest %.3f\n", label, sigmas[s], n,
                       sum / n, "-", "-", "-", largest);
            fflush(stdout);
        }
        for (int i = 0; i < n; i++)
            free(imgs[i].pixels);
        free(imgs);
        images_free_list(names, total);
    }
    printf("estimator time: %.1f ms per megapixel (one thread)\n",
           megapixels > 0 ? 1e3 * seconds / megapixels : 0.0);
    return 0;
}
