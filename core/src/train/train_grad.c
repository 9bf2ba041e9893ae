/* train_grad.c - reverse-mode differentiation of the unrolled encoder.
 *
 * Forward, for k = 1..T (w_0 = x_0 = 0, t_0 = 1):
 *   r_k = y - H w_{k-1},  z_k = w_{k-1} + (1/L) W_e^T r_k,  x_k = S_b(z_k),
 *   w_k = x_k + m_k (x_k - x_{k-1}),  m_k = (t_{k-1} - 1) / t_k.
 * Loss: 0.5 |target - W_d x_T|^2.
 * Backward, for k = T..1, with gx = dLoss/dx_k and gw = dLoss/dw_k:
 *   gx += (1 + m_k) gw;  (gx_{k-1} gets -m_k gw)
 *   gz = gx where |z_k| > b;  dbias_c -= sum gx sign(z_k) [|z_k| > b]
 *   q = W_e gz (an image);  dW_e += (1/L) r_k (x) gz;  dH -= (1/L) q (x) w_{k-1}
 *   gw_{k-1} = gz - (1/L) H^T q
 * where a (x) c is the filter-shaped correlation of an image with a code. */
#include "train/train_grad.h"
#include "base/alloc.h"
#include "model/model.h"

#include <math.h>
#include <string.h>

/* The training layout: code rows packed (ldv = nv), each plane the nu*nv
 * atoms rounded up to CRSAE_NR floats, so that every operator below is one
 * product over the whole domain with no padding per row (a 64-pixel patch
 * at stride 5 has 13 atoms per row: 16 lanes per row would waste 19 %). */
void crsae__geom_init_train(crsae__geom *g, int C, int K, int s, int nu, int nv)
{
    crsae__geom_init(g, C, K, s, nu, nv);
    g->ldv = nv;
    g->plane = ((size_t)nu * (size_t)nv + CRSAE_NR - 1) / CRSAE_NR * CRSAE_NR;
    g->rowp = (size_t)nv;
    g->code = (size_t)C * g->plane;
}

static size_t kk_of(const crsae__geom *g)
{
    return (size_t)g->K * (size_t)g->K;
}

/* Columns of a transposed code: C rounded up to the GEMM's CRSAE_NR. */
static int c_n(const crsae__geom *g)
{
    return (g->C + CRSAE_NR - 1) / CRSAE_NR * CRSAE_NR;
}

/* A patch matrix: the K*K pixels under every atom of the domain, row a*K+b
 * holding pixel (u s + a, v s + b) at column u nv + v; KK x plane floats,
 * the padding columns zero.  Each iteration's residual is kept as
 * one (its analysis and its filter gradient both read it), and so is the
 * backward pass's image q. */
static size_t patches_floats(const crsae__geom *g, size_t *n)
{
    return crsae__mul(kk_of(g), g->plane, n);
}

/* Images inside the tape are phased, as the encoder keeps its residuals
 * (kernels.h): pixel (r, c) at r rowf + (c mod s) lp + c / s, so that the
 * pixels of consecutive atoms of a row, (u s + a, v s + b) for v = 0, 1,
 * ..., are contiguous and im2col and col2im below are plain vector copies
 * and adds instead of stride-s gathers and scatters. */
static size_t phased_floats(const crsae__geom *g, size_t *n)
{
    size_t rowf;
    return crsae__mul((size_t)g->s, (size_t)crsae__phase_len(g), &rowf) &&
           crsae__mul(rowf, (size_t)g->hd, n);
}

static size_t layout(const crsae__geom *g, int T, crsae__tape *t, float *block)
{
    size_t code, img, pimg, pm, prod, bt, acc, code_t, pm_t;
    const size_t kk = kk_of(g);
    if (!crsae__mul((size_t)g->C, g->plane, &code) || !crsae__mul((size_t)g->hd, g->ldi, &img) ||
        !phased_floats(g, &pimg) || !patches_floats(g, &pm) ||
        !crsae__mul(kk, g->plane, &prod) || !crsae__mul(g->plane, (size_t)c_n(g), &bt) ||
        !crsae__mul3(3, kk, (size_t)c_n(g), &acc) ||
        !crsae__mul(code, (size_t)T, &code_t) || !crsae__mul(pm, (size_t)T, &pm_t))
        return 0;
    crsae__tape dummy;
    crsae__tape *d = t ? t : &dummy;
    crsae__carver cv = {(char *)block, 0, 1};
    d->w_prev = crsae__carve(&cv, code_t, sizeof(float));
    d->z = crsae__carve(&cv, code_t, sizeof(float));
    d->rp = crsae__carve(&cv, pm_t, sizeof(float));
    d->gx = crsae__carve(&cv, code, sizeof(float));
    d->gw = crsae__carve(&cv, code, sizeof(float));
    d->gz = crsae__carve(&cv, code, sizeof(float));
    d->carry = crsae__carve(&cv, code, sizeof(float));
    d->img = crsae__carve(&cv, img, sizeof(float));
    d->py = crsae__carve(&cv, pimg, sizeof(float));
    d->pw = crsae__carve(&cv, pimg, sizeof(float));
    d->prod = crsae__carve(&cv, prod, sizeof(float));
    d->qp = crsae__carve(&cv, pm, sizeof(float));
    d->bt = crsae__carve(&cv, bt, sizeof(float));
    d->acc = crsae__carve(&cv, acc, sizeof(float));
    return cv.ok ? cv.used / sizeof(float) : 0;
}

size_t crsae__tape_floats(const crsae__geom *g, int T)
{
    return layout(g, T, NULL, NULL);
}

void crsae__tape_init(crsae__tape *t, const crsae__geom *g, int T, float *block)
{
    layout(g, T, t, block);
}

/* The first pixel of atom (u, 0)'s offset (a, b) in a phased image. */
static size_t phased_at(const crsae__geom *g, int u, int a, int b)
{
    const size_t lp = (size_t)crsae__phase_len(g);
    return (size_t)(u * g->s + a) * g->s * lp + (size_t)(b % g->s) * lp + (size_t)(b / g->s);
}

/* R = the patch matrix of the phased image pimg. */
CRSAE_CLONES static void patches(const crsae__geom *g, const float *pimg, float *R)
{
    const int K = g->K, nu = g->nu, nv = g->nv;
    const size_t N = g->plane, used = (size_t)nu * (size_t)nv;
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            float *r = R + (size_t)(a * K + b) * N;
            for (int u = 0; u < nu; u++) {
                const float *restrict src = pimg + phased_at(g, u, a, b);
                float *restrict dst = r + (size_t)u * nv;
                for (int v = 0; v < nv; v++)
                    dst[v] = src[v];
            }
            for (size_t i = used; i < N; i++)
                r[i] = 0.0f;
        }
}

/* pimg += sign * (bank synthesis of code): one product (KK x C) (C x
 * plane) gives every atom's patch, added onto the phased image (col2im). */
CRSAE_CLONES static void synth(const crsae__geom *g, const crsae__pack *p, const float *code,
                               float sign, float *pimg, float *prod)
{
    const int K = g->K, nu = g->nu, nv = g->nv;
    const size_t N = g->plane;
    crsae__gemm(p->KK, (int)N, p->C, p->syn, (size_t)p->C, code, N, prod, N);
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            const float *pr = prod + (size_t)(a * K + b) * N;
            for (int u = 0; u < nu; u++) {
                float *restrict dst = pimg + phased_at(g, u, a, b);
                const float *restrict src = pr + (size_t)u * nv;
                for (int v = 0; v < nv; v++)
                    dst[v] += sign * src[v];
            }
        }
}

/* code = bank analysis of the image whose patch matrix is R. */
static void analyse(const crsae__geom *g, const crsae__pack *p, const float *R, float *code)
{
    const size_t N = g->plane;
    crsae__gemm(g->C, (int)N, p->KK, p->ana, (size_t)p->KK, R, N, code, N);
}

/* acc[a K + b][c] += sum_{u,v} code[c][u][v] img[u s + a][v s + b]: img's
 * patch matrix R (KK x plane) times the codes transposed (plane x Cn,
 * built in bt, its columns C..Cn-1 zero), one product added to acc (KK x
 * Cn).  The filter sums stay in that layout for the whole backward pass
 * (add_filter_sums). */
static void filter_grad(const crsae__geom *g, const float *R, const float *code, float *bt,
                        float *acc)
{
    const int Cn = c_n(g);
    const size_t N = g->plane;
    crsae__transpose(g->C, (int)N, code, N, bt, (size_t)Cn);
    crsae__gemm_acc((int)kk_of(g), Cn, (int)N, R, N, bt, (size_t)Cn, acc, (size_t)Cn);
}

/* dbank[c][k] += scale * acc[k][c]. */
static void add_filter_sums(const crsae__geom *g, const float *acc, float scale, float *dbank)
{
    const int KK = g->K * g->K, C = g->C, Cn = c_n(g);
    for (int c = 0; c < C; c++)
        for (int k = 0; k < KK; k++)
            dbank[(size_t)c * KK + k] += scale * acc[(size_t)k * Cn + c];
}

/* z = w_{k-1} + step z (z holds the analysis on entry); x_k = S_b(z);
 * w_k = x_k + m (x_k - x_{k-1}).  n floats of one code plane. */
CRSAE_CLONES static void forward_update(size_t n, float step, float b, float m,
                                        const float *restrict wp, float *restrict z,
                                        float *restrict x, float *restrict w)
{
    for (size_t i = 0; i < n; i++) {
        z[i] = wp[i] + step * z[i];
        float xn = crsae__soft_threshold(z[i], b);
        w[i] = xn + m * (xn - x[i]);
        x[i] = xn;
    }
}

/* Through the momentum and the threshold of one plane (n a multiple of
 * LANES): gz = (gx + (1+m) gw) [|z| > b], carry = -m gw; returns the
 * threshold's gradient -sum gz sign(z), summed in LANES fixed partial sums
 * so that it vectorises and stays deterministic. */
#define LANES 16
_Static_assert(CRSAE_NR % LANES == 0, "a code plane is a multiple of LANES floats");
CRSAE_CLONES static float threshold_backward(size_t n, float m, float b, const float *restrict z,
                                             const float *restrict gw, const float *restrict gx,
                                             float *restrict gz, float *restrict carry)
{
    float part[LANES] = {0};
    for (size_t i0 = 0; i0 < n; i0 += LANES)
        for (int l = 0; l < LANES; l++) {
            const size_t i = i0 + (size_t)l;
            const float zi = z[i], gxi = gx[i] + (1.0f + m) * gw[i];
            carry[i] = -m * gw[i];
            /* products, not selects: gcc leaves a select of gxi a branch */
            const float g = gxi * (float)(fabsf(zi) > b);
            gz[i] = g;
            part[l] -= g * (zi > 0.0f ? 1.0f : -1.0f);
        }
    double sum = 0.0;
    for (int l = 0; l < LANES; l++)
        sum += part[l];
    return (float)sum;
}

/* gw = gz - step gw (gradient w.r.t. w_{k-1}); gx = carry (w.r.t. x_{k-1}). */
CRSAE_CLONES static void step_back(size_t n, float step, const float *restrict gz,
                                   const float *restrict carry, float *restrict gw,
                                   float *restrict gx)
{
    for (size_t i = 0; i < n; i++) {
        gw[i] = gz[i] - step * gw[i];
        gx[i] = carry[i];
    }
}

void crsae__forward(const crsae__geom *g, const crsae__encoder *e, const float *y,
                    crsae__tape *t)
{
    const size_t code = (size_t)g->C * g->plane, pm = kk_of(g) * g->plane;
    const size_t pimg = (size_t)g->hd * g->s * crsae__phase_len(g); /* checked by the tape's size */
    const int T = e->iterations;
    const float step = e->inv_lipschitz;
    float *x = t->gx, *w = t->gw; /* forward state, reused as gradients later */
    memset(x, 0, code * sizeof(float));
    memset(w, 0, code * sizeof(float));
    crsae__phase(g, y, t->py);
    double tk = 1.0;
    for (int k = 0; k < T; k++) {
        float *wp = t->w_prev + code * (size_t)k, *z = t->z + code * (size_t)k;
        float *rp = t->rp + pm * (size_t)k;
        memcpy(wp, w, code * sizeof(float));
        if (k > 0) { /* r = y - H w; w_0 = 0 */
            memcpy(t->pw, t->py, pimg * sizeof(float));
            synth(g, e->dec, w, -1.0f, t->pw, t->prod);
        }
        patches(g, k > 0 ? t->pw : t->py, rp);
        analyse(g, e->enc, rp, z);
        double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk));
        float m = (float)((tk - 1.0) / tn);
        tk = tn;
        for (int c = 0; c < g->C; c++) {
            const size_t o = (size_t)c * g->plane;
            forward_update(g->plane, step, e->bias[c], m, wp + o, z + o, x + o, w + o);
        }
    }
    memset(t->pw, 0, pimg * sizeof(float));
    synth(g, e->out, x, 1.0f, t->pw, t->prod); /* the reconstruction W_d x_T */
    crsae__unphase(g, t->pw, t->img);
}

void crsae__backward(const crsae__geom *g, const crsae__encoder *e, crsae__tape *t,
                     crsae__grads *grads)
{
    const size_t code = (size_t)g->C * g->plane, pm = kk_of(g) * g->plane;
    const size_t sums = kk_of(g) * (size_t)c_n(g);
    const size_t pimg = (size_t)g->hd * g->s * crsae__phase_len(g);
    const int T = e->iterations;
    const float step = e->inv_lipschitz;
    const float *x = t->gx; /* x_T, left there by crsae__forward */
    float *acc_d = t->acc, *acc_e = acc_d + sums, *acc_h = acc_e + sums;
    memset(t->acc, 0, 3 * sums * sizeof(float));
    if (g->C < c_n(g)) /* the transposed codes' padding columns */
        for (size_t i = 0; i < g->plane; i++)
            memset(t->bt + i * (size_t)c_n(g) + g->C, 0,
                   (size_t)(c_n(g) - g->C) * sizeof(float));
    crsae__phase(g, t->img, t->pw);
    patches(g, t->pw, t->qp);
    filter_grad(g, t->qp, x, t->bt, acc_d);
    float *gx = t->gx, *gw = t->gw, *gz = t->gz, *carry = t->carry;
    analyse(g, e->out, t->qp, gx); /* gx = W_d^T e (overwrites x_T) */
    memset(gw, 0, code * sizeof(float));
    /* momentum factors again, forwards, to walk them backwards */
    double ts[CRSAE_MAX_ITERATIONS + 1];
    ts[0] = 1.0;
    for (int k = 1; k <= T; k++)
        ts[k] = 0.5 * (1.0 + sqrt(1.0 + 4.0 * ts[k - 1] * ts[k - 1]));
    for (int k = T - 1; k >= 0; k--) {
        const float m = (float)((ts[k] - 1.0) / ts[k + 1]);
        const float *wp = t->w_prev + code * (size_t)k, *z = t->z + code * (size_t)k;
        const float *rp = t->rp + pm * (size_t)k;
        for (int c = 0; c < g->C; c++) {
            const size_t o = (size_t)c * g->plane;
            grads->dbias[c] += threshold_backward(g->plane, m, e->bias[c], z + o, gw + o,
                                                  gx + o, gz + o, carry + o);
        }
        filter_grad(g, rp, gz, t->bt, acc_e);
        if (k == 0) { /* w_0 = 0: no gradient reaches H or w_0 */
            step_back(code, step, gz, carry, gw, gx);
            break;
        }
        memset(t->pw, 0, pimg * sizeof(float));
        synth(g, e->enc, gz, 1.0f, t->pw, t->prod); /* q = W_e gz */
        patches(g, t->pw, t->qp);
        filter_grad(g, t->qp, wp, t->bt, acc_h);
        analyse(g, e->dec, t->qp, gw); /* gw = H^T q */
        step_back(code, step, gz, carry, gw, gx);
    }
    add_filter_sums(g, acc_d, 1.0f, grads->dWd);
    add_filter_sums(g, acc_e, step, grads->dWe);
    add_filter_sums(g, acc_h, -step, grads->dH);
}

double crsae__loss_grad(const crsae__geom *g, const crsae__encoder *e, const float *y,
                        const float *target, int border, crsae__tape *t, crsae__grads *grads)
{
    crsae__forward(g, e, y, t);
    double loss = 0.0;
    for (int r0 = 0; r0 < g->hd; r0++)
        for (int c0 = 0; c0 < g->wd; c0++) {
            size_t i = (size_t)r0 * g->ldi + c0;
            int inside = r0 >= border && r0 < g->hd - border && c0 >= border && c0 < g->wd - border;
            float d = inside ? t->img[i] - target[i] : 0.0f;
            t->img[i] = d;
            loss += 0.5 * (double)d * d;
        }
    crsae__backward(g, e, t, grads);
    return loss;
}
