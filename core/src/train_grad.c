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
#include "train_grad.h"
#include "internal.h"

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
}

/* Scratch floats of analyse and synth: a patch matrix (KKp x plane) and a
 * product (max(Cp, KKp) x plane); 0 on overflow. */
static size_t domain_scratch(const crsae__geom *g)
{
    size_t kkp = (size_t)(g->K * g->K + CRSAE_MR - 1) / CRSAE_MR * CRSAE_MR;
    size_t cp = (size_t)(g->C + CRSAE_MR - 1) / CRSAE_MR * CRSAE_MR, n;
    if (!crsae__mul(kkp + (kkp > cp ? kkp : cp), g->plane, &n))
        return 0;
    return n;
}

/* Scratch floats of filter_grad: the patch matrix of the domain (K*K x
 * nu*nv), its codes transposed (nu*nv x C, columns padded to CRSAE_NR) and
 * the sums; 0 on overflow. */
static size_t fg_floats(const crsae__geom *g)
{
    size_t kkp = (size_t)(g->K * g->K + CRSAE_MR - 1) / CRSAE_MR * CRSAE_MR;
    size_t cn = (size_t)(g->C + CRSAE_NR - 1) / CRSAE_NR * CRSAE_NR;
    size_t n = (size_t)g->nu * (size_t)g->nv, a, b, c;
    if (!crsae__mul(kkp, n, &a) || !crsae__mul(n, cn, &b) || !crsae__mul(kkp, cn, &c) ||
        a > SIZE_MAX - b || a + b > SIZE_MAX - c)
        return 0;
    return a + b + c;
}

size_t crsae__tape_floats(const crsae__geom *g, int T)
{
    size_t code, img, total;
    if (!crsae__mul((size_t)g->C, g->plane, &code) || !crsae__mul((size_t)g->hd, g->ldi, &img))
        return 0;
    size_t per_iter = 2 * code + img;
    if (!crsae__mul(per_iter, (size_t)T, &total))
        return 0;
    size_t fg = fg_floats(g);
    if (!fg)
        return 0;
    size_t ds = domain_scratch(g);
    if (!ds)
        return 0;
    size_t rest = 4 * code + 2 * img + fg + ds;
    if (total > SIZE_MAX - rest)
        return 0;
    return total + rest;
}

void crsae__tape_init(crsae__tape *t, const crsae__geom *g, int T, float *block)
{
    size_t code = (size_t)g->C * g->plane, img = (size_t)g->hd * g->ldi;
    t->w_prev = block;
    t->z = t->w_prev + code * (size_t)T;
    t->r = t->z + code * (size_t)T;
    t->gx = t->r + img * (size_t)T;
    t->gw = t->gx + code;
    t->gz = t->gw + code;
    t->carry = t->gz + code;
    t->img = t->carry + code;
    t->img2 = t->img + img;
    t->fg = t->img2 + img;
    t->row = t->fg + fg_floats(g);
}

/* dbank[c][a][b] += scale * sum_{u,v} code[c][u][v] img[u s + a][v s + b]:
 * the domain's patch matrix (K*K x nu*nv) times its codes transposed
 * (nu*nv x C), one product by the GEMM kernel.  scratch: fg_floats(g). */
CRSAE_CLONES static void filter_grad(const crsae__geom *g, const float *img, const float *code,
                                     float scale, float *dbank, float *scratch)
{
    const int K = g->K, s = g->s, KK = K * K, C = g->C, nu = g->nu, nv = g->nv;
    const int KKp = (KK + CRSAE_MR - 1) / CRSAE_MR * CRSAE_MR;
    const int Cn = (C + CRSAE_NR - 1) / CRSAE_NR * CRSAE_NR;
    const size_t N = (size_t)nu * (size_t)nv;
    float *R = scratch, *Bt = R + (size_t)KKp * N, *acc = Bt + N * (size_t)Cn;
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            float *r = R + (size_t)(a * K + b) * N;
            for (int u = 0; u < nu; u++) {
                const float *src = img + (size_t)(u * s + a) * g->ldi + b;
                for (int v = 0; v < nv; v++)
                    r[(size_t)u * nv + v] = src[(size_t)v * s];
            }
        }
    memset(R + (size_t)KK * N, 0, (size_t)(KKp - KK) * N * sizeof(float));
    for (size_t i = 0; i < N; i++)
        for (int c = C; c < Cn; c++)
            Bt[i * Cn + c] = 0.0f;
    for (int c = 0; c < C; c++)
        for (int u = 0; u < nu; u++) {
            const float *cr = code + (size_t)c * g->plane + (size_t)u * g->ldv;
            float *bt = Bt + (size_t)u * nv * Cn + c;
            for (int v = 0; v < nv; v++)
                bt[(size_t)v * Cn] = cr[v];
        }
    crsae__gemm(KKp, Cn, (int)N, R, N, Bt, (size_t)Cn, acc, (size_t)Cn);
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
            const float gxi = gx[i] + (1.0f + m) * gw[i];
            carry[i] = -m * gw[i];
            const float g = fabsf(z[i]) > b ? gxi : 0.0f;
            gz[i] = g;
            part[l] -= z[i] > 0.0f ? g : -g;
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

/* img += sign * (bank synthesis of code): one product (KKp x C) (C x plane)
 * gives every atom's patch, scattered onto the image (col2im). */
CRSAE_CLONES static void synth(const crsae__geom *g, const crsae__pack *p, const float *code,
                               float sign, float *img, float *scratch)
{
    const int K = g->K, s = g->s, nu = g->nu, nv = g->nv;
    const size_t N = g->plane;
    float *P = scratch;
    crsae__gemm(p->KKp, (int)N, p->C, p->syn, (size_t)p->C, code, N, P, N);
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            const float *pr = P + (size_t)(a * K + b) * N;
            for (int u = 0; u < nu; u++) {
                float *dst = img + (size_t)(u * s + a) * g->ldi + b;
                const float *src = pr + (size_t)u * nv;
                for (int v = 0; v < nv; v++)
                    dst[(size_t)v * s] += sign * src[v];
            }
        }
}

/* code = bank analysis of img: the domain's patch matrix (im2col, KK x
 * plane, padding columns zero) times the C x KK bank. */
CRSAE_CLONES static void analyse(const crsae__geom *g, const crsae__pack *p, const float *img,
                                 float *code, float *scratch)
{
    const int K = g->K, s = g->s, nu = g->nu, nv = g->nv;
    const size_t N = g->plane, used = (size_t)nu * (size_t)nv;
    float *R = scratch;
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            float *r = R + (size_t)(a * K + b) * N;
            for (int u = 0; u < nu; u++) {
                const float *src = img + (size_t)(u * s + a) * g->ldi + b;
                float *dst = r + (size_t)u * nv;
                for (int v = 0; v < nv; v++)
                    dst[v] = src[(size_t)v * s];
            }
            for (size_t i = used; i < N; i++)
                r[i] = 0.0f;
        }
    if (p->Cp == g->C) {
        crsae__gemm(p->Cp, (int)N, p->KK, p->ana, (size_t)p->KK, R, N, code, N);
        return;
    }
    float *G = R + (size_t)p->KKp * N;
    crsae__gemm(p->Cp, (int)N, p->KK, p->ana, (size_t)p->KK, R, N, G, N);
    memcpy(code, G, (size_t)g->C * N * sizeof(float));
}

void crsae__forward(const crsae__geom *g, const crsae__encoder *e, const float *y,
                    crsae__tape *t)
{
    const size_t code = (size_t)g->C * g->plane, img = (size_t)g->hd * g->ldi;
    const int T = e->iterations;
    const float step = e->inv_lipschitz;
    float *x = t->gx, *w = t->gw; /* forward state, reused as gradients later */
    memset(x, 0, code * sizeof(float));
    memset(w, 0, code * sizeof(float));
    double tk = 1.0;
    for (int k = 0; k < T; k++) {
        float *wp = t->w_prev + code * (size_t)k, *z = t->z + code * (size_t)k;
        float *r = t->r + img * (size_t)k;
        memcpy(wp, w, code * sizeof(float));
        memcpy(r, y, img * sizeof(float));
        synth(g, e->dec, w, -1.0f, r, t->row);
        analyse(g, e->enc, r, z, t->row);
        double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk));
        float m = (float)((tk - 1.0) / tn);
        tk = tn;
        for (int c = 0; c < g->C; c++) {
            const size_t o = (size_t)c * g->plane;
            forward_update(g->plane, step, e->bias[c], m, wp + o, z + o, x + o, w + o);
        }
    }
    memset(t->img, 0, img * sizeof(float));
    synth(g, e->out, x, 1.0f, t->img, t->row); /* the reconstruction W_d x_T */
}

void crsae__backward(const crsae__geom *g, const crsae__encoder *e, crsae__tape *t,
                     crsae__grads *grads)
{
    const size_t code = (size_t)g->C * g->plane, img = (size_t)g->hd * g->ldi;
    const int T = e->iterations;
    const float step = e->inv_lipschitz;
    const float *x = t->gx; /* x_T, left there by crsae__forward */
    filter_grad(g, t->img, x, 1.0f, grads->dWd, t->fg);
    float *gx = t->gx, *gw = t->gw, *gz = t->gz, *carry = t->carry;
    analyse(g, e->out, t->img, gx, t->row); /* gx = W_d^T e (overwrites x_T) */
    memset(gw, 0, code * sizeof(float));
    /* momentum factors again, forwards, to walk them backwards */
    double ts[CRSAE_MAX_ITERATIONS + 1];
    ts[0] = 1.0;
    for (int k = 1; k <= T; k++)
        ts[k] = 0.5 * (1.0 + sqrt(1.0 + 4.0 * ts[k - 1] * ts[k - 1]));
    for (int k = T - 1; k >= 0; k--) {
        const float m = (float)((ts[k] - 1.0) / ts[k + 1]);
        const float *wp = t->w_prev + code * (size_t)k, *z = t->z + code * (size_t)k;
        const float *r = t->r + img * (size_t)k;
        for (int c = 0; c < g->C; c++) {
            const size_t o = (size_t)c * g->plane;
            grads->dbias[c] += threshold_backward(g->plane, m, e->bias[c], z + o, gw + o,
                                                  gx + o, gz + o, carry + o);
        }
        memset(t->img, 0, img * sizeof(float));
        synth(g, e->enc, gz, 1.0f, t->img, t->row); /* q = W_e gz */
        filter_grad(g, r, gz, step, grads->dWe, t->fg);
        filter_grad(g, t->img, wp, -step, grads->dH, t->fg);
        analyse(g, e->dec, t->img, gw, t->row); /* gw = H^T q */
        step_back(code, step, gz, carry, gw, gx);
    }
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
