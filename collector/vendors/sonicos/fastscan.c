/* collector.vendors.sonicos._fastscan: the fields of every SonicOS syslog line of a chunk,
 * in one C pass.
 *
 * It computes exactly what the SQL reference, collector/vendors/sonicos/parse._FIELDS,
 * computes from a line (sn, m, n, is_utc, ts, received_at, and whether the text must be
 * kept), so DuckDB only aggregates. Where the SQL runs on text in which invalid UTF-8 bytes
 * became the four characters \xNN, this file counts characters the same way (see
 * char_offset). The GIL is released for the scan; columns are returned as bytes that Python
 * wraps as Arrow arrays. Every read is bounds-checked against the line: nothing reads past
 * the buffer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *data; size_t len, cap; int failed; } Buf;

static void buf_put(Buf *b, const void *src, size_t n) {
    if (b->failed || n == 0) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) { b->failed = 1; return; }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
/* [0-9A-Za-z] (c | 32 lower-cases an ASCII letter) */
static int is_alnum(uint8_t c) { return is_digit(c) || ((c | 32) >= 'a' && (c | 32) <= 'z'); }
/* DuckDB's StringUtil::CharacterIsSpace: space, \t, \n, \v, \f, \r */
static int is_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Does s[at..] start with the n bytes of lit? */
static int has(const uint8_t *s, size_t len, size_t at, const char *lit, size_t n) {
    return at <= len && len - at >= n && memcmp(s + at, lit, n) == 0;
}

/* Does s[at..] match the template, where 'd' stands for any digit? */
static int shape(const uint8_t *s, size_t len, size_t at, const char *tpl) {
    size_t n = strlen(tpl);
    if (at > len || len - at < n) return 0;
    for (size_t k = 0; k < n; k++)
        if (tpl[k] == 'd' ? !is_digit(s[at + k]) : s[at + k] != (uint8_t)tpl[k]) return 0;
    return 1;
}

/* The n digits at s (checked by shape). */
static int num(const uint8_t *s, int n) {
    int v = 0;
    while (n--) v = v * 10 + (*s++ - '0');
    return v;
}

/* Length of the valid UTF-8 sequence at s[i] (1-4), 0 if s[i] is an invalid byte
 * (Unicode table 3-7: no overlongs, no surrogates, nothing above U+10FFFF), as Python's
 * decoder decides it. */
static int utf8_len(const uint8_t *s, size_t len, size_t i) {
    uint8_t c = s[i], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; lo = c == 0xE0 ? 0xA0 : lo; hi = c == 0xED ? 0x9F : hi; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; lo = c == 0xF0 ? 0x90 : lo; hi = c == 0xF4 ? 0x8F : hi; }
    else return 0;
    if (len - i < n || s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if ((s[i + k] & 0xC0) != 0x80) return 0;
    return (int)n;
}

/* The text as Python's decode("utf-8", "backslashreplace") writes it: each invalid byte as
 * \xNN. Escaping byte by byte equals Python's, whose error ranges hold only bytes that
 * cannot start a valid sequence. */
static void put_text(Buf *b, const uint8_t *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t i = 0, run = 0;
    while (i < len) {
        int k = utf8_len(s, len, i);
        if (k) { i += k; continue; }
        char esc[4] = {'\\', 'x', hex[s[i] >> 4], hex[s[i] & 15]};
        buf_put(b, s + run, i - run);
        buf_put(b, esc, 4);
        run = ++i;
    }
    buf_put(b, s + run, len - run);
}

/* Byte offset of character number `chars` after s[t] in the text the SQL sees (an invalid
 * byte counts as its four escape characters); -1 if it falls inside an escape. */
static long long char_offset(const uint8_t *s, size_t len, size_t t, int chars) {
    size_t i = t;
    int count = 0;
    while (count < chars && i < len) {
        int k = utf8_len(s, len, i);
        i += k ? (size_t)k : 1;
        count += k ? 1 : 4;
    }
    return count == chars ? (long long)i : -1;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int valid_date(int y, int m, int d) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] + (m == 2 && leap);
}

static int64_t micros(int y, int mo, int d, int h, int mi, int sec) {
    return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000000LL + sec * 1000000LL;
}

/* DuckDB's try_strptime(x, '%Y-%m-%d %H:%M:%S') (StrpTimeFormat::Parse): leading and
 * trailing whitespace, a 1-4 digit year, 1-2 digit fields, any whitespace run for the space,
 * and the words epoch, infinity and -infinity (any case). */
static int parse_local(const uint8_t *s, size_t len, int64_t *out) {
    static const char *words[] = {"infinity", "-infinity", "epoch"};
    static const int64_t values[] = {INT64_MAX, -INT64_MAX, 0};
    static const int width[] = {4, 2, 2, 2, 2, 2};
    static const char sep[] = {0, '-', '-', ' ', ':', ':'};
    size_t p = 0;
    int f[6];
    while (p < len && is_space(s[p])) p++;
    for (int w = 0; w < 3; w++) {
        size_t n = strlen(words[w]), q = p + n, k = 0;
        while (k < n && p + k < len && lower(s[p + k]) == words[w][k]) k++;
        if (k < n) continue;
        while (q < len && is_space(s[q])) q++;
        if (q != len) return 0;
        *out = values[w];
        return 1;
    }
    for (int k = 0; k < 6; k++) {
        if (sep[k] == ' ') {
            if (p >= len || !is_space(s[p])) return 0;
            while (p < len && is_space(s[p])) p++;
        } else if (sep[k]) {
            if (p >= len || s[p] != sep[k]) return 0;
            p++;
        }
        size_t start = p;
        f[k] = 0;
        while (p < len && p - start < (size_t)width[k] && is_digit(s[p]))
            f[k] = f[k] * 10 + (s[p++] - '0');
        if (p == start) return 0;
    }
    while (p < len && is_space(s[p])) p++;
    if (p != len || !valid_date(f[0], f[1], f[2]) || f[3] > 23 || f[4] > 59 || f[5] > 59)
        return 0;
    *out = micros(f[0], f[1], f[2], f[3], f[4], f[5]);
    return 1;
}

/* The strict RFC 3339 form YYYY-MM-DDTHH:MM:SS[.1-6 digits](Z|+HH:MM|-HH:MM), where DuckDB's
 * TRY_CAST(x AS TIMESTAMPTZ) is known to agree. Anything else returns 0: DuckDB decides. */
static int parse_rfc3339(const uint8_t *s, size_t len, int64_t *out) {
    int frac = 0, scale = 1000000, offset = 0;
    size_t p = 19;
    if (!shape(s, len, 0, "dddd-dd-ddTdd:dd:dd")) return 0;
    if (p < len && s[p] == '.') {
        for (p++; p < len && is_digit(s[p]) && scale > 1; p++) {
            scale /= 10;
            frac += (s[p] - '0') * scale;
        }
        if (p == 20 || (p < len && is_digit(s[p]))) return 0;
    }
    if (p + 6 == len && (shape(s, len, p, "+dd:dd") || shape(s, len, p, "-dd:dd"))) {
        int oh = num(s + p + 1, 2), om = num(s + p + 4, 2);
        if (oh > 23 || om > 59) return 0;
        offset = (s[p] == '-' ? -1 : 1) * (oh * 60 + om);
    } else if (!(p + 1 == len && s[p] == 'Z')) {
        return 0;
    }
    int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
    int h = num(s + 11, 2), mi = num(s + 14, 2), sec = num(s + 17, 2);
    if (!valid_date(y, mo, d) || h > 23 || mi > 59 || sec > 59) return 0;
    *out = micros(y, mo, d, h, mi, sec) + frac - offset * 60000000LL;
    return 1;
}

typedef struct {
    const uint8_t *sn;
    size_t sn_len;
    int has_m, has_n, is_utc, has_ts, has_rcv, defer_rcv;
    int32_t m;
    int64_t n, ts, rcv;
} Fields;

/* Leading digits at s[at..], at most max of them (the SQL's regexp '^\d{1,max}'). */
static int leading_number(const uint8_t *s, size_t len, size_t at, int max, int64_t *v) {
    int k = 0;
    for (*v = 0; k < max && at + k < len && is_digit(s[at + k]); k++)
        *v = *v * 10 + (s[at + k] - '0');
    return k > 0;
}

static void take_sn(const uint8_t *s, size_t len, size_t at, Fields *f) {
    size_t e = at;
    while (e < len && is_alnum(s[e])) e++;
    f->sn = s + at;
    f->sn_len = e - at;
}

/* time="...": 19 characters from t, then `"` or ` UTC"` (see _FIELDS). */
static void time_fields(const uint8_t *s, size_t len, size_t t, Fields *f) {
    long long at = char_offset(s, len, t, 19);
    if (at < 0) return;
    int quote = (size_t)at < len && s[at] == '"';
    f->is_utc = has(s, len, (size_t)at, " UTC\"", 5);
    if (quote || f->is_utc) f->has_ts = parse_local(s + t, (size_t)at - t, &f->ts);
}

/* RFC 5424 header: <PRI>1 then \d{4}-\d\d-\d\dT[^ ]+ and a space. Tokens outside the strict
 * form are flagged, and the SQL stage casts them from the kept line text. */
static void header_time(const uint8_t *s, size_t len, Fields *f) {
    size_t p = 1, t, e;
    if (len == 0 || s[0] != '<') return;
    while (p < len && p < 4 && is_digit(s[p])) p++;
    if (p == 1 || !has(s, len, p, ">1 ", 3) || !shape(s, len, p + 3, "dddd-dd-ddT")) return;
    t = p + 3;
    for (e = t + 11; e < len && s[e] != ' '; e++) {}
    if (e == t + 11 || e >= len) return;
    f->has_rcv = parse_rfc3339(s + t, e - t, &f->rcv);
    f->defer_rcv = !f->has_rcv;
}

/* Length of a leading <PRI> (`<` 1-3 digits `>`), else 0. */
static size_t pri_length(const uint8_t *s, size_t len) {
    size_t p = 1;
    if (len == 0 || s[0] != '<') return 0;
    while (p < len && p < 4 && is_digit(s[p])) p++;
    return p > 1 && p < len && s[p] == '>' ? p + 1 : 0;
}

/* All fields of one line (with its newline, as the SQL path sees it). Every key starts with
 * a space, so visiting each space once finds each key's leftmost occurrence; sn= may also
 * open the line, bare or right after <PRI> (Python's SysLogHandler: `<134>sn=...`). */
static void scan_line(const uint8_t *s, size_t len, Fields *f) {
    int got_sn = 0, got_m = 0, got_n = 0, got_t = 0;
    const uint8_t *p = s, *end = s + len;
    size_t first = pri_length(s, len);
    memset(f, 0, sizeof *f);
    f->sn = s;
    if (has(s, len, 0, "sn=", 3)) { take_sn(s, len, 3, f); got_sn = 1; }
    else if (first && has(s, len, first, "sn=", 3)) { take_sn(s, len, first + 3, f); got_sn = 1; }
    while (!(got_sn && got_m && got_n && got_t) && p < end
           && (p = memchr(p, ' ', (size_t)(end - p))) != NULL) {
        size_t at = (size_t)(++p - s);
        if (at >= len) break;
        if (!got_sn && has(s, len, at, "sn=", 3) && at + 3 < len && is_alnum(s[at + 3])) {
            take_sn(s, len, at + 3, f);
            got_sn = 1;
        } else if (!got_m && has(s, len, at, "m=", 2)) {
            int64_t v;
            f->has_m = leading_number(s, len, at + 2, 9, &v);
            f->m = (int32_t)v;
            got_m = 1;
        } else if (!got_n && has(s, len, at, "n=", 2)) {
            f->has_n = leading_number(s, len, at + 2, 18, &f->n);
            got_n = 1;
        } else if (!got_t && has(s, len, at, "time=\"", 6)) {
            time_fields(s, len, at + 6, f);
            got_t = 1;
        }
    }
    header_time(s, len, f);
}

enum { POS, M, N, TS, RCV, SN_OFF, LINE_OFF, M_OK, N_OK, UTC, TS_OK, RCV_OK, LINE_OK, FIXED };

typedef struct {
    char *col[FIXED];
    Buf sn, line;
    const int64_t *ids;
    size_t n_ids;
    Py_ssize_t rows, lines;
} Scan;

static void set_bit(char *bits, Py_ssize_t i) {
    ((unsigned char *)bits)[i >> 3] |= (unsigned char)(1u << (i & 7));
}

static void emit(Scan *c, const uint8_t *s, size_t len, long long line_no) {
    Fields f;
    Py_ssize_t i = c->rows++;
    scan_line(s, len, &f);
    ((int64_t *)c->col[POS])[i] = line_no;
    buf_put(&c->sn, f.sn, f.sn_len);
    ((int32_t *)c->col[SN_OFF])[i + 1] = (int32_t)c->sn.len;
    ((int32_t *)c->col[M])[i] = f.m;
    ((int64_t *)c->col[N])[i] = f.n;
    ((int64_t *)c->col[TS])[i] = f.ts;
    ((int64_t *)c->col[RCV])[i] = f.rcv;
    if (f.has_m) set_bit(c->col[M_OK], i);
    if (f.has_n) set_bit(c->col[N_OK], i);
    if (f.is_utc) set_bit(c->col[UTC], i);
    if (f.has_ts) set_bit(c->col[TS_OK], i);
    if (f.has_rcv) set_bit(c->col[RCV_OK], i);
    int counted = 0;
    for (size_t k = 0; f.has_m && k < c->n_ids && !counted; k++) counted = c->ids[k] == f.m;
    /* the text is kept where the SQL keeps it, and where DuckDB must cast the header time */
    if (!counted || f.sn_len == 0 || !f.has_ts || f.defer_rcv) {
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r')) len--;
        put_text(&c->line, s, len);
        set_bit(c->col[LINE_OK], i);
    }
    ((int32_t *)c->col[LINE_OFF])[i + 1] = (int32_t)c->line.len;
}

/* Every line of the buffer; blank ones (empty, or only "\r") are counted, not emitted. */
static void scan_all(Scan *c, const uint8_t *s, size_t len, long long first_line) {
    size_t at = 0;
    while (at < len) {
        const uint8_t *nl = memchr(s + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - s) + 1 : len, body = end - at - (nl != NULL);
        if (!(body == 0 || (body == 1 && s[at] == '\r')))
            emit(c, s + at, end - at, first_line + c->lines);
        c->lines++;
        at = end;
    }
}

static Py_ssize_t count_lines(const uint8_t *s, size_t len) {
    Py_ssize_t n = 0;
    for (size_t at = 0; at < len; n++) {
        const uint8_t *nl = memchr(s + at, '\n', len - at);
        at = nl ? (size_t)(nl - s) + 1 : len;
    }
    return n;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    static const size_t width[FIXED] = {8, 4, 8, 8, 8, 4, 4, 0, 0, 0, 0, 0, 0};
    Py_buffer view;
    long long first_line;
    PyObject *ids, *out = NULL, *objs[FIXED] = {NULL};
    int64_t *id_values = NULL;
    Scan c;
    memset(&c, 0, sizeof c);
    if (!PyArg_ParseTuple(args, "y*LO!", &view, &first_line, &PyTuple_Type, &ids)) return NULL;
    /* string offsets are int32: the escaped text (at most 4 bytes a byte) must fit */
    if (view.len > (INT32_MAX - 16) / 4) {
        PyErr_SetString(PyExc_ValueError, "chunk too large for one scan");
        goto done;
    }
    Py_ssize_t n_ids = PyTuple_GET_SIZE(ids);
    id_values = PyMem_Malloc(sizeof(int64_t) * (size_t)(n_ids + 1));
    if (!id_values) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t k = 0; k < n_ids; k++) {
        id_values[k] = PyLong_AsLongLong(PyTuple_GET_ITEM(ids, k));
        if (id_values[k] == -1 && PyErr_Occurred()) goto done;
    }
    c.ids = id_values;
    c.n_ids = (size_t)n_ids;
    const uint8_t *data = view.buf;
    size_t len = (size_t)view.len;
    Py_ssize_t upper;
    Py_BEGIN_ALLOW_THREADS
    upper = count_lines(data, len);
    Py_END_ALLOW_THREADS
    for (int k = 0; k < FIXED; k++) {
        size_t size = width[k] ? width[k] * (size_t)(upper + 1) : (size_t)upper / 8 + 1;
        if (!(objs[k] = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size))) goto done;
        c.col[k] = PyBytes_AS_STRING(objs[k]);
        memset(c.col[k], 0, size);  /* zero offsets[0], validity bits, null slots */
    }
    Py_BEGIN_ALLOW_THREADS
    scan_all(&c, data, len, first_line);
    Py_END_ALLOW_THREADS
    if (c.sn.failed || c.line.failed) { PyErr_NoMemory(); goto done; }
    out = Py_BuildValue("nn(OOOOOOOOOOOOO)y#y#", c.rows, c.lines,
                        objs[POS], objs[M], objs[N], objs[TS], objs[RCV], objs[SN_OFF],
                        objs[LINE_OFF], objs[M_OK], objs[N_OK], objs[UTC], objs[TS_OK],
                        objs[RCV_OK], objs[LINE_OK], c.sn.data ? c.sn.data : "",
                        (Py_ssize_t)c.sn.len, c.line.data ? c.line.data : "",
                        (Py_ssize_t)c.line.len);
done:
    for (int k = 0; k < FIXED; k++) Py_XDECREF(objs[k]);
    free(c.sn.data);
    free(c.line.data);
    PyMem_Free(id_values);
    PyBuffer_Release(&view);
    return out;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(buffer, first_line, counted_ids) -> (rows, lines, fixed-width column buffers,"
     " sn data, line data); see collector/vendors/sonicos/fastscan.py"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastscan", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastscan(void) { return PyModule_Create(&module); }
