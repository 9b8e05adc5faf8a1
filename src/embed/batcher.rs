//! Batches concurrent embedding requests: callers that arrive while the model is busy are embedded together in
//! the next inference call (up to a batch size), so throughput grows with concurrency instead of queueing one small
//! batch after another behind the model. A lone caller is served at once (`linger` 0); a positive `linger` waits
//! that long for company when a batch is not full.

use std::collections::VecDeque;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::{EmbedError, Embedder, TextRole};

struct Request {
    texts: Vec<String>,
    role: TextRole,
    urgent: bool,
    reply: Sender<Result<Vec<Vec<f32>>, EmbedError>>,
}

/// A request the worker has taken from the queue: its vectors so far.
struct Active {
    request: Request,
    vectors: Vec<Vec<f32>>,
}

impl Active {
    fn remaining(&self) -> usize {
        self.request.texts.len() - self.vectors.len()
    }
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Request>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// An [`Embedder`] that funnels every call through one worker thread which coalesces concurrent calls.
///
/// Queries go first: a context read embeds one query and must not wait behind a large import, so the worker splits
/// big requests into batches of at most `max_texts` and serves waiting queries between them.
pub struct Batcher {
    inner: Arc<dyn Embedder>,
    shared: Arc<Shared>,
}

impl Batcher {
    /// Starts the worker. `max_texts` bounds one inference call; `linger` is how long the worker waits for more
    /// texts when a batch is not full.
    pub fn new(inner: Arc<dyn Embedder>, max_texts: usize, linger: Duration) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
        });
        let (worker_shared, model) = (Arc::clone(&shared), Arc::clone(&inner));
        std::thread::Builder::new()
            .name("embed-batcher".into())
            .spawn(move || work(&worker_shared, model.as_ref(), max_texts.max(1), linger))
            .expect("the embedding thread starts");
        Self { inner, shared }
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.closed = true;
        self.shared.ready.notify_all();
    }
}

/// Moves queued requests to the worker's list; blocks while both are empty. `None` once closed and drained.
fn take_pending(shared: &Shared, active: &mut Vec<Active>, max_texts: usize, linger: Duration) -> Option<()> {
    let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
    while q.pending.is_empty() && active.is_empty() && !q.closed {
        q = shared.ready.wait(q).unwrap_or_else(|p| p.into_inner());
    }
    if q.pending.is_empty() && active.is_empty() {
        return None;
    }
    let waiting: usize =
        q.pending.iter().map(|r| r.texts.len()).sum::<usize>() + active.iter().map(Active::remaining).sum::<usize>();
    if waiting < max_texts && !linger.is_zero() {
        q = shared
            .ready
            .wait_timeout(q, linger)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    active.extend(q.pending.drain(..).map(|request| Active {
        vectors: Vec::with_capacity(request.texts.len()),
        request,
    }));
    Some(())
}

fn work(shared: &Shared, model: &dyn Embedder, max_texts: usize, linger: Duration) {
    let mut active: Vec<Active> = Vec::new();
    while take_pending(shared, &mut active, max_texts, linger).is_some() {
        // Urgent requests (a reader waits) first, then requests in arrival order; one role per inference call.
        let urgent = active.iter().any(|a| a.request.urgent);
        let role = active
            .iter()
            .find(|a| a.request.urgent == urgent)
            .map_or(TextRole::Passage, |a| a.request.role);
        // Each waiting request gets an equal share of the batch, so a small write is not held behind a large
        // import (of another tenant, say); room a request does not need goes to the next ones in order.
        let eligible: Vec<usize> = (0..active.len())
            .filter(|&i| active[i].request.role == role && active[i].request.urgent == urgent)
            .collect();
        let share = (max_texts / eligible.len().max(1)).max(1);
        let mut taken: Vec<usize> = eligible.iter().map(|&i| active[i].remaining().min(share)).collect();
        let mut room = max_texts.saturating_sub(taken.iter().sum());
        for (t, &i) in taken.iter_mut().zip(&eligible) {
            let more = (active[i].remaining() - *t).min(room);
            *t += more;
            room -= more;
        }
        let mut plan: Vec<(usize, usize, usize)> = Vec::new(); // (request, from, to)
        let mut total = 0;
        for (&i, &t) in eligible.iter().zip(&taken) {
            if t == 0 || total >= max_texts {
                continue;
            }
            let t = t.min(max_texts - total);
            let from = active[i].vectors.len();
            plan.push((i, from, from + t));
            total += t;
        }
        let texts: Vec<&str> = plan
            .iter()
            .flat_map(|&(i, from, to)| active[i].request.texts[from..to].iter().map(String::as_str))
            .collect();
        let started = std::time::Instant::now();
        let result = model.embed(&texts, role);
        crate::ops_metrics::embedding_batch(texts.len(), started.elapsed().as_secs_f64(), result.is_ok());
        match result {
            Ok(vectors) => {
                let mut vectors = vectors.into_iter();
                for &(i, from, to) in &plan {
                    active[i].vectors.extend(vectors.by_ref().take(to - from));
                }
                let (done, rest): (Vec<Active>, Vec<Active>) = active.into_iter().partition(|a| a.remaining() == 0);
                for a in done {
                    let _ = a.request.reply.send(Ok(a.vectors));
                }
                active = rest;
            }
            Err(e) => {
                let message = e.to_string();
                let failed: Vec<usize> = plan.iter().map(|&(i, _, _)| i).collect();
                let mut kept = Vec::new();
                for (i, a) in active.into_iter().enumerate() {
                    if failed.contains(&i) {
                        let _ = a.request.reply.send(Err(EmbedError::Inference(message.clone())));
                    } else {
                        kept.push(a);
                    }
                }
                active = kept;
            }
        }
    }
}

impl Batcher {
    fn submit(&self, texts: &[&str], role: TextRole, urgent: bool) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = channel();
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.pending.push_back(Request {
                texts: texts.iter().map(|t| (*t).to_owned()).collect(),
                role,
                urgent,
                reply,
            });
        }
        self.shared.ready.notify_one();
        answer
            .recv()
            .unwrap_or_else(|_| Err(EmbedError::Inference("the embedding thread stopped".into())))
    }
}

impl Embedder for Batcher {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn embed(&self, texts: &[&str], role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.submit(texts, role, false)
    }

    fn embed_urgent(&self, texts: &[&str], role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.submit(texts, role, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::HashEmbedder;

    #[test]
    fn concurrent_callers_get_their_own_vectors_in_order() {
        let batcher = Arc::new(Batcher::new(
            Arc::new(HashEmbedder::new(32)),
            8,
            Duration::from_millis(5),
        ));
        let direct = HashEmbedder::new(32);
        let handles: Vec<_> = (0..6)
            .map(|n| {
                let b = Arc::clone(&batcher);
                std::thread::spawn(move || {
                    let texts: Vec<String> = (0..3).map(|i| format!("caller {n} text {i}")).collect();
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    (texts.clone(), b.embed(&refs, TextRole::Passage).unwrap())
                })
            })
            .collect();
        for h in handles {
            let (texts, got) = h.join().unwrap();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            assert_eq!(got, direct.embed(&refs, TextRole::Passage).unwrap());
        }
        assert!(batcher.embed(&[], TextRole::Query).unwrap().is_empty());
    }

    #[test]
    fn every_waiting_request_gets_a_share_of_each_batch() {
        // A model that records the texts of each call.
        struct Recording(Mutex<Vec<Vec<String>>>);
        impl Embedder for Recording {
            fn name(&self) -> &str {
                "recording"
            }
            fn dimension(&self) -> usize {
                2
            }
            fn embed(&self, texts: &[&str], _role: TextRole) -> Result<Vec<Vec<f32>>, EmbedError> {
                std::thread::sleep(Duration::from_millis(20));
                self.0
                    .lock()
                    .unwrap()
                    .push(texts.iter().map(|t| (*t).to_owned()).collect());
                Ok(texts.iter().map(|_| vec![1.0, 0.0]).collect())
            }
        }
        let model = Arc::new(Recording(Mutex::new(Vec::new())));
        let batcher = Arc::new(Batcher::new(model.clone(), 8, Duration::ZERO));
        let big: Vec<String> = (0..64).map(|i| format!("big {i}")).collect();
        let b = Arc::clone(&batcher);
        let import = std::thread::spawn(move || {
            let refs: Vec<&str> = big.iter().map(String::as_str).collect();
            b.embed(&refs, TextRole::Passage).unwrap().len()
        });
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(batcher.embed(&["small"], TextRole::Passage).unwrap().len(), 1);
        let calls_before_small = model.0.lock().unwrap().len();
        assert!(
            calls_before_small < 8,
            "the small request waited for the whole import ({calls_before_small} calls)"
        );
        assert_eq!(import.join().unwrap(), 64);
    }

    #[test]
    fn a_request_larger_than_a_batch_is_split_and_reassembled() {
        let batcher = Batcher::new(Arc::new(HashEmbedder::new(16)), 4, Duration::ZERO);
        let texts: Vec<String> = (0..11).map(|i| format!("text number {i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let direct = HashEmbedder::new(16).embed(&refs, TextRole::Passage).unwrap();
        assert_eq!(batcher.embed(&refs, TextRole::Passage).unwrap(), direct);
    }
}
