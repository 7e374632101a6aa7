/* raster_add: GeoTrellis's local.Add(r1, r2, r3, r4, r5) in C, with GDAL.
 *
 * Five rasters of float32 cells are added cell by cell into a sixth, one
 * task per output tile: "transform the raster into a tiled raster, which
 * allows the system to parallelize the work and to reduce I/O". Each tile
 * task opens the five input GeoTIFFs and reads its window straight from the
 * files; neither the inputs nor the tiles pass through this program. The
 * stages, each timed (`raster_add.<stage>: <seconds> s`):
 *
 *   write_inputs  five tasks write r1.tif .. r5.tif, GeoTIFFs tiled as
 *                 --tile, whose cells are a counter-based function of
 *                 (raster, x, y)
 *   add           one raster_add_tile task per output tile: reads the
 *                 tile's window of the five inputs, returns the sum tile;
 *                 the tiles then move worker to worker to the assemble
 *                 task, never through the client or the scheduler
 *   write_output  one raster_assemble task takes every tile's future and
 *                 writes sum.tif, the file's only writer: GDAL's GTiff
 *                 driver rewrites a file's directory when it closes it, so
 *                 several processes updating one GeoTIFF would race. It
 *                 times itself, and returns that and a checksum
 *   check         this program reads sum.tif and compares every cell with
 *                 the sum of the five recomputed from the generator, and
 *                 the checksums (written, read back, recomputed)
 *
 * Cells are multiples of 1/8 below 128, so any sum of five is exact in
 * float32 and any checksum exact in double: the checks use ==.
 *
 * --form continuation does the add and the write in one task,
 * add_raster, which splits itself into the same tile tasks and
 * assemble task with dv_call_submit and returns the assemble task's
 * future (dv_return of dv_fut): GeoTrellis's operations that hand their
 * subsidiaries to a dispatcher and exit, freeing the thread.
 *
 * --check-io shows that no raster bytes passed through this program:
 * /proc/self/io counts every byte a process reads or writes, sockets
 * included, and during the add and the write it must stay below 1/16 of
 * one raster (with worker processes: on local:threads the tasks' reads
 * are this process's own).
 *
 * Usage: raster_add [--size N] [--tile T] [--dir D] [--keep] [--reuse]
 *                   [--no-check] [--check-io] [--form tiles|continuation]
 *                   [WHERE]          (--help says what each does)
 * WHERE as for dv_connect(); default: $DROVE_SCHEDULER or an embedded
 * cluster. The tasks read and write the files by path: on a tcp:// cluster
 * the workers run on this machine (the tests start them so), and see the
 * same directory. Exits 0 when every check passes, 1 with a message
 * otherwise.
 *
 * The task functions are in raster_add_tasks.c, built alone into
 * libraster_add_functions.so as the other examples' are (tree_reduce.c
 * says why): this program links it, and uploads it to daemon workers.
 * Both link GDAL; libdrove does not.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_error.h>
#include <gdal.h>

#include <drove.h>

#include "raster_add.h"
#include "share.h"

#define NAME "raster_add"
#define TIMEOUT_S 600.0 /* only turns a hang into a failure */
#define NSHOW 3         /* wrong cells to print at most */

static const char s_usage[] =
    "usage: raster_add [OPTIONS] [WHERE]\n"
    "Adds five rasters cell by cell (GeoTrellis's local.Add) with one drove\n"
    "task per output tile, and checks the sum.\n"
    "  --size N    cells a side of each raster (default 4096, at most "
    "32768)\n"
    "  --tile T    cells a side of a tile: the GeoTIFFs' blocks, and one "
    "task\n"
    "              per output tile (default 512; a multiple of 16 up to "
    "4096)\n"
    "  --dir D     where the rasters go (default: a new directory under\n"
    "              $TMPDIR or /tmp)\n"
    "  --keep      leave the rasters (and the directory) there at exit\n"
    "  --reuse     use the inputs already in D when they are of this size\n"
    "  --no-check  skip the check (to time the rest)\n"
    "  --check-io  fail if this program read or wrote more than 1/16 of a\n"
    "              raster's bytes during the add and the write (needs worker\n"
    "              processes: local:processes=N or a cluster)\n"
    "  --form F    tiles (default): this program submits the tile tasks and\n"
    "              the assemble task; continuation: one task submits them\n"
    "              (dv_call_submit) and returns the assemble task's future\n"
    "  WHERE       as for dv_connect(); default: $DROVE_SCHEDULER or an\n"
    "              embedded cluster\n";

typedef struct {
    int size;          /* cells a side */
    int tile;          /* cells a side of a tile and of a block */
    const char *dir;   /* --dir, or NULL for a new one */
    bool keep;         /* leave the files at exit */
    bool reuse;        /* use inputs already there */
    bool check;        /* read the output back and check it */
    bool check_io;     /* fail if the client did raster-sized I/O */
    bool continuation; /* --form continuation */
    const char *where; /* dv_connect's argument, or NULL */
} s_opts;

typedef struct {
    char dir[PATH_MAX];
    bool made_dir; /* a temporary directory of ours, to remove */
    char in[RASTER_NINPUTS][PATH_MAX + 16];
    char out[PATH_MAX + 16];
} s_files;

/* ---- Options ------------------------------------------------------------ */

/* The integer value of option opt, in [lo, hi] and a multiple of step.
 * Returns 0, or -1 after saying what is wrong. */
static int
s_int_opt(const char *opt, const char *val, int lo, int hi, int step, int *out)
{
    long long n = 0;
    if (example_int_opt(NAME, opt, val, lo, hi, step, &n) != 0) {
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* The value of option argv[*i], which must have one. */
static const char *
s_value(int argc, char **argv, int *i)
{
    return example_opt_value(NAME, argc, argv, i);
}

/* The value of --form: whether it is continuation (else tiles). Returns
 * 0, or -1 after saying what is wrong. */
static int
s_form_opt(const char *val, bool *continuation)
{
    if (val == NULL) {
        return -1; /* s_value said so */
    }
    *continuation = strcmp(val, "continuation") == 0;
    if (!*continuation && strcmp(val, "tiles") != 0) {
        fprintf(stderr,
                NAME ": --form: '%s' is neither tiles nor "
                     "continuation\n",
                val);
        return -1;
    }
    return 0;
}

/* Fills o from the command line. Returns 0 to go on, 1 after --help, -1
 * after saying what is wrong. */
static int
s_parse(int argc, char **argv, s_opts *o)
{
    *o = (s_opts){.size = 4096, .tile = 512, .check = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(s_usage, stdout);
            return 1;
        } else if (strcmp(a, "--size") == 0) {
            rc = s_int_opt(a, s_value(argc, argv, &i), 1, RASTER_MAX_SIZE, 1,
                           &o->size);
        } else if (strcmp(a, "--tile") == 0) {
            rc = s_int_opt(a, s_value(argc, argv, &i), RASTER_TILE_STEP,
                           RASTER_MAX_TILE, RASTER_TILE_STEP, &o->tile);
        } else if (strcmp(a, "--dir") == 0) {
            rc = (o->dir = s_value(argc, argv, &i)) == NULL ? -1 : 0;
        } else if (strcmp(a, "--form") == 0) {
            rc = s_form_opt(s_value(argc, argv, &i), &o->continuation);
        } else if (strcmp(a, "--keep") == 0) {
            o->keep = true;
        } else if (strcmp(a, "--reuse") == 0) {
            o->reuse = true;
        } else if (strcmp(a, "--no-check") == 0) {
            o->check = false;
        } else if (strcmp(a, "--check-io") == 0) {
            o->check_io = true;
        } else if (a[0] == '-' || o->where != NULL) {
            fprintf(stderr, NAME ": unknown argument '%s' (--help)\n", a);
            rc = -1;
        } else {
            o->where = a;
        }
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- Files -------------------------------------------------------------- */

/* Makes the directory (a new temporary one without --dir) and the files'
 * names. Returns 0, or -1 after saying why. */
static int
s_files_init(s_files *f, const char *dir)
{
    memset(f, 0, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    int n = dir != NULL
                ? snprintf(f->dir, sizeof(f->dir), "%s", dir)
                : snprintf(f->dir, sizeof(f->dir), "%s/raster_add.XXXXXX",
                           tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof(f->dir)) {
        fprintf(stderr, NAME ": --dir: the name is too long\n");
        return -1;
    }
    if (dir == NULL ? mkdtemp(f->dir) == NULL
                    : mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, NAME ": cannot make the directory %s: %s\n", f->dir,
                strerror(errno));
        return -1;
    }
    f->made_dir = dir == NULL;
    struct stat st;
    if (stat(f->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, NAME ": --dir: %s is not a directory\n", f->dir);
        return -1;
    }
    for (int k = 0; k < RASTER_NINPUTS; k++) {
        snprintf(f->in[k], sizeof(f->in[k]), "%s/r%d.tif", f->dir, k + 1);
    }
    snprintf(f->out, sizeof(f->out), "%s/sum.tif", f->dir);
    return 0;
}

/* Removes the files (and a temporary directory), unless keep. */
static void
s_files_fini(const s_files *f, bool keep)
{
    if (keep) {
        printf(NAME ": the rasters are in %s\n", f->dir);
        return;
    }
    for (int k = 0; k < RASTER_NINPUTS; k++) {
        unlink(f->in[k]);
    }
    unlink(f->out);
    if (f->made_dir) {
        rmdir(f->dir);
    }
}

/* Opens a GeoTIFF to read. NULL if it cannot (CPLGetLastErrorMsg says
 * why). */
static GDALDatasetH
s_open(const char *path)
{
    static const char *const gtiff[] = {"GTiff", NULL};
    CPLErrorReset();
    return GDALOpenEx(path,
                      GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR,
                      gtiff, NULL, NULL);
}

/* Whether path is a size x size float32 GeoTIFF of tile x tile blocks. */
static bool
s_is_input(const char *path, int size, int tile)
{
    if (access(path, R_OK) != 0) {
        return false;
    }
    GDALDatasetH ds = s_open(path);
    if (ds == NULL) {
        return false;
    }
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    int bx = 0, by = 0;
    GDALGetBlockSize(b, &bx, &by);
    bool ok =
        GDALGetRasterXSize(ds) == size && GDALGetRasterYSize(ds) == size &&
        GDALGetRasterDataType(b) == GDT_Float32 && bx == tile && by == tile;
    GDALClose(ds);
    return ok;
}

/* ---- Stages ------------------------------------------------------------- */

typedef struct {
    const s_opts *o;
    const s_files *f;
    dv_client *c;
    dv_arg names[RASTER_NINPUTS]; /* the inputs' paths, as arguments */
    int ntiles;
} s_job;

static void
s_stage(const char *stage, double t0)
{
    printf(NAME ".%s: %.3f s\n", stage, raster_now() - t0);
}

/* Waits for f's result; says what failed and returns NULL if none. */
static const dv_value *
s_result(dv_future *f, const char *what)
{
    return example_result(f, TIMEOUT_S, NAME, what);
}

/* Writes the five inputs, a task each, unless --reuse finds them there. */
static int
s_write_inputs(const s_job *j)
{
    const s_opts *o = j->o;
    bool present = o->reuse;
    for (int k = 0; k < RASTER_NINPUTS && present; k++) {
        present = s_is_input(j->f->in[k], o->size, o->tile);
    }
    if (present) {
        printf("  inputs      reused from %s\n", j->f->dir);
        return 0;
    }
    double t0 = raster_now();
    dv_future *fs[RASTER_NINPUTS] = {0};
    int rc = 0;
    for (int k = 0; k < RASTER_NINPUTS && rc == 0; k++) {
        fs[k] = DV_SUBMIT(j->c, "raster_write_input", j->names[k], dv_i64(k),
                          dv_i64(o->size), dv_i64(o->tile));
        if (fs[k] == NULL) {
            fprintf(stderr, NAME ": FAILED: submit raster_write_input: %s\n",
                    dv_last_error());
            rc = -1;
        }
    }
    for (int k = 0; k < RASTER_NINPUTS && rc == 0; k++) {
        rc = s_result(fs[k], "write the inputs") == NULL ? -1 : 0;
    }
    for (int k = 0; k < RASTER_NINPUTS; k++) {
        dv_release(fs[k]);
    }
    if (rc == 0) {
        printf("  inputs      %d x %d float32 cells each, written by %d "
               "tasks\n",
               o->size, o->size, RASTER_NINPUTS);
        s_stage("write_inputs", t0);
    }
    return rc;
}

/* What raster_assemble returns. */
typedef struct {
    double checksum; /* the sum of the cells it wrote */
    double write_s;  /* the time it took to write them */
} s_written;

static int
s_written_of(const dv_value *v, s_written *out)
{
    const dv_value *sum = dv_value_at(v, 0);
    const dv_value *secs = dv_value_at(v, 1);
    if (dv_value_type(sum) != DV_F64 || dv_value_type(secs) != DV_F64) {
        fprintf(stderr,
                NAME ": FAILED: raster_assemble returned a value of "
                     "type %d, not [checksum, seconds]\n",
                dv_value_type(v));
        return -1;
    }
    *out = (s_written){dv_value_f64(sum), dv_value_f64(secs)};
    return 0;
}

/* The tiles form: submits a raster_add_tile task per tile and
 * raster_assemble with their futures, then lets go of the tiles' futures,
 * which the assemble task holds. A client holding a future is sent its
 * result along with the news that it is done when the result is 64 KiB or
 * less (a tile of 512 x 512 cells is 1 MiB); so only a narrow last tile
 * of a raster that the tiles do not divide, done before this lets go of
 * it, can come here. Returns the assemble task's future, or NULL after
 * saying why. */
static dv_future *
s_submit_tiles(const s_job *j)
{
    const s_opts *o = j->o;
    dv_future **tiles = calloc((size_t)j->ntiles, sizeof(*tiles));
    dv_future *assemble = NULL;
    int t = 0;
    for (; tiles != NULL && t < j->ntiles; t++) {
        raster_window w = raster_tile_window(o->size, o->tile, t);
        tiles[t] = DV_SUBMIT(j->c, "raster_add_tile",
                             dv_list(j->names, RASTER_NINPUTS), dv_i64(w.x),
                             dv_i64(w.y), dv_i64(w.w), dv_i64(w.h));
        if (tiles[t] == NULL) {
            break;
        }
    }
    if (t == j->ntiles) {
        assemble = DV_SUBMIT(j->c, "raster_assemble", dv_str(j->f->out),
                             dv_i64(o->size), dv_i64(o->tile),
                             dv_futs(tiles, (size_t)j->ntiles));
    }
    if (assemble == NULL) {
        fprintf(stderr, NAME ": FAILED: submit %s: %s\n",
                t < j->ntiles ? "raster_add_tile" : "raster_assemble",
                tiles != NULL ? dv_last_error() : "out of memory");
    }
    for (int i = 0; tiles != NULL && i < t; i++) {
        dv_release(tiles[i]);
    }
    free(tiles);
    return assemble;
}

/* The continuation form: one add_raster task submits the tiles and
 * the assemble task itself; its future finishes with the assemble task's
 * result. */
static dv_future *
s_submit_continuation(const s_job *j)
{
    dv_future *all =
        DV_SUBMIT(j->c, "add_raster", dv_list(j->names, RASTER_NINPUTS),
                  dv_str(j->f->out), dv_i64(j->o->size), dv_i64(j->o->tile));
    if (all == NULL) {
        fprintf(stderr, NAME ": FAILED: submit add_raster: %s\n",
                dv_last_error());
    }
    return all;
}

/* The add and the write, in either form: both end with the assemble
 * task's result. The write stage is the time the assemble task took to
 * write (it measures it itself); the add stage is the rest since the
 * first submission: reading and adding the tiles, and moving them to the
 * assemble task. */
static int
s_add_and_write(const s_job *j, double *checksum)
{
    bool cont = j->o->continuation;
    double t0 = raster_now();
    dv_future *f = cont ? s_submit_continuation(j) : s_submit_tiles(j);
    const dv_value *v = f == NULL ? NULL : s_result(f, "add and write");
    double elapsed = raster_now() - t0;
    s_written w;
    int rc = v != NULL ? s_written_of(v, &w) : -1;
    dv_release(f);
    if (rc < 0) {
        return -1;
    }
    printf("  add         %d tasks of %d x %d cells, reading the inputs' "
           "windows%s\n",
           j->ntiles, j->o->tile, j->o->tile,
           cont ? ", submitted by one task" : "");
    printf(NAME ".add: %.3f s\n", elapsed - w.write_s);
    printf("  write       %s, by one task from the tiles' futures\n",
           j->f->out);
    printf(NAME ".write_output: %.3f s\n", w.write_s);
    *checksum = w.checksum;
    return 0;
}

/* Bytes this process has read and written so far (rchar + wchar of
 * /proc/self/io: files, pipes and sockets alike), or -1. */
static long long
s_client_io(void)
{
    FILE *io = fopen("/proc/self/io", "r");
    char line[128];
    long long sum = 0, n = 0;
    int seen = 0;
    while (io != NULL && fgets(line, sizeof(line), io) != NULL) {
        if (sscanf(line, "rchar: %lld", &n) == 1 ||
            sscanf(line, "wchar: %lld", &n) == 1) {
            sum += n;
            seen++;
        }
    }
    if (io != NULL) {
        fclose(io);
    }
    return seen == 2 ? sum : -1;
}

/* The add and the write, in the chosen form, with the client's I/O meanwhile
 * measured (and, with --check-io, held to 1/16 of a raster). */
static int
s_add(const s_job *j, double *checksum)
{
    long long io0 = s_client_io();
    int rc = s_add_and_write(j, checksum);
    long long io1 = s_client_io();
    if (rc == 0 && (io0 < 0 || io1 < 0) && j->o->check_io) {
        fprintf(stderr, NAME ": FAILED: --check-io: cannot read "
                             "/proc/self/io\n");
        return -1;
    }
    if (rc < 0 || io0 < 0 || io1 < 0) {
        return rc;
    }
    long long raster =
        (long long)j->o->size * j->o->size * (long long)sizeof(float);
    bool threads = strcmp(dv_scheme(j->c), "threads") == 0;
    printf(NAME ".client_io: %lld bytes (one raster: %lld%s)\n", io1 - io0,
           raster, threads ? "; the tasks run in this process" : "");
    if (j->o->check_io && io1 - io0 >= raster / 16) {
        fprintf(stderr,
                NAME ": FAILED: this program read and wrote %lld "
                     "bytes during the add and the write, not less than "
                     "1/16 of a raster (%lld)\n",
                io1 - io0, raster / 16);
        return -1;
    }
    return 0;
}

/* ---- Check -------------------------------------------------------------- */

/* Compares the h rows from y0 of the output (strip) with the sums of the
 * inputs recomputed here, counting the wrong cells in *bad (and printing
 * the first few); adds both to the sums. */
static void
s_check_strip(const float *strip, int size, int y0, int h,
              const uint64_t *seeds, long long *bad, double *file_sum,
              double *want_sum)
{
    for (int y = y0; y < y0 + h; y++) {
        const float *row = strip + (size_t)(y - y0) * (size_t)size;
        for (int x = 0; x < size; x++) {
            float want = 0.0f;
            for (int k = 0; k < RASTER_NINPUTS; k++) {
                want += raster_cell(seeds[k], x, y);
            }
            *file_sum += row[x];
            *want_sum += want;
            if (row[x] != want && (*bad)++ < NSHOW) {
                fprintf(stderr,
                        NAME ": cell (%d, %d) is %.3f, expected "
                             "%.3f\n",
                        x, y, row[x], want);
            }
        }
    }
}

/* Reads the whole output back, a strip of tiles' rows at a time, and
 * checks every cell and the checksums. */
static int
s_check(const s_job *j, double checksum)
{
    int size = j->o->size, tile = j->o->tile;
    double t0 = raster_now();
    GDALDatasetH ds = s_open(j->f->out);
    float *strip = malloc((size_t)size * (size_t)tile * sizeof(float));
    const char *why = NULL;
    if (ds == NULL) {
        why = CPLGetLastErrorMsg();
    } else if (strip == NULL) {
        why = "out of memory";
    } else if (GDALGetRasterXSize(ds) != size ||
               GDALGetRasterYSize(ds) != size) {
        why = "not of the inputs' size";
    }
    uint64_t seeds[RASTER_NINPUTS];
    for (int k = 0; k < RASTER_NINPUTS; k++) {
        seeds[k] = raster_seed(k);
    }
    double file_sum = 0.0, want_sum = 0.0;
    long long bad = 0;
    for (int y0 = 0; y0 < size && why == NULL; y0 += tile) {
        int h = size - y0 < tile ? size - y0 : tile;
        if (GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, y0, size, h,
                         strip, size, h, GDT_Float32, 0, 0) != CE_None) {
            why = CPLGetLastErrorMsg();
        } else {
            s_check_strip(strip, size, y0, h, seeds, &bad, &file_sum,
                          &want_sum);
        }
    }
    free(strip);
    if (why != NULL) {
        fprintf(stderr, NAME ": FAILED: cannot check %s: %s\n", j->f->out, why);
    }
    if (ds != NULL) {
        GDALClose(ds); /* after the message, which may be GDAL's */
    }
    if (why != NULL) {
        return -1;
    }
    bool sums_ok = file_sum == want_sum && checksum == want_sum;
    printf("  check       %lld of %lld cells differ from r1 + ... + r5 "
           "recomputed here   %s\n",
           bad, (long long)size * size, bad == 0 ? "ok" : "WRONG");
    printf("  check       checksum written %.3f, read back %.3f, recomputed "
           "%.3f   %s\n",
           checksum, file_sum, want_sum, sums_ok ? "ok" : "WRONG");
    s_stage("check", t0);
    if (bad != 0 || !sums_ok) {
        fprintf(stderr, NAME ": FAILED: %s is wrong\n", j->f->out);
        return -1;
    }
    return 0;
}

/* ---- Main --------------------------------------------------------------- */

/* Connects, writes the inputs, adds them, checks the sum. */
static int
s_main(const s_opts *o, const s_files *f)
{
    s_job j = {.o = o, .f = f};
    for (int k = 0; k < RASTER_NINPUTS; k++) {
        j.names[k] = dv_str(f->in[k]);
    }
    j.ntiles = raster_tiles_side(o->size, o->tile) *
               raster_tiles_side(o->size, o->tile);
    printf("drove raster add: %d rasters of %d x %d float32 cells, added "
           "cell by cell in tiles of %d x %d\n\n",
           RASTER_NINPUTS, o->size, o->size, o->tile, o->tile);
    double t0 = raster_now();
    j.c = dv_connect(o->where);
    if (j.c == NULL) {
        fprintf(stderr, NAME ": FAILED: cannot connect to %s: %s\n",
                o->where != NULL ? o->where : "the default cluster",
                dv_last_error());
        return 1;
    }
    int rc = example_share_functions(j.c, o->where, NAME);
    if (rc == 0 && o->check_io && strcmp(dv_scheme(j.c), "threads") == 0) {
        fprintf(stderr, NAME ": --check-io needs worker processes "
                             "(local:processes=N or a cluster): on threads the "
                             "tasks' reads are this program's\n");
        rc = -1;
    }
    if (rc == 0) {
        int n = dv_nworkers(j.c);
        printf("  cluster     %s (%s), %d worker%s\n",
               o->where != NULL ? o->where : "default", dv_scheme(j.c), n,
               n == 1 ? "" : "s");
        s_stage("connect", t0);
        rc = s_write_inputs(&j);
    }
    double checksum = 0.0;
    rc = rc == 0 ? s_add(&j, &checksum) : rc;
    dv_close(j.c);
    rc = rc == 0 && o->check ? s_check(&j, checksum) : rc;
    if (rc == 0) {
        printf(NAME ": %s\n", o->check ? "all checks passed" : "done");
    }
    return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    s_opts o;
    int rc = s_parse(argc, argv, &o);
    if (rc != 0) {
        return rc > 0 ? 0 : 1;
    }
    /* Lines in order with stderr's, in a log too. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    GDALAllRegister();
    /* GDAL's messages go into ours, not to stderr on their own. */
    CPLSetErrorHandler(CPLQuietErrorHandler);
    s_files f;
    if (s_files_init(&f, o.dir) < 0) {
        return 1;
    }
    rc = s_main(&o, &f);
    s_files_fini(&f, o.keep);
    return rc;
}
