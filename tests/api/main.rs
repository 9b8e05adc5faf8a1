//! HTTP integration tests: the real server on a random port, a temp-dir redb store, the real embedding model.

mod audit;
mod auth;
mod backup;
mod campaigns;
mod crash;
mod customers;
mod embedding;
mod errors;
mod expansion;
mod found;
mod helpers;
mod import;
mod interactions;
mod isolation;
mod jobs;
mod knowledge;
mod limits;
mod openapi;
mod outreach;
mod persistence;
mod preferences;
mod retention;
mod spec_truth;
mod teams;
mod understanding;
