/* encoder.c - FISTA with the two-sided soft threshold (the CRsAE encoder):
 *   x_k = S_b(w + (1/L) W_e^T (y - H w)),  t_k = (1 + sqrt(1 + 4 t^2)) / 2,
 *   w_k = x_k + ((t_{k-1} - 1) / t_k) (x_k - x_{k-1}),  output W_d x_T. */
#include "encoder.h"
#include "internal.h"

#include <math.h>
#include <string.h>

void crsae__geom_init(crsae__geom *g, int C, int K, int s, int nu, int nv)
{
    g->C = C;
    g->K = K;
    g->s = s;
    g->nu = nu;
    g->nv = nv;
    g->ldv = (nv + CRSAE_NR - 1) / CRSAE_NR * CRSAE_NR;
    g->hd = (nu - 1) * s + K;
    g->wd = (nv - 1) * s + K;
    g->ldi = (size_t)g->wd;
    g->plane = (size_t)nu * (size_t)g->ldv;
}

/* One FISTA update of code row u from its analysis G. */
CRSAE_CLONES static void update_row(const crsae__geom *g, const crsae__encoder *e, const float *G, int u,
                       float momentum, float *x, float *w)
{
    const int ldv = g->ldv;
    const float step = e->inv_lipschitz;
    for (int c = 0; c < g->C; c++) {
        const float b = e->bias[c];
        const float *gr = G + (size_t)c * ldv;
        float *xr = x + (size_t)c * g->plane + (size_t)u * ldv;
        float *wr = w + (size_t)c * g->plane + (size_t)u * ldv;
        for (int v = 0; v < ldv; v++) {
            float xn = crsae__soft_threshold(wr[v] + step * gr[v], b);
            wr[v] = xn + momentum * (xn - xr[v]);
            xr[v] = xn;
        }
    }
}

int crsae__fista_code(const crsae__geom *g, const crsae__encoder *e, const float *y,
                      const crsae__fista_buf *buf, const atomic_int *cancel, atomic_long *done)
{
    const size_t code = (size_t)g->C * g->plane;
    const size_t img = (size_t)g->hd * g->ldi;
    memset(buf->x, 0, code * sizeof(float));
    memset(buf->w, 0, code * sizeof(float));
    double t = 1.0;
    for (int k = 0; k < e->iterations; k++) {
        if (cancel && atomic_load_explicit(cancel, memory_order_relaxed))
            return 1;
        memcpy(buf->r, y, img * sizeof(float));
        if (k > 0) /* w_0 = 0: the first residual is y itself */
            for (int u = 0; u < g->nu; u++)
                crsae__synthesis_row(g, e->dec, buf->w, u, -1.0f, buf->r, buf->row);
        double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
        float momentum = (float)((t - 1.0) / tn);
        t = tn;
        for (int u = 0; u < g->nu; u++) {
            const float *G = crsae__analysis_row(g, e->enc, buf->r, u, buf->row);
            update_row(g, e, G, u, momentum, buf->x, buf->w);
        }
        if (done)
            atomic_fetch_add_explicit(done, 1, memory_order_relaxed);
    }
    return 0;
}

int crsae__fista(const crsae__geom *g, const crsae__encoder *e, const float *y, float *recon,
                 const crsae__fista_buf *buf, const atomic_int *cancel, atomic_long *done)
{
    if (crsae__fista_code(g, e, y, buf, cancel, done))
        return 1;
    memset(recon, 0, (size_t)g->hd * g->ldi * sizeof(float));
    for (int u = 0; u < g->nu; u++)
        crsae__synthesis_row(g, e->out, buf->x, u, 1.0f, recon, buf->row);
    return 0;
}
