//! How a customer feels, from their history as much as from the current message: a recency-weighted sentiment
//! trend, frustration, the cues of the last weeks (a threat to leave, a broken promise), promises past due and
//! repeated contacts, and whether a human should take over, with the reasons in the customer's language.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::lifecycle::{issue_open_at, overdue_at};
use super::memory::{Memory, MemoryKind};
use super::recall::Indexed;
use super::sentiment::{Cue, Sentiment};
use super::text::Lang;

/// Days within which cues and frustration still count.
pub const CUE_DAYS: i64 = 30;
/// Days of contacts counted as repeated.
pub const REPEAT_DAYS: i64 = 14;

/// One customer message's feeling.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageMood {
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// Its interaction.
    pub interaction: String,
    /// Sentiment score.
    pub score: f32,
    /// Frustrated.
    pub frustrated: bool,
    /// Its cues.
    pub cues: Vec<Cue>,
}

/// The customer's messages, oldest first, from their message memories (one per message, windows merged).
pub fn moods(memories: &[Arc<Indexed>]) -> Vec<MessageMood> {
    let mut by_message: BTreeMap<(&str, &str), MessageMood> = BTreeMap::new();
    for m in memories.iter().map(|m| &m.memory) {
        let (Some(score), MemoryKind::Message) = (m.sentiment, m.kind) else {
            continue;
        };
        let Some(id) = m.provenance.message_ids.first() else {
            continue;
        };
        by_message
            .entry((m.provenance.interaction_id.as_str(), id.as_str()))
            .or_insert_with(|| MessageMood {
                at: m.observed_at,
                interaction: m.provenance.interaction_id.clone(),
                score,
                frustrated: m.frustrated,
                cues: m.cues.clone(),
            });
    }
    let mut out: Vec<MessageMood> = by_message.into_values().collect();
    out.sort_by_key(|m| m.at);
    out
}

/// What is wrong for a customer now.
#[derive(Debug, Clone, Default)]
pub struct Trouble {
    /// Issues still open.
    pub open_issues: Vec<Memory>,
    /// Promises past due.
    pub overdue: Vec<Memory>,
    /// Conversations in which the customer wrote in the last [`REPEAT_DAYS`] days.
    pub recent_contacts: usize,
    /// Cues of the customer's messages in the last [`CUE_DAYS`] days, after their last clearly happy message.
    pub cues: Vec<(Cue, DateTime<Utc>)>,
    /// Frustrated messages in the same span.
    pub frustrated_messages: usize,
}

/// Reads the trouble from a customer's memories at `now`.
pub fn trouble(memories: &[Arc<Indexed>], moods: &[MessageMood], now: DateTime<Utc>) -> Trouble {
    let mut open_issues: Vec<Memory> = memories
        .iter()
        .map(|m| &m.memory)
        .filter(|m| issue_open_at(m, now))
        .cloned()
        .collect();
    open_issues.sort_by_key(|m| std::cmp::Reverse(m.last_seen));
    let mut overdue: Vec<Memory> = memories
        .iter()
        .map(|m| &m.memory)
        .filter(|m| overdue_at(m, now))
        .cloned()
        .collect();
    overdue.sort_by_key(|m| m.due_at.unwrap_or(m.observed_at));
    let mut contacts: Vec<&str> = moods
        .iter()
        .filter(|m| m.at >= now - Duration::days(REPEAT_DAYS) && m.at <= now)
        .map(|m| m.interaction.as_str())
        .collect();
    contacts.sort_unstable();
    contacts.dedup();
    // A clearly happy message ends the earlier trouble ("angry, then happy").
    let since = moods
        .iter()
        .filter(|m| m.score > 0.5 && m.at <= now)
        .map(|m| m.at)
        .max()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
        .max(now - Duration::days(CUE_DAYS));
    let live: Vec<&MessageMood> = moods.iter().filter(|m| m.at > since && m.at <= now).collect();
    let mut cues: Vec<(Cue, DateTime<Utc>)> = Vec::new();
    for m in &live {
        for c in &m.cues {
            match cues.iter_mut().find(|(x, _)| x == c) {
                Some(slot) => slot.1 = slot.1.max(m.at),
                None => cues.push((*c, m.at)),
            }
        }
    }
    Trouble {
        open_issues,
        overdue,
        recent_contacts: contacts.len(),
        cues,
        frustrated_messages: live.iter().filter(|m| m.frustrated).count(),
    }
}

/// Sentiment, recent against longer-term, with escalation advice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SentimentTrend {
    /// Sentiment of the current message.
    pub current: f32,
    /// Recency-weighted mean over the customer's messages of the last 30 days (with the current one).
    pub recent: f32,
    /// Mean over the last 180 days.
    pub longer_term: Option<f32>,
    /// `improving`, `stable` or `declining`.
    #[schema(example = "declining")]
    pub direction: String,
    /// Frustration in the current message or in the customer's recent messages.
    pub frustrated: bool,
    /// What the recent messages show (threat to leave, broken promise...).
    pub cues: Vec<Cue>,
    /// Whether a human should take over.
    pub escalate: bool,
    /// Why, in the customer's language.
    pub reason: Option<String>,
}

fn weighted_mean(items: &[(f32, f32)]) -> Option<f32> {
    let w: f32 = items.iter().map(|(_, w)| w).sum();
    (w > 0.0).then(|| items.iter().map(|(x, w)| x * w).sum::<f32>() / w)
}

fn day(at: DateTime<Utc>, lang: Lang) -> String {
    match lang {
        Lang::En => at.format("%-d %b").to_string(),
        Lang::Fr => at.format("%d/%m").to_string(),
    }
}

fn short(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= 12 {
        words.join(" ")
    } else {
        format!("{}…", words[..12].join(" "))
    }
}

/// The trend at `now`, from the customer's messages, the current message (if any) and the trouble; reasons in
/// `lang`.
pub fn trend(
    moods: &[MessageMood],
    current: Option<&Sentiment>,
    trouble: &Trouble,
    now: DateTime<Utc>,
    lang: Lang,
) -> SentimentTrend {
    let recent_items: Vec<(f32, f32)> = moods
        .iter()
        .filter(|m| m.at >= now - Duration::days(30) && m.at <= now)
        .map(|m| {
            let age = (now - m.at).num_hours().max(0) as f32 / 24.0;
            (m.score, 0.5f32.powf(age / 7.0))
        })
        .chain(current.map(|c| (c.score, 0.5)))
        .collect();
    let current_score = current.map_or(0.0, |c| c.score);
    let recent = weighted_mean(&recent_items).unwrap_or(current_score);
    let long_items: Vec<(f32, f32)> = moods
        .iter()
        .filter(|m| m.at >= now - Duration::days(180) && m.at <= now)
        .map(|m| (m.score, 1.0))
        .collect();
    let longer_term = weighted_mean(&long_items);
    let direction = match longer_term {
        Some(l) if recent < l - 0.15 => "declining",
        Some(l) if recent > l + 0.15 => "improving",
        _ => "stable",
    };
    let mut cues: Vec<Cue> = trouble.cues.iter().map(|(c, _)| *c).collect();
    for c in current.map(|c| c.cues.as_slice()).unwrap_or(&[]) {
        if !cues.contains(c) {
            cues.push(*c);
        }
    }
    cues.sort();
    let frustrated = current.is_some_and(|c| c.frustrated) || trouble.frustrated_messages > 0;
    let when = |c: Cue| trouble.cues.iter().find(|(x, _)| *x == c).map(|(_, at)| day(*at, lang));
    let mut reasons: Vec<String> = Vec::new();
    let (en, fr) = (lang == Lang::En, lang == Lang::Fr);
    for (cue, en_text, fr_text) in [
        (Cue::ThreatToLeave, "threatened to leave", "menace de partir"),
        (
            Cue::LegalThreat,
            "threatened legal action or a chargeback",
            "menace d'un recours ou d'une opposition",
        ),
        (Cue::EscalationRequest, "asked for a manager", "demande un responsable"),
    ] {
        if cues.contains(&cue) {
            let at = when(cue)
                .map(|d| if en { format!(" on {d}") } else { format!(" le {d}") })
                .unwrap_or_default();
            reasons.push(format!("{}{at}", if fr { fr_text } else { en_text }));
        }
    }
    for promise in trouble.overdue.iter().take(2) {
        let due = day(promise.due_at.unwrap_or(promise.observed_at), lang);
        reasons.push(if fr {
            format!("promesse non tenue : « {} » (prévue le {due})", short(&promise.text))
        } else {
            format!("broken promise: \"{}\" (due {due})", short(&promise.text))
        });
    }
    if trouble.recent_contacts >= 3 && !trouble.open_issues.is_empty() {
        reasons.push(if fr {
            format!(
                "{} contacts en {REPEAT_DAYS} jours sur un problème non résolu",
                trouble.recent_contacts
            )
        } else {
            format!(
                "{} contacts in {REPEAT_DAYS} days about an unresolved problem",
                trouble.recent_contacts
            )
        });
    }
    if frustrated && reasons.is_empty() {
        reasons.push(if fr {
            "messages exaspérés récemment".into()
        } else {
            "frustrated messages recently".into()
        });
    }
    if recent <= -0.4 && reasons.is_empty() {
        reasons.push(if fr {
            format!("sentiment récent bas ({recent:.2})")
        } else {
            format!("recent sentiment is low ({recent:.2})")
        });
    }
    if direction == "declining" && longer_term.is_some_and(|l| l - recent >= 0.3) && reasons.is_empty() {
        let l = longer_term.unwrap_or_default();
        reasons.push(if fr {
            format!("sentiment en baisse de {l:.2} à {recent:.2}")
        } else {
            format!("sentiment fell from {l:.2} to {recent:.2}")
        });
    }
    let escalate = !reasons.is_empty();
    SentimentTrend {
        current: current_score,
        recent,
        longer_term,
        direction: direction.to_owned(),
        frustrated,
        cues,
        escalate,
        reason: escalate.then(|| reasons.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::memory::Provenance;
    use crate::domain::{CustomerId, WorkspaceId};

    fn now() -> DateTime<Utc> {
        "2026-11-25T09:00:00Z".parse().unwrap()
    }

    fn said(text: &str, days_ago: i64, score: f32, cues: Vec<Cue>, frustrated: bool) -> Arc<Indexed> {
        let mut m = Memory::new(
            WorkspaceId::default_workspace(),
            MemoryKind::Message,
            text.into(),
            Lang::Fr,
            Provenance {
                customer_id: CustomerId::from_client("c"),
                interaction_id: format!("int-{days_ago}"),
                message_ids: vec![format!("m-{days_ago}")],
            },
            now() - Duration::days(days_ago),
        );
        m.sentiment = Some(score);
        m.cues = cues;
        m.frustrated = frustrated;
        Arc::new(Indexed::new(m, vec![1.0, 0.0]))
    }

    #[test]
    fn history_raises_the_alarm_in_the_customers_language_even_for_a_calm_message() {
        let memories = vec![
            said("Tout va bien", 60, 0.6, vec![], false),
            said(
                "Troisième contact, nous ne renouvellerons pas.",
                2,
                -0.9,
                vec![Cue::ThreatToLeave, Cue::RepeatContact],
                true,
            ),
        ];
        let moods = moods(&memories);
        let trouble = trouble(&memories, &moods, now());
        let calm_question = Sentiment {
            score: 0.0,
            label: crate::domain::sentiment::SentimentLabel::Neutral,
            frustrated: false,
            cues: vec![],
        };
        let t = trend(&moods, Some(&calm_question), &trouble, now(), Lang::Fr);
        assert!(t.escalate && t.frustrated, "{t:?}");
        assert!(t.reason.unwrap().starts_with("menace de partir le 23/11"));
        assert!(t.cues.contains(&Cue::ThreatToLeave));
        let en = trend(&moods, None, &trouble, now(), Lang::En);
        assert!(en.reason.unwrap().starts_with("threatened to leave on 23 Nov"));
    }

    #[test]
    fn a_clearly_happy_message_ends_the_earlier_trouble() {
        let memories = vec![
            said(
                "C'est inadmissible, je résilie !",
                10,
                -0.9,
                vec![Cue::ThreatToLeave],
                true,
            ),
            said(
                "Merci infiniment, tout fonctionne parfaitement !",
                3,
                0.9,
                vec![],
                false,
            ),
        ];
        let moods = moods(&memories);
        let trouble = trouble(&memories, &moods, now());
        assert!(trouble.cues.is_empty() && trouble.frustrated_messages == 0);
        let t = trend(&moods, None, &trouble, now(), Lang::Fr);
        assert!(!t.escalate, "{t:?}");
    }
}
