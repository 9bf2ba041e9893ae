/* checkpoint.c - the training state (Adam's moments, the steps done, the
 * settings) and the checkpoint file that carries it with its model:
 *   "CRSAECKP" | u32 version | u32 model bytes | model file |
 *   u32 step, nparam, filters, patch, batch, steps, learn_bias,
 *   flags (ensemble bit 0, self_supervised bit 1, cosine schedule bit 2),
 *   seed low, seed high | f32 sigma, learning rate, L of the last step,
 *   sigma_max (version 2; version 1 ends before it) |
 *   f32 adam_m[nparam], adam_v[nparam], lambda0[filters], bias[filters] |
 *   u32 CRC-32 of all before. */
#include "base/alloc.h"
#include "base/bytes.h"
#include "base/file.h"
#include "model/model.h"
#include "model/state.h"

#include <math.h>

static const unsigned char CKPT_MAGIC[8] = {'C', 'R', 'S', 'A', 'E', 'C', 'K', 'P'};
#define CKPT_VERSION 2u /* 2 added sigma_max and the cosine schedule; 1 is read */
#define CKPT_U32 10u    /* u32 fields of the state */
#define CKPT_FIELDS 14u /* and the f32 after them (three in version 1) */
#define CKPT_MAX (256u * 1024u * 1024u)

crsae_status crsae_train_state_new(crsae_train_state **out)
{
    if (!out)
        return CRSAE_ERR_INVALID_ARGUMENT;
    *out = crsae__calloc(1, sizeof **out);
    return *out ? CRSAE_OK : CRSAE_ERR_NOMEM;
}

void crsae_train_state_free(crsae_train_state *s)
{
    if (!s)
        return;
    crsae__free(s->adam_m);
    crsae__free(s->adam_v);
    crsae__free(s->lambda0);
    crsae__free(s->bias);
    crsae__free(s);
}

int crsae_train_state_step(const crsae_train_state *s)
{
    return s ? s->step : 0;
}

crsae_status crsae_train_state_params(const crsae_train_state *s, crsae_train_params *p)
{
    if (!s || !p || s->nparam == 0)
        return CRSAE_ERR_INVALID_ARGUMENT;
    p->sigma = s->prm.sigma;
    p->patch = s->prm.patch;
    p->batch = s->prm.batch;
    p->steps = s->prm.steps;
    p->learning_rate = s->prm.learning_rate;
    p->learn_bias = s->prm.learn_bias;
    p->seed = s->prm.seed;
    p->ensemble = s->prm.ensemble;
    p->self_supervised = s->prm.self_supervised;
    p->sigma_max = s->prm.sigma_max;
    p->lr_cosine = s->prm.lr_cosine;
    return CRSAE_OK;
}

crsae_status crsae__train_state_alloc(crsae_train_state *s, int nparam, int filters)
{
    s->adam_m = crsae__calloc((size_t)nparam, sizeof(float));
    s->adam_v = crsae__calloc((size_t)nparam, sizeof(float));
    s->lambda0 = crsae__calloc((size_t)filters, sizeof(float));
    s->bias = crsae__calloc((size_t)filters, sizeof(float));
    if (!s->adam_m || !s->adam_v || !s->lambda0 || !s->bias) {
        crsae__free(s->adam_m);
        crsae__free(s->adam_v);
        crsae__free(s->lambda0);
        crsae__free(s->bias);
        s->adam_m = s->adam_v = s->lambda0 = s->bias = NULL;
        return CRSAE_ERR_NOMEM;
    }
    s->nparam = nparam;
    s->filters = filters;
    s->step = 0;
    return CRSAE_OK;
}

static size_t state_bytes(const crsae_train_state *s)
{
    return 4u * (CKPT_FIELDS + 2u * (size_t)s->nparam + 2u * (size_t)s->filters);
}

/* bits of the flags field */
#define FLAG_ENSEMBLE 1u
#define FLAG_SURE 2u
#define FLAG_COSINE 4u

crsae_status crsae_checkpoint_save_file(const crsae_model *m, const crsae_train_state *s,
                                        const char *path)
{
    if (!m || !s || !path || !*path || s->nparam == 0 || s->filters != m->filters)
        return CRSAE_ERR_INVALID_ARGUMENT;
    void *model;
    size_t msize;
    crsae_status st = crsae_model_save_memory(m, &model, &msize);
    if (st != CRSAE_OK)
        return st;
    size_t total = 16 + msize + state_bytes(s) + 4;
    unsigned char *buf = crsae__malloc(total);
    if (!buf) {
        crsae__free(model);
        return CRSAE_ERR_NOMEM;
    }
    unsigned char *p = buf;
    memcpy(p, CKPT_MAGIC, 8);
    crsae__put_u32(p + 8, CKPT_VERSION);
    crsae__put_u32(p + 12, (uint32_t)msize);
    memcpy(p + 16, model, msize);
    crsae__free(model);
    p += 16 + msize;
    const uint32_t fields[CKPT_U32] = {
        (uint32_t)s->step,          (uint32_t)s->nparam,         (uint32_t)s->filters,
        (uint32_t)s->prm.patch,     (uint32_t)s->prm.batch,      (uint32_t)s->prm.steps,
        (uint32_t)s->prm.learn_bias, (uint32_t)((s->prm.ensemble ? FLAG_ENSEMBLE : 0u) | (s->prm.self_supervised ? FLAG_SURE : 0u) |
                   (s->prm.lr_cosine ? FLAG_COSINE : 0u)),   (uint32_t)s->prm.seed,
        (uint32_t)(s->prm.seed >> 32)};
    for (unsigned i = 0; i < CKPT_U32; i++, p += 4)
        crsae__put_u32(p, fields[i]);
    crsae__put_f32(p, s->prm.sigma);
    crsae__put_f32(p + 4, s->prm.learning_rate);
    crsae__put_f32(p + 8, s->lipschitz);
    crsae__put_f32(p + 12, s->prm.sigma_max);
    p += 16;
    for (int i = 0; i < s->nparam; i++, p += 4)
        crsae__put_f32(p, s->adam_m[i]);
    for (int i = 0; i < s->nparam; i++, p += 4)
        crsae__put_f32(p, s->adam_v[i]);
    for (int i = 0; i < s->filters; i++, p += 4)
        crsae__put_f32(p, s->lambda0[i]);
    for (int i = 0; i < s->filters; i++, p += 4)
        crsae__put_f32(p, s->bias[i]);
    crsae__put_u32(p, crsae__crc32(0, buf, (size_t)(p - buf)));
    st = crsae__write_atomic(path, buf, total);
    crsae__free(buf);
    return st;
}

/* The model's Adam parameter count: banks then thresholds. */
static size_t model_nparam(const crsae_model *m)
{
    return (size_t)m->filters * m->size * m->size * (m->untied ? 3u : 1u) + (size_t)m->filters;
}

static crsae_status parse(const unsigned char *buf, size_t n, crsae_model **mout,
                          crsae_train_state **sout)
{
    if (n < 8 || memcmp(buf, CKPT_MAGIC, 8) != 0)
        return CRSAE_ERR_MODEL_MAGIC;
    if (n < 16)
        return CRSAE_ERR_MODEL_TRUNCATED;
    const uint32_t version = crsae__get_u32(buf + 8);
    if (version != 1u && version != CKPT_VERSION)
        return CRSAE_ERR_MODEL_VERSION;
    const size_t nfields = version == 1u ? CKPT_FIELDS - 1u : CKPT_FIELDS;
    size_t msize = crsae__get_u32(buf + 12);
    if (msize > n - 16 || n - 16 - msize < 4u * nfields + 4u)
        return CRSAE_ERR_MODEL_TRUNCATED;
    if (crsae__crc32(0, buf, n - 4) != crsae__get_u32(buf + n - 4)) {
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
        return CRSAE_ERR_MODEL_CHECKSUM;
#endif
    }
    crsae_model *m;
    crsae_status st = crsae_model_load_memory(&m, buf + 16, msize);
    if (st != CRSAE_OK)
        return st;
    const unsigned char *p = buf + 16 + msize;
    uint32_t f[CKPT_U32];
    for (unsigned i = 0; i < CKPT_U32; i++, p += 4)
        f[i] = crsae__get_u32(p);
    crsae_train_state *s = NULL;
    st = CRSAE_ERR_STATE_MISMATCH;
    if (f[1] != model_nparam(m) || f[2] != (uint32_t)m->filters)
        goto fail;
    size_t need = 4u * (nfields + 2u * ((size_t)f[1] + f[2]));
    st = CRSAE_ERR_MODEL_TRUNCATED;
    if (n - 16 - msize - 4 < need)
        goto fail;
    st = CRSAE_ERR_MODEL_TRAILING;
    if (n - 16 - msize - 4 > need)
        goto fail;
    st = CRSAE_ERR_MODEL_VALUE;
    if (f[0] > (uint32_t)INT32_MAX || f[3] < (uint32_t)m->size || f[3] > 1024 || f[4] < 1 ||
        f[4] > 4096 || f[5] > (uint32_t)INT32_MAX || f[6] > CRSAE_BIAS_EM ||
        f[7] > (FLAG_ENSEMBLE | FLAG_SURE | FLAG_COSINE))
        goto fail;
    if ((st = crsae_train_state_new(&s)) != CRSAE_OK ||
        (st = crsae__train_state_alloc(s, (int)f[1], (int)f[2])) != CRSAE_OK)
        goto fail;
    s->step = (int)f[0];
    s->prm.patch = (int)f[3];
    s->prm.batch = (int)f[4];
    s->prm.steps = (int)f[5];
    s->prm.learn_bias = (int)f[6];
    s->prm.ensemble = (f[7] & FLAG_ENSEMBLE) != 0;
    s->prm.self_supervised = (f[7] & FLAG_SURE) != 0;
    s->prm.lr_cosine = (f[7] & FLAG_COSINE) != 0;
    s->prm.seed = (uint64_t)f[8] | (uint64_t)f[9] << 32;
    s->prm.sigma = crsae__get_f32(p);
    s->prm.learning_rate = crsae__get_f32(p + 4);
    s->lipschitz = crsae__get_f32(p + 8);
    s->prm.sigma_max = version == 1u ? 0.0f : crsae__get_f32(p + 12);
    p += 4u * (nfields - CKPT_U32);
    st = CRSAE_ERR_MODEL_VALUE;
    if (!(s->prm.sigma > 0.0f && s->prm.sigma < 1e3f) ||
        !(s->prm.sigma_max == 0.0f ||
          (s->prm.sigma_max >= s->prm.sigma && s->prm.sigma_max < 1e3f)) ||
        !(s->prm.learning_rate > 0.0f && s->prm.learning_rate <= 1.0f) ||
        !(s->lipschitz > 0.0f && s->lipschitz < 1e30f))
        goto fail;
    for (int i = 0; i < s->nparam; i++, p += 4)
        s->adam_m[i] = crsae__get_f32(p);
    for (int i = 0; i < s->nparam; i++, p += 4)
        s->adam_v[i] = crsae__get_f32(p);
    for (int i = 0; i < s->filters; i++, p += 4)
        s->lambda0[i] = crsae__get_f32(p);
    for (int i = 0; i < s->filters; i++, p += 4)
        s->bias[i] = crsae__get_f32(p);
    for (int i = 0; i < s->nparam; i++)
        if (!isfinite(s->adam_m[i]) || !(s->adam_v[i] >= 0.0f) || !isfinite(s->adam_v[i]))
            goto fail;
    for (int i = 0; i < s->filters; i++)
        if (!(s->lambda0[i] >= 0.0f) || !isfinite(s->lambda0[i]) || !(s->bias[i] >= 0.0f) ||
            !isfinite(s->bias[i]))
            goto fail;
    *mout = m;
    *sout = s;
    return CRSAE_OK;
fail:
    crsae_train_state_free(s);
    crsae_model_free(m);
    return st;
}

crsae_status crsae_checkpoint_load_file(const char *path, crsae_model **model,
                                        crsae_train_state **state)
{
    if (!path || !model || !state)
        return CRSAE_ERR_INVALID_ARGUMENT;
    *model = NULL;
    *state = NULL;
    unsigned char *buf;
    size_t n;
    crsae_status st = crsae__read_file(path, CKPT_MAX, &buf, &n);
    if (st != CRSAE_OK)
        return st;
    st = parse(buf, n, model, state);
    crsae__free(buf);
    return st;
}
