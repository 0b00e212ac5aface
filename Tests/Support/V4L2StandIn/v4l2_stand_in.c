/*
 * Stand-in V4L2 capture device, loaded with LD_PRELOAD.
 *
 * See README.md in this folder for what is emulated and how to drive it.
 *
 * Layout of this file:
 *   1. real libc entry points (dlsym RTLD_NEXT)
 *   2. global state, logging, configuration
 *   3. device instances, buffers, the frame-producer thread
 *   4. ioctl emulation
 *   5. open / close / mmap / munmap / poll emulation
 *   6. the interposed symbols
 *
 * Every piece of shared state is guarded by the single mutex g_lock.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "v4l2_stand_in.h"

#define SI_EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------------------ */
/* 1. Real libc entry points                                                */
/* ------------------------------------------------------------------------ */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef int (*close_fn)(int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);
typedef int (*ppoll_fn)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
typedef int (*poll_chk_fn)(struct pollfd *, nfds_t, int, size_t);
typedef long (*syscall_fn)(long, ...);

static struct {
    open_fn open, open64;
    openat_fn openat, openat64;
    open2_fn open_2, open64_2;
    openat2_fn openat_2, openat64_2;
    close_fn close;
    read_fn read;
    ioctl_fn ioctl;
    mmap_fn mmap, mmap64;
    munmap_fn munmap;
    poll_fn poll;
    ppoll_fn ppoll;
    poll_chk_fn poll_chk;
    syscall_fn syscall;
} real;

static atomic_int g_resolved;

/* Which entry point the current call came through, for the trace only. */
static __thread const char *tl_via = "libc";

static void *next_sym(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void resolve_real(void)
{
    if (atomic_load_explicit(&g_resolved, memory_order_acquire))
        return;
    real.open = (open_fn)next_sym("open");
    real.open64 = (open_fn)next_sym("open64");
    real.openat = (openat_fn)next_sym("openat");
    real.openat64 = (openat_fn)next_sym("openat64");
    real.open_2 = (open2_fn)next_sym("__open_2");
    real.open64_2 = (open2_fn)next_sym("__open64_2");
    real.openat_2 = (openat2_fn)next_sym("__openat_2");
    real.openat64_2 = (openat2_fn)next_sym("__openat64_2");
    real.close = (close_fn)next_sym("close");
    real.read = (read_fn)next_sym("read");
    real.ioctl = (ioctl_fn)next_sym("ioctl");
    real.mmap = (mmap_fn)next_sym("mmap");
    real.mmap64 = (mmap_fn)next_sym("mmap64");
    real.munmap = (munmap_fn)next_sym("munmap");
    real.poll = (poll_fn)next_sym("poll");
    real.ppoll = (ppoll_fn)next_sym("ppoll");
    real.poll_chk = (poll_chk_fn)next_sym("__poll_chk");
    real.syscall = (syscall_fn)next_sym("syscall");
    if (!real.open64)
        real.open64 = real.open;
    if (!real.openat64)
        real.openat64 = real.openat;
    if (!real.mmap64)
        real.mmap64 = real.mmap;
    atomic_store_explicit(&g_resolved, 1, memory_order_release);
}

#define RESOLVE() do { if (!atomic_load_explicit(&g_resolved, memory_order_acquire)) resolve_real(); } while (0)

/* ------------------------------------------------------------------------ */
/* 2. Global state, logging, configuration                                  */
/* ------------------------------------------------------------------------ */

#define MAX_FORMATS 2
#define MAX_BUFFERS 32
#define FD_MAP_SIZE 65536

static const uint32_t k_sizes[][2] = { { 640, 480 }, { 1280, 720 }, { 320, 240 } };
#define N_SIZES (sizeof(k_sizes) / sizeof(k_sizes[0]))
/* Frame intervals offered for every size, as numerator/denominator. */
static const uint32_t k_intervals[][2] = { { 1, 30 }, { 1, 15 } };
#define N_INTERVALS (sizeof(k_intervals) / sizeof(k_intervals[0]))

/* Controls, in id order, as a UVC webcam on an older kernel names them. menu[i] names item min + i; NULL marks an
 * item the driver skips (QUERYMENU fails with EINVAL for it, as with uvcvideo's menu_skip_mask). */
struct ctrl_def {
    uint32_t id;
    uint32_t type;
    const char *name;     /* as QUERYCTRL reports it */
    const char *var;      /* as v4l2-ctl shows it, for the event log */
    int32_t min, max, step, def;
    uint32_t flags;
    const char *const *menu;
    const long long *int_menu; /* the numbers of an integer menu's items, from min */
};
static const char *const k_power_line_menu[] = { "Disabled", "50 Hz", "60 Hz" };
static const char *const k_exposure_auto_menu[] = { NULL, "Manual Mode", NULL, "Aperture Priority Mode" };
/* Exposure bias in 1/1000 EV, as an integer menu. */
static const long long k_exposure_bias_menu[] = { -2000, -1000, 0, 1000, 2000 };
static const struct ctrl_def k_ctrls[] = {
    { V4L2_CID_USER_CLASS, V4L2_CTRL_TYPE_CTRL_CLASS, "User Controls", "user_controls", 0, 0, 0, 0,
      V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_WRITE_ONLY, NULL, NULL },
    { V4L2_CID_BRIGHTNESS, V4L2_CTRL_TYPE_INTEGER, "Brightness", "brightness", -64, 64, 1, 0, 0, NULL, NULL },
    { V4L2_CID_CONTRAST, V4L2_CTRL_TYPE_INTEGER, "Contrast", "contrast", 0, 64, 1, 32, 0, NULL, NULL },
    { V4L2_CID_HUE, V4L2_CTRL_TYPE_INTEGER, "Hue", "hue", -40, 40, 1, 0, V4L2_CTRL_FLAG_DISABLED, NULL, NULL },
    { V4L2_CID_AUTO_WHITE_BALANCE, V4L2_CTRL_TYPE_BOOLEAN, "White Balance, Automatic", "white_balance_automatic",
      0, 1, 1, 1, 0, NULL, NULL },
    { V4L2_CID_POWER_LINE_FREQUENCY, V4L2_CTRL_TYPE_MENU, "Power Line Frequency", "power_line_frequency", 0, 2, 1,
      1, 0, k_power_line_menu, NULL },
    { V4L2_CID_CAMERA_CLASS, V4L2_CTRL_TYPE_CTRL_CLASS, "Camera Controls", "camera_controls", 0, 0, 0, 0,
      V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_WRITE_ONLY, NULL, NULL },
    { V4L2_CID_EXPOSURE_AUTO, V4L2_CTRL_TYPE_MENU, "Exposure, Auto", "exposure_auto", 0, 3, 1, 3, 0,
      k_exposure_auto_menu, NULL },
    { V4L2_CID_EXPOSURE_ABSOLUTE, V4L2_CTRL_TYPE_INTEGER, "Exposure (Absolute)", "exposure_absolute", 3, 2047, 1,
      250, 0, NULL, NULL },
    { V4L2_CID_PAN_RESET, V4L2_CTRL_TYPE_BUTTON, "Pan, Reset", "pan_reset", 0, 0, 0, 0, V4L2_CTRL_FLAG_WRITE_ONLY,
      NULL, NULL },
    { V4L2_CID_FOCUS_ABSOLUTE, V4L2_CTRL_TYPE_INTEGER, "Focus (absolute)", "focus_absolute", 0, 250, 5, 0, 0, NULL, NULL },
    { V4L2_CID_AUTO_EXPOSURE_BIAS, V4L2_CTRL_TYPE_INTEGER_MENU, "Auto Exposure, Bias", "auto_exposure_bias", 0, 4, 1,
      2, 0, NULL, k_exposure_bias_menu },
};
#define N_CTRLS (sizeof(k_ctrls) / sizeof(k_ctrls[0]))

struct config {
    uint32_t formats[MAX_FORMATS];
    unsigned nformats;
    char *jpeg_path;
    char *control_dir;
    unsigned pad;
    double fps;               /* 0: use timeperframe */
    int busy;
    int busy_open;
    int not_capture;
    unsigned corrupt_every;
    unsigned truncated_every;
    unsigned stall_after;
    int has_stall;
};

enum buf_state { BUF_DEQUEUED = 0, BUF_QUEUED, BUF_DONE };

struct sbuf {
    enum buf_state state;
    uint32_t bytesused;
    uint32_t flags;           /* V4L2_BUF_FLAG_ERROR only */
    uint32_t sequence;
    struct timeval timestamp;
    uint64_t queued_order;
    unsigned map_count;
};

struct open_file;

struct instance {
    struct instance *next;
    unsigned id;
    int refs;                 /* open fds attached */
    int dead;                 /* unplugged: every ioctl fails with ENODEV */
    int closing;              /* last fd closed; being torn down */
    int stop;                 /* tells the producer thread to exit */
    pthread_t thread;
    struct config cfg;

    uint32_t fourcc, width, height;
    uint32_t tpf_num, tpf_den;
    struct open_file *owner;  /* file handle holding streaming privileges */

    unsigned nbufs;
    uint32_t sizeimage;       /* buffer length reported by QUERYBUF */
    size_t buf_span;          /* page-aligned distance between buffers */
    int memfd;
    unsigned char *mem;
    unsigned buf_gen;
    struct sbuf bufs[MAX_BUFFERS];
    unsigned done[MAX_BUFFERS];
    unsigned done_head, done_count;
    uint64_t queue_counter;

    int streaming;
    uint32_t sequence;        /* sequence number of the next frame */
    unsigned delivered;       /* frames written into buffers since STREAMON */
    unsigned char *frame;     /* template copied into every buffer */
    uint32_t frame_len;
    struct timespec next_tick;
    struct timespec next_check;
    int32_t ctrl_values[N_CTRLS]; /* current control values, reset with the device */
};

struct open_file {
    struct open_file *next;
    int fd;                   /* read end of a pipe: the fd the app sees */
    int wfd;                  /* write end, private; -1 once unplugged */
    unsigned pipe_bytes;      /* bytes currently in the pipe */
    int closed;
    int busy;                 /* threads blocked inside DQBUF on this fd */
    struct instance *inst;
};

struct mapping {
    struct mapping *next;
    void *addr;
    size_t len;
    struct instance *inst;    /* NULL once the buffers were freed */
    unsigned gen;
    unsigned index;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;
static pthread_once_t g_cond_once = PTHREAD_ONCE_INIT;
static struct instance *g_instances;
static struct open_file *g_files;
static struct mapping *g_mappings;
static unsigned g_next_instance_id = 1;
static atomic_int g_fake_count;
static atomic_int g_mapping_count;
static atomic_uchar g_fake_fd[FD_MAP_SIZE];
static long g_page_size = 4096;

static void init_cond(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cond, &attr);
    pthread_condattr_destroy(&attr);
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0)
        g_page_size = ps;
}

static void lock(void)
{
    pthread_once(&g_cond_once, init_cond);
    pthread_mutex_lock(&g_lock);
}

static void unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

static int is_fake_fd(int fd)
{
    if (atomic_load_explicit(&g_fake_count, memory_order_relaxed) == 0)
        return 0;
    if (fd < 0 || fd >= FD_MAP_SIZE)
        return 0;
    return atomic_load_explicit(&g_fake_fd[fd], memory_order_relaxed) != 0;
}

static struct open_file *find_file(int fd)
{
    for (struct open_file *of = g_files; of; of = of->next)
        if (of->fd == fd && !of->closed)
            return of;
    return NULL;
}

static struct timespec now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

static int ts_before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static struct timespec ts_add_ns(struct timespec t, long long ns)
{
    long long total = (long long)t.tv_nsec + ns;
    t.tv_sec += (time_t)(total / 1000000000LL);
    total %= 1000000000LL;
    if (total < 0) {
        total += 1000000000LL;
        t.tv_sec -= 1;
    }
    t.tv_nsec = (long)total;
    return t;
}

static const char *err_name(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static void fourcc_str(uint32_t f, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((f >> (8 * i)) & 0xff);
        out[i] = (c >= 32 && c < 127) ? c : '?';
    }
    out[4] = 0;
}

/* Appends one line to $V4L2_STAND_IN_LOG. One write() per line, O_APPEND. */
static void event_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void event_log(const char *fmt, ...)
{
    const char *path = getenv(V4L2_STAND_IN_ENV_LOG);
    if (!path || !*path)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    int saved = errno;
    int fd = real.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, (size_t)n);
        (void)w;
        real.close(fd);
    }
    errno = saved;
}

static int trace_on(void)
{
    const char *t = getenv(V4L2_STAND_IN_ENV_TRACE);
    return t && *t && strcmp(t, "0") != 0;
}

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
    if (!trace_on())
        return;
    char line[300];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n > 0) {
        if (n > (int)sizeof(line) - 2)
            n = (int)sizeof(line) - 2;
        line[n++] = '\n';
        ssize_t w = write(2, line, (size_t)n);
        (void)w;
    }
    errno = saved;
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
    char line[300];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(line, sizeof(line), "v4l2-stand-in: ");
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m > 0) {
        n += m;
        if (n > (int)sizeof(line) - 2)
            n = (int)sizeof(line) - 2;
        line[n++] = '\n';
        ssize_t w = write(2, line, (size_t)n);
        (void)w;
    }
    errno = saved;
}

static char *dup_env(const char *name)
{
    const char *v = getenv(name);
    return (v && *v) ? strdup(v) : NULL;
}

static int parse_uint(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > UINT_MAX)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static void parse_faults(struct config *c, const char *list)
{
    if (!list)
        return;
    char *copy = strdup(list);
    if (!copy)
        return;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t\r\n", &save); tok; tok = strtok_r(NULL, ", \t\r\n", &save)) {
        char *eq = strchr(tok, '=');
        unsigned n = 0;
        if (eq) {
            *eq = 0;
            if (parse_uint(eq + 1, &n) != 0) {
                warn("bad number in fault '%s=%s'", tok, eq + 1);
                continue;
            }
        }
        if (!strcmp(tok, "busy") && !eq)
            c->busy = 1;
        else if (!strcmp(tok, "busy-open") && !eq)
            c->busy_open = 1;
        else if (!strcmp(tok, "not-capture") && !eq)
            c->not_capture = 1;
        else if (!strcmp(tok, "corrupt-every") && eq && n > 0)
            c->corrupt_every = n;
        else if (!strcmp(tok, "truncated-every") && eq && n > 0)
            c->truncated_every = n;
        else if (!strcmp(tok, "stall-after") && eq) {
            c->stall_after = n;
            c->has_stall = 1;
        } else
            warn("unknown fault '%s'", tok);
    }
    free(copy);
}

static char *read_small_file(const char *path, size_t max, size_t *len_out)
{
    int fd = real.open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        real.close(fd);
        errno = EFBIG;
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        real.close(fd);
        return NULL;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = real.read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    real.close(fd);
    buf[got] = 0;
    if (len_out)
        *len_out = got;
    return buf;
}

static void load_config(struct config *c)
{
    memset(c, 0, sizeof(*c));
    const char *formats = getenv(V4L2_STAND_IN_ENV_FORMATS);
    if (formats && *formats) {
        char *copy = strdup(formats);
        char *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ", \t", &save) : NULL; tok; tok = strtok_r(NULL, ", \t", &save)) {
            uint32_t f = 0;
            if (!strcasecmp(tok, "MJPG") || !strcasecmp(tok, "MJPEG"))
                f = V4L2_PIX_FMT_MJPEG;
            else if (!strcasecmp(tok, "YUYV"))
                f = V4L2_PIX_FMT_YUYV;
            else if (!strcasecmp(tok, "NV12"))
                f = V4L2_PIX_FMT_NV12;
            else {
                warn("unknown format '%s' in %s", tok, V4L2_STAND_IN_ENV_FORMATS);
                continue;
            }
            int dup = 0;
            for (unsigned i = 0; i < c->nformats; i++)
                dup |= c->formats[i] == f;
            if (!dup && c->nformats < MAX_FORMATS)
                c->formats[c->nformats++] = f;
        }
        free(copy);
    }
    if (c->nformats == 0) {
        c->formats[0] = V4L2_PIX_FMT_MJPEG;
        c->formats[1] = V4L2_PIX_FMT_YUYV;
        c->nformats = 2;
    }
    c->jpeg_path = dup_env(V4L2_STAND_IN_ENV_JPEG);
    c->control_dir = dup_env(V4L2_STAND_IN_ENV_CONTROL);
    const char *pad = getenv(V4L2_STAND_IN_ENV_PAD);
    if (pad && *pad) {
        unsigned p;
        if (parse_uint(pad, &p) == 0 && p <= 65536)
            c->pad = p;
        else
            warn("bad %s '%s'", V4L2_STAND_IN_ENV_PAD, pad);
    }
    const char *fps = getenv(V4L2_STAND_IN_ENV_FPS);
    if (fps && *fps) {
        char *end;
        double v = strtod(fps, &end);
        if (end != fps && !*end && v > 0 && v <= 10000)
            c->fps = v;
        else
            warn("bad %s '%s'", V4L2_STAND_IN_ENV_FPS, fps);
    }
    parse_faults(c, getenv(V4L2_STAND_IN_ENV_FAULTS));
    if (c->control_dir) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", c->control_dir, V4L2_STAND_IN_CONTROL_FAULTS);
        char *text = read_small_file(path, 4096, NULL);
        if (text) {
            parse_faults(c, text);
            free(text);
        }
    }
}

static void free_config(struct config *c)
{
    free(c->jpeg_path);
    free(c->control_dir);
    c->jpeg_path = c->control_dir = NULL;
}

static int control_unplugged(const char *control_dir)
{
    if (!control_dir)
        return 0;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", control_dir, V4L2_STAND_IN_CONTROL_UNPLUGGED);
    struct stat st;
    return stat(path, &st) == 0;
}

/* ------------------------------------------------------------------------ */
/* 3. Device instances, buffers, frame producer                             */
/* ------------------------------------------------------------------------ */

/* The fake fd is the read end of a pipe. While the owner streams, the pipe
 * holds exactly one byte per buffer ready to dequeue (so poll/select/epoll
 * report POLLIN natively). While not streaming it holds one byte, and the
 * poll wrappers report POLLERR, as vb2 does. Unplugging closes the write end
 * (POLLHUP natively; the wrappers add POLLERR). */
static void pipe_put(struct open_file *of)
{
    if (of->wfd < 0)
        return;
    char b = 1;
    if (write(of->wfd, &b, 1) == 1)
        of->pipe_bytes++;
}

static void pipe_take(struct open_file *of, unsigned n)
{
    char tmp[64];
    while (n > 0 && of->pipe_bytes > 0) {
        unsigned want = n < sizeof(tmp) ? n : (unsigned)sizeof(tmp);
        if (want > of->pipe_bytes)
            want = of->pipe_bytes;
        ssize_t r = real.read(of->fd, tmp, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        of->pipe_bytes -= (unsigned)r;
        n -= (unsigned)r;
    }
}

static void pipe_set_idle(struct open_file *of)
{
    pipe_take(of, of->pipe_bytes);
    pipe_put(of);
}

static uint32_t mjpeg_sizeimage(const struct instance *in, uint32_t w, uint32_t h)
{
    uint32_t size = w * h * 2;
    if (in->cfg.jpeg_path) {
        struct stat st;
        if (stat(in->cfg.jpeg_path, &st) == 0 && st.st_size > (off_t)size && st.st_size < (1 << 28))
            size = ((uint32_t)st.st_size + 4095u) & ~4095u;
    }
    return size;
}

static void fill_pix(const struct instance *in, uint32_t fourcc, uint32_t w, uint32_t h,
                     struct v4l2_pix_format *p)
{
    memset(p, 0, sizeof(*p));
    p->width = w;
    p->height = h;
    p->pixelformat = fourcc;
    p->field = V4L2_FIELD_NONE;
    if (fourcc == V4L2_PIX_FMT_YUYV) {
        p->bytesperline = w * 2 + in->cfg.pad;
        p->sizeimage = p->bytesperline * h;
    } else if (fourcc == V4L2_PIX_FMT_NV12) {
        p->bytesperline = w + in->cfg.pad;
        p->sizeimage = p->bytesperline * h * 3 / 2;
    } else {
        p->bytesperline = 0;
        p->sizeimage = mjpeg_sizeimage(in, w, h);
    }
    p->colorspace = V4L2_COLORSPACE_SRGB;
}

static int format_offered(const struct instance *in, uint32_t fourcc)
{
    for (unsigned i = 0; i < in->cfg.nformats; i++)
        if (in->cfg.formats[i] == fourcc)
            return 1;
    return 0;
}

/* Nearest size, by the same measure uvcvideo uses: the area of the two
 * rectangles that the requested and offered sizes do not share. */
static void nearest_size(uint32_t rw, uint32_t rh, uint32_t *w, uint32_t *h)
{
    uint64_t best = UINT64_MAX;
    for (unsigned i = 0; i < N_SIZES; i++) {
        uint64_t fw = k_sizes[i][0], fh = k_sizes[i][1];
        uint64_t common = (fw < rw ? fw : rw) * (fh < rh ? fh : rh);
        uint64_t d = fw * fh + (uint64_t)rw * rh - 2 * common;
        if (d < best) {
            best = d;
            *w = (uint32_t)fw;
            *h = (uint32_t)fh;
        }
    }
}

static long long frame_period_ns(const struct instance *in)
{
    if (in->cfg.fps > 0)
        return (long long)(1e9 / in->cfg.fps);
    if (in->tpf_den == 0)
        return 1000000000LL / 30;
    return (long long)in->tpf_num * 1000000000LL / in->tpf_den;
}

static void orphan_mappings(struct instance *in)
{
    for (struct mapping *m = g_mappings; m; m = m->next)
        if (m->inst == in)
            m->inst = NULL;
}

static void free_buffers(struct instance *in)
{
    orphan_mappings(in);
    if (in->mem)
        real.munmap(in->mem, in->buf_span * in->nbufs);
    if (in->memfd >= 0)
        real.close(in->memfd);
    in->mem = NULL;
    in->memfd = -1;
    in->nbufs = 0;
    in->buf_gen++;
    in->done_head = in->done_count = 0;
    memset(in->bufs, 0, sizeof(in->bufs));
}

static int alloc_buffers(struct instance *in, unsigned count, uint32_t sizeimage)
{
    size_t span = ((size_t)sizeimage + (size_t)g_page_size - 1) & ~((size_t)g_page_size - 1);
    size_t total = span * count;
    int fd = memfd_create("v4l2-stand-in", MFD_CLOEXEC);
    if (fd < 0)
        return -ENOMEM;
    if (ftruncate(fd, (off_t)total) != 0) {
        real.close(fd);
        return -ENOMEM;
    }
    void *mem = real.mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        real.close(fd);
        return -ENOMEM;
    }
    in->memfd = fd;
    in->mem = mem;
    in->nbufs = count;
    in->sizeimage = sizeimage;
    in->buf_span = span;
    memset(in->bufs, 0, sizeof(in->bufs));
    in->done_head = in->done_count = 0;
    return 0;
}

static void set_idle_all(struct instance *in)
{
    for (struct open_file *of = g_files; of; of = of->next)
        if (of->inst == in && !of->closed)
            pipe_set_idle(of);
}

/* Stops streaming and returns every buffer to the dequeued state. */
static void stop_stream(struct instance *in)
{
    in->streaming = 0;
    for (unsigned i = 0; i < in->nbufs; i++) {
        in->bufs[i].state = BUF_DEQUEUED;
        in->bufs[i].flags = 0;
    }
    in->done_head = in->done_count = 0;
    free(in->frame);
    in->frame = NULL;
    in->frame_len = 0;
    set_idle_all(in);
    pthread_cond_broadcast(&g_cond);
}

static void mark_dead(struct instance *in)
{
    if (in->dead)
        return;
    in->dead = 1;
    in->streaming = 0;
    in->done_head = in->done_count = 0;
    for (struct open_file *of = g_files; of; of = of->next) {
        if (of->inst != in || of->closed)
            continue;
        pipe_take(of, of->pipe_bytes);
        if (of->wfd >= 0) {
            real.close(of->wfd);
            of->wfd = -1;
        }
    }
    event_log("unplug");
    trace("stand-in: device %u unplugged", in->id);
    pthread_cond_broadcast(&g_cond);
}

/* Checks the control folder at most every V4L2_STAND_IN_CONTROL_POLL_MS. */
static void check_control(struct instance *in, int force)
{
    if (in->dead || !in->cfg.control_dir)
        return;
    struct timespec now = now_mono();
    if (!force && ts_before(now, in->next_check))
        return;
    in->next_check = ts_add_ns(now, V4L2_STAND_IN_CONTROL_POLL_MS * 1000000LL);
    if (control_unplugged(in->cfg.control_dir))
        mark_dead(in);
}

static void build_yuyv(unsigned char *dst, uint32_t w, uint32_t h, uint32_t bpl)
{
    unsigned char *row0 = dst;
    for (uint32_t x = 0; x < w; x++) {
        row0[2 * x] = (unsigned char)V4L2_STAND_IN_PATTERN_Y(x, w);
        row0[2 * x + 1] = (unsigned char)V4L2_STAND_IN_PATTERN_UV;
    }
    memset(row0 + 2 * w, V4L2_STAND_IN_PAD_BYTE, bpl - 2 * w);
    for (uint32_t y = 1; y < h; y++)
        memcpy(dst + (size_t)y * bpl, row0, bpl);
}

/* NV12: the luma plane carries the same pattern as YUYV; the interleaved chroma plane is neutral. */
static void build_nv12(unsigned char *dst, uint32_t w, uint32_t h, uint32_t bpl)
{
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *row = dst + (size_t)y * bpl;
        for (uint32_t x = 0; x < w; x++)
            row[x] = (unsigned char)V4L2_STAND_IN_PATTERN_Y(x, w);
        memset(row + w, V4L2_STAND_IN_PAD_BYTE, bpl - w);
    }
    for (uint32_t y = 0; y < h / 2; y++) {
        unsigned char *row = dst + (size_t)(h + y) * bpl;
        memset(row, V4L2_STAND_IN_PATTERN_UV, w);
        memset(row + w, V4L2_STAND_IN_PAD_BYTE, bpl - w);
    }
}

static void produce_frame(struct instance *in)
{
    uint32_t seq = in->sequence++;
    if (!in->owner)
        return;
    struct sbuf *target = NULL;
    unsigned index = 0;
    for (unsigned i = 0; i < in->nbufs; i++) {
        struct sbuf *b = &in->bufs[i];
        if (b->state == BUF_QUEUED && (!target || b->queued_order < target->queued_order)) {
            target = b;
            index = i;
        }
    }
    if (!target)
        return; /* no buffer queued: this frame is dropped */
    in->delivered++;
    unsigned n = in->delivered;
    uint32_t len = in->frame_len < in->sizeimage ? in->frame_len : in->sizeimage;
    memcpy(in->mem + in->buf_span * index, in->frame, len);
    target->bytesused = len;
    target->flags = 0;
    if (in->fourcc == V4L2_PIX_FMT_MJPEG && in->cfg.truncated_every && n % in->cfg.truncated_every == 0 && len >= 2)
        target->bytesused = len - 2;
    if (in->cfg.corrupt_every && n % in->cfg.corrupt_every == 0)
        target->flags |= V4L2_BUF_FLAG_ERROR;
    target->sequence = seq;
    struct timespec now = now_mono();
    target->timestamp.tv_sec = now.tv_sec;
    target->timestamp.tv_usec = now.tv_nsec / 1000;
    target->state = BUF_DONE;
    in->done[(in->done_head + in->done_count) % MAX_BUFFERS] = index;
    in->done_count++;
    pipe_put(in->owner);
    pthread_cond_broadcast(&g_cond);
}

static void *producer_main(void *arg)
{
    struct instance *in = arg;
    lock();
    while (!in->stop && !in->dead) {
        check_control(in, 0);
        if (in->dead)
            break;
        struct timespec now = now_mono();
        if (in->streaming) {
            long long period = frame_period_ns(in);
            int stalled = in->cfg.has_stall && in->delivered >= in->cfg.stall_after;
            if (!ts_before(now, in->next_tick)) {
                if (!stalled)
                    produce_frame(in);
                in->next_tick = ts_add_ns(in->next_tick, period);
                /* Fell more than a frame behind: restart the schedule. */
                if (ts_before(in->next_tick, now))
                    in->next_tick = ts_add_ns(now, period);
            }
        }
        struct timespec wake = in->cfg.control_dir ? in->next_check : ts_add_ns(now, 1000000000LL);
        if (!in->cfg.control_dir && ts_before(wake, now))
            wake = ts_add_ns(now, 1000000000LL);
        if (in->streaming && ts_before(in->next_tick, wake))
            wake = in->next_tick;
        if (ts_before(now, wake))
            pthread_cond_timedwait(&g_cond, &g_lock, &wake);
    }
    unlock();
    return NULL;
}

static struct instance *live_instance(void)
{
    for (struct instance *in = g_instances; in; in = in->next)
        if (!in->dead && !in->closing)
            return in;
    return NULL;
}

static struct instance *new_instance(struct config *cfg)
{
    struct instance *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->id = g_next_instance_id++;
    in->cfg = *cfg;
    in->memfd = -1;
    in->fourcc = cfg->formats[0];
    in->width = k_sizes[0][0];
    in->height = k_sizes[0][1];
    in->tpf_num = k_intervals[0][0];
    in->tpf_den = k_intervals[0][1];
    for (unsigned i = 0; i < N_CTRLS; i++)
        in->ctrl_values[i] = k_ctrls[i].def;
    in->next_check = now_mono();

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&in->thread, NULL, producer_main, in);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(in);
        return NULL;
    }
    in->next = g_instances;
    g_instances = in;
    return in;
}

static void unlink_instance(struct instance *in)
{
    for (struct instance **p = &g_instances; *p; p = &(*p)->next)
        if (*p == in) {
            *p = in->next;
            return;
        }
}

static void destroy_instance(struct instance *in)
{
    free_buffers(in);
    free(in->frame);
    free_config(&in->cfg);
    free(in);
}

/* ------------------------------------------------------------------------ */
/* 4. ioctl emulation. Handlers return 0 or -errno; called with g_lock held. */
/* ------------------------------------------------------------------------ */

static int acquire_privileges(struct open_file *of)
{
    struct instance *in = of->inst;
    if (in->cfg.busy)
        return -EBUSY;
    if (in->owner && in->owner != of)
        return -EBUSY;
    in->owner = of;
    return 0;
}

static int has_privileges(struct open_file *of)
{
    return !of->inst->cfg.busy && of->inst->owner == of;
}

static int do_querycap(struct instance *in, struct v4l2_capability *cap)
{
    memset(cap, 0, sizeof(*cap));
    snprintf((char *)cap->driver, sizeof(cap->driver), "stand-in");
    snprintf((char *)cap->card, sizeof(cap->card), "FrameStream stand-in camera");
    snprintf((char *)cap->bus_info, sizeof(cap->bus_info), "platform:v4l2-stand-in");
    cap->version = (6u << 16) | (1u << 8);
    if (in->cfg.not_capture)
        cap->device_caps = V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING;
    else
        cap->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
    cap->capabilities = cap->device_caps | V4L2_CAP_DEVICE_CAPS;
    return 0;
}

static int capture_type_ok(struct instance *in, uint32_t type)
{
    return type == V4L2_BUF_TYPE_VIDEO_CAPTURE && !in->cfg.not_capture;
}

static int do_enum_fmt(struct instance *in, struct v4l2_fmtdesc *f)
{
    if (!capture_type_ok(in, f->type) || f->index >= in->cfg.nformats)
        return -EINVAL;
    uint32_t index = f->index, type = f->type;
    memset(f, 0, sizeof(*f));
    f->index = index;
    f->type = type;
    f->pixelformat = in->cfg.formats[index];
    if (f->pixelformat == V4L2_PIX_FMT_MJPEG) {
        f->flags = V4L2_FMT_FLAG_COMPRESSED;
        snprintf((char *)f->description, sizeof(f->description), "Motion-JPEG");
    } else if (f->pixelformat == V4L2_PIX_FMT_NV12) {
        snprintf((char *)f->description, sizeof(f->description), "Y/UV 4:2:0");
    } else {
        snprintf((char *)f->description, sizeof(f->description), "YUYV 4:2:2");
    }
    return 0;
}

static int do_enum_framesizes(struct instance *in, struct v4l2_frmsizeenum *s)
{
    if (in->cfg.not_capture || !format_offered(in, s->pixel_format) || s->index >= N_SIZES)
        return -EINVAL;
    uint32_t index = s->index, pf = s->pixel_format;
    memset(s, 0, sizeof(*s));
    s->index = index;
    s->pixel_format = pf;
    s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
    s->discrete.width = k_sizes[index][0];
    s->discrete.height = k_sizes[index][1];
    return 0;
}

static int do_enum_frameintervals(struct instance *in, struct v4l2_frmivalenum *iv)
{
    if (in->cfg.not_capture || !format_offered(in, iv->pixel_format) || iv->index >= N_INTERVALS)
        return -EINVAL;
    int size_ok = 0;
    for (unsigned i = 0; i < N_SIZES; i++)
        size_ok |= k_sizes[i][0] == iv->width && k_sizes[i][1] == iv->height;
    if (!size_ok)
        return -EINVAL;
    uint32_t index = iv->index, pf = iv->pixel_format, w = iv->width, h = iv->height;
    memset(iv, 0, sizeof(*iv));
    iv->index = index;
    iv->pixel_format = pf;
    iv->width = w;
    iv->height = h;
    iv->type = V4L2_FRMIVAL_TYPE_DISCRETE;
    iv->discrete.numerator = k_intervals[index][0];
    iv->discrete.denominator = k_intervals[index][1];
    return 0;
}

static int do_g_fmt(struct instance *in, struct v4l2_format *f)
{
    if (!capture_type_ok(in, f->type))
        return -EINVAL;
    fill_pix(in, in->fourcc, in->width, in->height, &f->fmt.pix);
    return 0;
}

static int do_try_fmt(struct instance *in, struct v4l2_format *f)
{
    if (!capture_type_ok(in, f->type))
        return -EINVAL;
    uint32_t fourcc = f->fmt.pix.pixelformat;
    if (!format_offered(in, fourcc))
        fourcc = in->cfg.formats[0];
    uint32_t w = k_sizes[0][0], h = k_sizes[0][1];
    nearest_size(f->fmt.pix.width, f->fmt.pix.height, &w, &h);
    fill_pix(in, fourcc, w, h, &f->fmt.pix);
    return 0;
}

static int do_s_fmt(struct open_file *of, struct v4l2_format *f)
{
    struct instance *in = of->inst;
    if (!capture_type_ok(in, f->type))
        return -EINVAL;
    int rc = acquire_privileges(of);
    if (rc)
        return rc;
    if (in->nbufs > 0 || in->streaming)
        return -EBUSY;
    do_try_fmt(in, f);
    in->fourcc = f->fmt.pix.pixelformat;
    in->width = f->fmt.pix.width;
    in->height = f->fmt.pix.height;
    char fc[5];
    fourcc_str(in->fourcc, fc);
    event_log("s_fmt %s %ux%u", fc, in->width, in->height);
    return 0;
}

static void fill_parm(struct instance *in, struct v4l2_streamparm *p)
{
    uint32_t type = p->type;
    memset(p, 0, sizeof(*p));
    p->type = type;
    p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
    p->parm.capture.timeperframe.numerator = in->tpf_num;
    p->parm.capture.timeperframe.denominator = in->tpf_den;
}

static int do_g_parm(struct instance *in, struct v4l2_streamparm *p)
{
    if (!capture_type_ok(in, p->type))
        return -EINVAL;
    fill_parm(in, p);
    return 0;
}

static int do_s_parm(struct open_file *of, struct v4l2_streamparm *p)
{
    struct instance *in = of->inst;
    if (!capture_type_ok(in, p->type))
        return -EINVAL;
    int rc = acquire_privileges(of);
    if (rc)
        return rc;
    if (in->streaming)
        return -EBUSY;
    uint32_t num = p->parm.capture.timeperframe.numerator;
    uint32_t den = p->parm.capture.timeperframe.denominator;
    unsigned pick = 0;
    if (num && den) {
        /* compare intervals in units of 100 ns, as UVC does */
        uint64_t want = (uint64_t)num * 10000000ULL / den;
        uint64_t best = UINT64_MAX;
        for (unsigned i = 0; i < N_INTERVALS; i++) {
            uint64_t have = (uint64_t)k_intervals[i][0] * 10000000ULL / k_intervals[i][1];
            uint64_t d = have > want ? have - want : want - have;
            if (d < best) {
                best = d;
                pick = i;
            }
        }
    }
    in->tpf_num = k_intervals[pick][0];
    in->tpf_den = k_intervals[pick][1];
    fill_parm(in, p);
    return 0;
}

static int do_reqbufs(struct open_file *of, struct v4l2_requestbuffers *r)
{
    struct instance *in = of->inst;
    if (!capture_type_ok(in, r->type) || r->memory != V4L2_MEMORY_MMAP)
        return -EINVAL;
    int rc = acquire_privileges(of);
    if (rc)
        return rc;
    if (in->streaming)
        return -EBUSY;
    unsigned count = r->count > MAX_BUFFERS ? MAX_BUFFERS : r->count;
    free_buffers(in);
    if (count > 0) {
        struct v4l2_pix_format pix;
        fill_pix(in, in->fourcc, in->width, in->height, &pix);
        rc = alloc_buffers(in, count, pix.sizeimage);
        if (rc)
            return rc;
    }
    r->count = count;
    r->capabilities = V4L2_BUF_CAP_SUPPORTS_MMAP | V4L2_BUF_CAP_SUPPORTS_ORPHANED_BUFS;
    memset(r->reserved, 0, sizeof(r->reserved));
    if (count == 0)
        in->owner = NULL; /* uvcvideo gives up privileges on REQBUFS(0) */
    event_log("reqbufs %u", count);
    return 0;
}

static void fill_buffer(struct instance *in, unsigned i, struct v4l2_buffer *b)
{
    struct sbuf *s = &in->bufs[i];
    memset(b, 0, sizeof(*b));
    b->index = i;
    b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b->memory = V4L2_MEMORY_MMAP;
    b->m.offset = (uint32_t)(in->buf_span * i);
    b->length = in->sizeimage;
    b->field = V4L2_FIELD_NONE;
    b->flags = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | s->flags;
    if (s->map_count)
        b->flags |= V4L2_BUF_FLAG_MAPPED;
    if (s->state == BUF_QUEUED)
        b->flags |= V4L2_BUF_FLAG_QUEUED;
    else if (s->state == BUF_DONE)
        b->flags |= V4L2_BUF_FLAG_DONE;
    b->bytesused = s->bytesused;
    b->sequence = s->sequence;
    b->timestamp = s->timestamp;
}

static int buffer_arg_ok(struct instance *in, const struct v4l2_buffer *b)
{
    return capture_type_ok(in, b->type) && b->memory == V4L2_MEMORY_MMAP;
}

static int do_querybuf(struct open_file *of, struct v4l2_buffer *b)
{
    struct instance *in = of->inst;
    if (!capture_type_ok(in, b->type))
        return -EINVAL;
    if (!has_privileges(of))
        return -EBUSY;
    if (b->index >= in->nbufs)
        return -EINVAL;
    fill_buffer(in, b->index, b);
    return 0;
}

static int do_qbuf(struct open_file *of, struct v4l2_buffer *b)
{
    struct instance *in = of->inst;
    if (!buffer_arg_ok(in, b))
        return -EINVAL;
    if (!has_privileges(of))
        return -EBUSY;
    if (b->index >= in->nbufs || in->bufs[b->index].state != BUF_DEQUEUED)
        return -EINVAL;
    struct sbuf *s = &in->bufs[b->index];
    s->state = BUF_QUEUED;
    s->flags = 0;
    s->bytesused = 0;
    s->queued_order = ++in->queue_counter;
    fill_buffer(in, b->index, b);
    return 0;
}

static int file_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

static int do_dqbuf(struct open_file *of, struct v4l2_buffer *b)
{
    struct instance *in = of->inst;
    if (!buffer_arg_ok(in, b))
        return -EINVAL;
    if (!has_privileges(of))
        return -EBUSY;
    for (;;) {
        if (!in->streaming)
            return -EINVAL;
        if (in->done_count > 0)
            break;
        if (file_nonblocking(of->fd))
            return -EAGAIN;
        of->busy++;
        pthread_cond_wait(&g_cond, &g_lock);
        of->busy--;
        if (of->closed) {
            if (of->busy == 0)
                free(of);
            return -EBADF;
        }
        check_control(in, 0);
        if (in->dead)
            return -ENODEV;
    }
    unsigned index = in->done[in->done_head];
    in->done_head = (in->done_head + 1) % MAX_BUFFERS;
    in->done_count--;
    pipe_take(of, 1);
    fill_buffer(in, index, b);
    b->flags &= ~V4L2_BUF_FLAG_DONE;
    in->bufs[index].state = BUF_DEQUEUED;
    event_log("dqbuf %u", b->sequence);
    return 0;
}

static int load_frame_template(struct instance *in)
{
    free(in->frame);
    in->frame = NULL;
    in->frame_len = 0;
    if (in->fourcc == V4L2_PIX_FMT_MJPEG) {
        if (!in->cfg.jpeg_path) {
            warn("%s is not set: MJPEG cannot stream", V4L2_STAND_IN_ENV_JPEG);
            return -EIO;
        }
        size_t len = 0;
        char *data = read_small_file(in->cfg.jpeg_path, 1u << 28, &len);
        if (!data || len == 0) {
            warn("cannot read %s '%s'", V4L2_STAND_IN_ENV_JPEG, in->cfg.jpeg_path);
            free(data);
            return -EIO;
        }
        if (len > in->sizeimage) {
            warn("JPEG '%s' (%zu bytes) larger than the buffers (%u bytes)", in->cfg.jpeg_path, len,
                 in->sizeimage);
            free(data);
            return -EIO;
        }
        in->frame = (unsigned char *)data;
        in->frame_len = (uint32_t)len;
        return 0;
    }
    struct v4l2_pix_format pix;
    fill_pix(in, in->fourcc, in->width, in->height, &pix);
    if (pix.sizeimage > in->sizeimage)
        return -EIO;
    in->frame = malloc(pix.sizeimage);
    if (!in->frame)
        return -ENOMEM;
    if (in->fourcc == V4L2_PIX_FMT_NV12)
        build_nv12(in->frame, pix.width, pix.height, pix.bytesperline);
    else
        build_yuyv(in->frame, pix.width, pix.height, pix.bytesperline);
    in->frame_len = pix.sizeimage;
    return 0;
}

static int do_streamon(struct open_file *of, const int *type)
{
    struct instance *in = of->inst;
    if (!capture_type_ok(in, (uint32_t)*type))
        return -EINVAL;
    if (!has_privileges(of))
        return -EBUSY;
    if (in->nbufs == 0)
        return -EINVAL;
    if (in->streaming)
        return 0;
    int rc = load_frame_template(in);
    if (rc)
        return rc;
    in->streaming = 1;
    in->sequence = 0;
    in->delivered = 0;
    in->done_head = in->done_count = 0;
    in->next_tick = ts_add_ns(now_mono(), frame_period_ns(in));
    pipe_take(of, of->pipe_bytes);
    event_log("streamon");
    pthread_cond_broadcast(&g_cond);
    return 0;
}

static int do_streamoff(struct open_file *of, const int *type)
{
    struct instance *in = of->inst;
    if (!capture_type_ok(in, (uint32_t)*type))
        return -EINVAL;
    if (!has_privileges(of))
        return -EBUSY;
    stop_stream(in);
    event_log("streamoff");
    return 0;
}

/* Controls: what uvcvideo does. Integers are clamped to the range and rounded to the step, booleans to 0 or 1; a
 * menu index outside the range fails with ERANGE and a skipped item with EINVAL; read-only controls and class
 * headings fail with EACCES, as does exposure_absolute while exposure_auto is not Manual Mode (1). */
static int ctrl_index(uint32_t id)
{
    for (unsigned i = 0; i < N_CTRLS; i++)
        if (k_ctrls[i].id == id)
            return (int)i;
    return -1;
}

static int ctrl_inactive(const struct instance *in, unsigned i)
{
    int exposure_auto = ctrl_index(V4L2_CID_EXPOSURE_AUTO);
    return k_ctrls[i].id == V4L2_CID_EXPOSURE_ABSOLUTE && in->ctrl_values[exposure_auto] != V4L2_EXPOSURE_MANUAL;
}

static int do_queryctrl(struct instance *in, struct v4l2_queryctrl *q)
{
    uint32_t id = q->id & ~(V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND);
    int found = -1;
    if (q->id & V4L2_CTRL_FLAG_NEXT_CTRL) {
        for (unsigned i = 0; i < N_CTRLS && found < 0; i++)
            if (k_ctrls[i].id > id)
                found = (int)i;
    } else {
        found = ctrl_index(id);
    }
    if (found < 0)
        return -EINVAL;
    const struct ctrl_def *c = &k_ctrls[found];
    memset(q, 0, sizeof(*q));
    q->id = c->id;
    q->type = c->type;
    snprintf((char *)q->name, sizeof(q->name), "%s", c->name);
    q->minimum = c->min;
    q->maximum = c->max;
    q->step = c->step;
    q->default_value = c->def;
    q->flags = c->flags | (ctrl_inactive(in, (unsigned)found) ? V4L2_CTRL_FLAG_INACTIVE : 0);
    return 0;
}

static int do_querymenu(struct v4l2_querymenu *m)
{
    int i = ctrl_index(m->id);
    if (i < 0 || (k_ctrls[i].type != V4L2_CTRL_TYPE_MENU && k_ctrls[i].type != V4L2_CTRL_TYPE_INTEGER_MENU))
        return -EINVAL;
    const struct ctrl_def *c = &k_ctrls[i];
    if (c->type == V4L2_CTRL_TYPE_INTEGER_MENU) {
        if ((int32_t)m->index < c->min || (int32_t)m->index > c->max)
            return -EINVAL;
        m->value = c->int_menu[m->index - (uint32_t)c->min];
        m->reserved = 0;
        return 0;
    }
    if ((int32_t)m->index < c->min || (int32_t)m->index > c->max || !c->menu[m->index - (uint32_t)c->min])
        return -EINVAL;
    memset(m->name, 0, sizeof(m->name));
    snprintf((char *)m->name, sizeof(m->name), "%s", c->menu[m->index - (uint32_t)c->min]);
    m->reserved = 0;
    return 0;
}

static int do_g_ctrl(struct instance *in, struct v4l2_control *ctl)
{
    int i = ctrl_index(ctl->id);
    if (i < 0)
        return -EINVAL;
    if (k_ctrls[i].type == V4L2_CTRL_TYPE_CTRL_CLASS || (k_ctrls[i].flags & V4L2_CTRL_FLAG_WRITE_ONLY))
        return -EACCES;
    ctl->value = in->ctrl_values[i];
    return 0;
}

static int do_s_ctrl(struct instance *in, struct v4l2_control *ctl)
{
    int i = ctrl_index(ctl->id);
    if (i < 0)
        return -EINVAL;
    const struct ctrl_def *c = &k_ctrls[i];
    if (c->type == V4L2_CTRL_TYPE_CTRL_CLASS || (c->flags & V4L2_CTRL_FLAG_READ_ONLY))
        return -EACCES;
    if (c->flags & V4L2_CTRL_FLAG_DISABLED)
        return -EINVAL;
    if (ctrl_inactive(in, (unsigned)i))
        return -EACCES;
    int32_t value = ctl->value;
    switch (c->type) {
    case V4L2_CTRL_TYPE_INTEGER: {
        long long v = value;
        if (v < c->min)
            v = c->min;
        if (v > c->max)
            v = c->max;
        v = c->min + ((v - c->min) + c->step / 2) / c->step * c->step;
        if (v > c->max)
            v -= c->step;
        value = (int32_t)v;
        break;
    }
    case V4L2_CTRL_TYPE_BOOLEAN:
        value = value ? 1 : 0;
        break;
    case V4L2_CTRL_TYPE_MENU:
    case V4L2_CTRL_TYPE_INTEGER_MENU:
        if (value < c->min || value > c->max)
            return -ERANGE;
        if (c->menu && !c->menu[value - c->min])
            return -EINVAL;
        break;
    case V4L2_CTRL_TYPE_BUTTON:
        /* An action: nothing is stored. */
        event_log("s_ctrl %s %d", c->var, value);
        return 0;
    default:
        return -EINVAL;
    }
    in->ctrl_values[i] = value;
    ctl->value = value;
    event_log("s_ctrl %s %d", c->var, value);
    return 0;
}

static int do_enuminput(struct instance *in, struct v4l2_input *inp)
{
    if (inp->index != 0 || in->cfg.not_capture)
        return -EINVAL;
    memset(inp, 0, sizeof(*inp));
    snprintf((char *)inp->name, sizeof(inp->name), "Camera 1");
    inp->type = V4L2_INPUT_TYPE_CAMERA;
    return 0;
}

static const char *ioctl_name(unsigned int req)
{
    switch (req) {
#define N(x) case x: return #x;
    N(VIDIOC_QUERYCAP) N(VIDIOC_ENUM_FMT) N(VIDIOC_G_FMT) N(VIDIOC_S_FMT) N(VIDIOC_TRY_FMT)
    N(VIDIOC_REQBUFS) N(VIDIOC_QUERYBUF) N(VIDIOC_QBUF) N(VIDIOC_DQBUF) N(VIDIOC_STREAMON)
    N(VIDIOC_STREAMOFF) N(VIDIOC_G_PARM) N(VIDIOC_S_PARM) N(VIDIOC_ENUM_FRAMESIZES)
    N(VIDIOC_ENUM_FRAMEINTERVALS) N(VIDIOC_QUERYCTRL) N(VIDIOC_QUERY_EXT_CTRL) N(VIDIOC_G_CTRL)
    N(VIDIOC_S_CTRL) N(VIDIOC_G_EXT_CTRLS) N(VIDIOC_S_EXT_CTRLS) N(VIDIOC_TRY_EXT_CTRLS)
    N(VIDIOC_QUERYMENU) N(VIDIOC_ENUMINPUT) N(VIDIOC_G_INPUT) N(VIDIOC_S_INPUT) N(VIDIOC_ENUMSTD)
    N(VIDIOC_G_STD) N(VIDIOC_S_STD) N(VIDIOC_QUERYSTD) N(VIDIOC_G_PRIORITY) N(VIDIOC_S_PRIORITY)
    N(VIDIOC_CROPCAP) N(VIDIOC_G_SELECTION) N(VIDIOC_S_SELECTION) N(VIDIOC_EXPBUF)
    N(VIDIOC_CREATE_BUFS) N(VIDIOC_PREPARE_BUF) N(VIDIOC_SUBSCRIBE_EVENT)
    N(VIDIOC_UNSUBSCRIBE_EVENT) N(VIDIOC_DQEVENT) N(VIDIOC_ENUMAUDIO) N(VIDIOC_G_AUDIO)
    N(VIDIOC_LOG_STATUS)
#undef N
    default: return NULL;
    }
}

static int dispatch_ioctl(struct open_file *of, unsigned int req, void *arg)
{
    struct instance *in = of->inst;
    check_control(in, 0);
    if (in->dead)
        return -ENODEV;
    if (!arg && _IOC_SIZE(req) != 0)
        return -EFAULT;
    switch (req) {
    case VIDIOC_QUERYCAP: return do_querycap(in, arg);
    case VIDIOC_ENUM_FMT: return do_enum_fmt(in, arg);
    case VIDIOC_ENUM_FRAMESIZES: return do_enum_framesizes(in, arg);
    case VIDIOC_ENUM_FRAMEINTERVALS: return do_enum_frameintervals(in, arg);
    case VIDIOC_G_FMT: return do_g_fmt(in, arg);
    case VIDIOC_TRY_FMT: return do_try_fmt(in, arg);
    case VIDIOC_S_FMT: return do_s_fmt(of, arg);
    case VIDIOC_G_PARM: return do_g_parm(in, arg);
    case VIDIOC_S_PARM: return do_s_parm(of, arg);
    case VIDIOC_REQBUFS: return do_reqbufs(of, arg);
    case VIDIOC_QUERYBUF: return do_querybuf(of, arg);
    case VIDIOC_QBUF: return do_qbuf(of, arg);
    case VIDIOC_DQBUF: return do_dqbuf(of, arg);
    case VIDIOC_STREAMON: return do_streamon(of, arg);
    case VIDIOC_STREAMOFF: return do_streamoff(of, arg);
    case VIDIOC_ENUMINPUT: return do_enuminput(in, arg);
    case VIDIOC_G_INPUT:
        *(int *)arg = 0;
        return 0;
    case VIDIOC_S_INPUT:
        return *(int *)arg == 0 ? 0 : -EINVAL;
    case VIDIOC_G_PRIORITY:
        *(enum v4l2_priority *)arg = V4L2_PRIORITY_DEFAULT;
        return 0;
    case VIDIOC_S_PRIORITY:
        return 0;
    case VIDIOC_QUERYCTRL: return do_queryctrl(in, arg);
    case VIDIOC_QUERYMENU: return do_querymenu(arg);
    case VIDIOC_G_CTRL: return do_g_ctrl(in, arg);
    case VIDIOC_S_CTRL: return do_s_ctrl(in, arg);
    /* The extended-control calls are not emulated: what a driver without them answers. */
    case VIDIOC_QUERY_EXT_CTRL:
    case VIDIOC_G_EXT_CTRLS:
    case VIDIOC_S_EXT_CTRLS:
    case VIDIOC_TRY_EXT_CTRLS:
        return -EINVAL;
    default:
        /* Standards, tuners, audio, crop/selection, EXPBUF, CREATE_BUFS,
         * events and anything else: not implemented. */
        return -ENOTTY;
    }
}

/* ------------------------------------------------------------------------ */
/* 5. open / close / mmap / munmap / poll emulation                         */
/* ------------------------------------------------------------------------ */

static const char *device_prefix(void)
{
    const char *p = getenv(V4L2_STAND_IN_ENV_DEVICE);
    return (p && *p) ? p : V4L2_STAND_IN_DEFAULT_DEVICE;
}

/* Returns 1 and sets *result when path names the stand-in device. */
static int fake_open(const char *path, int flags, int *result)
{
    if (!path)
        return 0;
    const char *prefix = device_prefix();
    size_t plen = strlen(prefix);
    if (strncmp(path, prefix, plen) != 0)
        return 0;
    const char *rest = path + plen;
    if (*rest && strcmp(rest, "0") != 0) {
        event_log("open-failed ENOENT");
        trace("stand-in: open %s -> ENOENT (not the device)", path);
        errno = ENOENT;
        *result = -1;
        return 1;
    }

    lock();
    struct instance *in = live_instance();
    struct config cfg;
    int have_cfg = 0;
    const char *control_dir;
    int busy_open;
    if (in) {
        control_dir = in->cfg.control_dir;
        busy_open = in->cfg.busy_open;
    } else {
        load_config(&cfg);
        have_cfg = 1;
        control_dir = cfg.control_dir;
        busy_open = cfg.busy_open;
    }
    int err = 0;
    if (control_unplugged(control_dir)) {
        if (in)
            mark_dead(in);
        err = ENOENT;
    } else if (busy_open) {
        err = EBUSY;
    }
    int fds[2] = { -1, -1 };
    if (!err && pipe2(fds, O_CLOEXEC) != 0)
        err = errno;
    if (!err && fds[0] >= FD_MAP_SIZE)
        err = EMFILE;
    if (!err && !in) {
        in = new_instance(&cfg);
        if (in)
            have_cfg = 0;
        else
            err = ENOMEM;
    }
    if (err) {
        if (fds[0] >= 0) {
            real.close(fds[0]);
            real.close(fds[1]);
        }
        if (have_cfg)
            free_config(&cfg);
        event_log("open-failed %s", err_name(err));
        unlock();
        trace("stand-in: open %s -> %s", path, err_name(err));
        errno = err;
        *result = -1;
        return 1;
    }
    if (!(flags & O_CLOEXEC))
        fcntl(fds[0], F_SETFD, 0);
    if (flags & O_NONBLOCK)
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);

    struct open_file *of = calloc(1, sizeof(*of));
    if (!of) {
        real.close(fds[0]);
        real.close(fds[1]);
        unlock();
        errno = ENOMEM;
        *result = -1;
        return 1;
    }
    of->fd = fds[0];
    of->wfd = fds[1];
    of->inst = in;
    of->next = g_files;
    g_files = of;
    in->refs++;
    pipe_put(of);
    atomic_store(&g_fake_fd[of->fd], 1);
    atomic_fetch_add(&g_fake_count, 1);
    event_log("open");
    unlock();
    trace("stand-in: [%s] open %s -> fd %d (device %u)", tl_via, path, of->fd, in->id);
    *result = of->fd;
    return 1;
}

static int fake_close(int fd)
{
    lock();
    struct open_file *of = find_file(fd);
    if (!of) {
        unlock();
        return real.close(fd);
    }
    struct instance *in = of->inst;
    atomic_store(&g_fake_fd[fd], 0);
    atomic_fetch_sub(&g_fake_count, 1);
    for (struct open_file **p = &g_files; *p; p = &(*p)->next)
        if (*p == of) {
            *p = of->next;
            break;
        }
    if (in->owner == of) {
        /* uvcvideo releases the queue when the owning handle is closed. */
        if (in->streaming) {
            stop_stream(in);
            event_log("streamoff implicit");
        }
        free_buffers(in);
        in->owner = NULL;
    }
    if (of->wfd >= 0)
        real.close(of->wfd);
    real.close(fd);
    event_log("close");
    trace("stand-in: [%s] close fd %d", tl_via, fd);
    of->closed = 1;
    pthread_cond_broadcast(&g_cond);
    if (of->busy == 0)
        free(of);
    if (--in->refs == 0) {
        in->closing = 1;
        in->stop = 1;
        unlink_instance(in);
        pthread_cond_broadcast(&g_cond);
        unlock();
        pthread_join(in->thread, NULL);
        lock();
        destroy_instance(in);
    }
    unlock();
    return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
    unsigned int req = (unsigned int)request;
    lock();
    struct open_file *of = find_file(fd);
    if (!of) {
        unlock();
        return real.ioctl(fd, request, arg);
    }
    int rc = dispatch_ioctl(of, req, arg);
    unlock();
    if (trace_on()) {
        const char *name = ioctl_name(req);
        char hex[32];
        if (!name) {
            snprintf(hex, sizeof(hex), "ioctl 0x%08x", req);
            name = hex;
        }
        if (rc == 0)
            trace("stand-in: [%s] fd %d %s -> 0", tl_via, fd, name);
        else
            trace("stand-in: [%s] fd %d %s -> %s", tl_via, fd, name, err_name(-rc));
    }
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

static void *fake_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    lock();
    struct open_file *of = find_file(fd);
    if (!of) {
        unlock();
        return real.mmap(addr, len, prot, flags, fd, off);
    }
    struct instance *in = of->inst;
    int err = 0;
    unsigned index = 0;
    check_control(in, 0);
    if (in->dead)
        err = ENODEV;
    else if (!(flags & MAP_SHARED) || !(prot & PROT_READ) || len == 0 || in->nbufs == 0 || off < 0 ||
             (size_t)off % in->buf_span != 0)
        err = EINVAL;
    else {
        index = (unsigned)((size_t)off / in->buf_span);
        if (index >= in->nbufs || len > in->buf_span)
            err = EINVAL;
    }
    void *p = MAP_FAILED;
    struct mapping *m = NULL;
    if (!err) {
        m = calloc(1, sizeof(*m));
        if (!m)
            err = ENOMEM;
    }
    if (!err) {
        p = real.mmap(addr, len, prot, flags, in->memfd, off);
        if (p == MAP_FAILED) {
            err = errno;
            free(m);
        } else {
            m->addr = p;
            m->len = len;
            m->inst = in;
            m->gen = in->buf_gen;
            m->index = index;
            m->next = g_mappings;
            g_mappings = m;
            atomic_fetch_add(&g_mapping_count, 1);
            in->bufs[index].map_count++;
            event_log("mmap");
        }
    }
    unlock();
    if (err) {
        trace("stand-in: fd %d mmap offset %lld -> %s", fd, (long long)off, err_name(err));
        errno = err;
        return MAP_FAILED;
    }
    trace("stand-in: [%s] fd %d mmap buffer %u -> %p", tl_via, fd, index, p);
    return p;
}

static int fake_munmap(void *addr, size_t len)
{
    if (atomic_load_explicit(&g_mapping_count, memory_order_relaxed) > 0) {
        lock();
        for (struct mapping **pm = &g_mappings; *pm; pm = &(*pm)->next) {
            struct mapping *m = *pm;
            if (m->addr != addr)
                continue;
            *pm = m->next;
            atomic_fetch_sub(&g_mapping_count, 1);
            if (m->inst && m->gen == m->inst->buf_gen && m->index < m->inst->nbufs &&
                m->inst->bufs[m->index].map_count > 0)
                m->inst->bufs[m->index].map_count--;
            free(m);
            event_log("munmap");
            trace("stand-in: [%s] munmap %p", tl_via, addr);
            break;
        }
        unlock();
    }
    return real.munmap(addr, len);
}

/* POLLERR for a fake fd that is not streaming, POLLERR|POLLHUP|POLLPRI for
 * an unplugged one, 0 when the native pipe readiness is the answer. */
static short forced_revents(int fd)
{
    struct open_file *of = find_file(fd);
    if (!of)
        return 0;
    struct instance *in = of->inst;
    check_control(in, 0);
    if (in->dead)
        return POLLERR | POLLHUP | POLLPRI;
    if (!in->streaming || in->owner != of)
        return POLLERR;
    return 0;
}

static int poll_fixup(struct pollfd *fds, nfds_t n, int *any_forced)
{
    int changed = 0;
    *any_forced = 0;
    lock();
    for (nfds_t i = 0; i < n; i++) {
        if (!is_fake_fd(fds[i].fd))
            continue;
        short f = forced_revents(fds[i].fd);
        if (f) {
            fds[i].revents = (short)(f & (fds[i].events | POLLERR | POLLHUP));
            *any_forced = 1;
            changed = 1;
        }
    }
    unlock();
    return changed;
}

static int poll_has_fake(struct pollfd *fds, nfds_t n)
{
    if (atomic_load_explicit(&g_fake_count, memory_order_relaxed) == 0)
        return 0;
    for (nfds_t i = 0; i < n; i++)
        if (is_fake_fd(fds[i].fd))
            return 1;
    return 0;
}

static int count_ready(struct pollfd *fds, nfds_t n)
{
    int r = 0;
    for (nfds_t i = 0; i < n; i++)
        r += fds[i].revents != 0;
    return r;
}

static int fake_poll(struct pollfd *fds, nfds_t n, int timeout)
{
    int forced;
    /* Anything already in an error state? Then do not wait. */
    lock();
    forced = 0;
    for (nfds_t i = 0; i < n; i++)
        if (is_fake_fd(fds[i].fd) && forced_revents(fds[i].fd))
            forced = 1;
    unlock();
    int r = real.poll(fds, n, forced ? 0 : timeout);
    if (r < 0)
        return r;
    if (poll_fixup(fds, n, &forced))
        r = count_ready(fds, n);
    return r;
}

static int fake_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
    int forced = 0;
    lock();
    for (nfds_t i = 0; i < n; i++)
        if (is_fake_fd(fds[i].fd) && forced_revents(fds[i].fd))
            forced = 1;
    unlock();
    struct timespec zero = { 0, 0 };
    int r = real.ppoll(fds, n, forced ? &zero : tmo, mask);
    if (r < 0)
        return r;
    if (poll_fixup(fds, n, &forced))
        r = count_ready(fds, n);
    return r;
}

/* After fork() only the calling thread exists: the child forgets the
 * emulation (its copies of the fake fds become plain pipe fds). */
static void atfork_child(void)
{
    pthread_mutex_init(&g_lock, NULL);
    g_instances = NULL;
    g_files = NULL;
    g_mappings = NULL;
    for (int i = 0; i < FD_MAP_SIZE; i++)
        atomic_store_explicit(&g_fake_fd[i], 0, memory_order_relaxed);
    atomic_store(&g_fake_count, 0);
    atomic_store(&g_mapping_count, 0);
}

__attribute__((constructor)) static void stand_in_init(void)
{
    resolve_real();
    pthread_once(&g_cond_once, init_cond);
    pthread_atfork(NULL, NULL, atfork_child);
}

/* ------------------------------------------------------------------------ */
/* 6. Interposed symbols                                                    */
/* ------------------------------------------------------------------------ */

static int is_absolute(const char *path)
{
    return path != NULL && path[0] == '/';
}

static int wants_mode(int flags)
{
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE;
}

SI_EXPORT int open(const char *path, int flags, ...)
{
    RESOLVE();
    mode_t mode = 0;
    if (wants_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int fd;
    if (fake_open(path, flags, &fd))
        return fd;
    return real.open(path, flags, mode);
}

SI_EXPORT int open64(const char *path, int flags, ...)
{
    RESOLVE();
    mode_t mode = 0;
    if (wants_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int fd;
    if (fake_open(path, flags, &fd))
        return fd;
    return real.open64(path, flags, mode);
}

SI_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    RESOLVE();
    mode_t mode = 0;
    if (wants_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int fd;
    if (is_absolute(path) && fake_open(path, flags, &fd))
        return fd;
    return real.openat(dirfd, path, flags, mode);
}

SI_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    RESOLVE();
    mode_t mode = 0;
    if (wants_mode(flags)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int fd;
    if (is_absolute(path) && fake_open(path, flags, &fd))
        return fd;
    return real.openat64(dirfd, path, flags, mode);
}

SI_EXPORT int __open_2(const char *path, int flags)
{
    RESOLVE();
    int fd;
    if (fake_open(path, flags, &fd))
        return fd;
    return real.open_2 ? real.open_2(path, flags) : real.open(path, flags);
}

SI_EXPORT int __open64_2(const char *path, int flags)
{
    RESOLVE();
    int fd;
    if (fake_open(path, flags, &fd))
        return fd;
    return real.open64_2 ? real.open64_2(path, flags) : real.open64(path, flags);
}

SI_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    RESOLVE();
    int fd;
    if (is_absolute(path) && fake_open(path, flags, &fd))
        return fd;
    return real.openat_2 ? real.openat_2(dirfd, path, flags) : real.openat(dirfd, path, flags);
}

SI_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    RESOLVE();
    int fd;
    if (is_absolute(path) && fake_open(path, flags, &fd))
        return fd;
    return real.openat64_2 ? real.openat64_2(dirfd, path, flags) : real.openat64(dirfd, path, flags);
}

SI_EXPORT int close(int fd)
{
    RESOLVE();
    if (is_fake_fd(fd))
        return fake_close(fd);
    return real.close(fd);
}

SI_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
    RESOLVE();
    if (is_fake_fd(fd)) {
        trace("stand-in: fd %d read -> EINVAL", fd);
        errno = EINVAL;
        return -1;
    }
    return real.read(fd, buf, count);
}

SI_EXPORT int ioctl(int fd, unsigned long request, ...)
{
    RESOLVE();
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (is_fake_fd(fd))
        return fake_ioctl(fd, request, arg);
    return real.ioctl(fd, request, arg);
}

SI_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    RESOLVE();
    if (is_fake_fd(fd))
        return fake_mmap(addr, len, prot, flags, fd, off);
    return real.mmap(addr, len, prot, flags, fd, off);
}

SI_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    RESOLVE();
    if (is_fake_fd(fd))
        return fake_mmap(addr, len, prot, flags, fd, off);
    return real.mmap64(addr, len, prot, flags, fd, off);
}

SI_EXPORT int munmap(void *addr, size_t len)
{
    RESOLVE();
    return fake_munmap(addr, len);
}

SI_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
    RESOLVE();
    if (!poll_has_fake(fds, n))
        return real.poll(fds, n, timeout);
    return fake_poll(fds, n, timeout);
}

SI_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
    RESOLVE();
    if (fdslen / sizeof(*fds) < n) {
        if (real.poll_chk)
            return real.poll_chk(fds, n, timeout, fdslen);
        abort();
    }
    return poll(fds, n, timeout);
}

SI_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
    RESOLVE();
    if (!poll_has_fake(fds, n))
        return real.ppoll(fds, n, tmo, mask);
    return fake_ppoll(fds, n, tmo, mask);
}

/* libv4l2 and libv4lconvert issue their own calls through syscall(). */
SI_EXPORT long syscall(long number, ...)
{
    RESOLVE();
    va_list ap;
    va_start(ap, number);
    long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
    long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
    va_end(ap);

    if (atomic_load_explicit(&g_fake_count, memory_order_relaxed) != 0 ||
        number == SYS_open || number == SYS_openat) {
        int fd = -1;
        long rc = 0;
        int handled = 0;
        tl_via = "syscall";
        switch (number) {
        case SYS_open:
            if (fake_open((const char *)a1, (int)a2, &fd)) {
                handled = 1;
                rc = fd;
            }
            break;
        case SYS_openat:
            if (is_absolute((const char *)a2) && fake_open((const char *)a2, (int)a3, &fd)) {
                handled = 1;
                rc = fd;
            }
            break;
        case SYS_close:
            if (is_fake_fd((int)a1)) {
                handled = 1;
                rc = fake_close((int)a1);
            }
            break;
        case SYS_ioctl:
            if (is_fake_fd((int)a1)) {
                handled = 1;
                rc = fake_ioctl((int)a1, (unsigned long)a2, (void *)a3);
            }
            break;
        case SYS_read:
        case SYS_write:
            if (is_fake_fd((int)a1)) {
                trace("stand-in: [syscall] fd %d %s -> EINVAL", (int)a1, number == SYS_read ? "read" : "write");
                handled = 1;
                errno = EINVAL;
                rc = -1;
            }
            break;
        case SYS_mmap:
            if (is_fake_fd((int)a5)) {
                handled = 1;
                rc = (long)fake_mmap((void *)a1, (size_t)a2, (int)a3, (int)a4, (int)a5, (off_t)a6);
            }
            break;
        default:
            break;
        }
        tl_via = "libc";
        if (handled)
            return rc;
    }
    if (number == SYS_munmap && atomic_load_explicit(&g_mapping_count, memory_order_relaxed) > 0) {
        tl_via = "syscall";
        long rc = fake_munmap((void *)a1, (size_t)a2);
        tl_via = "libc";
        return rc;
    }
    return real.syscall(number, a1, a2, a3, a4, a5, a6);
}
