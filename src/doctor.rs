//! `rappel doctor`: checks each thing Rappel needs and says, in plain words, what is wrong and how to fix it.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Settings;
use crate::embed::{load_runtime, Embedder, FastEmbedder, ModelSource, MODEL_FILES};
use crate::store::{ModelStamp, RedbStore, StoreError};

struct Report {
    failed: bool,
}

impl Report {
    fn ok(&self, what: &str, detail: impl std::fmt::Display) {
        println!("  ok    {what}: {detail}");
    }

    fn fail(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.failed = true;
        println!("  FAIL  {what}: {detail}");
    }
}

/// Runs every check; exit status 1 when any failed.
pub async fn run(config_path: &Path, explicit: bool) -> ExitCode {
    let mut report = Report { failed: false };
    println!("rappel doctor");
    let settings = match Settings::load(config_path, explicit) {
        Ok(s) => {
            let file = if config_path.is_file() {
                config_path.display().to_string()
            } else {
                "no file, defaults and RAPPEL_* variables".into()
            };
            report.ok("settings", file);
            s
        }
        Err(e) => {
            report.fail("settings", format!("{e} (see `rappel --help` for every key)"));
            println!("\nfix the settings first");
            return ExitCode::FAILURE;
        }
    };
    match &settings.admin_key {
        Some(_) => report.ok("admin key", "RAPPEL_ADMIN_KEY is set"),
        None => println!("  note  admin key: RAPPEL_ADMIN_KEY is not set; create keys with `rappel keys create` or start with --demo"),
    }

    let runtime_ok = match load_runtime(&settings.ort_lib) {
        Ok(()) => {
            report.ok("ONNX Runtime", settings.ort_lib.display());
            true
        }
        Err(e) => {
            report.fail("ONNX Runtime", e);
            false
        }
    };

    let source = ModelSource::parse(&settings.model);
    if let ModelSource::Directory(dir) = &source {
        let missing: Vec<&str> = MODEL_FILES.iter().copied().filter(|f| !dir.join(f).is_file()).collect();
        if !missing.is_empty() {
            report.fail(
                "model files",
                format!("{} lacks {}; run `make fetch`", dir.display(), missing.join(", ")),
            );
        }
    }
    let mut stamp = None;
    if runtime_ok && !report.failed {
        let (lib, batch, max_len) = (
            settings.ort_lib.clone(),
            settings.embed_batch_size,
            settings.embed_max_length,
        );
        let src = source.clone();
        match tokio::task::spawn_blocking(move || FastEmbedder::load(&lib, &src, batch, max_len)).await {
            Ok(Ok(model)) => {
                report.ok("model", format!("{} ({} dimensions)", model.name(), model.dimension()));
                stamp = Some(ModelStamp {
                    name: model.name().to_owned(),
                    dim: model.dimension(),
                });
            }
            Ok(Err(e)) => report.fail("model", e),
            Err(e) => report.fail("model", format!("loading crashed: {e}")),
        }
    }

    match RedbStore::open(&settings.data_dir, stamp.as_ref()) {
        Ok(store) => report.ok(
            "store",
            format!("{} opens; schema and model match", store.path().display()),
        ),
        Err(StoreError::InUse(path)) => report.ok("store", format!("{} is open in a running server", path.display())),
        Err(e) => report.fail("store", e),
    }

    if report.failed {
        println!("\nsome checks failed; `make fetch` brings the model and ONNX Runtime");
        ExitCode::FAILURE
    } else {
        println!("\nall checks passed");
        ExitCode::SUCCESS
    }
}
