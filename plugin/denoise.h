/* denoise.h - the plug-in's bridge from a drawable to the crsae core. */
#ifndef CRSAE_GIMP_DENOISE_H
#define CRSAE_GIMP_DENOISE_H

#include <libgimp/gimp.h>

#include "crsae.h"

typedef struct crsae_gimp_settings {
    gdouble noise_level; /* 0..255; 0 = estimate */
    gint iterations;     /* 0 = the model's */
    gint shifts;         /* 0 = all */
    gint chroma_shifts;  /* colour: shifts of the chroma planes; 0 = as shifts */
    gint quality;        /* a crsae_quality */
    gchar *model_path;   /* NULL or "" = built-in */
} crsae_gimp_settings;

/* Reads the settings from a procedure config (caller frees model_path). */
void crsae_gimp_settings_from_config(GimpProcedureConfig *config, crsae_gimp_settings *s);

/* Loads the model named by the settings; NULL with *error set on failure. */
crsae_model *crsae_gimp_load_model(const crsae_gimp_settings *s, GError **error);

/* Estimates the noise level (0..255) of the drawable's selected area. */
gboolean crsae_gimp_estimate(GimpDrawable *drawable, gdouble *noise_level, GError **error);

/* Denoises the selected part of the drawable through its shadow buffer in
 * one undo step.  progress: whether to drive GIMP's progress bar. */
gboolean crsae_gimp_denoise_drawable(GimpDrawable *drawable, const crsae_model *model,
                                     const crsae_gimp_settings *s, gboolean progress,
                                     GError **error);

/* Denoises a float buffer in place (for the preview): ch channels.  Safe
 * on any thread (no GIMP calls); cancel (may be NULL) is the core's
 * progress callback: nonzero stops, FALSE without an error set. */
gboolean crsae_gimp_denoise_pixels(const crsae_model *model, const crsae_gimp_settings *s,
                                   gfloat *pixels, gint width, gint height, gint ch,
                                   crsae_progress_fn cancel, void *user, GError **error);

/* The babl format crsae works in for this drawable. */
const Babl *crsae_gimp_format(GimpDrawable *drawable);

#endif
