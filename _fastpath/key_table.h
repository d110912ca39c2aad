/* Series keys (dimension values as bytes) to dense indices, without Python objects.
 *
 * The scanner looks a series up once per rule per line; with 100,000
 * user_id values a Python dict keyed on bytes objects cost an allocation and
 * a SipHash per lookup. Here: open addressing with linear probing over
 * (hash, key offset and length, index) slots, at most half full; the key bytes live in one arena in
 * insertion order, so index i is the i-th distinct key and iteration order is
 * insertion order, as with a dict. The hash is seeded per table (callers pass
 * random bytes) so an attacker who controls field values cannot precompute
 * colliding keys. Nothing here touches Python: every function runs without the GIL.
 */
#ifndef FATHOM_KEY_TABLE_H
#define FATHOM_KEY_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A slot holds what a lookup needs before the key bytes: once the slot is in
 * cache, the key and the caller's per-series data can be prefetched together. */
typedef struct {
    uint64_t hash;
    size_t off;     /* the key in the arena */
    int32_t index;  /* -1: empty */
    uint32_t len;
} fp_slot;

typedef struct {
    fp_slot *slots;
    size_t mask;     /* number of slots - 1, a power of two minus one */
    size_t n;        /* keys held */
    size_t cap;      /* room in key_off / key_len */
    char *arena;     /* key bytes, back to back */
    size_t arena_len, arena_cap;
    size_t *key_off;
    size_t *key_len;
    uint64_t k0, k1;    /* the hash's secrets, drawn from the table's seed */
    uint64_t hash_mask; /* all ones in use; tests narrow it to force collisions */
} fp_table;

static inline uint64_t fp_mix(uint64_t h) {
    h ^= h >> 31;
    h *= 0x7fb5d329728ea185ULL;
    h ^= h >> 27;
    h *= 0x81dadef4bc2dd44dULL;
    h ^= h >> 33;
    return h;
}

/* The 128-bit product of a and b, folded to 64 bits. */
static inline uint64_t fp_mum(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__)
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else /* compilers without a 128-bit type (MSVC): the same product from 32-bit halves */
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll, hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

/* Seeded 64-bit hash of n bytes: one folded 128-bit multiply per 16 bytes. Both factors
 * are XORed with secrets drawn from the seed, so no input can force a factor to zero
 * without knowing them (a public constant in their place would let one key's first
 * word erase the rest). */
static inline uint64_t fp_hash(const char *p, size_t n, uint64_t k0, uint64_t k1) {
    uint64_t a, b, h = k0 ^ n;
    while (n > 16) {
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        h = fp_mum(a ^ k1, b ^ h);
        p += 16;
        n -= 16;
    }
    /* The last 1-16 bytes, every one of them read, with fixed-size overlapping loads. */
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        a = lo;
        b = hi;
    } else if (n) {
        a = (uint64_t)(unsigned char)p[0] | ((uint64_t)(unsigned char)p[n / 2] << 8)
            | ((uint64_t)(unsigned char)p[n - 1] << 16);
        b = 0;
    } else {
        a = b = 0;
    }
    return fp_mum(fp_mum(a ^ k1, b ^ h) ^ k0, n ^ k1);
}

/* Series keys and the field names matched against them are a few to a few dozen
 * bytes: copied and compared inline, a word at a time with overlapping loads at the
 * end, rather than through calls to libc's memcpy and memcmp. Neither reads outside
 * [p, p + n). */
static inline void fp_copy(char *dst, const char *src, size_t n) {
    uint64_t w;
    uint32_t u, v;
    if (n >= 8) {
        size_t i;
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&w, src + i, 8);
            memcpy(dst + i, &w, 8);
        }
        memcpy(&w, src + n - 8, 8);
        memcpy(dst + n - 8, &w, 8);
    } else if (n >= 4) {
        memcpy(&u, src, 4);
        memcpy(&v, src + n - 4, 4);
        memcpy(dst, &u, 4);
        memcpy(dst + n - 4, &v, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i];
    }
}

static inline int fp_equal(const char *a, const char *b, size_t n) {
    uint64_t x, y;
    uint32_t u, v;
    if (n >= 8) {
        size_t i;
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return 0;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        if (u != v)
            return 0;
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return u == v;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* 0 on success, -1 when out of memory. */
static inline int fp_table_init(fp_table *t, uint64_t seed, uint64_t hash_mask) {
    memset(t, 0, sizeof(*t));
    t->k0 = fp_mix(seed) | 1;
    t->k1 = fp_mix(seed ^ 0x9E3779B97F4A7C15ULL) | 1;
    t->hash_mask = hash_mask;
    t->mask = 63;
    t->slots = (fp_slot *)malloc((t->mask + 1) * sizeof(fp_slot));
    if (t->slots == NULL)
        return -1;
    memset(t->slots, 0xFF, (t->mask + 1) * sizeof(fp_slot));
    return 0;
}

static inline void fp_table_free(fp_table *t) {
    free(t->slots);
    free(t->arena);
    free(t->key_off);
    free(t->key_len);
    memset(t, 0, sizeof(*t));
}

static inline int fp_table_rehash(fp_table *t) {
    size_t nmask = t->mask * 2 + 1, i, j;
    fp_slot *ns = (fp_slot *)malloc((nmask + 1) * sizeof(fp_slot));
    if (ns == NULL)
        return -1;
    memset(ns, 0xFF, (nmask + 1) * sizeof(fp_slot));
    for (i = 0; i <= t->mask; i++) {
        if (t->slots[i].index < 0)
            continue;
        for (j = t->slots[i].hash & nmask; ns[j].index >= 0; j = (j + 1) & nmask) {
        }
        ns[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = ns;
    t->mask = nmask;
    return 0;
}

static inline int fp_table_store(fp_table *t, const char *key, size_t n) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        size_t *off = (size_t *)realloc(t->key_off, cap * sizeof(size_t));
        if (off == NULL)
            return -1;
        t->key_off = off;
        size_t *len = (size_t *)realloc(t->key_len, cap * sizeof(size_t));
        if (len == NULL)
            return -1;
        t->key_len = len;
        t->cap = cap;
    }
    if (t->arena_len + n > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap : 1024;
        while (cap < t->arena_len + n)
            cap *= 2;
        char *arena = (char *)realloc(t->arena, cap);
        if (arena == NULL)
            return -1;
        t->arena = arena;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_len, key, n);
    t->key_off[t->n] = t->arena_len;
    t->key_len[t->n] = n;
    t->arena_len += n;
    return 0;
}

/* The hash a lookup of the key uses; for prefetching. */
static inline uint64_t fp_table_hash(const fp_table *t, const char *key, size_t n) {
    return fp_hash(key, n, t->k0, t->k1) & t->hash_mask;
}

/* Bring the key's slot towards the cache, some lines before its lookup. */
static inline void fp_table_prefetch_slot(const fp_table *t, uint64_t h) {
    __builtin_prefetch(&t->slots[h & t->mask]);
}

/* Once the slot is cached: prefetch the key bytes of the first slot with hash h,
 * and return its index (a guess: the bytes are not compared), or -1. */
static inline int64_t fp_table_prefetch_key(const fp_table *t, uint64_t h) {
    size_t i = h & t->mask;
    for (; t->slots[i].index >= 0; i = (i + 1) & t->mask) {
        if (t->slots[i].hash == h) {
            __builtin_prefetch(t->arena + t->slots[i].off);
            return t->slots[i].index;
        }
    }
    return -1;
}

/* Index of the key, whose fp_table_hash is h, or -1 when the table does not hold it. */
static inline int64_t fp_table_find_hashed(const fp_table *t, const char *key, size_t n, uint64_t h) {
    size_t i = h & t->mask;
    for (; t->slots[i].index >= 0; i = (i + 1) & t->mask) {
        const fp_slot *s = &t->slots[i];
        if (s->hash == h && s->len == n && fp_equal(t->arena + s->off, key, n))
            return s->index;
    }
    return -1;
}

/* Index of the key, whose fp_table_hash is h, adding it as index n when new (then *added is 1);
 * -1 when out of memory. */
static inline int64_t fp_table_find_or_add_hashed(fp_table *t, const char *key, size_t n, uint64_t h, int *added) {
    size_t i = h & t->mask;
    *added = 0;
    for (;;) {
        fp_slot *s = &t->slots[i];
        if (s->index < 0)
            break;
        if (s->hash == h && s->len == n && fp_equal(t->arena + s->off, key, n))
            return s->index;
        i = (i + 1) & t->mask;
    }
    if (t->n >= INT32_MAX || fp_table_store(t, key, n) < 0)
        return -1;
    t->slots[i].hash = h;
    t->slots[i].off = t->key_off[t->n];
    t->slots[i].len = (uint32_t)n;
    t->slots[i].index = (int32_t)t->n;
    t->n++;
    *added = 1;
    if (t->n * 2 > t->mask + 1 && fp_table_rehash(t) < 0)
        return -1;
    return (int64_t)(t->n - 1);
}

/* As fp_table_find_or_add_hashed, hashing the key here. */
static inline int64_t fp_table_find_or_add(fp_table *t, const char *key, size_t n, int *added) {
    return fp_table_find_or_add_hashed(t, key, n, fp_table_hash(t, key, n), added);
}

#endif
