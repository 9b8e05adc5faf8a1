//! The real model through fastembed: a user-defined ONNX model from a directory (the default), or a fastembed
//! named model downloaded from a hub where one is reachable. ONNX Runtime is loaded dynamically from a file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fastembed::{
    InitOptionsUserDefined, Pooling, QuantizationMode, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};

use super::spec::{ModelSpec, Pooling as SpecPooling, TextRole};
use super::{EmbedError, Embedder};

/// Where the model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A directory holding `model.onnx`, `tokenizer.json`, `config.json`, `special_tokens_map.json` and
    /// `tokenizer_config.json` (mean pooling).
    Directory(PathBuf),
    /// A fastembed model name such as `AllMiniLML6V2` (needs a reachable hub and the `hub` feature).
    Named(String),
}

impl ModelSource {
    /// Parses the `model` setting: `fastembed:<Name>` names a fastembed model, anything else is a directory.
    pub fn parse(setting: &str) -> Self {
        match setting.strip_prefix("fastembed:") {
            Some(name) => Self::Named(name.to_owned()),
            None => Self::Directory(PathBuf::from(setting)),
        }
    }

    /// The name recorded in the store: the directory's last component, or the fastembed name.
    pub fn model_name(&self) -> String {
        match self {
            Self::Directory(dir) => dir
                .file_name()
                .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned()),
            Self::Named(name) => name.clone(),
        }
    }

    /// The model's description (prefixes, pooling), from its name.
    pub fn spec(&self) -> ModelSpec {
        ModelSpec::for_name(&self.model_name())
    }
}

/// The fastembed model behind a mutex: `TextEmbedding::embed` needs `&mut self`, and one inference at a time
/// uses the cores best.
pub struct FastEmbedder {
    model: Mutex<TextEmbedding>,
    spec: ModelSpec,
    dim: usize,
    batch_size: usize,
}

/// The files a model directory must hold.
pub const MODEL_FILES: [&str; 5] = [
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

/// Loads ONNX Runtime from `path` (once per process). Checks the file exists first so that a missing library is
/// an error naming the file, not a panic at the first inference.
pub fn load_runtime(path: &Path) -> Result<(), EmbedError> {
    let err = |reason: String| EmbedError::Runtime {
        path: path.display().to_string(),
        reason,
    };
    if !path.is_file() {
        return Err(err("file not found".into()));
    }
    let absolute = path.canonicalize().map_err(|e| err(e.to_string()))?;
    let _builder = ort::init_from(&absolute).map_err(|e| err(e.to_string()))?;
    Ok(())
}

impl FastEmbedder {
    /// Loads ONNX Runtime from `runtime` and the model from `source`; embeds in batches of `batch_size`.
    pub fn load(
        runtime: &Path,
        source: &ModelSource,
        batch_size: usize,
        max_length: usize,
    ) -> Result<Self, EmbedError> {
        load_runtime(runtime)?;
        let spec = source.spec();
        let name = spec.name.clone();
        let model_err = |reason: String| EmbedError::Model {
            model: name.clone(),
            reason,
        };
        let mut model = match source {
            ModelSource::Directory(dir) => {
                let read = |file: &str| {
                    std::fs::read(dir.join(file)).map_err(|e| model_err(format!("{}: {e}", dir.join(file).display())))
                };
                let user_model = UserDefinedEmbeddingModel::new(
                    read("model.onnx")?,
                    TokenizerFiles {
                        tokenizer_file: read("tokenizer.json")?,
                        config_file: read("config.json")?,
                        special_tokens_map_file: read("special_tokens_map.json")?,
                        tokenizer_config_file: read("tokenizer_config.json")?,
                    },
                )
                .with_pooling(match spec.pooling {
                    SpecPooling::Mean => Pooling::Mean,
                    SpecPooling::Cls => Pooling::Cls,
                })
                .with_quantization(QuantizationMode::None);
                TextEmbedding::try_new_from_user_defined(
                    user_model,
                    InitOptionsUserDefined::new().with_max_length(max_length),
                )
                .map_err(|e| model_err(e.to_string()))?
            }
            ModelSource::Named(model_name) => load_named(model_name, max_length).map_err(model_err)?,
        };
        let probe = model
            .embed(["dimension probe"], None)
            .map_err(|e| model_err(e.to_string()))?;
        let dim = probe
            .first()
            .map(Vec::len)
            .filter(|d| *d > 0)
            .ok_or_else(|| model_err("model returned no vector".into()))?;
        if spec.dimension.is_some_and(|expected| expected != dim) {
            return Err(model_err(format!(
                "returns {dim}-dimensional vectors, expected {}",
                spec.dimension.unwrap_or_default()
            )));
        }
        Ok(Self {
            model: Mutex::new(model),
            spec,
            dim,
            batch_size: batch_size.max(1),
        })
    }
}

#[cfg(feature = "hub")]
fn load_named(name: &str, max_length: usize) -> Result<TextEmbedding, String> {
    let model: fastembed::EmbeddingModel = name.parse()?;
    TextEmbedding::try_new(fastembed::TextInitOptions::new(model).with_max_length(max_length))
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "hub"))]
fn load_named(_name: &str, _max_length: usize) -> Result<TextEmbedding, String> {
    Err("this build has no hub support (build with the `hub` feature) ; use a model directory".into())
}

impl Embedder for FastEmbedder {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn dimension(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str], role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prefix = self.spec.prefix(role);
        // A batch is padded to its longest text: texts of similar lengths batched together waste less inference
        // on padding. The vectors go back in the callers' order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let prefixed: Vec<String> = order.iter().map(|&i| format!("{prefix}{}", texts[i])).collect();
        let mut model = self.model.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let sorted = model
            .embed(&prefixed, Some(self.batch_size))
            .map_err(|e| EmbedError::Inference(e.to_string()))?;
        drop(model);
        let mut vectors = vec![Vec::new(); texts.len()];
        for (mut vector, i) in sorted.into_iter().zip(order) {
            super::normalise(&mut vector);
            vectors[i] = vector;
        }
        Ok(vectors)
    }
}
