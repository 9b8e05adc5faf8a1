//! The lexicon scorer: English and French word stems with weights, negation, intensifiers and diminishers, and
//! rules for sarcasm and frustration markers. It is one input of the trained classifier, and the whole scorer
//! when a model has no trained head.

use super::{Sentiment, SentimentLabel};
use crate::domain::problems::reports_problem;
use crate::domain::text::{fold, words, Lang};

/// Accent-folded word stems and their weight. A stem matches a word that starts with it.
const EN_LEXICON: &[(&str, f32)] = &[
    ("great", 1.0),
    ("excellent", 1.5),
    ("amazing", 1.5),
    ("awesome", 1.5),
    ("fantastic", 1.5),
    ("perfect", 1.5),
    ("love", 1.5),
    ("loving", 1.5),
    ("happy", 1.2),
    ("glad", 1.0),
    ("pleased", 1.0),
    ("thank", 0.8),
    ("thanks", 0.8),
    ("appreciat", 1.0),
    ("helpful", 1.0),
    ("quick", 0.6),
    ("fast", 0.6),
    ("works", 0.6),
    ("working again", 1.0),
    ("fixed", 0.8),
    ("solved", 0.8),
    ("resolved", 0.6),
    ("good", 0.8),
    ("nice", 0.8),
    ("brilliant", 1.5),
    ("satisf", 1.0),
    ("smooth", 0.8),
    ("easy", 0.6),
    ("recommend", 1.0),
    ("wonderful", 1.5),
    ("impressed", 1.2),
    ("well done", 1.2),
    ("lifesaver", 1.5),
    ("kudos", 1.2),
    ("cheers", 0.5),
    ("delight", 1.5),
    ("enjoy", 1.0),
    ("bad", -1.0),
    ("terrible", -1.8),
    ("awful", -1.8),
    ("horrible", -1.8),
    ("worst", -2.0),
    ("hate", -1.8),
    ("angry", -1.5),
    ("annoy", -1.2),
    ("frustrat", -1.5),
    ("disappoint", -1.5),
    ("unhappy", -1.4),
    ("upset", -1.3),
    ("useless", -1.6),
    ("broken", -1.2),
    ("broke", -1.0),
    ("fail", -1.0),
    ("crash", -1.0),
    ("error", -0.6),
    ("problem", -0.6),
    ("issue", -0.4),
    ("wrong", -0.8),
    ("not working", -1.2),
    ("doesn't work", -1.2),
    ("stopped working", -1.2),
    ("never arrived", -1.2),
    ("missing", -0.8),
    ("lost", -0.8),
    ("late", -0.6),
    ("delay", -0.8),
    ("slow", -0.7),
    ("charged twice", -1.2),
    ("overcharg", -1.2),
    ("refund", -0.3),
    ("cancel", -0.8),
    ("unacceptable", -2.0),
    ("ridiculous", -1.8),
    ("joke", -1.2),
    ("waste", -1.5),
    ("scam", -2.0),
    ("furious", -2.0),
    ("fed up", -1.8),
    ("sick of", -1.8),
    ("tired of", -1.5),
    ("ignored", -1.5),
    ("nobody", -0.8),
    ("still", -0.3),
    ("again", -0.3),
    ("worse", -1.2),
    ("poor", -1.0),
    ("mess", -1.2),
    ("nightmare", -1.8),
    ("pathetic", -2.0),
    ("incompetent", -2.0),
    ("shame", -1.2),
    ("sucks", -1.6),
    ("confus", -0.6),
    ("worried", -0.8),
    ("concern", -0.5),
    ("offline", -0.6),
    ("disconnect", -0.6),
    ("stuck", -0.8),
    ("can't", -0.5),
    ("cannot", -0.5),
    ("unable", -0.6),
    ("complain", -1.0),
    ("damaged", -1.0),
    ("sorry", -0.2),
    ("hopeless", -1.8),
    ("garbage", -1.8),
    ("rubbish", -1.6),
    ("disgrace", -2.0),
    ("unbelievable", -1.5),
    ("seriously", -0.8),
    ("cracked", -1.0),
    ("regret", -1.5),
    ("worr", -0.9),
    ("concerning", -1.0),
    ("unfortunately", -0.8),
    ("doesn't fit", -0.8),
    ("manager", -0.8),
    ("last time", -1.0),
    ("consumer protection", -1.5),
    ("refund me", -1.0),
    ("thanks for nothing", -2.5),
    ("deleted", -1.0),
    ("dies", -1.0),
    ("drops", -0.8),
    ("dead", -1.0),
    ("flicker", -0.8),
    ("bricked", -1.5),
    ("in circles", -1.2),
    ("impossible to reach", -1.5),
    ("not a single", -1.0),
    ("for an hour", -0.8),
    ("on hold", -0.8),
    ("dumber", -1.5),
    ("closed my ticket", -0.8),
    ("without fixing", -1.2),
    ("nothing works", -1.5),
    ("not normal", -1.2),
    ("blinking red", -0.8),
    ("stayed unlocked", -1.0),
    ("not worth", -1.2),
    ("pleasantly", 1.2),
    ("surprised", 0.5),
    ("best", 1.2),
    ("easier", 1.0),
    ("deserves", 1.0),
    ("stable", 0.8),
    ("reliable", 1.0),
    ("accurate", 0.8),
    ("patient", 0.8),
    ("thorough", 0.8),
    ("lovely", 1.0),
    ("paired again", 0.8),
    ("no complaints", 1.2),
    ("can't complain", 1.2),
    ("much easier", 1.2),
    ("third time", -1.0),
    ("second time", -0.8),
    ("how many times", -1.2),
    ("nothing received", -1.2),
];

const FR_LEXICON: &[(&str, f32)] = &[
    ("super", 1.0),
    ("genial", 1.5),
    ("excellent", 1.5),
    ("parfait", 1.5),
    ("merci", 0.8),
    ("ravi", 1.5),
    ("content", 1.0),
    ("heureu", 1.2),
    ("satisfait", 1.2),
    ("bravo", 1.2),
    ("top", 1.0),
    ("formidable", 1.5),
    ("efficace", 1.0),
    ("rapide", 0.6),
    ("fonctionne", 0.5),
    ("marche", 0.4),
    ("regle", 0.6),
    ("resolu", 0.6),
    ("impeccable", 1.5),
    ("agreable", 1.0),
    ("aimable", 1.0),
    ("recommand", 1.0),
    ("adore", 1.5),
    ("bien", 0.6),
    ("bon", 0.6),
    ("bonne", 0.6),
    ("nickel", 1.2),
    ("sympa", 1.0),
    ("plaisir", 1.0),
    ("reactif", 1.0),
    ("mauvais", -1.0),
    ("nul", -1.5),
    ("nulle", -1.5),
    ("horrible", -1.8),
    ("affreu", -1.8),
    ("deteste", -1.8),
    ("decu", -1.5),
    ("decevant", -1.5),
    ("deception", -1.5),
    ("mecontent", -1.5),
    ("insatisfait", -1.5),
    ("enerv", -1.5),
    ("agac", -1.2),
    ("furieu", -2.0),
    ("colere", -1.6),
    ("inadmissible", -2.0),
    ("inacceptable", -2.0),
    ("scandal", -2.0),
    ("honte", -1.6),
    ("ridicule", -1.8),
    ("marre", -1.8),
    ("panne", -1.0),
    ("plante", -1.0),
    ("bug", -0.8),
    ("erreur", -0.6),
    ("probleme", -0.6),
    ("souci", -0.5),
    ("jamais recu", -1.2),
    ("perdu", -0.8),
    ("retard", -0.8),
    ("lent", -0.7),
    ("casse", -1.0),
    ("abime", -1.0),
    ("deux fois", -0.6),
    ("resilier", -1.0),
    ("resiliation", -1.0),
    ("annul", -0.6),
    ("arnaque", -2.0),
    ("lamentable", -2.0),
    ("pire", -1.6),
    ("catastroph", -1.8),
    ("incompetent", -2.0),
    ("ignore", -1.2),
    ("personne ne", -1.0),
    ("toujours", -0.2),
    ("encore", -0.3),
    ("impossible", -0.8),
    ("hors ligne", -0.6),
    ("deconnect", -0.6),
    ("bloque", -0.8),
    ("inquiet", -0.8),
    ("plainte", -1.0),
    ("desole", -0.2),
    ("terrible", -1.2),
    ("galere", -1.4),
    ("penible", -1.3),
    ("n'importe quoi", -1.6),
    ("rembourse", -0.3),
    ("pas normal", -1.2),
    ("recommanderais pas", -1.5),
    ("tanne", -1.6),
    ("reglez", -0.8),
    ("responsable", -0.8),
    ("tout de suite", -0.6),
    ("signaler", -0.8),
    ("regrette", -1.5),
    ("efface", -1.0),
    ("a plat", -1.0),
    ("s'eteint", -1.0),
    ("ne repond plus", -1.2),
    ("sans chauffage", -1.5),
    ("fissure", -1.0),
    ("ras-le-bol", -2.0),
    ("ras le bol", -2.0),
    ("attends", -0.6),
    ("toujours en cours", -1.0),
    ("meilleur", 1.2),
    ("fiable", 1.0),
    ("fluide", 1.0),
    ("economis", 0.8),
    ("gentil", 1.0),
    ("corrige", 0.8),
    ("sceptique", -0.3),
    ("merci pour rien", -2.5),
    ("se deconnecte", -0.8),
    ("pas revenu", 0.8),
    ("plaindre", -0.8),
    ("en double", -1.0),
    ("rien recu", -1.2),
    ("troisieme fois", -1.0),
    ("deuxieme fois", -0.8),
    ("combien de fois", -1.2),
];

/// Words that invert the next few words' polarity.
const NEGATORS: &[&str] = &[
    "not", "no", "never", "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "won't", "wouldn't", "can't",
    "cannot", "couldn't", "hardly", "without", "nothing", "pas", "jamais", "aucun", "aucune", "sans", "rien", "ni",
    "guere",
];
const INTENSIFIERS: &[(&str, f32)] = &[
    ("very", 1.5),
    ("really", 1.4),
    ("extremely", 1.8),
    ("so", 1.3),
    ("totally", 1.5),
    ("completely", 1.5),
    ("absolutely", 1.6),
    ("incredibly", 1.6),
    ("super", 1.3),
    ("tres", 1.5),
    ("vraiment", 1.4),
    ("tellement", 1.5),
    ("extremement", 1.8),
    ("completement", 1.5),
    ("totalement", 1.5),
    ("absolument", 1.6),
    ("trop", 1.3),
    ("a bit", 0.5),
    ("slightly", 0.5),
    ("somewhat", 0.6),
    ("kind of", 0.6),
    ("a little", 0.5),
    ("un peu", 0.5),
    ("legerement", 0.5),
    ("plutot", 0.7),
    ("assez", 0.8),
];
/// Signs of exasperation: repetition, escalation, threats to leave.
const FRUSTRATION: &[&str] = &[
    "again",
    "still",
    "third time",
    "second time",
    "fourth time",
    "how many times",
    "fed up",
    "sick of",
    "tired of",
    "unacceptable",
    "ridiculous",
    "cancel",
    "switch to",
    "lawyer",
    "complaint",
    "escalate",
    "manager",
    "nobody",
    "no one",
    "weeks",
    "every day",
    "every night",
    "joke",
    "waste",
    "furious",
    "enough",
    "encore",
    "toujours pas",
    "troisieme fois",
    "deuxieme fois",
    "combien de fois",
    "marre",
    "inadmissible",
    "inacceptable",
    "resilier",
    "resiliation",
    "avocat",
    "plainte",
    "responsable",
    "personne ne",
    "semaines",
    "tous les jours",
    "toutes les nuits",
    "n'importe quoi",
    "scandal",
    "ras le bol",
    "ras-le-bol",
    "une fois de plus",
    "furieu",
    "assez",
];
/// Praise words that, next to a complaint, are sarcasm.
const IRONIC_PRAISE: &[&str] = &[
    "great",
    "fantastic",
    "wonderful",
    "perfect",
    "brilliant",
    "awesome",
    "amazing",
    "love",
    "thanks a lot",
    "well done",
    "bravo",
    "super",
    "genial",
    "parfait",
    "merci beaucoup",
    "formidable",
    "magnifique",
    "chapeau",
];
/// Complaint context for the sarcasm rule.
const COMPLAINT_CONTEXT: &[&str] = &[
    "again",
    "another",
    "still",
    "third",
    "second",
    "broke",
    "crash",
    "offline",
    "charged",
    "twice",
    "never",
    "waiting",
    "week",
    "encore",
    "toujours",
    "troisieme",
    "deuxieme",
    "double",
    "jamais",
    "attend",
    "semaine",
    "panne",
    "plante",
    "hors ligne",
    "facture",
    "bug",
    "error",
    "erreur",
];

fn has_problem(joined: &str) -> bool {
    COMPLAINT_CONTEXT.iter().any(|c| joined.contains(&format!(" {c}")))
}

/// Greetings and sign-offs: polite form, not feeling.
const COURTESY: &[&str] = &[
    "hello",
    "hi",
    "dear",
    "regards",
    "best",
    "kind regards",
    "thanks in advance",
    "thank you in advance",
    "cheers",
    "bonjour",
    "cordialement",
    "bien cordialement",
    "merci d'avance",
    "merci par avance",
    "salutations",
    "bonne journee",
];

/// Scores a message. `lang` picks the lexicon; the other language's words still count at half weight, since
/// customers mix them. A long message is scored sentence by sentence (greetings and sign-offs left out), with
/// complaints weighing double: one angry paragraph is not cancelled by a polite "thanks in advance".
pub fn analyse(text: &str, lang: Lang) -> Sentiment {
    let sentences: Vec<String> = crate::domain::text::sentences(text)
        .into_iter()
        .filter(|s| {
            let folded = fold(&s.to_lowercase());
            let bare = folded.trim_matches(|c: char| !c.is_alphanumeric());
            !COURTESY
                .iter()
                .any(|c| bare == *c || bare.starts_with(&format!("{c} ")) && bare.split_whitespace().count() <= 3)
        })
        .collect();
    if sentences.len() < 3 {
        return analyse_one(text, lang);
    }
    let parts: Vec<Sentiment> = sentences.iter().map(|s| analyse_one(s, lang)).collect();
    let (mut sum, mut weight) = (0.0f32, 0.0f32);
    for p in &parts {
        let w = if p.score < 0.0 { 2.0 } else { 1.0 };
        sum += w * p.score;
        weight += w;
    }
    let score = (sum / weight.max(1.0)).clamp(-1.0, 1.0);
    let frustrated = score < -0.2 && parts.iter().any(|p| p.frustrated);
    Sentiment {
        score,
        label: label_of(score),
        frustrated,
        cues: Vec::new(),
    }
}

fn label_of(score: f32) -> SentimentLabel {
    if score > 0.2 {
        SentimentLabel::Positive
    } else if score < -0.2 {
        SentimentLabel::Negative
    } else {
        SentimentLabel::Neutral
    }
}

/// Scores one short text.
fn analyse_one(text: &str, lang: Lang) -> Sentiment {
    let tokens: Vec<String> = words(text).iter().map(|w| fold(w)).collect();
    let joined = format!(" {} ", tokens.join(" "));
    let (primary, secondary) = match lang {
        Lang::En => (EN_LEXICON, FR_LEXICON),
        Lang::Fr => (FR_LEXICON, EN_LEXICON),
    };
    let mut total = 0.0f32;
    let mut praise_hits = 0;
    let (mut positive, mut negative) = (0.0f32, 0.0f32);
    let mut matched = vec![false; tokens.len()];
    for (lexicon, factor) in [(primary, 1.0f32), (secondary, 0.5)] {
        for &(stem, weight) in lexicon {
            let stem_tokens: Vec<&str> = stem.split(' ').collect();
            for i in 0..tokens.len() {
                if matched[i] || i + stem_tokens.len() > tokens.len() {
                    continue;
                }
                let hit = stem_tokens.iter().enumerate().all(|(j, s)| {
                    let t = &tokens[i + j];
                    if j + 1 == stem_tokens.len() {
                        t.starts_with(s)
                    } else {
                        t == s
                    }
                });
                if !hit {
                    continue;
                }
                (i..i + stem_tokens.len()).for_each(|k| matched[k] = true);
                let mut w = weight * factor;
                let window = i.saturating_sub(4)..i;
                let negated = tokens[window.clone()]
                    .iter()
                    .any(|t| NEGATORS.contains(&t.as_str()) || t.ends_with("n't"))
                    || (lang == Lang::Fr && tokens[window.clone()].iter().any(|t| t == "n'" || t.starts_with("n'")));
                if negated {
                    // "not bad" is mildly positive; "not good" is clearly negative.
                    w = if w < 0.0 { -w * 0.7 } else { -w * 0.8 };
                }
                for &(int, mult) in INTENSIFIERS {
                    let int_tokens = int.split(' ').count();
                    if i >= int_tokens && tokens[i - int_tokens..i].join(" ") == int {
                        w *= mult;
                    }
                }
                if w > 0.0 && IRONIC_PRAISE.iter().any(|p| stem.starts_with(p) || p.starts_with(stem)) {
                    praise_hits += 1;
                }
                if w > 0.0 {
                    positive += w;
                } else {
                    negative -= w;
                }
                total += w;
            }
        }
    }
    // A calm problem report ("the sensor says open while the door is closed") is mildly negative.
    if negative < 0.6 && reports_problem(&joined) {
        negative += 0.7;
        total -= 0.7;
    }
    let question = (text.trim_end().ends_with('?') || joined.contains(" how do i ") || joined.contains(" comment "))
        && !FRUSTRATION.iter().any(|m| joined.contains(&format!(" {m}")));
    if question && negative < 2.0 {
        // "How do I fix the error?" asks; it does not complain.
        total += negative * 0.6;
        negative *= 0.4;
    }
    let shouting = text
        .split_whitespace()
        .filter(|w| w.len() >= 3 && w.chars().all(|c| !c.is_lowercase()) && w.chars().any(char::is_alphabetic))
        .count()
        >= 2;
    let exclamations = text.matches('!').count();
    let resolved = [
        "fixed",
        "working again",
        "works again",
        "resolved",
        "corrige",
        "regle",
        "resolu",
        "fonctionne a nouveau",
        "pas revenu",
        "stable",
    ]
    .iter()
    .any(|r| joined.contains(r));
    let ironic_marker = [
        "🙄",
        "👏",
        "best purchase ever",
        "much appreciated",
        "au moins",
        "very smart",
        "vraiment pratique",
        "vraiment top",
        "tres pratique",
        "precision suisse",
        "j'adore recommencer",
        "super optimisation",
        "thanks so much",
        "\"smart\"",
        "« smart »",
        "oh perfect",
        "bien joue",
    ]
    .iter()
    .any(|m| joined.contains(m) || text.to_lowercase().contains(m));
    // Sarcasm: praise next to a real complaint, or an ironic turn of phrase.
    let sarcastic = (praise_hits > 0 && negative >= 0.8 && !resolved)
        || (ironic_marker && negative > 0.0)
        || (ironic_marker
            && praise_hits > 0
            && !resolved
            && exclamations == 0
            && positive < 2.0
            && has_problem(&joined));
    if sarcastic {
        total = -(negative + positive * 0.5).max(1.0);
    }
    if total < 0.0 && (exclamations >= 2 || shouting) {
        total *= 1.3;
    }
    if total == 0.0 && shouting {
        total = -0.8;
    }
    let score = (total / 2.5).tanh();
    let markers = FRUSTRATION.iter().filter(|m| joined.contains(&format!(" {m}"))).count();
    let frustrated = score < -0.2
        && (markers > 0 || sarcastic || shouting || exclamations >= 1 || text.contains("??") || score <= -0.6);
    let label = if score > 0.2 {
        SentimentLabel::Positive
    } else if score < -0.2 {
        SentimentLabel::Negative
    } else {
        SentimentLabel::Neutral
    };
    Sentiment {
        score,
        label,
        frustrated,
        cues: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(text: &str, lang: Lang) -> SentimentLabel {
        analyse(text, lang).label
    }

    #[test]
    fn plain_praise_and_complaints() {
        assert_eq!(
            label("Thanks a lot, the agent was really helpful!", Lang::En),
            SentimentLabel::Positive
        );
        assert_eq!(
            label("This is the worst service, I am very disappointed", Lang::En),
            SentimentLabel::Negative
        );
        assert_eq!(
            label("Merci, tout fonctionne parfaitement", Lang::Fr),
            SentimentLabel::Positive
        );
        assert_eq!(
            label("Je suis très déçu, c'est inadmissible", Lang::Fr),
            SentimentLabel::Negative
        );
    }

    #[test]
    fn negation_flips_polarity() {
        assert_ne!(label("Not bad at all", Lang::En), SentimentLabel::Negative);
        assert_eq!(label("I am not happy with this", Lang::En), SentimentLabel::Negative);
        assert_eq!(
            label("Je ne suis pas du tout satisfait", Lang::Fr),
            SentimentLabel::Negative
        );
    }

    #[test]
    fn sarcasm_reads_as_negative_and_frustrated() {
        let s = analyse("Great, the hub is offline again. Fantastic.", Lang::En);
        assert_eq!(s.label, SentimentLabel::Negative);
        assert!(s.frustrated);
        let s = analyse("Super, encore une facture en double. Merci beaucoup.", Lang::Fr);
        assert_eq!(s.label, SentimentLabel::Negative);
    }

    #[test]
    fn questions_with_problem_words_are_not_frustrated() {
        let s = analyse("How do I reset my password?", Lang::En);
        assert_eq!(s.label, SentimentLabel::Neutral);
        assert!(!s.frustrated);
        assert!((-1.0..=1.0).contains(&analyse("TERRIBLE!!! WORST EVER!!! CANCEL NOW", Lang::En).score));
    }
}
