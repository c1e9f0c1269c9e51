//! The filter and redaction flags, checked: every pattern compiles, and
//! `--redact none` stands alone.

use regex::RegexSet;

use crate::cli::{Args, RedactArg};
use crate::filter::FilterConfig;
use crate::redact::{Preset, RedactConfig};

/// Largest compiled pattern: a pattern that would take more is refused,
/// not left to grow memory.
const PATTERN_SIZE_LIMIT: usize = 10 << 20;

/// Most `--redact-pattern`: with the presets' rules, every rule has its
/// bit in the redactor's masks.
const MAX_PATTERNS: usize = 32;

/// `--min-level`, `--include`, `--exclude`, `--sample`, `--rate-limit`.
pub(super) fn filters(args: &Args) -> Result<FilterConfig, String> {
    if args.sample == Some(0) {
        return Err("--sample must be at least 1 (1 keeps every event)".to_owned());
    }
    Ok(FilterConfig {
        min_level: args.min_level,
        include: pattern_set("--include", &args.include)?,
        exclude: pattern_set("--exclude", &args.exclude)?,
        sample: args.sample.filter(|&every| every > 1),
        rate_limit: args.rate_limit,
    })
}

/// `--redact`, `--redact-key`, `--redact-pattern`, `--redact-hash`.
pub(super) fn redaction(args: &Args) -> Result<RedactConfig, String> {
    let none = args.redact.contains(&RedactArg::None);
    if none && args.redact.len() > 1 {
        return Err("--redact none cannot be given with another preset".to_owned());
    }
    let mut presets = Vec::new();
    for preset in &args.redact {
        let preset = match preset {
            RedactArg::Credentials => Preset::Credentials,
            RedactArg::Pii => Preset::Pii,
            RedactArg::None => continue,
        };
        if !presets.contains(&preset) {
            presets.push(preset);
        }
    }
    if let Some(key) = args.redact_key.iter().find(|key| key.trim().is_empty()) {
        return Err(format!("--redact-key '{key}': a key name cannot be empty"));
    }
    if args.redact_pattern.len() > MAX_PATTERNS {
        return Err(format!("at most {MAX_PATTERNS} --redact-pattern"));
    }
    let patterns = args
        .redact_pattern
        .iter()
        .map(|pattern| {
            regex::bytes::RegexBuilder::new(pattern)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|err| format!("--redact-pattern '{pattern}': {err}"))
        })
        .collect::<Result<_, _>>()?;
    if args.redact_hash.as_deref() == Some("") {
        return Err("--redact-hash needs a key: an empty one hides nothing".to_owned());
    }
    Ok(RedactConfig {
        presets,
        keys: args.redact_key.clone(),
        patterns,
        hash_key: args.redact_hash.as_ref().map(|key| key.as_bytes().to_vec()),
    })
}

/// The patterns of `flag`, compiled; `None` when none was given.
fn pattern_set(flag: &str, patterns: &[String]) -> Result<Option<RegexSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    for pattern in patterns {
        regex::Regex::new(pattern).map_err(|err| format!("{flag} '{pattern}': {err}"))?;
    }
    regex::RegexSetBuilder::new(patterns)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map(Some)
        .map_err(|err| format!("{flag}: {err}"))
}
