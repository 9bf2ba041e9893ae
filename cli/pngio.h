/* pngio.h - PNG files to and from interleaved float images in [0,1]. */
#ifndef CRSAE_PNGIO_H
#define CRSAE_PNGIO_H

#include <stddef.h>
#include <stdio.h>

typedef enum pngio_status {
    PNGIO_OK = 0,
    PNGIO_ERR_OPEN,    /* missing or unreadable file */
    PNGIO_ERR_FORMAT,  /* not a PNG, corrupt or truncated */
    PNGIO_ERR_TOO_LARGE,
    PNGIO_ERR_NOMEM,
    PNGIO_ERR_WRITE    /* could not write (disk full, folder missing...) */
} pngio_status;

/* Largest side and pixel count the tools accept. */
#define PNGIO_MAX_SIDE 65535
#define PNGIO_MAX_PIXELS (256u * 1024u * 1024u)

typedef struct pngio_image {
    int width, height;
    int channels;    /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (after expansion) */
    int bit_depth;   /* of the file: 1, 2, 4, 8 or 16 */
    int palette;     /* the file was a palette image */
    int interlaced;
    float *pixels;   /* width*height*channels, row-major, interleaved, [0,1] */
} pngio_image;

/* Reads any PNG.  Palette and grey below 8 bits are expanded (palette to
 * RGB or RGBA if it has transparency), tRNS becomes an alpha channel.  On
 * failure msg (size msg_size) holds a one-line reason. */
pngio_status pngio_read(const char *path, pngio_image *img, char *msg, size_t msg_size);

/* The same from an open stream (the fuzzer reads from memory with it);
 * the stream is not closed. */
pngio_status pngio_read_stream(FILE *f, pngio_image *img, char *msg, size_t msg_size);

/* Writes pixels (clipped to [0,1], rounded) as a PNG with `channels`
 * channels at bit depth 8 or 16, atomically: a temporary file in the same
 * folder is renamed over path only when complete. */
pngio_status pngio_write(const char *path, const float *pixels, int width, int height,
                         int channels, int bit_depth, char *msg, size_t msg_size);

/* The same into an open stream, not atomic (tests use it with /dev/full). */
pngio_status pngio_write_stream(FILE *f, const float *pixels, int width, int height,
                                int channels, int bit_depth, char *msg, size_t msg_size);

void pngio_free(pngio_image *img);

#endif
