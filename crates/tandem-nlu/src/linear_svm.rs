//! One-vs-rest L2-loss linear SVMs solved by dual coordinate descent, with LIBLINEAR's
//! shrinking and stopping rule, eight classes at a time: an example is read once for eight
//! classes, and one feature's weights for those classes sit side by side, so a dot product
//! or an update is one pass over the example in eight lanes (one AVX2 instruction each
//! where the CPU has it). Deterministic (a fixed-seed order).

use crate::features::Sparse;

/// Classes trained together.
const LANES: usize = 8;
type Lanes = [f32; LANES];

/// One training example: sparse features, then an optional dense part.
pub(crate) struct Example {
    pub grams: Sparse,
    pub dense: Option<Vec<f32>>,
}

/// The training problem: `sparse` feature columns, then `dense` columns, then the bias.
pub(crate) struct Problem<'a> {
    pub examples: &'a [Example],
    /// The class of each example, in `0..classes`.
    pub labels: &'a [usize],
    pub classes: usize,
    pub sparse: usize,
    pub dense: usize,
}

impl Problem<'_> {
    fn rows(&self) -> usize {
        self.sparse + self.dense + 1
    }

    /// `w · x` in every lane.
    #[inline(always)]
    fn dot(&self, x: &Example, w: &[Lanes]) -> Lanes {
        let mut sum = w[self.rows() - 1];
        let grams = x.grams.iter().map(|&(f, v)| (&w[f as usize], v));
        add_products(&mut sum, grams);
        if let Some(dense) = &x.dense {
            add_products(&mut sum, w[self.sparse..].iter().zip(dense.iter().copied()));
        }
        sum
    }

    /// `w += step x` in every lane.
    #[inline(always)]
    fn add(&self, x: &Example, step: &Lanes, w: &mut [Lanes]) {
        let bias = self.rows() - 1;
        let add = |row: &mut Lanes, v: f32| row.iter_mut().zip(step).for_each(|(w, s)| *w += s * v);
        for &(f, v) in &x.grams {
            add(&mut w[f as usize], v);
        }
        if let Some(dense) = &x.dense {
            w[self.sparse..bias].iter_mut().zip(dense).for_each(|(row, &v)| add(row, v));
        }
        add(&mut w[bias], 1.0);
    }
}

/// `sum += Σ row · v`, in four running sums so that each addition need not wait for the
/// one before.
#[inline(always)]
fn add_products<'w>(sum: &mut Lanes, mut products: impl Iterator<Item = (&'w Lanes, f32)>) {
    let mut sums = [[0.0f32; LANES]; 4];
    let add = |s: &mut Lanes, (row, v): (&Lanes, f32)| s.iter_mut().zip(row).for_each(|(s, w)| *s += w * v);
    loop {
        let [s0, s1, s2, s3] = &mut sums;
        let Some(p) = products.next() else { break };
        add(s0, p);
        let Some(p) = products.next() else { break };
        add(s1, p);
        let Some(p) = products.next() else { break };
        add(s2, p);
        let Some(p) = products.next() else { break };
        add(s3, p);
    }
    for part in sums {
        sum.iter_mut().zip(part).for_each(|(s, p)| *s += p);
    }
}

/// Train one SVM per class with inverse regularisation `c`, for at most `epochs` passes,
/// until the projected gradients are within `tolerance` of each other (LIBLINEAR's `eps`);
/// returns feature-major weights, `weights[row * classes + class]`, rows as in [`Problem`].
pub(crate) fn train(problem: &Problem, c: f32, epochs: usize, tolerance: f32) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, as checked just above.
        return unsafe { train_avx2(problem, c, epochs, tolerance) };
    }
    train_in_lanes(problem, c, epochs, tolerance)
}

/// [`train_in_lanes`] compiled for AVX2, where eight lanes are one instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn train_avx2(problem: &Problem, c: f32, epochs: usize, tolerance: f32) -> Vec<f32> {
    train_in_lanes(problem, c, epochs, tolerance)
}

#[inline(always)]
fn train_in_lanes(problem: &Problem, c: f32, epochs: usize, tolerance: f32) -> Vec<f32> {
    let rows = problem.rows();
    let (n, k) = (problem.examples.len(), problem.classes);
    let d = 0.5 / c;
    let squared = |x: &Example| {
        x.grams.iter().map(|(_, v)| v * v).sum::<f32>() + x.dense.iter().flatten().map(|v| v * v).sum::<f32>()
    };
    // The diagonal of the dual's Hessian: |x|^2 with the bias, plus the L2-loss term.
    let qd: Vec<f32> = problem.examples.iter().map(|x| squared(x) + 1.0 + d).collect();
    let mut weights = vec![0.0f32; rows * k];
    let mut w = vec![[0.0f32; LANES]; rows];
    for first in (0..k).step_by(LANES) {
        let lanes = (k - first).min(LANES);
        w.fill([0.0; LANES]);
        let mut alpha = vec![[0.0f32; LANES]; n];
        let mut active: Vec<usize> = (0..n).collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ first as u64;
        // Shrinking as LIBLINEAR does it, per class: an example with no weight whose gradient
        // exceeds the largest projected gradient of the last pass is set aside for that
        // class, and left out of the pass once no class of the eight needs it.
        let mut shrink_above = [f32::INFINITY; LANES];
        for _ in 0..epochs {
            let mut largest = [f32::NEG_INFINITY; LANES];
            let mut smallest = [f32::INFINITY; LANES];
            // A new order every epoch, as LIBLINEAR does: coordinate descent converges faster.
            shuffle(&mut active, &mut state);
            let mut kept = 0;
            for at in 0..active.len() {
                let i = active[at];
                let x = &problem.examples[i];
                let wx = problem.dot(x, &w);
                let mut step = [0.0f32; LANES];
                let mut needed = false;
                for lane in 0..lanes {
                    let y = if problem.labels[i] == first + lane { 1.0 } else { -1.0 };
                    let a = alpha[i][lane];
                    let g = y * wx[lane] - 1.0 + d * a;
                    if a == 0.0 && g > shrink_above[lane] {
                        continue;
                    }
                    needed = true;
                    let projected = if a == 0.0 { g.min(0.0) } else { g };
                    largest[lane] = largest[lane].max(projected);
                    smallest[lane] = smallest[lane].min(projected);
                    if projected != 0.0 {
                        alpha[i][lane] = (a - g / qd[i]).max(0.0);
                        step[lane] = (alpha[i][lane] - a) * y;
                    }
                }
                if step.iter().any(|s| *s != 0.0) {
                    problem.add(x, &step, &mut w);
                }
                if needed {
                    active[kept] = i;
                    kept += 1;
                }
            }
            active.truncate(kept);
            if (0..lanes).all(|lane| largest[lane] - smallest[lane] <= tolerance) {
                if active.len() == n {
                    break;
                }
                // Converged on the active examples: check every example once more.
                active = (0..n).collect();
                shrink_above = [f32::INFINITY; LANES];
                continue;
            }
            for lane in 0..lanes {
                shrink_above[lane] = if largest[lane] > 0.0 { largest[lane] } else { f32::INFINITY };
            }
        }
        for (row, lanes_of_row) in w.iter().enumerate() {
            weights[row * k + first..row * k + first + lanes].copy_from_slice(&lanes_of_row[..lanes]);
        }
    }
    weights
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

    /// Ten classes (two blocks of lanes), each a sparse feature of its own plus a shared
    /// one, and a dense part that says nothing.
    fn problem_examples() -> (Vec<Example>, Vec<usize>) {
        let mut examples = Vec::new();
        let mut labels = Vec::new();
        for class in 0..10u32 {
            for copy in 0..5 {
                let grams = vec![(class, 0.8), (10, 0.6)];
                examples.push(Example { grams, dense: (copy % 2 == 0).then(|| vec![0.5, 0.5]) });
                labels.push(class as usize);
            }
        }
        (examples, labels)
    }

    #[test]
    fn every_class_wins_on_its_own_examples() {
        let (examples, labels) = problem_examples();
        let problem = Problem { examples: &examples, labels: &labels, classes: 10, sparse: 11, dense: 2 };
        let weights = train(&problem, 1.0, 50, 0.01);
        for class in 0..10 {
            let score = |c: usize| weights[class * 10 + c] * 0.8 + weights[10 * 10 + c] * 0.6 + weights[13 * 10 + c];
            let best = (0..10).max_by(|a, b| score(*a).total_cmp(&score(*b))).unwrap();
            assert_eq!(best, class);
            assert!(score(class) > 0.0, "{class}: {}", score(class));
        }
    }

    #[test]
    fn the_portable_and_the_avx2_code_agree() {
        let (examples, labels) = problem_examples();
        let problem = Problem { examples: &examples, labels: &labels, classes: 10, sparse: 11, dense: 2 };
        assert_eq!(train(&problem, 1.0, 50, 0.01), train_in_lanes(&problem, 1.0, 50, 0.01));
    }
}
