//! Knowledge gaps: questions customers asked that no chunk answered well, grouped by meaning so a team sees which
//! missing article would help most.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A question that found no good chunk, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// When it was asked.
    pub at: DateTime<Utc>,
    /// The customer who asked (their gaps are erased with them), when asked in a customer's context.
    pub customer_id: Option<String>,
    /// The question (redacted like every message).
    pub text: String,
    /// Its language.
    pub language: String,
    /// The best similarity any chunk reached.
    pub best_similarity: f32,
    /// Its embedding.
    pub vector: Vec<f32>,
}

/// A group of similar unanswered questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GapCluster {
    /// How many questions it holds.
    pub count: usize,
    /// Up to three of them, most typical first.
    pub examples: Vec<String>,
    /// Languages asked in.
    pub languages: Vec<String>,
    /// The last time one was asked.
    pub last_asked: DateTime<Utc>,
}

/// Groups questions whose embeddings lie within `threshold` cosine of a group's first question (greedy, in time
/// order; each group keeps the running mean of its vectors), largest groups first.
pub fn cluster(gaps: &[Gap], threshold: f32) -> Vec<GapCluster> {
    struct Group<'a> {
        sum: Vec<f32>,
        members: Vec<&'a Gap>,
    }
    let mut groups: Vec<Group<'_>> = Vec::new();
    for gap in gaps {
        let best = groups
            .iter_mut()
            .map(|g| {
                let norm = g.sum.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                let cos = crate::domain::dot(&g.sum, &gap.vector) / norm;
                (cos, g)
            })
            .filter(|(cos, _)| *cos >= threshold)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, group)) => {
                for (s, v) in group.sum.iter_mut().zip(&gap.vector) {
                    *s += v;
                }
                group.members.push(gap);
            }
            None => groups.push(Group {
                sum: gap.vector.clone(),
                members: vec![gap],
            }),
        }
    }
    let mut out: Vec<GapCluster> = groups
        .into_iter()
        .map(|g| {
            let mut members = g.members;
            // Most typical first: nearest the group's mean.
            members.sort_by(|a, b| {
                crate::domain::dot(&b.vector, &g.sum).total_cmp(&crate::domain::dot(&a.vector, &g.sum))
            });
            let mut languages: Vec<String> = members.iter().map(|m| m.language.clone()).collect();
            languages.sort();
            languages.dedup();
            let mut examples: Vec<String> = Vec::new();
            for m in &members {
                if examples.len() < 3 && !examples.contains(&m.text) {
                    examples.push(m.text.clone());
                }
            }
            GapCluster {
                count: members.len(),
                last_asked: members.iter().map(|m| m.at).max().unwrap_or_default(),
                examples,
                languages,
            }
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_asked.cmp(&a.last_asked)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(text: &str, vector: Vec<f32>) -> Gap {
        Gap {
            at: "2026-11-01T00:00:00Z".parse().unwrap(),
            customer_id: None,
            text: text.into(),
            language: "en".into(),
            best_similarity: 0.1,
            vector,
        }
    }

    #[test]
    fn similar_questions_group_and_the_largest_group_comes_first() {
        let gaps = vec![
            gap("vacation mode?", vec![1.0, 0.0]),
            gap("pet mode?", vec![0.0, 1.0]),
            gap("holiday mode?", vec![0.99, 0.14]),
            gap("away mode?", vec![0.98, 0.2]),
        ];
        let clusters = cluster(&gaps, 0.9);
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters[0].count, 3);
        assert_eq!(clusters[0].examples.len(), 3);
        assert_eq!(clusters[1].examples, vec!["pet mode?".to_owned()]);
    }
}
