/*
 * fanout-floor: the benchmark's floor for MJPEG fan-out.
 *
 * A minimal single-threaded server that sends the same Motion-JPEG stream as
 * FrameStream (HTTP/1.1 chunked multipart/x-mixed-replace, one chunk per part,
 * same part headers), at the least CPU cost we know how to reach, so that
 * FrameStream's CPU can be stated as a ratio to it.
 *
 *   fanout-floor --port P --frames DIR --fps 30
 *
 * How it works:
 * - All *.jpg / *.jpeg files of DIR are loaded at start, in file-name order.
 * - A timerfd ticks at --fps. Each tick takes the next file (looping), stamps
 *   it with the tick's CLOCK_REALTIME and the next sequence number, and frames
 *   it once into one heap buffer: "<hex size>\r\n" + part + "\r\n". Viewers
 *   share that buffer by reference count.
 * - Each viewer holds at most the buffer it is sending (with an offset) and
 *   one pending buffer, the newest not yet started; a newer frame replaces
 *   (drops) an older pending one. No frame is ever queued twice.
 * - Sockets are edge-triggered in epoll with EPOLLOUT always registered, so
 *   nothing is ever re-armed (no epoll_ctl per frame). A viewer is written
 *   with exactly one sendmsg() per wakeup:
 *     on a tick, only if it is idle (the new frame);
 *     on EPOLLOUT, if it is in the middle of a buffer: the rest of it and the
 *     pending buffer together (two iovecs), so completing one buffer and
 *     starting the next costs one system call, not two.
 *   This is correct with edge triggering because the kernel only leaves data
 *   unsent (partial send or EAGAIN) after marking the socket "no space", and
 *   then reports EPOLLOUT again once it can take more; a send that takes
 *   everything leaves the viewer idle until the next tick.
 * - TCP_NOTSENT_LOWAT (16 KiB) keeps the kernel from queueing megabytes of old
 *   frames for a slow viewer, so a slow viewer is about one frame behind.
 *
 * Build: cc -std=gnu11 -O2 -Wall -Wextra -Werror -o fanout-floor fanout-floor.c
 */

#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef TCP_NOTSENT_LOWAT
#define TCP_NOTSENT_LOWAT 25
#endif

enum { NOTSENT_LOWAT = 16384, MAX_REQUEST = 8192, MAX_EVENTS = 1024 };

/* ---- Start-up errors: one line to stderr, exit code 2. ---- */

static void die(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("fanout-floor: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(2);
}

/* ---- Shared, reference-counted byte buffers (one per frame). ---- */

struct buf {
    size_t refs;
    size_t len;
    char data[];
};

static struct buf *buf_new(size_t len) {
    struct buf *b = malloc(sizeof *b + len);
    if (b == NULL) {
        perror("fanout-floor: malloc");
        exit(1);
    }
    b->refs = 1;
    b->len = len;
    return b;
}

static struct buf *buf_retain(struct buf *b) {
    b->refs++;
    return b;
}

static void buf_release(struct buf *b) {
    if (b != NULL && --b->refs == 0) free(b);
}

/* ---- Connections. ---- */

enum kind { LISTENER, TICKER, SIGNALS, CLIENT };

struct conn {
    enum kind kind;
    int fd;
    int viewer;          /* request answered; in the viewers array at index idx */
    int dead;            /* closed; freed at the end of this loop iteration */
    size_t idx;          /* index in viewers[] */
    /* request reading (before it becomes a viewer) */
    size_t req_len;      /* bytes of the request seen so far */
    int eoh;             /* how much of "\r\n\r\n" has just been seen (0..3) */
    char method[4];      /* the first four bytes, to check for "GET " */
    /* sending */
    struct buf *cur;     /* the buffer being sent, or NULL when idle */
    size_t off;          /* bytes of cur already sent */
    struct buf *pend;    /* the newest frame not yet started, or NULL */
    struct conn *next_dead;
};

static int epfd;
static int listen_fd;
static struct conn listener = {.kind = LISTENER};
static struct conn ticker = {.kind = TICKER};
static struct conn signals = {.kind = SIGNALS};

static struct conn **viewers;   /* dense array of viewers, in no fixed order */
static size_t nviewers, capviewers;
static struct conn *dead_list;  /* closed this iteration, to free afterwards */
static int accept_blocked;      /* accept hit EMFILE/ENFILE: retry later */
static struct buf *head;        /* response head + first chunk "--frame\r\n" */

static void viewer_add(struct conn *c) {
    if (nviewers == capviewers) {
        capviewers = capviewers ? capviewers * 2 : 1024;
        viewers = realloc(viewers, capviewers * sizeof *viewers);
        if (viewers == NULL) {
            perror("fanout-floor: realloc");
            exit(1);
        }
    }
    c->viewer = 1;
    c->idx = nviewers;
    viewers[nviewers++] = c;
}

/* Closes a connection now; its memory (and its slot in viewers[]) goes at the
 * end of the loop iteration, since later events of the same batch may still
 * point at it. */
static void conn_close(struct conn *c) {
    if (c->dead) return;
    c->dead = 1;
    close(c->fd);
    buf_release(c->cur);
    buf_release(c->pend);
    c->cur = c->pend = NULL;
    c->next_dead = dead_list;
    dead_list = c;
}

static void sweep_dead(void) {
    while (dead_list != NULL) {
        struct conn *c = dead_list;
        dead_list = c->next_dead;
        if (c->viewer) {
            struct conn *last = viewers[--nviewers];
            viewers[c->idx] = last;
            last->idx = c->idx;
        }
        free(c);
    }
}

/* ---- Sending. ---- */

/* One sendmsg() of what the viewer has: the rest of cur, then pend. Moves the
 * pending buffer in when cur completes. Returns 0, or -1 after closing it. */
static int viewer_send(struct conn *c) {
    struct iovec iov[2];
    int n = 0;
    size_t cur_left = c->cur->len - c->off;
    iov[n++] = (struct iovec){c->cur->data + c->off, cur_left};
    if (c->pend != NULL) iov[n++] = (struct iovec){c->pend->data, c->pend->len};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        conn_close(c);  /* EPIPE, ECONNRESET, ... */
        return -1;
    }
    size_t done = (size_t)sent;
    if (done < cur_left) {
        c->off += done;
        return 0;
    }
    /* cur is complete: the pending buffer (if any) takes its place. */
    done -= cur_left;
    buf_release(c->cur);
    c->cur = c->pend;
    c->pend = NULL;
    c->off = done;
    if (c->cur != NULL && c->off == c->cur->len) {
        buf_release(c->cur);
        c->cur = NULL;
    }
    return 0;
}

/* ---- Frames and ticks. ---- */

struct file {
    char *data;
    size_t len;
};

static struct file *files;
static size_t nfiles;
static size_t next_file;
static uint64_t sequence;
static size_t rotation;  /* where this tick's visit of viewers starts */

/* Frames the next file as one chunk: "<hex>\r\n" + part + "\r\n". */
static struct buf *capture(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long seconds = (long long)now.tv_sec;
    long micros = (now.tv_nsec + 500) / 1000;
    if (micros >= 1000000) {
        seconds++;
        micros -= 1000000;
    }
    const struct file *f = &files[next_file];
    next_file = (next_file + 1) % nfiles;

    static const char trailer[] = "\r\n--frame\r\n";
    char headers[256];
    int hlen = snprintf(headers, sizeof headers,
                        "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n"
                        "X-Timestamp: %lld.%06ld\r\nX-Frame-Sequence: %llu\r\n\r\n",
                        f->len, seconds, micros, (unsigned long long)++sequence);
    size_t part = (size_t)hlen + f->len + (sizeof trailer - 1);
    char size_line[32];
    int slen = snprintf(size_line, sizeof size_line, "%zx\r\n", part);

    struct buf *b = buf_new((size_t)slen + part + 2);
    char *p = b->data;
    memcpy(p, size_line, (size_t)slen), p += slen;
    memcpy(p, headers, (size_t)hlen), p += hlen;
    memcpy(p, f->data, f->len), p += f->len;
    memcpy(p, trailer, sizeof trailer - 1), p += sizeof trailer - 1;
    memcpy(p, "\r\n", 2);
    return b;
}

static void accept_all(void);

/* A tick: capture a frame and hand it to every viewer, starting at a different
 * viewer each time (golden-ratio steps spread the starts evenly). An idle viewer
 * gets it sent now; a busy one gets it as its pending frame, replacing (dropping)
 * an older pending one, and no system call. */
static void on_tick(void) {
    uint64_t expirations;
    if (read(ticker.fd, &expirations, sizeof expirations) < 0) return;
    struct buf *frame = capture();
    size_t n = nviewers;
    if (n > 0) {
        rotation = (rotation + (size_t)((double)n * 0.6180339887) + 1) % n;
        for (size_t k = 0; k < n; k++) {
            struct conn *c = viewers[(rotation + k) % n];
            if (c->dead) continue;
            if (c->cur == NULL) {
                c->cur = buf_retain(frame);
                c->off = 0;
                viewer_send(c);
            } else {
                buf_release(c->pend);
                c->pend = buf_retain(frame);
            }
        }
    }
    buf_release(frame);
    /* Retry accepting now and then after running out of file descriptors. */
    if (accept_blocked && sequence % 8 == 0) accept_all();
}

/* ---- Accepting and reading requests. ---- */

static void accept_all(void) {
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            /* EMFILE/ENFILE/ENOBUFS/ENOMEM: stop until a connection closes (or a
             * later tick); the listener is edge-triggered, so this cannot spin. */
            accept_blocked = !(errno == EAGAIN || errno == EWOULDBLOCK);
            return;
        }
        accept_blocked = 0;
        int one = 1, lowat = NOTSENT_LOWAT;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->kind = CLIENT;
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
        }
    }
}

/* Reads the request until "\r\n\r\n" (at most MAX_REQUEST bytes; its content is
 * ignored except that it must be a GET), then answers with the response head. */
static void read_request(struct conn *c) {
    char scratch[MAX_REQUEST];
    for (;;) {
        ssize_t got = read(c->fd, scratch, sizeof scratch);
        if (got == 0) {
            conn_close(c);
            return;
        }
        if (got < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) conn_close(c);
            return;
        }
        for (ssize_t i = 0; i < got; i++) {
            char ch = scratch[i];
            if (c->req_len < 4) c->method[c->req_len] = ch;
            if (++c->req_len > MAX_REQUEST) {
                conn_close(c);
                return;
            }
            /* Track the end of the headers: \r \n \r \n. */
            if (ch == (c->eoh % 2 == 0 ? '\r' : '\n')) c->eoh++;
            else c->eoh = (ch == '\r');
            if (c->eoh < 4) continue;
            if (c->req_len < 4 || memcmp(c->method, "GET ", 4) != 0) {
                conn_close(c);
                return;
            }
            /* Answer: the head and the first boundary, then frames from the
             * next tick on. Bytes after the request are never read. */
            viewer_add(c);
            c->cur = buf_retain(head);
            c->off = 0;
            viewer_send(c);
            return;
        }
    }
}

static void on_client(struct conn *c, uint32_t events) {
    if (!c->viewer && (events & EPOLLIN)) read_request(c);
    if (c->dead) return;
    if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        conn_close(c);
        return;
    }
    if (c->viewer && (events & EPOLLOUT) && c->cur != NULL) viewer_send(c);
}

/* ---- Start-up. ---- */

static int is_jpeg_name(const char *name) {
    size_t n = strlen(name);
    return (n > 4 && strcasecmp(name + n - 4, ".jpg") == 0) ||
           (n > 5 && strcasecmp(name + n - 5, ".jpeg") == 0);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every *.jpg / *.jpeg of dir into memory, in file-name order. */
static void load_frames(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) die("cannot open frames directory %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_jpeg_name(e->d_name)) continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            if (names == NULL) die("out of memory");
        }
        names[count] = strdup(e->d_name);
        if (names[count++] == NULL) die("out of memory");
    }
    closedir(d);
    qsort(names, count, sizeof *names, compare_names);

    files = calloc(count ? count : 1, sizeof *files);
    if (files == NULL) die("out of memory");
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) die("cannot read %s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_size == 0) {
            close(fd);
            continue;  /* not a regular file, or empty: not a frame */
        }
        char *data = malloc((size_t)st.st_size);
        if (data == NULL) die("out of memory");
        size_t have = 0;
        while (have < (size_t)st.st_size) {
            ssize_t got = read(fd, data + have, (size_t)st.st_size - have);
            if (got <= 0) die("cannot read %s: %s", path, got < 0 ? strerror(errno) : "short file");
            have += (size_t)got;
        }
        close(fd);
        files[nfiles++] = (struct file){data, have};
    }
    if (nfiles == 0) die("no *.jpg or *.jpeg files in %s", dir);
}

static void usage(void) {
    die("usage: fanout-floor --port P --frames DIR [--fps F]");
}

int main(int argc, char **argv) {
    long port = -1;
    double fps = 30;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        char *end;
        if (strcmp(argv[i], "--port") == 0) {
            port = strtol(argv[++i], &end, 10);
            if (*end != '\0' || port < 0 || port > 65535) die("bad --port %s", argv[i]);
        } else if (strcmp(argv[i], "--frames") == 0) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--fps") == 0) {
            fps = strtod(argv[++i], &end);
            if (*end != '\0' || !(fps > 0 && fps <= 1000)) die("bad --fps %s", argv[i]);
        } else {
            usage();
        }
    }
    if (port < 0 || dir == NULL) usage();

    load_frames(dir);

    /* Thousands of viewers: as many file descriptors as we may have. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* The response head and the first chunk, "--frame\r\n", shared by all. */
    static const char head_text[] =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: multipart/x-mixed-replace; boundary=frame\r\n"
        "Transfer-Encoding: chunked\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n"
        "\r\n"
        "9\r\n--frame\r\n\r\n";
    head = buf_new(sizeof head_text - 1);  /* its own reference is never released */
    memcpy(head->data, head_text, sizeof head_text - 1);

    /* Listen on 127.0.0.1 only. */
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd < 0) die("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("cannot listen on 127.0.0.1:%ld: %s", port, strerror(errno));
    if (listen(listen_fd, 65535) < 0) die("listen: %s", strerror(errno));
    socklen_t alen = sizeof addr;
    getsockname(listen_fd, (struct sockaddr *)&addr, &alen);

    /* SIGTERM/SIGINT arrive through a signalfd; SIGPIPE cannot happen (MSG_NOSIGNAL). */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signals.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    /* The capture clock. */
    ticker.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    long long period = (long long)(1e9 / fps + 0.5);
    struct itimerspec its = {
        .it_interval = {period / 1000000000, period % 1000000000},
        .it_value = {period / 1000000000, period % 1000000000},
    };
    if (signals.fd < 0 || ticker.fd < 0 || timerfd_settime(ticker.fd, 0, &its, NULL) < 0)
        die("signalfd/timerfd: %s", strerror(errno));

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));
    listener.fd = listen_fd;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = &listener};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev);
    ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &ticker};
    epoll_ctl(epfd, EPOLL_CTL_ADD, ticker.fd, &ev);
    ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &signals};
    epoll_ctl(epfd, EPOLL_CTL_ADD, signals.fd, &ev);

    printf("fanout-floor streaming at http://127.0.0.1:%u/\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);

    /* The event loop. */
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("fanout-floor: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            switch (c->kind) {
            case LISTENER: accept_all(); break;
            case TICKER: on_tick(); break;
            case SIGNALS: return 0;
            case CLIENT: on_client(c, events[i].events); break;
            }
        }
        int closed = dead_list != NULL;
        sweep_dead();
        if (closed && accept_blocked) accept_all();
    }
}
