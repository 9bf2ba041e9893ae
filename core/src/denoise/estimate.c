/* estimate.c - noise level estimation from the eigenvalues of the
 * covariance of small patches (after Chen, Zhu & Heng, ICCV 2015), made
 * right for clipped 8-bit images.
 *
 * Patches: 6x6, on a grid of at most MAX_PATCHES positions.  For white
 * noise of variance v every direction of patch space gets v of variance;
 * image structure adds variance only to some directions.  With the
 * eigenvalues of the covariance of the patches sorted from the largest, we
 * drop the largest one at a time until as many of the rest lie above their
 * mean as below it: that mean is v.  Only patches whose texture strength
 * (sum of squared neighbour differences) is plausible for noise alone are
 * used, the selection refined as the estimate moves (the idea of Liu,
 * Tanaka & Okutomi 2013).
 *
 * Clipping.  A user's 8-bit file holds round(clip(x + n)): where the clean
 * value x lies within a few sigma of 0 or 1 the noise is cut off and its
 * variance is smaller than sigma^2 (at sigma 50 a photo's dark and bright
 * parts keep half of it or less), which made the old estimate read colour
 * photos at sigma 50 as 36-47.  Excluding patches that touch 0 or 1 does
 * not help: it keeps those where the noise happened to stay inside.  So
 * every patch is kept (but those whose channels are entirely at 0 or 1:
 * no noise there to see), and the estimate is read through a model: a
 * Gaussian N(mu, sigma^2) clipped to [0,1] has a mean f(mu, sigma) and a
 * variance g(mu, sigma) in closed form.  A patch's observed mean m gives mu
 * = f^-1(m) (mu in [0,1]: a clean image lies in the range) and so the
 * variance h(m, sigma) = g(f^-1(m), sigma) its noise has.  The eigenvalue
 * estimate v over the selected patches is the mean of their h; we solve
 * mean h(m_k, sigma) = v for sigma, and select patches against their own
 * h (texture strength <= STRENGTH_LIMIT times the noise's expected
 * strength at that patch's h), so that dark, bright and mid-grey patches
 * are selected alike.
 *
 * Colour: estimated in the orthonormal opponent planes (luma, red-blue,
 * green-magenta), which carry the per-RGB-channel sigma the denoiser wants
 * (colour.c); the clipping model of a plane sums its RGB channels' h with
 * the squared weights.  The result is the median of the three plane
 * estimates (on CBSD432, 8-bit noise: worst 5 % at sigma 5-50, against
 * 8.7 % for the smaller chroma plane and 12 % for the smallest plane).
 *
 * 8-bit files: rounding adds 1/12 of a level squared of variance; it is
 * taken off when every sample is a multiple of 1/255.
 *
 * Constants chosen on Train400 / CBSD432 only.  Measured on the test sets
 * (crsae-estimate-bench --clipped, seed 1, sigma 5/15/25/50), worst
 * relative error: Set12 +13.8 / -4.2 / -2.5 / +3.1 %, CBSD68 -8.3 / -3.6 /
 * -3.5 / -3.9 %, Kodak24 +3.0 / -1.6 / -2.9 / -2.7 % (the previous
 * estimator: -37 % on CBSD68 and -38 % on Kodak24 at sigma 50).  About
 * 130-230 ms per megapixel on this shared machine (8000 patches at most:
 * the cost per image is nearly fixed). */
#include "crsae.h"
#include "base/alloc.h"
#include "denoise/colour.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PS 6          /* patch side */
#define PD (PS * PS)  /* patch dimension */
#define MAX_PATCHES 8000
#define MAX_ROUNDS 6

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
        if (off <= 1e-14 * diag || off == 0.0)
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


/* Texture strength of a patch: the sum of its squared horizontal and
 * vertical differences.  For noise of variance v alone its mean is
 * 4 PS (PS-1) v. */
#define STRENGTH_NOISE (4.0 * PS * (PS - 1))
#ifndef STRENGTH_LIMIT
#define STRENGTH_LIMIT 1.4
#endif
#define MIN_SELECTED (20 * PD)
/* Keeping only patches below the limit lowers the variance estimate on
 * pure noise by this factor (squared: measured on flat images with noise). */
#ifndef TRUNCATION_GAIN
#define TRUNCATION_GAIN 0.979
#endif
/* Samples within this of 0 or 1 count as clipped (8-bit 0 and 255). */
#define CLIP_BAND (0.25f / 255.0f)
/* The tables of the clipping model: mu on MU_STEPS + 1 points of [0,1],
 * h on H_BINS + 1 points of the observed mean m in [0,1]. */
#define MU_STEPS 512
#define H_BINS 256

/* Mean and variance of N(mu, s^2) clipped to [0,1]. */
static void clipped_moments(double mu, double s, double *mean, double *var)
{
    if (!(s > 0.0)) {
        *mean = mu;
        *var = 0.0;
        return;
    }
    const double r2 = 0.70710678118654752440, rpi = 0.39894228040143267794;
    double a = -mu / s, b = (1.0 - mu) / s;
    double Pa = 0.5 * erfc(-a * r2), Qb = 0.5 * erfc(b * r2); /* P(Z<a), P(Z>b) */
    double pa = rpi * exp(-0.5 * a * a), pb = rpi * exp(-0.5 * b * b);
    double mid = 1.0 - Pa - Qb;
    double e1 = mu * mid + s * (pa - pb) + Qb;
    double e2 = (mu * mu + s * s) * mid + 2.0 * mu * s * (pa - pb) + s * s * (a * pa - b * pb) + Qb;
    double v = e2 - e1 * e1;
    *mean = e1;
    *var = v > 0.0 ? v : 0.0;
}

/* h[b] = g(f^-1(b / H_BINS), s) / s^2: the fraction of the noise variance
 * left in a patch of observed mean b / H_BINS. */
static void model_table(double s, int clipped, double *h)
{
    if (!clipped) {
        for (int b = 0; b <= H_BINS; b++)
            h[b] = 1.0;
        return;
    }
    double f[MU_STEPS + 1], g[MU_STEPS + 1];
    for (int i = 0; i <= MU_STEPS; i++)
        clipped_moments((double)i / MU_STEPS, s, &f[i], &g[i]);
    int i = 0;
    for (int b = 0; b <= H_BINS; b++) {
        double m = (double)b / H_BINS, v;
        if (m <= f[0])
            v = g[0];
        else if (m >= f[MU_STEPS])
            v = g[MU_STEPS];
        else {
            while (i < MU_STEPS - 1 && f[i + 1] <= m)
                i++;
            double t = f[i + 1] > f[i] ? (m - f[i]) / (f[i + 1] - f[i]) : 0.0;
            v = g[i] + t * (g[i + 1] - g[i]);
        }
        h[b] = s > 0.0 ? v / (s * s) : 1.0;
    }
}

static inline double lookup(const double *h, float m)
{
    double x = (double)m * H_BINS;
    if (!(x > 0.0))
        return h[0];
    if (x >= H_BINS)
        return h[H_BINS];
    int b = (int)x;
    return h[b] + (x - b) * (h[b + 1] - h[b]);
}

typedef struct patches {
    int n, colours;
    int clipped;          /* 0: no clipping seen, h = 1 */
    int *px, *py;
    float *mean;          /* n x colours: each channel's mean over the patch */
    unsigned char *sat;   /* n: bit c set when channel c is entirely at 0 or 1 */
    float *strength;      /* n: of the current plane */
    float *pred;          /* n: h of the current plane at the current sigma */
} patches;

/* Value of the plane at (x, y): the projection m of the pixel. */
static inline float at(const float *in, size_t stride, int ch, const float m[3], int colours,
                       int x, int y)
{
    const float *px = in + (size_t)y * stride + (size_t)x * ch;
    float s = m[0] * px[0];
    if (colours == 3)
        s += m[1] * px[1] + m[2] * px[2];
    return s;
}

/* The fraction of sigma^2 each patch's plane noise keeps, at sigma s. */
static void predict(patches *P, const float m[3], double s, double *h)
{
    model_table(s, P->clipped, h);
    for (int k = 0; k < P->n; k++) {
        double p = 0.0;
        for (int c = 0; c < P->colours; c++)
            if (!(P->sat[k] >> c & 1))
                p += (double)m[c] * m[c] * lookup(h, P->mean[(size_t)k * P->colours + c]);
        P->pred[k] = (float)p;
    }
}

/* Mean of h over the selected patches at sigma s. */
static double mean_fraction(const patches *P, const float m[3], const unsigned char *sel,
                            double s, double *h)
{
    model_table(s, P->clipped, h);
    double sum = 0.0, n = 0.0;
    for (int k = 0; k < P->n; k++)
        if (sel[k]) {
            for (int c = 0; c < P->colours; c++)
                if (!(P->sat[k] >> c & 1))
                    sum += (double)m[c] * m[c] * lookup(h, P->mean[(size_t)k * P->colours + c]);
            n += 1.0;
        }
    return n > 0.0 ? sum / n : 0.0;
}

/* Solve mean over the selected patches of h(m_k, s) s^2 = v for s: the
 * left side grows with s, so a secant on log s against its log (which
 * moves by 0 to 2 per unit of log s) converges in a few steps.  Leaves
 * P->pred at the solution. */
static double solve_sigma(patches *P, const float m[3], const unsigned char *sel, double v,
                          double s, double *h)
{
    if (!(v > 0.0))
        return 0.0;
    if (!(s > 0.0))
        s = sqrt(v);
    double lv = log(v), x0 = log(s), H = mean_fraction(P, m, sel, s, h);
    if (!(H > 0.0))
        return sqrt(v);
    double r0 = log(H) + 2.0 * x0 - lv;
    double x1 = x0 - 0.5 * r0; /* the unclipped slope, 2 */
    for (int it = 0; it < 20; it++) {
        H = mean_fraction(P, m, sel, exp(x1), h);
        if (!(H > 0.0))
            break;
        double r1 = log(H) + 2.0 * x1 - lv;
        if (fabs(r1) < 1e-5 || x1 == x0) {
            x0 = x1;
            break;
        }
        double slope = (r1 - r0) / (x1 - x0);
        if (!(slope > 0.05))
            slope = 0.05; /* keep every step towards the root, bounded */
        x0 = x1, r0 = r1;
        x1 -= r1 / slope;
    }
    s = exp(x1);
    predict(P, m, s, h);
    return s;
}

/* The noise variance (eigenvalue tail mean) of the selected patches. */
static double tail_variance(const float *in, size_t stride, int ch, const float m[3],
                            int colours, const patches *P, const unsigned char *sel, double *n_out)
{
    double cov[PD * PD], mean[PD];
    float acc[PD * PD], accm[PD];
    memset(cov, 0, sizeof cov);
    memset(mean, 0, sizeof mean);
    memset(acc, 0, sizeof acc);
    memset(accm, 0, sizeof accm);
    double n = 0.0;
    int inblock = 0;
    float v[PD];
    for (int k = 0; k < P->n; k++) {
        if (!sel[k])
            continue;
        /* centred on the patch's own mean: the all-ones direction then
         * carries nothing, and float sums stay exact enough */
        float dc = 0.0f;
        for (int a = 0; a < PS; a++)
            for (int b = 0; b < PS; b++) {
                v[a * PS + b] = at(in, stride, ch, m, colours, P->px[k] + b, P->py[k] + a);
                dc += v[a * PS + b];
            }
        dc /= (float)PD;
        for (int i = 0; i < PD; i++)
            v[i] -= dc;
        for (int i = 0; i < PD; i++) {
            accm[i] += v[i];
            for (int j = 0; j <= i; j++)
                acc[i * PD + j] += v[i] * v[j];
        }
        n += 1.0;
        if (++inblock == 64) {
            for (int i = 0; i < PD * PD; i++)
                cov[i] += acc[i], acc[i] = 0.0f;
            for (int i = 0; i < PD; i++)
                mean[i] += accm[i], accm[i] = 0.0f;
            inblock = 0;
        }
    }
    for (int i = 0; i < PD * PD; i++)
        cov[i] += acc[i];
    for (int i = 0; i < PD; i++)
        mean[i] += accm[i];
    *n_out = n;
    if (n < 2.0)
        return 0.0;
    for (int i = 0; i < PD; i++)
        for (int j = 0; j <= i; j++)
            cov[i * PD + j] = cov[j * PD + i] = cov[i * PD + j] / n - (mean[i] / n) * (mean[j] / n);
    double ev[PD];
    jacobi_eigenvalues(cov, PD, ev);
    qsort(ev, PD, sizeof ev[0], cmp_desc);
    /* the smallest is the all-ones direction, removed by the centring; in
     * the other PD - 1 directions centred white noise keeps its variance */
    const int d = PD - 1;
    for (int i = 0; i < d; i++) {
        double tau = 0.0;
        for (int j = i; j < d; j++)
            tau += ev[j];
        tau /= (double)(d - i);
        int above = 0, below = 0;
        for (int j = i; j < d; j++) {
            above += ev[j] > tau;
            below += ev[j] < tau;
        }
        if (above >= below)
            return tau > 0.0 ? tau : 0.0;
    }
    return ev[d - 1] > 0.0 ? ev[d - 1] : 0.0;
}

/* Texture strength of every patch in plane m. */
static void strengths(const float *in, size_t stride, int ch, const float m[3], int colours,
                      patches *P)
{
    float v[PD];
    for (int k = 0; k < P->n; k++) {
        double s = 0.0;
        for (int a = 0; a < PS; a++)
            for (int b = 0; b < PS; b++) {
                v[a * PS + b] = at(in, stride, ch, m, colours, P->px[k] + b, P->py[k] + a);
                if (b > 0) {
                    double d = (double)v[a * PS + b] - v[a * PS + b - 1];
                    s += d * d;
                }
                if (a > 0) {
                    double d = (double)v[a * PS + b] - v[(a - 1) * PS + b];
                    s += d * d;
                }
            }
        P->strength[k] = (float)s;
    }
}

/* The k-th smallest of v[0..n-1] (reordered), 0 <= k < n: quickselect
 * with the median of three as pivot (deterministic). */
static float select_kth(float *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        float a = v[lo], b = v[mid], c = v[hi];
        float pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j], v[j] = t;
                i++, j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

#ifndef QUANTILE
#define QUANTILE 0.1
#endif
#ifndef QUANTILE_RATIO
#define QUANTILE_RATIO 0.80
#endif

/* Noise sigma of one plane. */
static double plane_sigma(const float *in, size_t stride, int ch, const float m[3], int colours,
                          patches *P, unsigned char *sel, float *ratio, double quant, double *h)
{
    strengths(in, stride, ch, m, colours, P);
    /* patches with noise in this plane: not every channel entirely clipped */
    unsigned needed = 0;
    for (int c = 0; c < colours; c++)
        if (m[c] != 0.0f)
            needed |= 1u << c;
    int usable = 0;
    for (int k = 0; k < P->n; k++) {
        sel[k] = (P->sat[k] & needed) != needed;
        usable += sel[k];
    }
    if (usable < MIN_SELECTED) /* mostly at 0 or 1: use them all */
        for (int k = 0; k < P->n; k++)
            sel[k] = 1;
    /* a first estimate, cheap: a low quantile of the patches' strength
     * against the noise's own (for noise alone its QUANTILE point lies at
     * QUANTILE_RATIO of the mean), under the clipping model at the current
     * estimate; the selection rounds below then refine it */
    double n, v, s = 0.0;
    for (int k = 0; k < P->n; k++)
        P->pred[k] = 1.0f;
    for (int it = 0; it < 4; it++) {
        int c = 0;
        for (int k = 0; k < P->n; k++)
            if (sel[k] && P->pred[k] > 0.0f)
                ratio[c++] = P->strength[k] / (float)(STRENGTH_NOISE * P->pred[k]);
        if (c == 0)
            return 0.0;
        double q = select_kth(ratio, c, (int)(QUANTILE * c)) / QUANTILE_RATIO;
        double next = solve_sigma(P, m, sel, q > 0.0 ? q : 0.0, s, h);
        int done = s > 0.0 && fabs(next - s) <= 0.01 * s;
        s = next;
        if (done || !(s > 0.0))
            break;
    }
    for (int round = 0; round < MAX_ROUNDS && s > 0.0; round++) {
        /* P->pred holds h at s: keep the patches whose strength is
         * plausible for their noise alone */
        double lim = STRENGTH_LIMIT * STRENGTH_NOISE * s * s;
        int count = 0;
        for (int k = 0; k < P->n; k++) {
            int ok = (P->sat[k] & needed) != needed || usable < MIN_SELECTED;
            sel[k] = ok && P->strength[k] <= lim * P->pred[k];
            count += sel[k];
        }
        if (count < MIN_SELECTED)
            break; /* too few flat patches: keep the estimate */
        v = tail_variance(in, stride, ch, m, colours, P, sel, &n) / (TRUNCATION_GAIN * TRUNCATION_GAIN);
        double next = solve_sigma(P, m, sel, v - quant > 0.0 ? v - quant : 0.0, s, h);
        int done = fabs(next - s) <= 1e-3 * s;
        s = next;
        if (done)
            break;
    }
    return s;
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
    int eight_bit = 1, outside = 0, at_bound = 0;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < colours; c++) {
                float q = in[(size_t)y * stride + (size_t)x * channels + c];
                if (!isfinite(q))
                    return CRSAE_ERR_NONFINITE;
                outside |= q < -CLIP_BAND || q > 1.0f + CLIP_BAND;
                at_bound |= q <= CLIP_BAND || q >= 1.0f - CLIP_BAND;
                float l = q * 255.0f;
                eight_bit &= fabsf(l - nearbyintf(l)) <= 1e-3f;
            }
    /* patch positions on a grid, at most MAX_PATCHES of them */
    int nx = width - PS + 1, ny = height - PS + 1, step = 1;
    while ((double)nx * ny / ((double)step * step) > MAX_PATCHES)
        step++;
    size_t npatch = (size_t)((nx + step - 1) / step) * (size_t)((ny + step - 1) / step);
    patches P = {0};
    P.colours = colours;
    /* noise added in float and never clipped (values beyond [0,1]), or no
     * sample at 0 or 1: the model is the identity */
    P.clipped = at_bound && !outside;
    P.px = crsae__malloc(sizeof(int) * npatch);
    P.py = crsae__malloc(sizeof(int) * npatch);
    P.mean = crsae__malloc(sizeof(float) * npatch * (size_t)colours);
    P.sat = crsae__malloc(npatch);
    P.strength = crsae__malloc(sizeof(float) * npatch);
    P.pred = crsae__malloc(sizeof(float) * npatch);
    unsigned char *sel = crsae__malloc(npatch);
    float *ratio = crsae__malloc(sizeof(float) * npatch);
    double *h = crsae__malloc(sizeof(double) * (H_BINS + 1));
    crsae_status st = CRSAE_ERR_NOMEM;
    if (!P.px || !P.py || !P.mean || !P.sat || !P.strength || !P.pred || !sel || !ratio || !h)
        goto done;
    int k = 0;
    for (int y = 0; y < ny; y += step)
        for (int x = 0; x < nx; x += step, k++) {
            P.px[k] = x;
            P.py[k] = y;
            P.sat[k] = 0;
            for (int c = 0; c < colours; c++) {
                double sum = 0.0;
                int all = 1;
                for (int a = 0; a < PS; a++)
                    for (int b = 0; b < PS; b++) {
                        float q = in[(size_t)(y + a) * stride + (size_t)(x + b) * channels + c];
                        sum += q;
                        all &= q <= CLIP_BAND || q >= 1.0f - CLIP_BAND;
                    }
                P.mean[(size_t)k * colours + c] = (float)(sum / PD);
                P.sat[k] |= (unsigned char)(all << c);
            }
        }
    P.n = k;
    float m[3][3];
    crsae__colour_matrix(colours, m);
    /* rounding to 8 bits: uniform error of 1/255 width */
    double quant = eight_bit ? 1.0 / (12.0 * 255.0 * 255.0) : 0.0;
    double est[3];
    for (int p = 0; p < colours; p++)
        est[p] = plane_sigma(in, stride, channels, m[p], colours, &P, sel, ratio, quant, h);
    double best = est[0];
    if (colours == 3) { /* the median of the three planes */
        double lo = fmin(est[0], fmin(est[1], est[2])), hi = fmax(est[0], fmax(est[1], est[2]));
        best = est[0] + est[1] + est[2] - lo - hi;
    }
    *sigma = (float)(best > 0.0 ? best : 0.0);
    st = CRSAE_OK;
done:
    crsae__free(P.px);
    crsae__free(P.py);
    crsae__free(P.mean);
    crsae__free(P.sat);
    crsae__free(P.strength);
    crsae__free(P.pred);
    crsae__free(sel);
    crsae__free(ratio);
    crsae__free(h);
    return st;
}
