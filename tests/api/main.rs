//! HTTP integration tests: the real server on a random port, a temp-dir redb store, the real embedding model.

mod audit;
mod auth;
mod backup;
mod campaigns;
mod crash;
mod customers;
mod embedding;
mod errors;
mod found;
mod helpers;
mod import;
mod interactions;
mod isolation;
mod jobs;
mod limits;
mod openapi;
mod ops_metrics;
mod outreach;
mod persistence;
mod preferences;
mod retention;
mod spec_truth;
mod support_metrics;
mod understanding;
