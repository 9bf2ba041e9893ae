/* dialog.c - noise level (with Estimate), iterations, model file and a live
 * preview.  The preview denoises only the visible region, on the calling
 * thread, with the same settings as the final run. */
#include "dialog.h"

#include <libgimp/gimpui.h>

#include "../plugin/denoise.h"
#include "../plugin/i18n.h"

typedef struct dialog_state {
    GimpDrawable *drawable;
    GimpProcedureConfig *config;
    GtkWidget *preview;
} dialog_state;

static void update_preview(GimpPreview *preview, dialog_state *st)
{
    gint x, y, w, h;
    gimp_preview_get_position(preview, &x, &y);
    gimp_preview_get_size(preview, &w, &h);
    if (w <= 0 || h <= 0)
        return;
    const Babl *fmt = crsae_gimp_format(st->drawable);
    gint ch = babl_format_get_n_components(fmt);
    gfloat *buf = g_try_new(gfloat, (gsize)w * h * ch);
    guchar *out = g_try_new(guchar, (gsize)w * h * ch);
    if (!buf || !out) {
        g_free(buf);
        g_free(out);
        return;
    }
    GeglBuffer *src = gimp_drawable_get_buffer(st->drawable);
    gegl_buffer_get(src, GEGL_RECTANGLE(x, y, w, h), 1.0, fmt, buf, GEGL_AUTO_ROWSTRIDE,
                    GEGL_ABYSS_CLAMP);
    g_object_unref(src);
    crsae_gimp_settings s;
    crsae_gimp_settings_from_config(st->config, &s);
    crsae_model *model = crsae_gimp_load_model(&s, NULL);
    if (model && crsae_gimp_denoise_pixels(model, &s, buf, w, h, ch, NULL)) {
        /* the preview draws 8-bit data in the drawable's layout */
        const Babl *u8 = babl_format_with_space(
            ch == 1 ? "Y' u8" : ch == 2 ? "Y'A u8" : ch == 3 ? "R'G'B' u8" : "R'G'B'A u8", NULL);
        babl_process(babl_fish(fmt, u8), buf, out, (long)w * h);
        gimp_preview_draw_buffer(preview, out, w * ch);
    }
    crsae_model_free(model);
    g_free(s.model_path);
    g_free(buf);
    g_free(out);
}

static void on_estimate(GtkButton *button, dialog_state *st)
{
    (void)button;
    gdouble sigma;
    GError *error = NULL;
    if (crsae_gimp_estimate(st->drawable, &sigma, &error)) {
        g_object_set(st->config, "noise-level", sigma, NULL);
    } else {
        g_message("%s", error->message);
        g_clear_error(&error);
    }
}

gboolean crsae_gimp_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                           GimpDrawable *drawable)
{
    dialog_state st = {drawable, config, NULL};
    GtkWidget *dialog = gimp_procedure_dialog_new(procedure, config, _("Denoise (CRsAE)"));
    st.preview = gimp_procedure_dialog_get_drawable_preview(GIMP_PROCEDURE_DIALOG(dialog),
                                                            "preview", drawable);
    g_signal_connect(st.preview, "invalidated", G_CALLBACK(update_preview), &st);
    g_signal_connect_swapped(config, "notify", G_CALLBACK(gimp_preview_invalidate), st.preview);

    gimp_procedure_dialog_get_scale_entry(GIMP_PROCEDURE_DIALOG(dialog), "noise-level", 1.0);
    GtkWidget *estimate = gtk_button_new_with_mnemonic(_("_Estimate noise level"));
    gtk_widget_set_tooltip_text(estimate,
                                _("Measure the noise of the selected area and set the level"));
    g_signal_connect(estimate, "clicked", G_CALLBACK(on_estimate), &st);
    gtk_widget_set_halign(estimate, GTK_ALIGN_START);
    gtk_widget_show(estimate);

    gimp_procedure_dialog_fill(GIMP_PROCEDURE_DIALOG(dialog), "preview", "noise-level",
                               "iterations", "model", NULL);
    GtkWidget *content = gtk_dialog_get_content_area(GTK_DIALOG(dialog));
    gtk_box_pack_start(GTK_BOX(content), estimate, FALSE, FALSE, 0);
    gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_OK);

    gboolean ok = gimp_procedure_dialog_run(GIMP_PROCEDURE_DIALOG(dialog));
    gtk_widget_destroy(dialog);
    return ok;
}
