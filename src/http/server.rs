//! Builds the actix app (routes, extractor configs, middleware, Swagger UI) and the HTTP server.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use super::error::{json_error, path_error, query_error};
use super::known_paths::{route_not_found, unserved_methods, KnownPaths};
use super::openapi::ApiDoc;
use super::panics::catch_panics;
use super::request_id::request_id;
use super::{
    audit, campaigns, console, customers, health, incidents, interactions, jobs, keys, knowledge, maintenance,
    memories, ops_metrics, outreach, preferences, recall, support_metrics, teams,
};
use crate::service::Services;

/// Registers every documented route. Used by the server and by [`openapi_spec`], so the spec cannot miss one.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(ops_metrics::metrics)
        .service(
            scope("/v1")
                .service(customers::create_customer)
                .service(customers::list_customers)
                .service(customers::upsert_customer)
                .service(customers::get_customer_by_external_id)
                .service(customers::get_customer)
                .service(customers::patch_customer)
                .service(customers::erase_customer)
                .service(customers::export_customer)
                .service(customers::health)
                .service(preferences::get_preferences)
                .service(preferences::put_preferences)
                .service(preferences::patch_preferences)
                .service(preferences::preference_history)
                .service(interactions::post_interaction)
                .service(interactions::list_interactions)
                .service(interactions::get_interaction)
                .service(interactions::patch_interaction)
                .service(interactions::append_message)
                .service(recall::recall)
                .service(memories::handoff)
                .service(recall::context)
                .service(memories::list_memories)
                .service(memories::get_memory)
                .service(memories::patch_memory)
                .service(memories::delete_memory)
                .service(memories::search)
                .service(memories::similar_resolutions)
                .service(outreach::queue)
                .service(outreach::list)
                .service(outreach::claim)
                .service(outreach::get)
                .service(outreach::ack)
                .service(outreach::cancel)
                .service(incidents::declare)
                .service(incidents::list)
                .service(incidents::get)
                .service(incidents::update)
                .service(knowledge::add)
                .service(knowledge::list)
                .service(knowledge::search)
                .service(knowledge::stale)
                .service(knowledge::gaps)
                .service(knowledge::get)
                .service(knowledge::update)
                .service(knowledge::remove)
                .service(campaigns::create)
                .service(campaigns::list)
                .service(campaigns::get)
                .service(campaigns::update)
                .service(campaigns::remove)
                .service(campaigns::preview)
                .service(campaigns::run)
                .service(teams::create)
                .service(teams::list)
                .service(teams::get)
                .service(teams::update)
                .service(teams::remove)
                .service(jobs::list_jobs)
                .service(jobs::get_job)
                .service(jobs::run_job)
                .service(jobs::job_runs)
                .service(jobs::create_job)
                .service(jobs::update_job)
                .service(jobs::delete_job)
                .service(maintenance::retention)
                .service(maintenance::health)
                .service(maintenance::backup)
                .service(keys::whoami)
                .service(keys::create_key)
                .service(keys::list_keys)
                .service(keys::revoke_key)
                .service(keys::create_workspace)
                .service(keys::list_workspaces)
                .service(audit::list_audit)
                .service(support_metrics::support_metrics),
        );
}

/// The OpenAPI document of every route, as served at `/api-docs/openapi.json`.
pub fn openapi_spec() -> utoipa::openapi::OpenApi {
    App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1
}

/// The published OpenAPI document (`rappel openapi`, `/api-docs/openapi.json`): [`openapi_spec`] finished by
/// [`super::openapi::finish`].
pub fn openapi_document() -> serde_json::Value {
    super::openapi::finish(&openapi_spec())
}

fn json_config(max_body_bytes: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(max_body_bytes)
        .content_type(|mime| mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
        .error_handler(json_error)
}

/// A bound, not yet awaited HTTP server.
pub struct Server {
    addr: SocketAddr,
    server: actix_web::dev::Server,
}

impl Server {
    /// Builds the server on an already bound listener (port 0 in tests).
    pub fn build(
        services: Services,
        listener: TcpListener,
        max_body_bytes: usize,
        workers: usize,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let services = web::Data::new(services);
        let spec = openapi_spec();
        let known = web::Data::new(KnownPaths::from_spec(&spec));
        let document = super::openapi::finish(&spec);
        let mut server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .app_data(services.clone())
                .app_data(known.clone())
                .app_data(json_config(max_body_bytes))
                .app_data(web::PayloadConfig::new(max_body_bytes))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .configure(routes)
                .split_for_parts();
            app.service(
                SwaggerUi::new("/swagger-ui/{_:.*}").external_url_unchecked("/api-docs/openapi.json", document.clone()),
            )
            .service(web::redirect("/swagger-ui", "/swagger-ui/"))
            .configure(console::configure)
            .default_service(web::to(route_not_found))
            .wrap(from_fn(unserved_methods))
            .wrap(from_fn(catch_panics))
            .wrap(from_fn(ops_metrics::record))
            .wrap(from_fn(request_id))
        })
        .shutdown_timeout(10)
        .listen(listener)?;
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Self {
            addr,
            server: server.run(),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM or the handle).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
