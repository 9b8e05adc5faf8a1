//! What a model is: its name, the size of its vectors, its pooling, and the prefixes it expects in front of
//! queries and stored texts. One typed description per model, so callers never add prefixes themselves.

/// How token vectors become one text vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the attention mask (sentence-transformers, e5).
    Mean,
    /// The first token's vector.
    Cls,
}

/// Whether a text is a question asked of the store or a text kept in it; asymmetric models (e5) embed them
/// differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRole {
    /// A search query, a question, a text to compare with stored texts.
    Query,
    /// A stored text: a memory, a knowledge chunk.
    Passage,
}

/// A model's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The name recorded in the store (a store embedded with another model must be re-embedded).
    pub name: String,
    /// The vectors' dimension, when known before loading (checked against the model's output).
    pub dimension: Option<usize>,
    /// Pooling of token vectors.
    pub pooling: Pooling,
    /// Prefix of queries (`query: ` for e5).
    pub query_prefix: &'static str,
    /// Prefix of stored texts (`passage: ` for e5).
    pub passage_prefix: &'static str,
}

/// The default model: multilingual (English, French and 90-odd more), 384 dimensions.
pub const MULTILINGUAL_E5_SMALL: &str = "multilingual-e5-small";
/// The English-only, faster model.
pub const ALL_MINILM_L6_V2: &str = "all-minilm-l6-v2";

impl ModelSpec {
    /// The description of a model by name (a model directory's last component or a fastembed name). e5 models
    /// get their prefixes; anything unknown is taken as a symmetric mean-pooled model.
    pub fn for_name(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        let e5 = lower.contains("e5");
        let dimension = match lower.as_str() {
            MULTILINGUAL_E5_SMALL | "multilinguale5small" | ALL_MINILM_L6_V2 | "allminilml6v2" => Some(384),
            _ => None,
        };
        Self {
            name: name.to_owned(),
            dimension,
            pooling: Pooling::Mean,
            query_prefix: if e5 { "query: " } else { "" },
            passage_prefix: if e5 { "passage: " } else { "" },
        }
    }

    /// The prefix for texts of this role.
    pub fn prefix(&self, role: TextRole) -> &'static str {
        match role {
            TextRole::Query => self.query_prefix,
            TextRole::Passage => self.passage_prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e5_models_get_their_prefixes_and_minilm_none() {
        let e5 = ModelSpec::for_name(MULTILINGUAL_E5_SMALL);
        assert_eq!(e5.prefix(TextRole::Query), "query: ");
        assert_eq!(e5.prefix(TextRole::Passage), "passage: ");
        assert_eq!(e5.dimension, Some(384));
        assert_eq!(ModelSpec::for_name("MultilingualE5Small").query_prefix, "query: ");
        let mini = ModelSpec::for_name(ALL_MINILM_L6_V2);
        assert_eq!((mini.query_prefix, mini.passage_prefix), ("", ""));
        assert_eq!(ModelSpec::for_name("my-own-model").dimension, None);
    }
}
