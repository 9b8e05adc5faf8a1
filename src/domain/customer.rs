//! Customer profiles: the fields a client may set, the stored record, and the rules that keep them valid.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{validate, CustomerId, InvalidInput, WorkspaceId};

/// Largest accepted `attributes` object, in bytes of compact JSON.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;
/// Most tags a customer may carry.
pub const MAX_TAGS: usize = 50;

/// The profile fields a client sets: the body of create and upsert, and what a merge patch applies to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerFields {
    /// The customer's id in the client's own systems (helpdesk, CRM). Unique within a workspace. Required,
    /// except in the upsert body, where the path gives it.
    #[serde(default)]
    #[schema(
        required = true,
        example = "cus-1001",
        pattern = "^[^/\\s\\x00-\\x1f\\x7f-\\x9f]+$",
        min_length = 1,
        max_length = 200
    )]
    pub external_id: String,
    /// Full name.
    #[schema(
        example = "Camille Dubois",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub name: Option<String>,
    /// E-mail address.
    #[schema(
        example = "camille.dubois@example.fr",
        pattern = "^[A-Za-z0-9_%+-]{1,16}(\\.[A-Za-z0-9_%+-]{1,15}){0,3}@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$",
        max_length = 254
    )]
    pub email: Option<String>,
    /// Phone number, international format preferred.
    #[schema(example = "+33 6 12 34 56 78", pattern = "^\\+?[0-9]{4,20}$")]
    pub phone: Option<String>,
    /// Language as a BCP 47 tag.
    #[schema(example = "fr-FR", pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub language: Option<String>,
    /// IANA time zone.
    #[schema(value_type = Option<super::schemas::TimeZoneName>, example = "Europe/Paris")]
    pub timezone: Option<String>,
    /// Company the customer belongs to.
    #[schema(
        example = "Atelier Dubois",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub company: Option<String>,
    /// Subscription plan.
    #[schema(
        example = "pro",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub plan: Option<String>,
    /// Free tags (lowercase recommended), used in list filters and segments.
    #[serde(default)]
    #[schema(value_type = Vec<super::schemas::Tag>, example = json!(["vip", "hub-v2"]), max_items = 50)]
    pub tags: Vec<String>,
    /// Date the customer signed up.
    #[schema(example = "2024-03-14")]
    pub signup_date: Option<NaiveDate>,
    /// Date the subscription renews.
    #[schema(example = "2027-01-10")]
    pub renewal_date: Option<NaiveDate>,
    /// Lifetime value in the workspace's currency.
    #[schema(example = 1840.5, minimum = 0.0)]
    pub lifetime_value: Option<f64>,
    /// Free-form attributes (a JSON object of at most 16 KiB).
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"seats": 12, "devices": ["Lumen Hub v2"]}))]
    pub attributes: Map<String, Value>,
}

impl CustomerFields {
    /// Validates every field and returns the normalised profile (trimmed text, canonical language and time zone,
    /// de-duplicated tags).
    pub fn validated(self) -> Result<Self, InvalidInput> {
        let opt_text = |field: &str, v: Option<String>| {
            v.map(|s| validate::text(field, &s, validate::MAX_TEXT_CHARS))
                .transpose()
        };
        let external_id = validate::text("external_id", &self.external_id, validate::MAX_TEXT_CHARS)?;
        if external_id.contains('/') || external_id.chars().any(char::is_whitespace) {
            return Err(InvalidInput::new(
                "invalid_field",
                "external_id",
                "must not contain '/' or white space",
            ));
        }
        let mut tags = Vec::with_capacity(self.tags.len());
        for (i, tag) in self.tags.iter().enumerate() {
            let tag = validate::text(&format!("tags[{i}]"), tag, 64)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(InvalidInput::new(
                "invalid_field",
                "tags",
                format!("at most {MAX_TAGS} tags"),
            ));
        }
        if let Some(v) = self.lifetime_value {
            if !v.is_finite() || v < 0.0 {
                return Err(InvalidInput::new(
                    "invalid_field",
                    "lifetime_value",
                    "must be a non-negative number",
                ));
            }
        }
        let attributes_size = serde_json::to_vec(&self.attributes)
            .map(|b| b.len())
            .unwrap_or(usize::MAX);
        if attributes_size > MAX_ATTRIBUTES_BYTES {
            return Err(InvalidInput::new(
                "attributes_too_large",
                "attributes",
                format!("attributes take {attributes_size} bytes; the limit is {MAX_ATTRIBUTES_BYTES}"),
            ));
        }
        Ok(Self {
            external_id,
            name: opt_text("name", self.name)?,
            email: self.email.map(|e| validate::email("email", &e)).transpose()?,
            phone: self.phone.map(|p| validate::phone("phone", &p)).transpose()?,
            language: self.language.map(|l| validate::language("language", &l)).transpose()?,
            timezone: self.timezone.map(|t| validate::timezone("timezone", &t)).transpose()?,
            company: opt_text("company", self.company)?,
            plan: opt_text("plan", self.plan)?,
            tags,
            signup_date: self.signup_date.map(|d| validate::date("signup_date", d)).transpose()?,
            renewal_date: self
                .renewal_date
                .map(|d| validate::date("renewal_date", d))
                .transpose()?,
            lifetime_value: self.lifetime_value,
            attributes: self.attributes,
        })
    }

    /// Applies a JSON merge patch (RFC 7396) to these fields and validates the result.
    pub fn merge_patched(&self, patch: &Value) -> Result<Self, InvalidInput> {
        super::merge_patch::patched(self, patch)?.validated()
    }
}

/// A stored customer: the profile plus the server-set id, workspace and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    /// Rappel's id for the customer.
    pub id: CustomerId,
    /// The workspace the customer belongs to.
    pub workspace: WorkspaceId,
    /// The profile.
    #[serde(flatten)]
    pub fields: CustomerFields,
    /// When the customer was created (server time, UTC).
    pub created_at: DateTime<Utc>,
    /// When the profile last changed (server time, UTC).
    pub updated_at: DateTime<Utc>,
}

impl Customer {
    /// The customer's language for text rules, English when unknown.
    pub fn lang(&self) -> crate::domain::text::Lang {
        self.fields
            .language
            .as_deref()
            .and_then(crate::domain::text::Lang::from_tag)
            .unwrap_or(crate::domain::text::Lang::En)
    }

    /// A new customer from validated fields.
    pub fn new(workspace: WorkspaceId, fields: CustomerFields, now: DateTime<Utc>) -> Self {
        Self {
            id: CustomerId::generate(),
            workspace,
            fields,
            created_at: now,
            updated_at: now,
        }
    }

    /// Replaces the profile; returns whether anything changed (`updated_at` moves only then).
    pub fn replace_fields(&mut self, fields: CustomerFields, now: DateTime<Utc>) -> bool {
        if self.fields == fields {
            return false;
        }
        self.fields = fields;
        self.updated_at = now;
        true
    }
}

/// Filters of the customer list; all given ones must match.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Only customers carrying this tag.
    pub tag: Option<String>,
    /// Only customers on this plan.
    pub plan: Option<String>,
    /// Only customers changed at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

impl CustomerFilter {
    /// Whether `customer` passes every filter.
    pub fn matches(&self, customer: &Customer) -> bool {
        self.tag.as_ref().is_none_or(|t| customer.fields.tags.contains(t))
            && self
                .plan
                .as_ref()
                .is_none_or(|p| customer.fields.plan.as_ref() == Some(p))
            && self.updated_since.is_none_or(|t| customer.updated_at >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> CustomerFields {
        serde_json::from_value(
            json!({"external_id": "c-1", "email": "a@Example.com", "timezone": "europe/paris",
            "language": "fr-fr", "tags": ["vip", "vip", "beta"]}),
        )
        .unwrap()
    }

    #[test]
    fn validation_normalises_fields() {
        let f = fields().validated().unwrap();
        assert_eq!(f.email.as_deref(), Some("a@example.com"));
        assert_eq!(f.timezone.as_deref(), Some("Europe/Paris"));
        assert_eq!(f.language.as_deref(), Some("fr-FR"));
        assert_eq!(f.tags, vec!["vip", "beta"]);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_value::<CustomerFields>(json!({"external_id": "x", "nickname": "y"})).unwrap_err();
        assert!(err.to_string().contains("nickname"));
    }

    #[test]
    fn oversized_attributes_are_rejected() {
        let mut f = fields();
        f.attributes
            .insert("blob".into(), json!("x".repeat(MAX_ATTRIBUTES_BYTES)));
        assert_eq!(f.validated().unwrap_err().code, "attributes_too_large");
    }

    #[test]
    fn merge_patch_sets_and_removes_fields_and_revalidates() {
        let f = fields().validated().unwrap();
        let patched = f.merge_patched(&json!({"plan": "pro", "email": null})).unwrap();
        assert_eq!(patched.plan.as_deref(), Some("pro"));
        assert_eq!(patched.email, None);
        assert_eq!(
            f.merge_patched(&json!({"timezone": "Nowhere/Land"})).unwrap_err().code,
            "invalid_timezone"
        );
        assert_eq!(
            f.merge_patched(&json!({"nickname": "x"})).unwrap_err().code,
            "invalid_body"
        );
        assert_eq!(f.merge_patched(&json!([1])).unwrap_err().code, "invalid_body");
    }

    #[test]
    fn stored_customer_round_trips_through_json() {
        let c = Customer::new(
            WorkspaceId::default_workspace(),
            fields().validated().unwrap(),
            Utc::now(),
        );
        let back: Customer = serde_json::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn replacing_identical_fields_is_not_a_change() {
        let now = Utc::now();
        let mut c = Customer::new(WorkspaceId::default_workspace(), fields().validated().unwrap(), now);
        let later = now + chrono::Duration::seconds(5);
        assert!(!c.replace_fields(c.fields.clone(), later));
        assert_eq!(c.updated_at, now);
    }
}
