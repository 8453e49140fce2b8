//! A linear intent classifier trained from examples: one-vs-rest L2-loss linear SVMs solved
//! by dual coordinate descent (the LIBLINEAR method), on TF-IDF word and character n-grams.
//! Deterministic (a fixed-seed order), trained when a bot loads.

use crate::features::{Sparse, Vocabulary, hashed_counts};

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct Training {
    /// Inverse regularisation strength (as LinearSVC's C).
    pub c: f32,
    pub epochs: usize,
}

impl Default for Training {
    fn default() -> Self {
        Self { c: 2.0, epochs: 20 }
    }
}

/// A trained classifier.
#[derive(Debug, Clone)]
pub struct Classifier {
    labels: Vec<String>,
    vocab: Vocabulary,
    /// Feature-major weights: `weights[f * labels + c]`; the last row is the bias.
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
        let xs: Vec<Sparse> = counts.iter().map(|c| vocab.vector(c)).collect();
        let ys: Vec<usize> = examples.iter().map(|(_, l)| labels.binary_search(l).unwrap_or(0)).collect();
        let k = labels.len();
        let features = vocab.len();
        let mut weights = vec![0.0f32; (features + 1) * k];
        let order = shuffled(xs.len());
        let d = 0.5 / settings.c;
        // |x|^2 = 1 (L2-normalised) plus the bias feature.
        let qd = 2.0 + d;
        let mut w = vec![0.0f32; features + 1];
        for class in 0..k {
            w.iter_mut().for_each(|x| *x = 0.0);
            let mut alpha = vec![0.0f32; xs.len()];
            let mut active: Vec<usize> = order.clone();
            for epoch in 0..settings.epochs {
                let mut changed = 0.0f32;
                let mut keep = Vec::with_capacity(active.len());
                for &i in &active {
                    let x = &xs[i];
                    let y = if ys[i] == class { 1.0 } else { -1.0 };
                    let wx: f32 = x.iter().map(|&(f, v)| w[f as usize] * v).sum::<f32>() + w[features];
                    let g = y * wx - 1.0 + d * alpha[i];
                    // Shrinking: a sample well outside the margin with no weight is set aside.
                    if alpha[i] == 0.0 && g > 0.5 && epoch + 1 < settings.epochs {
                        continue;
                    }
                    keep.push(i);
                    let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
                    if pg.abs() > 1e-6 {
                        let old = alpha[i];
                        alpha[i] = (old - g / qd).max(0.0);
                        let step = (alpha[i] - old) * y;
                        for &(f, v) in x {
                            w[f as usize] += step * v;
                        }
                        w[features] += step;
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
        Self { labels, vocab, weights }
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The decision value of every label for `text`.
    pub fn scores(&self, text: &str) -> Vec<f32> {
        let k = self.labels.len();
        let bias_row = self.vocab.len();
        let mut scores = self.weights[bias_row * k..(bias_row + 1) * k].to_vec();
        for (f, v) in self.vocab.vector(&hashed_counts(text)) {
            let row = &self.weights[f as usize * k..(f as usize + 1) * k];
            scores.iter_mut().zip(row).for_each(|(s, w)| *s += w * v);
        }
        scores
    }

    /// The best label and its decision value.
    pub fn best(&self, text: &str) -> Option<(usize, f32)> {
        self.scores(text).into_iter().enumerate().max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// A fixed pseudo-random order (xorshift), so training is deterministic.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
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
    fn training_is_deterministic() {
        let a = Classifier::train(&examples(), Training::default());
        let b = Classifier::train(&examples(), Training::default());
        assert_eq!(a.scores("hello there"), b.scores("hello there"));
    }
}
