//! VADER (Hutto & Gilbert, 2014), a faithful port of Python vaderSentiment 3.3.2's
//! `polarity_scores(text)["compound"]`: the same lexicons, tokenising, boosters, ALL-CAPS
//! emphasis, negation ("no", "never so", "without doubt", "least"), special idioms, the
//! contrastive "but" (including the original's quirk of rescaling the first equal score),
//! punctuation emphasis and emoji descriptions. Our own code, checked text by text against
//! the Python package (see the README for the parity figures). [`compound_corrected`] is the
//! same pass with the original's slips corrected ([`crate::vader_corrections`]); Tandem's
//! sentiment uses that one.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use smallvec::SmallVec;

use crate::vader_corrections as corrections;
use crate::vader_words::{self, Lowered, WORDS};

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;
const ALPHA: f64 = 15.0;

const NEGATE: [&str; 59] = [
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const INCREASING: [&str; 60] = [
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

const DECREASING: [&str; 27] = [
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
    "",
    "",
    "",
];

const SPECIAL_CASES: [(&str, f64); 9] = [
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

/// The lexicons are looked up for every word of every message: a fast hash (foldhash)
/// rather than the standard library's DoS-resistant one (the keys are our own data).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The lexicon file's words and their valences.
fn lexicon_file() -> impl Iterator<Item = (&'static str, f64)> {
    include_str!("../data/vader_lexicon.txt").lines().filter_map(|line| {
        let mut fields = line.trim().split('\t');
        Some((fields.next()?, fields.next()?.parse().ok()?))
    })
}

static EMOJI: LazyLock<FastMap<char, &'static str>> = LazyLock::new(|| {
    include_str!("../data/emoji_utf8_lexicon.txt")
        .lines()
        .filter_map(|line| {
            let (emoji, description) = line.trim().split_once('\t')?;
            let mut chars = emoji.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some((c, description.split('\t').next().unwrap_or(description))),
                _ => None, // like Python, which looks up one character at a time
            }
        })
        .collect()
});

/// The boosters (and dampeners) and their scalars.
fn boosters() -> impl Iterator<Item = (&'static str, f64)> {
    INCREASING.iter().map(|w| (*w, B_INCR)).chain(DECREASING.iter().filter(|w| !w.is_empty()).map(|w| (*w, B_DECR)))
}

/// What the lexicon and the boosters say of a lowercase word, in one table: looked up once for
/// each word of a message, where the rules asked two tables about the same words again and again.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    valence: Option<f64>,
    boost: Option<f64>,
}

static ENTRIES: LazyLock<FastMap<&'static str, Entry>> = LazyLock::new(|| {
    let mut entries: FastMap<&'static str, Entry> = FastMap::default();
    for (word, valence) in lexicon_file() {
        entries.entry(word).or_default().valence = Some(valence);
    }
    for (word, boost) in boosters() {
        entries.entry(word).or_default().boost = Some(boost);
    }
    entries
});

fn entry(lower: &str) -> Entry {
    ENTRIES.get(lower).copied().unwrap_or_default()
}

/// A phrase as its words, split once: the n-grams Python joins and looks up are compared
/// word by word instead (this built five `format!`s for a word with a valence).
type Phrases = Vec<(Vec<&'static str>, f64)>;

fn phrases(of: impl Iterator<Item = (&'static str, f64)>) -> Phrases {
    of.map(|(text, v)| (text.split(' ').collect(), v)).collect()
}

static SPECIAL_PHRASES: LazyLock<Phrases> = LazyLock::new(|| phrases(SPECIAL_CASES.iter().copied()));

/// The boosters of more than one word ("kind of"): only n-grams can be one.
static BOOSTER_PHRASES: LazyLock<Phrases> = LazyLock::new(|| phrases(boosters().filter(|(w, _)| w.contains(' '))));

static NEGATIONS: LazyLock<HashSet<&'static str, foldhash::fast::FixedState>> =
    LazyLock::new(|| NEGATE.iter().copied().collect());

/// How to read a text: exactly as Python vaderSentiment 3.3.2 does, or with its slips
/// corrected ([`crate::vader_corrections`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    Python,
    Corrected,
}

/// Build the lexicons now: otherwise the first message scored builds them, and its customer
/// waits for it (~1 ms).
pub(crate) fn load_lexicons() {
    LazyLock::force(&ENTRIES);
    LazyLock::force(&EMOJI);
    LazyLock::force(&NEGATIONS);
    LazyLock::force(&SPECIAL_PHRASES);
    LazyLock::force(&BOOSTER_PHRASES);
}

/// VADER's compound score of `text`, rounded to 4 decimals as Python does.
pub fn compound(text: &str) -> f64 {
    score(text, Reading::Python)
}

/// VADER's compound score with the original's slips corrected, as listed in
/// [`crate::vader_corrections`].
pub fn compound_corrected(text: &str) -> f64 {
    score(text, Reading::Corrected)
}

fn score(text: &str, reading: Reading) -> f64 {
    let unescaped = (reading == Reading::Corrected).then(|| corrections::unescape_html(text)).flatten();
    let text = unescaped.as_deref().unwrap_or(text);
    let text = describe_emoji(text);
    let mut words = SmallVec::new();
    vader_words::split_into(&text, &mut words);
    let mut lowered = Lowered::default();
    lowered.lower(&words);
    let mut lower = SmallVec::new();
    lowered.words_into(&words, &mut lower);
    let mut entries: SmallVec<[Entry; WORDS]> = SmallVec::new();
    entries.extend(lower.iter().map(|w| entry(w)));
    let cap_differential = {
        // A word written in lower-case ASCII has no capital to be upper case with.
        let caps = (0..words.len()).filter(|&i| !lowered.as_written(i) && is_upper(words[i])).count();
        caps > 0 && caps < words.len()
    };
    // As slices: a `SmallVec` asks whether it spilled at every index.
    let (words, lower, entries) = (&words[..], &lower[..], &entries[..]);
    let mut sentiments: SmallVec<[f64; WORDS]> = SmallVec::with_capacity(words.len());
    for i in 0..words.len() {
        let is_modifier =
            entries[i].boost.is_some() || (lower[i] == "kind" && lower.get(i + 1).is_some_and(|&n| n == "of"));
        let valence = if is_modifier { 0.0 } else { valence(words, lower, entries, i, cap_differential, reading) };
        sentiments.push(valence);
    }
    but_check(lower, &mut sentiments);
    if sentiments.is_empty() {
        return 0.0;
    }
    let mut sum: f64 = sentiments.iter().sum();
    if sum == 0.0 {
        // Neutral: what the normalisation below makes of a zero sum, its sign kept.
        return sum;
    }
    let emphasis = punctuation_emphasis(&text);
    if sum > 0.0 {
        sum += emphasis;
    } else if sum < 0.0 {
        sum -= emphasis;
    }
    let normalised = (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0);
    (normalised * 10000.0).round() / 10000.0
}

/// VADER's raw sum for a compound score (the inverse of its normalisation).
pub fn raw_sum(compound: f64) -> f64 {
    let c = compound.clamp(-0.9999, 0.9999);
    c * ALPHA.sqrt() / (1.0 - c * c).sqrt()
}

/// A raw sum as a compound score in [-1, 1].
pub fn normalise(sum: f64) -> f64 {
    (sum / (sum * sum + ALPHA).sqrt()).clamp(-1.0, 1.0)
}

fn describe_emoji(text: &str) -> Cow<'_, str> {
    // No emoji is ASCII (tested), so most characters need no look-up.
    if !text.chars().any(|ch| !ch.is_ascii() && EMOJI.contains_key(&ch)) {
        return Cow::Borrowed(text.trim());
    }
    let mut out = String::with_capacity(text.len());
    let mut previous_space = true;
    for ch in text.chars() {
        match EMOJI.get(&ch) {
            Some(description) => {
                if !previous_space {
                    out.push(' ');
                }
                out.push_str(description);
                previous_space = false;
            }
            None => {
                out.push(ch);
                previous_space = ch == ' ';
            }
        }
    }
    Cow::Owned(out.trim().to_string())
}

/// Python's `str.isupper()`: some cased character, none lowercase.
fn is_upper(word: &str) -> bool {
    if word.is_ascii() {
        let bytes = word.as_bytes();
        return bytes.iter().any(u8::is_ascii_uppercase) && !bytes.iter().any(u8::is_ascii_lowercase);
    }
    word.chars().any(char::is_uppercase) && !word.chars().any(char::is_lowercase)
}

fn negated(word: &str) -> bool {
    NEGATIONS.contains(word) || word.contains("n't")
}

/// The lexicon's valence of a lowercase word.
pub(crate) fn lexicon(word: &str) -> Option<f64> {
    ENTRIES.get(word).and_then(|e| e.valence)
}

/// The valence of word `i`; `entries` are what the tables say of each word in `lower`.
fn valence(
    words: &[&str],
    lower: &[&str],
    entries: &[Entry],
    i: usize,
    cap_differential: bool,
    reading: Reading,
) -> f64 {
    let item = lower[i];
    let corrected = reading == Reading::Corrected;
    let in_lexicon = |j: usize| entries[j].valence.is_some();
    let base = if corrected {
        corrections::cased_emoticon(words[i]).or(entries[i].valence).or_else(|| corrections::variant(item))
    } else {
        entries[i].valence
    };
    let Some(base) = base else { return 0.0 };
    let mut valence = base;
    let repeated_no = corrected && corrections::repeated_no(lower, i);
    if item == "no" && i + 1 < words.len() && in_lexicon(i + 1) && !repeated_no {
        valence = 0.0;
    }
    let after_no = (i > 0 && lower[i - 1] == "no")
        || (i > 1 && lower[i - 2] == "no")
        || (i > 2 && lower[i - 3] == "no" && (lower[i - 1] == "or" || lower[i - 1] == "nor"));
    if after_no && !repeated_no {
        valence = base * N_SCALAR;
    }
    if is_upper(words[i]) && cap_differential {
        valence += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    let mut flipped = false;
    for start in 0..3 {
        if i > start && !in_lexicon(i - (start + 1)) {
            let j = i - (start + 1);
            let mut s = scalar(words[j], entries[j].boost, valence, cap_differential);
            if start == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            let checked = negation_check(valence, lower, start, i);
            let flip = valence != 0.0 && checked == valence * N_SCALAR;
            // Python flips once for every negation word among the three before.
            if !(flip && flipped && corrected) {
                valence = checked;
            }
            flipped |= flip;
            if start == 2 {
                valence = special_idioms_check(valence, lower, i);
            }
        }
    }
    least_check(valence, lower, entries, i)
}

fn scalar(word: &str, boost: Option<f64>, valence: f64, cap_differential: bool) -> f64 {
    let Some(boost) = boost else { return 0.0 };
    let mut scalar = if valence < 0.0 { -boost } else { boost };
    if is_upper(word) && cap_differential {
        scalar += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    scalar
}

fn negation_check(valence: f64, lower: &[&str], start: usize, i: usize) -> f64 {
    let w = |back: usize| lower[i - back];
    match start {
        0 if negated(w(1)) => valence * N_SCALAR,
        1 if w(2) == "never" && (w(1) == "so" || w(1) == "this") => valence * 1.25,
        1 if w(2) == "without" && w(1) == "doubt" => valence,
        1 if negated(w(2)) => valence * N_SCALAR,
        2 if (w(3) == "never" && (w(2) == "so" || w(2) == "this")) || (w(1) == "so" || w(1) == "this") => {
            valence * 1.25
        }
        2 if w(3) == "without" && (w(2) == "doubt" || w(1) == "doubt") => valence,
        2 if negated(w(3)) => valence * N_SCALAR,
        _ => valence,
    }
}

fn special_idioms_check(mut valence: f64, lower: &[&str], i: usize) -> f64 {
    let special = |phrase: &[&str]| SPECIAL_PHRASES.iter().find(|(p, _)| p == phrase).map(|(_, v)| *v);
    let (w3, w2, w1, w0) = (lower[i - 3], lower[i - 2], lower[i - 1], lower[i]);
    let (one_zero, two_one_zero, two_one) = ([w1, w0], [w2, w1, w0], [w2, w1]);
    let (three_two_one, three_two) = ([w3, w2, w1], [w3, w2]);
    for phrase in [&one_zero[..], &two_one_zero, &two_one, &three_two_one, &three_two] {
        if let Some(v) = special(phrase) {
            valence = v;
            break;
        }
    }
    if lower.len() - 1 > i
        && let Some(v) = special(&[w0, lower[i + 1]])
    {
        valence = v;
    }
    if lower.len() - 1 > i + 1
        && let Some(v) = special(&[w0, lower[i + 1], lower[i + 2]])
    {
        valence = v;
    }
    for phrase in [&three_two_one[..], &three_two, &two_one] {
        if let Some((_, b)) = BOOSTER_PHRASES.iter().find(|(p, _)| p == phrase) {
            valence += b;
        }
    }
    valence
}

fn least_check(valence: f64, lower: &[&str], entries: &[Entry], i: usize) -> f64 {
    let in_lexicon = |j: usize| entries[j].valence.is_some();
    if i > 1 && !in_lexicon(i - 1) && lower[i - 1] == "least" {
        if lower[i - 2] != "at" && lower[i - 2] != "very" {
            return valence * N_SCALAR;
        }
    } else if i > 0 && !in_lexicon(i - 1) && lower[i - 1] == "least" {
        return valence * N_SCALAR;
    }
    valence
}

/// Python's `_but_check`, quirk included: each score rescales the *first* equal score.
fn but_check(lower: &[&str], sentiments: &mut [f64]) {
    let Some(bi) = lower.iter().position(|&w| w == "but") else { return };
    for k in 0..sentiments.len() {
        let sentiment = sentiments[k];
        let si = sentiments.iter().position(|s| *s == sentiment).unwrap_or(k);
        if si < bi {
            sentiments[si] = sentiment * 0.5;
        } else if si > bi {
            sentiments[si] = sentiment * 1.5;
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let exclamations = text.matches('!').count().min(4) as f64 * 0.292;
    let questions = match text.matches('?').count() {
        0 | 1 => 0.0,
        n @ 2..=3 => n as f64 * 0.18,
        _ => 0.96,
    };
    exclamations + questions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_punctuation_is_pythons_string_punctuation() {
        let python = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        let ours: String = (0..128u8).map(char::from).filter(char::is_ascii_punctuation).collect();
        assert_eq!(ours, python);
    }

    #[test]
    fn no_emoji_is_ascii_and_phrases_are_split_into_words() {
        assert!(EMOJI.keys().all(|ch| !ch.is_ascii()), "describe_emoji skips ASCII characters");
        let mut boosters: Vec<_> = BOOSTER_PHRASES.iter().map(|(p, _)| p.join(" ")).collect();
        boosters.sort_unstable();
        assert_eq!(boosters, ["just enough", "kind of", "sort of"]);
        assert!(SPECIAL_PHRASES.iter().any(|(p, v)| *p == ["kiss", "of", "death"] && *v == -1.5));
        assert_eq!(SPECIAL_PHRASES.len(), SPECIAL_CASES.len());
    }

    /// Scores from Python vaderSentiment 3.3.2's own examples.
    #[test]
    fn matches_python_on_its_examples() {
        let cases = [
            ("VADER is smart, handsome, and funny.", 0.8316),
            ("VADER is smart, handsome, and funny!", 0.8439),
            ("VADER is very smart, handsome, and funny.", 0.8545),
            ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
            ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
            ("VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.9469),
            ("VADER is not smart, handsome, nor funny.", -0.7424),
            ("The book was good.", 0.4404),
            ("At least it isn't a horrible book.", 0.431),
            ("The book was only kind of good.", 0.3832),
            ("The plot was good, but the characters are uncompelling and the dialog is not great.", -0.7042),
            ("Today SUX!", -0.5461),
            ("Today only kinda sux! But I'll get by, lol", 0.5249),
            ("Make sure you :) or :D today!", 0.8633),
            ("Catch utf-8 emoji such as such as 💘 and 💋 and 😁", 0.875),
            ("Not bad at all", 0.431),
            ("", 0.0),
        ];
        for (text, expected) in cases {
            assert_eq!(compound(text), expected, "{text}");
        }
    }

    #[test]
    fn the_normalisation_inverts() {
        for c in [-0.9, -0.3, 0.0, 0.5, 0.95] {
            assert!((normalise(raw_sum(c)) - c).abs() < 1e-9);
        }
    }
}
