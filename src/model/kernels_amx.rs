//! The int8 product on Intel's AMX tile unit (Sapphire Rapids and later Xeons), natively on
//! x86_64 Linux: the processor multiplies 16×64 bytes by 64×16 bytes in one instruction
//! (`tdpbusd`), some 25 times the multiply-adds per cycle of AVX-512 VNNI, which left the int8
//! product at the rate of its one instruction and two thirds of a native batch's time.
//!
//! Owns the weights' tile layout ([`Weights`]), whether AMX may run here ([`available`]), and
//! the exact integer sums of a product ([`Weights::sums`]); [`super::kernels::QLinear`] scales
//! them exactly as its other paths do. The sums are exact integers, so the vectors are the
//! same bit for bit as on every other path (a test compares them). Never compiled for wasm.
//!
//! Written by hand because no library runs int8 products on AMX from stable Rust, and its
//! instructions are not in stable Rust's intrinsics: they are written as inline assembly. The
//! tile registers are used nowhere else in the program, and each call loads its own tile
//! configuration and releases the tiles before returning.
//!
//! Activations are codes of at most 14 bits (see `kernels`); `tdpbusd` takes unsigned bytes for
//! them, so each code is stored biased as two 7-bit halves, `code + 8192 = 128 high + low`:
//! `x·w = 128 (high·w) + low·w - 8192 Σw`, in wrapping i32 arithmetic (the parts may pass
//! i32's range; the exact total does not), as the relaxed-SIMD wasm kernel does.

use std::arch::asm;
use std::sync::OnceLock;

/// Bytes of `k` one tile instruction takes: 64 per row of the activation tile.
const K_STEP: usize = 64;
/// Rows of activations and columns of output per tile.
const TILE: usize = 16;

/// Whether this processor and kernel let the program use AMX's int8 products, found once:
/// the processor reports AMX-TILE and AMX-INT8, and Linux grants the tile data state (a
/// process asks once; without it the first tile instruction would kill the process).
/// `AYUDA_SIMD` set to any level caps below AMX (`avx512vnni` and lower), to compare paths.
pub(crate) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        if std::env::var("AYUDA_SIMD").is_ok_and(|v| v != "amx") {
            return false;
        }
        // Leaf 7 (extended features): older processors read zeros there.
        let id = core::arch::x86_64::__cpuid_count(7, 0);
        let (tile, int8) = (id.edx >> 24 & 1 == 1, id.edx >> 25 & 1 == 1);
        if !(tile && int8 && super::kernels_x86::level() == super::kernels_x86::Level::Avx512Vnni) {
            return false;
        }
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: a request for a permission; it changes nothing else and fails cleanly on
        // kernels without AMX support.
        unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            ) == 0
        }
    })
}

/// A `[rows, cols]` int8 weight matrix in the order `tdpbusd` reads its second operand: per
/// block of 16 output rows, per 64 columns, a 16×64-byte tile whose row `q` holds, for each of
/// the 16 output rows, its four weights `4q..4q + 4`. Rows are padded with zeros to a
/// multiple of 32 (two blocks per step); their sums are never read.
pub(crate) struct Weights {
    rows: usize,
    cols: usize,
    tiles: Vec<i8>,
    /// Each output row's sum of weights, for the halves' bias correction.
    sums: Vec<i32>,
}

/// The tile configuration `ldtilecfg` reads (palette 1): eight tiles of 16 rows of 64 bytes.
/// Tiles 0-3 accumulate (high and low halves for two blocks of output rows), 4 and 5 hold the
/// activations' halves, 6 and 7 two blocks of weights.
#[repr(C, align(64))]
struct Config {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    bytes_per_row: [u16; 16],
    rows: [u8; 16],
}

const CONFIG: Config = {
    let mut c = Config {
        palette: 1,
        start_row: 0,
        reserved: [0; 14],
        bytes_per_row: [0; 16],
        rows: [0; 16],
    };
    let mut t = 0;
    while t < 8 {
        c.bytes_per_row[t] = 64;
        c.rows[t] = TILE as u8;
        t += 1;
    }
    c
};

impl Weights {
    /// `codes` is `rows * cols` int8 values, row-major. None when `cols` is not a whole number
    /// of 64-byte steps (the other kernels then run).
    pub(crate) fn new(codes: &[i8], rows: usize, cols: usize) -> Option<Weights> {
        if cols == 0 || !cols.is_multiple_of(K_STEP) || codes.len() != rows * cols {
            return None;
        }
        let padded = rows.div_ceil(2 * TILE) * 2 * TILE;
        let steps = cols / K_STEP;
        let mut tiles = vec![0i8; padded * cols];
        for (j, row) in codes.chunks_exact(cols).enumerate() {
            let (block, c) = (j / TILE, j % TILE);
            for (e, &w) in row.iter().enumerate() {
                let (step, q, t) = (e / K_STEP, (e % K_STEP) / 4, e % 4);
                tiles[((block * steps + step) * TILE + q) * 64 + c * 4 + t] = w;
            }
        }
        let sums = codes
            .chunks_exact(cols)
            .map(|r| r.iter().map(|&w| w as i32).sum())
            .collect();
        Some(Weights {
            rows,
            cols,
            tiles,
            sums,
        })
    }

    /// `out = (x · wᵀ) × (row scale × weight row scale) + bias` for the activation rows `xq`
    /// (codes within ±8191, `cols` each, scales `xs`), `out` being `n` rows of `rows`: the exact
    /// integer sums, then what every other path of [`super::kernels::QLinear`] computes, value
    /// for value. Only where [`available`].
    ///
    /// Weight blocks outside, activation rows inside: a pair of weight blocks (32 rows of
    /// `cols` bytes) stays in the first-level cache while the activation rows pass. The caller
    /// gives a few tiles of rows at a time (`QLinear` gives 32), so their halves stay in cache
    /// too.
    pub(crate) fn product(
        &self,
        xq: &[i16],
        xs: &[f32],
        scales: &[f32],
        bias: &[f32],
        out: &mut [f32],
    ) {
        let (k, m) = (self.cols, self.rows);
        let n = xq.len() / k;
        assert!(available(), "AMX products where the processor has none");
        assert!(
            xq.len() == n * k,
            "AMX product: activations are not whole rows"
        );
        let steps = k / K_STEP;
        let blocks = self.tiles.len() / (k * TILE);
        // The halves of the activation rows, padded with zero rows to whole tiles.
        let padded = n.div_ceil(TILE) * TILE;
        let mut high = vec![0u8; padded * k];
        let mut low = vec![0u8; padded * k];
        for ((h, l), &c) in high.iter_mut().zip(low.iter_mut()).zip(xq) {
            let biased = (c as i32 + 8192) as u16;
            (*h, *l) = ((biased >> 7) as u8, (biased & 127) as u8);
        }
        let mut acc = [[0i32; TILE * TILE]; 4];
        // SAFETY: AMX is available and this process may use it (checked above); CONFIG
        // describes tiles of 16 rows of 64 bytes, and every load and store below reads or
        // writes 16 rows of 64 bytes within its buffer: the halves hold `padded` rows of k
        // bytes, read from row first < padded at step * 64 < k with stride k; a weight tile is
        // 1024 bytes at ((block * steps + step) * 1024) < tiles.len(); an accumulator is 1024
        // bytes.
        unsafe {
            asm!("ldtilecfg [{}]", in(reg) &CONFIG, options(nostack, readonly));
            for pair in (0..blocks).step_by(2) {
                for first in (0..n).step_by(TILE) {
                    asm!(
                        "tilezero tmm0",
                        "tilezero tmm1",
                        "tilezero tmm2",
                        "tilezero tmm3",
                        options(nostack, nomem)
                    );
                    for step in 0..steps {
                        let at = first * k + step * K_STEP;
                        asm!(
                            "tileloadd tmm4, [{h} + {k}*1]",
                            "tileloadd tmm5, [{l} + {k}*1]",
                            "tileloadd tmm6, [{w0} + {s}*1]",
                            "tileloadd tmm7, [{w1} + {s}*1]",
                            "tdpbusd tmm0, tmm4, tmm6",
                            "tdpbusd tmm1, tmm5, tmm6",
                            "tdpbusd tmm2, tmm4, tmm7",
                            "tdpbusd tmm3, tmm5, tmm7",
                            h = in(reg) high.as_ptr().add(at),
                            l = in(reg) low.as_ptr().add(at),
                            k = in(reg) k,
                            w0 = in(reg) self.tiles.as_ptr().add((pair * steps + step) * 1024),
                            w1 = in(reg) self.tiles.as_ptr().add(((pair + 1) * steps + step) * 1024),
                            s = in(reg) 64usize,
                            options(nostack, readonly),
                        );
                    }
                    asm!(
                        "tilestored [{a0} + {s}*1], tmm0",
                        "tilestored [{a1} + {s}*1], tmm1",
                        "tilestored [{a2} + {s}*1], tmm2",
                        "tilestored [{a3} + {s}*1], tmm3",
                        a0 = in(reg) acc[0].as_mut_ptr(),
                        a1 = in(reg) acc[1].as_mut_ptr(),
                        a2 = in(reg) acc[2].as_mut_ptr(),
                        a3 = in(reg) acc[3].as_mut_ptr(),
                        s = in(reg) 64usize,
                        options(nostack),
                    );
                    for half in 0..2 {
                        let col0 = (pair + half) * TILE;
                        if col0 >= m {
                            continue; // padding rows of the weights
                        }
                        let rows = (n - first).min(TILE);
                        let block = Block {
                            high: &acc[2 * half],
                            low: &acc[2 * half + 1],
                            sums: &self.sums[col0..],
                            scales: &scales[col0..],
                            bias: &bias[col0..],
                            xs: &xs[first..first + rows],
                        };
                        block.write(&mut out[first * m + col0..], m);
                    }
                }
            }
            asm!("tilerelease", options(nostack, nomem));
        }
    }
}

/// One 16×16 block's accumulators (rows of 16 outputs) and what scales them: `xs` per
/// activation row, the rest per output, from the block's first output on.
struct Block<'a> {
    high: &'a [i32; TILE * TILE],
    low: &'a [i32; TILE * TILE],
    sums: &'a [i32],
    scales: &'a [f32],
    bias: &'a [f32],
    xs: &'a [f32],
}

impl Block<'_> {
    /// Writes the block's outputs into `out` (rows of `m`, from the block's first output):
    /// `(128 high + low - 8192 Σw) as f32 × (row scale × weight scale) + bias`, in wrapping i32
    /// then plain f32 arithmetic (multiply, then add: the same bits as the scalar expression).
    fn write(&self, out: &mut [f32], m: usize) {
        let cols = self.sums.len().min(TILE);
        if cols == TILE {
            // SAFETY: AMX processors have AVX-512 (available() checked the level), and
            // write_avx512 reads 16 values of sums, scales and bias and writes 16 per row.
            return unsafe { self.write_avx512(out, m) };
        }
        for (r, &scale) in self.xs.iter().enumerate() {
            for c in 0..cols {
                let s = self.high[r * TILE + c]
                    .wrapping_mul(128)
                    .wrapping_add(self.low[r * TILE + c])
                    .wrapping_sub(self.sums[c].wrapping_mul(8192));
                out[r * m + c] = s as f32 * (scale * self.scales[c]) + self.bias[c];
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn write_avx512(&self, out: &mut [f32], m: usize) {
        use core::arch::x86_64::*;
        assert!(self.sums.len() >= TILE && self.scales.len() >= TILE && self.bias.len() >= TILE);
        assert!(self.xs.is_empty() || out.len() >= (self.xs.len() - 1) * m + TILE);
        let correction = _mm512_mullo_epi32(
            _mm512_loadu_si512(self.sums.as_ptr().cast()),
            _mm512_set1_epi32(8192),
        );
        let scales = _mm512_loadu_ps(self.scales.as_ptr());
        let bias = _mm512_loadu_ps(self.bias.as_ptr());
        for (r, &scale) in self.xs.iter().enumerate() {
            let high = _mm512_loadu_si512(self.high[r * TILE..].as_ptr().cast());
            let low = _mm512_loadu_si512(self.low[r * TILE..].as_ptr().cast());
            let s = _mm512_sub_epi32(
                _mm512_add_epi32(_mm512_slli_epi32::<7>(high), low),
                correction,
            );
            let y = _mm512_add_ps(
                _mm512_mul_ps(
                    _mm512_cvtepi32_ps(s),
                    _mm512_mul_ps(_mm512_set1_ps(scale), scales),
                ),
                bias,
            );
            _mm512_storeu_ps(out[r * m..].as_mut_ptr(), y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact sums, plainly.
    fn reference(xq: &[i16], w: &[i8], k: usize) -> Vec<i32> {
        xq.chunks_exact(k)
            .flat_map(|x| {
                w.chunks_exact(k)
                    .map(|w| {
                        x.iter()
                            .zip(w)
                            .map(|(&a, &b)| a as i32 * b as i32)
                            .sum::<i32>()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn amx_products_give_the_exact_sums_scaled_as_every_other_path() {
        if !available() {
            eprintln!("no AMX on this machine: nothing to compare");
            return;
        }
        // Rows that fill no tile, one, and one and a bit; outputs that fill half a block pair;
        // the extremes of both kinds of codes.
        for (n, m, k) in [(1, 20, 64), (16, 32, 384), (17, 45, 128), (40, 384, 1536)] {
            let w: Vec<i8> = (0..m * k).map(|i| ((i * 37 + 11) % 255) as i8).collect();
            let mut xq: Vec<i16> = (0..n * k)
                .map(|i| ((i * 1009 + 7) % 16383) as i16 - 8191)
                .collect();
            xq[0] = -8191;
            xq[1] = 8191;
            let xs: Vec<f32> = (0..n).map(|i| 0.013 + i as f32 * 1.1e-3).collect();
            let scales: Vec<f32> = (0..m).map(|j| 0.021 - j as f32 * 3.7e-5).collect();
            let bias: Vec<f32> = (0..m).map(|j| j as f32 * 0.25 - 3.0).collect();
            let weights = Weights::new(&w, m, k).expect("k is a multiple of 64");
            let mut got = vec![f32::NAN; n * m];
            weights.product(&xq, &xs, &scales, &bias, &mut got);
            let want: Vec<u32> = reference(&xq, &w, k)
                .iter()
                .enumerate()
                .map(|(e, &s)| {
                    let (i, j) = (e / m, e % m);
                    (s as f32 * (xs[i] * scales[j]) + bias[j]).to_bits()
                })
                .collect();
            let got: Vec<u32> = got.iter().map(|v| v.to_bits()).collect();
            assert!(got == want, "{n}x{m}x{k}: not the same bits");
        }
    }

    #[test]
    fn widths_that_are_not_whole_steps_are_left_to_the_other_kernels() {
        assert!(Weights::new(&[1; 4 * 48], 4, 48).is_none());
        assert!(Weights::new(&[1; 4 * 64], 4, 64).is_some());
    }
}
