/* crsae.h - the one public header of libcrsae.
 *
 * libcrsae denoises images with a learned convolutional dictionary the
 * CRsAE way (Tolooshams, Dey & Ba, 2019): T unrolled FISTA iterations with a
 * two-sided soft threshold encode an image into a sparse code, the
 * dictionary decodes it.  Pixel values are floats on the [0,1] scale; noise
 * levels passed to the library are on the same scale (sigma_255 / 255).
 *
 * Conventions
 * - Every function that can fail returns a crsae_status; CRSAE_OK is 0.
 * - Handles are opaque; *_free(NULL) is a no-op.
 * - The library never prints, never aborts and keeps no global mutable
 *   state; it is safe to use different handles from different threads and
 *   one model from several threads at once (models are read-only while
 *   denoising).
 * - Output buffers are written only when a call succeeds.
 */
#ifndef CRSAE_H
#define CRSAE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CRSAE_BUILDING) && defined(__GNUC__)
#define CRSAE_API __attribute__((visibility("default")))
#else
#define CRSAE_API
#endif

#define CRSAE_VERSION_MAJOR 0
#define CRSAE_VERSION_MINOR 1
#define CRSAE_VERSION_PATCH 0
#define CRSAE_VERSION_STRING "0.1.0"

/* Stable error codes: numbers are never reused. */
typedef enum crsae_status {
    CRSAE_OK = 0,
    CRSAE_ERR_NOMEM = 1,            /* an allocation failed */
    CRSAE_ERR_INVALID_ARGUMENT = 2, /* NULL pointer, bad size or option */
    CRSAE_ERR_CANCELLED = 3,        /* the progress callback asked to stop */
    CRSAE_ERR_TOO_LARGE = 4,        /* a size overflows or exceeds a cap */
    CRSAE_ERR_NONFINITE = 5,        /* the input holds NaN or infinity */
    CRSAE_ERR_THREAD = 6,           /* a worker thread could not start */
    CRSAE_ERR_OPEN = 7,             /* a file could not be opened */
    CRSAE_ERR_READ = 8,             /* reading a file failed */
    CRSAE_ERR_WRITE = 9,            /* writing a file failed (disk full...) */
    CRSAE_ERR_MODEL_MAGIC = 10,     /* not a .crsae model file */
    CRSAE_ERR_MODEL_VERSION = 11,   /* a model format version we don't read */
    CRSAE_ERR_MODEL_TRUNCATED = 12, /* the file ends too early */
    CRSAE_ERR_MODEL_DIMENSIONS = 13,/* filters/size/stride out of range */
    CRSAE_ERR_MODEL_VALUE = 14,     /* a parameter is NaN, infinite or out of range */
    CRSAE_ERR_MODEL_CHECKSUM = 15,  /* the checksum does not match */
    CRSAE_ERR_MODEL_TRAILING = 16,  /* bytes after the end of the model */
    CRSAE_ERR_MODEL_FLAGS = 17,     /* unknown flag bits or header size */
    CRSAE_ERR_MODEL_TEXT = 18,      /* provenance text too long or not UTF-8 */
    CRSAE_ERR_STATE_MISMATCH = 19   /* a training state that belongs to another model */
} crsae_status;

/* A short English sentence for a status; never NULL. */
CRSAE_API const char *crsae_strerror(crsae_status status);

CRSAE_API const char *crsae_version_string(void);

/* Hard limits the library enforces (documented in models/FORMAT.md). */
#define CRSAE_MAX_FILTERS 1024
#define CRSAE_MAX_SIZE 31
#define CRSAE_MAX_ITERATIONS 1000
#define CRSAE_MAX_PROVENANCE 65536
/* Largest image side and pixel count accepted by the denoiser. */
#define CRSAE_MAX_SIDE 1000000
#define CRSAE_MAX_PIXELS ((uint64_t)1 << 32)

/* ------------------------------------------------------------------ */
/* Models                                                              */
/* ------------------------------------------------------------------ */

typedef struct crsae_model crsae_model;

/* Filter banks of a model, each C x K x K floats, filter-major, row-major
 * inside a filter (PyTorch's weight layout C x 1 x K x K).
 * DECODER is H: the synthesis dictionary used inside the FISTA loop.
 * ENCODER is W_e: the analysis filters of the loop (equal to H when tied).
 * OUTPUT is W_d: the final reconstruction (equal to H when tied). */
typedef enum crsae_bank {
    CRSAE_BANK_DECODER = 0,
    CRSAE_BANK_ENCODER = 1,
    CRSAE_BANK_OUTPUT = 2
} crsae_bank;

typedef struct crsae_model_info {
    int filters;          /* C */
    int size;             /* K: filters are K x K */
    int stride;           /* s */
    int iterations;       /* default number of FISTA iterations T */
    int untied;           /* 0: one bank H; 1: H, W_e, W_d */
    float lipschitz;      /* L: FISTA step is 1/L */
    float sigma_train;    /* noise level ([0,1] scale) the model was trained at */
    float bias_exponent;  /* threshold rule: b_c(sigma) = lambda_c sigma_train^2/L (sigma/sigma_train)^p */
    const char *provenance; /* UTF-8, owned by the model, never NULL */
} crsae_model_info;

/* A new model with zero filters, lambda 0, L 1, sigma_train 20/255,
 * bias_exponent 1 and iterations 15. */
CRSAE_API crsae_status crsae_model_new(crsae_model **out, int filters, int size,
                                       int stride, int untied);
CRSAE_API void crsae_model_free(crsae_model *model);
CRSAE_API crsae_status crsae_model_copy(crsae_model **out, const crsae_model *model);

CRSAE_API void crsae_model_get_info(const crsae_model *model, crsae_model_info *info);

/* Copy a bank in or out (C*K*K floats).  For a tied model every bank names
 * the same filters. */
CRSAE_API crsae_status crsae_model_set_bank(crsae_model *model, crsae_bank bank,
                                            const float *weights);
CRSAE_API crsae_status crsae_model_get_bank(const crsae_model *model, crsae_bank bank,
                                            float *weights);
/* Per-filter lambda (C floats). */
CRSAE_API crsae_status crsae_model_set_lambda(crsae_model *model, const float *lambda);
CRSAE_API crsae_status crsae_model_get_lambda(const crsae_model *model, float *lambda);
CRSAE_API crsae_status crsae_model_set_params(crsae_model *model, int iterations,
                                              float lipschitz, float sigma_train,
                                              float bias_exponent);
/* Copies the text (at most CRSAE_MAX_PROVENANCE bytes, UTF-8). */
CRSAE_API crsae_status crsae_model_set_provenance(crsae_model *model, const char *text);

/* Largest eigenvalue of H^T H (stride s, all shifts) by power iteration. */
CRSAE_API crsae_status crsae_model_estimate_lipschitz(const crsae_model *model,
                                                      float *lipschitz);

/* The per-filter soft threshold used at noise level sigma ([0,1] scale). */
CRSAE_API crsae_status crsae_model_thresholds(const crsae_model *model, float sigma,
                                              float *bias);

/* Model files (.crsae, format v1, see models/FORMAT.md).  Loaders validate
 * every field before allocating; each fault has its own status.  The file
 * writer writes a temporary file beside the target and renames it, so the
 * target is either the old file or the complete new one. */
CRSAE_API crsae_status crsae_model_load_memory(crsae_model **out, const void *data,
                                               size_t size);
CRSAE_API crsae_status crsae_model_load_file(crsae_model **out, const char *path);
/* *data is allocated with the library's allocator; free with crsae_free(). */
CRSAE_API crsae_status crsae_model_save_memory(const crsae_model *model, void **data,
                                               size_t *size);
CRSAE_API crsae_status crsae_model_save_file(const crsae_model *model, const char *path);

/* The default model built into the library. */
CRSAE_API crsae_status crsae_model_default(crsae_model **out);

/* ------------------------------------------------------------------ */
/* Allocator                                                           */
/* ------------------------------------------------------------------ */

/* Replace the allocator used by every later call (for tests that fail
 * allocations on purpose).  Pass NULLs to restore malloc/free.  Not
 * thread-safe: call before using the library. */
typedef void *(*crsae_malloc_fn)(size_t size, void *user);
typedef void (*crsae_free_fn)(void *ptr, void *user);
CRSAE_API void crsae_set_allocator(crsae_malloc_fn m, crsae_free_fn f, void *user);
CRSAE_API void crsae_free(void *ptr);

/* ------------------------------------------------------------------ */
/* Denoising                                                           */
/* ------------------------------------------------------------------ */

/* Called from the thread that called the library, about 20 times a second
 * and at the end, with the fraction done in [0,1].  Return nonzero to
 * cancel: the call then returns CRSAE_ERR_CANCELLED promptly and leaves
 * the output untouched. */
typedef int (*crsae_progress_fn)(double fraction, void *user);

typedef struct crsae_denoise_params {
    float sigma;        /* noise std on the [0,1] scale; 0 = estimate it on
                           the input (crsae_estimate_noise_level) */
    int iterations;     /* FISTA iterations; 0 = the model's default */
    int shifts;         /* shifts of the ensemble; 0 = all s*s */
    int chroma_shifts;  /* colour images: shifts for the two chroma planes
                           (the first of the luminance's spread-out order);
                           0 = as many as shifts (a cheaper draft: 1) */
    int threads;        /* worker threads; 0 = number of online CPUs */
    int tile_size;      /* output tile side in pixels; 0 = automatic (bounded memory) */
    int transforms;     /* 0 or 1: the image as it is; 8: also its flips and
                           transposes, averaged (8x the work and three more
                           image-sized buffers; crsae_denoise_image/plane) */
    int precise;        /* 0 (default): where the CPU has AVX512-BF16, the
                           encoder's convolutions multiply operands rounded
                           to bfloat16 and add in float (twice as fast; the
                           PSNR moves by less than 0.01 dB); 1: float
                           products everywhere, as on other CPUs */
    crsae_progress_fn progress; /* may be NULL */
    void *progress_user;
} crsae_denoise_params;

CRSAE_API void crsae_denoise_params_init(crsae_denoise_params *params);

/* The speed/quality control users see.  FAST averages CRSAE_FAST_SHIFTS
 * spread-out shifts of the ensemble (14 of 25: a little more than half the
 * work of NORMAL for a stride-5 model); NORMAL all s*s shifts; BEST also the 8 flips and
 * transposes of the image (8x the work of NORMAL).  Sets params->shifts
 * and params->transforms; CRSAE_ERR_INVALID_ARGUMENT for another value. */
typedef enum crsae_quality {
    CRSAE_QUALITY_FAST = 0,
    CRSAE_QUALITY_NORMAL = 1,
    CRSAE_QUALITY_BEST = 2
} crsae_quality;
#define CRSAE_FAST_SHIFTS 14
CRSAE_API crsae_status crsae_denoise_params_set_quality(crsae_denoise_params *params,
                                                        crsae_quality quality);
/* "fast", "normal", "best"; NULL for another value. */
CRSAE_API const char *crsae_quality_name(crsae_quality quality);
/* The quality named by the first len bytes of name; -1 for no quality. */
CRSAE_API int crsae_quality_from_name(const char *name, size_t len);

/* Halo (pixels on each side) a tile needs so that tiled output equals
 * whole-image output within 1e-4, for this model and iteration count. */
CRSAE_API int crsae_model_halo(const crsae_model *model, int iterations);

/* Denoise one plane of floats.  Row i of the input starts at
 * in + i*in_stride (stride in floats, >= width); likewise the output.
 * in and out may be the same buffer. */
CRSAE_API crsae_status crsae_denoise_plane(const crsae_model *model,
                                           const crsae_denoise_params *params,
                                           const float *in, size_t in_stride,
                                           float *out, size_t out_stride,
                                           int width, int height);

/* Denoise an interleaved image of 1 (grey), 2 (grey+alpha), 3 (RGB) or 4
 * (RGBA) channels.  Colour goes through an orthonormal opponent transform
 * so every channel is denoised at the same sigma; alpha is copied.
 * Strides are in floats.  in and out may be the same buffer. */
CRSAE_API crsae_status crsae_denoise_image(const crsae_model *model,
                                           const crsae_denoise_params *params,
                                           const float *in, size_t in_stride,
                                           float *out, size_t out_stride,
                                           int width, int height, int channels);

/* User-facing parameters, declared once: the command line and the GIMP
 * procedure read their names, ranges and defaults from here. */
typedef enum crsae_param {
    CRSAE_PARAM_NOISE_LEVEL = 0, /* sigma on the 0..255 scale; 0 = estimate */
    CRSAE_PARAM_ITERATIONS = 1,  /* 0 = the model's own count */
    CRSAE_PARAM_SHIFTS = 2,      /* 0 = all s*s shifts */
    CRSAE_PARAM_THREADS = 3,     /* 0 = one per online CPU */
    CRSAE_PARAM_QUALITY = 4,     /* a crsae_quality */
    CRSAE_PARAM_LEARN_SECONDS = 5, /* learning from a photo: its time
                                      budget; 0 = crsae_learn_seconds */
    CRSAE_PARAM_DRAFT_SHIFTS = 6,  /* a preview's quick first draft: shifts */
    CRSAE_PARAM_DRAFT_CHROMA_SHIFTS = 7 /* and shifts for each chroma plane */
} crsae_param;
#define CRSAE_PARAM_COUNT 8

typedef struct crsae_param_info {
    const char *name;        /* e.g. "noise-level" (CLI option, procedure argument) */
    const char *nick;        /* short English label */
    const char *description; /* English sentence */
    double min, max, def;
} crsae_param_info;

/* NULL for an unknown parameter. */
CRSAE_API const crsae_param_info *crsae_param_get(crsae_param param);

/* ------------------------------------------------------------------ */
/* Training                                                            */
/* ------------------------------------------------------------------ */

typedef struct crsae_train_report {
    int step, steps;   /* steps done, steps planned */
    double loss;       /* mean squared error of this step's batch, [0,1] scale
                          (with a sigma range, each patch weighted as in the
                          loss: (sigma / its sigma)^2) */
    double psnr;       /* the same as a PSNR in dB */
    double seconds;    /* since the start */
    double budget_used; /* with a time budget (crsae_train_params.seconds):
                           the fraction of it spent, in [0,1]; else 0 */
} crsae_train_report;

/* Called on the calling thread after every step; nonzero cancels. */
typedef int (*crsae_train_progress_fn)(const crsae_train_report *report, void *user);

/* How training updates the thresholds b_c = lambda_c sigma^2 / L. */
enum {
    CRSAE_BIAS_FIXED = 0,    /* kept as they are */
    CRSAE_BIAS_BACKPROP = 1, /* gradient of the reconstruction loss, with Adam */
    CRSAE_BIAS_EM = 2        /* the paper's second stage: lambda_c is the MAP
                                rate of a Laplace prior on filter c's codes
                                under a Gamma prior centred on its start value
                                (models/TRAINING.md has the formula) */
};

/* The optimiser's memory: steps done, the settings it was started with,
 * Adam's moments and the centre of the EM prior.  With the model it is all
 * a run needs to continue exactly as if it had never stopped. */
typedef struct crsae_train_state crsae_train_state;

typedef struct crsae_train_params {
    float sigma;          /* noise std added to the clean patches, [0,1] scale;
                             crsae_train_noisy_image: the photo's, 0 =
                             estimate it (crsae_estimate_noise_level) */
    float sigma_max;      /* > sigma: a noise-level-aware model: each patch's
                             noise std is drawn uniformly from [sigma,
                             sigma_max], its thresholds follow the model's rule
                             (bias_exponent) and its loss is weighted by
                             (sigma / its std)^2, so every noise level counts
                             alike; 0 = sigma only.  Supervised, not EM. */
    int lr_cosine;        /* 1: the Adam step falls from learning_rate to
                             learning_rate / 50 along a half cosine over the
                             planned steps; 0: constant */
    int patch;            /* patch side in pixels (default 64) */
    int batch;            /* patches per step (default 8) */
    int steps;            /* optimiser steps (default 500) */
    float learning_rate;  /* Adam step (default 1e-3) */
    int learn_bias;       /* the thresholds: CRSAE_BIAS_* (default BACKPROP) */
    uint64_t seed;        /* patches, noise and nothing else: same seed, same model */
    int threads;          /* 0 = one per online CPU; the result does not depend on it */
    int ensemble;         /* 1: the loss is on the mean of all s*s shifted
                             reconstructions, as crsae_denoise_* computes it
                             (s*s times the work; untied models need it);
                             -1: 1 for an untied model, 0 for a tied one */
    int self_supervised;  /* 1: the images are noisy photos (noise of std
                             sigma), no clean target: the loss is Stein's
                             unbiased estimate of the denoising error (SURE);
                             twice the work */
    double seconds;       /* a time budget: > 0, training stops with CRSAE_OK
                             after the step at which it is spent (for
                             crsae_train_noisy_image counting the closing
                             risk estimate, as long as the opening one);
                             0: none for crsae_train, the photo's default
                             (crsae_learn_seconds) for
                             crsae_train_noisy_image */
    crsae_train_progress_fn progress;
    void *progress_user;
    crsae_train_state *state; /* NULL, or a state to start from (empty or
                                 resumed) that is kept up to date after
                                 every step; params->steps counts from the
                                 state's first step, not from its current one */
} crsae_train_params;

CRSAE_API void crsae_train_params_init(crsae_train_params *params);

/* Supervised training: random patches of the clean grey images (values in
 * [0,1], dense rows) get fresh noise; the loss 0.5 |clean - W_d x_T(noisy)|^2
 * is back-propagated through all T iterations; Adam updates the banks (the
 * decoder's filters are renormalised to unit norm) and the thresholds.  The
 * model is updated in place, also when cancelled (CRSAE_ERR_CANCELLED): it
 * then holds the parameters of the last finished step.  Its sigma_train
 * becomes params->sigma and L is re-estimated. */
CRSAE_API crsae_status crsae_train(crsae_model *model, const crsae_train_params *params,
                                   const float *const *images, const int *widths,
                                   const int *heights, int count);

/* Estimates, without the clean photo, the mean squared error per colour
 * sample (on the [0,1] scale) of denoising a noisy photo (interleaved, 1-4
 * channels, noise std params->sigma) with the model and params: Stein's
 * unbiased risk estimate, its divergence term by one Gaussian probe drawn
 * from seed (the same seed, the same probe: compare models with one seed).
 * Two denoisings; a photo larger than max_pixels (0 = no limit) is sampled
 * in evenly spread 192 x 192 crops of about max_pixels in all.  The progress
 * callback of params sees the fraction of the whole estimate. */
CRSAE_API crsae_status crsae_estimate_risk(const crsae_model *model,
                                           const crsae_denoise_params *params,
                                           const float *pixels, size_t stride, int width,
                                           int height, int channels, uint64_t seed,
                                           size_t max_pixels, double *mse);

/* What adapting to one photo achieved, by crsae_estimate_risk on the photo
 * (fast quality, at most 2^18 pixels, seed params->seed) before and after. */
typedef struct crsae_adapt_outcome {
    double mse_before, mse_after; /* estimated mean squared error, [0,1] scale */
    int kept; /* 1: the adapted model estimates better and is the result;
                 0: it did not, and the model is the start model again */
} crsae_adapt_outcome;

/* Adapts a model to one noisy photo (interleaved, 1-4 channels as for
 * crsae_denoise_image, alpha ignored) without a clean version: crsae_train
 * in self-supervised mode on the planes the denoiser works on, with
 * params->sigma the photo's noise level (0: estimated).  It keeps the time
 * budget params->seconds (0: crsae_learn_seconds of the photo) all told:
 * the two risk estimates (a second or two each for a megapixel) come
 * before and after the training, and the training stops early enough for
 * the second; the progress callback can stop it sooner (CRSAE_ERR_CANCELLED,
 * the last finished step is judged as usual).  The adapted model is
 * kept only when its estimated error is lower than the start model's;
 * outcome (may be NULL) says which.  Patches shrink to fit a small photo;
 * one smaller than the filters (plus stride - 1 for the ensemble) gives
 * CRSAE_ERR_INVALID_ARGUMENT. */
/* Settings suited to crsae_train_noisy_image from a good model: a small
 * Adam step (1e-4: hundreds of steps on one photo must not undo the model;
 * chosen on held-out Train400 images), small batches of mid-sized
 * patches, steps unbounded, the photo's default time budget, the noise
 * level estimated (sigma 0) and the ensemble as the model is (-1). */
CRSAE_API void crsae_train_params_init_noisy_image(crsae_train_params *params);
/* The default time budget for learning from a photo:
 * CRSAE_LEARN_SECONDS_PER_MP seconds per megapixel, at least that many. */
#define CRSAE_LEARN_SECONDS_PER_MP 60.0
CRSAE_API double crsae_learn_seconds(int width, int height);
CRSAE_API crsae_status crsae_train_noisy_image(crsae_model *model,
                                               const crsae_train_params *params,
                                               const float *pixels, size_t stride, int width,
                                               int height, int channels,
                                               crsae_adapt_outcome *outcome);

/* An empty state: a run that uses it starts at step 0. */
CRSAE_API crsae_status crsae_train_state_new(crsae_train_state **out);
CRSAE_API void crsae_train_state_free(crsae_train_state *state);
/* Steps done so far. */
CRSAE_API int crsae_train_state_step(const crsae_train_state *state);
/* The settings of the run that filled the state (sigma, patch, batch,
 * steps, learning_rate, learn_bias, seed, ensemble, self_supervised;
 * callbacks, threads and
 * state are left as they are).  CRSAE_ERR_INVALID_ARGUMENT if it is empty. */
CRSAE_API crsae_status crsae_train_state_params(const crsae_train_state *state,
                                                crsae_train_params *params);

/* A checkpoint file holds a model and its training state, CRC-checked and
 * written atomically (models/FORMAT.md).  A corrupt file gives the model
 * loader's errors. */
CRSAE_API crsae_status crsae_checkpoint_save_file(const crsae_model *model,
                                                  const crsae_train_state *state,
                                                  const char *path);
CRSAE_API crsae_status crsae_checkpoint_load_file(const char *path, crsae_model **model,
                                                  crsae_train_state **state);

/* Random unit-norm filters (deterministic for a seed) and thresholds
 * suited to sigma: a starting point for crsae_train. */
CRSAE_API crsae_status crsae_model_randomize(crsae_model *model, float sigma, uint64_t seed);

/* ------------------------------------------------------------------ */
/* Noise                                                               */
/* ------------------------------------------------------------------ */

/* Estimate the std of additive white Gaussian noise in an interleaved
 * image (alpha ignored), [0,1] scale.  Works on images of at least 8x8;
 * smaller ones give CRSAE_ERR_INVALID_ARGUMENT. */
CRSAE_API crsae_status crsae_estimate_sigma(const float *in, size_t in_stride,
                                            int width, int height, int channels,
                                            float *sigma);

/* The noise level the library uses when asked to estimate it (a noise
 * level of 0 in crsae_denoise_params or crsae_train_params): the estimate
 * of crsae_estimate_sigma, and at least CRSAE_SIGMA_FLOOR (a clean image
 * is denoised very lightly).  The errors of crsae_estimate_sigma. */
#define CRSAE_SIGMA_FLOOR (0.5f / 255.0f)
CRSAE_API crsae_status crsae_estimate_noise_level(const float *in, size_t in_stride,
                                                  int width, int height, int channels,
                                                  float *sigma);

/* Integer samples of `bits` (8 or 16) and the [0,1] floats of the API:
 * q / (2^bits - 1), and back: clipped to [0,1] (NaN to 0), rounded half
 * up.  The command line's PNG files and the GIMP plug-in's 8- and 16-bit
 * layers both go through these, so they give the same pixels. */
CRSAE_API float crsae_sample_to_float(unsigned q, int bits);
CRSAE_API unsigned crsae_sample_from_float(float v, int bits);

/* Add white Gaussian noise of std sigma to the colour channels of an
 * interleaved image (alpha untouched), deterministic for a given seed. */
CRSAE_API crsae_status crsae_add_noise(float *pixels, size_t stride, int width,
                                       int height, int channels, float sigma,
                                       uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif /* CRSAE_H */
