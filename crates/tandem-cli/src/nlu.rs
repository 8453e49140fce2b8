//! `tandem nlu` and `tandem eval`: try a bot's understanding line by line, and measure it on
//! public labelled data.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use tandem_nlu::classifier::Training;
use tandem_nlu::eval::{SENTIMENT_SETS, banking77, clinc150, evaluate, evaluate_sentiment, sentiment_set};
use tandem_nlu::sentiment::SentimentAnalyzer;

use crate::chat::load_engine;
use crate::output;

/// One JSON object per stdin line: the intents the bot finds, most confident first.
pub fn intents(bot: &Path) -> anyhow::Result<ExitCode> {
    let engine = load_engine(bot)?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let found: Vec<serde_json::Value> = engine
            .understand(&line)
            .into_iter()
            .map(|s| serde_json::json!({ "intent": s.intent, "confidence": (s.confidence * 1000.0).round() / 1000.0 }))
            .collect();
        output::line(serde_json::json!({ "text": line, "intents": found }))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Train and measure on CLINC150 and BANKING77 in `data` (../shared/data/intent).
pub fn eval_intents(data: &Path, limit: Option<usize>) -> anyhow::Result<ExitCode> {
    for dataset in [clinc150(&data.join("clinc150_data_full.json"))?, banking77(data)?] {
        let report = evaluate(&dataset, Training::default(), limit);
        output::line(serde_json::to_string(&report)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One JSON object per stdin line: VADER's score and Tandem's (with the support extension,
/// and the bot's own cues when a bot is given).
pub fn sentiment(bot: Option<&Path>) -> anyhow::Result<ExitCode> {
    let engine = bot.map(load_engine).transpose()?;
    let (ours, vader) = (SentimentAnalyzer::default(), SentimentAnalyzer::vader_only());
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let score = engine.as_ref().map_or_else(|| ours.score(&line), |e| e.sentiment(&line));
        let round = |x: f64| (x * 10000.0).round() / 10000.0;
        let json = serde_json::json!({ "text": line, "compound": round(score), "vader": round(vader.score(&line)) });
        output::line(json)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Pearson r and 3-class macro-F1 on the four VADER human-rated sets in `data`
/// (../shared/data/sentiment), for plain VADER and for Tandem's extension.
pub fn eval_sentiment(data: &Path, limit: Option<usize>) -> anyhow::Result<ExitCode> {
    let (ours, vader) = (SentimentAnalyzer::default(), SentimentAnalyzer::vader_only());
    for (name, stem) in SENTIMENT_SETS {
        let mut set = sentiment_set(&data.join(format!("{stem}_GroundTruth.txt")))?;
        set.truncate(limit.unwrap_or(usize::MAX));
        for (scorer, analyzer) in [("vader", &vader), ("tandem", &ours)] {
            let report = evaluate_sentiment(name, &set, |t| analyzer.score(t));
            let mut json = serde_json::to_value(&report)?;
            json["scorer"] = scorer.into();
            output::line(json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
