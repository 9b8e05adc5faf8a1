//! A panic in a handler (a bug) becomes a logged 500 problem document, never a dropped connection: the worker
//! stays up and the client learns the request failed, with its request id to find the log line.

use std::panic::AssertUnwindSafe;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use futures_util::FutureExt;

use super::error::ApiError;
use crate::service::panic_message;

/// Middleware: answers 500 `internal_error` when the rest of the chain panics.
/// (The request cannot be kept for the response: routing needs it unshared. The error is rendered by actix as
/// the problem document.)
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        Err(panic) => {
            tracing::error!(panic = %panic_message(&*panic), "a handler panicked");
            Err(ApiError::internal("the server hit a bug; it is logged with this request's id").into())
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::middleware::from_fn;
    use actix_web::{test, web, App, HttpResponse};

    use super::*;

    async fn boom() -> HttpResponse {
        panic!("a bug")
    }

    #[actix_web::test]
    async fn a_panicking_handler_answers_a_500_problem_and_the_next_request_is_served() {
        let app = test::init_service(
            App::new()
                .route("/boom", web::get().to(boom))
                .route("/fine", web::get().to(|| async { HttpResponse::Ok().finish() }))
                .wrap(from_fn(catch_panics)),
        )
        .await;
        let error = test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request())
            .await
            .expect_err("a panic is an error response");
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "internal_error");
        let response = test::call_service(&app, test::TestRequest::get().uri("/fine").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}
