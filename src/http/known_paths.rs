//! The documented paths and their methods, read from the OpenAPI document, so that a known path asked with
//! another method gets 405 with an `Allow` header instead of 404, or instead of the answer of a templated path
//! that also matches it (`GET /v1/outreach/claim` is not `GET /v1/outreach/{id}`).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use utoipa::openapi::OpenApi;

use super::error::ApiError;

/// Each documented path template (`/v1/customers/{id}`) as segments, with the methods it serves.
pub struct KnownPaths(Vec<(Vec<String>, Vec<&'static str>)>);

impl KnownPaths {
    /// Every path of the spec.
    pub fn from_spec(spec: &OpenApi) -> Self {
        let paths = spec
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let methods: Vec<&'static str> = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, served)| served.then_some(m))
                .collect();
                (segments(template).map(str::to_owned).collect(), methods)
            })
            .collect();
        Self(paths)
    }

    /// The methods served at `path` (empty when no documented path matches it). As in OpenAPI, a path with
    /// fewer templated segments wins: `/v1/outreach/claim` is that path, not `/v1/outreach/{id}`.
    pub fn methods(&self, path: &str) -> Vec<&'static str> {
        let asked: Vec<&str> = segments(path).collect();
        let is_param = |t: &String| t.starts_with('{') && t.ends_with('}');
        let matching = self.0.iter().filter(|(template, _)| {
            template.len() == asked.len()
                && template
                    .iter()
                    .zip(&asked)
                    .all(|(t, a)| (is_param(t) && !a.is_empty()) || t == a)
        });
        let params = |template: &Vec<String>| template.iter().filter(|t| is_param(t)).count();
        let Some(fewest) = matching.clone().map(|(t, _)| params(t)).min() else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for (_, methods) in matching.filter(|(t, _)| params(t) == fewest) {
            for m in methods {
                if !found.contains(m) {
                    found.push(*m);
                }
            }
        }
        found
    }
}

/// 405 `method_not_allowed` with the `Allow` header.
fn method_not_allowed(req: &HttpRequest, allowed: &[&str]) -> HttpResponse {
    let mut response = ApiError::method_not_allowed(req.method().as_str(), req.path(), allowed).error_response();
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}

/// The default service: 405 with `Allow` for a documented path asked with another method, 404 otherwise.
pub async fn route_not_found(req: HttpRequest, known: web::Data<KnownPaths>) -> HttpResponse {
    let allowed = known.methods(req.path());
    if allowed.is_empty() {
        return ApiError::route_not_found(req.path()).error_response();
    }
    method_not_allowed(&req, &allowed)
}

/// Middleware: a documented path asked with a method it does not serve is answered 405 before routing, so a
/// templated route that also matches the path (`/v1/outreach/{id}` for `/v1/outreach/claim`) cannot answer.
pub async fn unserved_methods(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(known) = req.app_data::<web::Data<KnownPaths>>() {
        let allowed = known.methods(req.path());
        if !allowed.is_empty() && !allowed.contains(&req.method().as_str()) {
            let response = method_not_allowed(req.request(), &allowed);
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.trim_end_matches('/').split('/').skip(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_lists_its_methods_and_an_unknown_one_none() {
        let known = KnownPaths::from_spec(&crate::http::server::openapi_spec());
        assert!(known.methods("/v1/customers/cus_1").contains(&"GET"));
        assert!(known.methods("/v1/customers").contains(&"POST"));
        assert!(known.methods("/v1/nothing-here").is_empty());
        assert!(known.methods("/v1/customers/a/b/c/d").is_empty());
        assert_eq!(known.methods("/v1/outreach/claim"), vec!["POST"]);
    }
}
