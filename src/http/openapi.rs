//! The OpenAPI document: metadata and security here, paths collected from the registered routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::Problem;

/// Base document; [`super::server::routes`] adds every path.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rappel",
        description = "Long-term customer memory and proactive support.\n\n\
            Authenticate with `Authorization: Bearer <key>` (the Authorize button). Errors are RFC 9457 problem \
            documents with a stable `code`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "customers", description = "Customer profiles"),
        (name = "preferences", description = "Contact preferences, consent and their history"),
        (name = "interactions", description = "Tickets, chats, e-mail threads and calls"),
        (name = "memories", description = "Recall, context and memory management"),
        (name = "outreach", description = "The proactive outreach queue senders pull from"),
        (name = "jobs", description = "Proactive jobs: definitions, runs"),
        (name = "campaigns", description = "Segments, messages and schedules: preview, then run"),
        (name = "incidents", description = "Known problems matched against customers' reports"),
        (name = "knowledge", description = "The company's knowledge base: documents, search with citations, freshness"),
        (name = "teams", description = "Who handles what: the teams a handoff is routed to"),
        (name = "keys", description = "API keys (admin scope)"),
        (name = "workspaces", description = "Workspaces (operators)"),
        (name = "audit", description = "Who did what, when (admin scope)"),
        (name = "metrics", description = "Support KPIs per workspace"),
        (name = "maintenance", description = "Daily sweeps run on demand (operators)"),
        (name = "health", description = "Probes"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Rappel API key (rpl_...)"))
                    .build(),
            ),
        );
    }
}

/// Finishes the generated document so that it describes what the server sends.
///
/// A stored record (`Customer`, `Interaction`, `Incident`) flattens the input a client sends, which utoipa
/// writes as `allOf: [Input, {id, workspace, ...}]`. Inputs refuse unknown fields (`additionalProperties:
/// false`), so no stored record could ever match that `allOf`: each such `allOf` is merged into one object with
/// the properties and required fields of all its parts (and no `additionalProperties`, as responses may grow).
pub fn finish(spec: &utoipa::openapi::OpenApi) -> serde_json::Value {
    #[allow(clippy::expect_used, reason = "utoipa's document always serialises")]
    let mut doc = serde_json::to_value(spec).expect("the OpenAPI document serialises");
    let schemas = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    merge_all_of(&mut doc, &schemas);
    bound_years(&mut doc);
    doc
}

/// The years every time and date the server takes must fall in (see `domain::validate::time`), as a pattern on
/// each `date-time` and `date` string of the document that does not state one already.
const YEARS_PATTERN: &str = "^(19[7-9][0-9]|[2-9][0-9]{3})-";

fn bound_years(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Array(items) => items.iter_mut().for_each(bound_years),
        Value::Object(map) => {
            let dated = matches!(map.get("format").and_then(Value::as_str), Some("date-time" | "date"));
            if dated && !map.contains_key("pattern") {
                map.insert("pattern".into(), Value::String(YEARS_PATTERN.into()));
            }
            map.values_mut().for_each(bound_years);
        }
        _ => {}
    }
}

/// Replaces every `allOf` made only of object schemas (inline or referenced) by their merge, depth first.
fn merge_all_of(value: &mut serde_json::Value, schemas: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| merge_all_of(v, schemas)),
        Value::Object(map) => {
            map.values_mut().for_each(|v| merge_all_of(v, schemas));
            let Some(Value::Array(parts)) = map.get("allOf") else {
                return;
            };
            let Some(merged) = merged_object(parts, schemas, 0) else {
                return;
            };
            map.remove("allOf");
            for (key, v) in merged {
                map.entry(key).or_insert(v);
            }
        }
        _ => {}
    }
}

/// The merge of object schemas: `type`, `properties` and `required`; `None` when a part is not an object schema.
fn merged_object(
    parts: &[serde_json::Value],
    schemas: &serde_json::Value,
    depth: usize,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    use serde_json::{Map, Value};
    if depth > 8 {
        return None;
    }
    let (mut properties, mut required) = (Map::new(), Vec::<Value>::new());
    for part in parts {
        let part = match part.get("$ref").and_then(Value::as_str) {
            Some(reference) => schemas.get(reference.strip_prefix("#/components/schemas/")?)?,
            None => part,
        };
        let (part_properties, part_required) = match part.get("allOf").and_then(Value::as_array) {
            Some(inner) => {
                let inner = merged_object(inner, schemas, depth + 1)?;
                (inner.get("properties").cloned(), inner.get("required").cloned())
            }
            None if part.get("type").and_then(Value::as_str) == Some("object") => {
                (part.get("properties").cloned(), part.get("required").cloned())
            }
            None => return None,
        };
        if let Some(Value::Object(p)) = part_properties {
            properties.extend(p);
        }
        if let Some(Value::Array(r)) = part_required {
            required.extend(r.into_iter().filter(|r| !required.contains(r)).collect::<Vec<_>>());
        }
    }
    let mut merged = Map::new();
    merged.insert("type".into(), Value::from("object"));
    if !required.is_empty() {
        merged.insert("required".into(), Value::Array(required));
    }
    merged.insert("properties".into(), Value::Object(properties));
    Some(merged)
}
