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
        (name = "keys", description = "API keys (admin scope)"),
        (name = "workspaces", description = "Workspaces (operators)"),
        (name = "audit", description = "Who did what, when (admin scope)"),
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
