/* i18n.h - gettext for the plug-in (domain GETTEXT_PACKAGE, "crsae"). */
#ifndef CRSAE_GIMP_I18N_H
#define CRSAE_GIMP_I18N_H

#include <glib/gi18n-lib.h>

#endif
