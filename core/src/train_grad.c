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

static size_t c_pad(const crsae__geom *g)
{
    const size_t mr = (size_t)crsae__gemm_rows();
    return ((size_t)g->C + mr - 1) / mr * mr;
}

static size_t kk_pad(const crsae__geom *g)
{
    const size_t mr = (size_t)crsae__gemm_rows();
    return ((size_t)(g->K * g->K) + mr - 1) / mr * mr;
}

/* A patch matrix: the K*K pixels under every atom of the domain, row a*K+b
 * holding pixel (u s + a, v s + b) at column u nv + v; KKp x plane floats,
 * the padding rows and columns zero.  Each iteration's residual is kept as
 * one (its analysis and its filter gradient both read it), and so is the
 * backward pass's image q. */
static size_t patches_floats(const crsae__geom *g, size_t *n)
{
    return crsae__mul(kk_pad(g), g->plane, n);
}

/* Scratch floats of synth, analyse and filter_grad: a product (max(Cp,
 * KKp) x plane), the patch matrix of q, a code transposed (plane x Cn) and
 * the filter sums (KKp x Cn); 0 on overflow. */
static size_t scratch_floats(const crsae__geom *g)
{
    size_t kkp = kk_pad(g), cp = c_pad(g);
    size_t cn = (size_t)(g->C + CRSAE_NR - 1) / CRSAE_NR * CRSAE_NR;
    size_t prod, pm, bt, acc;
    if (!crsae__mul(kkp > cp ? kkp : cp, g->plane, &prod) || !patches_floats(g, &pm) ||
        !crsae__mul(g->plane, cn, &bt) || !crsae__mul(kkp, cn, &acc) ||
        prod > SIZE_MAX - pm || prod + pm > SIZE_MAX - bt || prod + pm + bt > SIZE_MAX - acc)
        return 0;
    return prod + pm + bt + acc;
}

size_t crsae__tape_floats(const crsae__geom *g, int T)
{
    size_t code, img, pm, total;
    if (!crsae__mul((size_t)g->C, g->plane, &code) || !crsae__mul((size_t)g->hd, g->ldi, &img) ||
        !patches_floats(g, &pm) || pm > SIZE_MAX / 2 || code > (SIZE_MAX - pm) / 2)
        return 0;
    size_t per_iter = 2 * code + pm;
    if (!crsae__mul(per_iter, (size_t)T, &total))
        return 0;
    size_t sc = scratch_floats(g);
    if (!sc || code > SIZE_MAX / 8 || img > SIZE_MAX / 4 || 4 * code > SIZE_MAX - 2 * img ||
        4 * code + 2 * img > SIZE_MAX - sc)
        return 0;
    size_t rest = 4 * code + 2 * img + sc;
    if (total > SIZE_MAX - rest)
        return 0;
    return total + rest;
}

void crsae__tape_init(crsae__tape *t, const crsae__geom *g, int T, float *block)
{
    size_t code = (size_t)g->C * g->plane, img = (size_t)g->hd * g->ldi;
    size_t pm = kk_pad(g) * g->plane;
    size_t cp = c_pad(g);
    size_t cn = (size_t)(g->C + CRSAE_NR - 1) / CRSAE_NR * CRSAE_NR;
    size_t prod = (kk_pad(g) > cp ? kk_pad(g) : cp) * g->plane;
    t->w_prev = block;
    t->z = t->w_prev + code * (size_t)T;
    t->rp = t->z + code * (size_t)T;
    t->gx = t->rp + pm * (size_t)T;
    t->gw = t->gx + code;
    t->gz = t->gw + code;
    t->carry = t->gz + code;
    t->img = t->carry + code;
    t->img2 = t->img + img;
    t->prod = t->img2 + img;
    t->qp = t->prod + prod;
    t->bt = t->qp + pm;
    t->acc = t->bt + g->plane * cn;
}

/* R = the patch matrix of img. */
CRSAE_CLONES static void patches(const crsae__geom *g, const float *img, float *R)
{
    const int K = g->K, s = g->s, nu = g->nu, nv = g->nv, KK = K * K;
    const size_t N = g->plane, used = (size_t)nu * (size_t)nv;
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
    memset(R + (size_t)KK * N, 0, (kk_pad(g) - (size_t)KK) * N * sizeof(float));
}

/* img += sign * (bank synthesis of code): one product (KKp x C) (C x plane)
 * gives every atom's patch, scattered onto the image (col2im). */
CRSAE_CLONES static void synth(const crsae__geom *g, const crsae__pack *p, const float *code,
                               float sign, float *img, float *prod)
{
    const int K = g->K, s = g->s, nu = g->nu, nv = g->nv;
    const size_t N = g->plane;
    crsae__gemm(p->KKp, (int)N, p->C, p->syn, (size_t)p->C, code, N, prod, N);
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            const float *pr = prod + (size_t)(a * K + b) * N;
            for (int u = 0; u < nu; u++) {
                float *dst = img + (size_t)(u * s + a) * g->ldi + b;
                const float *src = pr + (size_t)u * nv;
                for (int v = 0; v < nv; v++)
                    dst[(size_t)v * s] += sign * src[v];
            }
        }
}

/* code = bank analysis of the image whose patch matrix is R. */
static void analyse(const crsae__geom *g, const crsae__pack *p, const float *R, float *code,
                    float *prod)
{
    const size_t N = g->plane;
    if (p->Cp == g->C) {
        crsae__gemm(p->Cp, (int)N, p->KK, p->ana, (size_t)p->KK, R, N, code, N);
        return;
    }
    crsae__gemm(p->Cp, (int)N, p->KK, p->ana, (size_t)p->KK, R, N, prod, N);
    memcpy(code, prod, (size_t)g->C * N * sizeof(float));
}

/* dbank[c][a][b] += scale * sum_{u,v} code[c][u][v] img[u s + a][v s + b]:
 * img's patch matrix R (KKp x plane) times the codes transposed (plane x
 * Cn, built in bt), one product into acc (KKp x Cn). */
CRSAE_CLONES static void filter_grad(const crsae__geom *g, const float *R, const float *code,
                                     float scale, float *dbank, float *bt, float *acc)
{
    const int KK = g->K * g->K, C = g->C;
    const int Cn = (C + CRSAE_NR - 1) / CRSAE_NR * CRSAE_NR;
    const size_t N = g->plane;
    for (size_t i = 0; i < N; i++) {
        float *row = bt + i * (size_t)Cn;
        for (int c = 0; c < C; c++)
            row[c] = code[(size_t)c * N + i];
        for (int c = C; c < Cn; c++)
            row[c] = 0.0f;
    }
    crsae__gemm((int)kk_pad(g), Cn, (int)N, R, N, bt, (size_t)Cn, acc, (size_t)Cn);
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
    const size_t code = (size_t)g->C * g->plane, img = (size_t)g->hd * g->ldi;
    const size_t pm = kk_pad(g) * g->plane;
    const int T = e->iterations;
    const float step = e->inv_lipschitz;
    float *x = t->gx, *w = t->gw; /* forward state, reused as gradients later */
    float *r = t->img2;
    memset(x, 0, code * sizeof(float));
    memset(w, 0, code * sizeof(float));
    double tk = 1.0;
    for (int k = 0; k < T; k++) {
        float *wp = t->w_prev + code * (size_t)k, *z = t->z + code * (size_t)k;
        float *rp = t->rp + pm * (size_t)k;
        memcpy(wp, w, code * sizeof(float));
        memcpy(r, y, img * sizeof(float));
        if (k > 0) /* w_0 = 0 */
            synth(g, e->dec, w, -1.0f, r, t->prod);
        patches(g, r, rp);
        analyse(g, e->enc, rp, z, t->prod);
        double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk));
        float m = (float)((tk - 1.0) / tn);
        tk = tn;
        for (int c = 0; c < g->C; c++) {
            const size_t o = (size_t)c * g->plane;
            forward_update(g->plane, step, e->bias[c], m, wp + o, z + o, x + o, w + o);
        }
    }
    memset(t->img, 0, img * sizeof(float));
    synth(g, e->out, x, 1.0f, t->img, t->prod); /* the reconstruction W_d x_T */
}

void crsae__backward(const crsae__geom *g, const crsae__encoder *e, crsae__tape *t,
                     crsae__grads *grads)
{
    const size_t code = (size_t)g->C * g->plane, img = (size_t)g->hd * g->ldi;
    const size_t pm = kk_pad(g) * g->plane;
    const int T = e->iterations;
    const float step = e->inv_lipschitz;
    const float *x = t->gx; /* x_T, left there by crsae__forward */
    patches(g, t->img, t->qp);
    filter_grad(g, t->qp, x, 1.0f, grads->dWd, t->bt, t->acc);
    float *gx = t->gx, *gw = t->gw, *gz = t->gz, *carry = t->carry;
    analyse(g, e->out, t->qp, gx, t->prod); /* gx = W_d^T e (overwrites x_T) */
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
        filter_grad(g, rp, gz, step, grads->dWe, t->bt, t->acc);
        if (k == 0) { /* w_0 = 0: no gradient reaches H or w_0 */
            step_back(code, step, gz, carry, gw, gx);
            break;
        }
        memset(t->img, 0, img * sizeof(float));
        synth(g, e->enc, gz, 1.0f, t->img, t->prod); /* q = W_e gz */
        patches(g, t->img, t->qp);
        filter_grad(g, t->qp, wp, -step, grads->dH, t->bt, t->acc);
        analyse(g, e->dec, t->qp, gw, t->prod); /* gw = H^T q */
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
