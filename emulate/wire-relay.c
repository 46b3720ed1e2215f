/*
 * The userspace wire's relay in C: the same wire as relayMain in wire-relay.ts (read that module's comment for
 * what a wire is), at a fraction of the CPU. Compiled at run time by relay-build.ts; C11, Linux, libc only.
 *
 *   wire-relay <port> <vxlanPort> <seed> <wire>...
 *   wire-relay --schedule <seed> <wire>...
 *   <wire> = <vni>:<delayNs>:<lossRate>:<rateBps or -1>:<queueBytes>
 *
 * Relay mode: one UDP socket bound to <port> on every address receives the VXLAN datagrams of every wire into
 * this namespace; the wire is the datagram's VNI (bytes 4..6 of the VXLAN header). Per datagram, as in
 * wireDeparture: a loss draw u (mulberry32 seeded with <seed>, one draw per datagram of a known wire, so a seed
 * gives the JavaScript relay's loss pattern), then, with a rate, serialization at rateBps behind the earlier
 * datagrams (dropped when more than queueBytes wait), then the constant delay. The inner TCP/UDP checksum is
 * completed (fixInnerChecksum) and the datagram leaves for 127.0.0.1:<vxlanPort> at its due time; departures
 * are non-decreasing per wire, so each wire is a FIFO.
 *
 * Differences from the JavaScript relay, all on the side of accuracy: a datagram's arrival time is the kernel's
 * receive timestamp (SO_TIMESTAMPNS), so time it waits in the socket buffer while the relay is not scheduled
 * counts towards the wire's delay instead of adding to it; the relay waits in ppoll() with a nanosecond timeout
 * until the earliest head datagram is due (timer slack 1 ns), so departures are late only by the wake-up latency
 * (tens of microseconds on an idle machine); memory is bounded: a wire holds at most RING_MAX bytes in flight
 * (beyond that a datagram is lost), and the datagrams are received (recvmmsg) and sent (sendmmsg) in batches.
 *
 * Protocol with the parent (substrate.ts, startRelay): once bound, `{"event":"relay-ready","pid":N}` on stdout;
 * on SIGTERM or SIGINT, `{"event":"relay-stop","in":..,"out":..,"lost":..,"unknown":..}` and exit 0. A bad
 * command line is reported on stderr, exit 2; a failing system call on stderr, exit 1.
 *
 * Control datagrams: a datagram from 127.0.0.1 that starts with "TCWIRE " (a VXLAN header starts with 0x08, never
 * 'T') followed by a <wire> reconfigures that VNI's wire from then on: delay, loss, rate and queue (a degraded link,
 * emulation-data-plane.ts); the wire's FIFO and transmitter state stay, and departures stay non-decreasing (a
 * datagram never overtakes one queued before a delay cut). A malformed control datagram or an unknown VNI is counted
 * as unknown and otherwise ignored.
 *
 * Schedule mode (for tests, no sockets): reads lines `<vni> <arrivalNs> <bytes>` on stdin and prints for each
 * the departure time in ns, -1 when the datagram is lost, or -2 when no wire has its VNI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Datagrams per recvmmsg/sendmmsg call. */
#define BATCH 64
/* Receive buffer per datagram: a UDP payload is at most 65,507 bytes. */
#define DGRAM_MAX 65536
/* Receive socket buffer asked for (SO_RCVBUFFORCE as root, else SO_RCVBUF, capped by net.core.rmem_max). */
#define RCVBUF_BYTES (16 << 20)
/*
 * A wire's FIFO starts at RING_MIN bytes and doubles up to RING_MAX (e.g. 100 ms of delay at 5 Gbit/s); a full
 * ring of RING_MAX loses datagrams (less one datagram's size of fragmentation at the wrap).
 */
#define RING_MIN ((size_t)256 << 10)
#define RING_MAX ((size_t)64 << 20)
/* Largest configurable delay, ns (about 11.6 days). */
#define DELAY_MAX 1e15

/* A FIFO entry: header, then the datagram padded to 8 bytes. len == WRAP marks "continue at offset 0". */
struct entry {
  int64_t due;
  uint32_t len;
  uint32_t pad;
};
#define WRAP UINT32_MAX

struct wire {
  uint32_t vni;
  int64_t delay_ns;
  double loss;
  /* Serialization rate, bits/s; 0 when the rate is enforced by tc. */
  double rate_bps;
  double queue_bytes;
  /* When the transmitter is next free, ns (only with a rate). */
  double busy_ns;
  /* Due time of the last datagram queued: departures never go backwards within a wire. */
  int64_t last_due;
  /* Byte ring of entries: live from head to tail (through a wrap at the end when tail <= head and count > 0). */
  uint8_t *buf;
  size_t cap, head, tail, count;
  /* Bytes of the live entries. */
  size_t used;
};

struct counts {
  unsigned long long in, out, lost, unknown;
};

static const char *prog = "wire-relay";
static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static _Noreturn void die(const char *what) {
  fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
  exit(1);
}

static _Noreturn void usage(const char *why) {
  fprintf(stderr,
          "%s: %s\n"
          "usage: %s <port> <vxlanPort> <seed> <vni>:<delayNs>:<lossRate>:<rateBps or -1>:<queueBytes>...\n"
          "       %s --schedule <seed> <wire>...   (stdin: <vni> <arrivalNs> <bytes> per line)\n",
          prog, why, prog, prog);
  exit(2);
}

/* --- configuration ------------------------------------------------------------------------------------------ */

/* Parses a whole finite number in [lo, hi] ending at `end` (a ':' or the string's end). */
static bool parse_number(const char *s, char **end, double lo, double hi, double *out) {
  errno = 0;
  double v = strtod(s, end);
  if (*end == s || errno != 0 || v != v || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static bool field(const char **s, double lo, double hi, bool integer, bool last, double *out) {
  char *end;
  if (!parse_number(*s, &end, lo, hi, out) || (integer && *out != (double)(long long)*out)) return false;
  if (last ? *end != '\0' : *end != ':') return false;
  *s = end + (last ? 0 : 1);
  return true;
}

static unsigned long parse_uint(const char *s, const char *name, unsigned long lo, unsigned long hi) {
  double v;
  char *end;
  if (!parse_number(s, &end, (double)lo, (double)hi, &v) || *end != '\0' || v != (double)(long long)v) {
    char why[160];
    snprintf(why, sizeof why, "%s: expected an integer in [%lu, %lu], got \"%s\"", name, lo, hi, s);
    usage(why);
  }
  return (unsigned long)v;
}

/* The numbers of a `<vni>:<delayNs>:<lossRate>:<rateBps or -1>:<queueBytes>`; false when malformed. */
struct wire_spec {
  double vni, delay, loss, rate, queue;
};

static bool parse_spec(const char *arg, struct wire_spec *w) {
  const char *s = arg;
  return field(&s, 0, 16777215, true, false, &w->vni) && field(&s, 0, DELAY_MAX, true, false, &w->delay) &&
         field(&s, 0, 1, false, false, &w->loss) && field(&s, -1, 1e15, false, false, &w->rate) &&
         (w->rate == -1 || w->rate > 0) && field(&s, 0, 1e15, false, true, &w->queue);
}

/* A wire's delay, loss, rate and queue from a parsed spec (its FIFO and transmitter state are left alone). */
static void set_quality(struct wire *w, const struct wire_spec *q) {
  w->delay_ns = (int64_t)q->delay;
  w->loss = q->loss;
  w->rate_bps = q->rate > 0 ? q->rate : 0;
  w->queue_bytes = q->queue;
}

/* `<vni>:<delayNs>:<lossRate>:<rateBps or -1>:<queueBytes>`. */
static void parse_wire(const char *arg, int index, struct wire *w) {
  struct wire_spec q;
  if (!parse_spec(arg, &q)) {
    char why[256];
    snprintf(why, sizeof why,
             "argv[%d]: expected <vni>:<delayNs>:<lossRate>:<rateBps or -1>:<queueBytes> "
             "(vni < 2^24, integer delay >= 0, loss in [0, 1], rate > 0 or -1), got \"%.100s\"",
             index, arg);
    usage(why);
  }
  memset(w, 0, sizeof *w);
  w->vni = (uint32_t)q.vni;
  set_quality(w, &q);
}

static struct wire *parse_wires(int argc, char **argv, int first, int *n) {
  *n = argc - first;
  struct wire *wires = calloc((size_t)(*n > 0 ? *n : 1), sizeof *wires);
  if (!wires) die("calloc");
  for (int i = 0; i < *n; i++) {
    parse_wire(argv[first + i], first + i, &wires[i]);
    for (int j = 0; j < i; j++)
      if (wires[j].vni == wires[i].vni) {
        char why[96];
        snprintf(why, sizeof why, "argv[%d]: VNI %u configured twice", first + i, wires[i].vni);
        usage(why);
      }
  }
  return wires;
}

static struct wire *find_wire(struct wire *wires, int n, uint32_t vni) {
  for (int i = 0; i < n; i++)
    if (wires[i].vni == vni) return &wires[i];
  return NULL;
}

/* --- the wire's model (wireDeparture, mulberry32, fixInnerChecksum in wire-relay.ts) ------------------------ */

/* mulberry32: the JavaScript relay's generator, bit for bit. */
static uint32_t mulberry32(uint32_t *s) {
  *s += 0x6d2b79f5u;
  uint32_t t = *s;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

/* A uniform draw in [0, 1). */
static double uniform(uint32_t *s) { return mulberry32(s) / 4294967296.0; }

/*
 * When a datagram of `bytes` arriving at `now` (ns) leaves the wire (ns), or -1 when it is lost (u < loss) or
 * finds more than queue_bytes waiting for the transmitter. Advances the transmitter's busy time.
 */
static int64_t departure(struct wire *w, int64_t now, size_t bytes, double u) {
  if (u < w->loss) return -1;
  double sent = (double)now;
  if (w->rate_bps > 0) {
    double start = sent > w->busy_ns ? sent : w->busy_ns;
    if ((start - sent) * w->rate_bps / 8e9 > w->queue_bytes) return -1;
    sent = start + (double)bytes * 8e9 / w->rate_bps;
    w->busy_ns = sent;
  }
  return (int64_t)(sent + 0.5) + w->delay_ns; /* sent >= 0: rounds to the nearest ns */
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/*
 * Completes the TCP or UDP checksum of the IPv4 packet inside a VXLAN datagram, in place (RFC 1071
 * ones'-complement sum over the pseudo header and the segment); returns whether it did. Fragments, non-IPv4
 * frames and UDP without a checksum are left alone. Why it is needed: see fixInnerChecksum.
 */
static bool fix_inner_checksum(uint8_t *b, size_t n) {
  const size_t ip = 8 + 14; /* VXLAN header, inner Ethernet header */
  if (n < ip + 20 || get16(b + ip - 2) != 0x0800) return false;
  size_t ihl = (size_t)(b[ip] & 15) * 4;
  size_t total = get16(b + ip + 2);
  if ((get16(b + ip + 6) & 0x3fff) != 0 || ip + total > n || ihl < 20 || total < ihl) return false;
  uint8_t proto = b[ip + 9];
  size_t l4 = ip + ihl, len = total - ihl;
  size_t at = proto == 6 ? l4 + 16 : proto == 17 ? l4 + 6 : 0;
  if (at == 0 || at + 2 > ip + total || (proto == 17 && get16(b + at) == 0)) return false;
  put16(b + at, 0);
  uint64_t sum = proto + len;
  for (size_t i = ip + 12; i < ip + 20; i += 2) sum += get16(b + i);
  size_t end = l4 + len, i = l4;
  for (; i + 1 < end; i += 2) sum += get16(b + i);
  if (i < end) sum += (uint64_t)b[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = (uint16_t)~sum;
  if (proto == 17 && c == 0) c = 0xffff;
  put16(b + at, c);
  return true;
}

/* --- a wire's FIFO: a byte ring of entries -------------------------------------------------------------------- */

static size_t entry_size(size_t len) { return sizeof(struct entry) + ((len + 7) & ~(size_t)7); }

/* The entry at `pos`, skipping a wrap marker or a tail too short for a header. */
static size_t ring_norm(const struct wire *w, size_t pos) {
  if (w->cap - pos < sizeof(struct entry) || ((const struct entry *)(w->buf + pos))->len == WRAP) return 0;
  return pos;
}

/* Where an entry of `need` bytes goes without growing, or false when it does not fit. */
static bool ring_place(const struct wire *w, size_t need, size_t *at) {
  if (w->count == 0) {
    *at = 0;
    return need <= w->cap;
  }
  if (w->tail > w->head) { /* live [head, tail): free at the end, then before head */
    if (w->cap - w->tail >= need) *at = w->tail;
    else if (need <= w->head) *at = 0;
    else return false;
    return true;
  }
  *at = w->tail; /* wrapped: live [head, cap) and [0, tail), free [tail, head) */
  return need <= w->head - w->tail;
}

/*
 * Makes room for an entry of `need` bytes: moves the entries to the front of a ring twice as large (or more),
 * up to RING_MAX; false when the ring is that large already (the wire then loses the datagram).
 */
static bool ring_reserve(struct wire *w, size_t need) {
  size_t at;
  if (w->buf && ring_place(w, need, &at)) return true;
  if (w->cap >= RING_MAX) return false;
  size_t cap = w->cap ? 2 * w->cap : RING_MIN;
  while (cap < w->used + need && cap < RING_MAX) cap *= 2;
  if (cap < w->used + need) return false;
  uint8_t *buf = malloc(cap);
  if (!buf) return false;
  size_t out = 0;
  for (size_t k = 0, pos = w->head; k < w->count; k++) {
    pos = ring_norm(w, pos);
    size_t size = entry_size(((struct entry *)(w->buf + pos))->len);
    memcpy(buf + out, w->buf + pos, size);
    out += size;
    pos += size;
  }
  free(w->buf);
  w->buf = buf;
  w->cap = cap;
  w->head = 0;
  w->tail = out;
  return true;
}

/* Appends a datagram due at `due`; ring_reserve must have made room. */
static void ring_push(struct wire *w, int64_t due, const uint8_t *data, size_t len) {
  size_t need = entry_size(len), at = 0;
  ring_place(w, need, &at);
  if (w->count == 0) w->head = 0;
  else if (at == 0 && w->tail > w->head && w->cap - w->tail >= sizeof(struct entry))
    ((struct entry *)(w->buf + w->tail))->len = WRAP;
  struct entry *e = (struct entry *)(w->buf + at);
  e->due = due;
  e->len = (uint32_t)len;
  memcpy(e + 1, data, len);
  w->tail = at + need;
  w->used += need;
  w->count++;
}

static struct entry *ring_front(struct wire *w) {
  w->head = ring_norm(w, w->head);
  return (struct entry *)(w->buf + w->head);
}

static void ring_pop(struct wire *w) {
  size_t size = entry_size(ring_front(w)->len);
  w->head += size;
  w->used -= size;
  if (--w->count == 0) w->head = w->tail = 0;
}

/* --- relay mode --------------------------------------------------------------------------------------------- */

static int64_t clock_ns(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

struct relay {
  int fd;
  struct sockaddr_in dst;
  struct wire *wires;
  int nwires;
  uint32_t rng;
  struct counts n;
  /* Receive batch: buffers, kernel timestamps. */
  struct mmsghdr rx[BATCH];
  struct iovec rxv[BATCH];
  uint8_t (*rxbuf)[DGRAM_MAX];
  struct sockaddr_in rxaddr[BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(struct timespec))];
    struct cmsghdr align;
  } rxctl[BATCH];
};

/* Sends every datagram due by `now`, in batches; a datagram the kernel refuses counts as lost. */
static void flush(struct relay *r, int64_t now) {
  struct mmsghdr tx[BATCH];
  struct iovec txv[BATCH];
  struct wire *owner[BATCH];
  for (;;) {
    int n = 0;
    for (int i = 0; i < r->nwires && n < BATCH; i++) {
      struct wire *w = &r->wires[i];
      size_t pos = w->head;
      for (size_t k = 0; k < w->count && n < BATCH; k++) {
        pos = ring_norm(w, pos);
        struct entry *e = (struct entry *)(w->buf + pos);
        if (e->due > now) break;
        txv[n] = (struct iovec){.iov_base = e + 1, .iov_len = e->len};
        tx[n].msg_hdr = (struct msghdr){
            .msg_name = &r->dst, .msg_namelen = sizeof r->dst, .msg_iov = &txv[n], .msg_iovlen = 1};
        owner[n++] = w;
        pos += entry_size(e->len);
      }
    }
    if (n == 0) return;
    for (int i = 0; i < n;) {
      int sent = sendmmsg(r->fd, tx + i, (unsigned)(n - i), 0);
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0) {
        r->n.lost++;
        i++;
      } else {
        r->n.out += (unsigned long long)sent;
        i += sent;
      }
    }
    for (int i = 0; i < n; i++) ring_pop(owner[i]);
    if (n < BATCH) return;
  }
}

/* The earliest due time of a head datagram, or INT64_MAX. */
static int64_t next_due(struct relay *r) {
  int64_t next = INT64_MAX;
  for (int i = 0; i < r->nwires; i++)
    if (r->wires[i].count > 0 && ring_front(&r->wires[i])->due < next) next = ring_front(&r->wires[i])->due;
  return next;
}

/* The kernel's receive time of datagram `i` on the monotonic clock, or `now` without a timestamp. */
static int64_t arrival(struct relay *r, int i, int64_t now, int64_t real_now) {
  struct msghdr *h = &r->rx[i].msg_hdr;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    struct timespec ts;
    memcpy(&ts, CMSG_DATA(c), sizeof ts);
    int64_t t = now - (real_now - ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec));
    /* a step of the real-time clock must not move arrivals into the future or far into the past */
    return t > now ? now : t < now - 1000000000 ? now - 1000000000 : t;
  }
  return now;
}

/* A control datagram (see the header): reconfigures a wire; false when it is not one from 127.0.0.1 or malformed. */
static bool control(struct relay *r, int i, const uint8_t *b, size_t len) {
  if (r->rxaddr[i].sin_addr.s_addr != htonl(INADDR_LOOPBACK) || len - 7 >= 128) return false;
  char text[128];
  memcpy(text, b + 7, len - 7);
  text[len - 7] = '\0';
  struct wire_spec q;
  struct wire *w = parse_spec(text, &q) ? find_wire(r->wires, r->nwires, (uint32_t)q.vni) : NULL;
  if (!w) return false;
  set_quality(w, &q);
  return true;
}

/* Receives one batch (without waiting); returns how many datagrams it held. */
static int receive(struct relay *r) {
  for (int i = 0; i < BATCH; i++) {
    r->rxv[i] = (struct iovec){.iov_base = r->rxbuf[i], .iov_len = DGRAM_MAX};
    r->rx[i].msg_hdr = (struct msghdr){.msg_name = &r->rxaddr[i],
                                       .msg_namelen = sizeof r->rxaddr[i],
                                       .msg_iov = &r->rxv[i],
                                       .msg_iovlen = 1,
                                       .msg_control = r->rxctl[i].buf,
                                       .msg_controllen = sizeof r->rxctl[i].buf};
  }
  int got = recvmmsg(r->fd, r->rx, BATCH, MSG_DONTWAIT, NULL);
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    die("recvmmsg");
  }
  int64_t now = clock_ns(CLOCK_MONOTONIC), real_now = clock_ns(CLOCK_REALTIME);
  for (int i = 0; i < got; i++) {
    uint8_t *b = r->rxbuf[i];
    size_t len = r->rx[i].msg_len;
    r->n.in++;
    if (len > 7 && memcmp(b, "TCWIRE ", 7) == 0) {
      if (!control(r, i, b, len)) r->n.unknown++;
      continue;
    }
    struct wire *w = len >= 8 ? find_wire(r->wires, r->nwires, (uint32_t)(b[4] << 16 | b[5] << 8 | b[6])) : NULL;
    if (!w) {
      r->n.unknown++;
      continue;
    }
    double u = uniform(&r->rng);
    int64_t due = ring_reserve(w, entry_size(len)) ? departure(w, arrival(r, i, now, real_now), len, u) : -1;
    if (due < 0) {
      r->n.lost++;
      continue;
    }
    if (due < w->last_due) due = w->last_due;
    w->last_due = due;
    fix_inner_checksum(b, len);
    ring_push(w, due, b, len);
  }
  return got;
}

static int open_socket(unsigned port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int size = RCVBUF_BYTES, on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
    die("setsockopt SO_RCVBUF");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) die("setsockopt SO_TIMESTAMPNS");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = INADDR_ANY};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "%s: bind 0.0.0.0:%u: %s\n", prog, port, strerror(errno));
    exit(1);
  }
  return fd;
}

static int relay_main(int argc, char **argv) {
  if (argc < 4) usage("expected <port> <vxlanPort> <seed> <wire>...");
  unsigned port = (unsigned)parse_uint(argv[1], "argv[1] (port)", 1, 65535);
  unsigned vxlan_port = (unsigned)parse_uint(argv[2], "argv[2] (vxlanPort)", 1, 65535);
  struct relay *r = calloc(1, sizeof *r);
  if (!r) die("calloc");
  r->rng = (uint32_t)parse_uint(argv[3], "argv[3] (seed)", 0, UINT32_MAX);
  if (r->rng == 0) r->rng = 1;
  r->wires = parse_wires(argc, argv, 4, &r->nwires);
  r->rxbuf = malloc(sizeof(*r->rxbuf) * BATCH);
  if (!r->rxbuf) die("malloc");
  r->dst = (struct sockaddr_in){
      .sin_family = AF_INET, .sin_port = htons((uint16_t)vxlan_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

  /* SIGTERM and SIGINT are blocked except inside ppoll, so a stop request is never missed between two waits. */
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN); /* the parent closes our stdout once we are ready */
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGINT);
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

  r->fd = open_socket(port);
  printf("{\"event\":\"relay-ready\",\"pid\":%d}\n", (int)getpid());
  fflush(stdout);

  bool more = false; /* the last batch was full: more datagrams are likely waiting */
  while (!stopping) {
    flush(r, clock_ns(CLOCK_MONOTONIC));
    struct timespec timeout = {0, 0}, *tp = &timeout;
    int64_t next = next_due(r);
    if (!more && next == INT64_MAX) tp = NULL;
    else if (!more) {
      int64_t wait = next - clock_ns(CLOCK_MONOTONIC);
      if (wait > 0) timeout = (struct timespec){.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
    }
    struct pollfd p = {.fd = r->fd, .events = POLLIN};
    int ready = ppoll(&p, 1, tp, &wait_mask);
    if (ready < 0 && errno != EINTR) die("ppoll");
    more = ready > 0 && (p.revents & POLLIN) && receive(r) == BATCH;
  }
  printf("{\"event\":\"relay-stop\",\"in\":%llu,\"out\":%llu,\"lost\":%llu,\"unknown\":%llu}\n", r->n.in,
         r->n.out, r->n.lost, r->n.unknown);
  fflush(stdout);
  return 0;
}

/* --- schedule mode ------------------------------------------------------------------------------------------ */

static int schedule_main(int argc, char **argv) {
  if (argc < 3) usage("expected --schedule <seed> <wire>...");
  uint32_t rng = (uint32_t)parse_uint(argv[2], "argv[2] (seed)", 0, UINT32_MAX);
  if (rng == 0) rng = 1;
  int nwires;
  struct wire *wires = parse_wires(argc, argv, 3, &nwires);
  unsigned long vni;
  long long at;
  unsigned long bytes;
  for (long line = 1;; line++) {
    int got = scanf("%lu %lld %lu", &vni, &at, &bytes);
    if (got == EOF) break;
    if (got != 3) {
      fprintf(stderr, "%s: stdin line %ld: expected <vni> <arrivalNs> <bytes>\n", prog, line);
      return 2;
    }
    struct wire *w = find_wire(wires, nwires, (uint32_t)vni);
    printf("%lld\n", w ? (long long)departure(w, at, bytes, uniform(&rng)) : -2LL);
  }
  return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--schedule") == 0) return schedule_main(argc, argv);
  return relay_main(argc, argv);
}
