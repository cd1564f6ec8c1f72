//! The int8 matrix product the packed model runs on, and the int4 embedding-row lookup.
//!
//! Written by hand on purpose: candle's f32 gemm is compute-bound in the browser (one thread,
//! simd128, two instructions per four multiply-adds), while `i32x4.dot_i16x8_s` does eight
//! multiply-adds in one. Weights stay int8 codes (widened to i16 once, at load; bytes in the
//! relaxed-SIMD build, see `kernels_relaxed`) with one scale per output row, activations are
//! quantised per row to at most 14 bits, and the products are exact integers, so the result is
//! the same on every target and close to the f32 product of the dequantised weights (the
//! activation step is 1/8191 of the row's largest value).

use super::config::Activation;

/// A stored int8 weight: widened to i16 for `i32x4.dot_i16x8_s` / `pmaddwd`, or as a byte for
/// relaxed SIMD's byte product in that wasm build.
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
type Code = i16;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
type Code = i8;

/// A weight matrix `[rows (out), cols (in)]` as int8 codes with one f32 scale per row, plus the
/// layer's bias.
pub(crate) struct QLinear {
    rows: usize,
    cols: usize,
    codes: Vec<Code>,
    /// Each row's sum of codes, for the relaxed-SIMD kernel's bias correction.
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    code_sums: Vec<i32>,
    scales: Vec<f32>,
    bias: Vec<f32>,
    /// Applied to each output as it is written, saving a pass over the feed-forward's widest
    /// tensor.
    activation: Option<Activation>,
    /// The weights in AMX's tile layout, made at the first product where the processor has
    /// AMX (None elsewhere, or when the width does not suit it).
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    amx: std::sync::OnceLock<Option<super::kernels_amx::Weights>>,
}

impl QLinear {
    pub(crate) fn new(
        rows: usize,
        cols: usize,
        codes: &[i8],
        scales: Vec<f32>,
        bias: Vec<f32>,
    ) -> Self {
        assert_eq!(codes.len(), rows * cols);
        assert_eq!(scales.len(), rows);
        assert_eq!(bias.len(), rows);
        QLinear {
            rows,
            cols,
            codes: codes.iter().map(|&c| c as Code).collect(),
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            code_sums: codes
                .chunks_exact(cols)
                .map(|r| r.iter().map(|&c| c as i32).sum())
                .collect(),
            scales,
            bias,
            activation: None,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            amx: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = Some(activation);
        self
    }

    /// Stacks matrices with the same input width into one (query, key and value become one
    /// product). Per-row scales make this a plain concatenation.
    pub(crate) fn stack(parts: &[QLinear]) -> QLinear {
        let cols = parts[0].cols;
        assert!(parts.iter().all(|p| p.cols == cols));
        QLinear {
            rows: parts.iter().map(|p| p.rows).sum(),
            cols,
            codes: parts.iter().flat_map(|p| p.codes.iter().copied()).collect(),
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            code_sums: parts
                .iter()
                .flat_map(|p| p.code_sums.iter().copied())
                .collect(),
            scales: parts
                .iter()
                .flat_map(|p| p.scales.iter().copied())
                .collect(),
            bias: parts.iter().flat_map(|p| p.bias.iter().copied()).collect(),
            activation: None,
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            amx: std::sync::OnceLock::new(),
        }
    }

    /// The AMX layout of the weights, made once, where the processor has AMX.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn amx(&self) -> Option<&super::kernels_amx::Weights> {
        if !super::kernels_amx::available() {
            return None;
        }
        self.amx
            .get_or_init(|| {
                let codes: Vec<i8> = self.codes.iter().map(|&c| c as i8).collect();
                super::kernels_amx::Weights::new(&codes, self.rows, self.cols)
            })
            .as_ref()
    }

    /// `y = x · Wᵀ + b` for `x` of `n` rows of `cols` values; returns `n` rows of `rows` values.
    pub(crate) fn forward_slice(&self, x: &[f32]) -> Vec<f32> {
        let (k, m) = (self.cols, self.rows);
        let n = x.len() / k;
        // The largest code keeps the exact i32 sum in range (k products of at most 127 * limit)
        // and within 14 bits, which relaxed SIMD's byte product takes as two 7-bit halves
        // (kernels_relaxed): every build then computes the same integers.
        let limit = ((i32::MAX as f64) / (k as f64 * 127.0)).min(8191.0).floor() as f32;
        let mut xq = vec![0i16; n * k];
        let mut xs = vec![0f32; n];
        for ((row, q), s) in x
            .chunks_exact(k)
            .zip(xq.chunks_exact_mut(k))
            .zip(xs.iter_mut())
        {
            let max = abs_max(row);
            if max > 0.0 {
                *s = max / limit;
                let inv = limit / max;
                #[cfg(target_arch = "x86_64")]
                let done = super::kernels_x86::quantize(row, inv, q);
                #[cfg(target_arch = "wasm32")]
                let done = quantize_simd128(row, inv, q);
                #[cfg(not(any(target_arch = "x86_64", target_arch = "wasm32")))]
                let done = 0;
                for (q, v) in q[done..].iter_mut().zip(&row[done..]) {
                    *q = round_half_away(v * inv) as i16;
                }
            }
        }
        let mut out = vec![0f32; n * m];
        over_rows(&xq, &xs, &mut out, n, k, |xq, xs, out| {
            self.rows_into(xq, xs, out)
        });
        apply_activation(self.activation, &mut out);
        out
    }

    /// The product for quantised activation rows `xq` (scales `xs`) into `out`, a tile of
    /// [`TILE`] rows at a time: the tile's activations stay in the first-level cache while every
    /// weight row passes over them, and the outputs written four columns at a time stay in the
    /// second-level one. Over a whole batch at once (hundreds of rows natively), each weight
    /// block streamed every activation row from further away and wrote four columns into
    /// megabytes of outputs, which cost more than the products.
    fn rows_into(&self, xq: &[i16], xs: &[f32], out: &mut [f32]) {
        let (k, m) = (self.cols, self.rows);
        for ((xq, xs), out) in xq
            .chunks(TILE * k)
            .zip(xs.chunks(TILE))
            .zip(out.chunks_mut(TILE * m))
        {
            self.tile_into(xq, xs, out);
        }
    }

    fn tile_into(&self, xq: &[i16], xs: &[f32], out: &mut [f32]) {
        let (k, m) = (self.cols, self.rows);
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if let Some(amx) = self.amx() {
            return amx.product(xq, xs, &self.scales, &self.bias, out);
        }
        let mut sums = vec![[0i32; 4]; xs.len()];
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        let halves = super::kernels_relaxed::byte_products()
            .then(|| super::kernels_relaxed::Halves::new(xq));
        // Four weight rows at a time, so each activation load serves four dot products.
        let mut j = 0;
        while j < m {
            let take = (m - j).min(4);
            // Past the last row, the last repeated: its sums are computed and not written.
            let w: [&[Code]; 4] =
                std::array::from_fn(|r| &self.codes[(j + r.min(take - 1)) * k..][..k]);
            let block = (take == 4).then(|| &self.codes[j * k..][..4 * k]);
            #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
            block_sums(xq, k, w, block, &mut sums);
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            match (block, &halves) {
                (Some(block), Some(halves)) => super::kernels_relaxed::rows4(
                    halves,
                    k,
                    block,
                    std::array::from_fn(|r| self.code_sums[j + r]),
                    &mut sums,
                ),
                (Some(block), None) => super::kernels_relaxed::rows4_wide(xq, k, block, &mut sums),
                (None, _) => {
                    for (s, xr) in sums.iter_mut().zip(xq.chunks_exact(k)) {
                        *s = std::array::from_fn(|r| {
                            xr.iter()
                                .zip(w[r])
                                .map(|(&a, &b)| a as i32 * b as i32)
                                .sum()
                        });
                    }
                }
            }
            let (scales, bias) = (&self.scales[j..j + take], &self.bias[j..j + take]);
            for ((row_sums, &scale), out) in sums.iter().zip(xs).zip(out.chunks_exact_mut(m)) {
                let out = &mut out[j..j + take];
                if let (Ok(out), Ok(scales), Ok(bias)) = (
                    <&mut [f32; 4]>::try_from(&mut *out),
                    <&[f32; 4]>::try_from(scales),
                    <&[f32; 4]>::try_from(bias),
                ) {
                    // Four columns as one vector operation each, in the same order per value.
                    *out =
                        std::array::from_fn(|r| row_sums[r] as f32 * (scale * scales[r]) + bias[r]);
                    continue;
                }
                for r in 0..take {
                    out[r] = row_sums[r] as f32 * (scale * scales[r]) + bias[r];
                }
            }
            j += take;
        }
    }
}

/// Activation rows per tile of [`QLinear::rows_into`]: 32 rows of 384 i16 values are 24 KB, half
/// a first-level data cache, and a multiple of the four rows the widest kernels take at once.
const TILE: usize = 32;

/// Every activation row of `xq` (rows of `k`) dotted with the four weight rows `w`, into `sums`
/// (one per row). `block` is the same four rows as one slice when they lie together, which the
/// widest native kernels take whole.
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
fn block_sums(xq: &[i16], k: usize, w: [&[i16]; 4], block: Option<&[i16]>, sums: &mut [[i32; 4]]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(body) = block.and_then(|b| super::kernels_x86::rows4(xq, k, b, sums)) {
        if body < k {
            for (s, xr) in sums.iter_mut().zip(xq.chunks_exact(k)) {
                add_tail(s, xr, w, body);
            }
        }
        return;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = block;
    let n = sums.len();
    let row = |i: usize| &xq[i * k..][..k];
    let mut i = 0;
    while i < n {
        // Two activation rows at a time where there are two: each weight load then serves
        // two dot products too.
        if i + 1 < n {
            let [a, b] = dot2x4([row(i), row(i + 1)], w);
            (sums[i], sums[i + 1]) = (a, b);
            i += 2;
        } else {
            sums[i] = dot4(row(i), w);
            i += 1;
        }
    }
}

/// The largest magnitude in `values`, NaNs skipped (as `f32::max` does), 0 when empty. Not
/// `f32::max`: wasm's `f32.max` treats NaN otherwise, so in wasm it is a call to `fmaxf`, a
/// twentieth of a question; the comparison below is one instruction per lane.
#[inline]
pub(crate) fn abs_max(values: &[f32]) -> f32 {
    #[cfg(target_arch = "wasm32")]
    {
        use core::arch::wasm32::*;
        let mut acc = f32x4_splat(0.0);
        let chunks = values.chunks_exact(4);
        let rest = chunks.remainder();
        for c in chunks {
            // SAFETY: c holds four f32.
            let v = f32x4_abs(unsafe { v128_load(c.as_ptr() as *const v128) });
            // pmax(acc, v) is `acc < v ? v : acc`: a NaN in v leaves acc.
            acc = f32x4_pmax(acc, v);
        }
        let lanes = [
            f32x4_extract_lane::<0>(acc),
            f32x4_extract_lane::<1>(acc),
            f32x4_extract_lane::<2>(acc),
            f32x4_extract_lane::<3>(acc),
        ];
        lanes
            .iter()
            .chain(rest)
            .fold(0f32, |m, v| if v.abs() > m { v.abs() } else { m })
    }
    #[cfg(not(target_arch = "wasm32"))]
    values.iter().fold(0f32, |m, v| m.max(v.abs()))
}

/// `f32::round` (half away from zero) for |x| < 2^31, without its library call: baseline
/// x86_64 has no rounding instruction, and the call cost a twentieth of a question. Exact, so
/// codes stay what `round` gives: `x - trunc(x)` is exact in f32.
#[inline(always)]
pub(crate) fn round_half_away(x: f32) -> i32 {
    let t = x as i32;
    let d = x - t as f32;
    t + (d >= 0.5) as i32 - (d <= -0.5) as i32
}

/// [`round_half_away`] of `row[c] * inv` into `q` eight at a time, as the scalar loop does it
/// (truncate, then step away from zero when the rest is half or more), up to the returned
/// index (a multiple of 8); the caller does the rest. Codes are within ±8191, so the narrowing
/// to i16 never saturates.
#[cfg(target_arch = "wasm32")]
fn quantize_simd128(row: &[f32], inv: f32, q: &mut [i16]) -> usize {
    use core::arch::wasm32::*;
    let n = row.len().min(q.len());
    let body = n - n % 8;
    let (inv, half, minus_half) = (f32x4_splat(inv), f32x4_splat(0.5), f32x4_splat(-0.5));
    let code = |x: v128| {
        let t = i32x4_trunc_sat_f32x4(x);
        let d = f32x4_sub(x, f32x4_convert_i32x4(t));
        // Comparisons give -1 where true: subtracting it adds one.
        i32x4_add(i32x4_sub(t, f32x4_ge(d, half)), f32x4_le(d, minus_half))
    };
    let mut c = 0;
    while c < body {
        // SAFETY: c + 8 <= body <= n: the loads read row[c..c + 8], the store writes q[c..c + 8].
        unsafe {
            let a = f32x4_mul(v128_load(row.as_ptr().add(c) as *const v128), inv);
            let b = f32x4_mul(v128_load(row.as_ptr().add(c + 4) as *const v128), inv);
            v128_store(
                q.as_mut_ptr().add(c) as *mut v128,
                i16x8_narrow_i32x4(code(a), code(b)),
            );
        }
        c += 8;
    }
    body
}

/// `f32::round_ties_even` for |x| < 2^31, likewise without the library call (natively; wasm
/// rounds with `f32x4.nearest`, see `kernels_q4`).
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
pub(crate) fn round_half_even(x: f32) -> i32 {
    let t = x as i32;
    let d = x - t as f32;
    let odd = t & 1;
    t + (d > 0.5 || (d == 0.5 && odd == 1)) as i32 - (d < -0.5 || (d == -0.5 && odd == 1)) as i32
}

/// Runs `rows_into` on `n` quantised activation rows of `k` values (`xq`, with their scales
/// `xs`) into `out`, split by rows over the cores when the product is big enough: native
/// batches (building a knowledge base) use every core, the browser one thread. Each row's share
/// of `xs` and `out` follows from their lengths.
pub(crate) fn over_rows(
    xq: &[i16],
    xs: &[f32],
    out: &mut [f32],
    n: usize,
    k: usize,
    rows_into: impl Fn(&[i16], &[f32], &mut [f32]) + Sync,
) {
    let (per_xs, per_out) = (xs.len() / n.max(1), out.len() / n.max(1));
    let threads = threads_for(out.len() * k).min(n);
    if threads <= 1 {
        return rows_into(xq, xs, out);
    }
    let per = n.div_ceil(threads);
    let rows_into = &rows_into;
    std::thread::scope(|scope| {
        for ((xq, xs), out) in xq
            .chunks(per * k)
            .zip(xs.chunks(per * per_xs))
            .zip(out.chunks_mut(per * per_out))
        {
            scope.spawn(move || rows_into(xq, xs, out));
        }
    });
}

/// Applies a fused activation to a product's outputs in place.
pub(crate) fn apply_activation(activation: Option<Activation>, out: &mut [f32]) {
    match activation {
        None => {}
        Some(Activation::Gelu) => {
            #[cfg(target_arch = "x86_64")]
            if super::kernels_x86::map_wide(out, gelu_erf) {
                return;
            }
            out.iter_mut().for_each(|v| *v = gelu_erf(*v))
        }
        Some(Activation::GeluTanh) => out.iter_mut().for_each(|v| *v = gelu_tanh(*v)),
        Some(Activation::Relu) => out.iter_mut().for_each(|v| *v = v.max(0.0)),
    }
}

/// GELU with erf from Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7): candle's
/// `gelu_erf` evaluates erf in f64 element by element, which costs more than the int8 product
/// it follows in the browser.
#[inline(always)]
fn gelu_erf(x: f32) -> f32 {
    let z = (x * std::f32::consts::FRAC_1_SQRT_2).abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let erf = 1.0 - poly * crate::exact::exp_nonpositive(-z * z);
    0.5 * x * (1.0 + erf.copysign(x))
}

/// GELU's tanh form, with tanh from [`crate::exact::exp_nonpositive`] (the library's differs
/// between targets): `tanh y = sign(y) (1 - e^(-2|y|)) / (1 + e^(-2|y|))`.
fn gelu_tanh(x: f32) -> f32 {
    let y = 0.797_884_6 * (x + 0.044_715 * x * x * x);
    let e = crate::exact::exp_nonpositive(-2.0 * y.abs());
    let tanh = ((1.0 - e) / (1.0 + e)).copysign(y);
    0.5 * x * (1.0 + tanh)
}

/// Threads worth starting for `work` multiply-adds: one in the browser (no threads there), and
/// natively one per core once the product is big enough to pay for the spawn.
#[cfg(target_arch = "wasm32")]
fn threads_for(_work: usize) -> usize {
    1
}

#[cfg(not(target_arch = "wasm32"))]
fn threads_for(work: usize) -> usize {
    // On a thread of the pool that runs batches side by side (Encoder::embed_batch), the cores
    // are already busy with the other batches.
    if work < 4_000_000 || rayon::current_thread_index().is_some() {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Four dot products of `x` with the rows of `w`, exact in i32.
#[cfg(all(target_arch = "wasm32", not(target_feature = "relaxed-simd")))]
#[inline]
fn dot4(x: &[i16], w: [&[i16]; 4]) -> [i32; 4] {
    use core::arch::wasm32::*;
    let k = x.len();
    let body = k - k % 8;
    let mut acc = [i32x4_splat(0); 4];
    let mut c = 0;
    // SAFETY: every load reads 8 i16 at offset c, and c + 8 <= body <= len of x and of each w row.
    unsafe {
        while c < body {
            let xv = v128_load(x.as_ptr().add(c) as *const v128);
            for r in 0..4 {
                let wv = v128_load(w[r].as_ptr().add(c) as *const v128);
                acc[r] = i32x4_add(acc[r], i32x4_dot_i16x8(xv, wv));
            }
            c += 8;
        }
    }
    let mut sums = acc.map(hsum);
    add_tail(&mut sums, x, w, body);
    sums
}

/// The sum of a vector's four i32 lanes.
#[cfg(all(target_arch = "wasm32", not(target_feature = "relaxed-simd")))]
#[inline]
fn hsum(a: core::arch::wasm32::v128) -> i32 {
    use core::arch::wasm32::i32x4_extract_lane;
    i32x4_extract_lane::<0>(a)
        + i32x4_extract_lane::<1>(a)
        + i32x4_extract_lane::<2>(a)
        + i32x4_extract_lane::<3>(a)
}

/// Eight dot products: two activation rows with four weight rows.
#[cfg(all(target_arch = "wasm32", not(target_feature = "relaxed-simd")))]
#[inline]
fn dot2x4(x: [&[i16]; 2], w: [&[i16]; 4]) -> [[i32; 4]; 2] {
    use core::arch::wasm32::*;
    let k = x[0].len();
    let body = k - k % 8;
    let mut acc = [[i32x4_splat(0); 4]; 2];
    let mut c = 0;
    // SAFETY: as in dot4; both activation rows have length k.
    unsafe {
        while c < body {
            let x0 = v128_load(x[0].as_ptr().add(c) as *const v128);
            let x1 = v128_load(x[1].as_ptr().add(c) as *const v128);
            for r in 0..4 {
                let wv = v128_load(w[r].as_ptr().add(c) as *const v128);
                acc[0][r] = i32x4_add(acc[0][r], i32x4_dot_i16x8(x0, wv));
                acc[1][r] = i32x4_add(acc[1][r], i32x4_dot_i16x8(x1, wv));
            }
            c += 8;
        }
    }
    let mut sums = acc.map(|row| row.map(hsum));
    for (row, xr) in sums.iter_mut().zip(x) {
        add_tail(row, xr, w, body);
    }
    sums
}

/// Elsewhere two calls of [`dot4`] do as well.
#[cfg(not(any(target_arch = "wasm32", target_arch = "x86_64")))]
#[inline]
fn dot2x4(x: [&[i16]; 2], w: [&[i16]; 4]) -> [[i32; 4]; 2] {
    [dot4(x[0], w), dot4(x[1], w)]
}

/// Natively on x86_64, SSE2's loop (part of every x86_64): the fallback below the widest
/// kernels ([`super::kernels_x86`]), and for a last block of fewer than four weight rows.
#[cfg(target_arch = "x86_64")]
#[inline]
fn dot2x4(x: [&[i16]; 2], w: [&[i16]; 4]) -> [[i32; 4]; 2] {
    [dot4_sse2(x[0], w), dot4_sse2(x[1], w)]
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn dot4(x: &[i16], w: [&[i16]; 4]) -> [i32; 4] {
    dot4_sse2(x, w)
}

/// The same with SSE2's `pmaddwd` (part of every x86_64): the fallback.
#[cfg(target_arch = "x86_64")]
#[inline]
fn dot4_sse2(x: &[i16], w: [&[i16]; 4]) -> [i32; 4] {
    use core::arch::x86_64::*;
    let k = x.len();
    let body = k - k % 8;
    let mut sums = [0i32; 4];
    // SAFETY: SSE2 is baseline on x86_64; every unaligned load reads 8 i16 at offset c, and
    // c + 8 <= body <= len of x and of each w row.
    unsafe {
        let mut acc = [_mm_setzero_si128(); 4];
        let mut c = 0;
        while c < body {
            let xv = _mm_loadu_si128(x.as_ptr().add(c) as *const __m128i);
            for r in 0..4 {
                let wv = _mm_loadu_si128(w[r].as_ptr().add(c) as *const __m128i);
                acc[r] = _mm_add_epi32(acc[r], _mm_madd_epi16(xv, wv));
            }
            c += 8;
        }
        for r in 0..4 {
            let mut lanes = [0i32; 4];
            _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, acc[r]);
            sums[r] = lanes.iter().sum();
        }
    }
    add_tail(&mut sums, x, w, body);
    sums
}

/// Adds the products from `from` to the end of the rows, past the last whole vector. Models'
/// widths are multiples of 8, so this is usually empty.
#[cfg(any(
    all(target_arch = "wasm32", not(target_feature = "relaxed-simd")),
    target_arch = "x86_64"
))]
#[inline]
fn add_tail(sums: &mut [i32; 4], x: &[i16], w: [&[i16]; 4], from: usize) {
    for c in from..x.len() {
        for r in 0..4 {
            sums[r] += x[c] as i32 * w[r][c] as i32;
        }
    }
}

/// Portable version for other targets.
#[cfg(not(any(target_arch = "wasm32", target_arch = "x86_64")))]
#[inline]
fn dot4(x: &[i16], w: [&[i16]; 4]) -> [i32; 4] {
    let mut sums = [0i32; 4];
    for r in 0..4 {
        sums[r] = x.iter().zip(w[r]).map(|(&a, &b)| a as i32 * b as i32).sum();
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_product_matches_the_f32_product_of_the_dequantised_weights() {
        let (n, k, m) = (3, 40, 6);
        let codes: Vec<i8> = (0..m * k)
            .map(|i| ((i * 53 % 255) as i32 - 127) as i8)
            .collect();
        let scales: Vec<f32> = (0..m).map(|j| 0.01 + j as f32 * 0.003).collect();
        let bias: Vec<f32> = (0..m).map(|j| j as f32 * 0.5 - 1.0).collect();
        let x: Vec<f32> = (0..n * k)
            .map(|i| ((i * 31 % 97) as f32 - 48.0) / 13.0)
            .collect();
        let q = QLinear::new(m, k, &codes, scales.clone(), bias.clone());
        let y = q.forward_slice(&x);
        for i in 0..n {
            for j in 0..m {
                let exact: f32 = (0..k)
                    .map(|c| x[i * k + c] * codes[j * k + c] as f32 * scales[j])
                    .sum::<f32>()
                    + bias[j];
                assert!(
                    (y[i * m + j] - exact).abs() < 1e-3 * (1.0 + exact.abs()),
                    "{i},{j}"
                );
            }
        }
    }

    #[test]
    fn rounding_without_the_library_call_is_round() {
        let mut x = -40000.0f32;
        while x < 40000.0 {
            for v in [
                x,
                x + 0.5,
                x - 0.5,
                f32::from_bits((x + 0.5).to_bits() - 1),
                x + 0.499_999_97,
            ] {
                assert_eq!(round_half_away(v), v.round() as i32, "{v}");
                assert_eq!(round_half_even(v), v.round_ties_even() as i32, "{v}");
            }
            x += 0.731;
        }
    }

    #[test]
    fn fast_gelu_matches_the_erf_definition() {
        // Reference values of 0.5 x (1 + erf(x / sqrt 2)).
        for (x, want) in [
            (-3.0f32, -0.004_049_7),
            (-1.0, -0.158_655_3),
            (0.0, 0.0),
            (0.5, 0.345_731_4),
            (2.0, 1.954_499_7),
        ] {
            assert!(
                (gelu_erf(x) - want).abs() < 1e-6,
                "gelu({x}) = {} not {want}",
                gelu_erf(x)
            );
        }
    }

    #[test]
    fn stacking_concatenates_outputs() {
        let a = QLinear::new(2, 8, &[1; 16], vec![1.0; 2], vec![0.0; 2]);
        let b = QLinear::new(3, 8, &[2; 24], vec![1.0; 3], vec![1.0; 3]);
        let s = QLinear::stack(&[a, b]);
        assert_eq!(s.rows, 5);
        let y = s.forward_slice(&[1.0; 8]);
        assert_eq!(y.len(), 5);
        assert!(
            (y[0] - 8.0).abs() < 1e-2 && (y[4] - 17.0).abs() < 1e-2,
            "{y:?}"
        );
    }

    #[test]
    fn zero_rows_give_the_bias() {
        let q = QLinear::new(2, 8, &[5; 16], vec![0.5; 2], vec![0.25, -0.25]);
        assert_eq!(q.forward_slice(&[0.0; 8]), vec![0.25, -0.25]);
    }
}
