//! How every network sink retries: exponential backoff with full jitter
//! within an attempt budget, each retry counted while it happens and told
//! as it happens. The HTTP, NATS and syslog sinks each say how one attempt
//! ended and `deliver` drives the attempts, so `--retry-*` means the same
//! for all, and so does what an operator is told: a warning at a sink's
//! first failed attempt and whenever its error changes, every retry with
//! `-v`, and a note once it delivers again.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use super::interface::SinkError;
use crate::config::retry::RetryPolicy;
use crate::diagnostics;

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
/// `retrying` of each retry as it starts, and the sink's `health` of how
/// each attempt ended. Returns why it stopped short, if it did; the
/// delivery knows how much of the batch went out.
pub(crate) async fn deliver(
    policy: RetryPolicy,
    health: &Health,
    retrying: &(dyn Fn() + Sync),
    delivery: &mut impl Delivery,
) -> Option<SinkError> {
    let mut attempts = Attempts::new(policy, health, retrying);
    loop {
        let (error, after) = match delivery.attempt().await {
            Attempt::Delivered => {
                health.tell_delivered();
                return None;
            }
            Attempt::Fail(error) => {
                // Told by the pipeline, with the events it cost.
                health.failed(&error);
                return Some(error);
            }
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
    /// Told of each failed attempt before its wait, so that it is said
    /// while the retries go on.
    health: &'a Health,
    /// Told of each retry as it starts, so that `retried` counts live.
    retrying: &'a (dyn Fn() + Sync),
}

impl<'a> Attempts<'a> {
    /// Before the first attempt.
    fn new(
        policy: RetryPolicy,
        health: &'a Health,
        retrying: &'a (dyn Fn() + Sync),
    ) -> Attempts<'a> {
        Attempts {
            policy,
            made: 1,
            health,
            retrying,
        }
    }

    /// After a failed attempt: tells it, waits the backoff and counts the
    /// retry, or, with the budget spent, gives the error back saying so
    /// (the pipeline tells that).
    async fn after_failure(
        &mut self,
        error: SinkError,
        retry_after: Option<Duration>,
    ) -> Result<(), SinkError> {
        if self.made >= self.policy.max_attempts {
            self.health.failed(&error);
            return Err(SinkError {
                message: format!("gave up after {} attempts: {}", self.made, error.message),
                ..error
            });
        }
        let wait = self.policy.delay(self.made, retry_after);
        let attempt = (self.made, self.policy.max_attempts);
        self.health.tell_retrying(&error, attempt, wait);
        tokio::time::sleep(wait).await;
        self.made += 1;
        (self.retrying)();
        Ok(())
    }
}

/// What one sink's failures have been told so far, from one batch to the
/// next: a warning when its trouble starts or changes, not at every retry
/// (a collector that is down for an hour is one line, not thousands), and
/// a note when it delivers again.
pub(crate) struct Health {
    /// The sink's name, as diagnostics and the summary show it.
    sink: String,
    /// What the last failed attempt failed of, while the sink has not
    /// delivered since. A lock only so that `&Health` can be held across
    /// the waits of a `Send` future; it is never contended.
    failing: Mutex<Option<Cause>>,
}

/// What tells one failure from another: its kind and, when a server
/// answered, the status. The message is not compared: it may quote an
/// answer that differs each time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cause {
    kind: String,
    status: Option<u16>,
}

impl Health {
    /// A sink that has not failed yet.
    pub(crate) fn new(sink: String) -> Health {
        Health {
            sink,
            failing: Mutex::new(None),
        }
    }

    /// Notes a failed attempt; true when it is news worth a warning: the
    /// sink's first failure since it last delivered, or a failure of
    /// another kind or status than the one before.
    fn failed(&self, error: &SinkError) -> bool {
        let cause = Cause {
            kind: error.kind.clone(),
            status: error.status,
        };
        let mut failing = self.failing.lock().expect("health lock poisoned");
        let news = failing.as_ref() != Some(&cause);
        *failing = Some(cause);
        news
    }

    /// Notes a delivery; true when it ends a run of failures.
    fn delivered(&self) -> bool {
        self.failing
            .lock()
            .expect("health lock poisoned")
            .take()
            .is_some()
    }

    /// Tells a failed attempt that will be retried after `wait`: a warning
    /// when it is news (rate limited per sink), else a note shown with `-v`.
    /// `attempt` is the failed attempt's number and the budget.
    fn tell_retrying(&self, error: &SinkError, attempt: (u32, u32), wait: Duration) {
        let sink = &self.sink;
        let (made, max) = attempt;
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let fields = json!({
            "sink": sink,
            "error_kind": error.kind,
            "error": error.message,
            "status": error.status,
            "attempt": made,
            "max_attempts": max,
            "wait_ms": wait_ms,
        });
        let attempt = format!(
            "attempt {made} of {max} failed: {}; next in {wait_ms}ms",
            error.message
        );
        if self.failed(error) {
            diagnostics::warn("retry", &format!("retry:{sink}"), || {
                let message = format!("sink {sink} cannot deliver, retrying: {attempt}");
                (message, fields)
            });
        } else {
            diagnostics::info("retry", format!("sink {sink}: {attempt}"), fields);
        }
    }

    /// Tells a delivery that ends a run of failures.
    fn tell_delivered(&self) {
        if self.delivered() {
            let sink = &self.sink;
            diagnostics::notice("retry", &format!("recovered:{sink}"), || {
                (
                    format!("sink {sink} is delivering again"),
                    json!({"sink": sink}),
                )
            });
        }
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
        let health = Health::new("http://collector/".to_owned());
        let mut attempts = Attempts::new(policy, &health, &count);
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
        let health = Health::new("http://collector/".to_owned());
        assert_eq!(
            deliver(policy(), &health, &count, &mut recovers).await,
            None
        );
        assert_eq!((recovers.made, retried.load(Ordering::SeqCst)), (3, 2));
        let mut refused = Script {
            endings: vec![retry("busy"), Attempt::Fail(error("bad request"))],
            made: 0,
        };
        let stopped = deliver(policy(), &health, &count, &mut refused).await;
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
        let gave_up = deliver(budget, &health, &count, &mut down).await.unwrap();
        assert_eq!(gave_up.message, "gave up after 2 attempts: down");
        assert_eq!(retried.load(Ordering::SeqCst), 4);
    }

    fn failure(kind: &str, status: Option<u16>, message: &str) -> SinkError {
        SinkError {
            kind: kind.to_owned(),
            message: message.to_owned(),
            status,
        }
    }

    #[test]
    fn a_warning_is_due_at_the_first_failure_and_at_each_change_of_error() {
        let health = Health::new("http://collector/".to_owned());
        let refused = failure("Connect", None, "Connection refused");
        assert!(health.failed(&refused), "the first failure");
        assert!(!health.failed(&refused), "the same error again");
        let busy = failure("HttpStatus", Some(503), "HTTP 503: busy");
        assert!(health.failed(&busy), "another kind");
        let busy_again = failure("HttpStatus", Some(503), "HTTP 503: still busy");
        assert!(!health.failed(&busy_again), "the same status, other words");
        assert!(health.failed(&failure("HttpStatus", Some(500), "HTTP 500")));
        assert!(health.failed(&refused), "back to an earlier error");
    }

    #[test]
    fn a_delivery_ends_a_run_of_failures_once() {
        let health = Health::new("http://collector/".to_owned());
        assert!(!health.delivered(), "nothing failed");
        let refused = failure("Connect", None, "Connection refused");
        health.failed(&refused);
        health.failed(&refused);
        assert!(health.delivered(), "the recovery");
        assert!(!health.delivered(), "told once");
        assert!(health.failed(&refused), "a new run of failures is news");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_for_good_counts_as_failing_without_a_retry() {
        let health = Health::new("http://collector/".to_owned());
        let mut refused = Script {
            endings: vec![Attempt::Fail(failure("HttpStatus", Some(400), "bad"))],
            made: 0,
        };
        let count = || {};
        assert!(
            deliver(policy(), &health, &count, &mut refused)
                .await
                .is_some()
        );
        assert!(!health.failed(&failure("HttpStatus", Some(400), "bad")));
        let mut recovers = Script {
            endings: vec![Attempt::Delivered],
            made: 0,
        };
        assert_eq!(
            deliver(policy(), &health, &count, &mut recovers).await,
            None
        );
        assert!(!health.delivered(), "the recovery was noted by deliver");
    }
}
