//! Workspaces, API keys and scopes: who may do what, on which tenant's data.

use chrono::{DateTime, Utc};
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{KeyId, WorkspaceId};

/// What a key may do. `admin` includes `write`, which includes `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read customers, preferences and everything derived from them.
    Read,
    /// Create, change and erase customer data.
    Write,
    /// Manage API keys (and, in the default workspace, workspaces).
    Admin,
}

impl Scope {
    /// Whether holding `self` grants `needed`.
    pub fn grants(self, needed: Scope) -> bool {
        self >= needed
    }
}

/// A tenant. Every customer and key belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Workspace {
    /// The workspace's slug.
    pub id: WorkspaceId,
    /// A human-readable name.
    #[schema(example = "Lumen support (EU)")]
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A stored API key. The secret is never stored, only its SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    /// The key's id (not secret).
    pub id: KeyId,
    /// The workspace the key acts in.
    pub workspace: WorkspaceId,
    /// What the key is for.
    #[schema(example = "zendesk-bot")]
    pub name: String,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// The first characters of the secret, to recognise it.
    #[schema(example = "rpl_3fK9")]
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
    /// SHA-256 of the secret, hex.
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub hash: String,
}

impl ApiKey {
    /// Whether the key holds a scope granting `needed`.
    pub fn grants(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|s| s.grants(needed))
    }
}

/// A new secret: `rpl_` and 40 random alphanumerics.
pub fn generate_secret() -> String {
    format!("rpl_{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 40))
}

/// The hex SHA-256 of a secret, as stored and looked up.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key id of the bootstrap admin key (`admin_key`), which is not stored.
pub const BOOTSTRAP_KEY_ID: &str = "bootstrap";
/// The key id of trusted local callers: the command line, the demo loader, the scheduler.
pub const LOCAL_KEY_ID: &str = "cli";

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The workspace every call of this caller is confined to.
    pub workspace: WorkspaceId,
    /// The key's id, or `bootstrap` for `RAPPEL_ADMIN_KEY`.
    pub key_id: String,
    /// The scopes held.
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Whether the caller holds a scope granting `needed`.
    pub fn grants(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|s| s.grants(needed))
    }

    /// Whether this is a trusted local caller rather than an API key (local callers are not rate limited).
    pub fn is_local(&self) -> bool {
        self.key_id == LOCAL_KEY_ID
    }

    /// The history source recorded for changes this caller makes.
    pub fn source(&self) -> String {
        format!("api:{}", self.key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_grants_everything_and_read_only_read() {
        assert!(Scope::Admin.grants(Scope::Write) && Scope::Admin.grants(Scope::Read));
        assert!(Scope::Write.grants(Scope::Read) && !Scope::Write.grants(Scope::Admin));
        assert!(!Scope::Read.grants(Scope::Write));
    }

    #[test]
    fn secrets_are_random_and_hashed_to_hex() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("rpl_") && a.len() == 44);
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
