//! Reading a help-center file into a document: Markdown with a YAML front matter block, or HTML with `<title>`
//! and `<meta name="...">` tags. The fields are those of [`KnowledgeInput`]; `updated_at` becomes
//! `source_updated_at`. A date without a time (`valid_until: 2026-12-01`) means the end of that day, UTC.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::{DocFormat, KnowledgeInput};
use crate::domain::InvalidInput;

/// The metadata a file may carry.
#[derive(Debug, Default, Deserialize)]
struct Meta {
    title: Option<String>,
    url: Option<String>,
    language: Option<String>,
    product: Option<String>,
    #[serde(default)]
    tags: Tags,
    valid_until: Option<String>,
    updated_at: Option<String>,
}

/// Tags as a YAML list or a comma-separated string.
#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Tags {
    List(Vec<String>),
    Text(String),
    #[default]
    None,
}

impl Tags {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::List(list) => list,
            Self::Text(text) => text
                .split(',')
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
            Self::None => Vec::new(),
        }
    }
}

/// Reads a file's text into a document. `path` (relative to the imported folder, `/`-separated) becomes its
/// `source`; its first folder, when it is a language tag (`en/`, `fr/`), gives the language the file does not
/// state.
pub fn read(path: &str, text: &str) -> Result<KnowledgeInput, InvalidInput> {
    let lower = path.to_ascii_lowercase();
    let (meta, format) = if lower.ends_with(".html") || lower.ends_with(".htm") {
        (html_meta(text), DocFormat::Html)
    } else if lower.ends_with(".md") || lower.ends_with(".markdown") {
        (front_matter(text)?, DocFormat::Markdown)
    } else {
        (Meta::default(), DocFormat::Text)
    };
    let folder_lang = path
        .split('/')
        .next()
        .filter(|f| f.len() == 2 && f.chars().all(|c| c.is_ascii_alphabetic()) && path.contains('/'));
    let stem = path
        .rsplit('/')
        .next()
        .and_then(|name| name.split('.').next())
        .unwrap_or(path)
        .replace(['-', '_'], " ");
    let title = meta.title.or_else(|| first_heading(text, format)).unwrap_or(stem);
    let language = meta.language.or(folder_lang.map(str::to_owned)).unwrap_or_else(|| {
        crate::domain::text::detect(text, crate::domain::text::Lang::En)
            .tag()
            .to_owned()
    });
    Ok(KnowledgeInput {
        title,
        body: text.to_owned(),
        format,
        language,
        url: meta.url,
        product: meta.product,
        tags: meta.tags.into_vec(),
        valid_until: meta
            .valid_until
            .as_deref()
            .map(|v| end_of("valid_until", v))
            .transpose()?,
        source: Some(path.to_owned()),
        source_updated_at: meta
            .updated_at
            .as_deref()
            .map(|v| start_of("updated_at", v))
            .transpose()?,
    })
}

fn front_matter(text: &str) -> Result<Meta, InvalidInput> {
    let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else {
        return Ok(Meta::default());
    };
    let Some(end) = rest.find("\n---") else {
        return Ok(Meta::default());
    };
    let yaml = rest.get(..end).unwrap_or_default();
    serde_yaml_ng::from_str(yaml).map_err(|e| InvalidInput::new("invalid_front_matter", "front matter", e.to_string()))
}

fn html_meta(text: &str) -> Meta {
    let doc = scraper::Html::parse_document(text);
    let pick = |selector: &str| -> Option<String> {
        let selector = scraper::Selector::parse(selector).ok()?;
        doc.select(&selector)
            .next()
            .map(|e| e.text().collect::<String>().trim().to_owned())
    };
    let meta = |name: &str| -> Option<String> {
        let selector = scraper::Selector::parse(&format!("meta[name=\"{name}\"]")).ok()?;
        doc.select(&selector)
            .next()
            .and_then(|e| e.value().attr("content"))
            .map(|c| c.trim().to_owned())
    };
    Meta {
        title: pick("title").filter(|t| !t.is_empty()),
        url: meta("url"),
        language: meta("language").or_else(|| {
            let selector = scraper::Selector::parse("html").ok()?;
            doc.select(&selector).next()?.value().attr("lang").map(str::to_owned)
        }),
        product: meta("product"),
        tags: meta("tags").map(Tags::Text).unwrap_or_default(),
        valid_until: meta("valid_until"),
        updated_at: meta("updated_at"),
    }
}

fn first_heading(text: &str, format: DocFormat) -> Option<String> {
    match format {
        DocFormat::Markdown => text
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .map(|h| h.trim().to_owned()),
        _ => None,
    }
}

fn parse_time(field: &str, value: &str, end_of_day: bool) -> Result<DateTime<Utc>, InvalidInput> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value.trim()) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        InvalidInput::new(
            "invalid_time",
            field,
            format!("{value:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"),
        )
    })?;
    let day = if end_of_day { day.succ_opt().unwrap_or(day) } else { day };
    Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
}

fn end_of(field: &str, value: &str) -> Result<DateTime<Utc>, InvalidInput> {
    parse_time(field, value, true)
}

fn start_of(field: &str, value: &str) -> Result<DateTime<Utc>, InvalidInput> {
    parse_time(field, value, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_front_matter_fills_the_fields() {
        let text = "---\ntitle: Black Friday\nurl: https://x/bf\nlanguage: en\nproduct: billing\n\
                    tags: [promo, hub]\nvalid_until: 2026-12-01\nupdated_at: 2026-11-24\n---\n\n# Black Friday\n\nDeals.";
        let doc = read("en/black-friday.md", text).unwrap();
        assert_eq!(doc.title, "Black Friday");
        assert_eq!(doc.tags, vec!["promo", "hub"]);
        assert_eq!(doc.format, DocFormat::Markdown);
        assert_eq!(doc.valid_until.unwrap().to_rfc3339(), "2026-12-02T00:00:00+00:00");
        assert_eq!(doc.source_updated_at.unwrap().to_rfc3339(), "2026-11-24T00:00:00+00:00");
        assert_eq!(doc.source.as_deref(), Some("en/black-friday.md"));
    }

    #[test]
    fn html_meta_tags_fill_the_fields_and_the_folder_gives_the_language() {
        let text = "<html><head><title>Sécurité</title><meta name=\"tags\" content=\"a, b\">\
                    <meta name=\"url\" content=\"https://x/s\"></head><body><h2>Chiffrement</h2><p>AES.</p></body></html>";
        let doc = read("fr/securite.html", text).unwrap();
        assert_eq!(doc.title, "Sécurité");
        assert_eq!(doc.language, "fr");
        assert_eq!(doc.tags, vec!["a", "b"]);
        assert_eq!(doc.format, DocFormat::Html);
    }

    #[test]
    fn a_bad_date_is_named() {
        let err = read("x.md", "---\nvalid_until: soon\n---\nx").unwrap_err();
        assert_eq!(err.field, "valid_until");
        let plain = read("notes.txt", "Just text.").unwrap();
        assert_eq!(plain.title, "notes");
        assert_eq!(plain.format, DocFormat::Text);
    }
}
