//! Logistic models trained from zero by full-batch Adam, deterministic: the same samples in the same order give
//! the same weights. Used for the sentiment head and the typed-memory heads.

use serde::{Deserialize, Serialize};

use super::dot;

/// Feature standardisation: `(x - mean) * scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardiser {
    /// Feature means.
    pub mean: Vec<f32>,
    /// Feature scales (1 / standard deviation).
    pub scale: Vec<f32>,
}

impl Standardiser {
    /// Fits means and scales to weighted rows.
    pub fn fit(rows: &[(&[f32], f32)]) -> Self {
        let n = rows.first().map_or(0, |(x, _)| x.len());
        let total: f32 = rows.iter().map(|(_, w)| w).sum::<f32>().max(1e-6);
        let mut mean = vec![0.0f32; n];
        for (x, w) in rows {
            for (m, v) in mean.iter_mut().zip(x.iter()) {
                *m += w * v / total;
            }
        }
        let mut var = vec![0.0f32; n];
        for (x, w) in rows {
            for ((a, v), m) in var.iter_mut().zip(x.iter()).zip(&mean) {
                *a += w * (v - m) * (v - m) / total;
            }
        }
        Self {
            mean,
            scale: var.iter().map(|v| 1.0 / v.sqrt().max(1e-4)).collect(),
        }
    }

    /// The standardised features.
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((v, m), s)| (v - m) * s)
            .collect()
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.mean.len()
    }

    /// Whether it has no feature.
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }

    fn rounded(self) -> Self {
        Self {
            mean: self.mean.into_iter().map(round).collect(),
            scale: self.scale.into_iter().map(round).collect(),
        }
    }
}

/// Rounds a weight to 5 decimals, so committed files stay small and diff well.
pub fn round(v: f32) -> f32 {
    (v * 1e5).round() / 1e5
}

/// One linear unit: weights and bias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    /// Weights, one per feature.
    pub weights: Vec<f32>,
    /// Bias.
    pub bias: f32,
}

impl Linear {
    /// The unit's output for standardised features.
    pub fn logit(&self, z: &[f32]) -> f32 {
        self.bias + dot(&self.weights, z)
    }
}

/// Softmax of logits.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// The logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// L2 penalty on the weights.
    pub l2: f32,
    /// Full-batch steps.
    pub steps: usize,
    /// Adam learning rate.
    pub learning_rate: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            l2: 1e-3,
            steps: 400,
            learning_rate: 0.05,
        }
    }
}

struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    fn new(n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    fn step(&mut self, params: &mut [f32], grad: &[f32], lr: f32) {
        self.t += 1;
        let (b1, b2) = (0.9f32, 0.999f32);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for i in 0..params.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * grad[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * grad[i] * grad[i];
            params[i] -= lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + 1e-8);
        }
    }
}

/// Fits a softmax regression over `classes` classes to standardised rows `(z, class, weight)`.
pub fn fit_softmax(rows: &[(&[f32], usize, f32)], classes: usize, opts: TrainOptions) -> Vec<Linear> {
    let n = rows.first().map_or(0, |(z, _, _)| z.len());
    let total: f32 = rows.iter().map(|(_, _, w)| w).sum::<f32>().max(1e-6);
    let width = n + 1;
    let mut params = vec![0.0f32; classes * width];
    let mut adam = Adam::new(params.len());
    let mut grad = vec![0.0f32; params.len()];
    for _ in 0..opts.steps {
        grad.iter_mut().for_each(|g| *g = 0.0);
        for (z, class, w) in rows {
            let logits: Vec<f32> = (0..classes)
                .map(|k| params[k * width + n] + dot(&params[k * width..k * width + n], z))
                .collect();
            let p = softmax(&logits);
            for (k, pk) in p.iter().enumerate() {
                let err = w * (pk - if k == *class { 1.0 } else { 0.0 }) / total;
                let row = &mut grad[k * width..(k + 1) * width];
                for (g, v) in row[..n].iter_mut().zip(z.iter()) {
                    *g += err * v;
                }
                row[n] += err;
            }
        }
        for k in 0..classes {
            for j in 0..n {
                grad[k * width + j] += opts.l2 * params[k * width + j];
            }
        }
        adam.step(&mut params, &grad, opts.learning_rate);
    }
    (0..classes)
        .map(|k| Linear {
            weights: params[k * width..k * width + n].iter().copied().map(round).collect(),
            bias: round(params[k * width + n]),
        })
        .collect()
}

/// Fits a logistic regression to standardised rows `(z, label, weight)`.
pub fn fit_binary(rows: &[(&[f32], bool, f32)], opts: TrainOptions) -> Linear {
    let n = rows.first().map_or(0, |(z, _, _)| z.len());
    let total: f32 = rows.iter().map(|(_, _, w)| w).sum::<f32>().max(1e-6);
    let width = n + 1;
    let mut params = vec![0.0f32; width];
    let mut adam = Adam::new(width);
    let mut grad = vec![0.0f32; width];
    for _ in 0..opts.steps {
        grad.iter_mut().for_each(|g| *g = 0.0);
        for (z, y, w) in rows {
            let p = sigmoid(params[n] + dot(&params[..n], z));
            let err = w * (p - if *y { 1.0 } else { 0.0 }) / total;
            for (g, v) in grad[..n].iter_mut().zip(z.iter()) {
                *g += err * v;
            }
            grad[n] += err;
        }
        for j in 0..n {
            grad[j] += opts.l2 * params[j];
        }
        adam.step(&mut params, &grad, opts.learning_rate);
    }
    Linear {
        weights: params[..n].iter().copied().map(round).collect(),
        bias: round(params[n]),
    }
}

/// Fits a standardiser to rows and returns it, rounded, with the standardised rows.
pub fn standardise(rows: &[(&[f32], f32)]) -> (Standardiser, Vec<Vec<f32>>) {
    let s = Standardiser::fit(rows).rounded();
    let z = rows.iter().map(|(x, _)| s.apply(x)).collect();
    (s, z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_fits_separate_classes_and_are_deterministic() {
        let xs: Vec<Vec<f32>> = (0..40).map(|i| vec![i as f32 / 10.0 - 2.0, (i % 3) as f32]).collect();
        let weighted: Vec<(&[f32], f32)> = xs.iter().map(|x| (x.as_slice(), 1.0)).collect();
        let (s, z) = standardise(&weighted);
        let rows: Vec<(&[f32], bool, f32)> = z
            .iter()
            .zip(&xs)
            .map(|(z, x)| (z.as_slice(), x[0] > 0.0, 1.0))
            .collect();
        let a = fit_binary(&rows, TrainOptions::default());
        assert_eq!(a, fit_binary(&rows, TrainOptions::default()));
        assert!(sigmoid(a.logit(&s.apply(&[1.5, 0.0]))) > 0.9);
        assert!(sigmoid(a.logit(&s.apply(&[-1.5, 0.0]))) < 0.1);
        let rows3: Vec<(&[f32], usize, f32)> = z
            .iter()
            .zip(&xs)
            .map(|(z, x)| {
                (
                    z.as_slice(),
                    if x[0] < -0.7 {
                        0
                    } else if x[0] < 0.7 {
                        1
                    } else {
                        2
                    },
                    1.0,
                )
            })
            .collect();
        let units = fit_softmax(&rows3, 3, TrainOptions::default());
        let p = softmax(&units.iter().map(|u| u.logit(&s.apply(&[1.8, 1.0]))).collect::<Vec<_>>());
        assert!(p[2] > 0.8, "{p:?}");
    }
}
