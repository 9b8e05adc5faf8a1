//! The JSON body of every handler: a JSON object read into `T`. The body is parsed with the JSON settings (size
//! limit, media type, errors of [`super::error::json_error`]), then must be an object: serde would otherwise read
//! a struct from an array (`[null, null]` as a claim), which no operation documents.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// A request body: a JSON object read as `T` (422 `invalid_body` otherwise).
pub struct Body<T>(pub T);

impl<T> Body<T> {
    /// The body's value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Body<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            if !value.is_object() {
                return Err(ApiError::invalid_body("the body must be a JSON object").into());
            }
            serde_json::from_value(value)
                .map(Body)
                .map_err(|e| ApiError::invalid_body(e.to_string()).into())
        })
    }
}
