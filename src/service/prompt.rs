//! Renders a context as a text block for an agent or an LLM prompt, in the customer's language where the labels
//! allow, cut to a token budget (about 4 characters a token) section by section, most important first.

use chrono::{DateTime, Utc};

use super::recall::CustomerContext;
use crate::domain::text::Lang;

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
};

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
