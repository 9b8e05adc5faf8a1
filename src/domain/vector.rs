//! Memory vectors as Rappel keeps them: int8, each vector scaled so its largest component is ±127. Cosine
//! similarity does not depend on a vector's length, so no scale is kept: a quantised vector is compared as it is,
//! or turned back into a unit vector. A 384-dimension vector takes 384 bytes instead of 1,536 (the loss of
//! recall is measured by `rappel eval`; see README, "The memory index").

/// A unit vector quantised to int8 (largest component ±127).
pub fn quantize(v: &[f32]) -> Vec<i8> {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        return vec![0; v.len()];
    }
    v.iter().map(|x| (x / max * 127.0).round() as i8).collect()
}

/// The unit vector a quantised vector stands for (a zero vector stays zero).
pub fn dequantize(q: &[i8]) -> Vec<f32> {
    let mut v: Vec<f32> = q.iter().map(|x| *x as f32).collect();
    super::normalise_unit(&mut v);
    v
}

/// Cosine similarity of a unit query and a quantised vector (0 for a zero vector).
pub fn cosine(query: &[f32], q: &[i8]) -> f32 {
    let (mut dot, mut norm) = (0.0f32, 0.0f32);
    for (a, b) in query.iter().zip(q) {
        let b = *b as f32;
        dot += a * b;
        norm += b * b;
    }
    if norm > 0.0 {
        dot / norm.sqrt()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{dot, normalise_unit};

    fn unit(seed: u64, n: usize) -> Vec<f32> {
        // A deterministic spread of components, as an embedding has.
        let mut v: Vec<f32> = (0..n)
            .map(|i| (((i as u64 + 1) * (seed * 2 + 1) * 2_654_435_761 % 1000) as f32 / 500.0) - 1.0)
            .collect();
        normalise_unit(&mut v);
        v
    }

    #[test]
    fn quantised_cosines_stay_within_a_hundredth_of_the_float_ones() {
        for seed in 0..20 {
            let (a, b) = (unit(seed, 384), unit(seed + 100, 384));
            let exact = dot(&a, &b);
            assert!((cosine(&a, &quantize(&b)) - exact).abs() < 0.01);
            assert!((dot(&dequantize(&quantize(&a)), &b) - exact).abs() < 0.01);
        }
    }

    #[test]
    fn scale_is_irrelevant_and_zero_stays_zero() {
        let a = unit(3, 16);
        let doubled: Vec<f32> = a.iter().map(|x| x * 2.0).collect();
        assert_eq!(quantize(&a), quantize(&doubled));
        assert_eq!(quantize(&[0.0; 4]), vec![0; 4]);
        assert_eq!(cosine(&a[..4], &[0; 4]), 0.0);
        assert!(quantize(&a).iter().any(|x| x.abs() == 127));
    }
}
