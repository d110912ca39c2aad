/* Eight bytes at a time ("SIMD within a register"): the byte searches of the JSON scanner.
 *
 * Access-log lines are mostly ASCII text inside strings, so finding the next
 * byte a scanner must look at one 64-bit word at a time, instead of one byte,
 * is most of the speed of validation. Plain C, little-endian only (elsewhere
 * the byte loops below do the same work); no instruction-set extensions, so
 * the extension builds the same on every x86-64 and ARM64 machine.
 */
#ifndef FATHOM_SWAR_H
#define FATHOM_SWAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define FP_SWAR 1
#else
#define FP_SWAR 0
#endif

#define FP_ONES 0x0101010101010101ULL
#define FP_HIGHS 0x8080808080808080ULL

/* High bit set in each byte of w equal to zero; bytes above a true hit may also be
 * flagged (borrows), so only the lowest flag is meaningful. */
static inline uint64_t fp_zero_bytes(uint64_t w) { return (w - FP_ONES) & ~w & FP_HIGHS; }

/* First index in s[p:end) holding '"', '\\', a control character (< 0x20) or a
 * non-ASCII byte (>= 0x80): the bytes a JSON string scan must stop at; end if none. */
static inline ptrdiff_t fp_string_stop(const char *s, ptrdiff_t p, ptrdiff_t end) {
#if FP_SWAR
    while (p + 8 <= end) {
        uint64_t w, m;
        memcpy(&w, s + p, 8);
        m = fp_zero_bytes(w ^ (FP_ONES * '"')) | fp_zero_bytes(w ^ (FP_ONES * '\\'))
            | ((w - FP_ONES * 0x20) & ~w & FP_HIGHS) | (w & FP_HIGHS);
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end) {
        unsigned char c = (unsigned char)s[p];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
            return p;
        p++;
    }
    return end;
}

/* First index in s[p:end) of a non-ASCII byte; end if none. */
static inline ptrdiff_t fp_ascii_end(const unsigned char *s, ptrdiff_t p, ptrdiff_t end) {
#if FP_SWAR
    while (p + 8 <= end) {
        uint64_t w;
        memcpy(&w, s + p, 8);
        w &= FP_HIGHS;
        if (w)
            return p + (__builtin_ctzll(w) >> 3);
        p += 8;
    }
#endif
    while (p < end && s[p] < 0x80)
        p++;
    return p;
}

#endif
