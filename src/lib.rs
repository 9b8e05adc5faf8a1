//! Rappel: long-term customer memory and proactive support.
//!
//! Layers, one direction only: [`http`] (transport) -> [`service`] (use cases) -> [`domain`] (rules),
//! [`store`] (the only redb code) and [`embed`] (the only fastembed code).

pub mod cli;
pub mod config;
pub mod doctor;
pub mod domain;
pub mod embed;
pub mod http;
pub mod index;
pub mod jobs;
pub mod ops_metrics;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tools;
