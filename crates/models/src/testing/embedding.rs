//! Deterministic fake embeddings.

/// A unit-length vector of `dimensions` values derived from a hash of `text`: the same text
/// always gives the same vector, different texts (almost surely) different ones. It carries no
/// meaning: only identical texts are similar.
pub fn hash_embedding(text: &str, dimensions: usize) -> Vec<f32> {
    // FNV-1a seeds a splitmix64 sequence: tiny, dependency-free and stable across platforms.
    let mut state = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut values: Vec<f32> = (0..dimensions)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            // The top 24 bits map exactly onto f32's mantissa: a value in [-1, 1).
            ((z >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect();
    let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        values.iter_mut().for_each(|v| *v /= norm);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_unit_length_and_text_dependent() {
        let a = hash_embedding("hello", 384);
        assert_eq!(a.len(), 384);
        assert_eq!(a, hash_embedding("hello", 384));
        assert_ne!(a, hash_embedding("hello!", 384));
        let norm: f32 = a.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        assert!(hash_embedding("x", 0).is_empty());
    }
}
