//! The x86_64 kernels above SSE2: the int8 and int4 products' inner loops with AVX2 and
//! AVX-512 (with VNNI's fused multiply-add where the processor has it), chosen once at run time
//! by what the processor reports. Native only (building, linting and evaluating knowledge
//! bases); the browser has its own simd128 loops.
//!
//! Written by hand for the reason [`super::kernels`] gives, and because each path must give the
//! very numbers the SSE2 and wasm loops give: integer sums are exact in any order, and the int4
//! kernel's f32 steps are done on the same four lanes in the same order, so native and browser
//! outcomes stay identical whichever path runs.

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

/// `N` activation rows' dot products with four weight rows, exact in i32, from index 0 up to
/// `body` (a multiple of the level's width); the caller adds the rest. None at [`Level::Sse2`].
#[inline]
pub(crate) fn dot_rows<const N: usize>(
    x: [&[i16]; N],
    w: [&[i16]; 4],
) -> Option<([[i32; 4]; N], usize)> {
    let k = x[0].len();
    debug_assert!(x.iter().all(|r| r.len() == k) && w.iter().all(|r| r.len() == k));
    // SAFETY: each function runs only at a level whose features the processor reported.
    unsafe {
        match level() {
            Level::Sse2 => None,
            Level::Avx2 => Some((dot_avx2(x, w, k - k % 16), k - k % 16)),
            Level::Avx512 => Some((dot_avx512(x, w, k - k % 32), k - k % 32)),
            Level::Avx512Vnni => Some((dot_vnni(x, w, k - k % 32), k - k % 32)),
        }
    }
}

/// Generates a 512-bit dot-product function; `$fma` is how one step adds the products of
/// i16 pairs to the accumulator.
macro_rules! dot512 {
    ($name:ident, $features:literal, $fma:expr) => {
        #[target_feature(enable = $features)]
        unsafe fn $name<const N: usize>(
            x: [&[i16]; N],
            w: [&[i16]; 4],
            body: usize,
        ) -> [[i32; 4]; N] {
            let fma: unsafe fn(__m512i, __m512i, __m512i) -> __m512i = $fma;
            let mut acc = [[_mm512_setzero_si512(); 4]; N];
            let mut c = 0;
            // SAFETY (caller): every row holds at least `body` values, a multiple of 32; each
            // load reads 32 i16 at c < body.
            while c < body {
                let xv: [__m512i; N] =
                    std::array::from_fn(|i| _mm512_loadu_si512(x[i].as_ptr().add(c).cast()));
                for r in 0..4 {
                    let wv = _mm512_loadu_si512(w[r].as_ptr().add(c).cast());
                    for i in 0..N {
                        acc[i][r] = fma(acc[i][r], xv[i], wv);
                    }
                }
                c += 32;
            }
            acc.map(|row| row.map(|a| _mm512_reduce_add_epi32(a)))
        }
    };
}

dot512!(dot_avx512, "avx512f,avx512bw", |acc, a, b| {
    _mm512_add_epi32(acc, _mm512_madd_epi16(a, b))
});
dot512!(dot_vnni, "avx512f,avx512bw,avx512vnni", |acc, a, b| {
    _mm512_dpwssd_epi32(acc, a, b)
});

#[target_feature(enable = "avx2")]
unsafe fn dot_avx2<const N: usize>(x: [&[i16]; N], w: [&[i16]; 4], body: usize) -> [[i32; 4]; N] {
    let mut acc = [[_mm256_setzero_si256(); 4]; N];
    let mut c = 0;
    // SAFETY (caller): as for the 512-bit loops, 16 i16 per load.
    while c < body {
        let xv: [__m256i; N] =
            std::array::from_fn(|i| _mm256_loadu_si256(x[i].as_ptr().add(c).cast()));
        for r in 0..4 {
            let wv = _mm256_loadu_si256(w[r].as_ptr().add(c).cast());
            for i in 0..N {
                acc[i][r] = _mm256_add_epi32(acc[i][r], _mm256_madd_epi16(xv[i], wv));
            }
        }
        c += 16;
    }
    acc.map(|row| {
        row.map(|a| {
            let s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
            let mut lanes = [0i32; 4];
            _mm_storeu_si128(lanes.as_mut_ptr().cast(), s);
            lanes.iter().sum()
        })
    })
}

/// The int4 kernel's step for AVX-512 and AVX2 (see [`super::kernels_q4`]): four weight rows
/// with one activation row of `asc.len()` groups of 32, each group's exact integer products
/// folded to the four lanes the SSE2 and wasm loops hold, then scaled and added in f32 exactly
/// as they do. None at [`Level::Sse2`].
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

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn q4_avx512(a: &[i16], asc: &[f32], w: [&[i16]; 4], wsc: [&[f32]; 4]) -> [f32; 4] {
    // One 512-bit accumulator: quarter r holds row r's four f32 lanes. Each group's four
    // integer lane sums per row are gathered into quarter r by a 4x4 transpose of 128-bit
    // blocks (exact integer adds), then converted, scaled and added lane by lane as SSE2 does.
    let mut acc = _mm512_setzero_ps();
    let spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    for (b, &sa) in asc.iter().enumerate() {
        // SAFETY (caller): every row holds asc.len() groups of 32 i16; one load is one group.
        let av = _mm512_loadu_si512(a.as_ptr().add(b * 32).cast());
        let m: [__m512i; 4] = std::array::from_fn(|r| {
            _mm512_madd_epi16(av, _mm512_loadu_si512(w[r].as_ptr().add(b * 32).cast()))
        });
        // Row r's lane l is the sum of its four quarters' lane l.
        let pair = |x: __m512i, y: __m512i| {
            _mm512_add_epi32(
                _mm512_shuffle_i32x4::<0b01_00_01_00>(x, y),
                _mm512_shuffle_i32x4::<0b11_10_11_10>(x, y),
            )
        };
        let (p01, p23) = (pair(m[0], m[1]), pair(m[2], m[3]));
        let s = _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b10_00_10_00>(p01, p23),
            _mm512_shuffle_i32x4::<0b11_01_11_01>(p01, p23),
        );
        // The scales sa * wsc[r][b], each the same f32 product SSE2 takes, spread per quarter.
        let ws = _mm_set_ps(wsc[3][b], wsc[2][b], wsc[1][b], wsc[0][b]);
        let scale = _mm512_mul_ps(
            _mm512_set1_ps(sa),
            _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(ws)),
        );
        acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_cvtepi32_ps(s), scale));
    }
    let mut lanes = [0f32; 16];
    _mm512_storeu_ps(lanes.as_mut_ptr(), acc);
    std::array::from_fn(|r| lanes[4 * r] + lanes[4 * r + 1] + lanes[4 * r + 2] + lanes[4 * r + 3])
}

#[target_feature(enable = "avx2")]
unsafe fn q4_avx2(a: &[i16], asc: &[f32], w: [&[i16]; 4], wsc: [&[f32]; 4]) -> [f32; 4] {
    let mut acc = [_mm_setzero_ps(); 4];
    for (b, &sa) in asc.iter().enumerate() {
        // SAFETY (caller): as in q4_avx512, two 16-value loads per group.
        let ap = a.as_ptr().add(b * 32);
        let (a0, a1) = (
            _mm256_loadu_si256(ap.cast()),
            _mm256_loadu_si256(ap.add(16).cast()),
        );
        for r in 0..4 {
            let wp = w[r].as_ptr().add(b * 32);
            let h = _mm256_add_epi32(
                _mm256_madd_epi16(a0, _mm256_loadu_si256(wp.cast())),
                _mm256_madd_epi16(a1, _mm256_loadu_si256(wp.add(16).cast())),
            );
            let s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256::<1>(h));
            acc[r] = q4_accumulate(acc[r], s, sa * wsc[r][b]);
        }
    }
    acc.map(|v| lanes_sum(v))
}

/// One group's four integer lanes, converted, scaled and added: the SSE2 loop's very steps
/// (no fused multiply-add, which would round differently).
#[inline(always)]
unsafe fn q4_accumulate(acc: __m128, s: __m128i, scale: f32) -> __m128 {
    _mm_add_ps(acc, _mm_mul_ps(_mm_cvtepi32_ps(s), _mm_set1_ps(scale)))
}

/// Lanes 0 + 1 + 2 + 3, in that order.
#[inline(always)]
unsafe fn lanes_sum(v: __m128) -> f32 {
    let mut lanes = [0f32; 4];
    _mm_storeu_ps(lanes.as_mut_ptr(), v);
    lanes[0] + lanes[1] + lanes[2] + lanes[3]
}

/// The int4 step at every level above SSE2 this processor has (tests compare them with SSE2).
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
        let x = rows(2, k, 1, 32767);
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
        let wr: [&[i16]; 4] = std::array::from_fn(|r| w[r].as_slice());
        let xr = [x[0].as_slice(), x[1].as_slice()];
        // SAFETY: each path only where the processor has it.
        unsafe {
            if is_x86_feature_detected!("avx2") {
                assert_eq!(dot_avx2(xr, wr, k).to_vec(), want);
            }
            if is_x86_feature_detected!("avx512bw") {
                assert_eq!(dot_avx512(xr, wr, k).to_vec(), want);
            }
            if is_x86_feature_detected!("avx512vnni") && is_x86_feature_detected!("avx512bw") {
                assert_eq!(dot_vnni(xr, wr, k).to_vec(), want);
            }
        }
    }
}
