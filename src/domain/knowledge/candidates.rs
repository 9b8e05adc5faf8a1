//! Which chunks a question's ranking considers: the chunks nearest the question's vector, and the chunks sharing
//! the most of its keyword terms. Ranking ([`super::rank`]) then runs over these candidates only, so a store can
//! choose them with its own indexes (PostgreSQL: pgvector's HNSW index and a GIN index on the terms) and no node
//! needs every chunk in memory. [`choose`] is the rule; a store that chooses in a database returns what [`choose`]
//! returns over all of the workspace's chunks.

use std::cmp::Ordering;

use super::Chunk;
use crate::domain::text::{terms, Lang};

/// Candidates taken by vector: the chunks nearest the question.
pub const DENSE: usize = 200;
/// Candidates taken by keyword: the chunks matching the most distinct terms of the question.
pub const KEYWORD: usize = 100;

/// The keyword terms of a chunk: its indexed text (document title and headings in front) in its document's
/// language, every occurrence kept (ranking counts them).
pub fn chunk_terms(title: &str, lang: Lang, chunk: &Chunk) -> Vec<String> {
    terms(&chunk.indexed_text(title), lang)
}

/// A chunk as candidates are chosen among, and as they are ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkEntry {
    /// The chunk.
    pub chunk: Chunk,
    /// Its unit vector, at the precision the store keeps.
    pub vector: Vec<f32>,
    /// Its keyword terms (see [`chunk_terms`]).
    pub terms: Vec<String>,
    /// Its distinct terms, sorted.
    distinct: Vec<String>,
}

impl ChunkEntry {
    /// A chunk with its vector and terms.
    pub fn new(chunk: Chunk, vector: Vec<f32>, terms: Vec<String>) -> Self {
        let mut distinct = terms.clone();
        distinct.sort_unstable();
        distinct.dedup();
        Self {
            chunk,
            vector,
            terms,
            distinct,
        }
    }

    /// How many of the (distinct, sorted) `query` terms it holds.
    pub fn matched(&self, query: &[String]) -> usize {
        query.iter().filter(|t| self.distinct.binary_search(t).is_ok()).count()
    }

    fn key(&self) -> (&str, u32) {
        (self.chunk.doc_id.as_str(), self.chunk.position)
    }
}

/// What candidates are chosen for.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateQuery {
    /// The question's unit vector: chunks of another dimension are never candidates.
    pub vector: Vec<f32>,
    /// The question's distinct keyword terms, sorted.
    pub terms: Vec<String>,
    /// Chunks taken by vector.
    pub dense: usize,
    /// Chunks taken by keyword.
    pub keyword: usize,
    /// Only chunks of these documents (sorted, distinct); every document when `None`.
    pub docs: Option<Vec<String>>,
}

impl CandidateQuery {
    /// A question's candidates with the default numbers ([`DENSE`], [`KEYWORD`]), among the chunks of `docs` when
    /// given.
    pub fn new(vector: &[f32], query_terms: &[String], docs: Option<Vec<String>>) -> Self {
        let mut terms = query_terms.to_vec();
        terms.sort_unstable();
        terms.dedup();
        let docs = docs.map(|mut d| {
            d.sort_unstable();
            d.dedup();
            d
        });
        Self {
            vector: vector.to_vec(),
            terms,
            dense: DENSE,
            keyword: KEYWORD,
            docs,
        }
    }

    /// Whether a chunk may be a candidate at all (its document allowed, its vector of the question's dimension).
    pub fn admits(&self, entry: &ChunkEntry) -> bool {
        entry.vector.len() == self.vector.len()
            && self
                .docs
                .as_ref()
                .is_none_or(|d| d.binary_search(&entry.chunk.doc_id).is_ok())
    }
}

/// The candidates among `chunks`, as indexes into it, by document and position: the [`CandidateQuery::dense`]
/// chunks of highest cosine with the question (ties by document id, then position), and the
/// [`CandidateQuery::keyword`] chunks matching the most distinct question terms, at least one (ties the same way),
/// among the chunks the query admits.
pub fn choose(chunks: &[ChunkEntry], query: &CandidateQuery) -> Vec<usize> {
    let admitted: Vec<usize> = (0..chunks.len())
        .filter(|&i| chunks.get(i).is_some_and(|c| query.admits(c)))
        .collect();
    let by_key = |a: usize, b: usize| match (chunks.get(a), chunks.get(b)) {
        (Some(a), Some(b)) => a.key().cmp(&b.key()),
        _ => Ordering::Equal,
    };
    let mut dense: Vec<(f32, usize)> = admitted
        .iter()
        .filter_map(|&i| Some((crate::domain::dot(&chunks.get(i)?.vector, &query.vector), i)))
        .collect();
    dense.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| by_key(a.1, b.1)));
    let mut keyword: Vec<(usize, usize)> = admitted
        .iter()
        .filter_map(|&i| Some((chunks.get(i)?.matched(&query.terms), i)))
        .filter(|(n, _)| *n > 0)
        .collect();
    keyword.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| by_key(a.1, b.1)));
    let mut out: Vec<usize> = dense
        .into_iter()
        .take(query.dense)
        .map(|(_, i)| i)
        .chain(keyword.into_iter().take(query.keyword).map(|(_, i)| i))
        .collect();
    out.sort_by(|&a, &b| by_key(a, b));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(doc: &str, position: u32, text: &str, lang: Lang, vector: Vec<f32>) -> ChunkEntry {
        let chunk = Chunk {
            doc_id: doc.into(),
            position,
            headings: vec![],
            text: text.into(),
        };
        let terms = chunk_terms("", lang, &chunk);
        ChunkEntry::new(chunk, vector, terms)
    }

    fn query(vector: &[f32], text: &str, lang: Lang, dense: usize, keyword: usize) -> CandidateQuery {
        CandidateQuery {
            dense,
            keyword,
            ..CandidateQuery::new(vector, &terms(text, lang), None)
        }
    }

    #[test]
    fn candidates_are_the_nearest_and_the_best_keyword_matches_by_document_and_position() {
        let chunks = vec![
            entry("b", 0, "refunds within thirty days", Lang::En, vec![1.0, 0.0]),
            entry("a", 1, "error E-3307 single sign-on", Lang::En, vec![0.0, 1.0]),
            entry("a", 0, "the hub restarts at night", Lang::En, vec![0.9, 0.1]),
            entry("c", 0, "erreur E-3307 du hub", Lang::Fr, vec![0.1, 0.9]),
            entry("d", 0, "nothing shared", Lang::En, vec![0.0, 1.0]),
        ];
        let q = query(&[1.0, 0.0], "hub error E-3307", Lang::En, 2, 1);
        // Nearest: b/0 and a/0. Best keyword match: a/1 (error, E-3307) ties with c/0 (hub, E-3307); a comes first.
        let got: Vec<(String, u32)> = choose(&chunks, &q)
            .into_iter()
            .map(|i| (chunks[i].chunk.doc_id.clone(), chunks[i].chunk.position))
            .collect();
        assert_eq!(got, vec![("a".into(), 0), ("a".into(), 1), ("b".into(), 0)], "{q:?}");
        // More keyword candidates: the French chunk (E-3307 and hub) ties with a/1, and d/0 matches nothing.
        let q = query(&[1.0, 0.0], "hub error E-3307", Lang::En, 2, 5);
        let got: Vec<usize> = choose(&chunks, &q);
        assert_eq!(got.len(), 4);
        assert!(!got.contains(&4));
    }

    #[test]
    fn ties_go_to_the_first_document_and_position_and_filters_apply_before_choosing() {
        let chunks: Vec<ChunkEntry> = (0..4)
            .map(|p| entry(if p < 2 { "y" } else { "x" }, p % 2, "same", Lang::En, vec![1.0, 0.0]))
            .chain([entry("z", 0, "other", Lang::En, vec![1.0, 0.0, 0.0])])
            .collect();
        let q = query(&[1.0, 0.0], "nothing", Lang::En, 2, 2);
        let got: Vec<(String, u32)> = choose(&chunks, &q)
            .into_iter()
            .map(|i| (chunks[i].chunk.doc_id.clone(), chunks[i].chunk.position))
            .collect();
        assert_eq!(got, vec![("x".into(), 0), ("x".into(), 1)]);
        let only_y = CandidateQuery {
            docs: Some(vec!["y".into(), "z".into()]),
            ..q
        };
        let got: Vec<(String, u32)> = choose(&chunks, &only_y)
            .into_iter()
            .map(|i| (chunks[i].chunk.doc_id.clone(), chunks[i].chunk.position))
            .collect();
        assert_eq!(
            got,
            vec![("y".into(), 0), ("y".into(), 1)],
            "z's vector has another dimension"
        );
    }
}
