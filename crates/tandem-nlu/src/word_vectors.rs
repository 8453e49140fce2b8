//! Static word-piece vectors: what a message means beyond the exact words of the examples.
//!
//! The vectors were distilled once from the all-MiniLM-L6-v2 sentence model (each word piece
//! run through the transformer alone, centred, reduced to 256 dimensions, int8 with a scale
//! per row; `tools/distill_word_vectors.py` rebuilds them). A message is split as BERT does
//! (lowercase, accents stripped, punctuation apart, WordPiece), and its vector is the mean of
//! its pieces' vectors beside their element-wise maximum ([`WordVectors::message`]).
//! "where's my parcel" and "track my order" then share features that no n-gram gives them.
//! The table is built into the binary and read lazily.

use std::collections::HashMap;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

/// Dimensions of a word piece's vector.
pub const DIMS: usize = 256;
/// Dimensions of a message's vector: the mean of its pieces, then their maximum.
pub const MESSAGE_DIMS: usize = 2 * DIMS;

const PIECES: &str = include_str!("../data/word_pieces.txt");
const VECTORS: &[u8] = include_bytes!("../data/word_vectors.bin");
const MAGIC: &[u8; 8] = b"TNDWV1\0\0";
/// Longer words are unknown, as in BERT.
const MAX_WORD_CHARS: usize = 100;

/// The word-piece table.
pub struct WordVectors {
    pieces: HashMap<&'static str, u32, foldhash::fast::FixedState>,
    rows: &'static [u8],
}

impl WordVectors {
    /// The built-in table, parsed on first use.
    pub fn builtin() -> &'static WordVectors {
        static TABLE: OnceLock<WordVectors> = OnceLock::new();
        TABLE.get_or_init(|| WordVectors::parse(PIECES, VECTORS).expect("the built-in word vectors are well formed"))
    }

    fn parse(pieces: &'static str, bytes: &'static [u8]) -> Option<WordVectors> {
        let header = bytes.get(..16)?;
        let rows = u32::from_le_bytes(header[8..12].try_into().ok()?) as usize;
        let dims = u32::from_le_bytes(header[12..16].try_into().ok()?) as usize;
        let names: Vec<&str> = pieces.lines().collect();
        if &header[..8] != MAGIC || dims != DIMS || names.len() != rows || bytes.len() != 16 + rows * (4 + DIMS) {
            return None;
        }
        let pieces = names.into_iter().enumerate().map(|(i, name)| (name, i as u32)).collect();
        Some(WordVectors { pieces, rows: &bytes[16..] })
    }

    /// The message's vector: the mean of its word pieces' vectors, then their element-wise
    /// maximum (each piece's vector taken at unit length), each half at unit length and the
    /// whole at unit length; `None` when the message has no known piece. The mean says what
    /// the message is about on the whole, the maximum keeps the one strong word ("refund",
    /// "cancel") that a long message would otherwise average away.
    pub fn message(&self, text: &str) -> Option<[f32; MESSAGE_DIMS]> {
        let mut sum = [0.0f32; DIMS];
        let mut max = [f32::NEG_INFINITY; DIMS];
        let mut row = [0.0f32; DIMS];
        for word in basic_words(text) {
            self.word_pieces(&word, |id| {
                let norm = self.read_row(id, &mut row);
                sum.iter_mut().zip(&row).for_each(|(s, r)| *s += r);
                if norm > 0.0 {
                    let inverse = norm.recip();
                    max.iter_mut().zip(&row).for_each(|(m, r)| *m = m.max(r * inverse));
                }
            });
        }
        // No piece leaves the sum zero and the maximum infinite: neither normalises.
        if !normalize(&mut sum) || !normalize(&mut max) {
            return None;
        }
        let mut vector = [0.0f32; MESSAGE_DIMS];
        let (mean_half, max_half) = vector.split_at_mut(DIMS);
        mean_half.copy_from_slice(&sum);
        max_half.copy_from_slice(&max);
        vector.iter_mut().for_each(|v| *v *= std::f32::consts::FRAC_1_SQRT_2);
        Some(vector)
    }

    /// The piece's vector into `out`; returns its length.
    fn read_row(&self, id: u32, out: &mut [f32; DIMS]) -> f32 {
        let start = id as usize * (4 + DIMS);
        let row = &self.rows[start..start + 4 + DIMS];
        let scale = f32::from_le_bytes([row[0], row[1], row[2], row[3]]);
        // Integer squares add up in any order, so this sum vectorises.
        let mut squares = 0i32;
        for (o, &q) in out.iter_mut().zip(&row[4..]) {
            let q = q as i8;
            *o = scale * f32::from(q);
            squares += i32::from(q) * i32::from(q);
        }
        scale.abs() * (squares as f32).sqrt()
    }

    /// Greedy longest-match WordPiece; a word with a part no piece covers gives nothing.
    fn word_pieces(&self, word: &str, mut emit: impl FnMut(u32)) {
        if word.chars().count() > MAX_WORD_CHARS {
            return;
        }
        let mut ids = Vec::new();
        let mut start = 0;
        let mut key = String::new();
        while start < word.len() {
            let mut end = word.len();
            let found = loop {
                key.clear();
                if start > 0 {
                    key.push_str("##");
                }
                key.push_str(&word[start..end]);
                if let Some(&id) = self.pieces.get(key.as_str()) {
                    break Some(id);
                }
                match word[start..end].char_indices().next_back() {
                    Some((last, _)) if last > 0 => end = start + last,
                    _ => break None,
                }
            };
            let Some(id) = found else { return };
            ids.push(id);
            start = end;
        }
        ids.into_iter().for_each(&mut emit);
    }
}

/// BERT's basic split: lowercase, accents stripped, whitespace apart, and every punctuation
/// or symbol character (emoji too) a word of its own.
fn basic_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() && !c.is_control() {
            words.push(c.to_string());
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Scale `v` to unit length; false (and `v` unchanged) when it is zero or not finite.
fn normalize(v: &mut [f32]) -> bool {
    // Eight running sums, so that the additions vectorise.
    let mut lanes = [0.0f32; 8];
    v.chunks(8).for_each(|chunk| lanes.iter_mut().zip(chunk).for_each(|(l, x)| *l += x * x));
    let norm = lanes.iter().sum::<f32>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    true
}

/// Nonspacing marks left by decomposition (the accents BERT strips).
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32; MESSAGE_DIMS], b: &[f32; MESSAGE_DIMS]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn splits_as_bert_does() {
        assert_eq!(basic_words("Où est ma COMMANDE?!"), ["ou", "est", "ma", "commande", "?", "!"]);
        assert_eq!(basic_words("can't 😡"), ["can", "'", "t", "😡"]);
    }

    #[test]
    fn unknown_words_are_split_into_pieces() {
        let table = WordVectors::builtin();
        let mut ids = Vec::new();
        table.word_pieces("unaffable", |id| ids.push(id));
        assert!(ids.len() > 1, "{ids:?}");
        let mut none = Vec::new();
        table.word_pieces(&"x".repeat(101), |id| none.push(id));
        assert!(none.is_empty());
    }

    #[test]
    fn similar_messages_have_close_vectors() {
        let table = WordVectors::builtin();
        let parcel = table.message("where is my parcel").unwrap();
        let package = table.message("has my package shipped yet").unwrap();
        let weather = table.message("will it rain tomorrow").unwrap();
        assert!((cosine(&parcel, &parcel) - 1.0).abs() < 1e-4);
        assert!(cosine(&parcel, &package) > cosine(&parcel, &weather) + 0.1);
        assert!(table.message("   ").is_none());
    }

    #[test]
    fn a_message_vector_is_its_mean_then_its_maximum_each_half_as_long() {
        let table = WordVectors::builtin();
        let v = table.message("I would like a refund for the blue scarf I bought last week").unwrap();
        let length = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((length(&v) - 1.0).abs() < 1e-4);
        assert!((length(&v[..DIMS]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-4);
        // One word piece ("refund" is two): its mean and its maximum are the same direction.
        let one = table.message("parcel").unwrap();
        let cosine_halves: f32 = one[..DIMS].iter().zip(&one[DIMS..]).map(|(a, b)| a * b).sum::<f32>() * 2.0;
        assert!((cosine_halves - 1.0).abs() < 1e-4, "{cosine_halves}");
    }
}
