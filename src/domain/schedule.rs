//! Cron schedules (six fields, seconds first), shared by jobs and campaigns.

use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// Parses a six-field cron expression (seconds first).
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| format!("invalid cron {expr:?}: {e}"))
}
