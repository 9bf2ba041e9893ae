/* denoise.c - the plumbing of denoising: shift ensemble, tiles with a halo,
 * a pool of worker threads, colour, progress and cancel.  The arithmetic
 * lives in encoder.c and kernels.c.
 *
 * Geometry.  For stride s and K x K atoms the image is padded by
 * P = s * max(1, floor((K-1)/s)) rows above (columns to the left) and by
 * P + e below (right), e making the padded size fit a whole number of
 * atoms; for the published models (s = 5, K = 7) this is exactly the
 * padding of the reference code.  Shift (i, j) moves the atom grid by i
 * rows and j columns, so code row g covers image rows g*s - P + i ...
 * g*s - P + i + K - 1.  Pixels outside the image are mirrored (without
 * repeating the edge pixel).  The s*s reconstructions are averaged.
 *
 * Tiles.  The output is cut into tiles; each (tile, colour plane, shift)
 * is one work item that encodes only the atoms within `halo` pixels of
 * the tile, then keeps the reconstruction of the tile's own pixels in a
 * slot.  Slots are added to their tile's sums in item order, whatever
 * order the threads finish them in (a finished item waits in its slot for
 * the ones before it), so the result never depends on the number of
 * threads, and depends on the tile size only through the halo
 * (crsae_model_halo keeps that below 1e-4).  A few slots are enough, so a
 * tile can be large, and the halo's share of the work small. */
#include "denoise/tiles.h"
#include "base/alloc.h"
#include "base/cpu.h"
#include "denoise/colour.h"
#include "encoder/encoder.h"
#include "model/model.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SHIFTS (CRSAE_MAX_SIZE * CRSAE_MAX_SIZE)
/* Memory that sets the automatic tile size: the slots, a tile's sums and
 * each thread's buffers (its domain, its residual rings and two codes:
 * about 30 bytes per pixel of domain).  Tiles are at most TILE_MAX_W wide
 * (wider rows leave the caches: one 2000-wide tile ran 20 % slower than
 * 1000-wide ones on a 2000 x 2000 image) and as tall as the rest allows:
 * about 1000 x 2000 for grey or colour on 2 threads. */
#define TILE_BUDGET (160.0 * 1024 * 1024)
#define WORKER_BYTES_PER_PIXEL 30.0
#define TILE_MAX_W 1024

typedef struct worker {
    struct plan *plan;
    pthread_t thread;
    crsae__fista_buf buf;
    float *y;
} worker;

typedef struct plan {
    const float *in;
    size_t in_stride;
    int W, H, channels, colours;
    float M[3][3];

    int C, K, s, T, P, Nu_g, Nv_g;
    crsae__pack dec, enc, out;
    float *bias;
    crsae__encoder encoder;

    int nshifts;  /* shifts of the luminance (or grey) plane */
    int cshifts;  /* shifts of each chroma plane: the first cshifts of the order */
    int per_tile; /* work items of a tile: nshifts + (colours - 1) cshifts */
    int shift_i[MAX_SHIFTS], shift_j[MAX_SHIFTS];

    int tile_w, tile_h, halo, ntx, nty, ntiles;
    int nu_max, nv_max;

    /* Work item g (tile g / per_tile, plane and shift from g % per_tile)
     * writes slot g mod nslots, once item g - nslots has been added to its
     * tile's sums.  The thread that finishes an item adds every finished
     * item that is next in order, unless another thread is doing so. */
    int total_items, nslots;
    long added;           /* items added to their tile's sums, under mu */
    int adding;           /* a thread is adding, under mu */
    unsigned char *ready; /* nslots: the slot's item is finished, under mu */
    float *slots;
    size_t slot_size;
    float *sums; /* colours x slot_size: the current tile's sums per plane */
    float *staging;
    char *arena; /* the block slots, sums, staging and workers' buffers are in */

    int nworkers;
    worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    atomic_int next_item;
    atomic_int cancel;
    atomic_long done;
} plan;

static int floor_div(int a, int b)
{
    int q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int mirror(int m, int n)
{
    if (n == 1)
        return 0;
    int period = 2 * (n - 1);
    m %= period;
    if (m < 0)
        m += period;
    return m >= n ? period - m : m;
}

void crsae__shift_order(int s, int n, int *rows, int *cols)
{
    int total = s * s;
    unsigned char used[MAX_SHIFTS] = {0};
    for (int k = 0; k < n && k < total; k++) {
        int best = -1, best_d = -1;
        for (int q = 0; q < total; q++) {
            if (used[q])
                continue;
            int d = 1 << 30;
            for (int p = 0; p < k; p++) {
                int di = abs(q / s - rows[p]), dj = abs(q % s - cols[p]);
                di = di < s - di ? di : s - di;
                dj = dj < s - dj ? dj : s - dj;
                if (di * di + dj * dj < d)
                    d = di * di + dj * dj;
            }
            if (d > best_d) {
                best_d = d;
                best = q;
            }
        }
        used[best] = 1;
        rows[k] = best / s;
        cols[k] = best % s;
    }
}

/* Code index range [lo, hi] of the atoms a tile [a0, a1) needs along one
 * axis, and the image coordinate of the domain's first pixel. */
static void code_range(const plan *p, int a0, int a1, int shift, int ncode, int *lo, int *hi,
                       int *origin)
{
    int off = shift - p->P; /* image coordinate of code 0's first pixel */
    int l = floor_div(a0 - p->halo - off - p->K + 1 + p->s - 1, p->s);
    int h = floor_div(a1 + p->halo - 1 - off, p->s);
    *lo = l < 0 ? 0 : l;
    *hi = h > ncode - 1 ? ncode - 1 : h;
    *origin = *lo * p->s + off;
}

/* A pixel projected on a colour plane (row m of the colour matrix). */
static inline float project(const plan *p, const float *m, const float *px)
{
    float v = m[0] * px[0];
    if (p->colours == 3)
        v += m[1] * px[1] + m[2] * px[2];
    return v;
}

/* The pixels [r0, r1) x [c0, c1) of tile t. */
static void tile_rect(const plan *p, int t, int *r0, int *r1, int *c0, int *c1)
{
    const int ty = t / p->ntx, tx = t % p->ntx;
    *r0 = ty * p->tile_h;
    *r1 = *r0 + p->tile_h < p->H ? *r0 + p->tile_h : p->H;
    *c0 = tx * p->tile_w;
    *c1 = *c0 + p->tile_w < p->W ? *c0 + p->tile_w : p->W;
}

static int item_plane(const plan *p, int idx)
{
    return idx < p->nshifts ? 0 : 1 + (idx - p->nshifts) / p->cshifts;
}

static void run_item(plan *p, worker *wk, int item)
{
    const int t = item / p->per_tile;
    const int idx = item % p->per_tile;
    const int plane = item_plane(p, idx);
    const int sh = idx < p->nshifts ? idx : (idx - p->nshifts) % p->cshifts;
    int r0, r1, c0, c1;
    tile_rect(p, t, &r0, &r1, &c0, &c1);

    int ulo, uhi, vlo, vhi, oy, ox;
    code_range(p, r0, r1, p->shift_i[sh], p->Nu_g, &ulo, &uhi, &oy);
    code_range(p, c0, c1, p->shift_j[sh], p->Nv_g, &vlo, &vhi, &ox);
    crsae__geom g;
    crsae__geom_init(&g, p->C, p->K, p->s, uhi - ulo + 1, vhi - vlo + 1);

    /* Fetch the domain: mirrored pixels, projected on this colour plane. */
    const float *m = p->M[plane];
    const int ch = p->channels;
    /* columns [in0, in1) of the domain lie inside the image: no mirror() */
    const int in0 = ox < 0 ? (-ox < g.wd ? -ox : g.wd) : 0;
    const int in1 = p->W - ox < g.wd ? (p->W - ox > in0 ? p->W - ox : in0) : g.wd;
    for (int r = 0; r < g.hd; r++) {
        const float *src = p->in + (size_t)mirror(oy + r, p->H) * p->in_stride;
        float *dst = wk->y + (size_t)r * g.ldi;
        for (int c = 0; c < in0; c++)
            dst[c] = project(p, m, src + (size_t)mirror(ox + c, p->W) * ch);
        if (ch == 1)
            for (int c = in0; c < in1; c++)
                dst[c] = m[0] * src[ox + c];
        else
            for (int c = in0; c < in1; c++)
                dst[c] = project(p, m, src + (size_t)(ox + c) * ch);
        for (int c = in1; c < g.wd; c++)
            dst[c] = project(p, m, src + (size_t)mirror(ox + c, p->W) * ch);
    }
    if (crsae__fista(&g, &p->encoder, wk->y, wk->buf.r, &wk->buf, &p->cancel, &p->done))
        return;
    float *slot = p->slots + (size_t)(item % p->nslots) * p->slot_size;
    const int tw = c1 - c0;
    for (int r = r0; r < r1; r++)
        memcpy(slot + (size_t)(r - r0) * tw, wk->buf.r + (size_t)(r - oy) * g.ldi + (c0 - ox),
               (size_t)tw * sizeof(float));
}

/* The tile's sums, plane by plane, averaged, the colour transform undone,
 * written into the staging image. */
static void write_tile(plan *p, int t)
{
    const int ch = p->channels, cols = p->colours;
    int r0, r1, c0, c1;
    tile_rect(p, t, &r0, &r1, &c0, &c1);
    const int tw = c1 - c0;
    float inv[3];
    for (int pl = 0; pl < cols; pl++)
        inv[pl] = 1.0f / (float)(pl ? p->cshifts : p->nshifts);
    for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) {
            const size_t k = (size_t)(r - r0) * tw + (size_t)(c - c0);
            float v[3];
            for (int pl = 0; pl < cols; pl++)
                v[pl] = p->sums[(size_t)pl * p->slot_size + k] * inv[pl];
            float *dst = p->staging + ((size_t)r * p->W + c) * ch;
            for (int o = 0; o < cols; o++) {
                float x = 0.0f;
                for (int pl = 0; pl < cols; pl++)
                    x += p->M[pl][o] * v[pl];
                dst[o] = x;
            }
            if (ch != cols)
                dst[cols] = p->in[(size_t)r * p->in_stride + (size_t)c * ch + cols];
        }
}

/* Adds a finished item's slot to its tile's sums (items come in order: a
 * tile's first item clears the sums, its last writes the tile out). */
static void add_item(plan *p, int item)
{
    const int t = item / p->per_tile, idx = item % p->per_tile;
    int r0, r1, c0, c1;
    tile_rect(p, t, &r0, &r1, &c0, &c1);
    const size_t n = (size_t)(r1 - r0) * (size_t)(c1 - c0);
    if (idx == 0)
        for (int pl = 0; pl < p->colours; pl++)
            memset(p->sums + (size_t)pl * p->slot_size, 0, n * sizeof(float));
    const float *restrict slot = p->slots + (size_t)(item % p->nslots) * p->slot_size;
    float *restrict sum = p->sums + (size_t)item_plane(p, idx) * p->slot_size;
    for (size_t i = 0; i < n; i++)
        sum[i] += slot[i];
    if (idx == p->per_tile - 1)
        write_tile(p, t);
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    plan *p = wk->plan;
    int item;
    while ((item = atomic_fetch_add(&p->next_item, 1)) < p->total_items) {
        pthread_mutex_lock(&p->mu);
        while (item >= p->added + p->nslots && !atomic_load(&p->cancel))
            pthread_cond_wait(&p->work_cv, &p->mu); /* its slot is still to be added */
        pthread_mutex_unlock(&p->mu);
        if (atomic_load(&p->cancel))
            break;
        run_item(p, wk, item);
        pthread_mutex_lock(&p->mu);
        p->ready[item % p->nslots] = 1;
        if (!p->adding) {
            p->adding = 1;
            while (!atomic_load(&p->cancel) && p->ready[p->added % p->nslots]) {
                const long next = p->added;
                pthread_mutex_unlock(&p->mu);
                add_item(p, (int)next);
                pthread_mutex_lock(&p->mu);
                p->ready[next % p->nslots] = 0;
                p->added = next + 1;
                pthread_cond_broadcast(&p->work_cv); /* its slot is free */
                if (p->added % p->per_tile == 0)
                    pthread_cond_signal(&p->done_cv); /* a tile is written */
            }
            p->adding = 0;
        }
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Every large buffer of a run is carved out of one block (the arena): one
 * allocation to fail or not, and, run after run in one process (GIMP's
 * preview), glibc keeps one block of that size on its heap instead of
 * handing smaller ones back to the system and faulting them in again
 * (measured: 2,900 page faults a call for a 481 x 321 image with separate
 * blocks, 7 % of the time on 2 threads).  carve: the slots, the sums, the
 * staging image and each worker's buffers. */
static void carve(plan *p, crsae__carver *a)
{
    size_t img = 0, code = 0;
    crsae__geom g;
    crsae__geom_init(&g, p->C, p->K, p->s, p->nu_max, p->nv_max);
    if (!crsae__mul(g.ldi, (size_t)g.hd, &img) ||
        !crsae__mul3((size_t)g.nu, (size_t)g.C, (size_t)g.ldv, &code) || !crsae__fista_ring(&g))
        a->ok = 0;
    p->slots = crsae__carve(a, p->slot_size, (size_t)p->nslots * sizeof(float));
    p->sums = crsae__carve(a, p->slot_size, (size_t)p->colours * sizeof(float));
    p->staging =
        crsae__carve(a, (size_t)p->W * (size_t)p->H, (size_t)p->channels * sizeof(float));
    p->ready = crsae__carve(a, (size_t)p->nslots, 1);
    for (int i = 0; i < p->nworkers; i++) {
        worker counted, *wk = a->base ? &p->workers[i] : &counted;
        wk->plan = p;
        wk->y = crsae__carve(a, img, sizeof(float));
        wk->buf.r = crsae__carve(a, img, sizeof(float));
        wk->buf.x = crsae__carve(a, code, sizeof(float));
        wk->buf.w = crsae__carve(a, code, sizeof(float));
        wk->buf.row = crsae__carve(a, crsae__row_scratch(&g), sizeof(float));
        wk->buf.ring = crsae__carve(a, crsae__fista_ring(&g), sizeof(float));
    }
}

static int report(const crsae_denoise_params *prm, double fraction)
{
    return prm->progress ? prm->progress(fraction, prm->progress_user) : 0;
}

/* Run the items on the workers; the calling thread reports progress after
 * every written tile and every 50 ms, and passes a cancel on. */
static crsae_status run_items(plan *p, const crsae_denoise_params *prm)
{
    p->total_items = p->ntiles * p->per_tile;
    p->added = 0;
    p->adding = 0;
    memset(p->ready, 0, (size_t)p->nslots);
    atomic_store(&p->next_item, 0);
    int started = 0;
    for (int i = 0; i < p->nworkers; i++) {
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0)
            break;
        started++;
    }
    if (started == 0)
        return CRSAE_ERR_THREAD;
    const double total = (double)p->total_items * (double)p->encoder.iterations;
    pthread_mutex_lock(&p->mu);
    while (p->added < p->total_items && !atomic_load(&p->cancel)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->done_cv, &p->mu, &ts);
        if (p->added < p->total_items) {
            pthread_mutex_unlock(&p->mu);
            double f = (double)atomic_load(&p->done) / total;
            if (report(prm, f > 1.0 ? 1.0 : f))
                atomic_store(&p->cancel, 1);
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_cond_broadcast(&p->work_cv); /* a cancel wakes the waiting workers */
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < started; i++)
        pthread_join(p->workers[i].thread, NULL);
    crsae_status st = atomic_load(&p->cancel) ? CRSAE_ERR_CANCELLED : CRSAE_OK;
    if (st == CRSAE_OK && report(prm, 1.0))
        st = CRSAE_ERR_CANCELLED;
    return st;
}

int crsae_model_halo(const crsae_model *model, int iterations)
{
    if (!model)
        return 0;
    int T = iterations > 0 ? iterations : model->iterations;
    /* The influence of a pixel on the output decays fast with distance.
     * Measured on barbara (512x512, 128-pixel tiles, T = 30, published
     * models): max |tiled - whole| = 7e-5 (tied) / 8e-4 (untied) at halo
     * 20, 4e-6 / 1.5e-5 at 30, 4e-7 (float rounding) at 40. */
    int reach = (T < 6 ? T : 6) * (model->size - 1);
    return reach + model->stride;
}

static void plan_free(plan *p)
{
    crsae__free(p->workers);
    crsae__free_aligned(p->arena);
    if (p->enc.ana != p->dec.ana)
        crsae__pack_free(&p->enc);
    if (p->out.ana != p->dec.ana)
        crsae__pack_free(&p->out);
    crsae__pack_free(&p->dec);
    crsae__free(p->bias);
}

crsae_status crsae__denoise(const crsae_model *model, const crsae_denoise_params *prm,
                            const float *in, size_t in_stride, float *out, size_t out_stride,
                            int W, int H, int ch, int halo)
{
    crsae_status st;
    plan pl, *p = &pl;
    memset(p, 0, sizeof *p);
    p->in = in;
    p->in_stride = in_stride;
    p->W = W;
    p->H = H;
    p->channels = ch;
    p->colours = crsae__colours(ch);
    crsae__colour_matrix(p->colours, p->M);
    p->C = model->filters;
    p->K = model->size;
    p->s = model->stride;
    p->T = prm->iterations ? prm->iterations : model->iterations;
    int kq = (p->K - 1) / p->s;
    p->P = p->s * (kq > 1 ? kq : 1);
    int eh = ((-(H + 2 * p->P - p->K)) % p->s + p->s) % p->s;
    int ew = ((-(W + 2 * p->P - p->K)) % p->s + p->s) % p->s;
    p->Nu_g = (H + 2 * p->P + eh - p->K) / p->s + 1;
    p->Nv_g = (W + 2 * p->P + ew - p->K) / p->s + 1;
    int all = p->s * p->s;
    p->nshifts = (prm->shifts == 0 || prm->shifts > all) ? all : prm->shifts;
    crsae__shift_order(p->s, p->nshifts, p->shift_i, p->shift_j);
    p->cshifts = (prm->chroma_shifts == 0 || prm->chroma_shifts > p->nshifts) ? p->nshifts
                                                                              : prm->chroma_shifts;
    p->per_tile = p->nshifts + (p->colours - 1) * p->cshifts;

    int threads = prm->threads ? prm->threads : crsae__online_cpus();
    p->halo = halo >= 0 ? halo : crsae_model_halo(model, p->T);
    if (prm->tile_size) {
        p->tile_w = p->tile_h = prm->tile_size;
    } else {
        p->ntx = (W + TILE_MAX_W - 1) / TILE_MAX_W;
        p->tile_w = (W + p->ntx - 1) / p->ntx;
        const double per_pixel = sizeof(float) * (2.0 * threads + p->colours) +
                                 WORKER_BYTES_PER_PIXEL * threads;
        const double rows = TILE_BUDGET / per_pixel / p->tile_w;
        const int th = rows < 64 ? 64 : (rows > CRSAE_MAX_SIDE ? CRSAE_MAX_SIDE : (int)rows);
        p->nty = (H + th - 1) / th;
        p->tile_h = (H + p->nty - 1) / p->nty;
    }
    p->ntx = (W + p->tile_w - 1) / p->tile_w;
    p->nty = (H + p->tile_h - 1) / p->tile_h;
    p->ntiles = p->ntx * p->nty;
    int tmax_h = p->tile_h < H ? p->tile_h : H, tmax_w = p->tile_w < W ? p->tile_w : W;
    p->nu_max = (tmax_h + 2 * p->halo + p->K) / p->s + 3;
    p->nv_max = (tmax_w + 2 * p->halo + p->K) / p->s + 3;
    if (p->nu_max > p->Nu_g)
        p->nu_max = p->Nu_g;
    if (p->nv_max > p->Nv_g)
        p->nv_max = p->Nv_g;
    const int items = p->ntiles * p->per_tile;
    if (threads > items)
        threads = items;
    /* two slots per thread: a thread that finishes an item ahead of an
     * earlier one goes on with the next while that one is still running */
    p->nslots = 2 * threads;

    p->slot_size = (size_t)tmax_h * (size_t)tmax_w;
    p->nworkers = threads;
    crsae__carver sizing = {NULL, 0, 1};
    carve(p, &sizing); /* counts only */
    if (!sizing.ok)
        return CRSAE_ERR_TOO_LARGE;

    st = CRSAE_ERR_NOMEM;
    p->bias = crsae__malloc((size_t)p->C * sizeof(float));
    if (!p->bias)
        goto done;
    st = crsae_model_thresholds(model, prm->sigma, p->bias);
    if (st != CRSAE_OK)
        goto done;
    st = CRSAE_ERR_NOMEM;
    /* the encoder's kernels multiply in bfloat16 unless asked not to */
    if (crsae__pack_init(&p->dec, model->dec, p->C, p->K) ||
        (!prm->precise && crsae__pack_bf16(&p->dec) < 0))
        goto done;
    p->enc = p->dec;
    p->out = p->dec;
    if (model->untied) {
        memset(&p->enc, 0, sizeof p->enc);
        memset(&p->out, 0, sizeof p->out);
        if (crsae__pack_init(&p->enc, model->enc, p->C, p->K) ||
            (!prm->precise && crsae__pack_bf16(&p->enc) < 0) ||
            crsae__pack_init(&p->out, model->out, p->C, p->K))
            goto done;
    }
    p->encoder.dec = &p->dec;
    p->encoder.enc = &p->enc;
    p->encoder.out = &p->out;
    p->encoder.bias = p->bias;
    p->encoder.inv_lipschitz = 1.0f / model->lipschitz;
    p->encoder.iterations = p->T;
    p->workers = crsae__calloc((size_t)threads, sizeof(worker));
    p->arena = crsae__malloc_aligned(sizing.used);
    if (!p->workers || !p->arena)
        goto done;
    crsae__advise_huge(p->arena, sizing.used);
    crsae__carver block = {p->arena, 0, 1};
    carve(p, &block);
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        st = CRSAE_ERR_THREAD;
        goto done;
    }
    if (pthread_cond_init(&p->work_cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        st = CRSAE_ERR_THREAD;
        goto done;
    }
    if (pthread_cond_init(&p->done_cv, NULL) != 0) {
        pthread_cond_destroy(&p->work_cv);
        pthread_mutex_destroy(&p->mu);
        st = CRSAE_ERR_THREAD;
        goto done;
    }
    st = run_items(p, prm);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    if (st == CRSAE_OK)
        for (int r = 0; r < H; r++)
            memcpy(out + (size_t)r * out_stride, p->staging + (size_t)r * W * ch,
                   (size_t)W * ch * sizeof(float));
done:
    plan_free(p);
    return st;
}
