//! `tandem nlu` and `tandem eval`: try a bot's understanding line by line, and measure it on
//! public labelled data.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use tandem_nlu::classifier::Training;
use tandem_nlu::eval::{banking77, clinc150, evaluate};

use crate::chat::load_engine;

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
        println!("{}", serde_json::json!({ "text": line, "intents": found }));
    }
    Ok(ExitCode::SUCCESS)
}

/// Train and measure on CLINC150 and BANKING77 in `data` (../shared/data/intent).
pub fn eval_intents(data: &Path, limit: Option<usize>) -> anyhow::Result<ExitCode> {
    for dataset in [clinc150(&data.join("clinc150_data_full.json"))?, banking77(data)?] {
        let report = evaluate(&dataset, Training::default(), limit);
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}
