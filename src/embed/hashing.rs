//! A deterministic embedder for unit tests: bag of hashed words. Same words, same vector; no model needed.

use sha2::{Digest, Sha256};

use super::{normalise, EmbedError, Embedder, TextRole};

/// Hashes each lowercase word into one of `dim` buckets. Not semantic: only for tests of logic.
pub struct HashEmbedder {
    dim: usize,
}

impl HashEmbedder {
    /// An embedder producing `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Self {
        Self { dim }
    }
}

impl Embedder for HashEmbedder {
    fn name(&self) -> &str {
        "test-hash"
    }

    fn dimension(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str], _role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut v = vec![0.0; self.dim];
                for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                    let h = Sha256::digest(word.to_lowercase().as_bytes());
                    let bucket = u64::from_le_bytes(h[..8].try_into().expect("8 bytes")) as usize % self.dim;
                    v[bucket] += 1.0;
                }
                normalise(&mut v);
                v
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::cosine;

    #[test]
    fn same_words_give_the_same_unit_vector() {
        let e = HashEmbedder::new(64);
        let v = e
            .embed(&["Parcel lost", "lost parcel", "password reset"], TextRole::Passage)
            .unwrap();
        assert!((cosine(&v[0], &v[1]) - 1.0).abs() < 1e-6);
        assert!(cosine(&v[0], &v[2]) < 0.99);
        assert!((cosine(&v[0], &v[0]) - 1.0).abs() < 1e-6);
    }
}
