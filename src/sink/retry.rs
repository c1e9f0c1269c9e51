//! How every network sink retries: exponential backoff with full jitter
//! within an attempt budget, each retry counted while it happens. The HTTP,
//! NATS and syslog sinks share it, so `--retry-*` means the same for all.

use std::time::Duration;

use super::SinkError;
use crate::config::retry::RetryPolicy;

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1 for the first):
    /// full jitter, a random time up to `initial * 2^(attempt-1)` capped at
    /// `max_delay`; a server's Retry-After is honoured, within `max_delay`.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let doubled = self
            .initial
            .saturating_mul(1 << attempt.saturating_sub(1).min(30));
        let ceiling = doubled.min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// The attempts at one batch: how many so far, and whether another is
/// allowed.
pub(crate) struct Attempts<'a> {
    policy: RetryPolicy,
    /// Attempts made so far, the first included.
    made: u32,
    /// Told of each retry as it starts, so that `retried` counts live.
    retrying: &'a (dyn Fn() + Sync),
}

impl<'a> Attempts<'a> {
    /// Before the first attempt.
    pub(crate) fn new(policy: RetryPolicy, retrying: &'a (dyn Fn() + Sync)) -> Attempts<'a> {
        Attempts {
            policy,
            made: 1,
            retrying,
        }
    }

    /// After a failed attempt: waits the backoff and counts the retry, or,
    /// with the budget spent, gives the error back saying so.
    pub(crate) async fn after_failure(
        &mut self,
        error: SinkError,
        retry_after: Option<Duration>,
    ) -> Result<(), SinkError> {
        if self.made >= self.policy.max_attempts {
            return Err(SinkError {
                message: format!("gave up after {} attempts: {}", self.made, error.message),
                ..error
            });
        }
        tokio::time::sleep(self.policy.delay(self.made, retry_after)).await;
        self.made += 1;
        (self.retrying)();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 10,
        }
    }

    #[test]
    fn backoff_doubles_within_its_ceiling() {
        let policy = policy();
        for _ in 0..200 {
            assert!(policy.delay(1, None) <= Duration::from_millis(100));
            assert!(policy.delay(3, None) <= Duration::from_millis(400));
            assert!(policy.delay(40, None) <= Duration::from_secs(1));
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| policy.delay(4, None)).collect();
        assert!(spread.len() > 1, "full jitter spreads the retries");
    }

    #[test]
    fn retry_after_is_honoured_within_the_longest_wait() {
        let policy = policy();
        assert_eq!(
            policy.delay(1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_counts_every_attempt_and_each_retry_is_told() {
        let retried = AtomicU32::new(0);
        let count = || {
            retried.fetch_add(1, Ordering::SeqCst);
        };
        let policy = RetryPolicy {
            max_attempts: 3,
            ..policy()
        };
        let mut attempts = Attempts::new(policy, &count);
        let error = || SinkError {
            kind: "Connect".to_owned(),
            message: "refused".to_owned(),
            status: None,
        };
        assert!(attempts.after_failure(error(), None).await.is_ok());
        assert!(attempts.after_failure(error(), None).await.is_ok());
        let gave_up = attempts.after_failure(error(), None).await.unwrap_err();
        assert_eq!(gave_up.message, "gave up after 3 attempts: refused");
        assert_eq!(gave_up.kind, "Connect");
        assert_eq!(retried.load(Ordering::SeqCst), 2);
    }
}
