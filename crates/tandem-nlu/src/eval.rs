//! Measuring intent classification on public labelled data (CLINC150, BANKING77), by the
//! protocol of ../shared/data/README.md: train on `train`, pick the out-of-scope threshold
//! on `val`, report in-scope accuracy and out-of-scope recall on `test`, macro-F1, train time
//! and time per prediction.

use std::path::Path;
use std::time::Instant;

use crate::classifier::{Classifier, Training};

/// A labelled split: (text, label); out-of-scope examples have the label [`OUT_OF_SCOPE`].
pub type Split = Vec<(String, String)>;

pub use crate::intents::OUT_OF_SCOPE;

/// A dataset's splits.
#[derive(Debug, Default)]
pub struct Dataset {
    pub name: String,
    pub train: Split,
    /// In-scope and out-of-scope validation examples (to choose the threshold); may be empty.
    pub val: Split,
    pub test: Split,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: {1}")]
    Format(String, String),
}

/// CLINC150 (`clinc150_data_full.json`): oos examples become [`OUT_OF_SCOPE`], and `oos_train`
/// is trained on as one more class (the protocol allows it; the paper calls it "oos-train").
pub fn clinc150(path: &Path) -> Result<Dataset, DataError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| DataError::Io(shown.clone(), e))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| DataError::Format(shown.clone(), e.to_string()))?;
    let split = |names: &[&str]| -> Split {
        names
            .iter()
            .flat_map(|name| json[*name].as_array().cloned().unwrap_or_default())
            .filter_map(|pair| {
                let text = pair[0].as_str()?.to_string();
                let label = pair[1].as_str()?;
                Some((text, if label == "oos" { OUT_OF_SCOPE.to_string() } else { label.to_string() }))
            })
            .collect()
    };
    Ok(Dataset {
        name: "CLINC150".into(),
        train: split(&["train", "oos_train"]),
        val: split(&["val", "oos_val"]),
        test: split(&["test", "oos_test"]),
    })
}

/// BANKING77 (`banking77_train.csv`, `banking77_test.csv`, `text,category`); no out-of-scope.
pub fn banking77(dir: &Path) -> Result<Dataset, DataError> {
    let read = |file: &str| -> Result<Split, DataError> {
        let path = dir.join(file);
        let shown = path.display().to_string();
        let mut reader = csv::Reader::from_path(&path).map_err(|e| DataError::Format(shown.clone(), e.to_string()))?;
        reader
            .records()
            .map(|r| {
                let r = r.map_err(|e| DataError::Format(shown.clone(), e.to_string()))?;
                Ok((r.get(0).unwrap_or("").to_string(), r.get(1).unwrap_or("").to_string()))
            })
            .collect()
    };
    Ok(Dataset {
        name: "BANKING77".into(),
        train: read("banking77_train.csv")?,
        val: Vec::new(),
        test: read("banking77_test.csv")?,
    })
}

/// What a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntentReport {
    pub dataset: String,
    pub train_examples: usize,
    pub in_scope_accuracy: f64,
    /// None when the dataset has no out-of-scope test examples.
    pub out_of_scope_recall: Option<f64>,
    pub macro_f1: f64,
    pub threshold: f32,
    pub train_seconds: f64,
    pub micros_per_prediction: f64,
}

/// Train on `train`, choose the threshold on `val`, measure on `test` (at most `limit` test
/// examples, for quick runs).
pub fn evaluate(data: &Dataset, settings: Training, limit: Option<usize>) -> IntentReport {
    let started = Instant::now();
    let model = Classifier::train(&data.train, settings);
    let train_seconds = started.elapsed().as_secs_f64();

    let threshold = choose_threshold(&model, &data.val);
    let test: Vec<&(String, String)> = data.test.iter().take(limit.unwrap_or(usize::MAX)).collect();
    let started = Instant::now();
    let predicted: Vec<String> = test.iter().map(|(text, _)| predict(&model, text, threshold)).collect();
    let micros = started.elapsed().as_secs_f64() * 1e6 / test.len().max(1) as f64;

    let (mut right, mut total, mut oos_right, mut oos_total) = (0usize, 0usize, 0usize, 0usize);
    for ((_, gold), guess) in test.iter().zip(&predicted) {
        if gold == OUT_OF_SCOPE {
            oos_total += 1;
            oos_right += usize::from(guess == OUT_OF_SCOPE);
        } else {
            total += 1;
            right += usize::from(guess == gold);
        }
    }
    IntentReport {
        dataset: data.name.clone(),
        train_examples: data.train.len(),
        in_scope_accuracy: right as f64 / total.max(1) as f64,
        out_of_scope_recall: (oos_total > 0).then(|| oos_right as f64 / oos_total as f64),
        macro_f1: macro_f1(&test.iter().map(|(_, g)| g.as_str()).collect::<Vec<_>>(), &predicted),
        threshold,
        train_seconds,
        micros_per_prediction: micros,
    }
}

fn predict(model: &Classifier, text: &str, threshold: f32) -> String {
    match model.best(text) {
        Some((i, score)) if score >= threshold => model.labels()[i].clone(),
        _ => OUT_OF_SCOPE.to_string(),
    }
}

/// The out-of-scope recall the threshold aims for on the validation split.
pub const TARGET_OOS_RECALL: f64 = 0.6;

/// The threshold on [`Classifier::best`]'s score with the best in-scope accuracy on the validation split among
/// those that reach [`TARGET_OOS_RECALL`] (no threshold without out-of-scope data).
pub fn choose_threshold(model: &Classifier, val: &Split) -> f32 {
    // (gold is out of scope, right label, in-scope score, predicted out of scope)
    let scored: Vec<(bool, bool, f32, bool)> = val
        .iter()
        .filter_map(|(text, gold)| {
            let (i, score) = model.best(text)?;
            let label = &model.labels()[i];
            Some((gold == OUT_OF_SCOPE, label == gold, score, label == OUT_OF_SCOPE))
        })
        .collect();
    let (oos, ins) = (scored.iter().filter(|s| s.0).count(), scored.iter().filter(|s| !s.0).count());
    if oos == 0 || ins == 0 {
        return f32::MIN;
    }
    // Every score seen is a candidate: the threshold just at it.
    let mut candidates: Vec<f32> = scored.iter().map(|s| s.2).collect();
    candidates.sort_by(f32::total_cmp);
    candidates.dedup();
    let mut best = (f64::MIN, f32::MIN);
    for t in candidates {
        let accuracy = scored.iter().filter(|(o, right, s, _)| !o && *right && *s >= t).count() as f64 / ins as f64;
        let recall = scored.iter().filter(|(o, _, s, none)| *o && (*none || *s < t)).count() as f64 / oos as f64;
        if recall >= TARGET_OOS_RECALL && accuracy > best.0 {
            best = (accuracy, t);
        }
    }
    best.1
}

/// Macro-averaged F1 over the gold labels.
pub fn macro_f1(gold: &[&str], predicted: &[String]) -> f64 {
    let mut labels: Vec<&str> = gold.to_vec();
    labels.sort_unstable();
    labels.dedup();
    let f1s: Vec<f64> = labels
        .iter()
        .map(|label| {
            let tp = gold.iter().zip(predicted).filter(|(g, p)| *g == label && p == label).count() as f64;
            let fp = gold.iter().zip(predicted).filter(|(g, p)| *g != label && p == label).count() as f64;
            let fn_ = gold.iter().zip(predicted).filter(|(g, p)| *g == label && p != label).count() as f64;
            if tp == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fn_) }
        })
        .collect();
    f1s.iter().sum::<f64>() / f1s.len().max(1) as f64
}

/// The four VADER human-rated sets: (name, file stem).
pub const SENTIMENT_SETS: [(&str, &str); 4] = [
    ("tweets", "tweets"),
    ("movie", "movieReviewSnippets"),
    ("amazon", "amazonReviewSnippets"),
    ("nyt", "nytEditorialSnippets"),
];

/// `(text, mean rating / 4)` of a `*_GroundTruth.txt` file (`id<TAB>rating<TAB>text`).
pub fn sentiment_set(path: &Path) -> Result<Vec<(String, f64)>, DataError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| DataError::Io(shown, e))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let _id = parts.next()?;
            let rating: f64 = parts.next()?.trim().parse().ok()?;
            Some((parts.next().unwrap_or("").to_string(), rating / 4.0))
        })
        .collect())
}

/// What a sentiment run measured on one set.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SentimentReport {
    pub set: String,
    pub texts: usize,
    pub pearson_r: f64,
    /// 3-class macro-F1 with the VADER paper's thresholds (> 0.05 positive, < -0.05 negative).
    pub macro_f1: f64,
    pub micros_per_text: f64,
}

/// Score every text and compare with the human ratings.
pub fn evaluate_sentiment(name: &str, set: &[(String, f64)], score: impl Fn(&str) -> f64) -> SentimentReport {
    let started = Instant::now();
    let predicted: Vec<f64> = set.iter().map(|(t, _)| score(t)).collect();
    let micros = started.elapsed().as_secs_f64() * 1e6 / set.len().max(1) as f64;
    let gold: Vec<f64> = set.iter().map(|(_, g)| *g).collect();
    let class = |x: f64| {
        if x > 0.05 {
            "positive"
        } else if x < -0.05 {
            "negative"
        } else {
            "neutral"
        }
    };
    let gold_classes: Vec<&str> = gold.iter().map(|g| class(*g)).collect();
    let predicted_classes: Vec<String> = predicted.iter().map(|p| class(*p).to_string()).collect();
    SentimentReport {
        set: name.to_string(),
        texts: set.len(),
        pearson_r: pearson(&predicted, &gold),
        macro_f1: macro_f1(&gold_classes, &predicted_classes),
        micros_per_text: micros,
    }
}

/// Pearson's correlation coefficient.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    if vx == 0.0 || vy == 0.0 { 0.0 } else { cov / (vx.sqrt() * vy.sqrt()) }
}
