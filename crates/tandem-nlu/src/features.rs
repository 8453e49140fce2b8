//! Turning a message into a sparse TF-IDF vector: lowercase word unigrams and bigrams, and
//! character 2- to 5-grams of the words joined by single spaces (so grams cross word
//! boundaries), hashed (FNV-1a), with sublinear term frequency and L2 normalisation.
//! Deterministic: the same text gives the same vector.

use std::collections::HashMap;

/// A sparse vector: (feature index, value), sorted by index.
pub type Sparse = Vec<(u32, f32)>;

/// Maps keyed by feature hashes (already well mixed): foldhash, not SipHash.
pub type FeatureMap<V> = HashMap<u64, V, foldhash::fast::FixedState>;

/// The hashed features of a text, with their counts.
pub fn hashed_counts(text: &str) -> FeatureMap<f32> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let mut counts: FeatureMap<f32> = FeatureMap::with_capacity_and_hasher(words.len() * 20, Default::default());
    let mut add = |key: u64| *counts.entry(key).or_insert(0.0) += 1.0;
    for (i, word) in words.iter().enumerate() {
        add(fnv(b'w', word.as_bytes(), b""));
        if let Some(next) = words.get(i + 1) {
            add(fnv(b'b', word.as_bytes(), next.as_bytes()));
        }
    }
    let joined: Vec<char> = std::iter::once(' ').chain(words.join(" ").chars()).chain(std::iter::once(' ')).collect();
    let mut buf = [0u8; 32];
    for n in 2..=5 {
        for gram in joined.windows(n) {
            let mut len = 0;
            for c in gram {
                len += c.encode_utf8(&mut buf[len..]).len();
            }
            add(fnv(b'c', &buf[..len], b""));
        }
    }
    counts
}

/// FNV-1a over a kind tag and one or two byte strings.
fn fnv(kind: u8, a: &[u8], b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in std::iter::once(&kind).chain(a).chain(std::iter::once(&0u8)).chain(b) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A vocabulary of the features seen in training, with their IDF.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    index: FeatureMap<u32>,
    idf: Vec<f32>,
}

impl Vocabulary {
    /// Learn the vocabulary and IDF (smoothed, as scikit-learn) from training texts.
    pub fn fit(docs: &[FeatureMap<f32>]) -> Self {
        let mut index: FeatureMap<u32> = FeatureMap::default();
        let mut df: Vec<f32> = Vec::new();
        for doc in docs {
            let mut keys: Vec<&u64> = doc.keys().collect();
            keys.sort_unstable();
            for key in keys {
                let next = index.len() as u32;
                let i = *index.entry(*key).or_insert(next);
                if i as usize == df.len() {
                    df.push(0.0);
                }
                df[i as usize] += 1.0;
            }
        }
        let n = docs.len() as f32;
        let idf = df.iter().map(|d| ((1.0 + n) / (1.0 + d)).ln() + 1.0).collect();
        Self { index, idf }
    }

    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// The TF-IDF vector of hashed counts (features not seen in training are dropped).
    pub fn vector(&self, counts: &FeatureMap<f32>) -> Sparse {
        let mut v: Sparse = counts
            .iter()
            .filter_map(|(key, tf)| self.index.get(key).map(|&i| (i, (1.0 + tf.ln()) * self.idf[i as usize])))
            .collect();
        v.sort_unstable_by_key(|(i, _)| *i);
        let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|(_, x)| *x /= norm);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_bigrams_and_char_grams() {
        let counts = hashed_counts("Hi, hi!");
        // w:hi, b:hi hi, and the char grams of " hi hi ": " h","hi","i "," hi","hi ","i h",
        // " hi ","hi h","i hi"," hi h","hi hi","i hi "
        assert_eq!(counts.len(), 14);
        assert_eq!(counts[&fnv(b'w', b"hi", b"")], 2.0);
        assert_eq!(counts[&fnv(b'c', b" hi", b"")], 2.0);
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let docs = vec![hashed_counts("where is my order"), hashed_counts("track my parcel")];
        let vocab = Vocabulary::fit(&docs);
        let v = vocab.vector(&hashed_counts("where is my parcel?"));
        let norm: f32 = v.iter().map(|(_, x)| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(v, vocab.vector(&hashed_counts("where is my parcel?")));
        assert!(vocab.vector(&hashed_counts("🤬🤬")).is_empty());
    }
}
