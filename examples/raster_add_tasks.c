/* raster_add's task functions, built alone into libraster_add_functions.so:
 * the program links it, and on a tcp:// cluster uploads it to the daemon
 * workers (raster_add.c says what the example does). Each function fails
 * with a message naming the file and what went wrong; GDAL's own messages
 * go there rather than to the worker's stderr.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>

#include <drove.h>

#include "raster_add.h"

static pthread_once_t s_gdal_once = PTHREAD_ONCE_INIT;

/* Once a process: the drivers, and GDAL's messages kept out of the
 * worker's stderr (each failure reaches its future through dv_fail). */
static void
s_gdal_init(void)
{
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);
}

/* GDAL's last message for this thread, or a stand-in. */
static const char *
s_gdal_error(void)
{
    const char *msg = CPLGetLastErrorMsg();
    return msg != NULL && msg[0] != '\0' ? msg : "no reason given by GDAL";
}

/* Integer argument i, which must be in [lo, hi]. Returns 0, or fails the
 * call naming the function and the argument. */
static int
s_int_arg(dv_call *call, size_t i, const char *fn, const char *what, int lo,
          int hi, int *out)
{
    const dv_value *v = dv_arg_at(call, i);
    if (dv_value_type(v) != DV_I64) {
        return dv_fail(call, "%s: argument %zu (%s) is not an integer", fn,
                       i + 1, what);
    }
    int64_t n = dv_value_i64(v);
    if (n < lo || n > hi) {
        return dv_fail(call, "%s: %s = %" PRId64 " is not between %d and %d",
                       fn, what, n, lo, hi);
    }
    *out = (int)n;
    return 0;
}

/* Arguments i and i + 1: the raster's size and its tile, cells a side.
 * Returns 0, or fails the call. */
static int
s_size_args(dv_call *call, size_t i, const char *fn, int *size, int *tile)
{
    if (s_int_arg(call, i, fn, "size", 1, RASTER_MAX_SIZE, size) < 0 ||
        s_int_arg(call, i + 1, fn, "tile", RASTER_TILE_STEP, RASTER_MAX_TILE,
                  tile) < 0) {
        return DV_ETASK;
    }
    return 0;
}

/* String argument i. NULL after failing the call. */
static const char *
s_str_arg(dv_call *call, size_t i, const char *fn, const char *what)
{
    const char *s = dv_value_str(dv_arg_at(call, i), NULL);
    if (s == NULL || s[0] == '\0') {
        dv_fail(call, "%s: argument %zu (%s) is not a file name", fn, i + 1,
                what);
    }
    return s;
}

/* Creates a size x size float32 GeoTIFF of tile x tile blocks, for the
 * calling thread alone. NULL after failing the call. */
static GDALDatasetH
s_create(dv_call *call, const char *fn, const char *path, int size, int tile)
{
    char bx[32], by[32];
    snprintf(bx, sizeof(bx), "BLOCKXSIZE=%d", tile);
    snprintf(by, sizeof(by), "BLOCKYSIZE=%d", tile);
    char *co[] = {"TILED=YES", bx, by, NULL};

    pthread_once(&s_gdal_once, s_gdal_init);
    CPLErrorReset();
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    GDALDatasetH ds =
        drv == NULL ? NULL
                    : GDALCreate(drv, path, size, size, 1, GDT_Float32, co);
    if (ds == NULL) {
        dv_fail(call, "%s: cannot create %s: %s", fn, path, s_gdal_error());
    }
    return ds;
}

/* Closes a dataset that was written; GDAL writes the rest of the file (the
 * blocks still cached, the directory) here. Returns 0, or fails the call. */
static int
s_close_written(dv_call *call, const char *fn, const char *path,
                GDALDatasetH ds)
{
    CPLErrorReset();
    GDALClose(ds);
    if (CPLGetLastErrorType() >= CE_Failure) {
        return dv_fail(call, "%s: cannot finish writing %s: %s", fn, path,
                       s_gdal_error());
    }
    return 0;
}

/* Reads or writes window w of the band as float32 cells, row by row. A
 * window that is one whole block of the file goes straight between the
 * file and cells (GDALReadBlock, GDALWriteBlock): GDALRasterIO would pass
 * it through GDAL's block cache, a copy more, which made reading and
 * writing a tile 40% slower. The others, the narrower last tiles of a
 * raster that the tiles do not divide, go through GDALRasterIO. */
static CPLErr
s_window_io(GDALRasterBandH b, GDALRWFlag rw, raster_window w, float *cells)
{
    int bx = 0, by = 0;
    GDALGetBlockSize(b, &bx, &by);
    if (GDALGetRasterDataType(b) == GDT_Float32 && w.w == bx && w.h == by &&
        w.x % bx == 0 && w.y % by == 0) {
        return rw == GF_Read ? GDALReadBlock(b, w.x / bx, w.y / by, cells)
                             : GDALWriteBlock(b, w.x / bx, w.y / by, cells);
    }
    return GDALRasterIO(b, rw, w.x, w.y, w.w, w.h, cells, w.w, w.h, GDT_Float32,
                        0, 0);
}

/* Writes window w of cells (w.w x w.h floats, row by row). */
static int
s_write_window(dv_call *call, const char *fn, const char *path, GDALDatasetH ds,
               raster_window w, float *cells)
{
    if (s_window_io(GDALGetRasterBand(ds, 1), GF_Write, w, cells) != CE_None) {
        return dv_fail(call, "%s: cannot write %s at (%d, %d): %s", fn, path,
                       w.x, w.y, s_gdal_error());
    }
    return 0;
}

/* raster_write_input(path, k, size, tile): writes input k (0-based) of
 * the generator, a tiled GeoTIFF, tile by tile. Impure: it writes a file. */
DV_FUNCTION_IMPURE(raster_write_input)
{
    static const char fn[] = "raster_write_input";
    const char *path = s_str_arg(call, 0, fn, "path");
    /* Zeroed for gcc -O3, which cannot tell they are set when it goes on. */
    int k = 0, size = 0, tile = 0;
    if (path == NULL ||
        s_int_arg(call, 1, fn, "k", 0, RASTER_NINPUTS - 1, &k) < 0 ||
        s_size_args(call, 2, fn, &size, &tile) < 0) {
        return DV_ETASK;
    }
    float *cells = malloc((size_t)tile * (size_t)tile * sizeof(float));
    GDALDatasetH ds =
        cells == NULL ? NULL : s_create(call, fn, path, size, tile);
    if (ds == NULL) {
        free(cells);
        return cells == NULL ? dv_fail(call, "%s: out of memory", fn)
                             : DV_ETASK;
    }
    uint64_t seed = raster_seed(k);
    int ntiles = raster_tiles_side(size, tile) * raster_tiles_side(size, tile);
    int rc = 0;
    for (int t = 0; t < ntiles && rc == 0; t++) {
        raster_window w = raster_tile_window(size, tile, t);
        for (int y = 0; y < w.h; y++) {
            for (int x = 0; x < w.w; x++) {
                cells[(size_t)y * (size_t)w.w + (size_t)x] =
                    raster_cell(seed, w.x + x, w.y + y);
            }
        }
        rc = s_write_window(call, fn, path, ds, w, cells);
    }
    free(cells);
    int closed = s_close_written(call, fn, path, ds);
    return rc < 0 ? rc : closed;
}

/* Reads window w of the raster at path, as float32, into cells. */
static int
s_read_window(dv_call *call, const char *path, raster_window w, float *cells)
{
    static const char fn[] = "raster_add_tile";
    static const char *const gtiff[] = {"GTiff", NULL};

    pthread_once(&s_gdal_once, s_gdal_init);
    CPLErrorReset(); /* no stale message in what the call says */
    GDALDatasetH ds = GDALOpenEx(
        path, GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, gtiff,
        NULL, NULL);
    if (ds == NULL) {
        return dv_fail(call, "%s: cannot open %s: %s", fn, path,
                       s_gdal_error());
    }
    int rc = 0;
    if (GDALGetRasterXSize(ds) < w.x + w.w ||
        GDALGetRasterYSize(ds) < w.y + w.h) {
        rc = dv_fail(call,
                     "%s: %s is %d x %d cells, too small for the "
                     "window at (%d, %d) of %d x %d",
                     fn, path, GDALGetRasterXSize(ds), GDALGetRasterYSize(ds),
                     w.x, w.y, w.w, w.h);
    } else if (s_window_io(GDALGetRasterBand(ds, 1), GF_Read, w, cells) !=
               CE_None) {
        rc = dv_fail(call, "%s: cannot read %s at (%d, %d): %s", fn, path, w.x,
                     w.y, s_gdal_error());
    }
    GDALClose(ds);
    return rc;
}

/* raster_add_tile(paths, x, y, w, h): the cell-by-cell sum of the window
 * (x, y, w, h) of the rasters at paths (a list of RASTER_NINPUTS names),
 * as w x h float32 cells row by row (DV_BYTES). Impure: its result
 * depends on the files, not only on its arguments. */
DV_FUNCTION_IMPURE(raster_add_tile)
{
    static const char fn[] = "raster_add_tile";
    const dv_value *paths = dv_arg_at(call, 0);
    raster_window w = {0, 0, 0, 0};
    if (dv_value_type(paths) != DV_LIST ||
        dv_value_len(paths) != RASTER_NINPUTS) {
        return dv_fail(call, "%s: argument 1 is not a list of %d file names",
                       fn, RASTER_NINPUTS);
    }
    if (s_int_arg(call, 1, fn, "x", 0, RASTER_MAX_SIZE - 1, &w.x) < 0 ||
        s_int_arg(call, 2, fn, "y", 0, RASTER_MAX_SIZE - 1, &w.y) < 0 ||
        s_int_arg(call, 3, fn, "w", 1, RASTER_MAX_TILE, &w.w) < 0 ||
        s_int_arg(call, 4, fn, "h", 1, RASTER_MAX_TILE, &w.h) < 0) {
        return DV_ETASK;
    }
    size_t n = (size_t)w.w * (size_t)w.h;
    /* The first input is read straight into the result, filled in place;
     * the others into a scratch tile, added in float32 as they come. */
    float *sum = dv_return_bytes(call, n * sizeof(float));
    float *more = malloc(n * sizeof(float));
    if (sum == NULL || more == NULL) {
        free(more);
        return dv_fail(call, "%s: out of memory for a %d x %d tile", fn, w.w,
                       w.h);
    }
    int rc = 0;
    for (int k = 0; k < RASTER_NINPUTS && rc == 0; k++) {
        const char *path = dv_value_str(dv_value_at(paths, (size_t)k), NULL);
        rc = path == NULL
                 ? dv_fail(call, "%s: input %d is not a file name", fn, k + 1)
                 : s_read_window(call, path, w, k == 0 ? sum : more);
        if (rc == 0 && k > 0) {
            for (size_t i = 0; i < n; i++) {
                sum[i] += more[i];
            }
        }
    }
    free(more);
    return rc;
}

/* Writes the tiles (the results of raster_add_tile, in tile order) into
 * ds, and sums their cells into *sum. */
static int
s_write_tiles(dv_call *call, const char *path, GDALDatasetH ds,
              const dv_value *tiles, int size, int tile, double *sum)
{
    static const char fn[] = "raster_assemble";
    /* Copied out first: the bytes of a value have no alignment promised. */
    float *cells = malloc((size_t)tile * (size_t)tile * sizeof(float));
    if (cells == NULL) {
        return dv_fail(call, "%s: out of memory", fn);
    }
    int rc = 0;
    for (size_t t = 0; t < dv_value_len(tiles) && rc == 0; t++) {
        raster_window w = raster_tile_window(size, tile, (int)t);
        size_t len = 0;
        const void *bytes = dv_value_bytes(dv_value_at(tiles, t), &len);
        size_t n = (size_t)w.w * (size_t)w.h;
        if (bytes == NULL || len != n * sizeof(float)) {
            rc = dv_fail(call,
                         "%s: tile %zu has %zu bytes, not the %zu of "
                         "%d x %d float32 cells",
                         fn, t, len, n * sizeof(float), w.w, w.h);
            break;
        }
        memcpy(cells, bytes, len);
        for (size_t i = 0; i < n; i++) {
            *sum += cells[i];
        }
        rc = s_write_window(call, fn, path, ds, w, cells);
    }
    free(cells);
    return rc;
}

/* raster_assemble(path, size, tile, tiles): writes the size x size output
 * at path from its tiles (the futures of every raster_add_tile, in tile
 * order), the file's only writer. Returns [checksum, seconds]: the sum
 * of every cell written and the time it took to write them (the tiles
 * were already here). Impure: it writes a file. */
DV_FUNCTION_IMPURE(raster_assemble)
{
    static const char fn[] = "raster_assemble";
    double t0 = raster_now();
    const char *path = s_str_arg(call, 0, fn, "path");
    const dv_value *tiles = dv_arg_at(call, 3);
    int size = 0, tile = 0;
    if (path == NULL || s_size_args(call, 1, fn, &size, &tile) < 0) {
        return DV_ETASK;
    }
    size_t ntiles = (size_t)raster_tiles_side(size, tile) *
                    (size_t)raster_tiles_side(size, tile);
    if (dv_value_type(tiles) != DV_LIST || dv_value_len(tiles) != ntiles) {
        return dv_fail(call, "%s: argument 4 is not a list of the %zu tiles",
                       fn, ntiles);
    }
    GDALDatasetH ds = s_create(call, fn, path, size, tile);
    if (ds == NULL) {
        return DV_ETASK;
    }
    double sum = 0.0;
    int rc = s_write_tiles(call, path, ds, tiles, size, tile, &sum);
    int closed = s_close_written(call, fn, path, ds);
    if (rc < 0 || closed < 0) {
        return rc < 0 ? rc : closed;
    }
    dv_arg out[] = {dv_f64(sum), dv_f64(raster_now() - t0)};
    return dv_return(call, dv_list(out, 2));
}

/* add_raster(paths, out, size, tile): the add and the write as one
 * task, which submits a raster_add_tile child per tile and a
 * raster_assemble child taking their futures, then returns, handing its
 * result over to the assemble child (the continuation: dv_return of the
 * child's future). Its thread is free while the children run. */
DV_FUNCTION_IMPURE(add_raster)
{
    static const char fn[] = "add_raster";
    const char *out = s_str_arg(call, 1, fn, "out");
    int size = 0, tile = 0;
    if (out == NULL || s_size_args(call, 2, fn, &size, &tile) < 0) {
        return DV_ETASK;
    }
    int ntiles = raster_tiles_side(size, tile) * raster_tiles_side(size, tile);
    /* The children's futures belong to the call: never released here. */
    dv_future **tiles = calloc((size_t)ntiles, sizeof(*tiles));
    if (tiles == NULL) {
        return dv_fail(call, "%s: out of memory for %d tiles", fn, ntiles);
    }
    for (int t = 0; t < ntiles; t++) {
        raster_window w = raster_tile_window(size, tile, t);
        tiles[t] = DV_CALL_SUBMIT(call, "raster_add_tile",
                                  dv_value_arg(dv_arg_at(call, 0)), dv_i64(w.x),
                                  dv_i64(w.y), dv_i64(w.w), dv_i64(w.h));
        if (tiles[t] == NULL) {
            free(tiles);
            return dv_fail(call, "%s: cannot submit tile %d: %s", fn, t,
                           dv_last_error());
        }
    }
    dv_future *assemble =
        DV_CALL_SUBMIT(call, "raster_assemble", dv_str(out), dv_i64(size),
                       dv_i64(tile), dv_futs(tiles, (size_t)ntiles));
    free(tiles);
    if (assemble == NULL) {
        return dv_fail(call, "%s: cannot submit raster_assemble: %s", fn,
                       dv_last_error());
    }
    return dv_return(call, dv_fut(assemble));
}
