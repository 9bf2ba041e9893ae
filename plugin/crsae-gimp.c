/* crsae-gimp.c - the GIMP 3 plug-in: registers plug-in-crsae-denoise
 * (Filters > Enhance > Denoise (CRsAE)...) and runs it. */
#include <libgimp/gimp.h>
#include <libgimp/gimpui.h>

#include "../ui/dialog.h"
#include "denoise.h"
#include "i18n.h"
#include "learn.h"

#define PROC_DENOISE "plug-in-crsae-denoise"
#define PROC_LEARN "plug-in-crsae-learn"
#define PLUG_IN_BINARY "crsae-gimp"

typedef struct _CrsaeGimp {
    GimpPlugIn parent_instance;
} CrsaeGimp;

typedef struct _CrsaeGimpClass {
    GimpPlugInClass parent_class;
} CrsaeGimpClass;

#define CRSAE_GIMP_TYPE (crsae_gimp_get_type())
GType crsae_gimp_get_type(void) G_GNUC_CONST;
G_DEFINE_TYPE(CrsaeGimp, crsae_gimp, GIMP_TYPE_PLUG_IN)

static GimpValueArray *error_return(GimpProcedure *procedure, GimpPDBStatusType status,
                                    GError *error)
{
    return gimp_procedure_new_return_values(procedure, status, error);
}

static GimpValueArray *denoise_run(GimpProcedure *procedure, GimpRunMode run_mode,
                                   GimpImage *image, GimpDrawable **drawables,
                                   GimpProcedureConfig *config, gpointer data)
{
    (void)image;
    (void)data;
    GError *error = NULL;
    gegl_init(NULL, NULL);
    if (gimp_core_object_array_get_length((GObject **)drawables) != 1) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0,
                    _("Denoise (CRsAE) works on one layer at a time; select exactly one."));
        return error_return(procedure, GIMP_PDB_CALLING_ERROR, error);
    }
    GimpDrawable *drawable = drawables[0];
    if (gimp_drawable_is_indexed(drawable)) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0,
                    _("Indexed images are not supported. Convert the image to RGB or "
                      "grayscale first (Image > Mode)."));
        return error_return(procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }
    if (run_mode == GIMP_RUN_INTERACTIVE) {
        gimp_ui_init(PLUG_IN_BINARY);
        if (!crsae_gimp_dialog(procedure, config, drawable))
            return error_return(procedure, GIMP_PDB_CANCEL, NULL);
    }
    crsae_gimp_settings s;
    crsae_gimp_settings_from_config(config, &s);
    crsae_model *model = crsae_gimp_load_model(&s, &error);
    gboolean ok = model && crsae_gimp_denoise_drawable(drawable, model, &s, TRUE, &error);
    crsae_model_free(model);
    g_free(s.model_path);
    if (!ok)
        return error_return(procedure, GIMP_PDB_EXECUTION_ERROR, error);
    if (run_mode != GIMP_RUN_NONINTERACTIVE)
        gimp_displays_flush();
    return gimp_procedure_new_return_values(procedure, GIMP_PDB_SUCCESS, NULL);
}

static void learn_tick(gdouble fraction, gpointer user)
{
    (void)user;
    gimp_progress_update(fraction);
}

static GimpValueArray *learn_run(GimpProcedure *procedure, GimpRunMode run_mode,
                                 GimpImage *image, GimpDrawable **drawables,
                                 GimpProcedureConfig *config, gpointer data)
{
    (void)image;
    (void)data;
    GError *error = NULL;
    gegl_init(NULL, NULL);
    if (gimp_core_object_array_get_length((GObject **)drawables) != 1) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0,
                    _("Learning works on one layer at a time; select exactly one."));
        return error_return(procedure, GIMP_PDB_CALLING_ERROR, error);
    }
    GimpDrawable *drawable = drawables[0];
    if (gimp_drawable_is_indexed(drawable)) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0,
                    _("Indexed images are not supported. Convert the image to RGB or "
                      "grayscale first (Image > Mode)."));
        return error_return(procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }
    if (run_mode == GIMP_RUN_INTERACTIVE) {
        gimp_ui_init(PLUG_IN_BINARY);
        GtkWidget *dialog =
            gimp_procedure_dialog_new(procedure, config, _("Learn a Denoising Model (CRsAE)"));
        gimp_procedure_dialog_fill(GIMP_PROCEDURE_DIALOG(dialog), NULL);
        gboolean ok = gimp_procedure_dialog_run(GIMP_PROCEDURE_DIALOG(dialog));
        gtk_widget_destroy(dialog);
        if (!ok)
            return error_return(procedure, GIMP_PDB_CANCEL, NULL);
    }
    gdouble level, seconds;
    gchar *name = NULL, *start = NULL;
    g_object_get(config, "noise-level", &level, "name", &name, "seconds", &seconds, "model",
                 &start, NULL);
    crsae_gimp_learn *job = crsae_gimp_learn_prepare(drawable, level, start, name, seconds, &error);
    g_free(name);
    g_free(start);
    if (!job)
        return error_return(procedure, GIMP_PDB_EXECUTION_ERROR, error);
    gimp_progress_init(_("Learning a denoising model (CRsAE)"));
    job->tick = learn_tick;
    crsae_status st = crsae_gimp_learn_run(job);
    gimp_progress_end();
    if (st != CRSAE_OK) {
        g_set_error(&error, GIMP_PLUG_IN_ERROR, 0, _("Learning failed: %s"), crsae_strerror(st));
        crsae_gimp_learn_free(job);
        return error_return(procedure, GIMP_PDB_EXECUTION_ERROR, error);
    }
    GimpValueArray *ret = gimp_procedure_new_return_values(procedure, GIMP_PDB_SUCCESS, NULL);
    GIMP_VALUES_SET_STRING(ret, 1, job->path); /* 0 is the status */
    crsae_gimp_learn_free(job);
    return ret;
}

static GList *query_procedures(GimpPlugIn *plug_in)
{
    (void)plug_in;
    return g_list_append(g_list_append(NULL, g_strdup(PROC_DENOISE)), g_strdup(PROC_LEARN));
}

static GimpProcedure *create_learn(GimpPlugIn *plug_in, const gchar *name)
{
    GimpProcedure *p = gimp_image_procedure_new(plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                                learn_run, NULL, NULL);
    gimp_procedure_set_image_types(p, "RGB*, GRAY*");
    gimp_procedure_set_sensitivity_mask(p, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label(p, _("_Learn a Denoising Model (CRsAE)..."));
    gimp_procedure_add_menu_path(p, "<Image>/Filters/Enhance");
    gimp_procedure_set_documentation(
        p, _("Adapt a CRsAE denoising model to this noisy image"),
        _("Adapts a denoising model to the noise and content of the selected area, without "
          "a clean version of it (Stein's unbiased risk estimate), and keeps it in the crsae "
          "folder of your GIMP profile, where Denoise (CRsAE) lists it."),
        name);
    gimp_procedure_set_attribution(p, "crsae developers", "crsae developers", "2026");
    const crsae_param_info *pn = crsae_param_get(CRSAE_PARAM_NOISE_LEVEL);
    gimp_procedure_add_double_argument(
        p, pn->name, _("_Noise level"),
        _("Standard deviation of the noise on the 0..255 scale; 0 estimates it from the image"),
        pn->min, pn->max, pn->def, G_PARAM_READWRITE);
    gimp_procedure_add_string_argument(p, "name", _("Model n_ame"),
                                       _("Name of the new model; empty uses the image's name"),
                                       "", G_PARAM_READWRITE);
    const crsae_param_info *ps = crsae_param_get(CRSAE_PARAM_LEARN_SECONDS);
    gimp_procedure_add_double_argument(
        p, ps->name, _("_Time"),
        _("How long to learn, in seconds; 0 gives 60 per megapixel, at least 60"), ps->min,
        ps->max, ps->def, G_PARAM_READWRITE);
    gimp_procedure_add_string_argument(
        p, "model", _("_Start from"),
        _("The model to adapt (a .crsae file); empty uses the built-in model"), "",
        G_PARAM_READWRITE);
    gimp_procedure_add_string_return_value(p, "model-path", _("Model file"),
                                           _("Where the new model was saved"), "",
                                           G_PARAM_READWRITE);
    return p;
}

static GimpProcedure *create_procedure(GimpPlugIn *plug_in, const gchar *name)
{
    if (g_strcmp0(name, PROC_LEARN) == 0)
        return create_learn(plug_in, name);
    if (g_strcmp0(name, PROC_DENOISE) != 0)
        return NULL;
    GimpProcedure *p = gimp_image_procedure_new(plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN,
                                                denoise_run, NULL, NULL);
    gimp_procedure_set_image_types(p, "RGB*, GRAY*");
    gimp_procedure_set_sensitivity_mask(p, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
    gimp_procedure_set_menu_label(p, _("_Denoise (CRsAE)..."));
    gimp_procedure_add_menu_path(p, "<Image>/Filters/Enhance");
    gimp_procedure_set_documentation(
        p, _("Remove noise with a learned convolutional dictionary"),
        _("Removes Gaussian-like noise with CRsAE: the image is coded as a sparse sum of "
          "learned filters by unrolled FISTA iterations and rebuilt from that code. "
          "Only the selection changes; its surroundings give context."),
        name);
    gimp_procedure_set_attribution(p, "crsae developers", "crsae developers", "2026");

    const crsae_param_info *pn = crsae_param_get(CRSAE_PARAM_NOISE_LEVEL);
    const crsae_param_info *pi = crsae_param_get(CRSAE_PARAM_ITERATIONS);
    gimp_procedure_add_double_argument(
        p, pn->name, _("_Noise level"),
        _("Standard deviation of the noise on the 0..255 scale; 0 estimates it from the image"),
        pn->min, pn->max, pn->def, G_PARAM_READWRITE);
    gimp_procedure_add_int_argument(
        p, pi->name, _("_Iterations"),
        _("FISTA iterations of the encoder; 0 uses the model's own count"), (gint)pi->min,
        (gint)pi->max, (gint)pi->def, G_PARAM_READWRITE);
    gimp_procedure_add_string_argument(
        p, "model", _("_Model"),
        _("A .crsae model file; empty uses the built-in model"), "", G_PARAM_READWRITE);
    gimp_procedure_add_choice_argument(
        p, "quality", _("_Quality"),
        _("Fast averages about half of the shifts (2x faster); best also denoises the image's "
          "flips and rotations and averages them (8x slower than normal)"),
        gimp_choice_new_with_values("fast", CRSAE_QUALITY_FAST, _("Fast"), NULL, "normal",
                                    CRSAE_QUALITY_NORMAL, _("Normal"), NULL, "best",
                                    CRSAE_QUALITY_BEST, _("Best (8x slower)"), NULL, NULL),
        "normal", G_PARAM_READWRITE);
    return p;
}

static gboolean set_i18n(GimpPlugIn *plug_in, const gchar *procedure_name,
                         gchar **gettext_domain, gchar **catalog_dir)
{
    (void)plug_in;
    (void)procedure_name;
    /* Catalogs live in the locale/ folder beside the plug-in; without it
     * (a plug-in copied alone) run untranslated, quietly. */
    gchar *dir = g_path_get_dirname(gimp_get_progname());
    gchar *locale = g_build_filename(dir, "locale", NULL);
    gboolean found = g_file_test(locale, G_FILE_TEST_IS_DIR);
    g_free(dir);
    g_free(locale);
    if (!found)
        return FALSE;
    *gettext_domain = g_strdup(GETTEXT_PACKAGE);
    *catalog_dir = NULL;
    return TRUE;
}

static void crsae_gimp_class_init(CrsaeGimpClass *klass)
{
    GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS(klass);
    plug_in_class->query_procedures = query_procedures;
    plug_in_class->create_procedure = create_procedure;
    plug_in_class->set_i18n = set_i18n;
}

static void crsae_gimp_init(CrsaeGimp *self)
{
    (void)self;
}

GIMP_MAIN(CRSAE_GIMP_TYPE)
