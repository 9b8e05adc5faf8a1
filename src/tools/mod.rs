//! Tools around the product: training the sentiment head, measuring quality and performance. They call the domain
//! and the service like any other caller; the crash test is a black-box HTTP client of the binary.

pub mod backup;
pub mod bench;
pub mod bench_proactive;
pub mod bench_stores;
pub mod bench_support_metrics;
pub mod crash;
pub mod eval;
pub mod metrics;
pub mod migrate;
pub mod score;
pub mod sets;
pub mod train_extraction;
pub mod train_sentiment;

/// Writes a trained head as `<out_dir>/<model>.json` and says where, how large and after how long.
fn write_head(
    out_dir: &std::path::Path,
    model: &str,
    head: &impl serde::Serialize,
    started: std::time::Instant,
) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(out_dir)?;
    let path = out_dir.join(format!("{model}.json"));
    std::fs::write(&path, serde_json::to_string(head)? + "\n")?;
    println!(
        "wrote {} ({} KB) in {:.0} s",
        path.display(),
        std::fs::metadata(&path)?.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    Ok(path)
}
