//! Small metric helpers shared by the tools.

/// F1 from true positives, false positives and false negatives (0 when undefined).
pub fn f1(tp: usize, fp: usize, fn_: usize) -> f64 {
    let (p, r) = precision_recall(tp, fp, fn_);
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Precision and recall (0 when undefined).
pub fn precision_recall(tp: usize, fp: usize, fn_: usize) -> (f64, f64) {
    let p = if tp + fp == 0 {
        0.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let r = if tp + fn_ == 0 {
        0.0
    } else {
        tp as f64 / (tp + fn_) as f64
    };
    (p, r)
}
