//! Float arithmetic that gives the same bits on every target: natively at any SIMD level and in
//! both browser modules. Owns the sums, dot products and exponential the encoder and the
//! answer model run on; never calls the math library, never depends on how the compiler
//! vectorises.
//!
//! Why it matters: the build's simulation, `ayuda ask` and the visitor's browser must decide
//! alike on the same bundle, and a threshold sits where a last-place difference can flip an
//! answer. Float addition is not associative, so every sum here has one written order:
//! [`LANES`] independent partial sums (lane `l` takes elements `l`, `l + LANES`, ...), then
//! the lanes added from 0 up. The compiler may run the lanes in SIMD registers of any width;
//! each lane's own order, and so the result, stays the same. The libraries' `expf` differ
//! between targets (glibc natively, compiler-builtins in wasm), hence [`exp_nonpositive`].

/// Partial sums per reduction: one AVX register, two wasm ones, and enough independent chains
/// to hide the adds' latency.
pub(crate) const LANES: usize = 8;

/// `Σ f(x[i], y[i])` in the order the module header gives. Written over whole chunks of
/// [`LANES`] (not indices) so the compiler sees no bounds to check and keeps the lanes in
/// vector registers.
#[inline(always)]
fn lanes_sum<X: Copy, Y: Copy>(x: &[X], y: &[Y], f: impl Fn(X, Y) -> f32) -> f32 {
    let mut acc = [0f32; LANES];
    let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let (x_tail, y_tail) = (xs.remainder(), ys.remainder());
    for (x, y) in xs.zip(ys) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    for (a, (&x, &y)) in acc.iter_mut().zip(x_tail.iter().zip(y_tail)) {
        *a += f(x, y);
    }
    let mut total = 0f32;
    for a in acc {
        total += a;
    }
    total
}

/// The sum of `x`.
pub(crate) fn sum(x: &[f32]) -> f32 {
    lanes_sum(x, x, |x, _| x)
}

/// `Σ (x - c)²`: a layer norm's spread about its mean, a vector's squared length.
pub(crate) fn sum_squares_about(x: &[f32], c: f32) -> f32 {
    lanes_sum(x, x, |x, _| {
        let d = x - c;
        d * d
    })
}

/// The dot product of two vectors of the same length.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot product of vectors of one length");
    lanes_sum(a, b, |a, b| a * b)
}

/// The dot product of int8 codes with a vector of the same length: a stored phrasing or
/// answer-model row against a question, before its scale.
pub(crate) fn dot_codes(codes: &[i8], query: &[f32]) -> f32 {
    debug_assert_eq!(
        codes.len(),
        query.len(),
        "dot product of vectors of one length"
    );
    lanes_sum(codes, query, |c, q| f32::from(c) * q)
}

/// `e^x` for `x <= 0` (relative error about 1e-7, 0 below -87), without the library's `expf`:
/// branch-free plain arithmetic the compiler vectorises over a row (the call was a tenth of a
/// native question), and the same bits natively and in wasm. Cody and Waite's reduction
/// `x = n ln 2 + r`, |r| <= ln 2 / 2, then Cephes' `expf` polynomial for `e^r`, scaled by `2^n`
/// through the exponent bits.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts: n * LN2_HI is exact for the n that occur.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and removing 1.5 * 2^23 rounds to the nearest integer (ties to even).
    const ROUND: f32 = 12_582_912.0;
    let x = if x < -87.0 { -87.0 } else { x };
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // t's low mantissa bits hold n, in -126..=0: 2^n is a normal number, built from its bits
    // with integer arithmetic alone.
    let n_bits = t.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    let y = e_r * scale;
    if x <= -87.0 {
        0.0
    } else {
        y
    }
}

/// `ln x` for a finite `x >= 1` (relative error about 1e-7), without the library's `logf`,
/// which differs in its last bit between glibc natively and compiler-builtins in wasm (BM25's
/// idf took it: the same question scored a word share one unit in the last place apart).
/// Cephes' `logf`: `x = m 2^e` with `m` in [√½, √2), a polynomial for `ln m`, then `e ln 2` in
/// two parts.
pub(crate) fn ln_at_least_one(x: f32) -> f32 {
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let x = if x.is_finite() && x >= 1.0 { x } else { 1.0 };
    // x >= 1 is normal: its exponent and mantissa from the bits, m in [0.5, 1).
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    if m < SQRT_HALF {
        e -= 1;
        m = m + m - 1.0;
    } else {
        m -= 1.0;
    }
    let z = m * m;
    let mut p = 7.037_683_6e-2;
    p = p * m - 1.151_461e-1;
    p = p * m + 1.167_699_9e-1;
    p = p * m - 1.242_014_1e-1;
    p = p * m + 1.424_932_3e-1;
    p = p * m - 1.666_805_8e-1;
    p = p * m + 2.000_071_4e-1;
    p = p * m - 2.499_999_4e-1;
    p = p * m + 3.333_333e-1;
    let e = e as f32;
    let y = p * m * z + e * -2.121_944_4e-4 - 0.5 * z;
    m + y + e * 0.693_359_4
}

/// Softmax in place: `e^(x - max) / Σ`, the sum in [`sum`]'s order. Empty stays empty; a row
/// of `-inf` or NaN gives NaN, as the usual formula does (callers never pass one).
pub(crate) fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in x.iter_mut() {
        *v = exp_nonpositive(*v - max);
    }
    let total = sum(x);
    for v in x.iter_mut() {
        *v /= total;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ln_is_the_natural_logarithm_from_one_up() {
        let mut worst = 0f64;
        let mut x = 1.0f32;
        while x < 1e7 {
            let (got, want) = (super::ln_at_least_one(x) as f64, (x as f64).ln());
            let err = if want > 0.0 {
                ((got - want) / want).abs()
            } else {
                got.abs()
            };
            worst = worst.max(err);
            x = x * 1.000_37 + 1e-3;
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert_eq!(super::ln_at_least_one(1.0), 0.0);
        // Outside its domain it answers as for 1, never NaN.
        assert_eq!(super::ln_at_least_one(f32::NAN), 0.0);
        assert_eq!(super::ln_at_least_one(0.5), 0.0);
    }

    use super::*;

    #[test]
    fn exp_without_the_library_is_within_two_ulp_of_it() {
        let mut worst = 0f64;
        for i in 0..=2_000_000 {
            let x = -(i as f32) * 4.35e-5;
            let (got, want) = (exp_nonpositive(x) as f64, (x as f64).exp());
            if want > 1e-37 {
                worst = worst.max(((got - want) / want).abs());
            }
        }
        assert!(worst < 2.5e-7, "relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-200.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn sums_follow_the_written_order() {
        // Lane l takes elements l, l + 8, ...; then the lanes in order. With values that lose
        // bits when added in another order, only that order gives these exact results.
        let x: Vec<f32> = (0..21)
            .map(|i| {
                if i % 3 == 0 {
                    1e8
                } else {
                    1.0 + i as f32 * 0.1
                }
            })
            .collect();
        let mut lanes = [0f32; LANES];
        for (i, v) in x.iter().enumerate() {
            lanes[i % LANES] += v;
        }
        let want = lanes.iter().fold(0f32, |t, l| t + l);
        assert_eq!(sum(&x).to_bits(), want.to_bits());
        let ones = vec![1f32; x.len()];
        assert_eq!(dot(&x, &ones).to_bits(), want.to_bits());
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum_squares_about(&[1.0, 3.0], 2.0), 2.0);
    }

    #[test]
    fn softmax_gives_probabilities_in_the_order_of_the_scores() {
        let mut x = vec![2.0, 1.0, 0.1, -50.0];
        softmax(&mut x);
        let want: Vec<f64> = {
            let e: Vec<f64> = [2.0f64, 1.0, 0.1, -50.0]
                .iter()
                .map(|v| (v - 2.0).exp())
                .collect();
            let t: f64 = e.iter().sum();
            e.iter().map(|v| v / t).collect()
        };
        for (g, w) in x.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-6, "{g} vs {w}");
        }
        assert!((sum(&x) - 1.0).abs() < 1e-6);
        let mut empty: Vec<f32> = Vec::new();
        softmax(&mut empty);
    }
}
