//! The support cues as one case-insensitive regex set, searched in one pass, and kept fast
//! for messages with emoji.
//!
//! A cue's Unicode `\b` needs to know whether the characters around it are word characters.
//! The lazy DFA knows that only for ASCII, so it gave up at a message's first emoji, and
//! finding which cues matched then fell to the PikeVM: ~15 µs for "third time and nobody
//! answers 😡" against ~0.3 µs without the emoji. So before the search, every non-ASCII
//! character that is not a word character (emoji, symbols, non-ASCII spaces and punctuation)
//! is read as one ASCII control character, [`SYMBOL`]. That character is not a word character
//! either, so every `\b` and `.` sees the same as before, and the message stays ASCII unless it
//! has non-ASCII letters (the search is then as before). It is done only when no cue can tell
//! the two apart: checked on the cues' syntax when the set is built (a class that holds some
//! of those characters but not [`SYMBOL`], a literal emoji, a byte-wise `(?-u)` class). Then
//! the set matches the folded message exactly when it matches the message (tested against the
//! unfolded search).

use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet, meta};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};

/// What the non-ASCII characters that are not word characters are read as.
const SYMBOL: char = '\u{1}';

/// Cue patterns with their valences, searched together.
pub(crate) struct CueSet {
    regex: meta::Regex,
    valences: Vec<f64>,
    /// No cue tells a non-ASCII non-word character from [`SYMBOL`]: messages may be folded.
    fold_symbols: bool,
}

impl CueSet {
    /// The set of `cues` (pattern, valence). Searched without a literal prefilter: for a chat
    /// message the prefilter's scan for the cues' many case-insensitive words cost more than the
    /// lazy DFA's one pass (65 -> 33 ns a message over the benchmark's dialogue).
    pub(crate) fn new<'p>(cues: impl IntoIterator<Item = (&'p str, f64)>) -> Result<Self, Box<meta::BuildError>> {
        let (patterns, valences): (Vec<&str>, Vec<f64>) = cues.into_iter().unzip();
        let syntax = syntax::Config::new().case_insensitive(true);
        let regex = meta::Regex::builder()
            .configure(meta::Regex::config().match_kind(MatchKind::All).auto_prefilter(false))
            .syntax(syntax)
            .build_many(&patterns)
            .map_err(Box::new)?;
        let symbols = non_ascii_symbols();
        // The set built, so every pattern parses.
        let fold_symbols = syntax::parse_many_with(&patterns, &syntax)
            .is_ok_and(|hirs| hirs.iter().all(|hir| reads_symbols_alike(hir, &symbols)));
        Ok(Self { regex, valences, fold_symbols })
    }

    pub(crate) fn len(&self) -> usize {
        self.valences.len()
    }

    /// The valences of the cues found in `text`, each cue counted once, added up.
    pub(crate) fn valence(&self, text: &str) -> f64 {
        let folded;
        let text = match !text.is_ascii() && self.fold_symbols {
            true => {
                folded = fold_symbols(text);
                folded.as_str()
            }
            false => text,
        };
        // Most messages have no cue: the quick test allocates nothing, the full one a set.
        if !self.regex.is_match(text) {
            return 0.0;
        }
        let mut found = PatternSet::new(self.len());
        self.regex.which_overlapping_matches(&Input::new(text), &mut found);
        found.iter().map(|cue| self.valences[cue.as_usize()]).sum()
    }

    /// The indexes of the cues found in `text` as it is, in order (for tests).
    #[cfg(test)]
    fn found(&self, text: &str) -> Vec<usize> {
        let mut found = PatternSet::new(self.len());
        self.regex.which_overlapping_matches(&Input::new(text), &mut found);
        found.iter().map(|cue| cue.as_usize()).collect()
    }
}

/// `text` with every non-ASCII character that is not a word character as [`SYMBOL`].
fn fold_symbols(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii() || regex_syntax::is_word_character(c) { c } else { SYMBOL }).collect()
}

/// The non-ASCII characters that are not word characters (Unicode `\W` above ASCII).
fn non_ascii_symbols() -> ClassUnicode {
    let mut symbols = ClassUnicode::new([ClassUnicodeRange::new('\u{80}', char::MAX)]);
    symbols.difference(&word_class());
    symbols
}

/// Unicode `\w`.
fn word_class() -> ClassUnicode {
    match regex_syntax::parse(r"\w").map(|hir| hir.kind().clone()) {
        Ok(HirKind::Class(Class::Unicode(word))) => word,
        _ => ClassUnicode::empty(),
    }
}

/// True when nothing in `hir` can tell any of `symbols` from [`SYMBOL`]: each class holds all
/// of them and it, or none of them and not it; no literal holds one of them or it; no byte class.
fn reads_symbols_alike(hir: &Hir, symbols: &ClassUnicode) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0)
            .is_ok_and(|text| text.chars().all(|c| c != SYMBOL && (c.is_ascii() || !contains(symbols, c)))),
        HirKind::Class(Class::Unicode(class)) => {
            let mut held = class.clone();
            held.intersect(symbols);
            let holds_symbol = contains(class, SYMBOL);
            (holds_symbol && held == *symbols) || (!holds_symbol && held.ranges().is_empty())
        }
        HirKind::Class(Class::Bytes(_)) => false,
        HirKind::Repetition(repetition) => reads_symbols_alike(&repetition.sub, symbols),
        HirKind::Capture(capture) => reads_symbols_alike(&capture.sub, symbols),
        HirKind::Concat(all) | HirKind::Alternation(all) => all.iter().all(|sub| reads_symbols_alike(sub, symbols)),
    }
}

fn contains(class: &ClassUnicode, c: char) -> bool {
    class.ranges().iter().any(|range| range.start() <= c && c <= range.end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> CueSet {
        CueSet::new(patterns.iter().map(|p| (*p, -1.0))).unwrap()
    }

    #[test]
    fn emoji_are_folded_and_letters_kept() {
        let text = "nobody answers 😡 déjà\u{a0}vu «ok»";
        assert_eq!(fold_symbols(text), "nobody answers \u{1} déjà\u{1}vu \u{1}ok\u{1}");
    }

    #[test]
    fn a_set_folds_only_when_no_cue_tells_symbols_apart() {
        let folds = |patterns: &[&str]| set(patterns).fold_symbols;
        assert!(folds(&[r"\bstill waiting\b", r"\bnobody\b.{0,20}\banswers\b", r"\bkelvin\b", r"[^a-z]+", r"\W"]));
        assert!(folds(&[r"\bärger\b", r"\w+", r"\bstraße\b"]), "letters are never folded");
        for unsafe_cue in [r"😡", r"[😡🤬]", r"\s", r"\p{So}", r"(?-u:[a-z])", r"\x01", r"[\x00-\x7f]"] {
            assert!(!folds(&[r"\bfine\b", unsafe_cue]), "{unsafe_cue}");
        }
    }

    #[test]
    fn folded_and_unfolded_messages_match_the_same_cues() {
        let cues = CueSet::new(crate::sentiment::SUPPORT_CUES).unwrap();
        assert!(cues.fold_symbols, "the built-in cues fold");
        // With the cues each should find, as the search without folding finds them.
        let e18 = "🙄".repeat(18);
        let e19 = "🙄".repeat(19);
        let (up_to_twenty, twenty_one) = (format!("nobody {e18} answers"), format!("nobody {e19} answers"));
        for (text, expected) in [
            ("This is the third time I write and nobody answers 😡", &[1, 2][..]),
            ("still 😡 waiting", &[]),
            ("still😡waiting", &[]),
            (&up_to_twenty, &[2]),
            (&twenty_one, &[]),
            ("nobody\u{a0}answers", &[2]),
            ("On hold… again 🙃", &[7]),
            ("«on hold» for days now — nothing", &[6, 7]),
            ("thank you so much 🙏", &[8]),
            ("ſtill waiting", &[0]),
            ("STILL WAITING 👍🏽", &[0]),
            ("déjà still waiting", &[0]),
            ("café on holdé", &[]),
            ("I want a refund 💸💸", &[4]),
        ] {
            assert_eq!(cues.found(text), expected, "{text}");
            assert_eq!(cues.found(&fold_symbols(text)), expected, "{text}, folded");
        }
    }

    proptest::proptest! {
        /// Messages made of the cues' words, spaces, emoji, non-ASCII spaces and punctuation,
        /// and accented letters: folded, they find the cues they found.
        #[test]
        fn folding_never_changes_what_the_cues_find(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "still", "waiting", "nobody", "no one", "answers", "third", "time", "on", "hold",
                "days", "now", "nothing", "thank you", "so much", "refund", "i want", "a", " ", "  ",
                ",", "😡", "🙄", "👍🏽", "\u{a0}", "…", "«", "é", "ſ", "K", "straße", "\n",
            ]), 0..24)
        ) {
            let cues = CueSet::new(crate::sentiment::SUPPORT_CUES).unwrap();
            let text = pieces.concat();
            proptest::prop_assert_eq!(cues.found(&fold_symbols(&text)), cues.found(&text), "{:?}", text);
        }
    }
}
