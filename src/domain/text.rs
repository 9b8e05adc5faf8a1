//! Text processing for English and French: language guess, sentence splitting, and the tokens the keyword index
//! uses (lowercased, accent-folded, stop words removed, Snowball-stemmed; codes like `LM-48213` kept whole).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A language Rappel's text rules know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// The language of a BCP 47 tag, when it is one Rappel knows.
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag.split(['-', '_']).next()?.to_ascii_lowercase().as_str() {
            "en" => Some(Self::En),
            "fr" => Some(Self::Fr),
            _ => None,
        }
    }

    /// Its BCP 47 primary tag: `en` or `fr`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }
}

const EN_STOP: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "for", "with", "by", "from", "is", "are",
    "was", "were", "be", "been", "am", "i", "you", "he", "she", "it", "we", "they", "me", "my", "your", "our", "their",
    "this", "that", "these", "those", "do", "does", "did", "have", "has", "had", "so", "as", "not", "no", "can",
    "could", "would", "will", "just", "there", "what", "when", "how", "any", "all", "its", "it's", "i'm", "about",
    "up", "out", "please", "hi", "hello", "thanks", "thank", "us", "them", "then", "than", "too", "very", "also",
];

const FR_STOP: &[&str] = &[
    "le", "la", "les", "un", "une", "des", "du", "de", "d", "l", "et", "ou", "mais", "si", "à", "a", "au", "aux", "en",
    "dans", "sur", "pour", "par", "avec", "sans", "est", "sont", "été", "être", "je", "j", "tu", "il", "elle", "nous",
    "vous", "ils", "elles", "me", "m", "te", "se", "s", "mon", "ma", "mes", "ton", "ta", "votre", "vos", "notre",
    "nos", "leur", "leurs", "ce", "c", "cet", "cette", "ces", "qui", "que", "qu", "quoi", "ne", "n", "pas", "plus",
    "y", "ai", "as", "avez", "avons", "ont", "suis", "es", "bonjour", "merci", "svp", "très", "aussi", "donc",
];

/// Guesses English or French from stop words and accents; `fallback` when the text gives no sign.
pub fn detect(text: &str, fallback: Lang) -> Lang {
    let (mut en, mut fr) = (0, 0);
    for word in words(text) {
        if EN_STOP.contains(&word.as_str()) {
            en += 1;
        }
        if FR_STOP.contains(&word.as_str()) {
            fr += 1;
        }
        if word.chars().any(|c| "éèêàùçôîâëïû".contains(c)) {
            fr += 1;
        }
    }
    match en.cmp(&fr) {
        std::cmp::Ordering::Greater => Lang::En,
        std::cmp::Ordering::Less => Lang::Fr,
        std::cmp::Ordering::Equal => fallback,
    }
}

/// Lowercase words (letters, digits, apostrophes inside words); elisions like `l'` and `qu'` are split off.
pub fn words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase().replace('’', "'");
    let mut out = Vec::new();
    for raw in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        let raw = raw.trim_matches('\'');
        if raw.is_empty() {
            continue;
        }
        match raw.split_once('\'') {
            Some((head, tail)) if head.chars().count() <= 2 && !tail.is_empty() && head != "n" => {
                out.push(head.to_owned());
                out.push(tail.to_owned());
            }
            _ => out.push(raw.to_owned()),
        }
    }
    out
}

/// Removes accents from Latin letters (`é` → `e`), so `reçu` and `recu` meet.
pub fn fold(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            'ÿ' => 'y',
            other => other,
        })
        .collect()
}

/// Codes such as `LM-48213`, `INV-2026-0412`, `E-1047` or `3.2.1`: kept whole, lowercased.
fn codes(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || ",;:!?()[]\"'#«»".contains(c))
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
        .filter(|t| t.contains(['-', '.']) && t.chars().any(|c| c.is_ascii_digit()) && t.len() >= 3)
        .collect()
}

/// The keyword index's terms for `text` in language `lang`.
pub fn terms(text: &str, lang: Lang) -> Vec<String> {
    let (stop, stemmer) = match lang {
        Lang::En => (EN_STOP, Stemmer::create(Algorithm::English)),
        Lang::Fr => (FR_STOP, Stemmer::create(Algorithm::French)),
    };
    let mut out: Vec<String> = words(text)
        .into_iter()
        .filter(|w| !stop.contains(&w.as_str()) && (w.chars().count() != 1 || w.chars().all(|c| c.is_ascii_digit())))
        .map(|w| fold(&stemmer.stem(&w)))
        .collect();
    out.extend(codes(text));
    out
}

/// Splits text into sentences (on `.`, `!`, `?` and line breaks followed by space), keeping their punctuation.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        current.push(c);
        let boundary = match c {
            '\n' => true,
            '.' | '!' | '?' => chars.get(i + 1).is_none_or(|n| n.is_whitespace()) && !ends_with_abbreviation(&current),
            _ => false,
        };
        if boundary {
            let s = current.trim();
            if !s.is_empty() {
                out.push(s.to_owned());
            }
            current.clear();
        }
    }
    let s = current.trim();
    if !s.is_empty() {
        out.push(s.to_owned());
    }
    out
}

fn ends_with_abbreviation(s: &str) -> bool {
    let last = s.trim_end_matches('.').rsplit(' ').next().unwrap_or("").to_lowercase();
    [
        "e.g", "i.e", "mr", "mrs", "ms", "dr", "m", "mme", "etc", "no", "n°", "vs",
    ]
    .contains(&last.as_str())
}

/// Groups sentences into windows of about `max_words` words: short texts stay whole; long ones become
/// overlapping windows of consecutive sentences (each sentence belongs to at least one window).
pub fn windows(text: &str, max_words: usize) -> Vec<String> {
    if text.split_whitespace().count() <= max_words {
        return vec![text.trim().to_owned()];
    }
    let sents = sentences(text);
    let mut out = Vec::new();
    let mut start = 0;
    while start < sents.len() {
        let (mut end, mut count) = (start, 0);
        while let Some(words) = sents.get(end).map(|s| s.split_whitespace().count()) {
            if count > 0 && count + words > max_words {
                break;
            }
            count += words;
            end += 1;
        }
        out.push(sents.get(start..end).unwrap_or_default().join(" "));
        if end >= sents.len() {
            break;
        }
        // Overlap by one sentence when the window held more than one.
        start = if end - start > 1 { end - 1 } else { end };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_is_guessed_from_function_words() {
        assert_eq!(
            detect("Mon colis n'est jamais arrivé et je suis déçu", Lang::En),
            Lang::Fr
        );
        assert_eq!(
            detect("My parcel never arrived and I want a refund", Lang::Fr),
            Lang::En
        );
        assert_eq!(detect("LM-48213", Lang::Fr), Lang::Fr);
    }

    #[test]
    fn terms_are_stemmed_folded_and_keep_codes() {
        let en = terms("The parcels were delivered late, order #LM-48213", Lang::En);
        assert!(
            en.contains(&"parcel".to_owned()) && en.contains(&"deliv".to_owned()),
            "{en:?}"
        );
        assert!(en.contains(&"lm-48213".to_owned()), "{en:?}");
        assert!(!en.contains(&"the".to_owned()));
        let fr = terms("Je n'ai jamais reçu mes colis", Lang::Fr);
        assert!(
            fr.contains(&"recu".to_owned()) && fr.contains(&"colis".to_owned()),
            "{fr:?}"
        );
    }

    #[test]
    fn elisions_are_split() {
        assert_eq!(
            words("L'appareil n'a pas d'écran"),
            ["l", "appareil", "n'a", "pas", "d", "écran"]
        );
    }

    #[test]
    fn long_texts_become_overlapping_windows() {
        let text =
            "One two three four five. Six seven eight nine ten. Eleven twelve thirteen fourteen. Fifteen sixteen.";
        let w = windows(text, 10);
        assert_eq!(w[0], "One two three four five. Six seven eight nine ten.");
        assert!(w.len() >= 2 && w.last().unwrap().ends_with("Fifteen sixteen."));
        assert_eq!(windows("Short one.", 10), ["Short one."]);
        assert_eq!(
            sentences("Hi Dr. Smith! Is it fixed? Yes."),
            ["Hi Dr. Smith!", "Is it fixed?", "Yes."]
        );
    }
}
