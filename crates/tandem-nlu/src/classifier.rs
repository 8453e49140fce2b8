//! A linear intent classifier trained from examples: one-vs-rest L2-loss linear SVMs solved
//! by dual coordinate descent (the LIBLINEAR method), on TF-IDF word and character n-grams
//! plus the message's static word vector ([`crate::word_vectors`]). Deterministic (a
//! fixed-seed order), trained when a bot loads.

use crate::features::{Sparse, Vocabulary, hashed_counts};
use crate::word_vectors::{DIMS, WordVectors};

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct Training {
    /// Inverse regularisation strength (as LinearSVC's C).
    pub c: f32,
    pub epochs: usize,
    /// Length of the word-vector part of a message's features (the n-gram part has length
    /// 1); 0 leaves word vectors out.
    pub word_vector_weight: f32,
}

impl Default for Training {
    fn default() -> Self {
        Self { c: 2.0, epochs: 30, word_vector_weight: 1.0 }
    }
}

/// A message's features: sparse n-grams, and its word vector scaled by the training weight.
struct Features {
    grams: Sparse,
    vector: Option<[f32; DIMS]>,
}

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct Classifier {
    labels: Vec<String>,
    vocab: Vocabulary,
    word_vector_weight: f32,
    /// Feature-major weights: `weights[f * labels + c]`: the n-gram rows, then `DIMS`
    /// word-vector rows, then the bias.
    weights: Vec<f32>,
}

impl Classifier {
    /// Train on `(text, label)` examples.
    pub fn train(examples: &[(String, String)], settings: Training) -> Self {
        let mut labels: Vec<String> = examples.iter().map(|(_, l)| l.clone()).collect();
        labels.sort();
        labels.dedup();
        let counts: Vec<_> = examples.iter().map(|(t, _)| hashed_counts(t)).collect();
        let vocab = Vocabulary::fit(&counts);
        let weight = settings.word_vector_weight;
        let xs: Vec<Features> = counts
            .iter()
            .zip(examples)
            .map(|(c, (text, _))| Features { grams: vocab.vector(c), vector: word_vector(text, weight) })
            .collect();
        let ys: Vec<usize> = examples.iter().map(|(_, l)| labels.binary_search(l).unwrap_or(0)).collect();
        let k = labels.len();
        let features = vocab.len();
        let bias = features + DIMS;
        let mut weights = vec![0.0f32; (bias + 1) * k];
        let d = 0.5 / settings.c;
        // The n-grams have length 1 (or less): |x|^2 <= 1 + weight^2 (when it has a vector) + 1 (bias).
        let qds: Vec<f32> =
            xs.iter().map(|x| 2.0 + d + if x.vector.is_some() { weight * weight } else { 0.0 }).collect();
        let mut w = vec![0.0f32; bias + 1];
        for class in 0..k {
            w.iter_mut().for_each(|x| *x = 0.0);
            let mut alpha = vec![0.0f32; xs.len()];
            let mut active: Vec<usize> = (0..xs.len()).collect();
            let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ class as u64;
            for epoch in 0..settings.epochs {
                let mut changed = 0.0f32;
                let mut keep = Vec::with_capacity(active.len());
                // A new order every epoch, as LIBLINEAR does: coordinate descent converges faster.
                shuffle(&mut active, &mut state);
                for &i in &active {
                    let x = &xs[i];
                    let y = if ys[i] == class { 1.0 } else { -1.0 };
                    let mut wx: f32 = x.grams.iter().map(|&(f, v)| w[f as usize] * v).sum::<f32>() + w[bias];
                    if let Some(vector) = &x.vector {
                        wx += dot(&w[features..bias], vector);
                    }
                    let g = y * wx - 1.0 + d * alpha[i];
                    // Shrinking: a sample well outside the margin with no weight is set aside.
                    if alpha[i] == 0.0 && g > 0.5 && epoch + 1 < settings.epochs {
                        continue;
                    }
                    keep.push(i);
                    let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
                    if pg.abs() > 1e-6 {
                        let old = alpha[i];
                        alpha[i] = (old - g / qds[i]).max(0.0);
                        let step = (alpha[i] - old) * y;
                        for &(f, v) in &x.grams {
                            w[f as usize] += step * v;
                        }
                        if let Some(vector) = &x.vector {
                            w[features..bias].iter_mut().zip(vector).for_each(|(w, v)| *w += step * v);
                        }
                        w[bias] += step;
                        changed += step.abs();
                    }
                }
                active = keep;
                if changed < 1e-3 {
                    break;
                }
            }
            for (f, weight) in w.iter().enumerate() {
                weights[f * k + class] = *weight;
            }
        }
        Self { labels, vocab, word_vector_weight: weight, weights }
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The decision value of every label for `text`.
    pub fn scores(&self, text: &str) -> Vec<f32> {
        let k = self.labels.len();
        let features = self.vocab.len();
        let bias = features + DIMS;
        let mut scores = self.weights[bias * k..(bias + 1) * k].to_vec();
        let mut add_row = |f: usize, v: f32| {
            let row = &self.weights[f * k..(f + 1) * k];
            scores.iter_mut().zip(row).for_each(|(s, w)| *s += w * v);
        };
        for (f, v) in self.vocab.vector(&hashed_counts(text)) {
            add_row(f as usize, v);
        }
        if let Some(vector) = word_vector(text, self.word_vector_weight) {
            vector.iter().enumerate().for_each(|(j, &v)| add_row(features + j, v));
        }
        scores
    }

    /// The best label and its decision value.
    pub fn best(&self, text: &str) -> Option<(usize, f32)> {
        self.scores(text).into_iter().enumerate().max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// The message's word vector scaled to length `weight`, unless the weight is 0 or the
/// message has no known word piece.
fn word_vector(text: &str, weight: f32) -> Option<[f32; DIMS]> {
    if weight == 0.0 {
        return None;
    }
    let mut vector = WordVectors::builtin().message(text)?;
    vector.iter_mut().for_each(|v| *v *= weight);
    Some(vector)
}

/// A dot product in eight lanes, so that it vectorises.
fn dot(a: &[f32], b: &[f32; DIMS]) -> f32 {
    let mut lanes = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for lane in 0..8 {
            lanes[lane] += x[lane] * y[lane];
        }
    }
    lanes.iter().sum()
}

/// Shuffle in place with a seeded xorshift, so training is deterministic.
fn shuffle(items: &mut [usize], state: &mut u64) {
    for i in (1..items.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        items.swap(i, (*state % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> Vec<(String, String)> {
        [
            ("where is my order", "track"),
            ("track my parcel", "track"),
            ("has my package shipped", "track"),
            ("i want to return this", "return"),
            ("how do i send it back", "return"),
            ("refund please", "return"),
        ]
        .iter()
        .map(|(t, l)| (t.to_string(), l.to_string()))
        .collect()
    }

    #[test]
    fn learns_from_examples_and_generalises_a_little() {
        let c = Classifier::train(&examples(), Training::default());
        let label = |t: &str| c.labels()[c.best(t).unwrap().0].clone();
        assert_eq!(label("where's my parcel"), "track");
        assert_eq!(label("can I get a refund"), "return");
    }

    #[test]
    fn word_vectors_carry_meaning_beyond_the_examples_words() {
        let with = Classifier::train(&examples(), Training::default());
        let without = Classifier::train(&examples(), Training { word_vector_weight: 0.0, ..Training::default() });
        let margin = |c: &Classifier, t: &str| {
            let s = c.scores(t);
            let track = c.labels().iter().position(|l| l == "track").unwrap();
            s[track] - s[1 - track]
        };
        // Synonyms of the examples' words: the vectors pull them the right way.
        for (text, toward_track) in [("delivery status", true), ("shipment status", true), ("money back", false)] {
            let sign = if toward_track { 1.0 } else { -1.0 };
            assert!(sign * margin(&with, text) > sign * margin(&without, text), "{text}");
            assert!(sign * margin(&with, text) > 0.0, "{text}");
        }
    }

    #[test]
    fn training_is_deterministic() {
        let a = Classifier::train(&examples(), Training::default());
        let b = Classifier::train(&examples(), Training::default());
        assert_eq!(a.scores("hello there"), b.scores("hello there"));
    }
}
