/* raster_add: what the client and the task functions share (raster_add.c
 * says what the example does): the cells of the inputs, the tiles, the
 * clock. Inline: each side uses only some of it. */
#ifndef EXAMPLE_RASTER_ADD_H
#define EXAMPLE_RASTER_ADD_H

#include <stdint.h>
#include <time.h>

#include "splitmix.h"

#define RASTER_NINPUTS 5 /* r1 .. r5, as local.Add(r1, ..., r5) */
#define RASTER_SEED UINT64_C(0x6e0742e11155)
#define RASTER_MAX_SIZE 32768 /* cells a side: 4 GiB a raster */
#define RASTER_MAX_TILE 4096
#define RASTER_TILE_STEP 16 /* GeoTIFF tiles are multiples of 16 a side */

/* The seed of input k (0-based): mixed, so that neighbours are unrelated. */
static inline uint64_t
raster_seed(int k)
{
    return splitmix_mix(RASTER_SEED + (uint64_t)k);
}

/* Cell (x, y) of the input of that seed: splitmix64 at the counter
 * (y, x), cut to 10 bits, over 8. Multiples of 1/8 in [0, 128). */
static inline float
raster_cell(uint64_t seed, int x, int y)
{
    uint64_t i = ((uint64_t)(uint32_t)y << 32) | (uint32_t)x;
    return (float)(splitmix_at(seed, i) >> 54) * 0.125f;
}

/* Seconds on the monotonic clock. */
static inline double
raster_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A window of the raster: tile t of a size x size raster cut in tiles of
 * tile x tile cells, row by row; the last row and column may be narrower. */
typedef struct {
    int x, y, w, h;
} raster_window;

static inline int
raster_tiles_side(int size, int tile)
{
    return (size + tile - 1) / tile;
}

static inline raster_window
raster_tile_window(int size, int tile, int t)
{
    int side = raster_tiles_side(size, tile);
    raster_window w = {(t % side) * tile, (t / side) * tile, 0, 0};
    w.w = size - w.x < tile ? size - w.x : tile;
    w.h = size - w.y < tile ? size - w.y : tile;
    return w;
}

#endif
