//! The outreach item's state machine: queued → claimed (leased) → sent, or back to queued after a failure (with
//! a growing back-off) until the attempts run out, or cancelled, or expired. Pure transitions; the store persists
//! them and keeps its indexes in step.

use chrono::{DateTime, Duration, Utc};

use super::outreach::{OutreachItem, OutreachState};
use super::preferences::Channel;
use super::InvalidInput;

/// How a sender reports an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum AckOutcome {
    /// Sent, with the provider's message id.
    Sent(Option<String>),
    /// Failed, with the error.
    Failed(String),
}

/// A transition's result: the item changed (to be written), or the request repeated what is already so.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The new item.
    Changed(OutreachItem),
    /// Nothing to write.
    Unchanged(OutreachItem),
}

impl Transition {
    /// The item, changed or not.
    pub fn item(self) -> OutreachItem {
        match self {
            Self::Changed(i) | Self::Unchanged(i) => i,
        }
    }
}

/// The wait before a failed item is tried again: 5 minutes, doubling with each failure, at most about 3.5 days.
pub fn backoff(failures: u32) -> Duration {
    Duration::minutes(5 * (1i64 << failures.min(10)))
}

impl OutreachItem {
    /// A claimed item whose lease ran out goes back to the queue.
    pub fn lease_released(&self, now: DateTime<Utc>) -> OutreachItem {
        OutreachItem {
            state: OutreachState::Queued,
            lease_until: None,
            updated_at: now,
            ..self.clone()
        }
    }

    /// The item expired, if its `expires_at` has passed.
    pub fn expired(&self, now: DateTime<Utc>) -> Option<OutreachItem> {
        self.expires_at.filter(|e| *e <= now).map(|_| OutreachItem {
            state: OutreachState::Expired,
            updated_at: now,
            ..self.clone()
        })
    }

    /// Handed to a sender on `channel` until `now + lease` (a lease past the calendar's end stays unleased).
    pub fn claimed(&self, channel: Channel, now: DateTime<Utc>, lease: Duration) -> OutreachItem {
        OutreachItem {
            channel,
            state: OutreachState::Claimed,
            lease_until: now.checked_add_signed(lease),
            updated_at: now,
            ..self.clone()
        }
    }

    /// Records a sender's report: sent, or failed (back to the queue after [`backoff`], failed for good after
    /// `max_failures`). Repeating the same report changes nothing; reporting on an item not claimed is an error.
    pub fn acked(
        &self,
        outcome: &AckOutcome,
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> Result<Transition, InvalidInput> {
        let mut item = self.clone();
        match (self.state, outcome) {
            (OutreachState::Sent, AckOutcome::Sent(provider)) if self.provider_message_id == *provider => {
                return Ok(Transition::Unchanged(item))
            }
            (OutreachState::Failed | OutreachState::Queued, AckOutcome::Failed(error))
                if self.error.as_deref() == Some(error.as_str()) =>
            {
                return Ok(Transition::Unchanged(item))
            }
            (OutreachState::Claimed, AckOutcome::Sent(provider)) => {
                item.state = OutreachState::Sent;
                item.sent_at = Some(now);
                item.provider_message_id = provider.clone();
                item.lease_until = None;
            }
            (OutreachState::Claimed, AckOutcome::Failed(error)) => {
                item.failures = item.failures.saturating_add(1);
                item.error = Some(error.clone());
                item.lease_until = None;
                if item.failures >= max_failures {
                    item.state = OutreachState::Failed;
                } else {
                    item.state = OutreachState::Queued;
                    item.not_before = now.checked_add_signed(backoff(item.failures)).unwrap_or(now);
                }
            }
            (state, _) => {
                return Err(InvalidInput::new(
                    "outreach_not_claimed",
                    "id",
                    format!("the item is {state:?}, not claimed; claim it first").to_lowercase(),
                ))
            }
        }
        item.updated_at = now;
        Ok(Transition::Changed(item))
    }

    /// Cancels a queued or claimed item; cancelling twice changes nothing; a finished item cannot be cancelled.
    pub fn cancelled(&self, now: DateTime<Utc>) -> Result<Transition, InvalidInput> {
        match self.state {
            OutreachState::Queued | OutreachState::Claimed => Ok(Transition::Changed(OutreachItem {
                state: OutreachState::Cancelled,
                lease_until: None,
                updated_at: now,
                ..self.clone()
            })),
            OutreachState::Cancelled => Ok(Transition::Unchanged(self.clone())),
            state => Err(InvalidInput::new(
                "outreach_finished",
                "id",
                format!("the item is already {state:?}").to_lowercase(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outreach::OutreachSource;
    use crate::domain::{CustomerId, WorkspaceId};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn item() -> OutreachItem {
        OutreachItem {
            id: "out_1".into(),
            workspace: WorkspaceId::default_workspace(),
            customer_id: CustomerId::from_client("cus_1"),
            source: OutreachSource {
                kind: "job".into(),
                id: "j".into(),
            },
            reason: "r".into(),
            evidence: vec![],
            channel: Channel::Email,
            language: "en".into(),
            message: "Hi".into(),
            priority: 3,
            not_before: t("2026-11-25T12:00:00Z"),
            expires_at: None,
            state: OutreachState::Queued,
            lease_until: None,
            failures: 0,
            provider_message_id: None,
            error: None,
            sent_at: None,
            dedupe_key: "k".into(),
            created_at: t("2026-11-25T12:00:00Z"),
            updated_at: t("2026-11-25T12:00:00Z"),
        }
    }

    #[test]
    fn a_claimed_item_is_sent_once_and_a_repeated_ack_changes_nothing() {
        let now = t("2026-11-25T12:00:00Z");
        let claimed = item().claimed(Channel::Sms, now, Duration::seconds(60));
        assert_eq!((claimed.state, claimed.channel), (OutreachState::Claimed, Channel::Sms));
        assert_eq!(claimed.lease_until, Some(t("2026-11-25T12:01:00Z")));
        let sent = claimed
            .acked(&AckOutcome::Sent(Some("p".into())), now, 3)
            .unwrap()
            .item();
        assert_eq!((sent.state, sent.sent_at), (OutreachState::Sent, Some(now)));
        assert!(matches!(
            sent.acked(&AckOutcome::Sent(Some("p".into())), now, 3).unwrap(),
            Transition::Unchanged(_)
        ));
        assert!(sent.acked(&AckOutcome::Sent(Some("other".into())), now, 3).is_err());
        assert!(item().acked(&AckOutcome::Sent(None), now, 3).is_err(), "not claimed");
    }

    #[test]
    fn failures_back_off_then_fail_for_good() {
        let now = t("2026-11-25T12:00:00Z");
        let mut it = item();
        for attempt in 1..=3u32 {
            let claimed = it.claimed(Channel::Email, now, Duration::seconds(60));
            it = claimed
                .acked(&AckOutcome::Failed(format!("bounce {attempt}")), now, 3)
                .unwrap()
                .item();
            if attempt < 3 {
                assert_eq!(it.state, OutreachState::Queued);
                assert_eq!(it.not_before, now + backoff(attempt));
            }
        }
        assert_eq!(it.state, OutreachState::Failed);
        assert_eq!(backoff(1), Duration::minutes(10));
        assert_eq!(backoff(99), Duration::minutes(5 * 1024), "capped");
        let far = t("+262142-12-31T23:59:59Z");
        let claimed = item().claimed(Channel::Email, far, Duration::days(1));
        assert_eq!(claimed.lease_until, None, "no overflow at the calendar's end");
        let failed = claimed.acked(&AckOutcome::Failed("x".into()), far, 3).unwrap().item();
        assert_eq!(failed.not_before, far);
    }

    #[test]
    fn leases_release_items_expire_and_cancellation_is_idempotent() {
        let now = t("2026-11-25T12:00:00Z");
        let claimed = item().claimed(Channel::Email, now, Duration::seconds(60));
        assert_eq!(claimed.lease_released(now).state, OutreachState::Queued);
        let mut expiring = item();
        expiring.expires_at = Some(t("2026-11-25T11:00:00Z"));
        assert_eq!(expiring.expired(now).unwrap().state, OutreachState::Expired);
        assert!(item().expired(now).is_none());
        let cancelled = claimed.cancelled(now).unwrap().item();
        assert_eq!(
            (cancelled.state, cancelled.lease_until),
            (OutreachState::Cancelled, None)
        );
        assert!(matches!(cancelled.cancelled(now).unwrap(), Transition::Unchanged(_)));
        let sent = claimed.acked(&AckOutcome::Sent(None), now, 3).unwrap().item();
        assert_eq!(sent.cancelled(now).unwrap_err().code, "outreach_finished");
    }
}
