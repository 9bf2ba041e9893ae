/* learn.h - "Learn from this image": adapt a model to the drawable's noisy
 * pixels (crsae_train_noisy_image) and keep it in the user's GIMP folder,
 * where the denoise dialog lists it. */
#ifndef CRSAE_GIMP_LEARN_H
#define CRSAE_GIMP_LEARN_H

#include <libgimp/gimp.h>

#include "crsae.h"

/* One learning run.  Prepared on GIMP's thread (it reads the drawable);
 * crsae_gimp_learn_run touches only the core and the file system, so it
 * may run on a worker thread while the dialog polls fraction and sets
 * cancel. */
typedef struct crsae_gimp_learn {
    gfloat *pixels;
    gint width, height, channels;
    gdouble sigma;       /* 0..255 */
    gdouble seconds;     /* time budget */
    crsae_model *model;  /* the start, then the result */
    gchar *path;         /* where the model goes */
    gchar *source;       /* the image's name, for the model's provenance */
    /* shared with the thread that polls */
    gint cancel;         /* set to 1 to stop; the model is then not written */
    gdouble fraction;    /* of the budget used */
    gint steps;
    crsae_status status;
    crsae_adapt_outcome outcome; /* set with status CRSAE_OK */
    /* optional, called after every step on the thread that runs */
    void (*tick)(gdouble fraction, gpointer user);
    gpointer tick_user;
} crsae_gimp_learn;

/* The folder of the user's models: gimp_directory()/crsae (created). */
gchar *crsae_gimp_models_dir(void);

/* The user's models (full paths, sorted by name); free with g_list_free_full. */
GList *crsae_gimp_user_models(void);

/* A model's display name: its file name without .crsae. */
gchar *crsae_gimp_model_label(const gchar *path);

/* Reads the drawable's selected area, estimates its noise level when
 * noise_level is 0, loads the start model (start_path NULL or "" = built-in)
 * and picks the output file from name (empty: the image's name; an existing
 * file is not overwritten: "-2", "-3"... are appended). */
crsae_gimp_learn *crsae_gimp_learn_prepare(GimpDrawable *drawable, gdouble noise_level,
                                           const gchar *start_path, const gchar *name,
                                           gdouble seconds, GError **error);

/* Trains until the budget is spent (or cancel), then writes the model
 * atomically: the adapted one, or a copy of the start model when adapting
 * did not lower the image's estimated error (job->outcome says which).
 * CRSAE_OK when a model file was written. */
crsae_status crsae_gimp_learn_run(crsae_gimp_learn *job);

void crsae_gimp_learn_free(crsae_gimp_learn *job);

#endif
