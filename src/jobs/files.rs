//! The job files: one TOML file per job in the top-level `jobs/` folder, read to seed a new store and written
//! by `rappel jobs export`. The only code that reads or writes them; a running server never writes them.

use std::path::Path;

use crate::domain::job::JobDefinition;

/// A job file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("job definition {file}: {reason}")]
pub struct DefinitionError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Loads and validates every `*.toml` of `dir`, sorted by id; any invalid file is an error naming it. A missing
/// folder holds no job.
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

/// Writes each definition to `dir` as `<id>.toml` (created when missing).
pub fn write_dir(dir: &Path, jobs: &[JobDefinition]) -> Result<(), DefinitionError> {
    let err = |file: &Path, reason: String| DefinitionError {
        file: file.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e.to_string()))?;
    for job in jobs {
        let path = dir.join(format!("{}.toml", job.id));
        let text = toml::to_string_pretty(job).map_err(|e| err(&path, e.to_string()))?;
        std::fs::write(&path, text).map_err(|e| err(&path, e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

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
    fn exported_files_load_back_identical() {
        let jobs = load_dir(Path::new("jobs")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_dir(dir.path(), &jobs).unwrap();
        assert_eq!(load_dir(dir.path()).unwrap(), jobs);
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
