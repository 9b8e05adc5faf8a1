//! Cutting a document into chunks: by headings first (each chunk keeps its heading path), then by paragraphs
//! within a size bound, then by sentences for a paragraph longer than the bound. Markdown is read with
//! pulldown-cmark; HTML is turned into Markdown with htmd first, so both follow one path.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{Chunk, DocFormat};
use crate::domain::text::sentences;

/// Largest chunk, in characters: about 200 tokens, inside what the embedding models read (512 tokens).
pub const MAX_CHUNK_CHARS: usize = 900;
/// A section shorter than this joins the next paragraph of the same section rather than standing alone.
const MIN_CHUNK_CHARS: usize = 200;

/// A section of a document: its heading path and its blocks (paragraphs, list items, code, table rows).
#[derive(Debug, Default)]
struct Section {
    headings: Vec<String>,
    blocks: Vec<String>,
}

/// Cuts a document's body into chunks. `title` is dropped from the heading paths when the body repeats it as its
/// first heading.
pub fn chunk(doc_id: &str, title: &str, body: &str, format: DocFormat) -> Vec<Chunk> {
    let sections = match format {
        DocFormat::Markdown => markdown_sections(body),
        DocFormat::Html => markdown_sections(&html_to_markdown(body)),
        DocFormat::Text => vec![Section {
            headings: Vec::new(),
            blocks: body.split("\n\n").map(squash).filter(|b| !b.is_empty()).collect(),
        }],
    };
    let mut chunks = Vec::new();
    for mut section in sections {
        if section
            .headings
            .first()
            .is_some_and(|h| h.eq_ignore_ascii_case(title.trim()))
        {
            section.headings.remove(0);
        }
        for text in pack(&section.blocks) {
            chunks.push(Chunk {
                doc_id: doc_id.to_owned(),
                position: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
                headings: section.headings.clone(),
                text,
            });
        }
    }
    chunks
}

/// HTML as Markdown (scripts, styles and the head left out).
pub fn html_to_markdown(html: &str) -> String {
    let converter = htmd::HtmlToMarkdown::builder()
        .skip_tags(vec!["script", "style", "head", "nav", "footer"])
        .build();
    converter.convert(html).unwrap_or_else(|_| html.to_owned())
}

/// Collapses runs of white space.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn markdown_sections(body: &str) -> Vec<Section> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_YAML_STYLE_METADATA_BLOCKS);
    let mut sections = vec![Section::default()];
    // The heading path: (level, text), outermost first.
    let mut path: Vec<(HeadingLevel, String)> = Vec::new();
    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut block = String::new();
    let mut in_metadata = false;
    let flush = |block: &mut String, sections: &mut Vec<Section>| {
        let text = squash(block);
        block.clear();
        if !text.is_empty() {
            if let Some(section) = sections.last_mut() {
                section.blocks.push(text);
            }
        }
    };
    for event in Parser::new_ext(body, options) {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_metadata = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_metadata = false,
            _ if in_metadata => {}
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut block, &mut sections);
                heading = Some((level, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = heading.take() {
                    path.retain(|(l, _)| *l < level);
                    path.push((level, squash(&text)));
                    sections.push(Section {
                        headings: path.iter().map(|(_, t)| t.clone()).collect(),
                        blocks: Vec::new(),
                    });
                }
            }
            Event::Text(t) | Event::Code(t) | Event::InlineHtml(t) | Event::Html(t) => match heading.as_mut() {
                Some((_, text)) => text.push_str(&t),
                None => block.push_str(&t),
            },
            Event::SoftBreak | Event::HardBreak => match heading.as_mut() {
                Some((_, text)) => text.push(' '),
                None => block.push(' '),
            },
            Event::Start(Tag::Item) => {
                flush(&mut block, &mut sections);
                block.push_str("- ");
            }
            Event::End(TagEnd::TableCell) => block.push_str(" | "),
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::CodeBlock | TagEnd::TableRow | TagEnd::TableHead) => {
                flush(&mut block, &mut sections)
            }
            _ => {}
        }
    }
    flush(&mut block, &mut sections);
    sections.retain(|s| !s.blocks.is_empty());
    sections
}

/// Packs a section's blocks into chunks of at most [`MAX_CHUNK_CHARS`], splitting a longer block by sentences
/// (and a longer sentence by words).
fn pack(blocks: &[String]) -> Vec<String> {
    let mut pieces = Vec::new();
    for block in blocks {
        if block.chars().count() <= MAX_CHUNK_CHARS {
            pieces.push(block.clone());
        } else {
            for sentence in sentences(block) {
                pieces.extend(split_words(&sentence));
            }
        }
    }
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        let fits = current.chars().count() + 1 + piece.chars().count() <= MAX_CHUNK_CHARS;
        if current.is_empty() {
            current = piece;
        } else if fits {
            // List items and sentences stay on their own line so the chunk reads as written.
            current.push('\n');
            current.push_str(&piece);
        } else {
            chunks.push(std::mem::take(&mut current));
            current = piece;
        }
    }
    if !current.is_empty() {
        // A short tail joins the previous chunk when both fit together.
        match chunks.last_mut() {
            Some(last)
                if current.chars().count() < MIN_CHUNK_CHARS
                    && last.chars().count() + 1 + current.chars().count() <= MAX_CHUNK_CHARS =>
            {
                last.push('\n');
                last.push_str(&current);
            }
            _ => chunks.push(current),
        }
    }
    chunks
}

/// A sentence longer than the bound, cut between words.
fn split_words(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in sentence.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > MAX_CHUNK_CHARS {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.extend(word.chars().take(MAX_CHUNK_CHARS));
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_cut_by_headings_with_their_path() {
        let body = "---\ntitle: X\n---\n# Refunds\n\nIntro text.\n\n## Window\n\nYou have **30 days**.\n\n\
                    ### Exceptions\n\n- Opened locks\n- Gift cards\n\n## How to ask\n\nWrite to `billing@x`.";
        let chunks = chunk("kb_1", "Refunds", body, DocFormat::Markdown);
        let got: Vec<(Vec<String>, String)> = chunks.iter().map(|c| (c.headings.clone(), c.text.clone())).collect();
        assert_eq!(
            got,
            vec![
                (vec![], "Intro text.".to_owned()),
                (vec!["Window".to_owned()], "You have 30 days.".to_owned()),
                (
                    vec!["Window".to_owned(), "Exceptions".to_owned()],
                    "- Opened locks\n- Gift cards".to_owned()
                ),
                (vec!["How to ask".to_owned()], "Write to billing@x.".to_owned()),
            ]
        );
        assert_eq!(chunks.iter().map(|c| c.position).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn html_follows_the_same_path() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body><h1>Refunds</h1>\
                    <h2>Window</h2><p>You have 30 days.</p><ul><li>One</li><li>Two</li></ul></body></html>";
        let chunks = chunk("kb_1", "Refunds", html, DocFormat::Html);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].headings, vec!["Window".to_owned()]);
        assert!(chunks[0].text.starts_with("You have 30 days."), "{:?}", chunks[0].text);
        assert!(chunks[0].text.contains("- Two"), "{:?}", chunks[0].text);
    }

    #[test]
    fn long_sections_are_cut_within_the_bound() {
        let paragraph = "The hub restarts when the power supply is weak. ".repeat(40);
        let body = format!("## Power\n\n{paragraph}\n\n{paragraph}");
        let chunks = chunk("kb_1", "T", &body, DocFormat::Markdown);
        assert!(chunks.len() >= 4);
        assert!(chunks.iter().all(|c| c.text.chars().count() <= MAX_CHUNK_CHARS));
        assert!(chunks.iter().all(|c| c.headings == vec!["Power".to_owned()]));
        let one_word = "x".repeat(5_000);
        let chunks = chunk("kb_1", "T", &one_word, DocFormat::Text);
        assert!(chunks.iter().all(|c| c.text.chars().count() <= MAX_CHUNK_CHARS));
    }
}
