//! How VADER reads a message as words: split at white space, each word's surrounding
//! punctuation stripped unless that leaves at most two characters, and each word in lower
//! case. All on the stack for a message of up to [`WORDS`] words.
//!
//! An ASCII message (most chat) is split byte by byte, which gives the same words as the
//! general path (tested) at less than half the cost; words with capitals are lowered into one
//! buffer, inline for their first 24 bytes, not a string each. Scoring the benchmark's
//! dialogue spent ~110 of its ~300 ns a message here before.

use compact_str::CompactString;
use smallvec::SmallVec;

/// Words of a message kept on the stack: most chat messages are shorter.
pub(crate) const WORDS: usize = 24;

/// The words of `text` as written, punctuation stripped, into `words` (empty). Filled where
/// the caller keeps them rather than returned: a list of [`WORDS`] words is 392 bytes, and
/// returning it copied them (with the other lists here, ~10 % of a message's scoring).
pub(crate) fn split_into<'t>(text: &'t str, words: &mut SmallVec<[&'t str; WORDS]>) {
    // `split_whitespace` also splits at U+000B, which is not ASCII white space to Rust.
    if text.is_ascii() && !text.contains('\u{b}') {
        words.extend(text.split_ascii_whitespace().map(|token| {
            let stripped = trim_ascii_punctuation(token);
            if stripped.len() <= 2 { token } else { stripped }
        }));
    } else {
        words.extend(text.split_whitespace().map(strip_punctuation_if_word));
    }
}

/// `token` without the punctuation around it, unless that leaves at most two characters.
fn strip_punctuation_if_word(token: &str) -> &str {
    let stripped = trim_ascii_punctuation(token);
    if stripped.chars().count() <= 2 { token } else { stripped }
}

/// `token` without the ASCII punctuation around it (Python's `string.punctuation` is exactly
/// those characters, tested). No byte of another character is ASCII, so bytes can be trimmed.
fn trim_ascii_punctuation(token: &str) -> &str {
    let bytes = token.as_bytes();
    let start = bytes.iter().position(|b| !b.is_ascii_punctuation()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_punctuation()).map_or(start, |last| last + 1);
    &token[start..end]
}

/// The words in lower case: a word that already is (most are) is used as it is; the others are
/// lowered one after another into one buffer.
#[derive(Default)]
pub(crate) struct Lowered {
    buffer: CompactString,
    /// For each word, where its lowered form ends in the buffer, or [`AS_WRITTEN`].
    ends: SmallVec<[usize; WORDS]>,
}

const AS_WRITTEN: usize = usize::MAX;

impl Lowered {
    /// Lower `words` (into an empty `Lowered`, filled in place for the reason of [`split_into`]).
    pub(crate) fn lower(&mut self, words: &[&str]) {
        let Self { buffer, ends } = self;
        for word in words {
            if word.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                ends.push(AS_WRITTEN);
                continue;
            }
            if word.is_ascii() {
                let start = buffer.len();
                buffer.push_str(word);
                buffer.as_mut_str()[start..].make_ascii_lowercase();
            } else {
                buffer.push_str(&word.to_lowercase());
            }
            ends.push(buffer.len());
        }
    }

    /// True when word `i` (of those given to [`Lowered::lower`]) is ASCII with no capital.
    pub(crate) fn as_written(&self, i: usize) -> bool {
        self.ends.get(i) == Some(&AS_WRITTEN)
    }

    /// The lowered form of each of `words` (those given to [`Lowered::lower`]), into `lower`.
    pub(crate) fn words_into<'a>(&'a self, words: &[&'a str], lower: &mut SmallVec<[&'a str; WORDS]>) {
        let mut start = 0;
        lower.extend(words.iter().zip(&self.ends).map(|(word, &end)| match end {
            AS_WRITTEN => *word,
            end => {
                let lowered = &self.buffer[start..end];
                start = end;
                lowered
            }
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> SmallVec<[&str; WORDS]> {
        let mut words = SmallVec::new();
        split_into(text, &mut words);
        words
    }

    /// The words as the general path reads them.
    fn general(text: &str) -> Vec<&str> {
        text.split_whitespace().map(strip_punctuation_if_word).collect()
    }

    #[test]
    fn ascii_messages_split_as_the_general_path_splits_them() {
        for text in [
            "hi",
            "The package arrived damaged, can you help?",
            "  spaced\tout\nover\x0clines\r\n ",
            "vertical\x0btab",
            "!!! ?? ... a! ab!! abc!! (abc) \"quoted\" 'x' :) :-( <3 don't",
            "ORD-00042 it's 12345 -- - _under_ ~tilde~",
            "\x1c\x1d\x1e\x1f are not white space",
            "",
        ] {
            assert_eq!(split(text).to_vec(), general(text), "{text:?}");
        }
        assert_eq!(split("vertical\x0btab").len(), 2);
        assert_eq!(split("déjà-vu!! «ok»").to_vec(), general("déjà-vu!! «ok»"));
    }

    #[test]
    fn words_are_lowered_as_str_to_lowercase_does() {
        let words = ["This", "is", "ÜBER", "ORD-00042", "fine", "ΟΔΟΣ", "a-very-long-word-with-Capitals-in-it"];
        let mut lowered = Lowered::default();
        lowered.lower(&words);
        let mut lower = SmallVec::new();
        lowered.words_into(&words, &mut lower);
        let expected: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        assert_eq!(lower.to_vec(), expected);
        let as_written: Vec<bool> = (0..words.len()).map(|i| lowered.as_written(i)).collect();
        assert_eq!(as_written, [false, true, false, false, true, false, false]);
    }
}
