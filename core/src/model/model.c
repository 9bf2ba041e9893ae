/* model.c - the model handle: creation, copies, accessors and the rule
 * that turns a noise level into per-filter thresholds. */
#include "base/alloc.h"
#include "model/model.h"

#include <math.h>
#include <string.h>

crsae_status crsae__check_dimensions(int filters, int size, int stride, int untied)
{
    if (filters < 1 || filters > CRSAE_MAX_FILTERS || size < 1 || size > CRSAE_MAX_SIZE ||
        stride < 1 || stride > size || (untied != 0 && untied != 1))
        return CRSAE_ERR_MODEL_DIMENSIONS;
    return CRSAE_OK;
}

crsae_status crsae_model_new(crsae_model **out, int filters, int size, int stride, int untied)
{
    if (!out)
        return CRSAE_ERR_INVALID_ARGUMENT;
    *out = NULL;
    crsae_status st = crsae__check_dimensions(filters, size, stride, untied);
    if (st != CRSAE_OK)
        return CRSAE_ERR_INVALID_ARGUMENT;
    size_t bank;
    if (!crsae__mul3((size_t)filters, (size_t)size, (size_t)size, &bank))
        return CRSAE_ERR_TOO_LARGE;
    crsae_model *m = crsae__calloc(1, sizeof *m);
    if (!m)
        return CRSAE_ERR_NOMEM;
    m->filters = filters;
    m->size = size;
    m->stride = stride;
    m->untied = untied != 0;
    m->iterations = 15;
    m->lipschitz = 1.0f;
    m->sigma_train = 20.0f / 255.0f;
    m->bias_exponent = 1.0f;
    m->dec = crsae__calloc(bank * (m->untied ? 3 : 1), sizeof(float));
    m->lambda = crsae__calloc((size_t)filters, sizeof(float));
    m->provenance = crsae__calloc(1, 1);
    if (!m->dec || !m->lambda || !m->provenance) {
        crsae_model_free(m);
        return CRSAE_ERR_NOMEM;
    }
    m->enc = m->untied ? m->dec + bank : m->dec;
    m->out = m->untied ? m->dec + 2 * bank : m->dec;
    *out = m;
    return CRSAE_OK;
}

void crsae_model_free(crsae_model *m)
{
    if (!m)
        return;
    crsae__free(m->dec);
    crsae__free(m->lambda);
    crsae__free(m->provenance);
    crsae__free(m);
}

static size_t bank_floats(const crsae_model *m)
{
    return (size_t)m->filters * (size_t)m->size * (size_t)m->size;
}

crsae_status crsae_model_copy(crsae_model **out, const crsae_model *src)
{
    if (!out || !src)
        return CRSAE_ERR_INVALID_ARGUMENT;
    *out = NULL;
    crsae_model *m;
    crsae_status st = crsae_model_new(&m, src->filters, src->size, src->stride, src->untied);
    if (st != CRSAE_OK)
        return st;
    memcpy(m->dec, src->dec, bank_floats(src) * (src->untied ? 3 : 1) * sizeof(float));
    memcpy(m->lambda, src->lambda, (size_t)src->filters * sizeof(float));
    m->iterations = src->iterations;
    m->lipschitz = src->lipschitz;
    m->sigma_train = src->sigma_train;
    m->bias_exponent = src->bias_exponent;
    st = crsae_model_set_provenance(m, src->provenance);
    if (st != CRSAE_OK) {
        crsae_model_free(m);
        return st;
    }
    *out = m;
    return CRSAE_OK;
}

void crsae_model_get_info(const crsae_model *m, crsae_model_info *info)
{
    if (!m || !info)
        return;
    info->filters = m->filters;
    info->size = m->size;
    info->stride = m->stride;
    info->iterations = m->iterations;
    info->untied = m->untied;
    info->lipschitz = m->lipschitz;
    info->sigma_train = m->sigma_train;
    info->bias_exponent = m->bias_exponent;
    info->provenance = m->provenance;
}

static float *bank_ptr(const crsae_model *m, crsae_bank bank)
{
    switch (bank) {
    case CRSAE_BANK_DECODER: return m->dec;
    case CRSAE_BANK_ENCODER: return m->enc;
    case CRSAE_BANK_OUTPUT: return m->out;
    }
    return NULL;
}

static bool all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

crsae_status crsae_model_set_bank(crsae_model *m, crsae_bank bank, const float *w)
{
    if (!m || !w)
        return CRSAE_ERR_INVALID_ARGUMENT;
    float *dst = bank_ptr(m, bank);
    if (!dst)
        return CRSAE_ERR_INVALID_ARGUMENT;
    if (!all_finite(w, bank_floats(m)))
        return CRSAE_ERR_NONFINITE;
    memcpy(dst, w, bank_floats(m) * sizeof(float));
    return CRSAE_OK;
}

crsae_status crsae_model_get_bank(const crsae_model *m, crsae_bank bank, float *w)
{
    if (!m || !w)
        return CRSAE_ERR_INVALID_ARGUMENT;
    const float *src = bank_ptr(m, bank);
    if (!src)
        return CRSAE_ERR_INVALID_ARGUMENT;
    memcpy(w, src, bank_floats(m) * sizeof(float));
    return CRSAE_OK;
}

crsae_status crsae_model_set_lambda(crsae_model *m, const float *lambda)
{
    if (!m || !lambda)
        return CRSAE_ERR_INVALID_ARGUMENT;
    for (int c = 0; c < m->filters; c++)
        if (!isfinite(lambda[c]) || lambda[c] < 0.0f)
            return CRSAE_ERR_INVALID_ARGUMENT;
    memcpy(m->lambda, lambda, (size_t)m->filters * sizeof(float));
    return CRSAE_OK;
}

crsae_status crsae_model_get_lambda(const crsae_model *m, float *lambda)
{
    if (!m || !lambda)
        return CRSAE_ERR_INVALID_ARGUMENT;
    memcpy(lambda, m->lambda, (size_t)m->filters * sizeof(float));
    return CRSAE_OK;
}

crsae_status crsae_model_set_params(crsae_model *m, int iterations, float lipschitz,
                                    float sigma_train, float bias_exponent)
{
    if (!m || iterations < 1 || iterations > CRSAE_MAX_ITERATIONS || !isfinite(lipschitz) ||
        !(lipschitz > 0.0f) || !isfinite(sigma_train) || !(sigma_train > 0.0f) ||
        !isfinite(bias_exponent) || bias_exponent < 0.0f || bias_exponent > 4.0f)
        return CRSAE_ERR_INVALID_ARGUMENT;
    m->iterations = iterations;
    m->lipschitz = lipschitz;
    m->sigma_train = sigma_train;
    m->bias_exponent = bias_exponent;
    return CRSAE_OK;
}

crsae_status crsae_model_set_provenance(crsae_model *m, const char *text)
{
    if (!m || !text)
        return CRSAE_ERR_INVALID_ARGUMENT;
    size_t n = strlen(text);
    if (n > CRSAE_MAX_PROVENANCE)
        return CRSAE_ERR_MODEL_TEXT;
    char *copy = crsae__malloc(n + 1);
    if (!copy)
        return CRSAE_ERR_NOMEM;
    memcpy(copy, text, n + 1);
    crsae__free(m->provenance);
    m->provenance = copy;
    return CRSAE_OK;
}

crsae_status crsae_model_thresholds(const crsae_model *m, float sigma, float *bias)
{
    if (!m || !bias || !isfinite(sigma) || !(sigma > 0.0f))
        return CRSAE_ERR_INVALID_ARGUMENT;
    double base = (double)m->sigma_train * m->sigma_train / m->lipschitz;
    double scale = pow((double)sigma / m->sigma_train, m->bias_exponent);
    for (int c = 0; c < m->filters; c++)
        bias[c] = (float)(m->lambda[c] * base * scale);
    return CRSAE_OK;
}
