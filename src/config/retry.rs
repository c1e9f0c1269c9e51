//! How a network sink retries a batch, from the `--retry-*` flags every
//! network sink shares.

use std::time::Duration;

use crate::cli::Args;

/// How a network sink retries a batch: exponential backoff with full
/// jitter, within an attempt budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub initial: Duration,
    pub max_delay: Duration,
    /// Attempts at one batch, the first included.
    pub max_attempts: u32,
}

/// `--retry-initial`, `--retry-max-delay` and `--retry-max`.
pub(crate) fn policy(args: &Args) -> Result<RetryPolicy, String> {
    super::checks::positive("--retry-max", u64::from(args.retry_max))?;
    Ok(RetryPolicy {
        initial: args.retry_initial,
        max_delay: args.retry_max_delay,
        max_attempts: args.retry_max,
    })
}
