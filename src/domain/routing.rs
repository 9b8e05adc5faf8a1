//! Routing a handed-over conversation: the escalation triggers its words fire, and the team best suited to it
//! (topic by meaning, language, product, plan and value, working hours), with the reason and the runner-up.
//! Pure: the caller embeds the texts.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::recall;
use super::sentiment::cues::{self, normalise};
use super::sentiment::Cue;
use super::team::Team;

/// Why a conversation may need care beyond its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// A frustrated message (the sentiment classifier's verdict).
    Frustration,
    /// Words of leaving: cancel, not renew, switch to a competitor (résilier, aller voir ailleurs).
    ThreatToLeave,
    /// The customer says they wrote before, or opened other conversations in the last 14 days.
    RepeatedContact,
    /// Lawyer, lawsuit, chargeback, regulator (avocat, mise en demeure, tribunal).
    Legal,
    /// Fire, smoke, burning, sparks, injury, danger (feu, fumée, brûlé, blessure).
    Safety,
}

impl TriggerKind {
    /// Whether the trigger sends the conversation to a team that takes escalations.
    pub fn escalates(self) -> bool {
        matches!(self, Self::ThreatToLeave | Self::Legal | Self::Safety)
    }

    /// The trigger in words (`legal words`, `threat to leave`).
    pub fn words(self) -> &'static str {
        match self {
            Self::Frustration => "frustration",
            Self::ThreatToLeave => "threat to leave",
            Self::RepeatedContact => "repeated contact",
            Self::Legal => "legal words",
            Self::Safety => "safety words",
        }
    }
}

/// One escalation trigger that fired, with the words that fired it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Trigger {
    /// What fired.
    pub kind: TriggerKind,
    /// The customer's words (a message, cut to 200 characters) or the other conversations' ids.
    #[schema(example = "If this isn't fixed by Friday I'm cancelling and going to a competitor.")]
    pub evidence: String,
}

/// Safety words, on [`normalise`]d text (lowercase, accents folded).
static SAFETY: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used, reason = "a constant pattern")]
    Regex::new(concat!(
        r"\b(?:fire|on fire|caught fire|flames?|smoke|smoking|smoked|burn(?:ing|t|ed|s)? ?(?:smell|odou?r|mark|my|his|her)?",
        r"|scorch(?:ed|ing)?|melt(?:ed|ing)?|sparks?|sparking|overheat(?:ing|ed|s)?|too hot to touch|electric(?:al)? shock",
        r"|shocked me|injur(?:y|ies|ed)|hurt (?:my|his|her|him|me|myself)|danger(?:ous)?|hazard(?:ous)?|unsafe|carbon monoxide",
        r"|feu|incendie|flammes?|fumee|brule|brulure|odeur de brule|etincelles?|surchauffe|fondu|choc electrique",
        r"|electrocut\w*|blesse(?:e|s|es)?|blessure|danger(?:eux|euse)?|risque d'incendie)\b"
    ))
    .expect("the safety pattern is valid")
});

/// Legal words the sentiment cues do not name already.
static LEGAL: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used, reason = "a constant pattern")]
    Regex::new(r"\b(?:lawsuits?|sue\b|suing|court|legal (?:team|department|advice)|poursuites?|proces\b|juridique)")
        .expect("the legal pattern is valid")
});

fn cut(text: &str) -> String {
    let t: String = text.chars().take(200).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// One customer message as the triggers read it.
pub struct Said<'a> {
    /// Its text.
    pub text: &'a str,
    /// Whether the sentiment classifier found it frustrated.
    pub frustrated: bool,
}

/// The triggers the customer's messages fire (at most one of each kind, with the first message that fired it);
/// `earlier` names the customer's other recent conversations.
pub fn triggers(said: &[Said<'_>], earlier: &[String]) -> Vec<Trigger> {
    let mut out: Vec<Trigger> = Vec::new();
    let mut fire = |kind: TriggerKind, evidence: String| {
        if !out.iter().any(|t| t.kind == kind) {
            out.push(Trigger { kind, evidence });
        }
    };
    for s in said {
        let found = cues::detect(s.text);
        let norm = normalise(s.text);
        if s.frustrated {
            fire(TriggerKind::Frustration, cut(s.text));
        }
        if found.contains(&Cue::ThreatToLeave) {
            fire(TriggerKind::ThreatToLeave, cut(s.text));
        }
        if found.contains(&Cue::RepeatContact) {
            fire(TriggerKind::RepeatedContact, cut(s.text));
        }
        if found.contains(&Cue::LegalThreat) || LEGAL.is_match(&norm) {
            fire(TriggerKind::Legal, cut(s.text));
        }
        if SAFETY.is_match(&norm) {
            fire(TriggerKind::Safety, cut(s.text));
        }
    }
    if !earlier.is_empty() {
        fire(
            TriggerKind::RepeatedContact,
            format!("other conversations in the last 14 days: {}", earlier.join(", ")),
        );
    }
    let order = |k: TriggerKind| k as u8;
    out.sort_by_key(|t| order(t.kind));
    out
}

/// What routing knows of the conversation.
pub struct Conversation<'a> {
    /// The customer's words (subject and messages): their keywords meet the teams' topics.
    pub text: &'a str,
    /// Embedding of the customer's words (query role).
    pub vector: &'a [f32],
    /// The customer's language (BCP 47), when known.
    pub language: Option<&'a str>,
    /// The product the interaction is about.
    pub product: Option<&'a str>,
    /// The customer's plan.
    pub plan: Option<&'a str>,
    /// The customer's lifetime value.
    pub lifetime_value: Option<f64>,
    /// When the handoff happens.
    pub at: DateTime<Utc>,
    /// The triggers that fired.
    pub triggers: &'a [Trigger],
}

/// A team with the embeddings of its topics (passage role, in the order of `topics`).
pub struct Candidate<'a> {
    /// The team.
    pub team: &'a Team,
    /// One vector per topic.
    pub topics: &'a [Vec<f32>],
}

/// How much each signal weighs, in cosine units (topic similarities of one conversation differ by a few hundredths
/// between teams with the multilingual e5 model). Tuned on the dev split of `fixtures/eval/routing.ndjson` only.
#[derive(Debug, Clone, Copy)]
pub struct Weights {
    /// Penalty for a team that does not speak the customer's language.
    pub language: f32,
    /// Bonus for a team that lists the interaction's product; the same as a penalty when it lists others only.
    pub product: f32,
    /// Bonus for a team whose plans or value tier the customer is in; the same as a penalty when not.
    pub tier: f32,
    /// Penalty for a team off work at the handoff time.
    pub closed: f32,
    /// Bonus for an escalation team when a threat to leave, a legal or a safety trigger fired.
    pub escalation: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            language: 0.10,
            product: 0.015,
            tier: 0.015,
            closed: 0.005,
            escalation: 0.08,
        }
    }
}

/// The chosen team, or the runner-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RouteChoice {
    /// The team's id (`team_...`).
    pub team_id: String,
    /// The team's name.
    #[schema(example = "Billing & refunds")]
    pub team_name: String,
    /// The routing score: topic similarity (cosine), plus the keyword match (in spreads of the teams'
    /// similarities), plus the bonuses and penalties of the other signals.
    #[schema(example = 0.874)]
    pub score: f32,
    /// Whether the team is at work at the handoff time.
    pub open_now: bool,
    /// Why, in words.
    #[schema(
        example = "topic \"invoices, double charges, refunds\" (similarity 0.86, keywords 1.00); speaks en; open now"
    )]
    pub reason: String,
}

/// Where to send a handed-over conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Route {
    /// The best suited team.
    #[serde(flatten)]
    pub team: RouteChoice,
    /// The next best team, when the workspace has another.
    pub runner_up: Option<RouteChoice>,
}

fn same(a: &str, b: &str) -> bool {
    let fold = |s: &str| s.trim().to_lowercase();
    fold(a) == fold(b)
}

/// How much the keyword match weighs beside the topic similarity, in standard deviations of the teams'
/// similarities: the fusion memories and knowledge use (dense standardised over `STANDARD_SPAN` deviations,
/// weighted `SEMANTIC_WEIGHT`; BM25 relative to the best, weighted `KEYWORD_WEIGHT`), written in cosine units so
/// the other signals keep theirs.
const KEYWORD_SPREADS: f32 = recall::STANDARD_SPAN * recall::KEYWORD_WEIGHT / recall::SEMANTIC_WEIGHT;

/// A team's best topic: its index and the cosine similarity to the conversation (`None` without topics).
fn best_topic(c: &Candidate<'_>, conv: &Conversation<'_>) -> Option<(usize, f32)> {
    c.topics
        .iter()
        .enumerate()
        .map(|(i, v)| (i, super::dot(conv.vector, v)))
        .reduce(|acc, x| if x.1 > acc.1 { x } else { acc })
}

/// Each team's BM25 score for the conversation's words over its topics (each topic read in its own language),
/// divided by the best team's.
fn keyword_match(candidates: &[Candidate<'_>], conv: &Conversation<'_>) -> Vec<f32> {
    use super::text::{detect, terms, Lang};
    use recall::{bm25, relative, Terms};
    let docs: Vec<Terms> = candidates
        .iter()
        .map(|c| {
            let all: Vec<String> = c
                .team
                .fields
                .topics
                .iter()
                .flat_map(|t| terms(t, detect(t, Lang::En)))
                .collect();
            Terms::of(&all)
        })
        .collect();
    let query = terms(conv.text, detect(conv.text, Lang::En));
    relative(&bm25(&docs.iter().collect::<Vec<_>>(), &query))
}

fn score(c: &Candidate<'_>, conv: &Conversation<'_>, w: &Weights, keyword: f32, spread: f32) -> RouteChoice {
    let team = &c.team.fields;
    let (best, sim) = best_topic(c, conv).unwrap_or((0, 0.0));
    let topic = team.topics.get(best).map(String::as_str).unwrap_or_default();
    let short: String = topic.chars().take(60).collect();
    let mut total = sim + KEYWORD_SPREADS * spread * keyword;
    let mut why = vec![format!(
        "topic \"{short}\" (similarity {sim:.2}, keywords {keyword:.2})"
    )];
    if let Some(lang) = conv.language.filter(|_| !team.languages.is_empty()) {
        if team.speaks(lang) {
            why.push(format!("speaks {lang}"));
        } else {
            total -= w.language;
            why.push(format!("does not speak {lang}"));
        }
    }
    if let Some(product) = conv.product.filter(|_| !team.products.is_empty()) {
        if team.products.iter().any(|p| same(p, product)) {
            total += w.product;
            why.push(format!("knows {product}"));
        } else {
            total -= w.product;
        }
    }
    if !team.plans.is_empty() {
        if conv.plan.is_some_and(|p| team.plans.iter().any(|t| same(t, p))) {
            total += w.tier;
            why.push(format!("serves the {} plan", conv.plan.unwrap_or_default()));
        } else {
            total -= w.tier;
        }
    }
    if let Some(min) = team.min_lifetime_value {
        if conv.lifetime_value.is_some_and(|v| v >= min) {
            total += w.tier;
            why.push(format!("serves customers worth {min:.0} or more"));
        } else {
            total -= w.tier;
        }
    }
    let escalating: Vec<&str> = conv
        .triggers
        .iter()
        .filter(|t| t.kind.escalates())
        .map(|t| t.kind.words())
        .collect();
    if team.escalations && !escalating.is_empty() {
        total += w.escalation;
        why.push(format!("takes escalations ({})", escalating.join(", ")));
    }
    let open_now = team.hours.as_ref().is_none_or(|h| h.open_at(conv.at));
    match (&team.hours, open_now) {
        (Some(h), true) => why.push(format!("open now ({}-{} {})", h.start, h.end, h.timezone)),
        (Some(h), false) => {
            total -= w.closed;
            why.push(format!("closed now ({}-{} {})", h.start, h.end, h.timezone));
        }
        (None, _) => {}
    }
    RouteChoice {
        team_id: c.team.id.clone(),
        team_name: team.name.clone(),
        score: total,
        open_now,
        reason: why.join("; "),
    }
}

/// The best team and the runner-up; `None` when there is no team.
pub fn route(candidates: &[Candidate<'_>], conv: &Conversation<'_>, w: &Weights) -> Option<Route> {
    let keywords = keyword_match(candidates, conv);
    let sims: Vec<f32> = candidates
        .iter()
        .filter_map(|c| best_topic(c, conv).map(|(_, s)| s))
        .collect();
    let (_, spread) = recall::mean_and_spread(&sims);
    let mut scored: Vec<RouteChoice> = candidates
        .iter()
        .zip(keywords.iter().copied().chain(std::iter::repeat(0.0)))
        .map(|(c, k)| score(c, conv, w, k, spread))
        .collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut it = scored.into_iter();
    let team = it.next()?;
    Some(Route {
        team,
        runner_up: it.next(),
    })
}

/// The keyword baseline: the team whose topics share the most words with the text (ties: the first team).
pub fn keyword_choice<'a>(teams: &'a [Team], text: &str) -> Option<&'a Team> {
    let words = |t: &str| -> std::collections::HashSet<String> {
        let lang = super::text::detect(t, super::text::Lang::En);
        super::text::terms(t, lang).into_iter().collect()
    };
    let said = words(text);
    let mut best: Option<(&Team, usize)> = None;
    for team in teams {
        let topic = words(&team.fields.topics.join(" "));
        let overlap = said.intersection(&topic).count();
        if best.is_none_or(|(_, b)| overlap > b) {
            best = Some((team, overlap));
        }
    }
    best.map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str) -> Said<'_> {
        Said {
            text,
            frustrated: false,
        }
    }

    fn kinds(texts: &[&str]) -> Vec<TriggerKind> {
        let said: Vec<Said<'_>> = texts.iter().map(|t| said(t)).collect();
        triggers(&said, &[]).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn legal_and_safety_words_fire_in_english_and_french() {
        assert_eq!(
            kinds(&["My lawyer will be in touch about this lawsuit."]),
            vec![TriggerKind::Legal]
        );
        assert_eq!(
            kinds(&["Vous recevrez une mise en demeure de mon avocat."]),
            vec![TriggerKind::Legal]
        );
        assert_eq!(
            kinds(&["The hub smelled of smoke and the plug was scorched."]),
            vec![TriggerKind::Safety]
        );
        assert_eq!(
            kinds(&["La prise a pris feu, il y avait de la fumée !"]),
            vec![TriggerKind::Safety]
        );
        assert_eq!(
            kinds(&["My son got an electric shock from the charger, he is injured."]),
            vec![TriggerKind::Safety]
        );
    }

    #[test]
    fn ordinary_support_words_fire_nothing() {
        assert!(kinds(&[
            "The firmware update failed, the hub is offline.",
            "Ma facture est incorrecte."
        ])
        .is_empty());
        assert!(kinds(&["How do I cancel the order I placed by mistake?"]).is_empty());
    }

    #[test]
    fn leaving_and_writing_again_are_named_with_their_words() {
        let said = [said("Third time I write about this. I'm cancelling my subscription.")];
        let fired = triggers(&said, &["int-7".to_owned()]);
        let kinds: Vec<TriggerKind> = fired.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, vec![TriggerKind::ThreatToLeave, TriggerKind::RepeatedContact]);
        assert!(fired.iter().all(|t| t.evidence.contains("Third time")));
    }
}
