//! The support cues as one case-insensitive regex set, searched in one pass, and kept fast
//! for messages that are not plain ASCII.
//!
//! A cue's Unicode `\b` needs to know whether the characters around it are word characters.
//! The lazy DFA knows that only for ASCII, so it gave up at a message's first emoji or accented
//! letter, and finding which cues matched then fell to the PikeVM: ~15 µs for "third time and
//! nobody answers 😡" against ~0.3 µs without the emoji. So before the search, a non-ASCII
//! character is read as one ASCII character of the same kind: one that is not a word character
//! (emoji, symbols, non-ASCII spaces and punctuation) as [`SYMBOL`], a word character (é, ß,
//! Cyrillic, ...) as [`LETTER`]. Every Unicode `\b` and every `.` then sees what it saw, and the
//! message is ASCII. A character is read so only when no cue can tell it from its stand-in:
//! worked out from the cues' syntax when the set is built (a class that holds one but not the
//! other, a literal, an ASCII-only `\b` for letters). A cue written with "ä" keeps "ä" as it is,
//! and messages that have one are searched as before. So the set finds in the folded message
//! exactly the cues it finds in the message (a property test checks it).

use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet, meta};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look};

/// What non-ASCII characters that are not word characters are read as.
const SYMBOL: char = '\u{1}';
/// What non-ASCII word characters are read as.
const LETTER: char = '_';

/// Cue patterns with their valences, searched together.
pub(crate) struct CueSet {
    regex: meta::Regex,
    valences: Vec<f64>,
    /// The non-ASCII characters no cue tells from [`SYMBOL`].
    symbols: ClassUnicode,
    /// The non-ASCII characters no cue tells from [`LETTER`].
    letters: ClassUnicode,
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
        // Non-ASCII characters start as foldable: those that are not word characters to
        // `SYMBOL`, the others to `LETTER`; each cue then keeps the ones it tells apart.
        let (word, mut symbols) = (word_class(), ClassUnicode::new([ClassUnicodeRange::new('\u{80}', char::MAX)]));
        let mut letters = symbols.clone();
        symbols.difference(&word);
        letters.intersect(&word);
        // The set built, so every pattern parses; if not, nothing is folded.
        match syntax::parse_many_with(&patterns, &syntax) {
            Ok(hirs) => {
                for hir in &hirs {
                    read_alike(hir, SYMBOL, &mut symbols);
                    read_alike(hir, LETTER, &mut letters);
                }
            }
            Err(_) => (symbols, letters) = (ClassUnicode::empty(), ClassUnicode::empty()),
        }
        Ok(Self { regex, valences, symbols, letters })
    }

    pub(crate) fn len(&self) -> usize {
        self.valences.len()
    }

    /// The valences of the cues found in `text`, each cue counted once, added up.
    pub(crate) fn valence(&self, text: &str) -> f64 {
        let folded;
        let text = match text.is_ascii() {
            true => text,
            false => {
                folded = self.fold(text);
                folded.as_str()
            }
        };
        // Most messages have no cue: the quick test allocates nothing, the full one a set.
        if !self.regex.is_match(text) {
            return 0.0;
        }
        let mut found = PatternSet::new(self.len());
        self.regex.which_overlapping_matches(&Input::new(text), &mut found);
        found.iter().map(|cue| self.valences[cue.as_usize()]).sum()
    }

    /// `text` with each non-ASCII character that no cue tells from its stand-in read as it.
    fn fold(&self, text: &str) -> String {
        let stand_in = |c: char| match () {
            () if c.is_ascii() => c,
            () if contains(&self.symbols, c) => SYMBOL,
            () if contains(&self.letters, c) => LETTER,
            () => c,
        };
        text.chars().map(stand_in).collect()
    }

    /// The indexes of the cues found in `text` as it is, in order (for tests).
    #[cfg(test)]
    fn found(&self, text: &str) -> Vec<usize> {
        let mut found = PatternSet::new(self.len());
        self.regex.which_overlapping_matches(&Input::new(text), &mut found);
        found.iter().map(|cue| cue.as_usize()).collect()
    }
}

/// Unicode `\w`.
fn word_class() -> ClassUnicode {
    match regex_syntax::parse(r"\w").map(|hir| hir.kind().clone()) {
        Ok(HirKind::Class(Class::Unicode(word))) => word,
        _ => ClassUnicode::empty(),
    }
}

/// Keep in `alike` only the characters that nothing in `hir` tells from `stand_in` (an ASCII
/// character of the same kind, word or not): a class holds both or neither, no literal holds
/// either, and for a word character, no ASCII-only word boundary (which sees a non-ASCII letter
/// as no word character).
fn read_alike(hir: &Hir, stand_in: char, alike: &mut ClassUnicode) {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Look(look) => {
            let ascii_word = matches!(
                look,
                Look::WordAscii
                    | Look::WordAsciiNegate
                    | Look::WordStartAscii
                    | Look::WordEndAscii
                    | Look::WordStartHalfAscii
                    | Look::WordEndHalfAscii
            );
            if ascii_word && regex_syntax::is_word_character(stand_in) {
                *alike = ClassUnicode::empty();
            }
        }
        HirKind::Literal(literal) => match std::str::from_utf8(&literal.0) {
            Ok(text) if !text.contains(stand_in) => {
                for c in text.chars() {
                    alike.difference(&ClassUnicode::new([ClassUnicodeRange::new(c, c)]));
                }
            }
            _ => *alike = ClassUnicode::empty(),
        },
        HirKind::Class(Class::Unicode(class)) => match contains(class, stand_in) {
            true => alike.intersect(class),
            false => alike.difference(class),
        },
        // A pattern must match UTF-8, so a byte class holds only ASCII bytes and no non-ASCII
        // character matches it. Should one hold more, nothing is folded.
        HirKind::Class(Class::Bytes(class)) => {
            let holds = |r: &regex_syntax::hir::ClassBytesRange| {
                r.end() >= 0x80 || (r.start()..=r.end()).contains(&(stand_in as u8))
            };
            if class.ranges().iter().any(holds) {
                *alike = ClassUnicode::empty();
            }
        }
        HirKind::Repetition(repetition) => read_alike(&repetition.sub, stand_in, alike),
        HirKind::Capture(capture) => read_alike(&capture.sub, stand_in, alike),
        HirKind::Concat(all) | HirKind::Alternation(all) => all.iter().for_each(|sub| read_alike(sub, stand_in, alike)),
    }
}

fn contains(class: &ClassUnicode, c: char) -> bool {
    class
        .ranges()
        .binary_search_by(|range| {
            if range.end() < c {
                std::cmp::Ordering::Less
            } else if range.start() > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> CueSet {
        CueSet::new(patterns.iter().map(|p| (*p, -1.0))).unwrap()
    }

    fn built_in() -> CueSet {
        CueSet::new(crate::sentiment::SUPPORT_CUES).unwrap()
    }

    #[test]
    fn emoji_and_letters_are_read_as_their_stand_ins() {
        let text = "nobody answers 😡 déjà\u{a0}vu «ok» Straße Привет";
        assert_eq!(built_in().fold(text), "nobody answers \u{1} d_j_\u{1}vu \u{1}ok\u{1} Stra_e ______");
    }

    #[test]
    fn a_character_a_cue_tells_apart_is_kept() {
        let folded = |patterns: &[&str]| set(patterns).fold("ärger 😡 café\u{a0}ſ \u{212a}");
        // Case-insensitive "s" and "k" are classes that hold "ſ" and "K" (the Kelvin sign).
        assert_eq!(
            folded(&[r"\bstill waiting\b", r"[^a-z]+", r"\W", r".{0,20}"]),
            "_rger \u{1} caf_\u{1}ſ \u{212a}",
            "\"ſ\" is an \"s\" to the cue"
        );
        assert_eq!(folded(&[r"\bsake\b"]), "_rger \u{1} caf_\u{1}ſ \u{212a}");
        assert_eq!(folded(&[r"\bärger\b"]), "ärger \u{1} caf_\u{1}_ _", "a cue's own letter");
        assert_eq!(folded(&[r"[😡🤬]"]), "_rger 😡 caf_\u{1}_ _", "a cue's own emoji");
        assert_eq!(folded(&[r"\s"]), "_rger \u{1} caf_\u{a0}_ _", "\\s holds the non-breaking space");
        assert_eq!(folded(&[r"(?-u:\b)x"]), "ärger \u{1} café\u{1}ſ \u{212a}", "ASCII \\b: letters kept");
        assert_eq!(folded(&[r"\x01"]), "_rger 😡 caf_\u{a0}_ _", "the stand-in itself");
        assert_eq!(folded(&[r"\w_"]), "ärger \u{1} café\u{1}ſ \u{212a}", "the letters' stand-in");
    }

    #[test]
    fn folded_and_unfolded_messages_match_the_same_cues() {
        let cues = built_in();
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
            ("éon hold", &[]),
            ("I want a refund 💸💸", &[4]),
        ] {
            assert_eq!(cues.found(text), expected, "{text}");
            assert_eq!(cues.found(&cues.fold(text)), expected, "{text}, folded");
        }
    }

    proptest::proptest! {
        /// Messages made of the cues' words, spaces, emoji, non-ASCII spaces, punctuation and
        /// letters: folded, they find the cues they found.
        #[test]
        fn folding_never_changes_what_the_cues_find(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "still", "waiting", "nobody", "no one", "answers", "third", "time", "on", "hold",
                "days", "now", "nothing", "thank you", "so much", "refund", "i want", "a", " ", "  ",
                ",", "😡", "🙄", "👍🏽", "\u{a0}", "…", "«", "é", "ſ", "K", "straße", "Привет", "\u{212a}", "\n", "_",
            ]), 0..24)
        ) {
            let cues = built_in();
            let text = pieces.concat();
            proptest::prop_assert_eq!(cues.found(&cues.fold(&text)), cues.found(&text), "{:?}", text);
        }
    }
}
