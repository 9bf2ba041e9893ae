/* encoder.c - FISTA with the two-sided soft threshold (the CRsAE encoder):
 *   x_k = S_b(w + (1/L) W_e^T (y - H w)),  t_k = (1 + sqrt(1 + 4 t^2)) / 2,
 *   w_k = x_k + ((t_{k-1} - 1) / t_k) (x_k - x_{k-1}),  output W_d x_T.
 *
 * Iterations run as a wavefront over code rows so that the code stays in
 * the caches: code row u of iteration k needs the residual of iteration k
 * on image rows u*s .. u*s+K-1, which only code rows up to u + q of w_k
 * touch (q = (K-1)/s).  A group of consecutive iterations (stages) sweeps
 * down the domain together, each stage a few rows behind the one before,
 * each with its own residual held in a ring of (q+1)s + K image rows, each
 * row stored as its s phases so that the strided atoms read and write
 * contiguous runs (kernels.h).  The residual rows receive y and then the
 * rows of H w in increasing order, as a whole-image pass would, so the
 * result does not depend on the group size: the arithmetic is the same,
 * only the order of the rows in time differs. */
#include "encoder/encoder.h"
#include "base/alloc.h"
#include "model/model.h"

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
    g->plane = (size_t)g->ldv;
    g->rowp = (size_t)C * (size_t)g->ldv;
    g->code = (size_t)nu * g->rowp;
}

static int ring_rows(const crsae__geom *g)
{
    return ((g->K - 1) / g->s + 1) * g->s + g->K;
}

/* A ring row holds an image row as its s phases (crsae__phase). */
static size_t ring_row_floats(const crsae__geom *g)
{
    return (size_t)g->s * (size_t)crsae__phase_len(g);
}

/* The rings of a group, then the domain y itself, phased once, then the
 * CRSAE_NR floats the analysis may read past the last row (kernels.h). */
size_t crsae__fista_ring(const crsae__geom *g)
{
    size_t rows = (size_t)CRSAE_WAVE_MAX * (size_t)ring_rows(g), n;
    if (rows > SIZE_MAX - (size_t)g->hd ||
        !crsae__mul(rows + (size_t)g->hd, ring_row_floats(g), &n) || n > SIZE_MAX - CRSAE_NR)
        return 0;
    return n + CRSAE_NR;
}

/* One iteration of a group; its residual image row i lives, phased (see
 * kernels.h), at ring slot i mod R. */
typedef struct stage {
    float *ring;
    int done;   /* code rows updated */
    int synth;  /* code rows of w synthesised into the ring */
    int filled; /* image rows copied from y into the ring */
    float momentum;
    int first;  /* iteration 0: w = 0, the residual is y */
} stage;

static float *ring_row(const crsae__geom *g, const stage *st, int R, int i)
{
    return st->ring + (size_t)(i % R) * ring_row_floats(g);
}

static void fill_to(const crsae__geom *g, stage *st, int R, const float *yp, int last)
{
    for (; st->filled <= last; st->filled++)
        memcpy(ring_row(g, st, R, st->filled), yp + (size_t)st->filled * ring_row_floats(g),
               ring_row_floats(g) * sizeof(float));
}

/* Stage st computes code row st->done of its iteration. */
static void advance(const crsae__geom *g, const crsae__encoder *e, const float *yp,
                    const crsae__fista_buf *buf, stage *st, int R, int q)
{
    const int u = st->done, K = g->K, s = g->s, lp = crsae__phase_len(g);
    float *rows[CRSAE_MAX_SIZE];
    fill_to(g, st, R, yp, u * s + K - 1);
    if (!st->first) {
        const int hi = u + q < g->nu - 1 ? u + q : g->nu - 1;
        for (; st->synth <= hi; st->synth++) {
            fill_to(g, st, R, yp, st->synth * s + K - 1);
            for (int a = 0; a < K; a++)
                rows[a] = ring_row(g, st, R, st->synth * s + a);
            crsae__synthesis_phased(g, e->dec, buf->w, st->synth, -1.0f, rows, lp, buf->row);
        }
    }
    for (int a = 0; a < K; a++)
        rows[a] = ring_row(g, st, R, u * s + a);
    const crsae__fista_step up = {.x = buf->x + (size_t)u * g->rowp,
                                  .w = buf->w + (size_t)u * g->rowp,
                                  .plane = g->plane,
                                  .bias = e->bias,
                                  .step = e->inv_lipschitz,
                                  .momentum = st->momentum,
                                  .nv = g->nv};
    crsae__analysis_update(g, e->enc, (const float *const *)rows, lp, &up, buf->row);
    st->done++;
}

/* Iterations, then (if recon) the decoding, row by row as x_T is ready. */
static int run(const crsae__geom *g, const crsae__encoder *e, const float *y, float *recon,
               const crsae__fista_buf *buf, const atomic_int *cancel, atomic_long *done)
{
    const int R = ring_rows(g), q = (g->K - 1) / g->s, nu = g->nu, T = e->iterations;
    const int group = e->stages > 0 && e->stages < CRSAE_WAVE_MAX ? e->stages : CRSAE_WAVE_MAX;
    stage st[CRSAE_WAVE_MAX];
    memset(buf->x, 0, g->code * sizeof(float));
    memset(buf->w, 0, g->code * sizeof(float));
    if (recon)
        memset(recon, 0, (size_t)g->hd * g->ldi * sizeof(float));
    float *yp = buf->ring + (size_t)CRSAE_WAVE_MAX * R * ring_row_floats(g);
    crsae__phase(g, y, yp);
    double t = 1.0;
    for (int k0 = 0; k0 < T; k0 += group) {
        const int n = T - k0 < group ? T - k0 : group;
        for (int i = 0; i < n; i++) {
            double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * t * t));
            st[i] = (stage){.ring = buf->ring + (size_t)i * R * ring_row_floats(g),
                            .momentum = (float)((t - 1.0) / tn),
                            .first = k0 + i == 0};
            t = tn;
        }
        const int last_group = k0 + n == T;
        while (st[n - 1].done < nu) {
            if (cancel && atomic_load_explicit(cancel, memory_order_relaxed))
                return 1;
            for (int i = 0; i < n; i++) {
                if (st[i].done == nu)
                    continue;
                if (i > 0) {
                    int need = st[i].done + q + 1 < nu ? st[i].done + q + 1 : nu;
                    if (st[i - 1].done < need)
                        continue;
                }
                advance(g, e, yp, buf, &st[i], R, q);
                if (i == n - 1 && last_group && recon)
                    crsae__synthesis_row(g, e->out, buf->x, st[i].done - 1, 1.0f, recon,
                                         buf->row);
                if (st[i].done == nu && done)
                    atomic_fetch_add_explicit(done, 1, memory_order_relaxed);
            }
        }
    }
    return 0;
}

int crsae__fista_code(const crsae__geom *g, const crsae__encoder *e, const float *y,
                      const crsae__fista_buf *buf, const atomic_int *cancel, atomic_long *done)
{
    return run(g, e, y, NULL, buf, cancel, done);
}

int crsae__fista(const crsae__geom *g, const crsae__encoder *e, const float *y, float *recon,
                 const crsae__fista_buf *buf, const atomic_int *cancel, atomic_long *done)
{
    return run(g, e, y, recon, buf, cancel, done);
}
