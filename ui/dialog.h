/* dialog.h - the GTK3 dialog of Denoise (CRsAE). */
#ifndef CRSAE_GIMP_DIALOG_H
#define CRSAE_GIMP_DIALOG_H

#include <libgimp/gimp.h>

/* Shows the dialog; TRUE when the user pressed OK (config then holds the
 * chosen settings). */
gboolean crsae_gimp_dialog(GimpProcedure *procedure, GimpProcedureConfig *config,
                           GimpDrawable *drawable);

#endif
