//! Documentation-only schemas of the JSON merge-patch bodies (RFC 7396), one per patchable resource, derived from
//! the resource's own schema so the two cannot drift: every field optional, `null` allowed where removing the
//! field leaves a valid resource (it resets to its default), no other keys (the server refuses unknown fields).

use serde_json::{json, Map, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::campaign::CampaignInput;
use super::incident::IncidentInput;
use super::interaction::InteractionInput;
use super::job::JobDefinition;
use super::knowledge::KnowledgeInput;
use super::team::TeamInput;
use super::{CustomerFields, Preferences};

/// How the patch of one resource differs from the resource's schema.
struct PatchRules {
    /// What the patch is for.
    description: &'static str,
    /// Fields a patch cannot carry at all.
    excluded: &'static [&'static str],
    /// Paths replaced whole rather than merged (as the server applies them): their schema stays the resource's.
    whole: &'static [&'static str],
}

/// The patch schema of a resource schema (`schemas`: the components it refers to). In every merged object, each
/// field becomes optional; fields the resource requires cannot be `null` (removing them leaves no valid
/// resource), the others can (removed: back to the default). Objects at `whole` paths keep their schema.
fn patch_of(resource: RefOr<Schema>, schemas: &[(String, RefOr<Schema>)], rules: &PatchRules) -> RefOr<Schema> {
    let components: Map<String, Value> = schemas
        .iter()
        .map(|(name, schema)| (name.clone(), serde_json::to_value(schema).expect("schemas serialise")))
        .collect();
    let mut schema = serde_json::to_value(resource).expect("schemas serialise");
    let object = schema.as_object_mut().expect("a resource schema is an object schema");
    object.remove("example");
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for field in rules.excluded {
            properties.remove(*field);
        }
    }
    let whole: Vec<Vec<&str>> = rules.whole.iter().map(|p| p.split('.').collect()).collect();
    patchify(&mut schema, &components, &whole, &[]);
    schema["description"] = rules.description.into();
    serde_json::from_value(schema).expect("a patch schema is a schema")
}

/// Makes the object schema at `path` a merge-patch schema (see [`patch_of`]), inlining the components it merges.
fn patchify(schema: &mut Value, components: &Map<String, Value>, whole: &[Vec<&str>], path: &[String]) {
    if whole
        .iter()
        .any(|w| w.len() == path.len() && w.iter().zip(path).all(|(w, p)| *w == "*" || w == p))
    {
        replaced(schema, components);
        return;
    }
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        let name = name.trim_start_matches("#/components/schemas/");
        let Some(target) = components.get(name) else { return };
        let description = schema.get("description").cloned();
        *schema = target.clone();
        if let Some(description) = description {
            schema["description"] = description;
        }
    }
    if let Some(alternatives) = schema.get_mut("oneOf").and_then(Value::as_array_mut) {
        for alternative in alternatives {
            patchify(alternative, components, whole, path);
        }
        return;
    }
    let Some(object) = schema.as_object_mut() else { return };
    let required: Vec<String> = match object.remove("required") {
        Some(Value::Array(names)) => names.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            let inner: Vec<String> = path.iter().cloned().chain([name.clone()]).collect();
            patchify(property, components, whole, &inner);
            if !required.contains(name) {
                nullable(property);
            }
        }
    }
    if let Some(values) = object.get_mut("additionalProperties").filter(|v| v.is_object()) {
        let inner: Vec<String> = path.iter().cloned().chain(["*".to_owned()]).collect();
        patchify(values, components, whole, &inner);
        nullable(values);
    }
}

/// The schema of a value a patch replaces whole: the resource's, except that its optional fields may be `null`
/// (a `null` in a patch removes the key, so the field takes its default).
fn replaced(schema: &mut Value, components: &Map<String, Value>) {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        let name = name.trim_start_matches("#/components/schemas/");
        let Some(target) = components.get(name) else { return };
        let description = schema.get("description").cloned();
        *schema = target.clone();
        if let Some(description) = description {
            schema["description"] = description;
        }
    }
    if let Some(alternatives) = schema.get_mut("oneOf").and_then(Value::as_array_mut) {
        alternatives.iter_mut().for_each(|a| replaced(a, components));
        return;
    }
    let required: Vec<Value> = schema
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            if !required.contains(&Value::String(name.clone())) {
                nullable(property);
            }
        }
    }
}

/// Lets a property schema also be `null`.
fn nullable(property: &mut Value) {
    let admits_null = |v: &Value| match v.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.contains(&json!("null")),
        _ => false,
    };
    if admits_null(property)
        || property
            .get("oneOf")
            .and_then(Value::as_array)
            .is_some_and(|alternatives| alternatives.iter().any(admits_null))
    {
        return;
    }
    match property.get("type").cloned() {
        Some(Value::String(t)) => property["type"] = json!([t, "null"]),
        Some(Value::Array(mut ts)) => {
            ts.push("null".into());
            property["type"] = Value::Array(ts);
        }
        _ => {
            let description = property.as_object_mut().and_then(|p| p.remove("description"));
            let mut wrapped = json!({"oneOf": [{"type": "null"}, property.take()]});
            if let Some(description) = description {
                wrapped["description"] = description;
            }
            *property = wrapped;
        }
    }
}

macro_rules! patch_schema {
    ($(#[$doc:meta])* $name:ident of $resource:ty, $rules:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let mut schemas = Vec::new();
                <$resource as ToSchema>::schemas(&mut schemas);
                patch_of(<$resource as PartialSchema>::schema(), &schemas, &$rules)
            }
        }

        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                <$resource as ToSchema>::schemas(schemas);
            }
        }
    };
}

patch_schema!(
    /// Merge patch of a customer.
    CustomerPatch of CustomerFields,
    PatchRules {
        description: "Merge patch of a customer profile (RFC 7396): fields present are set, `null` removes a field, \
            absent fields stay. `external_id` cannot be removed.",
        excluded: &[],
        whole: &[],
    }
);

patch_schema!(
    /// Merge patch of a customer's preferences.
    PreferencesPatch of Preferences,
    PatchRules {
        description: "Merge patch of preferences (RFC 7396): fields present are set (objects merge key by key), \
            `null` resets a field to its default, absent fields stay. A consent or `quiet_hours` given is replaced \
            whole.",
        excluded: &[],
        whole: Preferences::PATCHED_WHOLE,
    }
);

patch_schema!(
    /// Merge patch of an interaction.
    InteractionPatch of InteractionInput,
    PatchRules {
        description: "Merge patch of an interaction (RFC 7396): status, closing time, CSAT, NPS, tags, escalation... \
            `null` removes a field. `external_id` cannot change and messages are appended with the messages \
            endpoint. `closed_at` must not be before `opened_at` (422 `invalid_field`).",
        excluded: &["external_id", "messages"],
        whole: &[],
    }
);

patch_schema!(
    /// Merge patch of an incident.
    IncidentPatch of IncidentInput,
    PatchRules {
        description: "Merge patch of an incident (RFC 7396), typically `ended_at` and `resolution`; `null` removes \
            a field. `ended_at` must not be before `started_at` (422 `invalid_field`).",
        excluded: &[],
        whole: &[],
    }
);

patch_schema!(
    /// Merge patch of a campaign.
    CampaignPatch of CampaignInput,
    PatchRules {
        description: "Merge patch of a campaign (RFC 7396): fields present are set (objects merge key by key), \
            `null` resets a field to its default (`schedule: null`: it runs only when asked).",
        excluded: &[],
        whole: &[],
    }
);

patch_schema!(
    /// Merge patch of a team.
    TeamPatch of TeamInput,
    PatchRules {
        description: "Merge patch of a team (RFC 7396): fields present are set (objects merge key by key), `null` \
            resets a field to its default (`hours: null`: always at work). `topics` needs at least one entry.",
        excluded: &[],
        whole: &[],
    }
);

patch_schema!(
    /// Merge patch of a job definition.
    JobPatch of JobDefinition,
    PatchRules {
        description: "Merge patch of a job definition (RFC 7396), e.g. `{\"enabled\": false}`; `null` resets a \
            field to its default. A `detector` given is replaced whole (its kind and parameters). A job's id cannot \
            change.",
        excluded: &["id"],
        whole: JobDefinition::PATCHED_WHOLE,
    }
);

patch_schema!(
    /// Merge patch of a knowledge document.
    KnowledgePatch of KnowledgeInput,
    PatchRules {
        description: "Merge patch of a knowledge document (RFC 7396): fields present are set, `null` removes an \
            optional field. A changed title, body or format cuts and embeds the document again.",
        excluded: &[],
        whole: &[],
    }
);
