//! Where Python vaderSentiment 3.3.2 slips, and how [`crate::vader::compound_corrected`]
//! reads the text instead. The faithful port ([`crate::vader::compound`]) keeps every slip;
//! Tandem's sentiment uses the corrected reading. Each correction was measured on the four
//! VADER human-rated sets (figures in the README):
//! - **Cased emoticons.** Python lowercases a word before the lexicon lookup, and the lexicon
//!   file lists both `D:` (horror, -2.9) and `d:` (a tongue, +1.2) under `d:`, so "D: D: D:"
//!   reads as glad. `D:` and `D=` keep their own valence.
//! - **One negation.** Python flips a word once for every negation word among the three before
//!   it, so "don't care don't care" reads as caring. A word is negated once.
//! - **Repeated no's.** Python zeroes a "no" before a lexicon word ("no problem") and negates
//!   a word after "no", so "NO NO NO" reads as positive. Repeated no's are each a no.
//! - **Escaped text.** Text from the web often arrives HTML-escaped (`&lt;3`, `&gt;:(`); the
//!   five basic entities are unescaped, so the emoticons count.
//! - **Spelling variants** the lexicon lacks: stretched letters ("goooood", "baaad"), a dropped
//!   g ("lovin"), superlatives ("coolest", "nicest"). Comparatives ("-er") are not guessed:
//!   "player" would read as "play".

use crate::vader::lexicon;

/// Emoticons whose case matters, with their valence in the original lexicon.
const CASED_EMOTICONS: [(&str, f64); 2] = [("D:", -2.9), ("D=", -3.0)];

/// The valence of an emoticon the lowercase lookup loses.
pub(crate) fn cased_emoticon(word: &str) -> Option<f64> {
    CASED_EMOTICONS.iter().find(|(emoticon, _)| *emoticon == word).map(|(_, valence)| *valence)
}

/// Whether the word at `i` is a "no" next to another "no".
pub(crate) fn repeated_no(lower: &[&str], i: usize) -> bool {
    lower[i] == "no" && (lower.get(i + 1).is_some_and(|&w| w == "no") || (i > 0 && lower[i - 1] == "no"))
}

/// The text with `&lt;`, `&gt;`, `&quot;`, `&#39;` and `&amp;` unescaped, when it has any.
pub(crate) fn unescape_html(text: &str) -> Option<String> {
    const ENTITIES: [(&str, &str); 5] =
        [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")];
    // Every entity starts with '&': one scan of the text for most messages, not five.
    if !text.contains('&') || !ENTITIES.iter().any(|(entity, _)| text.contains(entity)) {
        return None;
    }
    // `&amp;` last, so "&amp;lt;" stays "&lt;" as the writer meant.
    Some(ENTITIES.iter().fold(text.to_string(), |out, (entity, plain)| out.replace(entity, plain)))
}

/// The valence of a lowercase spelling the lexicon lacks, if it is a variant of a word it has.
pub(crate) fn variant(word: &str) -> Option<f64> {
    if word.len() < 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    stretched(word)
        .or_else(|| word.strip_suffix("in").and_then(|stem| lexicon(&format!("{stem}ing"))))
        .or_else(|| superlative(word))
}

/// "goooood" as "good", "baaad" as "bad": runs of three or more letters as two, then as one.
fn stretched(word: &str) -> Option<f64> {
    let bytes = word.as_bytes();
    let run_of_three = bytes.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]);
    if !run_of_three {
        return None;
    }
    let squeeze = |longest: usize| -> String {
        let mut out = String::with_capacity(word.len());
        let mut run = 0;
        for (k, &b) in bytes.iter().enumerate() {
            run = if k > 0 && bytes[k - 1] == b { run + 1 } else { 1 };
            if run <= longest {
                out.push(char::from(b));
            }
        }
        out
    };
    lexicon(&squeeze(2)).or_else(|| lexicon(&squeeze(1)))
}

/// "coolest" as "cool", "finest" as "fine", "gladdest" as "glad".
fn superlative(word: &str) -> Option<f64> {
    let stem = word.strip_suffix("est")?;
    let undoubled = stem.as_bytes().windows(2).last().filter(|w| w[0] == w[1]).map(|_| &stem[..stem.len() - 1]);
    lexicon(stem).or_else(|| lexicon(&format!("{stem}e"))).or_else(|| undoubled.and_then(lexicon))
}

#[cfg(test)]
mod tests {
    use crate::vader::{compound, compound_corrected};

    #[test]
    fn cased_emoticons_keep_their_own_valence() {
        assert!(compound("D: D: D:") > 0.5, "Python's slip");
        assert!(compound_corrected("D: D: D:") < -0.5);
        assert!(compound_corrected("that was awful D=") < compound("that was awful D="));
        assert_eq!(compound_corrected("tastes funny d:"), compound("tastes funny d:"));
    }

    #[test]
    fn a_word_is_negated_once() {
        let text = "DON'T CARE DON'T CARE DON'T CARE";
        assert!(compound(text) > 0.0, "Python's slip");
        assert!(compound_corrected(text) < -0.3);
        assert_eq!(compound_corrected("I don't care"), compound("I don't care"));
        assert_eq!(compound_corrected("not good at all"), compound("not good at all"));
    }

    #[test]
    fn repeated_nos_are_each_a_no() {
        assert!(compound("NO NO NO") > 0.0, "Python's slip");
        assert!(compound_corrected("NO NO NO") < -0.3);
        assert!(compound_corrected("no no no no, this is wrong") < compound("no no no no, this is wrong"));
        // A single "no" before a lexicon word is still a determiner.
        assert_eq!(compound_corrected("no problem at all"), compound("no problem at all"));
    }

    #[test]
    fn escaped_text_is_read_unescaped() {
        assert_eq!(compound_corrected("love you &lt;3"), compound("love you <3"));
        assert!(compound_corrected("&lt;3") > 0.3);
        assert_eq!(super::unescape_html("a &amp;lt; b").as_deref(), Some("a &lt; b"));
        assert_eq!(super::unescape_html("a & b"), None);
    }

    #[test]
    fn spelling_variants_are_read_as_their_words() {
        assert_eq!(compound_corrected("goooood"), compound("good"));
        assert_eq!(compound_corrected("baaad"), compound("bad"));
        assert_eq!(compound_corrected("lovin"), compound("loving"));
        assert_eq!(compound_corrected("coolest"), compound("cool"));
        assert_eq!(compound_corrected("finest"), compound("fine"));
        assert_eq!(compound_corrected("gladdest"), compound("glad"));
        // Not guessed: comparatives, short words, words the lexicon has.
        assert_eq!(compound_corrected("a new player"), 0.0);
        assert_eq!(compound_corrected("the best"), compound("the best"));
        assert_eq!(compound_corrected("zzz"), compound("zzz"));
    }

    #[test]
    fn any_text_stays_in_range() {
        for text in ["&amp;&amp;&lt;", "ééééé", "nooooooooooooooooooooooooo", "no no no no no no no no no", "D:D:", ""]
        {
            let v = compound_corrected(text);
            assert!((-1.0..=1.0).contains(&v), "{text}: {v}");
        }
    }
}
