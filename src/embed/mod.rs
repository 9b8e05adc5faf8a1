//! Text embeddings. [`Embedder`] is what the rest of Rappel sees; [`FastEmbedder`] (the only fastembed code) is
//! the real model, [`HashEmbedder`] a deterministic stand-in for unit tests where embedding quality is not tested.

mod batcher;
mod fastembed;
mod hashing;
mod spec;

pub use self::batcher::Batcher;
pub use self::fastembed::{load_runtime, FastEmbedder, ModelSource, MODEL_FILES};
pub use self::hashing::HashEmbedder;
pub use self::spec::{ModelSpec, Pooling, TextRole, ALL_MINILM_L6_V2, MULTILINGUAL_E5_SMALL};

/// Errors of the embedding layer.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The ONNX Runtime shared library is missing or unusable.
    #[error("ONNX Runtime library {path}: {reason}. Run `make fetch` to download it, or set RAPPEL_ORT_LIB")]
    Runtime {
        /// Where it was looked for.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The model files are missing or unusable.
    #[error("embedding model {model}: {reason}. Run `make fetch` to download the default model, or set RAPPEL_MODEL")]
    Model {
        /// The configured model.
        model: String,
        /// What went wrong.
        reason: String,
    },
    /// Inference failed.
    #[error("embedding failed: {0}")]
    Inference(String),
}

/// A text embedding model: the rest of Rappel only needs its name, its dimension and a batch call.
pub trait Embedder: Send + Sync {
    /// The model's name, recorded in the store.
    fn name(&self) -> &str;
    /// The vectors' dimension.
    fn dimension(&self) -> usize;
    /// Embeds texts into L2-normalised vectors, one per text, in order, with the prefix the model wants for
    /// `role`. Blocking: call it off the async runtime.
    fn embed(&self, texts: &[&str], role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// Like [`Embedder::embed`], for a caller who is waiting on a read (a context, a search): a shared model serves
    /// it before queued writes.
    fn embed_urgent(&self, texts: &[&str], role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed(texts, role)
    }
}

/// Cosine similarity of two L2-normalised vectors (their dot product).
pub use crate::domain::dot as cosine;

pub use crate::domain::normalise_unit as normalise;

/// Stands in for the model in commands that never embed (export, keys): any call fails with a clear error.
pub struct NoModel;

impl Embedder for NoModel {
    fn name(&self) -> &str {
        "none"
    }

    fn dimension(&self) -> usize {
        0
    }

    fn embed(&self, _texts: &[&str], _role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
        Err(EmbedError::Model {
            model: "none".into(),
            reason: "this command runs without the embedding model".into(),
        })
    }
}
