//! How every network sink retries: exponential backoff with full jitter
//! within an attempt budget, each retry counted while it happens. The HTTP,
//! NATS and syslog sinks each say how one attempt ended and `deliver`
//! drives the attempts, so `--retry-*` means the same for all.

use std::time::Duration;

use super::interface::SinkError;
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

/// How one attempt at a batch ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The batch went out whole.
    Delivered,
    /// Worth another attempt, not before `after` if the server said so.
    Retry {
        error: SinkError,
        after: Option<Duration>,
    },
    /// Another attempt would fare no better.
    Fail(SinkError),
}

/// One batch on its way through a network sink: what an attempt at it
/// does, and what it remembers from one attempt to the next.
pub(crate) trait Delivery: Send {
    fn attempt(&mut self) -> impl Future<Output = Attempt> + Send;
}

/// Makes attempts at a batch until one delivers it, one fails for good or
/// the budget is spent, waiting the backoff between them and telling
/// `retrying` of each retry as it starts. Returns why it stopped short, if
/// it did; the delivery knows how much of the batch went out.
pub(crate) async fn deliver(
    policy: RetryPolicy,
    retrying: &(dyn Fn() + Sync),
    delivery: &mut impl Delivery,
) -> Option<SinkError> {
    let mut attempts = Attempts::new(policy, retrying);
    loop {
        let (error, after) = match delivery.attempt().await {
            Attempt::Delivered => return None,
            Attempt::Fail(error) => return Some(error),
            Attempt::Retry { error, after } => (error, after),
        };
        if let Err(error) = attempts.after_failure(error, after).await {
            return Some(error);
        }
    }
}

/// The attempts at one batch: how many so far, and whether another is
/// allowed.
struct Attempts<'a> {
    policy: RetryPolicy,
    /// Attempts made so far, the first included.
    made: u32,
    /// Told of each retry as it starts, so that `retried` counts live.
    retrying: &'a (dyn Fn() + Sync),
}

impl<'a> Attempts<'a> {
    /// Before the first attempt.
    fn new(policy: RetryPolicy, retrying: &'a (dyn Fn() + Sync)) -> Attempts<'a> {
        Attempts {
            policy,
            made: 1,
            retrying,
        }
    }

    /// After a failed attempt: waits the backoff and counts the retry, or,
    /// with the budget spent, gives the error back saying so.
    async fn after_failure(
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

    /// Plays the attempts' endings in turn, counting the attempts made.
    struct Script {
        endings: Vec<Attempt>,
        made: usize,
    }

    impl Delivery for Script {
        async fn attempt(&mut self) -> Attempt {
            self.made += 1;
            self.endings.remove(0)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_go_on_until_one_delivers_or_fails_for_good() {
        let error = |message: &str| SinkError {
            kind: "HttpStatus".to_owned(),
            message: message.to_owned(),
            status: Some(503),
        };
        let retry = |message| Attempt::Retry {
            error: error(message),
            after: Some(Duration::from_millis(1)),
        };
        let retried = AtomicU32::new(0);
        let count = || {
            retried.fetch_add(1, Ordering::SeqCst);
        };
        let mut recovers = Script {
            endings: vec![retry("busy"), retry("busy"), Attempt::Delivered],
            made: 0,
        };
        assert_eq!(deliver(policy(), &count, &mut recovers).await, None);
        assert_eq!((recovers.made, retried.load(Ordering::SeqCst)), (3, 2));
        let mut refused = Script {
            endings: vec![retry("busy"), Attempt::Fail(error("bad request"))],
            made: 0,
        };
        let stopped = deliver(policy(), &count, &mut refused).await;
        assert_eq!(
            stopped,
            Some(error("bad request")),
            "a final answer is not retried"
        );
        assert_eq!((refused.made, retried.load(Ordering::SeqCst)), (2, 3));
        let mut down = Script {
            endings: vec![retry("down"), retry("down")],
            made: 0,
        };
        let budget = RetryPolicy {
            max_attempts: 2,
            ..policy()
        };
        let gave_up = deliver(budget, &count, &mut down).await.unwrap();
        assert_eq!(gave_up.message, "gave up after 2 attempts: down");
        assert_eq!(retried.load(Ordering::SeqCst), 4);
    }
}
