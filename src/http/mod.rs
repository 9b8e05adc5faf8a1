//! HTTP transport: handlers, extractors, the error mapping and the OpenAPI document.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

mod audit;
mod auth;
mod body;
mod campaigns;
mod console;
mod customers;
pub mod error;
mod health;
mod incidents;
mod interactions;
mod jobs;
mod keys;
mod knowledge;
mod known_paths;
mod maintenance;
mod memories;
pub mod openapi;
mod ops_metrics;
mod outreach;
mod panics;
mod preferences;
mod recall;
mod request_id;
mod responses;
pub mod server;
mod support_metrics;
mod teams;

pub use server::{openapi_document, openapi_spec, Server};
