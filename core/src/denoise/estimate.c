/* estimate.c - noise level estimation from the eigenvalues of the
 * covariance of small patches (after Chen, Zhu & Heng, ICCV 2015).
 *
 * For white noise of variance sigma^2 every direction of patch space gets
 * sigma^2 of variance; image structure adds variance only to some
 * directions.  With the eigenvalues sorted from the largest, we drop the
 * largest one at a time until the remaining ones look like noise alone:
 * as many of them lie above their mean as below it.  That mean is sigma^2.
 * Colour: the orthonormal opponent channels carry the same sigma; we take
 * the smallest of their estimates (the chroma channels have the least
 * structure, so they are the least biased upwards). */
#include "denoise/colour.h"
#include "crsae.h"
#include "base/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PS 6          /* patch side */
#define PD (PS * PS)  /* patch dimension */
#define MAX_PATCHES 60000

/* Cyclic Jacobi eigenvalues of a symmetric d x d matrix (destroyed). */
static void jacobi_eigenvalues(double *a, int d, double *ev)
{
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0, diag = 0.0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                if (i == j)
                    diag += a[i * d + j] * a[i * d + j];
                else
                    off += a[i * d + j] * a[i * d + j];
            }
        if (off <= 1e-24 * diag || off == 0.0)
            break;
        for (int p = 0; p < d - 1; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = a[p * d + q];
                if (fabs(apq) < 1e-300)
                    continue;
                double theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < d; k++) { /* rotate columns p, q */
                    double akp = a[k * d + p], akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* rotate rows p, q */
                    double apk = a[p * d + k], aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
            }
    }
    for (int i = 0; i < d; i++)
        ev[i] = a[i * d + i];
}

static int cmp_desc(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

/* Value of the plane at (x, y): the projection m of the pixel. */
static inline double at(const float *in, size_t stride, int ch, const float m[3], int colours,
                        int x, int y)
{
    const float *px = in + (size_t)y * stride + (size_t)x * ch;
    double s = m[0] * px[0];
    if (colours == 3)
        s += (double)m[1] * px[1] + (double)m[2] * px[2];
    return s;
}

/* sigma^2 from the eigenvalues of the covariance of the selected patches:
 * drop the largest until as many lie above the mean of the rest as below. */
static double tail_mean(double *cov, const double *mean_sum, double n)
{
    for (int i = 0; i < PD; i++)
        for (int j = 0; j <= i; j++) {
            double c = cov[i * PD + j] / n - (mean_sum[i] / n) * (mean_sum[j] / n);
            cov[i * PD + j] = cov[j * PD + i] = c;
        }
    double ev[PD];
    jacobi_eigenvalues(cov, PD, ev);
    qsort(ev, PD, sizeof ev[0], cmp_desc);
    for (int i = 0; i < PD; i++) {
        double tau = 0.0;
        for (int j = i; j < PD; j++)
            tau += ev[j];
        tau /= (double)(PD - i);
        int above = 0, below = 0;
        for (int j = i; j < PD; j++) {
            above += ev[j] > tau;
            below += ev[j] < tau;
        }
        if (above >= below)
            return tau > 0.0 ? tau : 0.0;
    }
    return ev[PD - 1] > 0.0 ? ev[PD - 1] : 0.0;
}

/* Texture strength of a patch: the sum of its squared horizontal and
 * vertical differences.  For noise alone its mean is 4 PS (PS-1) sigma^2
 * and its spread about a sixth of that. */
#define STRENGTH_NOISE (4.0 * PS * (PS - 1))
#define STRENGTH_LIMIT (1.4 * STRENGTH_NOISE)
#define MIN_SELECTED (20 * PD)
/* Keeping only patches below the limit lowers the estimate on pure noise by
 * this factor (measured on flat images with noise, 8 x 512 x 512). */
#define TRUNCATION_GAIN 0.9757
/* Pixels at exactly the ends of the range (8-bit 0 and 255): their noise
 * was clipped away, so patches holding one are not used.  Values beyond the
 * range (noise added in float) were not clipped and stay. */
#define CLIP_BAND (0.25f / 255.0f)

/* Noise variance of one plane.  A first estimate uses every patch; then
 * only patches whose texture strength is plausible for noise alone at the
 * current estimate are kept and the estimate is refined (the idea of
 * Liu, Tanaka & Okutomi 2013), which removes the bias that fine texture
 * gives at low noise levels. */
static double plane_variance(const float *in, size_t stride, int w, int h, int ch,
                             const float m[3], int colours, double *cov, float *strength,
                             const unsigned char *clipped, int *px, int *py, int npatch)
{
    double v[PD];
    for (int k = 0; k < npatch; k++) {
        double s = 0.0;
        for (int a = 0; a < PS; a++)
            for (int b = 0; b < PS; b++) {
                v[a * PS + b] = at(in, stride, ch, m, colours, px[k] + b, py[k] + a);
                if (b > 0) {
                    double d = v[a * PS + b] - v[a * PS + b - 1];
                    s += d * d;
                }
                if (a > 0) {
                    double d = v[a * PS + b] - v[(a - 1) * PS + b];
                    s += d * d;
                }
            }
        /* a patch touching 0 or 1 lost part of its noise to clipping */
        strength[k] = clipped && clipped[k] ? INFINITY : (float)s;
    }
    (void)w;
    (void)h;
    double var = -1.0;
    for (int round = 0; round < 6; round++) {
        double limit = var < 0.0 ? INFINITY : STRENGTH_LIMIT * var;
        double mean[PD] = {0}, n = 0;
        memset(cov, 0, sizeof(double) * PD * PD);
        for (int k = 0; k < npatch; k++) {
            if (!(strength[k] <= limit))
                continue;
            for (int a = 0; a < PS; a++)
                for (int b = 0; b < PS; b++)
                    v[a * PS + b] = at(in, stride, ch, m, colours, px[k] + b, py[k] + a);
            for (int i = 0; i < PD; i++) {
                mean[i] += v[i];
                for (int j = 0; j <= i; j++)
                    cov[i * PD + j] += v[i] * v[j];
            }
            n += 1;
        }
        if (n < MIN_SELECTED && var >= 0.0)
            break; /* too few flat patches: keep the previous estimate */
        double next = tail_mean(cov, mean, n);
        if (var >= 0.0 && fabs(next - var) <= 1e-3 * var) {
            var = next;
            break;
        }
        var = next;
        if (var <= 0.0)
            break;
    }
    return var;
}

crsae_status crsae_estimate_sigma(const float *in, size_t stride, int width, int height,
                                  int channels, float *sigma)
{
    if (!in || !sigma || channels < 1 || channels > 4 || width < 8 || height < 8 ||
        stride < (size_t)width * (size_t)channels)
        return CRSAE_ERR_INVALID_ARGUMENT;
    if ((uint64_t)width * (uint64_t)height > CRSAE_MAX_PIXELS)
        return CRSAE_ERR_TOO_LARGE;
    int colours = crsae__colours(channels);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < colours; c++)
                if (!isfinite(in[(size_t)y * stride + (size_t)x * channels + c]))
                    return CRSAE_ERR_NONFINITE;
    /* patch positions on a grid, at most MAX_PATCHES of them */
    int nx = width - PS + 1, ny = height - PS + 1, step = 1;
    while ((double)nx * ny / ((double)step * step) > MAX_PATCHES)
        step++;
    int npatch = ((nx + step - 1) / step) * ((ny + step - 1) / step);
    double *cov = crsae__malloc(sizeof(double) * PD * PD);
    float *strength = crsae__malloc(sizeof(float) * (size_t)npatch);
    int *px = crsae__malloc(sizeof(int) * (size_t)npatch);
    int *py = crsae__malloc(sizeof(int) * (size_t)npatch);
    unsigned char *clipped = crsae__malloc((size_t)npatch);
    crsae_status st = CRSAE_ERR_NOMEM;
    if (!cov || !strength || !px || !py || !clipped)
        goto done;
    int k = 0, unclipped = 0;
    for (int y = 0; y < ny; y += step)
        for (int x = 0; x < nx; x += step, k++) {
            px[k] = x;
            py[k] = y;
            clipped[k] = 0;
            for (int a = 0; a < PS && !clipped[k]; a++)
                for (int b = 0; b < PS; b++) {
                    const float *q = in + (size_t)(y + a) * stride + (size_t)(x + b) * channels;
                    for (int c = 0; c < colours; c++)
                        clipped[k] |= fabsf(q[c]) <= CLIP_BAND || fabsf(q[c] - 1.0f) <= CLIP_BAND;
                }
            unclipped += !clipped[k];
        }
    float m[3][3];
    crsae__colour_matrix(colours, m);
    double best = INFINITY;
    for (int p = 0; p < colours; p++) {
        /* an image mostly at 0 or 1: use every patch rather than too few */
        double var = plane_variance(in, stride, width, height, channels, m[p], colours, cov,
                                    strength, unclipped >= MIN_SELECTED ? clipped : NULL, px, py,
                                    npatch);
        if (var < best)
            best = var;
    }
    *sigma = (float)(sqrt(best > 0.0 ? best : 0.0) / TRUNCATION_GAIN);
    st = CRSAE_OK;
done:
    crsae__free(cov);
    crsae__free(strength);
    crsae__free(px);
    crsae__free(py);
    crsae__free(clipped);
    return st;
}
