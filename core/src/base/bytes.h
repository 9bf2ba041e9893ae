/* base/bytes.h - the little-endian fields of the file formats. */
#ifndef CRSAE_BASE_BYTES_H
#define CRSAE_BASE_BYTES_H

#include <stdint.h>
#include <string.h>

/* Little-endian fields of the file formats. */
static inline uint32_t crsae__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline float crsae__get_f32(const unsigned char *p)
{
    uint32_t u = crsae__get_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline void crsae__put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static inline void crsae__put_f32(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    crsae__put_u32(p, u);
}

#endif
