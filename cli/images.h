/* images.h - helpers over sets of images shared by the tool, the benchmark
 * and training: listing a folder's PNG files, the grey (luma) version. */
#ifndef CRSAE_IMAGES_H
#define CRSAE_IMAGES_H

#include <stddef.h>

#include "pngio.h"

/* The .png files of a folder, as "DIR/NAME" paths sorted by name; NULL if
 * the folder cannot be read.  Free with images_free_list. */
char **images_list_png(const char *dir, size_t *count);
void images_free_list(char **list, size_t count);

/* A new grey plane of the image: colour through BT.601 luma weights, alpha
 * dropped.  NULL when out of memory.  Free with free(). */
float *images_luma(const pngio_image *img);

#endif
