/* pngio.c - PNG reading and writing with libpng (setjmp error handling). */
#include "pngio.h"

#include "crsae.h"

#include <errno.h>
#include <png.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MAX_PIXELS (1u << 20) /* keep the fuzzer fast */
#else
#define MAX_PIXELS PNGIO_MAX_PIXELS
#endif

typedef struct err_ctx {
    char *msg;
    size_t size;
} err_ctx;

static void set_msg(char *msg, size_t size, const char *fmt, ...)
{
    if (!msg || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
}

static void on_error(png_structp png, png_const_charp text)
{
    err_ctx *e = png_get_error_ptr(png);
    if (e)
        set_msg(e->msg, e->size, "%s", text);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text)
{
    (void)png;
    (void)text;
}

void pngio_free(pngio_image *img)
{
    if (img) {
        free(img->pixels);
        img->pixels = NULL;
    }
}

pngio_status pngio_read(const char *path, pngio_image *img, char *msg, size_t msg_size)
{
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_msg(msg, msg_size, "%s", strerror(errno));
        return PNGIO_ERR_OPEN;
    }
    pngio_status st = pngio_read_stream(f, img, msg, msg_size);
    fclose(f);
    return st;
}

/* Size of the stream in bytes, or -1 when it cannot seek.  (Not inlined:
 * its locals must not live in the frame that calls setjmp.) */
#ifdef __GNUC__
__attribute__((noinline))
#endif
static long stream_size(FILE *f)
{
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0)
        return -1;
    long end = ftell(f);
    if (fseek(f, here, SEEK_SET) != 0)
        return -1;
    return end;
}

pngio_status pngio_read_stream(FILE *f, pngio_image *img, char *msg, size_t msg_size)
{
    memset(img, 0, sizeof *img);
    const long file_size = stream_size(f);
    unsigned char sig[8];
    size_t got = fread(sig, 1, 8, f);
    if (got != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        set_msg(msg, msg_size, "not a PNG file (bad signature)");
        return PNGIO_ERR_FORMAT;
    }
    err_ctx ectx = {msg, msg_size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ectx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        set_msg(msg, msg_size, "out of memory");
        return PNGIO_ERR_NOMEM;
    }
    /* volatile: these change between setjmp and a longjmp back to it */
    unsigned char *volatile raw = NULL;
    png_bytep *volatile rows = NULL;
    volatile pngio_status st = PNGIO_ERR_FORMAT;
    if (setjmp(png_jmpbuf(png))) {
        free(raw);
        free(rows);
        free(img->pixels);
        img->pixels = NULL;
        png_destroy_read_struct(&png, &info, NULL);
        return st;
    }
    png_set_user_limits(png, PNGIO_MAX_SIDE, PNGIO_MAX_SIDE);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#endif
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int ctype = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    img->bit_depth = depth;
    img->palette = ctype == PNG_COLOR_TYPE_PALETTE;
    img->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    /* Deflate cannot compress more than about 1032:1, so a file much
     * smaller than its pixel data is corrupt: refuse it before allocating
     * (a 50-byte file once claimed 12809 x 19202 RGBA pixels). */
    if (file_size >= 0 && (uint64_t)w * h * (uint64_t)png_get_channels(png, info) *
                                  (uint64_t)(depth > 8 ? 2 : 1) / 8 * (uint64_t)(depth < 8 ? depth : 8) >
                              (uint64_t)file_size * 1100u + 4096u) {
        set_msg(msg, msg_size, "corrupt PNG: %lux%lu pixels cannot fit in %ld bytes",
                (unsigned long)w, (unsigned long)h, file_size);
        png_longjmp(png, 1);
    }
    if ((uint64_t)w * h > MAX_PIXELS) {
        st = PNGIO_ERR_TOO_LARGE;
        set_msg(msg, msg_size, "image too large (%lux%lu, limit %u pixels)", (unsigned long)w,
                (unsigned long)h, MAX_PIXELS);
        png_longjmp(png, 1);
    }
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_swap(png); /* host order below is little-endian-agnostic: we read bytes */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    int bd = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (ch < 1 || ch > 4 || (bd != 8 && bd != 16)) {
        set_msg(msg, msg_size, "unsupported PNG layout");
        png_longjmp(png, 1);
    }
    if (rowbytes != (size_t)w * ch * (bd / 8) || h == 0 || w == 0) {
        set_msg(msg, msg_size, "inconsistent PNG header");
        png_longjmp(png, 1);
    }
    raw = malloc(rowbytes * h);
    rows = malloc(sizeof(png_bytep) * h);
    img->pixels = malloc((size_t)w * h * ch * sizeof(float));
    if (!raw || !rows || !img->pixels) {
        free(img->pixels);
        img->pixels = NULL;
        st = PNGIO_ERR_NOMEM;
        set_msg(msg, msg_size, "out of memory");
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = raw + rowbytes * y;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    size_t n = (size_t)w * h * ch;
    if (bd == 8) {
        for (size_t i = 0; i < n; i++)
            img->pixels[i] = crsae_sample_to_float(raw[i], 8);
    } else {
        for (size_t i = 0; i < n; i++) /* png_set_swap: little-endian samples */
            img->pixels[i] = crsae_sample_to_float((unsigned)(raw[2 * i] | raw[2 * i + 1] << 8), 16);
    }
    img->width = (int)w;
    img->height = (int)h;
    img->channels = ch;
    free(raw);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return PNGIO_OK;
}

pngio_status pngio_write_stream(FILE *f, const float *pixels, int width, int height,
                                int channels, int bit_depth, char *msg, size_t msg_size)
{
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4 ||
        (bit_depth != 8 && bit_depth != 16)) {
        set_msg(msg, msg_size, "invalid image for writing");
        return PNGIO_ERR_WRITE;
    }
    static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    err_ctx ectx = {msg, msg_size};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ectx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        set_msg(msg, msg_size, "out of memory");
        return PNGIO_ERR_NOMEM;
    }
    size_t rowbytes = (size_t)width * channels * (size_t)(bit_depth / 8);
    unsigned char *volatile row = malloc(rowbytes);
    if (!row) {
        png_destroy_write_struct(&png, &info);
        set_msg(msg, msg_size, "out of memory");
        return PNGIO_ERR_NOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(row);
        png_destroy_write_struct(&png, &info);
        return PNGIO_ERR_WRITE;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bit_depth,
                 types[channels - 1], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) {
        const float *src = pixels + (size_t)y * width * channels;
        for (size_t i = 0; i < (size_t)width * channels; i++) {
            unsigned q = crsae_sample_from_float(src[i], bit_depth);
            if (bit_depth == 8) {
                row[i] = (unsigned char)q;
            } else {
                row[2 * i] = (unsigned char)(q >> 8);
                row[2 * i + 1] = (unsigned char)q;
            }
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    free(row);
    png_destroy_write_struct(&png, &info);
    if (fflush(f) != 0 || ferror(f)) {
        set_msg(msg, msg_size, "write failed: %s", strerror(errno));
        return PNGIO_ERR_WRITE;
    }
    return PNGIO_OK;
}

pngio_status pngio_write(const char *path, const float *pixels, int width, int height,
                         int channels, int bit_depth, char *msg, size_t msg_size)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        set_msg(msg, msg_size, "out of memory");
        return PNGIO_ERR_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        set_msg(msg, msg_size, "cannot create a file there: %s", strerror(errno));
        free(tmp);
        return PNGIO_ERR_WRITE;
    }
    mode_t mask = umask(0);
    umask(mask);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        set_msg(msg, msg_size, "%s", strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return PNGIO_ERR_WRITE;
    }
    pngio_status st = pngio_write_stream(f, pixels, width, height, channels, bit_depth, msg,
                                         msg_size);
    if (st == PNGIO_OK && (fchmod(fd, 0666 & ~mask) != 0 || fsync(fd) != 0)) {
        set_msg(msg, msg_size, "write failed: %s", strerror(errno));
        st = PNGIO_ERR_WRITE;
    }
    if (fclose(f) != 0 && st == PNGIO_OK) {
        set_msg(msg, msg_size, "write failed: %s", strerror(errno));
        st = PNGIO_ERR_WRITE;
    }
    if (st == PNGIO_OK && rename(tmp, path) != 0) {
        set_msg(msg, msg_size, "cannot rename into place: %s", strerror(errno));
        st = PNGIO_ERR_WRITE;
    }
    if (st != PNGIO_OK)
        unlink(tmp);
    free(tmp);
    return st;
}
