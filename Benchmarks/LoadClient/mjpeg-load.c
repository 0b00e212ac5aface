/*
 * mjpeg-load: a cheap load client for Motion-JPEG streams (multipart/x-mixed-replace over HTTP/1.x, or HTTP/2
 * over TLS), the C stand-in for MJPEGBench in `make bench`. Same options, same Markdown row.
 *
 * Each viewer is one non-blocking TCP connection on loopback. A worker process runs its viewers on one epoll
 * loop with one shared receive buffer; the parser keeps its whole state per connection, so any split of the
 * bytes across reads is fine. JPEG bytes are skipped by count (by default discarded in the kernel with
 * MSG_TRUNC, so they are not even copied out). Slow viewers read from a token bucket refilled every 10 ms.
 * With --processes P, P workers split the viewers and send their results to the parent through a pipe.
 *
 * With --tls (or an https URL) each viewer is a TLS connection (OpenSSL, ALPN http/1.1, the server's certificate
 * is not checked: a loopback benchmark). The same loop drives the handshake (SSL_ERROR_WANT_READ / WANT_WRITE)
 * and then reads; as the kernel cannot drop encrypted bytes, JPEG bytes are decrypted into the shared buffer
 * (large reads, OpenSSL reading ahead 64 KiB at a time) and skipped there by count.
 * With --http2 (TLS, ALPN h2, libnghttp2) the N viewers are N streams over ceil(N/M) connections of M streams
 * each (--streams-per-connection M, default 1; the last one takes the rest): each stream is a viewer with its own
 * parser state and statistics. The windows are 16 MiB (stream and connection, like a browser's) and nghttp2
 * returns them as the data is parsed. Slow viewers are HTTP/1.1 only (plain or --tls).
 * Connects go in batches that each wait for their response heads (HTTP/2: each stream's response HEADERS).
 *
 * Exit status: 0; 1 when a viewer failed (the row counts it, stderr says the first errors); 2 on a start-up error.
 *
 * Build: cc -std=gnu11 -O2 -Wall -Wextra -Werror -o mjpeg-load mjpeg-load.c -lm -lssl -lcrypto -lnghttp2
 *        (Debian: libssl-dev libnghttp2-dev)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* ---- Limits and constants ---- */

enum {
    MAX_VIEWERS = 20000,
    MAX_PROCESSES = 64,
    CONNECT_BATCH = 100,         /* connects in flight at once, over all workers */
    RECV_BUFFER = 256 * 1024,    /* the one receive buffer of a worker */
    READ_CAP = 512 * 1024,       /* bytes one fast viewer may read per wake-up, for fairness */
    HEADER_READ = 1024,          /* read size while in headers when JPEG bytes are discarded in the kernel */
    HEAD_MAX = 8192,             /* response head */
    PART_HEAD_MAX = 8192,        /* boundary line plus part headers */
    LINE_MAX_LEN = 200,          /* one part header line kept (longer ones are cut) */
    BOUNDARY_MAX = 70,           /* RFC 2046 */
    ERROR_LEN = 120,
    TICK_MS = 10,
    TLS_READ_AHEAD = 64 * 1024,  /* OpenSSL's read buffer: how much it reads from the socket at once */
    H2_WINDOW = 16 * 1024 * 1024, /* HTTP/2 stream and connection windows */
    AUTHORITY_MAX = 80,
};

/* Latency histogram: 10 µs bins below 10 s, 1 ms bins from 10 s to 610 s, then one overflow bin. */
#define FINE_BINS 1000000u
#define COARSE_BINS 600000u
#define HIST_BINS (FINE_BINS + COARSE_BINS + 1u)

/* ---- Options ---- */

static struct {
    const char *url;
    int clients, slow, slow_rate, slow_rcvbuf, processes;
    double seconds, warm_up;
    const char *label;
    bool header, copy, split, tls, http2;
    int streams; /* per HTTP/2 connection */
} opt = {"http://127.0.0.1:5000/video_feed", 10, 0, 250000, 65536, 1, 15, 3, NULL, false, false, false, false, false,
       1};

/* Where to connect, and the request every viewer sends. */
static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;
static char request[2048];
static size_t request_len;
/* The same request for HTTP/2: :path and :authority. */
static char request_path[1100], authority[AUTHORITY_MAX];
/* One TLS context for every connection (--tls, --http2), made before the workers fork. */
static SSL_CTX *tls_ctx;

/* The run's clock: monotonic seconds at the start, at the end of the warm-up, at the end. */
static double t_start, t_warm, t_end;

static _Noreturn void startup_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mjpeg-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double clock_seconds(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Per-viewer state ---- */

enum http_state { H_HEAD, H_RAW, H_CHUNK_SIZE, H_CHUNK_DATA, H_CHUNK_END };
enum part_state { P_BOUNDARY, P_HEADERS, P_BODY };
enum tls_step { TLS_HANDSHAKE, TLS_REQUEST, TLS_STREAM };

struct h2conn;

struct viewer {
    int fd;
    bool slow, connecting, connected, done, failed;
    bool pending; /* in the current connect batch, which ends when every viewer in it has its response head */
    /* TLS (--tls): the connection's state, and what epoll waits for (0: not in the set) */
    SSL *ssl;
    uint8_t tls_step;
    bool backlog;
    uint32_t events;
    /* HTTP/2 (--http2): the connection this stream is on, its id (0 once closed) and the response's :status */
    struct h2conn *conn;
    int32_t stream_id;
    uint16_t status;
    /* HTTP layer */
    uint8_t http;
    bool chunked, chunk_digits, chunk_ext;
    uint8_t chunk_end_left;
    uint64_t chunk_left;
    char *head; /* the response head while it arrives; freed after */
    size_t head_len;
    char boundary[BOUNDARY_MAX + 1];
    /* multipart layer */
    uint8_t part;
    bool seen_boundary, line_long, has_length, has_seq, has_ts;
    uint16_t line_len, part_head_bytes;
    char line[LINE_MAX_LEN + 1];
    uint64_t body_left, seq;
    double ts;
    /* statistics */
    bool has_last_seq;
    uint64_t last_seq, frames, measured, repeated, bytes;
    double connect_start, first_frame; /* first_frame < 0: none */
    double tokens;
    char error[ERROR_LEN];
};

struct histogram {
    uint32_t *bins, top; /* top: one past the highest bin used, so that walks stop there */
    uint64_t count;
    double max;
};

/* A worker's state: its viewers, its epoll set, the shared buffer. */
static struct viewer *viewers;
static int viewer_count;
static int epoll_fd;
static uint8_t *rbuf;
static struct histogram hist[2]; /* [0] normal viewers, [1] slow ones */
static int next_connect, in_flight, batch_size;
static int finished_count; /* viewers done */
static double batch_deadline;
static uint64_t rng = 0x9e3779b97f4a7c15u;

/* The time of the current read, taken once and only when a part completes in it. */
static struct {
    bool valid;
    double mono, real;
} now;

static void take_time(void) {
    if (!now.valid) {
        now.mono = clock_seconds(CLOCK_MONOTONIC);
        now.real = clock_seconds(CLOCK_REALTIME);
        now.valid = true;
    }
}

static uint32_t random_below(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* The viewer leaves the current connect batch (it has its response head, or is finished). */
static void batch_release(struct viewer *v) {
    if (v->pending) {
        v->pending = false;
        in_flight--;
    }
}

static void h2_cancel(struct viewer *v);

/* The viewer is finished: its connection closed (HTTP/2: its stream cancelled, if still open). */
static void finish(struct viewer *v) {
    batch_release(v);
    v->done = true;
    finished_count++;
    if (v->ssl) SSL_free(v->ssl);
    v->ssl = NULL;
    if (v->fd >= 0) close(v->fd);
    v->fd = -1;
    if (v->conn) h2_cancel(v);
}

/* Records the viewer's first error and closes its connection. */
static void fail(struct viewer *v, const char *fmt, ...) {
    if (v->done) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->error, sizeof v->error, fmt, ap);
    va_end(ap);
    v->failed = true;
    finish(v);
}

/* The server closed the stream (`what`: the connection, or the HTTP/2 stream): an error unless the run is (nearly)
 * over, as MJPEGBench judges it. */
static void end_of_stream(struct viewer *v, const char *what) {
    if (clock_seconds(CLOCK_MONOTONIC) < t_end - 0.2) fail(v, "the server closed the %s", what);
    else if (!v->done) finish(v);
}

/* ---- Histogram ---- */

static uint32_t bin_of(double s) {
    if (!(s > 0)) return 0; /* negative (clocks) or NaN: the first bin */
    if (s < 10) return (uint32_t)(s * 1e5);
    if (s < 610) return FINE_BINS + (uint32_t)((s - 10) * 1e3);
    return HIST_BINS - 1;
}

static void hist_add(struct histogram *h, double s) {
    uint32_t i = bin_of(s);
    h->bins[i]++;
    if (i >= h->top) h->top = i + 1;
    if (h->count == 0 || s > h->max) h->max = s;
    h->count++;
}

/* The value at sorted index min(n-1, floor(f*n)), as MJPEGBench picks it: the centre of its bin, at most max. */
static double hist_percentile(const struct histogram *h, double f) {
    uint64_t k = (uint64_t)(f * (double)h->count);
    if (k > h->count - 1) k = h->count - 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < h->top; i++) {
        seen += h->bins[i];
        if (seen > k) {
            double centre = i < FINE_BINS                 ? (i + 0.5) * 1e-5
                            : i < FINE_BINS + COARSE_BINS ? 10 + (i - FINE_BINS + 0.5) * 1e-3
                                                          : h->max;
            return centre < h->max ? centre : h->max;
        }
    }
    return h->max;
}

/* ---- Multipart layer: boundary line, part headers, then the JPEG skipped by its Content-Length ---- */

/* A part's last byte has arrived. */
static void part_done(struct viewer *v) {
    take_time();
    v->frames++;
    if (v->first_frame < 0) v->first_frame = now.mono - v->connect_start;
    if (v->has_seq) {
        if (v->has_last_seq && v->seq <= v->last_seq) v->repeated++;
        if (!v->has_last_seq || v->seq > v->last_seq) v->last_seq = v->seq;
        v->has_last_seq = true;
    }
    if (now.mono >= t_warm) {
        v->measured++;
        if (v->has_ts) hist_add(&hist[v->slow], now.real - v->ts);
    }
    v->part = P_BOUNDARY;
    v->part_head_bytes = 0;
}

static bool parse_u64(const char *s, uint64_t *out) {
    if (*s < '0' || *s > '9') return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = x;
    return true;
}

/* One complete line of the multipart layer (CR LF stripped, NUL-terminated in v->line). */
static void part_line(struct viewer *v) {
    char *line = v->line;
    size_t len = v->line_len;
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t')) line[--len] = 0;
    if (v->part == P_BOUNDARY) {
        if (len == 0) return;
        size_t b = strlen(v->boundary);
        if (!v->line_long && len >= b + 2 && line[0] == '-' && line[1] == '-' && !memcmp(line + 2, v->boundary, b)) {
            if (len == b + 2) {
                v->seen_boundary = true;
                v->part = P_HEADERS;
                v->has_length = v->has_seq = v->has_ts = false;
                return;
            }
            if (len == b + 4 && line[b + 2] == '-' && line[b + 3] == '-') {
                fail(v, "malformed stream: the closing boundary (the stream ended)");
                return;
            }
        }
        if (v->seen_boundary) fail(v, "malformed stream: expected the boundary line, got '%.40s'", line);
        return; /* a preamble before the first boundary */
    }
    /* P_HEADERS */
    if (len == 0) {
        if (!v->has_length) {
            fail(v, "malformed stream: a part without Content-Length");
            return;
        }
        v->part = P_BODY;
        if (v->body_left == 0) part_done(v);
        return;
    }
    char *colon = memchr(line, ':', len);
    if (!colon) return;
    *colon = 0;
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t') value++;
    bool known = !strcasecmp(line, "content-length") || !strcasecmp(line, "x-frame-sequence") ||
                 !strcasecmp(line, "x-timestamp");
    if (known && v->line_long) {
        fail(v, "malformed stream: part header %s too long", line);
    } else if (!strcasecmp(line, "content-length")) {
        if (!parse_u64(value, &v->body_left)) fail(v, "malformed stream: Content-Length '%.30s'", value);
        v->has_length = true;
    } else if (!strcasecmp(line, "x-frame-sequence")) {
        if (!parse_u64(value, &v->seq)) fail(v, "malformed stream: X-Frame-Sequence '%.30s'", value);
        v->has_seq = true;
    } else if (!strcasecmp(line, "x-timestamp")) {
        char *end;
        v->ts = strtod(value, &end);
        if (end == value || *end) fail(v, "malformed stream: X-Timestamp '%.30s'", value);
        v->has_ts = true;
    }
}

/* Feeds body bytes (inside the HTTP framing) to the multipart parser. */
static void feed_parts(struct viewer *v, const uint8_t *p, size_t n) {
    while (n > 0 && !v->done) {
        if (v->part == P_BODY) {
            size_t take = n < v->body_left ? n : (size_t)v->body_left;
            v->body_left -= take;
            p += take;
            n -= take;
            if (v->body_left == 0) part_done(v);
            continue;
        }
        const uint8_t *lf = memchr(p, '\n', n);
        size_t seg = lf ? (size_t)(lf - p) + 1 : n;
        if (v->part_head_bytes + seg > PART_HEAD_MAX) {
            fail(v, "malformed stream: part headers longer than %d bytes", PART_HEAD_MAX);
            return;
        }
        v->part_head_bytes += (uint16_t)seg;
        size_t text = lf ? seg - 1 : seg;
        size_t room = LINE_MAX_LEN - v->line_len;
        if (text > room) {
            v->line_long = true;
            text = room;
        }
        memcpy(v->line + v->line_len, p, text);
        v->line_len += (uint16_t)text;
        p += seg;
        n -= seg;
        if (lf) {
            if (v->line_len > 0 && v->line[v->line_len - 1] == '\r') v->line_len--;
            v->line[v->line_len] = 0;
            part_line(v);
            v->line_len = 0;
            v->line_long = false;
        }
    }
}

/* ---- HTTP layer: status line and headers, then chunked or close-delimited body ---- */

/* A Content-Type value: true (and v->boundary set) for multipart/x-mixed-replace with a usable boundary. */
static bool multipart_type(struct viewer *v, const char *value) {
    if (strncasecmp(value, "multipart/x-mixed-replace", 25)) return false;
    const char *b = strcasestr(value, "boundary=");
    if (!b) return false;
    b += 9;
    bool quoted = *b == '"';
    if (quoted) b++;
    size_t len = strcspn(b, quoted ? "\"" : "; \t");
    if (len < 1 || len > BOUNDARY_MAX) return false;
    memcpy(v->boundary, b, len);
    v->boundary[len] = 0;
    return true;
}

/* Parses the complete response head (NUL-terminated, without the blank line). */
static void parse_head(struct viewer *v, char *head) {
    char *eol = strstr(head, "\r\n");
    if (eol) *eol = 0;
    bool ok = !strncmp(head, "HTTP/1.", 7) && (head[7] == '0' || head[7] == '1') && head[8] == ' ' &&
              !strncmp(head + 9, "200", 3) && (head[12] == ' ' || head[12] == 0);
    if (!ok) {
        fail(v, "server answered: %.80s", head);
        return;
    }
    bool multipart = false;
    for (char *line = eol ? eol + 2 : NULL; line && *line;) {
        char *next = strstr(line, "\r\n");
        if (next) *next = 0;
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = 0;
            char *value = colon + 1;
            while (*value == ' ' || *value == '\t') value++;
            if (!strcasecmp(line, "transfer-encoding") && strcasestr(value, "chunked")) {
                v->chunked = true;
            } else if (!strcasecmp(line, "content-type") && multipart_type(v, value)) {
                multipart = true;
            }
        }
        line = next ? next + 2 : NULL;
    }
    if (!multipart) {
        fail(v, "malformed stream: no multipart/x-mixed-replace Content-Type with a boundary");
        return;
    }
    v->http = v->chunked ? H_CHUNK_SIZE : H_RAW;
    batch_release(v);
}

/* Collects the response head; returns how many of the n bytes belonged to it. */
static size_t feed_head(struct viewer *v, const uint8_t *p, size_t n) {
    if (!v->head && !(v->head = malloc(HEAD_MAX + 1))) {
        fail(v, "out of memory");
        return n;
    }
    size_t old = v->head_len;
    size_t take = n < HEAD_MAX - old ? n : HEAD_MAX - old;
    memcpy(v->head + old, p, take);
    v->head_len += take;
    size_t from = old >= 3 ? old - 3 : 0;
    char *end = memmem(v->head + from, v->head_len - from, "\r\n\r\n", 4);
    if (!end) {
        if (v->head_len == HEAD_MAX) fail(v, "malformed stream: a response head over %d bytes", HEAD_MAX);
        return take;
    }
    size_t size = (size_t)(end - v->head) + 4;
    *end = 0;
    parse_head(v, v->head);
    free(v->head);
    v->head = NULL;
    return size - old;
}

/* Feeds received bytes through the HTTP framing into the multipart parser. */
static void feed(struct viewer *v, const uint8_t *p, size_t n) {
    while (n > 0 && !v->done) {
        switch (v->http) {
        case H_HEAD: {
            size_t used = feed_head(v, p, n);
            p += used;
            n -= used;
            break;
        }
        case H_RAW:
            feed_parts(v, p, n);
            return;
        case H_CHUNK_SIZE: {
            uint8_t c = *p++;
            n--;
            if (c == '\n') {
                if (!v->chunk_digits) fail(v, "malformed stream: an empty chunk size");
                else if (v->chunk_left == 0) fail(v, "malformed stream: the last chunk (the stream ended)");
                else v->http = H_CHUNK_DATA;
                v->chunk_digits = v->chunk_ext = false;
            } else if (v->chunk_ext || c == '\r') {
                /* a chunk extension, or the CR before LF */
            } else if (c == ';') {
                v->chunk_ext = true;
            } else if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')) {
                if (v->chunk_left >> 56) fail(v, "malformed stream: a chunk size too large");
                v->chunk_left = v->chunk_left * 16 + (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
                v->chunk_digits = true;
            } else {
                fail(v, "malformed stream: a bad byte 0x%02x in a chunk size", c);
            }
            break;
        }
        case H_CHUNK_DATA: {
            size_t take = n < v->chunk_left ? n : (size_t)v->chunk_left;
            feed_parts(v, p, take);
            p += take;
            n -= take;
            v->chunk_left -= take;
            if (v->chunk_left == 0) {
                v->http = H_CHUNK_END;
                v->chunk_end_left = 2;
            }
            break;
        }
        case H_CHUNK_END: {
            uint8_t c = *p++;
            n--;
            if (c != (v->chunk_end_left == 2 ? '\r' : '\n')) {
                fail(v, "malformed stream: no CRLF after a chunk");
            } else if (--v->chunk_end_left == 0) {
                v->http = H_CHUNK_SIZE;
            }
            break;
        }
        }
    }
}

/* Bytes received: counted, then parsed (in random small pieces with --split-reads, to test the parser). */
static void consume(struct viewer *v, const uint8_t *p, size_t n) {
    v->bytes += n;
    if (!opt.split) {
        feed(v, p, n);
        return;
    }
    while (n > 0 && !v->done) {
        size_t piece = 1 + random_below(61);
        if (piece > n) piece = n;
        feed(v, p, piece);
        p += piece;
        n -= piece;
    }
}

/* How many bytes from here on are JPEG bytes that the kernel may drop for us (0 when not in a JPEG). */
static size_t skippable(const struct viewer *v) {
    if (v->part != P_BODY || (v->http != H_RAW && v->http != H_CHUNK_DATA)) return 0;
    uint64_t k = v->body_left;
    if (v->http == H_CHUNK_DATA && v->chunk_left < k) k = v->chunk_left;
    return k > RECV_BUFFER * 4 ? RECV_BUFFER * 4 : (size_t)k;
}

/* k JPEG bytes were discarded in the kernel: advance both layers as if they had been fed. */
static void skipped(struct viewer *v, size_t k) {
    v->bytes += k;
    v->body_left -= k;
    if (v->http == H_CHUNK_DATA) {
        v->chunk_left -= k;
        if (v->chunk_left == 0) {
            v->http = H_CHUNK_END;
            v->chunk_end_left = 2;
        }
    }
    if (v->body_left == 0) part_done(v);
}

/* ---- TLS: reads, errors, and the connections that still hold decrypted bytes ---- */

enum io_status { IO_MORE, IO_DRAINED, IO_EOF, IO_ERROR };

/* A TLS call failed with SSL_get_error's `err` (errno `saved` right after it): the message, "what: reason". */
static void tls_message(char *out, const char *what, int err, int saved) {
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    if (err == SSL_ERROR_SYSCALL && saved) snprintf(out, ERROR_LEN, "%s: %s", what, strerror(saved));
    else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
        snprintf(out, ERROR_LEN, "%s: the server closed the connection", what);
    else if (reason) snprintf(out, ERROR_LEN, "%s: %s", what, reason);
    else snprintf(out, ERROR_LEN, "%s: TLS error %d (0x%lx)", what, err, e);
    ERR_clear_error();
}

/* Decrypts up to `want` bytes into buf, with as many SSL_read calls (a record each) as it takes; *got says how
 * many. IO_MORE: buf is full (there may be more); IO_DRAINED: nothing more for now; IO_EOF: the server closed
 * the connection; IO_ERROR: `error` says why. */
static enum io_status tls_read(SSL *ssl, uint8_t *buf, size_t want, size_t *got, char *error) {
    *got = 0;
    while (*got < want) {
        size_t n = 0;
        ERR_clear_error();
        errno = 0;
        if (SSL_read_ex(ssl, buf + *got, want - *got, &n) == 1) {
            *got += n;
            continue;
        }
        int saved = errno, err = SSL_get_error(ssl, 0);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return IO_DRAINED;
        if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && saved == 0)) return IO_EOF;
        tls_message(error, "read", err, saved);
        return IO_ERROR;
    }
    return IO_MORE;
}

/* Connections that stopped reading at READ_CAP with records already read into OpenSSL's buffer: epoll will not
 * report them again for bytes that have left the socket, so the loop reads them next (and waits for nothing). */
static void **backlog, **backlog_next;
static int backlog_len;

static void backlog_add(void *item, bool *flag) {
    if (!*flag) {
        *flag = true;
        backlog[backlog_len++] = item;
    }
}

/* ---- Reading ---- */

/* One receive of at most `want` bytes; *asked says how many it asked for (JPEG bytes are dropped in the kernel,
 * headers read in small pieces, unless --copy or --split-reads). Returns the byte count, 0 at EAGAIN, -1 when the
 * viewer is finished (EOF or error). */
static ssize_t receive(struct viewer *v, size_t want, size_t *asked) {
    if (v->ssl) { /* TLS: decrypted into the buffer, as much as `want` (short: nothing more for now) */
        size_t got;
        char error[ERROR_LEN];
        enum io_status status = tls_read(v->ssl, rbuf, want, &got, error);
        *asked = want;
        if (got > 0) {
            now.valid = false;
            consume(v, rbuf, got);
            if (v->done) return -1;
        }
        if (status == IO_EOF) end_of_stream(v, "connection");
        else if (status == IO_ERROR) fail(v, "%s", error);
        return status == IO_EOF || status == IO_ERROR ? -1 : (ssize_t)got;
    }
    bool discard = !opt.copy && !opt.split;
    size_t skip = discard ? skippable(v) : 0;
    if (skip > want) skip = want;
    if (!skip && discard && want > HEADER_READ) want = HEADER_READ;
    *asked = skip ? skip : want;
    for (;;) {
        ssize_t n = skip ? recv(v->fd, NULL, skip, MSG_TRUNC | MSG_DONTWAIT) : recv(v->fd, rbuf, want, MSG_DONTWAIT);
        if (n > 0) {
            now.valid = false;
            if (skip) skipped(v, (size_t)n);
            else consume(v, rbuf, (size_t)n);
            return v->done ? -1 : n;
        }
        if (n == 0) {
            end_of_stream(v, "connection");
            return -1;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        fail(v, "read: %s", strerror(errno));
        return -1;
    }
}

/* A fast viewer is readable: read until EAGAIN, a short read (level-triggered epoll tells us about more), or the
 * cap for one wake-up. */
static void read_fast(struct viewer *v) {
    size_t total = 0, asked;
    while (total < READ_CAP) {
        ssize_t n = receive(v, RECV_BUFFER, &asked);
        if (n <= 0) return;
        total += (size_t)n;
        if ((size_t)n < asked) return;
    }
    if (v->ssl && SSL_has_pending(v->ssl)) backlog_add(v, &v->backlog);
}

/* A slow viewer, on each tick: refill its bucket, then read no more than it holds. */
static void read_slow(struct viewer *v, double elapsed) {
    double cap = opt.slow_rate / 10.0 > 4096 ? opt.slow_rate / 10.0 : 4096;
    v->tokens += opt.slow_rate * elapsed;
    if (v->tokens > cap) v->tokens = cap;
    while (v->tokens >= 1) {
        size_t asked, want = v->tokens < RECV_BUFFER ? (size_t)v->tokens : RECV_BUFFER;
        ssize_t n = receive(v, want, &asked);
        if (n <= 0) return;
        v->tokens -= (double)n;
        if ((size_t)n < asked) return;
    }
}

/* ---- HTTP/2: the M streams of a connection are M viewers ---- */

struct h2conn {
    int fd;
    uint32_t events; /* what epoll waits for (0: not in the set) */
    bool connecting, handshaking, closed, backlog;
    SSL *ssl;
    nghttp2_session *session;
    struct viewer *streams; /* its viewers: streams[0 .. count) */
    int count;
    uint8_t *out; /* frames that nghttp2 made and SSL_write has not taken yet (retried with the same bytes first) */
    size_t out_len, out_cap;
};

/* A worker's connections; their streams are consecutive viewers, in order. */
static struct h2conn *conns;
static int conn_count, next_conn;
static nghttp2_session_callbacks *h2_callbacks;

#if NGHTTP2_VERSION_NUM >= 0x013c00 /* 1.60 deprecated the calls that return ssize_t */
#define h2_mem_send nghttp2_session_mem_send2
#define h2_mem_recv nghttp2_session_mem_recv2
#define h2_submit_request nghttp2_submit_request2
#else
#define h2_mem_send nghttp2_session_mem_send
#define h2_mem_recv nghttp2_session_mem_recv
#define h2_submit_request nghttp2_submit_request
#endif

/* A stream's viewer has finished before its stream: cancel the stream, so that the server stops sending it. */
static void h2_cancel(struct viewer *v) {
    if (v->stream_id > 0 && !v->conn->closed && v->conn->session)
        nghttp2_submit_rst_stream(v->conn->session, NGHTTP2_FLAG_NONE, v->stream_id, NGHTTP2_CANCEL);
    v->stream_id = 0;
}

/* The connection is over: those of its viewers still running fail with `error`, or (NULL) end as closed by the
 * server. Never called from inside nghttp2 (its callbacks only finish streams). */
static void h2_close(struct h2conn *c, const char *error) {
    if (c->closed) return;
    c->closed = true;
    for (int i = 0; i < c->count; i++) {
        struct viewer *v = &c->streams[i];
        if (v->done) continue;
        if (error) fail(v, "%s", error);
        else end_of_stream(v, "connection");
    }
    if (c->session) nghttp2_session_del(c->session);
    if (c->ssl) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    free(c->out);
    c->session = NULL;
    c->ssl = NULL;
    c->fd = -1;
    c->out = NULL;
}

static void h2_fail(struct h2conn *c, const char *fmt, ...) {
    char error[ERROR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, sizeof error, fmt, ap);
    va_end(ap);
    h2_close(c, error);
}

static void h2_watch(struct h2conn *c, uint32_t events) {
    if (c->closed || events == c->events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epoll_fd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0)
        h2_fail(c, "epoll: %s", strerror(errno));
    else c->events = events;
}

/* Writes what nghttp2 has to send, as far as the socket takes it; then waits to read, and to write if some is
 * left. False if the connection is closed. */
static bool h2_flush(struct h2conn *c) {
    for (;;) {
        const uint8_t *data;
        ssize_t n;
        while ((n = h2_mem_send(c->session, &data)) > 0) {
            if (c->out_len + (size_t)n > c->out_cap) {
                size_t cap = c->out_cap ? c->out_cap : 16384;
                while (cap < c->out_len + (size_t)n) cap *= 2;
                uint8_t *grown = realloc(c->out, cap);
                if (!grown) {
                    h2_fail(c, "out of memory");
                    return false;
                }
                c->out = grown;
                c->out_cap = cap;
            }
            memcpy(c->out + c->out_len, data, (size_t)n);
            c->out_len += (size_t)n;
        }
        if (n < 0) {
            h2_fail(c, "HTTP/2: %s", nghttp2_strerror((int)n));
            return false;
        }
        if (c->out_len == 0) break;
        size_t written = 0;
        ERR_clear_error();
        errno = 0;
        if (SSL_write_ex(c->ssl, c->out, c->out_len, &written) != 1) {
            int saved = errno, err = SSL_get_error(c->ssl, 0);
            if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) break;
            char error[ERROR_LEN];
            tls_message(error, "write", err, saved);
            h2_close(c, error);
            return false;
        }
        memmove(c->out, c->out + written, c->out_len - written);
        c->out_len -= written;
    }
    h2_watch(c, EPOLLIN | (c->out_len ? EPOLLOUT : 0));
    return !c->closed;
}

static int h2_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                        const uint8_t *value, size_t valuelen, uint8_t flags, void *user) {
    (void)flags;
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    struct viewer *v = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!v || v->done || v->http != H_HEAD) return 0;
    char text[256];
    size_t len = valuelen < sizeof text - 1 ? valuelen : sizeof text - 1;
    memcpy(text, value, len);
    text[len] = 0;
    if (namelen == 7 && !memcmp(name, ":status", 7)) {
        uint64_t status;
        v->status = parse_u64(text, &status) && status < 1000 ? (uint16_t)status : 0;
    } else if (namelen == 12 && !memcmp(name, "content-type", 12)) {
        multipart_type(v, text);
    }
    return 0;
}

/* A response's header block is complete: the stream's "response head". */
static int h2_on_frame(nghttp2_session *session, const nghttp2_frame *frame, void *user) {
    (void)user;
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    struct viewer *v = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!v || v->done || v->http != H_HEAD) return 0;
    if (v->status >= 100 && v->status < 200) v->status = 0; /* an interim response: the real one follows */
    else if (v->status != 200) fail(v, "server answered: :status %u", v->status);
    else if (!v->boundary[0]) fail(v, "malformed stream: no multipart/x-mixed-replace Content-Type with a boundary");
    else {
        v->http = H_RAW;
        batch_release(v);
    }
    return 0;
}

static int h2_on_data(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                      void *user) {
    (void)flags;
    (void)user;
    struct viewer *v = nghttp2_session_get_stream_user_data(session, stream_id);
    if (v && !v->done) consume(v, data, len);
    return 0;
}

static int h2_on_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user) {
    (void)user;
    struct viewer *v = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!v) return 0;
    v->stream_id = 0;
    if (v->done) return 0;
    if (error_code != NGHTTP2_NO_ERROR) fail(v, "the server reset the stream (%s)", nghttp2_http2_strerror(error_code));
    else end_of_stream(v, "stream");
    return 0;
}

static void h2_make_callbacks(void) {
    if (nghttp2_session_callbacks_new(&h2_callbacks)) startup_error("out of memory");
    nghttp2_session_callbacks_set_on_header_callback(h2_callbacks, h2_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(h2_callbacks, h2_on_frame);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(h2_callbacks, h2_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(h2_callbacks, h2_on_close);
}

#define H2_HEADER(name, value, len) \
    {(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, (len), NGHTTP2_NV_FLAG_NONE}

/* TLS is up with h2: the session, its settings and windows, and one request per viewer. */
static void h2_session_start(struct h2conn *c) {
    if (nghttp2_session_client_new(&c->session, h2_callbacks, c)) {
        h2_fail(c, "HTTP/2: cannot make a session");
        return;
    }
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                         {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW}};
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 2);
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, H2_WINDOW);
    nghttp2_nv headers[] = {H2_HEADER(":method", "GET", 3), H2_HEADER(":scheme", "https", 5),
                            H2_HEADER(":authority", authority, strlen(authority)),
                            H2_HEADER(":path", request_path, strlen(request_path)),
                            H2_HEADER("user-agent", "mjpeg-load", 10)};
    for (int i = 0; i < c->count; i++) {
        struct viewer *v = &c->streams[i];
        int32_t id = h2_submit_request(c->session, NULL, headers, sizeof headers / sizeof headers[0], NULL, v);
        if (id < 0) fail(v, "HTTP/2: %s", nghttp2_strerror(id));
        else v->stream_id = id;
    }
    h2_flush(c);
}

static void h2_handshake(struct h2conn *c) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(c->ssl);
    if (r != 1) {
        int saved = errno, err = SSL_get_error(c->ssl, r);
        if (err == SSL_ERROR_WANT_READ) h2_watch(c, EPOLLIN);
        else if (err == SSL_ERROR_WANT_WRITE) h2_watch(c, EPOLLOUT);
        else {
            char error[ERROR_LEN];
            tls_message(error, "TLS handshake", err, saved);
            h2_close(c, error);
        }
        return;
    }
    c->handshaking = false;
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
    if (alpn_len == 2 && !memcmp(alpn, "h2", 2)) h2_session_start(c);
    else if (alpn_len) h2_fail(c, "the server chose %.*s by ALPN, not h2", (int)alpn_len, alpn);
    else h2_fail(c, "the server chose no protocol by ALPN, not h2");
}

/* The TCP connection is up: the TLS handshake, offering h2. */
static void h2_connected(struct h2conn *c) {
    for (int i = 0; i < c->count; i++) c->streams[i].connected = true;
    if (!(c->ssl = SSL_new(tls_ctx)) || !SSL_set_fd(c->ssl, c->fd)) {
        h2_fail(c, "TLS: cannot set up a connection");
        return;
    }
    SSL_set_connect_state(c->ssl);
    c->handshaking = true;
    h2_handshake(c);
}

/* Opens a non-blocking TCP socket to the server (TCP_NODELAY; SO_RCVBUF when rcvbuf > 0) into *fd and starts
 * connecting it: 1 when connected at once, 0 when the connect is in progress, -1 on failure, with errno and *stage
 * ("socket" or "connect") saying what failed. */
static int start_connect(int *fd, int rcvbuf, const char **stage) {
    *fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0) {
        *stage = "socket";
        return -1;
    }
    int one = 1;
    setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rcvbuf > 0) setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (connect(*fd, (struct sockaddr *)&server_addr, server_addr_len) == 0) return 1;
    if (errno == EINPROGRESS) return 0;
    *stage = "connect";
    return -1;
}

/* Starts a connection, with its viewers in the connect batch until each has its response head. */
static void h2_start(struct h2conn *c) {
    double t = clock_seconds(CLOCK_MONOTONIC);
    for (int i = 0; i < c->count; i++) {
        c->streams[i].connect_start = t;
        c->streams[i].pending = true;
        in_flight++;
    }
    const char *stage;
    int started = start_connect(&c->fd, 0, &stage);
    if (started > 0) {
        h2_connected(c);
    } else if (started == 0) {
        c->connecting = true;
        h2_watch(c, EPOLLOUT);
    } else {
        h2_fail(c, "%s: %s", stage, strerror(errno));
    }
}

/* Reads and decrypts, feeds nghttp2 (which feeds the streams' parsers), and writes what it answers (window
 * updates, pings, settings), until nothing more is there or the connection's cap for one wake-up. */
static void h2_read(struct h2conn *c) {
    size_t total = 0, cap = (size_t)READ_CAP * (size_t)c->count;
    for (;;) {
        size_t got;
        char error[ERROR_LEN];
        enum io_status status = tls_read(c->ssl, rbuf, RECV_BUFFER, &got, error);
        if (got > 0) {
            now.valid = false;
            ssize_t used = h2_mem_recv(c->session, rbuf, got);
            if (used < 0) {
                h2_fail(c, "HTTP/2: %s", nghttp2_strerror((int)used));
                return;
            }
            total += got;
        }
        if (status == IO_EOF || status == IO_ERROR) {
            h2_close(c, status == IO_ERROR ? error : NULL);
            return;
        }
        if (!h2_flush(c)) return;
        if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session)) {
            h2_close(c, NULL); /* both sides are done (GOAWAY) */
            return;
        }
        if (status == IO_DRAINED) return;
        if (total >= cap) {
            if (SSL_has_pending(c->ssl)) backlog_add(c, &c->backlog);
            return;
        }
    }
}

static void h2_event(struct h2conn *c, uint32_t events) {
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        c->connecting = false;
        if (err) h2_fail(c, "connect: %s", strerror(err));
        else h2_connected(c);
    } else if (c->handshaking) {
        h2_handshake(c);
    } else {
        if ((events & EPOLLOUT) && !h2_flush(c)) return;
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) h2_read(c);
    }
}

/* ---- Connecting, in batches ---- */

static void connect_done(struct viewer *v);

/* Starts the next batch of connects once the last one is through: each of its viewers has had its response head
 * (so the server has accepted and answered it; a finished TCP handshake alone says nothing about the server's
 * accept queue), has failed, or the batch is 2 s old. Repeats while a whole batch failed at once. */
static void start_batch(void) {
    if (in_flight > 0 && clock_seconds(CLOCK_MONOTONIC) >= batch_deadline) {
        for (int j = 0; j < next_connect; j++) viewers[j].pending = false;
        in_flight = 0;
    }
    while (in_flight == 0 && next_connect < viewer_count) {
        batch_deadline = clock_seconds(CLOCK_MONOTONIC) + 2.0;
        if (opt.http2) { /* whole connections, until the batch has its share of streams */
            for (int started = 0; started < batch_size && next_conn < conn_count;) {
                struct h2conn *c = &conns[next_conn++];
                started += c->count;
                next_connect += c->count;
                h2_start(c);
            }
            continue;
        }
        for (int i = 0; i < batch_size && next_connect < viewer_count; i++) {
            struct viewer *v = &viewers[next_connect++];
            v->connect_start = clock_seconds(CLOCK_MONOTONIC);
            v->pending = true;
            in_flight++;
            const char *stage;
            int started = start_connect(&v->fd, v->slow ? opt.slow_rcvbuf : 0, &stage);
            if (started > 0) {
                connect_done(v);
            } else if (started == 0) {
                struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = v};
                epoll_ctl(epoll_fd, EPOLL_CTL_ADD, v->fd, &ev);
                v->events = EPOLLOUT;
                v->connecting = true;
            } else {
                fail(v, "%s: %s", stage, strerror(errno));
            }
        }
    }
}

/* What epoll waits for on a TLS viewer's socket (0: take it out of the set). */
static void watch(struct viewer *v, uint32_t events) {
    if (events == v->events) return;
    struct epoll_event ev = {.events = events, .data.ptr = v};
    int op = !events ? EPOLL_CTL_DEL : v->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(epoll_fd, op, v->fd, &ev) < 0) fail(v, "epoll: %s", strerror(errno));
    else v->events = events;
}

/* A TLS call on the viewer returned r <= 0: wait for the socket as it asks, or fail. */
static void tls_wait(struct viewer *v, int r, const char *what) {
    int saved = errno, err = SSL_get_error(v->ssl, r);
    if (err == SSL_ERROR_WANT_READ) {
        watch(v, EPOLLIN);
    } else if (err == SSL_ERROR_WANT_WRITE) {
        watch(v, EPOLLOUT);
    } else {
        char error[ERROR_LEN];
        tls_message(error, what, err, saved);
        fail(v, "%s", error);
    }
}

/* Drives a TLS viewer on: the handshake, then the request; then fast viewers wait for EPOLLIN, slow ones (out of
 * the epoll set) for ticks. */
static void tls_advance(struct viewer *v) {
    if (v->tls_step == TLS_HANDSHAKE) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_do_handshake(v->ssl);
        if (r != 1) {
            tls_wait(v, r, "TLS handshake");
            return;
        }
        const unsigned char *alpn = NULL;
        unsigned alpn_len = 0;
        SSL_get0_alpn_selected(v->ssl, &alpn, &alpn_len);
        if (alpn_len && (alpn_len != 8 || memcmp(alpn, "http/1.1", 8))) {
            fail(v, "the server chose %.*s by ALPN, not http/1.1", (int)alpn_len, alpn);
            return;
        }
        v->tls_step = TLS_REQUEST;
    }
    if (v->tls_step == TLS_REQUEST) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_write(v->ssl, request, (int)request_len); /* one record: all of it, or nothing yet */
        if (r <= 0) {
            tls_wait(v, r, "write");
            return;
        }
        v->tls_step = TLS_STREAM;
        watch(v, v->slow ? 0 : EPOLLIN);
    }
}

/* The TCP connection is up: send the request (TLS: first the handshake); fast viewers then wait for EPOLLIN, slow
 * ones for ticks. */
static void connect_done(struct viewer *v) {
    v->connected = true;
    if (opt.tls) {
        if (!(v->ssl = SSL_new(tls_ctx)) || !SSL_set_fd(v->ssl, v->fd)) {
            fail(v, "TLS: cannot set up a connection");
            return;
        }
        SSL_set_connect_state(v->ssl);
        if (v->slow) SSL_set_read_ahead(v->ssl, 0); /* its bytes wait in its small socket buffer, not in OpenSSL's */
        v->tls_step = TLS_HANDSHAKE;
        tls_advance(v);
        return;
    }
    if (send(v->fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len) {
        fail(v, "write: %s", strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = v};
    if (v->slow) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, v->fd, NULL);
    else if (epoll_ctl(epoll_fd, v->connecting ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, v->fd, &ev) < 0)
        fail(v, "epoll: %s", strerror(errno));
}

/* A connect in flight finished, well or not. */
static void connect_event(struct viewer *v) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) fail(v, "connect: %s", strerror(err));
    else connect_done(v);
    v->connecting = false;
}

/* ---- A worker: its viewers from connect to the end of the run ---- */

static void run_worker(void) {
    rbuf = malloc(RECV_BUFFER);
    backlog = calloc((size_t)viewer_count + 1, sizeof *backlog);
    backlog_next = calloc((size_t)viewer_count + 1, sizeof *backlog_next);
    for (int g = 0; g < 2; g++) hist[g].bins = calloc(HIST_BINS, sizeof(uint32_t));
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    /* The timer ticks every 10 ms for slow viewers' buckets; without slow viewers it fires once, at the end. */
    bool any_slow = false;
    for (int j = 0; j < viewer_count; j++) any_slow |= viewers[j].slow;
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec tick = {{0, TICK_MS * 1000000L}, {0, TICK_MS * 1000000L}};
    if (!any_slow) {
        tick.it_interval = (struct timespec){1, 0}; /* (a late wake-up only re-checks the end) */
        tick.it_value = (struct timespec){(time_t)t_end, (long)((t_end - floor(t_end)) * 1e9)};
    }
    if (!rbuf || !backlog || !backlog_next || !hist[0].bins || !hist[1].bins || epoll_fd < 0 || timer < 0 ||
        timerfd_settime(timer, any_slow ? 0 : TFD_TIMER_ABSTIME, &tick, NULL))
        startup_error("worker set-up: %s", strerror(errno));
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer, &tev);

    start_batch();
    double last_tick = clock_seconds(CLOCK_MONOTONIC);
    struct epoll_event events[1024];
    for (;;) {
        int wait_ms = -1; /* until something happens, or the connect batch's deadline */
        if (in_flight > 0 && next_connect < viewer_count) {
            double left = batch_deadline - clock_seconds(CLOCK_MONOTONIC);
            wait_ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        if (backlog_len > 0) wait_ms = 0;
        int n = epoll_wait(epoll_fd, events, 1024, wait_ms);
        if (n < 0 && errno != EINTR) startup_error("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            struct viewer *v = events[i].data.ptr;
            if (v == NULL) { /* the tick: the end of the run, and the slow viewers' buckets */
                uint64_t expirations;
                if (read(timer, &expirations, sizeof expirations) < 0) continue;
                double t = clock_seconds(CLOCK_MONOTONIC);
                if (t >= t_end) goto finished;
                for (int j = 0; j < viewer_count; j++)
                    if (viewers[j].slow && viewers[j].connected && !viewers[j].done &&
                        (!viewers[j].ssl || viewers[j].tls_step == TLS_STREAM))
                        read_slow(&viewers[j], t - last_tick);
                last_tick = t;
            } else if (opt.http2) { /* (the epoll targets are connections) */
                struct h2conn *c = events[i].data.ptr;
                if (!c->closed) h2_event(c, events[i].events);
            } else if (v->done) {
                continue; /* closed earlier in this batch of events */
            } else if (v->connecting) {
                connect_event(v);
            } else if (v->ssl && v->tls_step != TLS_STREAM) {
                tls_advance(v);
            } else if (v->slow) {
                epoll_ctl(epoll_fd, EPOLL_CTL_DEL, v->fd, NULL); /* slow viewers read on ticks only */
            } else {
                read_fast(v);
            }
        }
        /* TLS connections read up to their cap with records left in OpenSSL's buffer */
        int waiting = backlog_len;
        void **items = backlog;
        backlog = backlog_next;
        backlog_next = items;
        backlog_len = 0;
        for (int i = 0; i < waiting; i++) {
            if (opt.http2) {
                struct h2conn *c = items[i];
                c->backlog = false;
                if (!c->closed) h2_read(c);
            } else {
                struct viewer *v = items[i];
                v->backlog = false;
                if (!v->done) read_fast(v);
            }
        }
        if (finished_count == viewer_count) break; /* every viewer failed or was closed: nothing left to see */
        if (next_connect < viewer_count) start_batch();
    }
finished:
    for (int k = 0; k < conn_count; k++) conns[k].closed = true; /* the end: no stream to cancel */
    for (int j = 0; j < viewer_count; j++) {
        struct viewer *v = &viewers[j];
        if (!v->connected && !v->done) fail(v, "connect: not done by the end of the run"); /* or not started */
        if (!v->done && ((v->ssl && v->tls_step == TLS_HANDSHAKE) || (v->conn && v->conn->handshaking)))
            fail(v, "TLS handshake: not done by the end of the run");
        if (!v->done && v->http == H_HEAD) fail(v, "no response head by the end of the run");
        if (!v->done && v->fd >= 0) close(v->fd);
        v->done = true;
    }
}

/* ---- Results: from a worker to the parent through a pipe ---- */

struct wire_viewer {
    uint8_t slow, connected, failed;
    char error[ERROR_LEN];
    uint64_t measured, repeated, bytes;
    double first_frame;
    double span; /* seconds over which `measured` counted: from the warm-up's end, or the first frame if later */
};

struct wire_group {
    uint64_t count, nonzero;
    double max;
};

struct wire_bin {
    uint32_t index, count;
};

static bool write_all(int fd, const void *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return true;
}

static bool read_all(int fd, void *p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p = (char *)p + r;
        n -= (size_t)r;
    }
    return true;
}

static void send_results(int fd) {
    for (int j = 0; j < viewer_count; j++) {
        struct viewer *v = &viewers[j];
        double from = v->first_frame >= 0 && v->connect_start + v->first_frame > t_warm
            ? v->connect_start + v->first_frame : t_warm;
        struct wire_viewer w = {v->slow, v->connected, v->failed, {0}, v->measured, v->repeated, v->bytes,
                                v->first_frame, t_end - from};
        memcpy(w.error, v->error, ERROR_LEN);
        write_all(fd, &w, sizeof w);
    }
    for (int g = 0; g < 2; g++) {
        struct wire_group wg = {hist[g].count, 0, hist[g].max};
        for (uint32_t i = 0; i < hist[g].top; i++) wg.nonzero += hist[g].bins[i] != 0;
        write_all(fd, &wg, sizeof wg);
        for (uint32_t i = 0; i < hist[g].top; i++)
            if (hist[g].bins[i]) write_all(fd, &(struct wire_bin){i, hist[g].bins[i]}, sizeof(struct wire_bin));
    }
}

/* ---- The parent: merge and print ---- */

struct group_result {
    int expected, received, counted, errors;
    double rate_sum, rate_min;
    uint64_t repeated, bytes;
    double *first;
    int first_n;
    struct histogram hist;
};

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Milliseconds: a tenth below 10 ms (the histogram's fine bins are 10 µs wide), whole ones above. */
static void print_ms(double s, bool some) {
    if (some && s < 0.00995) printf("%.1f ms", s * 1000);
    else if (some) printf("%lld ms", (long long)llround(s * 1000));
    else printf("–");
}

/* Reads one worker's results into the groups; false if the worker did not deliver them all. */
static bool merge_worker(int fd, int count, struct group_result *gr, char errors[3][ERROR_LEN], int *error_count) {
    double measured_span = opt.seconds - opt.warm_up;
    for (int j = 0; j < count; j++) {
        struct wire_viewer w;
        if (!read_all(fd, &w, sizeof w)) return false;
        struct group_result *g = &gr[w.slow ? 1 : 0];
        g->received++;
        if (w.failed) {
            g->errors++;
            w.error[ERROR_LEN - 1] = 0;
            bool known = false;
            for (int e = 0; e < *error_count; e++) known |= !strcmp(errors[e], w.error);
            if (!known && *error_count < 3) strcpy(errors[(*error_count)++], w.error);
        }
        if (w.connected) {
            /* A viewer that got its first frame after the warm-up is rated over the time it was there. */
            double rate = w.span > 0.5 ? (double)w.measured / w.span : (double)w.measured / measured_span;
            g->rate_sum += rate;
            if (g->counted == 0 || rate < g->rate_min) g->rate_min = rate;
            g->counted++;
        }
        g->repeated += w.repeated;
        g->bytes += w.bytes;
        if (w.first_frame >= 0) g->first[g->first_n++] = w.first_frame;
    }
    for (int k = 0; k < 2; k++) {
        struct wire_group wg;
        if (!read_all(fd, &wg, sizeof wg)) return false;
        if (wg.count && (gr[k].hist.count == 0 || wg.max > gr[k].hist.max)) gr[k].hist.max = wg.max;
        gr[k].hist.count += wg.count;
        for (uint64_t i = 0; i < wg.nonzero; i++) {
            struct wire_bin b;
            if (!read_all(fd, &b, sizeof b) || b.index >= HIST_BINS) return false;
            gr[k].hist.bins[b.index] += b.count;
            if (b.index >= gr[k].hist.top) gr[k].hist.top = b.index + 1;
        }
    }
    return true;
}

static void print_row(struct group_result *g, bool slow, double cpu) {
    if (g->expected == 0) return;
    int errors = g->errors + (g->expected - g->received);
    qsort(g->first, (size_t)g->first_n, sizeof(double), compare_doubles);
    int fn = g->first_n;
    int fi = (int)(0.5 * fn) < fn - 1 ? (int)(0.5 * fn) : fn - 1;
    if (opt.label) printf("| %s%s | %d ", opt.label, slow ? " (slow)" : "", g->expected);
    else printf("| %d + %d slow%s | %d ", opt.clients, opt.slow, slow ? " (slow)" : "", g->expected);
    printf("| %.1f | %.1f | %llu | %.1f | ", g->counted ? g->rate_sum / g->counted : 0.0, g->counted ? g->rate_min : 0.0,
           (unsigned long long)g->repeated, (double)g->bytes / opt.seconds / 1e6);
    bool some = g->hist.count > 0;
    print_ms(some ? hist_percentile(&g->hist, 0.5) : 0, some);
    printf(" | ");
    print_ms(some ? hist_percentile(&g->hist, 0.99) : 0, some);
    printf(" | ");
    print_ms(g->hist.max, some);
    printf(" | ");
    print_ms(fn ? g->first[fi] : 0, fn > 0);
    printf(" / ");
    print_ms(fn ? g->first[fn - 1] : 0, fn > 0);
    printf(" | %d | %.1f %% |\n", errors, cpu / opt.seconds * 100);
}

/* ---- Start-up: options, URL, limits ---- */

static double parse_number(const char *name, const char *s, bool integer) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(x) || (integer && x != floor(x)))
        startup_error("--%s: '%s' is not %s", name, s, integer ? "an integer" : "a number");
    if (integer && (x < INT32_MIN || x > INT32_MAX)) startup_error("--%s: '%s' is out of range", name, s);
    return x;
}

static void usage(FILE *to) {
    fputs("usage: mjpeg-load --url http[s]://127.0.0.1:PORT/PATH --clients N [--slow S --slow-rate BYTES_PER_S\n"
          "                  --slow-receive-buffer BYTES] --seconds T --warm-up W [--label L] [--header]\n"
          "                  [--processes P] [--copy] [--split-reads]\n"
          "                  [--tls | --http2 [--streams-per-connection M]]\n"
          "Opens N (+ S slow) viewers of an MJPEG stream on this machine for T seconds and prints a Markdown row\n"
          "per kind of viewer, as MJPEGBench does. --copy reads JPEG bytes into user space instead of letting the\n"
          "kernel drop them; --split-reads (a test) feeds the parser random small pieces.\n"
          "--tls (or an https URL): each viewer is a TLS connection, ALPN http/1.1; JPEG bytes are always decrypted\n"
          "(so --copy changes nothing). --http2: TLS with ALPN h2, the viewers are streams, M to a connection\n"
          "(default 1), so N viewers take ceil(N/M) connections; no slow viewers. The server's certificate is NOT\n"
          "checked (a benchmark on loopback; never point this at a server you need to trust).\n"
          "Exit status: 0; 1 when some viewer failed (counted in the row, the first errors on stderr); 2 on a\n"
          "start-up error.\n",
          to);
}

static void parse_url(void) {
    const char *u = opt.url;
    bool https = !strncmp(u, "https://", 8);
    if (!https && strncmp(u, "http://", 7))
        startup_error("--url must be an http or https URL on this machine (127.0.0.1, localhost or ::1)");
    if ((opt.tls || opt.http2) && !https) startup_error("--tls and --http2 need an https URL");
    opt.tls |= https;
    u += https ? 8 : 7;
    char host[64];
    const char *rest;
    if (*u == '[') {
        const char *close = strchr(u, ']');
        if (!close || close - u - 1 >= (long)sizeof host) startup_error("--url: bad host");
        memcpy(host, u + 1, (size_t)(close - u - 1));
        host[close - u - 1] = 0;
        rest = close + 1;
    } else {
        size_t len = strcspn(u, ":/?#");
        if (len >= sizeof host) startup_error("--url: bad host");
        memcpy(host, u, len);
        host[len] = 0;
        rest = u + len;
    }
    long port = https ? 443 : 80;
    if (*rest == ':') {
        char *end;
        port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535) startup_error("--url: bad port");
        rest = end;
    }
    if (*rest && *rest != '/' && *rest != '?') startup_error("--url: bad URL '%s'", opt.url);
    const char *fragment = strchr(rest, '#');
    int path_len = fragment ? (int)(fragment - rest) : (int)strlen(rest);
    if (path_len > 1024) startup_error("--url: path too long");

    memset(&server_addr, 0, sizeof server_addr);
    const char *host_header;
    if (!strcmp(host, "127.0.0.1") || !strcmp(host, "localhost")) {
        struct sockaddr_in *a = (struct sockaddr_in *)&server_addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        server_addr_len = sizeof *a;
        host_header = host;
    } else if (!strcmp(host, "::1")) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&server_addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        server_addr_len = sizeof *a;
        host_header = "[::1]";
    } else {
        startup_error("--url must be an http or https URL on this machine (127.0.0.1, localhost or ::1)");
    }
    snprintf(request_path, sizeof request_path, "%s%.*s", *rest == '/' ? "" : "/", path_len, rest);
    snprintf(authority, sizeof authority, "%s:%ld", host_header, port);
    request_len = (size_t)snprintf(request, sizeof request,
                                   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mjpeg-load\r\n\r\n", request_path,
                                   authority);
}

static void parse_options(int argc, char **argv) {
    static const struct option longs[] = {
        {"url", required_argument, 0, 'u'},        {"clients", required_argument, 0, 'c'},
        {"slow", required_argument, 0, 's'},       {"slow-rate", required_argument, 0, 'r'},
        {"slow-receive-buffer", required_argument, 0, 'b'},
        {"seconds", required_argument, 0, 't'},    {"warm-up", required_argument, 0, 'w'},
        {"label", required_argument, 0, 'l'},      {"header", no_argument, 0, 'H'},
        {"processes", required_argument, 0, 'p'},  {"copy", no_argument, 0, 'C'},
        {"split-reads", no_argument, 0, 'S'},      {"help", no_argument, 0, 'h'},
        {"tls", no_argument, 0, 'T'},              {"http2", no_argument, 0, '2'},
        {"streams-per-connection", required_argument, 0, 'm'},
        {0, 0, 0, 0}};
    bool streams_given = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'u': opt.url = optarg; break;
        case 'c': opt.clients = (int)parse_number("clients", optarg, true); break;
        case 's': opt.slow = (int)parse_number("slow", optarg, true); break;
        case 'r': opt.slow_rate = (int)parse_number("slow-rate", optarg, true); break;
        case 'b': opt.slow_rcvbuf = (int)parse_number("slow-receive-buffer", optarg, true); break;
        case 't': opt.seconds = parse_number("seconds", optarg, false); break;
        case 'w': opt.warm_up = parse_number("warm-up", optarg, false); break;
        case 'l': opt.label = optarg; break;
        case 'H': opt.header = true; break;
        case 'p': opt.processes = (int)parse_number("processes", optarg, true); break;
        case 'C': opt.copy = true; break;
        case 'S': opt.split = true; break;
        case 'T': opt.tls = true; break;
        case '2': opt.http2 = true; break;
        case 'm':
            opt.streams = (int)parse_number("streams-per-connection", optarg, true);
            streams_given = true;
            break;
        case 'h': usage(stdout); exit(0);
        default:
            usage(stderr);
            startup_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) startup_error("unexpected argument '%s'", argv[optind]);
    if (opt.clients < 0 || opt.slow < 0 || opt.clients + opt.slow == 0) startup_error("no viewers to open");
    if (opt.clients + opt.slow > MAX_VIEWERS) startup_error("at most %d viewers", MAX_VIEWERS);
    if (!(opt.seconds > opt.warm_up) || opt.warm_up < 0 || opt.seconds > 600)
        startup_error("--seconds must exceed --warm-up and be at most 600");
    if (opt.slow_rate <= 0 || opt.slow_rcvbuf <= 0) startup_error("--slow-rate and --slow-receive-buffer must be positive");
    if (opt.processes < 1 || opt.processes > MAX_PROCESSES) startup_error("--processes must be 1 to %d", MAX_PROCESSES);
    if (streams_given && !opt.http2) startup_error("--streams-per-connection is for --http2");
    if (opt.streams < 1 || opt.streams > MAX_VIEWERS)
        startup_error("--streams-per-connection must be 1 to %d", MAX_VIEWERS);
    if (opt.http2 && opt.slow > 0)
        startup_error("--slow is for HTTP/1.1 viewers (plain or --tls): HTTP/2 streams have no slow-viewer rate limit");
    parse_url();
    if (opt.http2) opt.tls = true;
}

/* The TLS context of every connection: no certificate check (loopback benchmark), ALPN http/1.1 or h2, OpenSSL
 * reading ahead so that one recv brings several records. */
static void make_tls_context(void) {
    static const unsigned char h1[] = "\x08http/1.1", h2[] = "\x02h2";
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx) startup_error("TLS: %s", ERR_reason_error_string(ERR_get_error()));
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF); /* a close without close_notify is an end of stream */
#endif
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(tls_ctx, 1);
    SSL_CTX_set_default_read_buffer_len(tls_ctx, TLS_READ_AHEAD);
    int failed = opt.http2 ? SSL_CTX_set_alpn_protos(tls_ctx, h2, sizeof h2 - 1)
                           : SSL_CTX_set_alpn_protos(tls_ctx, h1, sizeof h1 - 1); /* (0 on success) */
    if (failed) startup_error("TLS: cannot offer ALPN");
}

/* Raises the open-file limit to the hard limit; start-up error if a worker's viewers would not fit. */
static void raise_file_limit(int per_worker) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)per_worker + 16)
        startup_error("%d viewers per process need %d open files; the limit is %llu (ulimit -n)", per_worker,
                      per_worker + 16, (unsigned long long)rl.rlim_cur);
}

static double rusage_seconds(int who) {
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* HTTP/2: how many streams connection c carries (M, the last one the rest). */
static int streams_of(int c, int total) {
    return total - c * opt.streams < opt.streams ? total - c * opt.streams : opt.streams;
}

/* HTTP/2: worker w of `workers` takes connections w, w + P, ...: sets up its viewers and connections. */
static void h2_worker(int w, int workers, int units, int total) {
    conn_count = units / workers + (w < units % workers);
    conns = calloc((size_t)conn_count, sizeof *conns);
    if (!conns) startup_error("out of memory");
    int first = 0;
    for (int k = 0; k < conn_count; k++) {
        struct h2conn *c = &conns[k];
        c->fd = -1;
        c->streams = &viewers[first];
        c->count = streams_of(w + k * workers, total);
        for (int i = 0; i < c->count; i++) c->streams[i].conn = c;
        first += c->count;
    }
}

int main(int argc, char **argv) {
    parse_options(argc, argv);
    int total = opt.clients + opt.slow;
    /* what the workers split: viewers, or with HTTP/2 connections */
    int units = opt.http2 ? (total + opt.streams - 1) / opt.streams : total;
    int workers = opt.processes < units ? opt.processes : units;
    raise_file_limit((units + workers - 1) / workers);
    signal(SIGPIPE, SIG_IGN);
    if (opt.tls) make_tls_context();
    if (opt.http2) h2_make_callbacks();

    t_start = clock_seconds(CLOCK_MONOTONIC);
    t_warm = t_start + opt.warm_up;
    t_end = t_start + opt.seconds;

    /* Fork the workers; viewer i (normal ones first, then slow ones) goes to worker i mod P (HTTP/2: connection i). */
    int pipes[MAX_PROCESSES];
    pid_t pids[MAX_PROCESSES];
    int counts[MAX_PROCESSES];
    fflush(stdout);
    for (int w = 0; w < workers; w++) {
        int fds[2];
        if (pipe(fds)) startup_error("pipe: %s", strerror(errno));
        counts[w] = total / workers + (w < total % workers);
        if (opt.http2) {
            counts[w] = 0;
            for (int c = w; c < units; c += workers) counts[w] += streams_of(c, total);
        }
        pids[w] = fork();
        if (pids[w] < 0) startup_error("fork: %s", strerror(errno));
        if (pids[w] == 0) {
            close(fds[0]);
            for (int k = 0; k < w; k++) close(pipes[k]);
            viewer_count = counts[w];
            viewers = calloc((size_t)viewer_count, sizeof *viewers);
            if (!viewers) startup_error("out of memory");
            for (int j = 0; j < viewer_count; j++) {
                viewers[j].fd = -1;
                viewers[j].first_frame = -1;
                viewers[j].slow = !opt.http2 && w + j * workers >= opt.clients;
            }
            if (opt.http2) h2_worker(w, workers, units, total);
            batch_size = (CONNECT_BATCH + workers - 1) / workers;
            rng ^= (uint64_t)(w + 1) * 0x2545f4914f6cdd1du;
            run_worker();
            send_results(fds[1]);
            _exit(0);
        }
        close(fds[1]);
        pipes[w] = fds[0];
    }

    /* Merge what the workers saw. */
    struct group_result groups[2] = {{0}, {0}};
    groups[0].expected = opt.clients;
    groups[1].expected = opt.slow;
    for (int g = 0; g < 2; g++) {
        groups[g].first = calloc((size_t)groups[g].expected + 1, sizeof(double));
        groups[g].hist.bins = calloc(HIST_BINS, sizeof(uint32_t));
        if (!groups[g].first || !groups[g].hist.bins) startup_error("out of memory");
    }
    char errors[3][ERROR_LEN];
    int error_count = 0;
    for (int w = 0; w < workers; w++) {
        if (!merge_worker(pipes[w], counts[w], groups, errors, &error_count) && error_count < 3)
            snprintf(errors[error_count++], ERROR_LEN, "a worker process did not report all its viewers");
        close(pipes[w]);
    }
    for (int w = 0; w < workers; w++) waitpid(pids[w], NULL, 0);
    double cpu = rusage_seconds(RUSAGE_CHILDREN) + rusage_seconds(RUSAGE_SELF);

    if (opt.header) {
        puts("| run | viewers | fps mean | fps min | repeated | MB/s | latency p50 | p99 | max | first frame p50 / max "
             "| errors | bench CPU |");
        puts("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    print_row(&groups[0], false, cpu);
    print_row(&groups[1], true, cpu);
    fflush(stdout);
    for (int e = 0; e < error_count; e++) fprintf(stderr, "mjpeg-load: %s\n", errors[e]);
    int failed = 0;
    for (int g = 0; g < 2; g++) failed += groups[g].errors + groups[g].expected - groups[g].received;
    return failed > 0;
}
