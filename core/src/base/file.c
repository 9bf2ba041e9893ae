/* file.c - the core's file plumbing: a whole regular file read into
 * memory, a file written through a temporary beside it and a rename, and
 * the CRC-32 of the file formats. */
#include "base/file.h"
#include "base/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- CRC-32 (polynomial 0xEDB88320, as in PNG and zlib) ---- */

uint32_t crsae__crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* A temporary file beside path, written, synced and renamed over path. */
crsae_status crsae__write_atomic(const char *path, const void *data, size_t size)
{
    size_t plen = strlen(path);
    char *tmp = crsae__malloc(plen + 16);
    if (!tmp)
        return CRSAE_ERR_NOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        crsae__free(tmp);
        return CRSAE_ERR_OPEN;
    }
    crsae_status st = CRSAE_ERR_WRITE;
    mode_t mask = umask(0);
    umask(mask);
    const unsigned char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    bool ok = left == 0 && fchmod(fd, 0666 & ~mask) == 0 && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    if (ok && rename(tmp, path) == 0)
        st = CRSAE_OK;
    else
        unlink(tmp);
    crsae__free(tmp);
    return st;
}

/* The whole of a regular file of at most max bytes. */
crsae_status crsae__read_file(const char *path, size_t max, unsigned char **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return CRSAE_ERR_OPEN;
    crsae_status st = CRSAE_ERR_READ;
    unsigned char *buf = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
        goto done;
    if (sb.st_size > (off_t)max) {
        st = CRSAE_ERR_TOO_LARGE;
        goto done;
    }
    size_t n = (size_t)sb.st_size;
    buf = crsae__malloc(n ? n : 1);
    if (!buf) {
        st = CRSAE_ERR_NOMEM;
        goto done;
    }
    if (fread(buf, 1, n, f) != n)
        goto done;
    *data = buf;
    *size = n;
    buf = NULL;
    st = CRSAE_OK;
done:
    crsae__free(buf);
    fclose(f);
    return st;
}
