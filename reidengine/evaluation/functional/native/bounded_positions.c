/* Positions of a few probe columns in each row sorted by (distance, column), reading only the
 * elements that can precede them: the native kernel of reidengine's ranking metrics.
 *
 * For row r with bound b_r, a probe c with mask set and d[c] <= b_r gets
 *
 *     position(c) = #{k : d[k] < d[c]  or  (d[k] == d[c] and k < c)},
 *
 * the index a stable argsort of the row would give it; every other probe gets -1. Only elements
 * with d[k] <= b_r can count, so the row is read once to gather these candidates (not (d > b):
 * a NaN is gathered, and reported), and each probe counts the candidates before it in one
 * vectorised pass over them (O(candidates x probes)). Rows with more than MANY_PROBES wanted
 * probes (an identity with hundreds of gallery images) instead sort their probes and drop every
 * candidate into the interval between two of them by binary search (O(candidates x log probes)).
 * Exact: both compare the same fp32 values as the definition.
 *
 * Built by reidengine/evaluation/functional/native/__init__.py with the machine's own compiler
 * and -march=native: the AVX-512 / AVX2 / scalar gather is chosen by the instruction set that
 * flag enables (all three give the same candidates in the same order).
 */
#include <stdint.h>
#include <stdlib.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

/* Gathers the candidates of one row, in column order; returns their number. The buffers hold
 * cols + 16 entries (the AVX-512 path stores 16 lanes at a time). */
static int64_t gather_candidates(const float *d, int64_t cols, float b, float *cand_d,
                                 int32_t *cand_i)
{
    int64_t n = 0, k = 0;
#if defined(__AVX512F__)
    const __m512 vb = _mm512_set1_ps(b);
    const __m512i step = _mm512_set1_epi32(16);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; k + 16 <= cols; k += 16) {
        const __m512 v = _mm512_loadu_ps(d + k);
        const __mmask16 m = (__mmask16)~_mm512_cmp_ps_mask(v, vb, _CMP_GT_OQ);
        if (m) {
            _mm512_storeu_ps(cand_d + n, _mm512_maskz_compress_ps(m, v));
            _mm512_storeu_si512((void *)(cand_i + n), _mm512_maskz_compress_epi32(m, idx));
            n += __builtin_popcount((unsigned)m);
        }
        idx = _mm512_add_epi32(idx, step);
    }
#elif defined(__AVX2__)
    const __m256 vb = _mm256_set1_ps(b);
    for (; k + 8 <= cols; k += 8) {
        unsigned m = ~(unsigned)_mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_loadu_ps(d + k), vb, _CMP_GT_OQ)) & 0xFFu;
        while (m) {
            const int t = __builtin_ctz(m);
            cand_d[n] = d[k + t];
            cand_i[n] = (int32_t)(k + t);
            n++;
            m &= m - 1;
        }
    }
#endif
    for (; k < cols; k++) {
        const float v = d[k];
        cand_d[n] = v;
        cand_i[n] = (int32_t)k;
        n += !(v > b);
    }
    return n;
}

/* Above this many wanted probes in a row, the binary-search route (a tuning constant: the
 * counting pass costs about probes / 16 cycles per candidate, the search about 3 log2 probes). */
#define MANY_PROBES 256

/* (distance, column) as one integer with the same order: the fp32 bits made monotone (negatives
 * flipped, -0.0 first turned into +0.0, which compare equal) above the column. */
static uint64_t order_key(float v, int64_t col)
{
    union { float f; uint32_t u; } bits;
    bits.f = v + 0.0f;
    const uint32_t u = bits.u ^ ((uint32_t)((int32_t)bits.u >> 31) & 0x7FFFFFFFu);
    return ((uint64_t)(u ^ 0x80000000u) << 32) | (uint64_t)col;
}

/* Index of the first of the sorted keys[0 .. n) that is >= k (n if none). */
static int64_t lower_bound(const uint64_t *keys, int64_t n, uint64_t k)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (keys[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int compare_keys(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A probe is placed when its mask is set and its distance is within the bound. */
static int is_wanted(const float *d, float b, int64_t col, uint8_t mask)
{
    return mask && d[col] <= b;
}

/* The counting route for one row: each wanted probe counts the candidates before it. */
static void place_by_counting(const float *d, float b, const int64_t *probe_cols,
                              const uint8_t *mask, int64_t probes, int64_t *out,
                              const float *cand_d, const int32_t *cand_i, int64_t n)
{
    for (int64_t j = 0; j < probes; j++) {
        if (!is_wanted(d, b, probe_cols[j], mask[j])) {
            out[j] = -1;
            continue;
        }
        const float dp = d[probe_cols[j]];
        const int32_t cp = (int32_t)probe_cols[j];
        int32_t before = 0;
        for (int64_t i = 0; i < n; i++)
            before += (cand_d[i] < dp) | ((cand_d[i] == dp) & (cand_i[i] < cp));
        out[j] = before;
    }
}

/* The binary-search route for one row: with the wanted probes' keys sorted, a candidate x falls
 * after bin(x) = #{probes with key < key(x)} of them; #{x : bin(x) <= t} counts the candidates up
 * to probe t, itself included (it is a candidate), so its position is that count minus one.
 * keys, hist: wanted + 1 entries. */
static void place_by_search(const float *d, float b, const int64_t *probe_cols,
                            const uint8_t *mask, int64_t probes, int64_t *out,
                            const float *cand_d, const int32_t *cand_i, int64_t n,
                            int64_t wanted, uint64_t *keys, int64_t *hist)
{
    int64_t w = 0;
    for (int64_t j = 0; j < probes; j++)
        if (is_wanted(d, b, probe_cols[j], mask[j]))
            keys[w++] = order_key(d[probe_cols[j]], probe_cols[j]);
    qsort(keys, (size_t)wanted, sizeof(uint64_t), compare_keys);
    for (int64_t t = 0; t <= wanted; t++)
        hist[t] = 0;
    for (int64_t i = 0; i < n; i++)
        hist[lower_bound(keys, wanted, order_key(cand_d[i], cand_i[i]))]++;
    for (int64_t t = 1; t < wanted; t++)
        hist[t] += hist[t - 1];
    for (int64_t j = 0; j < probes; j++)
        out[j] = is_wanted(d, b, probe_cols[j], mask[j])
                     ? hist[lower_bound(keys, wanted, order_key(d[probe_cols[j]], probe_cols[j]))] - 1
                     : -1;
}

/* dist: rows x cols fp32, row r at dist + r * ld; bound: rows; probe_cols / mask / out:
 * rows x probes (int64 / bool bytes / int64); cand_d, cand_i: cols + 16 entries each; keys,
 * hist: probes + 1 entries each. Returns -1, or the first row whose candidates hold a NaN (out is
 * then incomplete). */
int64_t bounded_positions(const float *dist, int64_t rows, int64_t cols, int64_t ld,
                          const float *bound, const int64_t *probe_cols, const uint8_t *mask,
                          int64_t probes, int64_t *out, float *cand_d, int32_t *cand_i,
                          uint64_t *keys, int64_t *hist)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *d = dist + r * ld;
        const float b = bound[r];
        const int64_t n = gather_candidates(d, cols, b, cand_d, cand_i);
        int nan = 0;
        for (int64_t i = 0; i < n; i++)
            nan |= cand_d[i] != cand_d[i];
        if (nan)
            return r;
        const int64_t *row_cols = probe_cols + r * probes;
        const uint8_t *row_mask = mask + r * probes;
        int64_t wanted = 0;
        for (int64_t j = 0; j < probes; j++)
            wanted += is_wanted(d, b, row_cols[j], row_mask[j]);
        if (wanted > MANY_PROBES)
            place_by_search(d, b, row_cols, row_mask, probes, out + r * probes, cand_d, cand_i, n,
                            wanted, keys, hist);
        else
            place_by_counting(d, b, row_cols, row_mask, probes, out + r * probes, cand_d, cand_i,
                              n);
    }
    return -1;
}
