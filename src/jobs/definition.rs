//! Job definitions: one TOML file per job in the top-level `jobs/` folder, validated at start-up.

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::detect::Detector;
use crate::domain::WorkspaceId;

pub use crate::domain::outreach::OutreachSpec;

fn utc() -> String {
    "UTC".into()
}

fn yes() -> bool {
    true
}

fn week() -> u32 {
    168
}

/// A scheduled detector and the outreach it queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobDefinition {
    /// Slug, the file's name without `.toml`.
    #[schema(example = "sentiment_decline")]
    pub id: String,
    /// What the job is for.
    pub description: String,
    /// Cron schedule with seconds first (`0 0 9 * * *`: every day at 09:00).
    #[schema(example = "0 0 9 * * *")]
    pub schedule: String,
    /// Time zone of the schedule.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Disabled jobs only run on demand.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The same customer, reason and evidence give no second item within this many hours.
    #[serde(default = "week")]
    pub cooldown_hours: u32,
    /// Only customers whose health (0-100) is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_health: Option<u8>,
    /// The detector and its parameters.
    #[schema(value_type = Object)]
    pub detector: Detector,
    /// What to queue.
    pub outreach: OutreachSpec,
}

/// A definition that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("job definition {file}: {reason}")]
pub struct DefinitionError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

pub use crate::domain::schedule::parse_cron;

impl JobDefinition {
    /// Checks the id, the schedule, the time zone, the templates and the priority.
    pub fn validate(&self) -> Result<(), String> {
        WorkspaceId::parse(&self.id).map_err(|_| "id must be a slug of a-z, 0-9, '-' and '_'".to_owned())?;
        parse_cron(&self.schedule)?;
        chrono_tz::Tz::from_str(&self.timezone).map_err(|_| format!("unknown time zone {:?}", self.timezone))?;
        if !self.outreach.templates.contains_key("en") {
            return Err("outreach.templates needs at least an \"en\" template".into());
        }
        if !(1..=5).contains(&self.outreach.priority) {
            return Err("outreach.priority must be between 1 and 5".into());
        }
        Ok(())
    }

    /// The latest scheduled time at or before `now`.
    pub fn previous_fire(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = chrono_tz::Tz::from_str(&self.timezone).ok()?;
        let cron = parse_cron(&self.schedule).ok()?;
        cron.find_previous_occurrence(&now.with_timezone(&tz), true)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Loads and validates every `*.toml` of `dir`, sorted by id; any invalid file is an error naming it.
pub fn load_dir(dir: &Path) -> Result<Vec<JobDefinition>, DefinitionError> {
    let err = |file: &Path, reason: String| DefinitionError {
        file: file.display().to_string(),
        reason,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(dir, e.to_string())),
    };
    let mut jobs = Vec::new();
    for path in entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
    {
        let text = std::fs::read_to_string(&path).map_err(|e| err(&path, e.to_string()))?;
        let job: JobDefinition = toml::from_str(&text).map_err(|e| err(&path, e.to_string()))?;
        job.validate().map_err(|reason| err(&path, reason))?;
        if path.file_stem().and_then(|s| s.to_str()) != Some(job.id.as_str()) {
            return Err(err(&path, format!("the file must be named {}.toml", job.id)));
        }
        jobs.push(job);
    }
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jobs_folder_loads_and_validates() {
        let jobs = load_dir(Path::new("jobs")).expect("every definition in jobs/ is valid");
        assert!(jobs.len() >= 5);
        for job in &jobs {
            assert!(
                job.outreach.templates.contains_key("fr"),
                "{} has a French template",
                job.id
            );
        }
    }

    #[test]
    fn bad_cron_and_unknown_keys_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = std::fs::read_to_string("jobs/low_csat_followup.toml").unwrap();
        std::fs::write(
            dir.path().join("low_csat_followup.toml"),
            good.replace("schedule = \"", "schedule = \"99 "),
        )
        .unwrap();
        let e = load_dir(dir.path()).unwrap_err();
        assert!(
            e.to_string().contains("low_csat_followup.toml") && e.reason.contains("cron"),
            "{e}"
        );
        std::fs::write(
            dir.path().join("low_csat_followup.toml"),
            format!("{good}\nsurprise = 1\n"),
        )
        .unwrap();
        assert!(load_dir(dir.path()).is_err());
    }

    #[test]
    fn previous_fire_respects_the_time_zone() {
        let mut job = load_dir(Path::new("jobs")).unwrap().remove(0);
        job.schedule = "0 0 9 * * *".into();
        job.timezone = "Europe/Paris".into();
        let now: DateTime<Utc> = "2026-11-25T09:30:00Z".parse().unwrap();
        assert_eq!(
            job.previous_fire(now).unwrap(),
            "2026-11-25T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
