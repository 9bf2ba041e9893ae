/* train.c - the training loop: random noisy patches, the gradient of
 * train_grad.c summed over a batch in a fixed order (so the result does
 * not depend on the number of threads), Adam, unit-norm decoder filters. */
#include "base/alloc.h"
#include "base/cpu.h"
#include "base/rng.h"
#include "model/model.h"
#include "model/state.h"
#include "train/train.h"
#include "train/train_grad.h"

#include <math.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void crsae_train_params_init(crsae_train_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->sigma = 25.0f / 255.0f;
    p->patch = 64;
    p->batch = 8;
    p->steps = 500;
    p->learning_rate = 1e-3f;
    p->learn_bias = 1;
    p->seed = 1;
}

static void normalise(float *bank, int C, int KK)
{
    for (int c = 0; c < C; c++) {
        double n = 0.0;
        for (int k = 0; k < KK; k++)
            n += (double)bank[c * KK + k] * bank[c * KK + k];
        float inv = n > 0.0 ? (float)(1.0 / sqrt(n)) : 0.0f;
        for (int k = 0; k < KK; k++)
            bank[c * KK + k] *= inv;
    }
}

crsae_status crsae_model_randomize(crsae_model *m, float sigma, uint64_t seed)
{
    if (!m || !isfinite(sigma) || !(sigma > 0.0f))
        return CRSAE_ERR_INVALID_ARGUMENT;
    const int C = m->filters, KK = m->size * m->size;
    crsae_rng rng;
    crsae__rng_seed(&rng, seed);
    size_t nb = (size_t)C * KK * (m->untied ? 3 : 1);
    for (size_t i = 0; i < nb; i++)
        m->dec[i] = (float)crsae__rng_normal(&rng);
    normalise(m->dec, C, KK);
    if (m->untied) {
        memcpy(m->enc, m->dec, (size_t)C * KK * sizeof(float));
        memcpy(m->out, m->dec, (size_t)C * KK * sizeof(float));
    }
    float L;
    crsae_status st = crsae_model_estimate_lipschitz(m, &L);
    if (st != CRSAE_OK)
        return st;
    m->lipschitz = L;
    m->sigma_train = sigma;
    /* threshold about 1.5 sigma of the analysed noise: b = 1.5 sigma / L,
     * and b = lambda sigma^2 / L */
    for (int c = 0; c < C; c++)
        m->lambda[c] = 1.5f / sigma;
    return CRSAE_OK;
}

typedef struct trainer {
    const crsae_train_params *prm;
    crsae__geom g;
    crsae__encoder enc;
    int C, KK, P, nbanks, nparam, border;
    int Pc;  /* side of a stored crop: P, plus s - 1 for the shift ensemble */
    int nsh; /* shifts averaged per patch: 1, or s * s */
    int lo, hi; /* the loss covers crop rows and columns [lo, hi) */
    int sure;   /* no clean images: Stein's unbiased risk estimate */
    float bias_exponent; /* the model's threshold rule */
    float eps;  /* SURE's finite-difference step */
    const float *const *images;
    const int *widths, *heights;
    int *usable;
    int nusable;
    /* the batch of this step */
    float *noisy, *clean; /* batch x Pc x Pc; SURE: clean holds the probes */
    float *psig;          /* batch: each patch's noise std */
    float *grads;         /* batch x nparam */
    double *loss;         /* batch */
    double *l1;           /* batch x C: sum of |x_T| of each filter's code */
    int nthreads;
} trainer;

typedef struct train_worker {
    trainer *t;
    int id;
    float *tape;
    float *y, *avg; /* one shift's input (hd x ldi); the crop's means (2 x Pc x Pc) */
    float *bias;    /* C: the thresholds at this patch's noise level */
    crsae__encoder enc;
} train_worker;

/* The input of shift j (the atoms' grid moved by (dy, dx) inside the crop)
 * for input k: the noisy crop, or (SURE) the crop plus eps times the probe. */
static void load_window(const trainer *t, train_worker *w, int b, int j, int k)
{
    const crsae__geom *g = &t->g;
    const int P = t->P, Pc = t->Pc, dy = j / g->s, dx = j % g->s;
    const float *no = t->noisy + (size_t)b * Pc * Pc, *pr = t->clean + (size_t)b * Pc * Pc;
    for (int r = 0; r < P; r++) {
        float *dst = w->y + (size_t)r * g->ldi;
        const float *src = no + (size_t)(dy + r) * Pc + dx, *ps = pr + (size_t)(dy + r) * Pc + dx;
        if (k == 0)
            memcpy(dst, src, (size_t)P * sizeof(float));
        else
            for (int c = 0; c < P; c++)
                dst[c] = src[c] + t->eps * ps[c];
    }
}

/* One patch: every shift's reconstruction, their mean f(y), the loss and
 * the gradient of that loss through each shift; the last tape recorded is
 * still valid after the first pass, so it goes back first.
 * Supervised: 0.5 |f(y) - clean|^2.  SURE (the images are the noisy
 * photos, no clean target): 0.5 sum_i [(y_i - f_i)^2 - sigma^2
 * + 2 sigma^2 p_i (f(y + eps p)_i - f_i) / eps], p a Gaussian probe: an
 * unbiased estimate of 0.5 |f(y) - clean|^2 (Stein), its divergence term
 * by one Monte-Carlo probe. */
static double patch_grad(trainer *t, train_worker *w, crsae__tape *tape, int b,
                         crsae__grads *grads)
{
    const crsae__encoder *enc = &w->enc;
    const crsae__geom *g = &t->g;
    const int P = t->P, Pc = t->Pc, s = g->s, ns = t->nsh, nin = t->sure ? 2 : 1;
    const size_t crop = (size_t)Pc * Pc;
    const float *no = t->noisy + (size_t)b * crop, *cl = t->clean + (size_t)b * crop;
    const float inv = 1.0f / (float)ns;
    memset(w->y, 0, (size_t)g->hd * g->ldi * sizeof(float));
    memset(w->avg, 0, crop * (size_t)nin * sizeof(float));
    double *l1 = t->l1 + (size_t)b * t->C;
    memset(l1, 0, (size_t)t->C * sizeof(double));
    for (int j = 0; j < ns; j++) {
        int dy = j / s, dx = j % s;
        for (int k = 0; k < nin; k++) {
            load_window(t, w, b, j, k);
            crsae__forward(g, enc, w->y, tape);
            float *avg = w->avg + crop * (size_t)k;
            for (int r = 0; r < P; r++)
                for (int c = 0; c < P; c++)
                    avg[(size_t)(dy + r) * Pc + dx + c] += inv * tape->img[(size_t)r * g->ldi + c];
            if (k)
                continue;
            for (int c = 0; c < t->C; c++) {
                double a = 0.0;
                for (size_t i = (size_t)c * g->plane; i < (size_t)(c + 1) * g->plane; i++)
                    a += fabsf(tape->gx[i]);
                l1[c] += a;
            }
        }
    }
    /* the avg arrays become dLoss/df (and dLoss/df(y + eps p)), zero
     * outside the loss region */
    double loss = 0.0;
    const double var = (double)t->prm->sigma * t->prm->sigma;
    const float coef = t->sure ? (float)(var / t->eps) : 0.0f;
    float *f = w->avg, *f2 = w->avg + crop;
    for (int r = 0; r < Pc; r++)
        for (int c = 0; c < Pc; c++) {
            size_t i = (size_t)r * Pc + c;
            int inside = r >= t->lo && r < t->hi && c >= t->lo && c < t->hi;
            if (!t->sure) {
                float d = inside ? f[i] - cl[i] : 0.0f;
                f[i] = d;
                loss += 0.5 * (double)d * d;
            } else if (!inside) {
                f[i] = f2[i] = 0.0f;
            } else {
                float d = f[i] - no[i], pd = cl[i] * (f2[i] - f[i]);
                loss += 0.5 * ((double)d * d - var) + (double)coef * pd;
                f[i] = d - coef * cl[i];
                f2[i] = coef * cl[i];
            }
        }
    for (int q = 0; q < ns * nin; q++) {
        int step = ns * nin - 1 - q, j = step / nin, k = step % nin;
        int dy = j / s, dx = j % s;
        if (q > 0) {
            load_window(t, w, b, j, k);
            crsae__forward(g, enc, w->y, tape);
        }
        const float *up = w->avg + crop * (size_t)k;
        float *rec = tape->img;
        memset(rec, 0, (size_t)g->hd * g->ldi * sizeof(float));
        for (int r = 0; r < P; r++)
            for (int c = 0; c < P; c++)
                rec[(size_t)r * g->ldi + c] = inv * up[(size_t)(dy + r) * Pc + dx + c];
        crsae__backward(g, enc, tape, grads);
    }
    return loss;
}

static void *train_worker_main(void *arg)
{
    train_worker *w = arg;
    trainer *t = w->t;
    crsae__tape tape;
    crsae__tape_init(&tape, &t->g, t->enc.iterations, w->tape);
    for (int b = w->id; b < t->prm->batch; b += t->nthreads) {
        float *gr = t->grads + (size_t)b * t->nparam;
        memset(gr, 0, (size_t)t->nparam * sizeof(float));
        size_t bank = (size_t)t->C * t->KK;
        crsae__grads g = {gr, gr + (t->nbanks > 1 ? bank : 0), gr + (t->nbanks > 1 ? 2 * bank : 0),
                          gr + (size_t)t->nbanks * bank};
        /* this patch's thresholds: b_c (its sigma / the reference)^p; its
         * loss weighs (reference / its sigma)^2 */
        const double ratio = (double)t->psig[b] / t->prm->sigma;
        const float scale = (float)pow(ratio, t->bias_exponent);
        const float weight = (float)(1.0 / (ratio * ratio));
        w->enc = t->enc;
        w->enc.bias = w->bias;
        for (int c = 0; c < t->C; c++)
            w->bias[c] = t->enc.bias[c] * scale;
        t->loss[b] = patch_grad(t, w, &tape, b, &g) * weight;
        if (weight != 1.0f) {
            for (int i = 0; i < t->nparam; i++)
                gr[i] *= weight;
            for (int c = 0; c < t->C; c++)
                g.dbias[c] *= scale;
        }
    }
    return NULL;
}

/* The second stage (EM_RATE, PRIOR_WEIGHT: models/TRAINING.md).  With a
 * Laplace prior of rate lambda_c on the N entries of filter c's codes in
 * the batch (sum of magnitudes S_c) and a Gamma(r, delta) prior on lambda_c,
 * the MAP rate is (N + r - 1) / (S_c + delta).  The Gamma prior has its mean
 * r / delta at the start value lambda0_c and weighs as much as one batch
 * (r = N), which keeps lambda_c within (0, 2 lambda0_c]; lambda_c moves a
 * fraction EM_RATE of the way to the batch's MAP rate each step. */
#define EM_RATE 0.1
#define PRIOR_WEIGHT 1.0

static void em_lambda(const trainer *t, const crsae_model *m, const crsae_train_params *prm,
                      float *bias, const float *lambda0)
{
    const double N = (double)prm->batch * t->nsh * t->g.nu * t->g.nv;
    const double var = (double)prm->sigma * prm->sigma;
    for (int c = 0; c < t->C; c++) {
        double S = 0.0;
        for (int b = 0; b < prm->batch; b++)
            S += t->l1[(size_t)b * t->C + c];
        double r = PRIOR_WEIGHT * N, delta = r / lambda0[c];
        double map = (N + r - 1.0) / (S + delta);
        double lambda = bias[c] * m->lipschitz / var;
        lambda += EM_RATE * (map - lambda);
        bias[c] = (float)(lambda * var / m->lipschitz);
    }
}

/* the cosine schedule ends at this fraction of the learning rate */
#define LR_FLOOR 0.02

crsae_status crsae_train(crsae_model *m, const crsae_train_params *prm, const float *const *images,
                         const int *widths, const int *heights, int count)
{
    if (!m || !prm)
        return CRSAE_ERR_INVALID_ARGUMENT;
    crsae_train_params p = *prm;
    if (p.ensemble < 0)
        p.ensemble = m->untied; /* untied models learn through the ensemble */
    return crsae__train(m, &p, images, NULL, widths, heights, count, NULL);
}

crsae_status crsae__train(crsae_model *m, const crsae_train_params *prm, const float *const *images,
                          const float *const *probe_masks, const int *widths, const int *heights,
                          int count, const crsae__budget *budget)
{
    if (!m || !prm || !images || !widths || !heights || count < 1 || !isfinite(prm->sigma) ||
        !(prm->sigma > 0.0f) || prm->patch < m->size || prm->patch > 1024 || prm->batch < 1 ||
        prm->batch > 4096 || prm->steps < 0 || !(prm->learning_rate > 0.0f) || prm->threads < 0 ||
        prm->learn_bias < CRSAE_BIAS_FIXED || prm->learn_bias > CRSAE_BIAS_EM ||
        !(prm->sigma_max == 0.0f || (prm->sigma_max >= prm->sigma && prm->sigma_max < 1e3f)) ||
        (prm->sigma_max > prm->sigma &&
         (prm->self_supervised || prm->learn_bias == CRSAE_BIAS_EM)) ||
        prm->lr_cosine < 0 || prm->lr_cosine > 1 || !isfinite(prm->seconds) ||
        prm->seconds < 0.0)
        return CRSAE_ERR_INVALID_ARGUMENT;
    trainer t;
    memset(&t, 0, sizeof t);
    t.prm = prm;
    t.C = m->filters;
    t.KK = m->size * m->size;
    int nu = (prm->patch - m->size + m->stride - 1) / m->stride + 1;
    crsae__geom_init_train(&t.g, t.C, m->size, m->stride, nu, nu);
    t.P = t.g.hd;
    /* the loss leaves out the patch's edge, covered by fewer atoms */
    t.border = t.P > 4 * (m->size - 1) ? m->size - 1 : 0;
    t.nsh = prm->ensemble ? m->stride * m->stride : 1;
    t.Pc = t.P + (t.nsh > 1 ? m->stride - 1 : 0);
    t.lo = (t.nsh > 1 ? m->stride - 1 : 0) + t.border;
    t.hi = t.P - t.border;
    t.sure = prm->self_supervised != 0;
    t.eps = CRSAE__SURE_EPS * prm->sigma;
    t.bias_exponent = m->bias_exponent;
    t.nbanks = m->untied ? 3 : 1;
    size_t bank = (size_t)t.C * t.KK;
    t.nparam = (int)(bank * (size_t)t.nbanks) + t.C;
    t.images = images;
    t.widths = widths;
    t.heights = heights;
    t.nthreads = crsae__thread_count(prm->threads, prm->batch);

    crsae_status st = CRSAE_ERR_NOMEM;
    size_t img = (size_t)t.g.hd * t.g.ldi, tape_n = crsae__tape_floats(&t.g, m->iterations);
    crsae_train_state *own = NULL, *state = prm->state;
    const bool resume = state && state->nparam > 0;
    float *bias = NULL, *adam_m = NULL, *adam_v = NULL, *lambda0 = NULL;
    float *sum = crsae__malloc((size_t)t.nparam * sizeof(float));
    t.usable = crsae__malloc((size_t)count * sizeof(int));
    size_t crop = (size_t)t.Pc * t.Pc;
    t.noisy = crsae__calloc(crop * (size_t)prm->batch, sizeof(float));
    t.clean = crsae__calloc(crop * (size_t)prm->batch, sizeof(float));
    t.grads = crsae__malloc((size_t)t.nparam * (size_t)prm->batch * sizeof(float));
    t.psig = crsae__malloc((size_t)prm->batch * sizeof(float));
    t.loss = crsae__malloc((size_t)prm->batch * sizeof(double));
    t.l1 = crsae__malloc((size_t)prm->batch * (size_t)t.C * sizeof(double));
    train_worker *workers = crsae__calloc((size_t)t.nthreads, sizeof(train_worker));
    crsae__pack ph = {0}, pe = {0}, pd = {0};
    bool packed = false;
    if (tape_n == 0) {
        st = CRSAE_ERR_TOO_LARGE;
        goto done;
    }
    if (resume && (state->nparam != t.nparam || state->filters != t.C ||
                   state->prm.sigma != prm->sigma || state->prm.sigma_max != prm->sigma_max ||
                   state->prm.ensemble != prm->ensemble ||
                   state->prm.self_supervised != prm->self_supervised)) {
        st = CRSAE_ERR_STATE_MISMATCH;
        goto done;
    }
    if (!state && crsae_train_state_new(&own) != CRSAE_OK)
        goto done;
    if (!state)
        state = own;
    if (!resume && crsae__train_state_alloc(state, t.nparam, t.C) != CRSAE_OK)
        goto done;
    bias = state->bias;
    adam_m = state->adam_m;
    adam_v = state->adam_v;
    lambda0 = state->lambda0;
    if (!sum || !t.usable || !t.noisy || !t.clean || !t.grads || !t.psig ||
        !t.loss || !t.l1 || !workers)
        goto done;
    for (int i = 0; i < t.nthreads; i++) {
        workers[i].t = &t;
        workers[i].id = i;
        workers[i].tape = crsae__malloc_aligned(tape_n * sizeof(float));
        workers[i].y = crsae__malloc(img * sizeof(float));
        workers[i].avg = crsae__malloc(2 * crop * sizeof(float));
        workers[i].bias = crsae__malloc((size_t)t.C * sizeof(float));
        if (!workers[i].tape || !workers[i].y || !workers[i].avg || !workers[i].bias)
            goto done;
    }
    for (int i = 0; i < count; i++)
        if (images[i] && widths[i] >= t.Pc && heights[i] >= t.Pc)
            t.usable[t.nusable++] = i;
    if (t.nusable == 0) {
        st = CRSAE_ERR_INVALID_ARGUMENT; /* no image as large as a patch */
        goto done;
    }
    if (crsae__pack_init(&ph, m->dec, t.C, m->size) ||
        (m->untied && (crsae__pack_init(&pe, m->enc, t.C, m->size) ||
                       crsae__pack_init(&pd, m->out, t.C, m->size))))
        goto done;
    packed = true;

    /* training happens at prm->sigma: thresholds as biases.  A tied model's
     * step 1/L follows H; an untied one keeps its L, since W_e learns the
     * step (the published untied models run with an L below H's norm). */
    const bool track_L = !m->untied || !(m->lipschitz > 0.0f);
    if (!resume) {
        /* a resumed run has its thresholds and L as they were */
        float L;
        if ((st = crsae_model_estimate_lipschitz(m, &L)) != CRSAE_OK)
            goto done;
        crsae_model_thresholds(m, prm->sigma, bias);
        if (track_L)
            m->lipschitz = L;
        m->sigma_train = prm->sigma;
        for (int c = 0; c < t.C; c++)
            lambda0[c] = bias[c] * m->lipschitz / (prm->sigma * prm->sigma);
    }
    else
        m->lipschitz = state->lipschitz;
    state->prm = *prm;
    state->prm.progress = NULL;
    state->prm.progress_user = NULL;
    state->prm.state = NULL;
    t.enc.dec = &ph;
    t.enc.enc = m->untied ? &pe : &ph;
    t.enc.out = m->untied ? &pd : &ph;
    t.enc.bias = bias;
    t.enc.iterations = m->iterations;

    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double t0 = crsae__now();
    crsae__budget own_budget = {t0 + prm->seconds, prm->seconds};
    if (!budget && prm->seconds > 0)
        budget = &own_budget;
    st = CRSAE_OK;
    for (int step = state->step; step < prm->steps; step++) {
        t.enc.inv_lipschitz = 1.0f / m->lipschitz;
        /* the batch: patches and noise from the seed and the step only */
        crsae_rng rng;
        crsae__rng_seed(&rng, prm->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)step);
        for (int b = 0; b < prm->batch; b++) {
            int id = t.usable[crsae__rng_next(&rng) % (uint64_t)t.nusable];
            int w = widths[id], h = heights[id];
            int x0 = (int)(crsae__rng_next(&rng) % (uint64_t)(w - t.Pc + 1));
            int y0 = (int)(crsae__rng_next(&rng) % (uint64_t)(h - t.Pc + 1));
            float *cl = t.clean + (size_t)b * crop, *no = t.noisy + (size_t)b * crop;
            float sg = prm->sigma;
            if (prm->sigma_max > prm->sigma)
                sg += (prm->sigma_max - prm->sigma) * (float)crsae__rng_uniform(&rng);
            t.psig[b] = sg;
            for (int r = 0; r < t.Pc; r++)
                for (int c = 0; c < t.Pc; c++) {
                    const size_t at = (size_t)(y0 + r) * w + x0 + c;
                    float v = images[id][at];
                    float n = (float)crsae__rng_normal(&rng);
                    if (t.sure) /* the probe: none on a clipped sample */
                        n = probe_masks ? n * probe_masks[id][at] : crsae__sure_probe(v, n);
                    cl[(size_t)r * t.Pc + c] = t.sure ? n : v;
                    no[(size_t)r * t.Pc + c] = t.sure ? v : v + sg * n;
                }
        }
        /* gradients, one patch per item, summed in patch order */
        int started = 0;
        pthread_t threads[256];
        for (int i = 1; i < t.nthreads && i < 256; i++)
            if (pthread_create(&threads[i], NULL, train_worker_main, &workers[i]) == 0)
                started = i;
            else
                break;
        if (started < t.nthreads - 1) {
            for (int i = 1; i <= started; i++)
                pthread_join(threads[i], NULL);
            st = CRSAE_ERR_THREAD;
            break;
        }
        train_worker_main(&workers[0]);
        for (int i = 1; i <= started; i++)
            pthread_join(threads[i], NULL);
        memset(sum, 0, (size_t)t.nparam * sizeof(float));
        double loss = 0.0;
        for (int b = 0; b < prm->batch; b++) {
            const float *gr = t.grads + (size_t)b * t.nparam;
            for (int i = 0; i < t.nparam; i++)
                sum[i] += gr[i];
            loss += t.loss[b];
        }
        /* Adam on the banks and the thresholds */
        const double scale = 1.0 / prm->batch;
        const double c1 = 1.0 - pow(b1, step + 1), c2 = 1.0 - pow(b2, step + 1);
        double lr = prm->learning_rate;
        if (prm->lr_cosine && prm->steps > 1)
            lr *= LR_FLOOR + (1.0 - LR_FLOOR) * 0.5 *
                                 (1.0 + cos(3.14159265358979323846 * (double)step / (double)(prm->steps - 1)));
        int nupdate = prm->learn_bias == CRSAE_BIAS_BACKPROP ? t.nparam : t.nparam - t.C;
        for (int i = 0; i < nupdate; i++) {
            double gi = sum[i] * scale;
            adam_m[i] = (float)(b1 * adam_m[i] + (1 - b1) * gi);
            adam_v[i] = (float)(b2 * adam_v[i] + (1 - b2) * gi * gi);
            double upd = lr * (adam_m[i] / c1) / (sqrt(adam_v[i] / c2) + eps);
            if (i < (int)(bank * (size_t)t.nbanks)) {
                m->dec[i] -= (float)upd; /* dec, enc, out are one block */
            } else {
                float *bi = &bias[i - (int)(bank * (size_t)t.nbanks)];
                /* thresholds live on the scale of sigma / L: step relative */
                *bi -= (float)(upd * prm->sigma / m->lipschitz);
                if (*bi < 0.0f)
                    *bi = 0.0f;
            }
        }
        if (prm->learn_bias == CRSAE_BIAS_EM)
            em_lambda(&t, m, prm, bias, lambda0);
        normalise(m->dec, t.C, t.KK);
        crsae__pack_fill(&ph, m->dec);
        if (m->untied) {
            crsae__pack_fill(&pe, m->enc);
            crsae__pack_fill(&pd, m->out);
        }
        if (track_L && (step + 1) % 50 == 0) {
            float Ln;
            if (crsae_model_estimate_lipschitz(m, &Ln) == CRSAE_OK)
                m->lipschitz = Ln;
        }
        /* the model keeps lambda: b = lambda sigma^2 / L at sigma_train */
        for (int c = 0; c < t.C; c++)
            m->lambda[c] = bias[c] * m->lipschitz / (prm->sigma * prm->sigma);
        state->step = step + 1;
        state->lipschitz = m->lipschitz;
        if (prm->progress) {
            crsae_train_report rep;
            rep.step = step + 1;
            rep.steps = prm->steps;
            double inner = (double)(t.hi - t.lo) * (t.hi - t.lo);
            rep.loss = 2.0 * loss / ((double)prm->batch * inner);
            rep.psnr = rep.loss > 0 ? 10.0 * log10(1.0 / rep.loss) : 999.0;
            rep.seconds = crsae__now() - t0;
            rep.budget_used = 0.0;
            if (budget) {
                double u = 1.0 - (budget->deadline - crsae__now()) / budget->seconds;
                rep.budget_used = u < 0.0 ? 0.0 : (u > 1.0 ? 1.0 : u);
            }
            if (prm->progress(&rep, prm->progress_user)) {
                st = CRSAE_ERR_CANCELLED;
                break;
            }
        }
        if (budget && crsae__now() >= budget->deadline)
            break; /* the budget is spent: that is the plan */
    }
    /* The model leaves with a fresh L (thresholds kept); the state keeps the
     * one the steps used, so that a resumed run continues exactly. */
    if (state->step > 0 && (st == CRSAE_OK || st == CRSAE_ERR_CANCELLED)) {
        state->lipschitz = m->lipschitz;
        float Ln;
        if (track_L && state->step % 50 != 0 && crsae_model_estimate_lipschitz(m, &Ln) == CRSAE_OK) {
            m->lipschitz = Ln;
            for (int c = 0; c < t.C; c++)
                m->lambda[c] = bias[c] * Ln / (prm->sigma * prm->sigma);
        }
    }
done:
    if (packed || ph.ana) {
        crsae__pack_free(&ph);
        crsae__pack_free(&pe);
        crsae__pack_free(&pd);
    }
    if (workers)
        for (int i = 0; i < t.nthreads; i++)
        {
            crsae__free_aligned(workers[i].tape);
            crsae__free(workers[i].y);
            crsae__free(workers[i].avg);
            crsae__free(workers[i].bias);
        }
    crsae__free(workers);
    crsae_train_state_free(own);
    crsae__free(sum);
    crsae__free(t.usable);
    crsae__free(t.noisy);
    crsae__free(t.clean);
    crsae__free(t.grads);
    crsae__free(t.psig);
    crsae__free(t.loss);
    crsae__free(t.l1);
    return st;
}
