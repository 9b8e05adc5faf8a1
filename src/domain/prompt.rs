//! Renders a context as a text block for an agent or an LLM prompt, in the customer's language where the labels
//! allow, cut to a token budget (about 4 characters a token) section by section, most important first.

use chrono::{DateTime, Utc};

use super::context::CustomerContext;
use super::text::Lang;

struct Labels {
    customer: &'static str,
    speak: &'static str,
    open_issues: &'static str,
    promises: &'static str,
    overdue: &'static str,
    mood: &'static str,
    escalate: &'static str,
    relevant: &'static str,
    recent: &'static str,
    knowledge: &'static str,
    solved: &'static str,
}

const EN: Labels = Labels {
    customer: "Customer",
    speak: "How to speak to them",
    open_issues: "Open issues",
    promises: "Promises not yet kept",
    overdue: "OVERDUE",
    mood: "Mood",
    escalate: "Recommend a human agent",
    relevant: "Relevant history",
    recent: "Recent interactions",
    knowledge: "Knowledge base (cite as given)",
    solved: "Similar problems solved before",
};

const FR: Labels = Labels {
    customer: "Client",
    speak: "Comment lui parler",
    open_issues: "Problèmes en cours",
    promises: "Engagements non tenus",
    overdue: "EN RETARD",
    mood: "Humeur",
    escalate: "Passer la main à un conseiller humain",
    relevant: "Historique pertinent",
    recent: "Dernières interactions",
    knowledge: "Base de connaissances (citer comme indiqué)",
    solved: "Problèmes semblables déjà résolus",
};

/// Characters of a knowledge chunk or a past resolution shown in the prompt.
const EXCERPT_CHARS: usize = 400;

/// A text on one line, cut to [`EXCERPT_CHARS`] at a word boundary.
fn excerpt(text: &str) -> String {
    let flat = flat(text);
    if flat.chars().count() <= EXCERPT_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(EXCERPT_CHARS).collect();
    match cut.rfind(' ') {
        Some(i) => format!("{}…", cut.get(..i).unwrap_or(&cut)),
        None => format!("{cut}…"),
    }
}

/// A text on one line: line breaks and runs of spaces become single spaces.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Estimated tokens of a text.
pub fn tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// The prompt block and its estimated tokens.
pub fn render(ctx: &CustomerContext, lang: Lang, budget: usize, now: DateTime<Utc>) -> (String, usize) {
    let l = if lang == Lang::Fr { &FR } else { &EN };
    let p = &ctx.profile;
    let mut sections: Vec<Vec<String>> = Vec::new();
    let mut who = vec![format!(
        "{}: {}{}{}",
        l.customer,
        p.name.clone().unwrap_or_else(|| p.external_id.clone()),
        p.company.as_ref().map(|c| format!(" ({c})")).unwrap_or_default(),
        p.plan.as_ref().map(|c| format!(", plan {c}")).unwrap_or_default()
    )];
    if let Some(r) = p.renewal_date {
        who.push(format!("renewal {r}"));
    }
    sections.push(vec![who.join("; ")]);
    let s = &ctx.preferences;
    let mut speak = vec![format!("language {}", s.language)];
    if let Some(t) = s.tone {
        speak.push(format!("tone {t:?}").to_lowercase());
    }
    if let Some(t) = s.technical_level {
        speak.push(format!("technical level {t:?}").to_lowercase());
    }
    if !s.preferred_channels.is_empty() {
        let channels: Vec<String> = s
            .preferred_channels
            .iter()
            .map(|c| format!("{c:?}").to_lowercase())
            .collect();
        speak.push(format!("channels {}", channels.join(" > ")));
    }
    if let Some(q) = &s.quiet_hours {
        speak.push(format!("quiet hours {}-{}", q.start, q.end));
    }
    sections.push(vec![format!("{}: {}", l.speak, speak.join(", "))]);
    let st = &ctx.sentiment;
    let fr = lang == Lang::Fr;
    let direction = match (st.direction.as_str(), fr) {
        ("declining", true) => "en baisse",
        ("improving", true) => "en hausse",
        (_, true) => "stable",
        (d, false) => d,
    };
    let feeling = match (st.frustrated, fr) {
        (true, true) => "exaspéré",
        (false, true) => "calme",
        (true, false) => "frustrated",
        (false, false) => "calm",
    };
    let mut line = format!("{}: {direction} ({:.2}, {feeling})", l.mood, st.recent);
    if !st.cues.is_empty() {
        let names: Vec<&str> = st.cues.iter().map(|c| c.code()).collect();
        line.push_str(&format!(
            "; {} {}",
            if fr { "signaux :" } else { "signs:" },
            names.join(", ")
        ));
    }
    let mut mood = vec![line];
    if st.escalate {
        mood.push(format!("{}: {}", l.escalate, st.reason.clone().unwrap_or_default()));
    }
    sections.push(mood);
    if !ctx.open_issues.is_empty() {
        let mut s = vec![format!("{}:", l.open_issues)];
        s.extend(
            ctx.open_issues
                .iter()
                .map(|m| format!("- {} [{}]", flat(&m.text), m.provenance.interaction_id)),
        );
        sections.push(s);
    }
    if !ctx.open_commitments.is_empty() {
        let mut s = vec![format!("{}:", l.promises)];
        s.extend(ctx.open_commitments.iter().map(|m| {
            let due = match m.due_at {
                Some(d) if d < now => format!(" ({} {})", l.overdue, d.format("%Y-%m-%d")),
                Some(d) => format!(" (due {})", d.format("%Y-%m-%d")),
                None => String::new(),
            };
            format!("- {}{due} [{}]", flat(&m.text), m.provenance.interaction_id)
        }));
        sections.push(s);
    }
    if !ctx.knowledge.is_empty() {
        let mut s = vec![format!("{}:", l.knowledge)];
        s.extend(
            ctx.knowledge
                .iter()
                .map(|k| format!("- {} {}", k.citation.cite, excerpt(&k.text))),
        );
        sections.push(s);
    }
    if !ctx.memories.is_empty() {
        let mut s = vec![format!("{}:", l.relevant)];
        s.extend(ctx.memories.iter().map(|r| {
            format!(
                "- {} {}: {} [{}]",
                r.memory.observed_at.format("%Y-%m-%d"),
                format!("{:?}", r.memory.kind).to_lowercase(),
                flat(&r.memory.text),
                r.memory.provenance.interaction_id
            )
        }));
        sections.push(s);
    }
    if !ctx.past_resolutions.is_empty() {
        let mut s = vec![format!("{}:", l.solved)];
        s.extend(ctx.past_resolutions.iter().map(|r| {
            let problem = r
                .issue
                .as_deref()
                .or(r.subject.as_deref())
                .map(flat)
                .unwrap_or_default();
            match problem.is_empty() {
                true => format!("- {}", excerpt(&r.resolution)),
                false => format!("- {} → {}", excerpt(&problem), excerpt(&r.resolution)),
            }
        }));
        sections.push(s);
    }
    if !ctx.recent_interactions.is_empty() {
        let mut s = vec![format!("{}:", l.recent)];
        s.extend(ctx.recent_interactions.iter().map(|i| format!("- {i}")));
        sections.push(s);
    }
    let mut out = String::new();
    'sections: for section in sections {
        for line in section {
            if tokens(&out) + tokens(&line) + 1 > budget {
                break 'sections;
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    let t = tokens(&out);
    (out, t)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::context::{PreferenceSummary, Profile};
    use crate::domain::memory::{Memory, MemoryKind, Provenance};
    use crate::domain::mood::SentimentTrend;
    use crate::domain::sentiment::Cue;
    use crate::domain::{CustomerId, WorkspaceId};

    fn now() -> DateTime<Utc> {
        "2026-11-25T09:00:00Z".parse().unwrap()
    }

    fn promise(text: &str, due: &str) -> Memory {
        let mut m = Memory::new(
            WorkspaceId::default_workspace(),
            MemoryKind::Commitment,
            text.into(),
            Lang::Fr,
            Provenance {
                customer_id: CustomerId::from_client("c"),
                interaction_id: "int-1".into(),
                message_ids: vec!["m".into()],
            },
            now(),
        );
        m.due_at = Some(due.parse().unwrap());
        m.open = true;
        m
    }

    fn context() -> CustomerContext {
        CustomerContext {
            language: "fr-FR".into(),
            profile: Profile {
                id: "cus_1".into(),
                external_id: "cus-1033".into(),
                name: Some("Nathalie Rousseau".into()),
                company: Some("Rousseau Immobilier".into()),
                plan: Some("business".into()),
                timezone: None,
                tags: vec![],
                customer_since: None,
                renewal_date: Some("2026-12-01".parse().unwrap()),
            },
            preferences: PreferenceSummary {
                language: "fr-FR".into(),
                tone: None,
                preferred_channels: vec![],
                technical_level: None,
                quiet_hours: None,
                do_not_contact: false,
            },
            memories: vec![],
            open_issues: vec![],
            open_commitments: vec![promise(
                "Un technicien vous rappelle sous 48 h.",
                "2026-10-04T18:00:00Z",
            )],
            overdue_commitments: vec![],
            recent_interactions: vec!["2026-11-23 Email — Dernière relance [pending]".into()],
            sentiment: SentimentTrend {
                current: -0.1,
                recent: -0.8,
                longer_term: Some(-0.3),
                direction: "declining".into(),
                frustrated: true,
                cues: vec![Cue::ThreatToLeave],
                escalate: true,
                reason: Some("menace de partir le 23/11".into()),
            },
            knowledge: Vec::new(),
            past_resolutions: Vec::new(),
            prompt: String::new(),
            prompt_tokens: 0,
        }
    }

    #[test]
    fn the_prompt_speaks_the_customers_language_and_marks_broken_promises() {
        let (text, tokens) = render(&context(), Lang::Fr, 1500, now());
        assert!(
            text.starts_with("Client: Nathalie Rousseau (Rousseau Immobilier), plan business"),
            "{text}"
        );
        assert!(
            text.contains("Humeur: en baisse (-0.80, exaspéré); signaux : threat_to_leave"),
            "{text}"
        );
        assert!(
            text.contains("Passer la main à un conseiller humain: menace de partir le 23/11"),
            "{text}"
        );
        assert!(text.contains("(EN RETARD 2026-10-04) [int-1]"), "{text}");
        assert_eq!(tokens, super::tokens(&text));
        let (en, _) = render(&context(), Lang::En, 1500, now());
        assert!(en.contains("Promises not yet kept:") && en.contains("OVERDUE"), "{en}");
    }

    #[test]
    fn the_prompt_fits_its_budget_section_by_section() {
        let (text, tokens) = render(&context(), Lang::Fr, 30, now());
        assert!(tokens <= 30, "{tokens}: {text}");
        assert!(text.starts_with("Client:"), "the most important section comes first");
        assert!(
            !text.contains("EN RETARD"),
            "later sections are cut whole lines at a time"
        );
        assert!(text.lines().all(|l| !l.is_empty()));
    }
}
