//! The `Caller` extractor: resolves `Authorization: Bearer <key>` to a principal through the services.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;
use crate::domain::Principal;
use crate::service::{ServiceError, Services};

/// The authenticated caller of a request.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let services = req.app_data::<web::Data<Services>>().cloned();
        let header = req.headers().get(AUTHORIZATION).map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            #[allow(clippy::expect_used, reason = "the server registers the services before any route")]
            let services = services.expect("Services are registered as app data");
            let secret = match header {
                None => None,
                Some(Err(_)) => return Err(ServiceError::InvalidCredentials.into()),
                Some(Ok(value)) => match value.split_once(' ') {
                    Some((scheme, secret)) if scheme.eq_ignore_ascii_case("bearer") => Some(secret.trim().to_owned()),
                    _ => return Err(ServiceError::InvalidCredentials.into()),
                },
            };
            Ok(Caller(services.authenticate(secret.as_deref()).await?))
        })
    }
}
