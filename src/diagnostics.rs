//! shipper's own messages on stderr: one JSON object a line, rate limited
//! per kind so a flood of bad input yields a handful of lines and a count
//! of what was held back. Standard output is never touched here.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// Messages of one kind let through per window.
const BURST: u32 = 5;
/// After this long, a kind may speak again.
const WINDOW: Duration = Duration::from_secs(10);

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Lets `info` messages through (`-v`).
pub(crate) fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy)]
enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// How often one kind of message has spoken in the current window.
struct Budget {
    window_start: Instant,
    spoken: u32,
    suppressed: u64,
}

fn budgets() -> &'static Mutex<HashMap<String, Budget>> {
    static BUDGETS: OnceLock<Mutex<HashMap<String, Budget>>> = OnceLock::new();
    BUDGETS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A routine event, shown with `-v` only and never rate limited.
pub(crate) fn info(component: &str, message: impl Into<String>, fields: Value) {
    if VERBOSE.load(Ordering::Relaxed) {
        print(Level::Info, component, &message.into(), fields);
    }
}

/// Something went wrong with some events; `describe` is called only when
/// the message is let through, so a suppressed one costs a lock and a count.
pub(crate) fn warn(component: &str, kind: &str, describe: impl FnOnce() -> (String, Value)) {
    limited(Level::Warn, component, kind, describe);
}

/// Something failed (a sink, the input, the drain).
pub(crate) fn error(component: &str, kind: &str, describe: impl FnOnce() -> (String, Value)) {
    limited(Level::Error, component, kind, describe);
}

fn limited(level: Level, component: &str, kind: &str, describe: impl FnOnce() -> (String, Value)) {
    let (speak, held_back) = {
        let mut budgets = budgets().lock().expect("diagnostics lock poisoned");
        let now = Instant::now();
        let budget = budgets.entry(kind.to_owned()).or_insert(Budget {
            window_start: now,
            spoken: 0,
            suppressed: 0,
        });
        let mut held_back = 0;
        if now.duration_since(budget.window_start) >= WINDOW {
            held_back = std::mem::take(&mut budget.suppressed);
            budget.window_start = now;
            budget.spoken = 0;
        }
        let speak = budget.spoken < BURST;
        if speak {
            budget.spoken += 1;
        } else {
            budget.suppressed += 1;
        }
        (speak, held_back)
    };
    if held_back > 0 {
        report_suppressed(kind, held_back);
    }
    if speak {
        let (message, fields) = describe();
        print(level, component, &message, fields);
    }
}

/// Says how many messages of each kind were held back and not yet told.
pub(crate) fn flush() {
    let held_back: Vec<(String, u64)> = {
        let mut budgets = budgets().lock().expect("diagnostics lock poisoned");
        budgets
            .iter_mut()
            .filter(|(_, budget)| budget.suppressed > 0)
            .map(|(kind, budget)| (kind.clone(), std::mem::take(&mut budget.suppressed)))
            .collect()
    };
    for (kind, count) in held_back {
        report_suppressed(&kind, count);
    }
}

fn report_suppressed(kind: &str, count: u64) {
    print(
        Level::Warn,
        "diagnostics",
        &format!("suppressed {count} more '{kind}' messages"),
        json!({ "kind": kind, "suppressed": count }),
    );
}

fn print(level: Level, component: &str, message: &str, fields: Value) {
    let mut object = Map::new();
    object.insert("level".into(), level.name().into());
    object.insert("component".into(), component.into());
    object.insert("message".into(), message.into());
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
    let mut line = serde_json::to_vec(&Value::Object(object)).expect("a JSON map serializes");
    line.push(b'\n');
    if cfg!(test) {
        // Captured by the test harness, unlike a raw write.
        eprint!("{}", String::from_utf8_lossy(&line));
        return;
    }
    // stderr may be closed; there is nowhere left to say so.
    let _ = std::io::stderr().lock().write_all(&line);
}
