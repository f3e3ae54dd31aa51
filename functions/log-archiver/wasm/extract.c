// The byte scanner behind log-archiver's fast extractor (fast-extract.ts), compiled to
// WebAssembly (`npm run build:wasm`, see build-wasm.ts). It reads one JSON value from `input`,
// checking its grammar as JSON.parse would, descends only into the objects the spec names, and
// reports where the strings it was asked for are: their byte ranges, whether they hold escapes
// or non-ASCII bytes, and for short plain ones an id in a table of texts already seen, so that
// JavaScript decodes each distinct id or pod name once. It returns 0 whenever it is not certain
// that its reading is JSON.parse's (an escaped key, a number id, a repeated key it reads, a
// control character in a string, invalid grammar, nesting deeper than it tracks): the caller
// then parses. No libc: freestanding, with wasm SIMD for the long runs inside strings.
#include <stdint.h>
#include <wasm_simd128.h>

typedef uint8_t u8;
typedef int32_t i32;
typedef uint32_t u32;

// ---- The spec, written by JavaScript once (fast-extract.ts, `flatten`) ----
// Levels of int32s: [key count, then per key: key byte offset, key length, action, argument].
// The argument is the level index of an OBJECT's inner keys, else the slot the string goes to.
enum { STRING = 0, ID = 1, OBJECT = 2, MESSAGE = 3, TIME = 4 };
#define SPEC_INTS 1024
#define SPEC_KEY_BYTES 4096
static i32 spec[SPEC_INTS];
static u8 spec_keys[SPEC_KEY_BYTES];

// ---- What one call found ----
// out[0]: filled slot count; out[1]: intern generation; out[2]: 1 when no string held a byte
// above 0x7f; then per filled slot 5 ints: slot, start, end, flags, text id (-1 when none).
#define MAX_SLOTS 32
#define OUT_HEADER 3
#define OUT_PER_SLOT 5
static i32 out[OUT_HEADER + MAX_SLOTS * OUT_PER_SLOT];
// F_DECODED: an escaped ASCII message, decoded here; start and end are then addresses in memory.
enum { F_STRING = 1, F_ESCAPED = 2, F_NONASCII = 4, F_OTHER = 8, F_DECODED = 16 };

// ---- Texts already seen: short plain (ASCII, unescaped) strings by their bytes ----
#define INTERN_MAX_BYTES 256
#define INTERN_MAX 4096
#define INTERN_TABLE 8192 // open addressing, at most half full
static u32 intern_slot[INTERN_TABLE]; // entry + 1, 0 for free
static u32 intern_offset[INTERN_MAX];
static u32 intern_length[INTERN_MAX];
static u32 intern_hash[INTERN_MAX];
static u8 intern_bytes[INTERN_MAX * INTERN_MAX_BYTES];
static u32 intern_count;
static u32 intern_used;
static i32 intern_generation;

// ---- The input, and after it room as large for a decoded message: grows to fit the value ----
extern u8 __heap_base;
static u8 *input_at;
static u32 input_capacity;

__attribute__((export_name("spec_ints"))) i32 *spec_ints(void) { return spec; }
__attribute__((export_name("spec_bytes"))) u8 *spec_bytes(void) { return spec_keys; }
__attribute__((export_name("results"))) i32 *results(void) { return out; }

/** Room for `length` bytes of input (and as many decoded): its address, or 0 when memory cannot grow that far. */
__attribute__((export_name("input"))) u8 *input(u32 length) {
  if (!input_at) input_at = (u8 *)((((uintptr_t)&__heap_base) + 15) & ~(uintptr_t)15);
  if (length + 16 > input_capacity) {
    uintptr_t need = (uintptr_t)input_at + 2 * ((uintptr_t)length + 16);
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536;
    if (need > have && __builtin_wasm_memory_grow(0, (need - have + 65535) / 65536) == (uintptr_t)-1) return 0;
    input_capacity = (__builtin_wasm_memory_size(0) * 65536 - (uintptr_t)input_at) / 2 - 16;
  }
  return input_at;
}

// A byte inside a string: 0 plain ASCII, 1 ends a plain run (control characters, `"`, `\`),
// 2 a byte of a multi-byte UTF-8 sequence.
static u8 string_stop(u8 c) { return c < 0x20 || c == '"' || c == '\\' ? 1 : c >= 0x80 ? 2 : 0; }

typedef struct {
  const u8 *b;
  u32 p;
  u32 n;
  u32 filled;
  i32 all_ascii;
  // The last string scanned: content range and what it holds.
  u32 start;
  u32 end;
  i32 escaped;
  i32 ascii;
} Scanner;

static void ws(Scanner *s) {
  while (s->p < s->n) {
    u8 c = s->b[s->p];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
    s->p++;
  }
}

static i32 peek(Scanner *s) { return s->p < s->n ? s->b[s->p] : -1; }

static int is_hex(u8 c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_digit(u8 c) { return c >= '0' && c <= '9'; }

/** Skips plain bytes (neither a stop nor non-ASCII) from `p`, 16 at a time while 16 remain. */
static u32 plain_run(const u8 *b, u32 p, u32 n) {
  const v128_t quote = wasm_i8x16_splat('"');
  const v128_t backslash = wasm_i8x16_splat('\\');
  const v128_t space = wasm_i8x16_splat(0x20);
  while (p + 16 <= n) {
    v128_t v = wasm_v128_load(b + p);
    // Control characters (below 0x20), and bytes from 0x80 (negative as signed), are stops too.
    v128_t stop = wasm_v128_or(wasm_v128_or(wasm_i8x16_eq(v, quote), wasm_i8x16_eq(v, backslash)), wasm_v128_or(wasm_u8x16_lt(v, space), wasm_i8x16_lt(v, wasm_i8x16_splat(0))));
    u32 mask = wasm_i8x16_bitmask(stop);
    if (mask) return p + __builtin_ctz(mask);
    p += 16;
  }
  while (p < n && string_stop(b[p]) == 0) p++;
  return p;
}

/** The string at the cursor: its content range and kind in the scanner; 0 if it is not a valid JSON string. */
static int string_range(Scanner *s) {
  const u8 *b = s->b;
  u32 n = s->n;
  u32 start = s->p + 1;
  u32 p = start;
  int escaped = 0, ascii = 1;
  for (;;) {
    p = plain_run(b, p, n);
    if (p >= n) return 0;
    u8 c = b[p];
    if (c >= 0x80) {
      ascii = 0;
      p++;
      continue;
    }
    if (c == '"') break;
    if (c != '\\') return 0; // a control character
    escaped = 1;
    if (p + 1 >= n) return 0;
    u8 e = b[p + 1];
    if (e == 'u') {
      for (u32 i = 2; i < 6; i++)
        if (p + i >= n || !is_hex(b[p + i])) return 0;
      p += 6;
      continue;
    }
    if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') return 0;
    p += 2;
  }
  s->p = p + 1;
  s->start = start;
  s->end = p;
  s->escaped = escaped;
  s->ascii = ascii;
  if (!ascii) s->all_ascii = 0;
  return 1;
}

static int number(Scanner *s) {
  const u8 *b = s->b;
  u32 n = s->n, p = s->p;
  if (b[p] == '-') p++;
  if (p < n && b[p] == '0') {
    p++;
  } else if (p < n && b[p] > '0' && b[p] <= '9') {
    while (p < n && is_digit(b[p])) p++;
  } else {
    return 0;
  }
  if (p < n && b[p] == '.') {
    p++;
    if (!(p < n && is_digit(b[p]))) return 0;
    while (p < n && is_digit(b[p])) p++;
  }
  if (p < n && (b[p] == 'e' || b[p] == 'E')) {
    p++;
    if (p < n && (b[p] == '+' || b[p] == '-')) p++;
    if (!(p < n && is_digit(b[p]))) return 0;
    while (p < n && is_digit(b[p])) p++;
  }
  s->p = p;
  return 1;
}

static int literal(Scanner *s, const char *word, u32 length) {
  if (s->p + length > s->n) return 0;
  for (u32 i = 0; i < length; i++)
    if (s->b[s->p + i] != (u8)word[i]) return 0;
  s->p += length;
  return 1;
}

/** A number, true, false or null starting with `c`. */
static int scalar(Scanner *s, i32 c) {
  if (c == '-' || (c >= '0' && c <= '9')) return number(s);
  if (c == 't') return literal(s, "true", 4);
  if (c == 'f') return literal(s, "false", 5);
  if (c == 'n') return literal(s, "null", 4);
  return 0;
}

/** `"name" :` of an object member being skipped. */
static int member_name(Scanner *s) {
  if (peek(s) != '"' || !string_range(s)) return 0;
  ws(s);
  if (peek(s) != ':') return 0;
  s->p++;
  return 1;
}

/** Containers nested deeper than this inside a skipped value are left to JSON.parse. */
#define MAX_SKIP_DEPTH 31

/** Skips one JSON value at the cursor, checking its grammar. */
static int skip(Scanner *s) {
  i32 c0 = peek(s);
  if (c0 == '"') return string_range(s);
  if (c0 != '{' && c0 != '[') return scalar(s, c0);
  u32 stack = 0; // open containers as bits, innermost lowest: 1 an object, 0 an array
  u32 depth = 0;
  for (;;) {
    ws(s);
    i32 c = peek(s);
    if (c == '{' || c == '[') {
      s->p++;
      ws(s);
      i32 close = c == '{' ? '}' : ']';
      if (peek(s) == close) {
        s->p++;
      } else {
        if (depth == MAX_SKIP_DEPTH) return 0;
        depth++;
        stack = (stack << 1) | (c == '{' ? 1 : 0);
        if (c == '{' && !member_name(s)) return 0;
        continue;
      }
    } else if (c == '"') {
      if (!string_range(s)) return 0;
    } else if (!scalar(s, c)) {
      return 0;
    }
    for (;;) {
      if (depth == 0) return 1;
      ws(s);
      i32 d = peek(s);
      int in_object = stack & 1;
      if (d == ',') {
        s->p++;
        if (in_object) {
          ws(s);
          if (!member_name(s)) return 0;
        }
        break;
      }
      if ((d == '}' && in_object) || (d == ']' && !in_object)) {
        s->p++;
        stack >>= 1;
        depth--;
        continue;
      }
      return 0;
    }
  }
}

/** The index of the key at the cursor among the level's keys, -1 for another key, -2 when unsure (an escape, a non-ASCII byte). */
static i32 key(Scanner *s, const i32 *level) {
  const u8 *b = s->b;
  u32 start = s->p + 1;
  u32 p = plain_run(b, start, s->n);
  if (p >= s->n || b[p] != '"') return -2;
  s->p = p + 1;
  u32 length = p - start;
  i32 count = level[0];
  for (i32 i = 0; i < count; i++) {
    const i32 *k = level + 1 + i * 4;
    if ((u32)k[1] != length) continue;
    const u8 *name = spec_keys + k[0];
    u32 j = 0;
    while (j < length && name[j] == b[start + j]) j++;
    if (j == length) return i;
  }
  return -1;
}

static uint64_t load64(const u8 *p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

/** The last `length` (< 8) bytes at `p` as a little-endian number. */
static uint64_t load_tail(const u8 *p, u32 length) {
  uint64_t v = 0;
  for (u32 i = 0; i < length; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/** A hash of short strings, 8 bytes a step (a byte-at-a-time hash is bound by multiply latency). */
static u32 hash_bytes(const u8 *b, u32 length) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ length;
  u32 i = 0;
  for (; i + 8 <= length; i += 8) {
    h = (h ^ load64(b + i)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  if (i < length) {
    // The last 8 bytes again when there are 8, else the few left.
    h = (h ^ (length >= 8 ? load64(b + length - 8) : load_tail(b + i, length - i))) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
  }
  return (u32)(h ^ (h >> 32));
}

static int same_bytes(const u8 *a, const u8 *b, u32 length) {
  u32 i = 0;
  for (; i + 8 <= length; i += 8)
    if (load64(a + i) != load64(b + i)) return 0;
  for (; i < length; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/** Forgets every text (JavaScript drops its decoded texts when the generation changes). */
static void intern_reset(void) {
  __builtin_memset(intern_slot, 0, sizeof intern_slot);
  intern_count = 0;
  intern_used = 0;
  intern_generation++;
}

/** The id of the text with these bytes, adding it if new. There is always room: see extract. */
static i32 intern(const u8 *b, u32 length) {
  u32 h = hash_bytes(b, length);
  u32 i = h & (INTERN_TABLE - 1);
  for (;; i = (i + 1) & (INTERN_TABLE - 1)) {
    u32 e = intern_slot[i];
    if (e == 0) break;
    e--;
    if (intern_hash[e] != h || intern_length[e] != length) continue;
    if (same_bytes(intern_bytes + intern_offset[e], b, length)) return (i32)e;
  }
  u32 e = intern_count++;
  intern_hash[e] = h;
  intern_length[e] = length;
  intern_offset[e] = intern_used;
  __builtin_memcpy(intern_bytes + intern_used, b, length);
  intern_used += length;
  intern_slot[i] = e + 1;
  return (i32)e;
}

/** Reports the string just scanned as the value of `slot`; `text` when JavaScript wants it as a text (ids, names), which may get an id. */
static void report(Scanner *s, i32 slot, i32 flags, int text) {
  i32 *o = out + OUT_HEADER + s->filled * OUT_PER_SLOT;
  s->filled++;
  o[0] = slot;
  o[1] = (i32)s->start;
  o[2] = (i32)s->end;
  o[3] = flags | (s->escaped ? F_ESCAPED : 0) | (s->ascii ? 0 : F_NONASCII);
  u32 length = s->end - s->start;
  o[4] = text && !s->escaped && s->ascii && length <= INTERN_MAX_BYTES ? intern(s->b + s->start, length) : -1;
}

static u32 hex4(const u8 *p) {
  u32 v = 0;
  for (u32 i = 0; i < 4; i++) {
    u8 c = p[i];
    v = v * 16 + (c <= '9' ? (u32)(c - '0') : (u32)((c | 0x20) - 'a' + 10));
  }
  return v;
}

static u32 put_utf8(u8 *o, u32 cp) {
  if (cp < 0x80) {
    o[0] = (u8)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (u8)(0xc0 | (cp >> 6));
    o[1] = (u8)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (u8)(0xe0 | (cp >> 12));
    o[1] = (u8)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (u8)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (u8)(0xf0 | (cp >> 18));
  o[1] = (u8)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (u8)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (u8)(0x80 | (cp & 0x3f));
  return 4;
}

/**
 * The UTF-8 bytes of the (valid, escaped, all-ASCII) string content b[start, end) into `o`, as
 * `Buffer.from(JSON.parse(literal), 'utf8')` has them: a surrogate pair is one character, a lone
 * surrogate becomes U+FFFD. Never longer than the content. Returns the length.
 */
static u32 unescape(const u8 *b, u32 start, u32 end, u8 *o) {
  u32 p = start, q = 0;
  while (p < end) {
    // Inside valid ASCII content, the only stop is a backslash.
    u32 run = plain_run(b, p, end);
    __builtin_memcpy(o + q, b + p, run - p);
    q += run - p;
    p = run;
    if (p >= end) break;
    u8 e = b[p + 1];
    if (e != 'u') {
      o[q++] = e == 'b' ? 0x08 : e == 'f' ? 0x0c : e == 'n' ? 0x0a : e == 'r' ? 0x0d : e == 't' ? 0x09 : e;
      p += 2;
      continue;
    }
    u32 u = hex4(b + p + 2);
    p += 6;
    if (u >= 0xd800 && u <= 0xdbff && p + 6 <= end && b[p] == '\\' && b[p + 1] == 'u') {
      u32 low = hex4(b + p + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        q += put_utf8(o + q, 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00));
        p += 6;
        continue;
      }
    }
    q += put_utf8(o + q, u >= 0xd800 && u <= 0xdfff ? 0xfffd : u);
  }
  return q;
}

static int object(Scanner *s, const i32 *level);

/** The value of the `which`th key of `level`, done as its action says. */
static int value(Scanner *s, const i32 *level, i32 which) {
  const i32 *k = level + 1 + which * 4;
  i32 action = k[2];
  i32 c = peek(s);
  if (action == OBJECT) return c == '{' ? object(s, spec + k[3]) : skip(s);
  if (c != '"') {
    if (action == MESSAGE) {
      // Not a string: the caller needs to know it is there.
      s->start = s->end = s->p;
      s->escaped = 0;
      s->ascii = 1;
      report(s, k[3], F_OTHER, 0);
      return skip(s);
    }
    // A number id is turned into text by JSON.parse + String(); leave that spelling to them.
    if (action == ID && (c == '-' || (c >= '0' && c <= '9'))) return 0;
    return skip(s);
  }
  if (!string_range(s)) return 0;
  if (s->filled == MAX_SLOTS) return 0;
  if (action == MESSAGE && s->escaped && s->ascii) {
    // Multi-line events (stack traces) arrive escaped: decoded here rather than by JSON.parse.
    u8 *o = input_at + s->n + 16;
    u32 length = unescape(s->b, s->start, s->end, o);
    s->start = (u32)(uintptr_t)o;
    s->end = s->start + length;
    report(s, k[3], F_STRING | F_DECODED, 0);
    return 1;
  }
  // The message and the time differ on every record: not worth remembering.
  report(s, k[3], F_STRING, action == STRING || action == ID);
  return 1;
}

/** An object at the cursor, reading the keys of `level` and skipping the others. */
static int object(Scanner *s, const i32 *level) {
  s->p++; // {
  ws(s);
  if (peek(s) == '}') {
    s->p++;
    return 1;
  }
  u32 seen = 0;
  for (;;) {
    if (peek(s) != '"') return 0;
    i32 which = key(s, level);
    if (which == -2) return 0;
    ws(s);
    if (peek(s) != ':') return 0;
    s->p++;
    ws(s);
    if (which >= 0) {
      // JSON.parse keeps the last of repeated keys; rather than mirror that, let it decide.
      if (seen & (1u << which)) return 0;
      seen |= 1u << which;
      if (!value(s, level, which)) return 0;
    } else if (!skip(s)) {
      return 0;
    }
    ws(s);
    i32 c = peek(s);
    s->p++;
    if (c == '}') return 1;
    if (c != ',') return 0;
    ws(s);
  }
}

/** Reads the `length` bytes at `input(length)`: 1 when `out` holds the reading, 0 when JSON.parse must decide. */
__attribute__((export_name("extract"))) i32 extract(u32 length) {
  // Room for every string of one value, so the table never starts over in the middle of one.
  if (intern_count + MAX_SLOTS > INTERN_MAX || intern_used + MAX_SLOTS * INTERN_MAX_BYTES > sizeof intern_bytes) intern_reset();
  Scanner s = {input_at, 0, length, 0, 1, 0, 0, 0, 1};
  out[0] = 0;
  ws(&s);
  if (peek(&s) != '{') return 0;
  if (!object(&s, spec)) return 0;
  ws(&s);
  if (s.p != s.n) return 0;
  out[0] = (i32)s.filled;
  out[1] = intern_generation;
  out[2] = s.all_ascii;
  return 1;
}
