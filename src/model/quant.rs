//! Weight compression for the packed file: symmetric integer codes with a scale per row (int8)
//! or per group of 32 values (int4). Written by hand because the formats are this file's own
//! and the loops are a few lines; candle's GGUF quantisation keeps weights quantised at run
//! time, which is slower on wasm32 than dequantising once at load into f32 for gemm.

/// Values sharing one int4 scale. Small groups keep outliers from flattening their neighbours.
pub(crate) const Q4_GROUP: usize = 32;

/// int8 with one f32 scale per row: `rows * 4` bytes of scales, then `rows * cols` codes.
pub(crate) fn q8_rows(data: &[f32], cols: usize) -> Vec<u8> {
    let rows = data.len() / cols;
    let mut out = Vec::with_capacity(rows * 4 + data.len());
    let mut scales = Vec::with_capacity(rows);
    for row in data.chunks_exact(cols) {
        let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        out.extend_from_slice(&scale.to_le_bytes());
        scales.push(scale);
    }
    for (row, scale) in data.chunks_exact(cols).zip(scales) {
        out.extend(
            row.iter()
                .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8 as u8),
        );
    }
    out
}

/// Bytes [`q8_rows`] writes for a `rows` x `cols` matrix; None when that overflows (a crafted
/// shape, refused by the reader).
pub(crate) fn q8_rows_len(rows: usize, cols: usize) -> Option<usize> {
    rows.checked_mul(4)?.checked_add(rows.checked_mul(cols)?)
}

/// Splits what [`q8_rows`] wrote into the row scales and the codes; `bytes` must be exactly
/// [`q8_rows_len`] long.
pub(crate) fn split_q8_rows(bytes: &[u8], rows: usize) -> (Vec<f32>, Vec<i8>) {
    let (scales, codes) = bytes.split_at(rows * 4);
    let scales = scales
        .chunks_exact(4)
        .map(|s| f32::from_le_bytes(s.try_into().expect("4 bytes")))
        .collect();
    (scales, codes.iter().map(|&c| c as i8).collect())
}

/// int4 in groups of [`Q4_GROUP`] with one f16 scale each: `groups * 2` bytes of scales, then
/// two codes a byte (low nibble first), each code stored as value + 8.
pub(crate) fn q4_groups(data: &[f32]) -> Vec<u8> {
    assert_eq!(
        data.len() % Q4_GROUP,
        0,
        "callers pick int4 only for whole groups"
    );
    let groups = data.len() / Q4_GROUP;
    let mut out = Vec::with_capacity(q4_groups_len(data.len()));
    let mut scales = Vec::with_capacity(groups);
    for g in data.chunks_exact(Q4_GROUP) {
        let max = g.iter().fold(0f32, |m, v| m.max(v.abs()));
        let scale = half::f16::from_f32(if max > 0.0 { max / 7.0 } else { 1.0 });
        out.extend_from_slice(&scale.to_le_bytes());
        scales.push(scale.to_f32());
    }
    for (g, scale) in data.chunks_exact(Q4_GROUP).zip(scales) {
        let code = |v: f32| ((v / scale).round().clamp(-7.0, 7.0) as i8 + 8) as u8;
        out.extend(g.chunks_exact(2).map(|p| code(p[0]) | (code(p[1]) << 4)));
    }
    out
}

pub(crate) fn q4_groups_len(n: usize) -> usize {
    n / Q4_GROUP * 2 + n / 2
}

/// Inverse of [`q4_groups`]; `bytes` must be exactly [`q4_groups_len`] long.
pub(crate) fn dq4_groups(bytes: &[u8], n: usize) -> Vec<f32> {
    let groups = n / Q4_GROUP;
    let (scales, codes) = bytes.split_at(groups * 2);
    let mut out = Vec::with_capacity(n);
    decode_q4(scales, codes, &mut out);
    out
}

/// Appends the values of whole groups: `scales` (f16, two bytes a group) and their `codes`.
fn decode_q4(scales: &[u8], codes: &[u8], out: &mut Vec<f32>) {
    for (scale, g) in scales.chunks_exact(2).zip(codes.chunks_exact(Q4_GROUP / 2)) {
        let scale = half::f16::from_le_bytes([scale[0], scale[1]]).to_f32();
        for &b in g {
            out.push(((b & 0x0f) as i8 - 8) as f32 * scale);
            out.push(((b >> 4) as i8 - 8) as f32 * scale);
        }
    }
}

/// Row `row` of a `[rows, cols]` table written by [`q4_groups`], when `cols` is a whole number
/// of groups; decodes only that row.
pub(crate) fn dq4_row(bytes: &[u8], rows: usize, cols: usize, row: usize) -> Vec<f32> {
    let groups = rows * cols / Q4_GROUP;
    let first = row * cols / Q4_GROUP;
    let scales = &bytes[first * 2..(first + cols / Q4_GROUP) * 2];
    let codes = &bytes[groups * 2 + row * cols / 2..][..cols / 2];
    let mut out = Vec::with_capacity(cols);
    decode_q4(scales, codes, &mut out);
    out
}

/// Rows `keep` of a `[rows, cols]` table written by [`q4_groups`] (`cols` a whole number of
/// groups), as a table of their own in the same layout.
pub(crate) fn q4_select_rows(bytes: &[u8], rows: usize, cols: usize, keep: &[u32]) -> Vec<u8> {
    let per_row = cols / Q4_GROUP;
    let groups = rows * per_row;
    let (scales, codes) = bytes.split_at(groups * 2);
    let mut out_scales = Vec::with_capacity(keep.len() * per_row * 2);
    let mut out_codes = Vec::with_capacity(keep.len() * cols / 2);
    for &r in keep {
        let r = r as usize;
        out_scales.extend_from_slice(&scales[r * per_row * 2..(r + 1) * per_row * 2]);
        out_codes.extend_from_slice(&codes[r * cols / 2..(r + 1) * cols / 2]);
    }
    out_scales.extend(out_codes);
    out_scales
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect()
    }

    #[test]
    fn int8_rows_round_trip_within_half_a_step() {
        let data = ramp(4 * 96);
        let bytes = q8_rows(&data, 96);
        assert_eq!(Some(bytes.len()), q8_rows_len(4, 96));
        let (scales, codes) = split_q8_rows(&bytes, 4);
        let back: Vec<f32> = codes
            .iter()
            .enumerate()
            .map(|(i, &c)| c as f32 * scales[i / 96])
            .collect();
        for (row, brow) in data.chunks(96).zip(back.chunks(96)) {
            let step = row.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0;
            for (a, b) in row.iter().zip(brow) {
                assert!((a - b).abs() <= step * 0.5 + 1e-6, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn int4_groups_round_trip_within_half_a_step() {
        let data = ramp(Q4_GROUP * 5);
        let bytes = q4_groups(&data);
        assert_eq!(bytes.len(), q4_groups_len(data.len()));
        let back = dq4_groups(&bytes, data.len());
        for (g, bg) in data.chunks(Q4_GROUP).zip(back.chunks(Q4_GROUP)) {
            let step = g.iter().fold(0f32, |m, v| m.max(v.abs())) / 7.0;
            for (a, b) in g.iter().zip(bg) {
                assert!((a - b).abs() <= step * 0.51 + 1e-3, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn one_int4_row_decodes_like_the_whole_table() {
        let (rows, cols) = (5, Q4_GROUP * 3);
        let data = ramp(rows * cols);
        let bytes = q4_groups(&data);
        let all = dq4_groups(&bytes, data.len());
        for r in 0..rows {
            assert_eq!(
                dq4_row(&bytes, rows, cols, r),
                &all[r * cols..(r + 1) * cols]
            );
        }
    }

    #[test]
    fn selected_int4_rows_decode_like_the_originals() {
        let (rows, cols) = (6, Q4_GROUP * 2);
        let data = ramp(rows * cols);
        let bytes = q4_groups(&data);
        let picked = q4_select_rows(&bytes, rows, cols, &[4, 0, 5]);
        for (i, r) in [4, 0, 5].into_iter().enumerate() {
            assert_eq!(dq4_row(&picked, 3, cols, i), dq4_row(&bytes, rows, cols, r));
        }
    }

    #[test]
    fn all_zero_rows_stay_zero() {
        let data = vec![0f32; 64];
        assert!(split_q8_rows(&q8_rows(&data, 32), 2)
            .1
            .iter()
            .all(|&v| v == 0));
        assert!(dq4_groups(&q4_groups(&data), 64).iter().all(|&v| v == 0.0));
    }
}
