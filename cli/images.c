/* images.c - folder listing and grey conversion. */
#include "images.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void images_free_list(char **list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        free(list[i]);
    free(list);
}

char **images_list_png(const char *dir, size_t *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".png") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, cap * sizeof(char *));
            if (!grown)
                break;
            names = grown;
        }
        size_t size = strlen(dir) + l + 2;
        if (!(names[n] = malloc(size)))
            break;
        snprintf(names[n], size, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(char *), cmp_str);
    else if (!names)
        names = calloc(1, sizeof(char *));
    *count = n;
    return names;
}

float *images_luma(const pngio_image *img)
{
    size_t n = (size_t)img->width * img->height;
    float *g = malloc(n * sizeof(float));
    if (!g)
        return NULL;
    int colours = (img->channels == 2 || img->channels == 4) ? img->channels - 1 : img->channels;
    for (size_t i = 0; i < n; i++) {
        const float *p = img->pixels + i * img->channels;
        g[i] = colours == 3 ? 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2] : p[0];
    }
    return g;
}
