/* colour.h - the orthonormal opponent colour transform. */
#ifndef CRSAE_COLOUR_H
#define CRSAE_COLOUR_H

/* Rows of the forward transform for 1 or 3 colour channels; the inverse is
 * the transpose.  For grey the transform is the identity. */
void crsae__colour_matrix(int colours, float m[3][3]);

/* Number of colour channels (without alpha) of an interleaved layout. */
static inline int crsae__colours(int channels)
{
    return (channels == 2 || channels == 4) ? channels - 1 : channels;
}

#endif
