//! shipper's own messages on stderr: one JSON object a line (or plain text
//! for a person at a terminal), rate limited per kind so a flood of bad
//! input yields a handful of lines and a count of what was held back.
//! Standard output is never touched here.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// Messages of one kind let through per window.
const BURST: u32 = 5;
/// After this long, a kind may speak again.
const WINDOW: Duration = Duration::from_secs(10);

static VERBOSE: AtomicBool = AtomicBool::new(false);
static FORMAT: AtomicU8 = AtomicU8::new(Format::Auto as u8);

/// How messages are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Format {
    /// Text when stderr is a terminal, JSON lines otherwise.
    Auto = 0,
    /// `shipper: warning: message (key=value, ...)`.
    Text = 1,
    /// One JSON object a line.
    Json = 2,
}

/// Lets `info` messages through (`-v`), and writes them as `format` says.
pub(crate) fn configure(verbose: bool, format: Format) {
    VERBOSE.store(verbose, Ordering::Relaxed);
    FORMAT.store(format as u8, Ordering::Relaxed);
}

/// Whether messages are written as text now.
fn as_text() -> bool {
    match FORMAT.load(Ordering::Relaxed) {
        x if x == Format::Text as u8 => true,
        x if x == Format::Json as u8 => false,
        _ => !cfg!(test) && std::io::stderr().is_terminal(),
    }
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

    /// The word the text form gives it.
    fn word(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
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

/// The end of a trouble a warning told (a sink delivering again): said at
/// INFO, and without `-v` too, so that the warning is not left standing;
/// rate limited like a warning.
pub(crate) fn notice(component: &str, kind: &str, describe: impl FnOnce() -> (String, Value)) {
    limited(Level::Info, component, kind, describe);
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
    let mut line = if as_text() {
        text_line(level, message, &fields)
    } else {
        json_line(level, component, message, fields)
    }
    .into_bytes();
    line.push(b'\n');
    write_stderr(&line);
}

/// `shipper: warning: message (key=value, ...)`, leaving out the fields
/// whose value the message already says.
fn text_line(level: Level, message: &str, fields: &Value) -> String {
    let mut line = format!("shipper: {}: {}", level.word(), escape(message));
    let extra: Vec<String> = fields
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| {
            let shown = match value {
                Value::String(text) => text.clone(),
                Value::Null => return None,
                other => other.to_string(),
            };
            (!message.contains(&shown)).then(|| format!("{key}={}", escape(&shown)))
        })
        .collect();
    if !extra.is_empty() {
        line.push_str(&format!(" ({})", extra.join(", ")));
    }
    line
}

fn json_line(level: Level, component: &str, message: &str, fields: Value) -> String {
    let mut object = Map::new();
    object.insert("level".into(), level.name().into());
    object.insert("component".into(), component.into());
    object.insert("message".into(), message.into());
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
    let line = serde_json::to_string(&Value::Object(object)).expect("a JSON map serializes");
    terminal_json(line)
}

/// `eprintln!` that never panics: stderr may be closed or full
/// (`2>/dev/full`), and there is nowhere left to say so, but the run goes
/// on to its summary file and its exit status.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::diagnostics::say_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// One line of shipper's own on stderr (`shipper: ...`, the summary).
pub(crate) fn say_line(text: std::fmt::Arguments<'_>) {
    let mut line = text.to_string().into_bytes();
    line.push(b'\n');
    write_stderr(&line);
}

fn write_stderr(bytes: &[u8]) {
    if cfg!(test) {
        // Captured by the test harness, unlike a raw write.
        #[allow(clippy::print_stderr)]
        {
            eprint!("{}", String::from_utf8_lossy(bytes));
        }
        return;
    }
    let _ = std::io::stderr().lock().write_all(bytes);
}

/// Text that did not come from shipper (a path, a sink's name, a quoted
/// line), made safe to print on a terminal: control characters (C0, DEL,
/// C1) become visible escapes (`\x1b`, `\n`, `\u{9b}`), so a file name
/// cannot move the cursor, retitle the window or clear the screen.
/// Backslashes are doubled only when something was escaped, so ordinary
/// text reads as it is.
pub(crate) fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(unsafe_to_show) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if unsafe_to_show(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON text made safe to print on a terminal: serde_json escapes C0
/// controls but leaves DEL, C1 (U+009B is CSI on many terminals) and the
/// bidi marks as they are; here they become `\u007f`, `\u009b`... Valid
/// JSON either way, and read back as the same text.
pub(crate) fn terminal_json(json: String) -> String {
    if !json.chars().any(unsafe_to_show) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if unsafe_to_show(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Control characters, and the marks that reorder text on screen (bidi
/// embeddings, overrides and isolates), which can make a name read as
/// another.
fn unsafe_to_show(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A path as it may be shown on a terminal: lossy UTF-8, then `escape`.
pub(crate) fn shown(path: &std::path::Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_leave_out_what_the_message_says() {
        let fields =
            json!({"sink": "http=http://h/", "attempt": 2, "error": "refused\x1b", "none": null});
        assert_eq!(
            text_line(Level::Warn, "sink http=http://h/ failed", &fields),
            "shipper: warning: sink http=http://h/ failed (attempt=2, error=refused\\x1b)"
        );
        assert_eq!(
            text_line(Level::Error, "stdin\x07 failed", &json!({})),
            "shipper: error: stdin\\x07 failed"
        );
    }

    #[test]
    fn escape_leaves_ordinary_text_alone() {
        assert!(matches!(
            escape("/var/log/app é.log"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(escape(r"C:\logs"), r"C:\logs");
    }

    #[test]
    fn terminal_json_escapes_what_serde_json_leaves() {
        let json = serde_json::to_string("a\u{7f}b\u{9b}c\u{202e}d\u{1b}").unwrap();
        let shown = terminal_json(json.clone());
        assert_eq!(shown, r#""a\u007fb\u009bc\u202ed\u001b""#);
        let back: String = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, serde_json::from_str::<String>(&json).unwrap());
        assert_eq!(terminal_json("{\"k\":\"é\"}".into()), "{\"k\":\"é\"}");
    }

    #[test]
    fn escape_makes_terminal_controls_visible() {
        assert_eq!(
            escape("x\u{1b}]0;TITLE\u{7}\u{1b}[2J.log"),
            r"x\x1b]0;TITLE\x07\x1b[2J.log"
        );
        assert_eq!(escape("a\nb\tc\\d\u{9b}\u{7f}"), r"a\nb\tc\\d\u{9b}\x7f");
        assert_eq!(escape("evil\u{202e}gol.exe"), r"evil\u{202e}gol.exe");
    }
}
