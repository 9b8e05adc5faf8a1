//! Tools around the product: training the sentiment head, measuring quality. They call the domain and the
//! service like any other caller.

pub mod bench;
pub mod bench_proactive;
pub mod eval;
pub mod metrics;
pub mod score;
pub mod sets;
pub mod train_extraction;
pub mod train_sentiment;
