//! The web console (`/console/`): the single-page app built from `console/` (Preact, uPlot, esbuild) and
//! committed as `console/dist/`, embedded in the binary at build time. Every byte it shows comes from the public
//! API with the key typed on its login screen, so these files need no key.

use std::borrow::Cow;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use rust_embed::RustEmbed;

use super::error::ApiError;

/// `console/dist/`, embedded (in debug builds too: the `debug-embed` feature).
#[derive(RustEmbed)]
#[folder = "console/dist/"]
struct Dist;

/// Scripts and styles from this origin only; uPlot and the health bars set inline styles; the favicon is a
/// `data:` image; API calls go to this origin.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                      img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// One file of the console; `/console/` is its `index.html`. Asset names carry a content hash, so they are
/// cached for a year; the page itself is revalidated on every visit.
pub async fn file(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let asked = path.into_inner();
    let name = if asked.is_empty() { "index.html" } else { asked.as_str() };
    let Some(found) = Dist::get(name) else {
        return ApiError::route_not_found(req.path()).error_response();
    };
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    // Embedded files are static: served without a copy.
    let body = match found.data {
        Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
        Cow::Owned(bytes) => web::Bytes::from(bytes),
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type(name))))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(cache)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY)))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .body(body)
}

/// Registers `/console/{file}` and the redirect of `/console` to `/console/` (the page's asset URLs are
/// relative, so it must be served under the trailing slash).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::redirect("/console", "/console/").permanent())
        .route("/console/{file:.*}", web::get().to(file));
}
