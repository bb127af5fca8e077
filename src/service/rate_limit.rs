//! Per-API-key rate limiting (GCRA, via `governor`): each key may make
//! `per_second` requests a second on average, in bursts of up to one second's
//! worth. Over it, calls fail at once with RESOURCE_EXHAUSTED (HTTP 429 in
//! every REST dialect), before any database work. Limits are per process: with
//! N replicas a key gets up to N times the rate.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::domain::{Error, Result};

/// A keyed limiter, or none when limiting is off.
#[derive(Debug, Clone, Default)]
pub struct KeyLimits {
    limiter: Option<std::sync::Arc<DefaultKeyedRateLimiter<String>>>,
    per_second: u32,
}

impl KeyLimits {
    /// `per_second` requests a second per key; 0 turns limiting off.
    pub fn new(per_second: u32) -> Self {
        KeyLimits {
            limiter: NonZeroU32::new(per_second)
                .map(|n| std::sync::Arc::new(RateLimiter::keyed(Quota::per_second(n)))),
            per_second,
        }
    }

    /// Counts one request of `key_id`; refuses it over the limit.
    pub fn check(&self, key_id: &str) -> Result<()> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let key = key_id.to_owned();
        limiter.check_key(&key).map_err(|_| {
            Error::ResourceExhausted(format!(
                "rate limit exceeded: this API key may make {} requests per second; retry shortly",
                self.per_second
            ))
        })?;
        // Forget idle keys now and then, so revoked or unused keys do not
        // accumulate.
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        Ok(())
    }
}
