//! Plain domain types and rules: customers, preferences, workspaces and API keys. No framework code lives here
//! except the derives that describe the wire format (serde) and document it (utoipa), so the JSON a client sends
//! is exactly the shape these types have.

pub mod audit;
pub mod auth;
pub mod campaign;
pub mod context;
pub mod customer;
pub mod detect;
pub mod extract;
pub mod formation;
pub mod health;
pub mod ids;
pub mod incident;
pub mod interaction;
pub mod invalid;
pub mod job;
pub mod job_run;
pub mod knowledge;
pub mod learn;
pub mod lifecycle;
pub mod memory;
pub mod merge_patch;
pub mod mood;
pub mod outreach;
pub mod outreach_state;
pub mod page;
pub mod patch_schemas;
pub mod preferences;
pub mod problems;
pub mod prompt;
pub mod rate;
pub mod recall;
pub mod recalled;
pub mod redact;
pub mod routing;
pub mod schedule;
pub mod schemas;
pub mod sentiment;
pub mod support_metrics;
pub mod team;
#[cfg(test)]
pub(crate) mod testkit;
pub mod text;
pub mod validate;
pub mod vector;
pub mod when;
pub mod whole;

pub use auth::{ApiKey, Principal, Scope, Workspace};
pub use customer::{Customer, CustomerFields, CustomerFilter};
pub use ids::{CustomerId, KeyId, WorkspaceId};
pub use invalid::InvalidInput;
pub use page::{CursorList, InvalidCursor, Page};
pub use preferences::{Channel, PreferenceChange, Preferences};

/// Dot product (the cosine similarity of unit vectors).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Scales a vector to unit length (a zero vector stays zero).
pub fn normalise_unit(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new record was created.
    Created,
    /// An existing record changed.
    Updated,
    /// The stored record was already identical; nothing was written.
    Unchanged,
}
