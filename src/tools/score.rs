//! Scores labelled texts exactly as ingest scores a customer message: the text's windows are embedded as stored
//! texts, then the classifier (or the lexicon) judges the whole message from them.

use crate::domain::formation::WINDOW_WORDS;
use crate::domain::sentiment::{assess, cues, features, Sentiment, SentimentHead, Window};
use crate::domain::text::{detect, windows, Lang};
use crate::embed::{EmbedError, Embedder, TextRole};

/// A text's windows and their vectors.
pub struct Embedded {
    /// The whole text.
    pub text: String,
    /// Its language.
    pub lang: Lang,
    /// Its windows with their vectors.
    pub windows: Vec<(String, Vec<f32>)>,
}

/// Embeds the windows of `texts` in batches, prefixing each window with `speaker(i)` when given (as ingest does
/// with the author's name). Calls `progress` with the number of texts done.
pub fn embed_windows(
    embedder: &dyn Embedder,
    texts: &[(String, Lang)],
    speaker: impl Fn(usize) -> Option<String>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Embedded>, EmbedError> {
    let mut out = Vec::with_capacity(texts.len());
    for (chunk_index, chunk) in texts.chunks(32).enumerate() {
        let mut inputs: Vec<String> = Vec::new();
        let mut owners: Vec<(usize, String)> = Vec::new();
        for (j, (text, _)) in chunk.iter().enumerate() {
            let i = chunk_index * 32 + j;
            for w in windows(text, WINDOW_WORDS) {
                inputs.push(match speaker(i) {
                    Some(name) => format!("{name}: {w}"),
                    None => w.clone(),
                });
                owners.push((j, w));
            }
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let vectors = embedder.embed(&refs, TextRole::Passage)?;
        let mut embedded: Vec<Embedded> = chunk
            .iter()
            .map(|(text, lang)| Embedded {
                text: text.clone(),
                lang: detect(text, *lang),
                windows: Vec::new(),
            })
            .collect();
        for ((j, w), v) in owners.into_iter().zip(vectors) {
            embedded[j].windows.push((w, v));
        }
        out.extend(embedded);
        progress(out.len());
    }
    Ok(out)
}

/// The sentiment of an embedded text.
pub fn judge(e: &Embedded, head: Option<&SentimentHead>) -> Sentiment {
    let windows: Vec<Window<'_>> = e.windows.iter().map(|(text, vector)| Window { text, vector }).collect();
    assess(&e.text, e.lang, &windows, head)
}

/// The features of each window of an embedded text.
pub fn window_features(e: &Embedded) -> Vec<Vec<f32>> {
    let found = cues::detect(&e.text);
    e.windows
        .iter()
        .map(|(w, v)| features(w, &e.text, e.lang, v, &found))
        .collect()
}
