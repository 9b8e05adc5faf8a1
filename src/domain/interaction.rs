//! Interactions (tickets, chats, e-mail threads, calls) and their messages, with the merge rule that makes
//! re-posting idempotent.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sentiment::Sentiment;
use super::{validate, CustomerId, InvalidInput, WorkspaceId};

/// Where the conversation happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionChannel {
    /// E-mail thread.
    Email,
    /// Live chat.
    Chat,
    /// Phone call (messages are the transcript or notes).
    Phone,
    /// Social media.
    Social,
    /// In-app messaging.
    InApp,
}

/// Where the conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionStatus {
    /// Waiting for the support team.
    Open,
    /// Waiting for the customer or a third party.
    Pending,
    /// Solved.
    Resolved,
    /// Closed.
    Closed,
}

impl InteractionStatus {
    /// Whether the conversation still needs work.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Open | Self::Pending)
    }
}

/// Who handled the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandledBy {
    /// An AI agent only.
    Bot,
    /// People only.
    Human,
    /// Both (a handoff happened).
    Both,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthorRole {
    /// The customer.
    Customer,
    /// A human agent.
    Agent,
    /// An AI agent.
    Bot,
}

/// One message of an interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// The client's id for the message (unique within the interaction).
    #[schema(
        example = "int-0001-m1",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub id: String,
    /// Who wrote it.
    pub role: AuthorRole,
    /// Author's display name.
    #[schema(
        example = "Margaret Okafor",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub author: Option<String>,
    /// The text.
    #[schema(
        example = "My parcel #LM-48213 never arrived.",
        pattern = "\\S",
        min_length = 1,
        max_length = 20000
    )]
    pub text: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Sentiment of customer messages (computed by Rappel; ignored on input).
    #[serde(default)]
    #[schema(read_only)]
    pub sentiment: Option<Sentiment>,
}

/// Longest accepted message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 20_000;

impl Message {
    /// Validates the message (sentiment is cleared: Rappel computes it).
    pub fn validated(mut self, field: &str) -> Result<Self, InvalidInput> {
        self.id = validate::text(&format!("{field}.id"), &self.id, 200)?;
        validate::time(&format!("{field}.sent_at"), self.sent_at)?;
        if self.text.trim().is_empty() {
            return Err(InvalidInput::new(
                "invalid_field",
                format!("{field}.text"),
                "must not be empty",
            ));
        }
        if self.text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(InvalidInput::new(
                "invalid_field",
                format!("{field}.text"),
                format!("at most {MAX_MESSAGE_CHARS} characters"),
            ));
        }
        self.author = self
            .author
            .map(|a| validate::text(&format!("{field}.author"), &a, validate::MAX_TEXT_CHARS))
            .transpose()?;
        self.sentiment = None;
        Ok(self)
    }
}

/// The fields of an interaction a client sends (create/upsert body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    /// The client's id for the interaction (ticket number); re-posting it updates instead of duplicating.
    #[schema(
        example = "int-0001",
        pattern = "^[^/\\x00-\\x1f\\x7f-\\x9f]*[^/\\s\\x00-\\x1f\\x7f-\\x9f][^/\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub external_id: String,
    /// Where it happened.
    pub channel: InteractionChannel,
    /// Subject line.
    #[schema(
        example = "Parcel never arrived",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 500
    )]
    pub subject: Option<String>,
    /// Status.
    pub status: InteractionStatus,
    /// When it started.
    pub opened_at: DateTime<Utc>,
    /// When it was resolved or closed; not before `opened_at` (422 `invalid_field`).
    pub closed_at: Option<DateTime<Utc>>,
    /// Who handled it.
    pub handled_by: Option<HandledBy>,
    /// Whether it was escalated.
    #[serde(default)]
    pub escalated: bool,
    /// Customer satisfaction, 1-5.
    #[schema(minimum = 1, maximum = 5)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub csat: Option<u8>,
    /// Net promoter score, 0-10.
    #[schema(maximum = 10)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub nps: Option<u8>,
    /// Tags.
    #[serde(default)]
    #[schema(value_type = Vec<super::schemas::Tag>, max_items = 50)]
    pub tags: Vec<String>,
    /// Product concerned.
    #[schema(
        example = "Lumen Hub v2",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub product: Option<String>,
    /// The support team that handled it (a slug: 1-64 characters of a-z, 0-9, `-` and `_`); support metrics
    /// split by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "billing",
        pattern = "^[a-z0-9][a-z0-9_-]{0,63}$",
        min_length = 1,
        max_length = 64
    )]
    pub team: Option<String>,
    /// Messages, oldest first.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub messages: Vec<Message>,
}

impl InteractionInput {
    /// Validates every field and message.
    pub fn validated(mut self) -> Result<Self, InvalidInput> {
        self.external_id = validate::text("external_id", &self.external_id, 200)?;
        if self.external_id.contains('/') {
            return Err(InvalidInput::new(
                "invalid_field",
                "external_id",
                "must not contain '/'",
            ));
        }
        self.subject = self.subject.map(|s| validate::text("subject", &s, 500)).transpose()?;
        self.product = self
            .product
            .map(|s| validate::text("product", &s, validate::MAX_TEXT_CHARS))
            .transpose()?;
        self.team = self.team.map(|t| validate::slug("team", &t)).transpose()?;
        if self.csat.is_some_and(|c| !(1..=5).contains(&c)) {
            return Err(InvalidInput::new("invalid_field", "csat", "must be between 1 and 5"));
        }
        if self.nps.is_some_and(|n| n > 10) {
            return Err(InvalidInput::new("invalid_field", "nps", "must be between 0 and 10"));
        }
        validate::time("opened_at", self.opened_at)?;
        if let Some(closed) = self.closed_at {
            validate::time("closed_at", closed)?;
        }
        if self.closed_at.is_some_and(|c| c < self.opened_at) {
            return Err(InvalidInput::new(
                "invalid_field",
                "closed_at",
                "must not be before opened_at",
            ));
        }
        for (i, tag) in self.tags.iter_mut().enumerate() {
            *tag = validate::text(&format!("tags[{i}]"), tag, 64)?;
        }
        let mut messages: Vec<Message> = Vec::with_capacity(self.messages.len());
        for (i, m) in self.messages.into_iter().enumerate() {
            let m = m.validated(&format!("messages[{i}]"))?;
            match messages.iter_mut().find(|x| x.id == m.id) {
                Some(existing) => *existing = m,
                None => messages.push(m),
            }
        }
        messages.sort_by_key(|m| m.sent_at);
        if messages.len() > 1000 {
            return Err(InvalidInput::new(
                "invalid_field",
                "messages",
                "at most 1000 messages per interaction",
            ));
        }
        self.messages = messages;
        Ok(self)
    }
}

/// Opaque interaction id (`int_...`).
pub type InteractionId = String;

/// A stored interaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Interaction {
    /// Rappel's id.
    #[schema(example = "int_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub id: InteractionId,
    /// Workspace.
    pub workspace: WorkspaceId,
    /// Customer.
    pub customer_id: CustomerId,
    /// The interaction as the client sent it (messages merged across posts).
    #[serde(flatten)]
    pub fields: InteractionInput,
    /// The handoff brief, once a bot handed the conversation to a person.
    pub handoff: Option<serde_json::Value>,
    /// When Rappel first stored it.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What merging a re-posted interaction changed.
#[derive(Debug, Default, PartialEq)]
pub struct Merge {
    /// Ids of messages that are new or whose text changed (they need memories).
    pub new_messages: Vec<String>,
    /// Whether anything at all changed.
    pub changed: bool,
}

impl Interaction {
    /// A new interaction.
    pub fn new(workspace: WorkspaceId, customer_id: CustomerId, fields: InteractionInput, now: DateTime<Utc>) -> Self {
        let id = format!("int_{}", ulid::Ulid::new().to_string().to_lowercase());
        Self {
            id,
            workspace,
            customer_id,
            fields,
            handoff: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Merges a re-post: scalar fields are replaced, messages are matched by id (a known id with the same text
    /// is kept as it is, so computed sentiment survives; new ids are appended in time order).
    pub fn merge(&mut self, incoming: InteractionInput, now: DateTime<Utc>) -> Merge {
        let mut merge = Merge::default();
        let InteractionInput { messages, .. } = &incoming;
        for m in messages {
            match self.fields.messages.iter_mut().find(|x| x.id == m.id) {
                Some(existing)
                    if existing.text == m.text && existing.role == m.role && existing.sent_at == m.sent_at =>
                {
                    if existing.author != m.author {
                        existing.author = m.author.clone();
                        merge.changed = true;
                    }
                }
                Some(existing) => {
                    *existing = m.clone();
                    merge.new_messages.push(m.id.clone());
                    merge.changed = true;
                }
                None => {
                    self.fields.messages.push(m.clone());
                    merge.new_messages.push(m.id.clone());
                    merge.changed = true;
                }
            }
        }
        self.fields.messages.sort_by_key(|m| m.sent_at);
        let merged_messages = std::mem::take(&mut self.fields.messages);
        let scalar = InteractionInput {
            messages: Vec::new(),
            ..incoming
        };
        let mut current = std::mem::replace(&mut self.fields, scalar);
        current.messages = Vec::new();
        if current != self.fields {
            merge.changed = true;
        }
        self.fields.messages = merged_messages;
        if merge.changed {
            self.updated_at = now;
        }
        merge
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(messages: serde_json::Value) -> InteractionInput {
        serde_json::from_value::<InteractionInput>(json!({
            "external_id": "t-1", "channel": "chat", "status": "open", "opened_at": "2026-11-01T10:00:00Z",
            "messages": messages
        }))
        .unwrap()
        .validated()
        .unwrap()
    }

    fn msg(id: &str, text: &str, minute: u32) -> serde_json::Value {
        json!({"id": id, "role": "customer", "text": text, "sent_at": format!("2026-11-01T10:{minute:02}:00Z")})
    }

    #[test]
    fn reposting_the_same_interaction_changes_nothing() {
        let now: DateTime<Utc> = "2026-11-01T12:00:00Z".parse().unwrap();
        let mut i = Interaction::new(
            WorkspaceId::default_workspace(),
            CustomerId::from_client("c"),
            input(json!([msg("a", "hello", 1)])),
            now,
        );
        let m = i.merge(input(json!([msg("a", "hello", 1)])), now + chrono::Duration::minutes(5));
        assert_eq!(m, Merge::default());
        assert_eq!(i.updated_at, now);
    }

    #[test]
    fn a_longer_version_appends_only_new_messages() {
        let now: DateTime<Utc> = "2026-11-01T12:00:00Z".parse().unwrap();
        let mut i = Interaction::new(
            WorkspaceId::default_workspace(),
            CustomerId::from_client("c"),
            input(json!([msg("a", "hello", 1)])),
            now,
        );
        let m = i.merge(input(json!([msg("b", "still there?", 9), msg("a", "hello", 1)])), now);
        assert_eq!(m.new_messages, ["b"]);
        assert!(m.changed);
        let ids: Vec<&str> = i.fields.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn status_changes_are_changes_without_new_messages() {
        let now: DateTime<Utc> = "2026-11-01T12:00:00Z".parse().unwrap();
        let mut i = Interaction::new(
            WorkspaceId::default_workspace(),
            CustomerId::from_client("c"),
            input(json!([msg("a", "hello", 1)])),
            now,
        );
        let mut resolved = input(json!([]));
        resolved.status = InteractionStatus::Resolved;
        let m = i.merge(resolved, now);
        assert!(m.changed && m.new_messages.is_empty());
        assert_eq!(i.fields.status, InteractionStatus::Resolved);
        assert_eq!(i.fields.messages.len(), 1, "an update without messages keeps them");
    }

    #[test]
    fn bad_scores_and_empty_messages_are_refused() {
        let mut bad = input(json!([]));
        bad.csat = Some(6);
        assert!(bad.validated().is_err());
        let empty = serde_json::from_value::<InteractionInput>(json!({"external_id": "x", "channel": "chat", "status": "open",
            "opened_at": "2026-11-01T10:00:00Z", "messages": [{"id": "m", "role": "customer", "text": "  ", "sent_at": "2026-11-01T10:00:00Z"}]}))
        .unwrap();
        assert!(empty.validated().is_err());
    }
}
