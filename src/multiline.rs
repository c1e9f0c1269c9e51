//! Multi-line events: which lines join the event before them.
//!
//! The line splitter asks, line by line, whether a line continues the event
//! still open (the last one read) or starts one of its own; the answer
//! depends only on the lines, never on how they were cut into reads, and
//! the open event carries what is needed to answer for the next line.
//!
//! `auto` knows the traces of the common runtimes (Python, the JVM, Node,
//! Go, Rust) and lines indented under one that is not. It is conservative:
//! a line it does not recognise as part of a trace starts its own event, a
//! JSON line is always whole, and a trace joins the line before it only
//! when that line says it is an error. `start=REGEX` and `continue=REGEX`
//! cover formats it does not know.

use std::sync::Arc;
use std::time::Duration;

use memchr::memmem;
use regex::bytes::Regex;

/// How lines are grouped into events.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// Traces of the common runtimes, and indented continuations.
    Auto,
    /// Every line is an event.
    Off,
    /// A line matching starts an event; the others continue it.
    Start(Regex),
    /// A line matching continues the event before it.
    Continue(Regex),
}

impl Mode {
    /// Reads `auto`, `off`, `start=REGEX` or `continue=REGEX`.
    pub(crate) fn parse(text: &str) -> Result<Mode, String> {
        let compile = |pattern: &str| {
            if pattern.is_empty() {
                return Err(format!("'{text}': the pattern is empty"));
            }
            Regex::new(pattern).map_err(|err| format!("'{text}': {err}"))
        };
        match text {
            "auto" => Ok(Mode::Auto),
            "off" => Ok(Mode::Off),
            _ => match text.split_once('=') {
                Some(("start", pattern)) => Ok(Mode::Start(compile(pattern)?)),
                Some(("continue", pattern)) => Ok(Mode::Continue(compile(pattern)?)),
                _ => Err(format!(
                    "'{text}' is not auto, off, start=REGEX or continue=REGEX"
                )),
            },
        }
    }
}

/// The grouping a run uses, with its bounds.
#[derive(Debug)]
pub(crate) struct Grouper {
    mode: Mode,
    /// Longest an event waits for its next line before it ships.
    pub timeout: Duration,
    /// Most lines one event holds.
    pub max_lines: u32,
    /// Finders for the words that make a line an error's.
    errors: Vec<memmem::Finder<'static>>,
}

/// How a source splits its input: the line limit, and the grouping of
/// lines into events (none: every line is an event).
#[derive(Debug, Clone)]
pub(crate) struct Split {
    /// Longest line (and event) kept whole.
    pub max_line: usize,
    /// How lines join into events; `None` with `--multiline off`.
    pub grouping: Option<Arc<Grouper>>,
}

impl From<usize> for Split {
    /// Lines up to `max_line` bytes, each its own event.
    fn from(max_line: usize) -> Split {
        Split {
            max_line,
            grouping: None,
        }
    }
}

impl Split {
    /// Lines up to `max_line` bytes, grouped as `mode` says.
    pub(crate) fn new(max_line: usize, mode: Mode, timeout: Duration, max_lines: u32) -> Split {
        let grouping = match mode {
            Mode::Off => None,
            mode => Some(Arc::new(Grouper::new(mode, timeout, max_lines))),
        };
        Split { max_line, grouping }
    }
}

/// What is known of the open event: what the next line must look like to
/// join it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// Nothing joins it: a JSON line.
    Closed,
    /// An ordinary line, first of its event; `indented` when it was.
    Line { indented: bool },
    /// Python: frames and source lines until the exception line.
    Python,
    /// Python: after the exception line; a chained trace may follow.
    PythonEnd,
    /// Python: after "The above exception..."; its traceback follows.
    PythonChain,
    /// JVM or Node: indented frames, `Caused by:`.
    Frames,
    /// Go: goroutines, functions, and their indented places.
    Go,
    /// Rust: the header said the message is on the next line.
    RustMessage,
    /// Rust: the backtrace and its notes.
    RustBody,
    /// `start=` or `continue=`: the pattern decides.
    Custom,
}

/// The words that make a line an error's, so that a trace right after it
/// is its trace (`logger.exception`, `logger.error(msg, e)`).
const ERROR_WORDS: [&str; 7] = [
    "ERROR",
    "SEVERE",
    "FATAL",
    "CRITICAL",
    "level=error",
    "Exception",
    "exception",
];

impl Grouper {
    pub(crate) fn new(mode: Mode, timeout: Duration, max_lines: u32) -> Grouper {
        Grouper {
            mode,
            timeout,
            max_lines: max_lines.max(1),
            errors: ERROR_WORDS
                .iter()
                .map(|word| memmem::Finder::new(word.as_bytes()).into_owned())
                .collect(),
        }
    }

    /// Whether `line` (not blank) joins the open event, in state `open`
    /// and first line `first` (asked only when needed), and the state of
    /// the event it is then part of.
    pub(crate) fn feed<'a>(
        &self,
        open: Option<Open>,
        first: impl FnOnce() -> &'a [u8],
        line: &[u8],
    ) -> (bool, Open) {
        if line.first() == Some(&b'{') {
            return (false, Open::Closed);
        }
        match &self.mode {
            Mode::Auto => self.auto(open, first, line),
            Mode::Off => (false, Open::Closed),
            Mode::Start(pattern) => {
                let joins = matches!(open, Some(Open::Custom)) && !pattern.is_match(line);
                (joins, Open::Custom)
            }
            Mode::Continue(pattern) => {
                let joins = matches!(open, Some(Open::Custom)) && pattern.is_match(line);
                (joins, Open::Custom)
            }
        }
    }

    fn auto<'a>(
        &self,
        open: Option<Open>,
        first: impl FnOnce() -> &'a [u8],
        line: &[u8],
    ) -> (bool, Open) {
        let indented = matches!(line[0], b' ' | b'\t');
        if let Some(state) = open
            && let Some(next) = continues(state, line, indented)
        {
            return (true, next);
        }
        if indented {
            return (false, Open::Line { indented: true });
        }
        match header(line) {
            Some((next, joins_error)) => {
                let joins = joins_error
                    && open == Some(Open::Line { indented: false })
                    && self.is_error(first());
                (joins, next)
            }
            None => (false, Open::Line { indented: false }),
        }
    }

    /// Whether a line says it is an error's.
    fn is_error(&self, line: &[u8]) -> bool {
        self.errors.iter().any(|word| word.find(line).is_some())
    }
}

/// The state after `line` when it continues an event in `state`; `None`
/// when it does not.
fn continues(state: Open, line: &[u8], indented: bool) -> Option<Open> {
    match state {
        Open::Closed | Open::Custom => None,
        Open::Line { indented: false } => indented.then_some(state),
        Open::Line { indented: true } => None,
        Open::Python if indented => Some(Open::Python),
        Open::Python => exception_name(line).map(|_| Open::PythonEnd),
        Open::PythonEnd => {
            let chained = line.starts_with(b"The above exception was the direct cause")
                || line.starts_with(b"During handling of the above exception");
            chained.then_some(Open::PythonChain)
        }
        Open::PythonChain => line
            .starts_with(b"Traceback (most recent call last):")
            .then_some(Open::Python),
        Open::Frames => (indented || line.starts_with(b"Caused by: ")).then_some(Open::Frames),
        Open::Go => (indented || go_line(line)).then_some(Open::Go),
        Open::RustMessage => Some(Open::RustBody),
        Open::RustBody => {
            (indented || line.starts_with(b"stack backtrace:") || line.starts_with(b"note: "))
                .then_some(Open::RustBody)
        }
    }
}

/// The first line of a trace: the state it starts, and whether it joins an
/// error's line right before it (a trace a logger printed under its
/// message) rather than standing alone.
fn header(line: &[u8]) -> Option<(Open, bool)> {
    match line[0] {
        b'T' if line.starts_with(b"Traceback (most recent call last):") => {
            Some((Open::Python, true))
        }
        b'p' if line.starts_with(b"panic: ") => Some((Open::Go, false)),
        b'f' if line.starts_with(b"fatal error: ") => Some((Open::Go, false)),
        b'g' if goroutine(line) => Some((Open::Go, false)),
        b't' if rust_panic_header(line) => {
            let next = if line.ends_with(b":") {
                Open::RustMessage
            } else {
                Open::RustBody
            };
            Some((next, false))
        }
        b'E' if line.starts_with(b"Exception in thread \"") => Some((Open::Frames, false)),
        _ => {
            let name = exception_name(line)?;
            let is_exception = [&b"Exception"[..], b"Error", b"Throwable"]
                .iter()
                .any(|suffix| name.ends_with(suffix));
            // A qualified name (`java.lang.IllegalStateException`) is a
            // JVM trace a logger may print under its message.
            is_exception.then(|| (Open::Frames, name.contains(&b'.')))
        }
    }
}

/// `thread 'main' panicked at src/main.rs:2:5:`, or with the thread's id
/// (`thread 'main' (812) panicked at ...`).
fn rust_panic_header(line: &[u8]) -> bool {
    line.starts_with(b"thread '") && memmem::find(line, b" panicked at ").is_some()
}

/// The exception's name at the start of a line `Name`, `Name: message` or
/// `pkg.Name: message`; `None` for any other line.
fn exception_name(line: &[u8]) -> Option<&[u8]> {
    if !line[0].is_ascii_alphabetic() {
        return None;
    }
    let end = line
        .iter()
        .position(|&byte| !(byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'$')))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(end);
    let well_ended = rest.is_empty() || rest == b":" || rest.starts_with(b": ");
    (well_ended && !name.ends_with(b".")).then_some(name)
}

/// `goroutine 1 [running]:`
fn goroutine(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"goroutine ") else {
        return false;
    };
    let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(b" [") && line.ends_with(b"]:")
}

/// A line of a Go trace that is not indented: a goroutine, a function
/// called (`main.main()`, `main.(*T).f(0x1, 0x2)`), `created by ...`, or
/// a signal.
fn go_line(line: &[u8]) -> bool {
    if goroutine(line) || line.starts_with(b"created by ") || line.starts_with(b"[signal ") {
        return true;
    }
    let Some(open) = line.iter().position(|&byte| byte == b'(') else {
        return false;
    };
    let name = &line[..open];
    !name.is_empty()
        && name.contains(&b'.')
        && !name.iter().any(u8::is_ascii_whitespace)
        && line.ends_with(b")")
}

/// Whether an event's first line starts a trace of its own (an uncaught
/// exception, a panic) rather than being a log line a trace joined.
pub(crate) fn starts_trace(line: &[u8]) -> bool {
    !line.is_empty() && header(line).is_some()
}

/// The type and message of the exception a joined event's trace reports,
/// where they can be read: Python's last exception line, the JVM's or
/// Node's first, Go's and Rust's panic message.
pub(crate) fn error_of(text: &str) -> Option<(&str, &str)> {
    let mut lines = text.lines();
    let mut python = false;
    let mut found = None;
    while let Some(line) = lines.next() {
        if let Some(message) = line.strip_prefix("panic: ") {
            let message = message.strip_suffix(" [recovered]").unwrap_or(message);
            return Some(("panic", message));
        }
        if rust_panic_header(line.as_bytes()) {
            return rust_panic(line, lines.next());
        }
        if line.starts_with("Traceback (most recent call last):") {
            python = true;
            continue;
        }
        let line = line
            .strip_prefix("Caused by: ")
            .filter(|_| found.is_some())
            .unwrap_or(line);
        let line = match line.strip_prefix("Exception in thread \"") {
            Some(rest) => rest.split_once("\" ").map_or(rest, |(_, rest)| rest),
            None => line,
        };
        if line.is_empty() || matches!(line.as_bytes()[0], b' ' | b'\t') {
            continue;
        }
        let Some(name) = exception_name(line.as_bytes()) else {
            continue;
        };
        let exception = python
            || [&b"Exception"[..], b"Error", b"Throwable"]
                .iter()
                .any(|suffix| name.ends_with(suffix));
        if exception {
            let (name, message) = line.split_at(name.len());
            let message = message.strip_prefix(':').unwrap_or(message).trim_start();
            found = Some((name, message));
            // Python names the exception last; the others first.
            if !python {
                return found;
            }
        }
    }
    found
}

/// A Rust panic's message: after `panicked at FILE:LINE:COL:` on the next
/// line, or quoted on the header line (`panicked at 'boom', src/main.rs`).
fn rust_panic<'t>(header: &'t str, next: Option<&'t str>) -> Option<(&'t str, &'t str)> {
    if header.ends_with(':') {
        return Some(("panic", next.unwrap_or("")));
    }
    let quoted = header.split_once("panicked at '")?.1;
    let message = quoted
        .rsplit_once("', ")
        .map_or(quoted, |(message, _)| message);
    Some(("panic", message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events `text`'s lines make, grouped by `mode`: each event's
    /// lines joined by `\n`.
    fn events(mode: Mode, text: &str) -> Vec<String> {
        let grouper = Grouper::new(mode, Duration::from_secs(1), 500);
        let mut events: Vec<(String, Open)> = Vec::new();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let open = events.last().map(|(_, open)| *open);
            let first = events
                .last()
                .map_or("", |(text, _)| text.lines().next().unwrap_or(""));
            let (joins, next) = grouper.feed(open, || first.as_bytes(), line.as_bytes());
            if joins {
                let last = events.last_mut().unwrap();
                last.0.push('\n');
                last.0.push_str(line);
                last.1 = next;
            } else {
                events.push((line.to_owned(), next));
            }
        }
        events.into_iter().map(|(text, _)| text).collect()
    }

    const PYTHON: &str = "\
ERROR:root:lookup failed
Traceback (most recent call last):
  File \"app.py\", line 3, in <module>
    {}['missing']
KeyError: 'missing'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File \"app.py\", line 5, in <module>
    raise ValueError('bad') from e
ValueError: bad
INFO:root:next";

    #[test]
    fn a_python_trace_joins_the_error_line_before_it() {
        let events = events(Mode::Auto, PYTHON);
        assert_eq!(events.len(), 2, "{events:#?}");
        assert!(events[0].starts_with("ERROR:root:lookup failed\nTraceback"));
        assert!(events[0].ends_with("ValueError: bad"));
        assert_eq!(events[1], "INFO:root:next");
    }

    #[test]
    fn a_trace_after_an_ordinary_line_stands_alone() {
        let text = "INFO ready\nTraceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 1\nINFO next";
        assert_eq!(
            events(Mode::Auto, text),
            [
                "INFO ready",
                "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 1",
                "INFO next"
            ]
        );
    }

    #[test]
    fn jvm_node_go_and_rust_traces_are_one_event_each() {
        let jvm = "12:00 ERROR c.Foo - lookup failed\njava.lang.IllegalStateException: boom\n\tat Foo.main(Foo.java:3)\nCaused by: java.io.IOException: gone\n\tat Foo.g(Foo.java:9)\n\t... 1 more";
        let node =
            "Error: boom\n    at Object.<anonymous> (/tmp/a.js:1:7)\n    at node:internal/main:1:1";
        let go = "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/tmp/main.go:4 +0x25\nmain.(*T).f(0x1, ...)\n\t/tmp/main.go:9 +0x1\ncreated by main.run in goroutine 1";
        let rust = "thread 'main' panicked at src/main.rs:2:5:\nboom\nstack backtrace:\n   0: rust_begin_unwind\n             at /rustc/x/std/src/panicking.rs:1:1\nnote: Some details are omitted";
        for trace in [jvm, node, go, rust] {
            let text = format!("INFO before\n{trace}\nINFO after");
            let events = events(Mode::Auto, &text);
            let trace = trace.replace("\n\n", "\n");
            assert_eq!(events, ["INFO before", &trace, "INFO after"], "{trace}");
        }
    }

    #[test]
    fn ordinary_and_json_lines_are_never_joined() {
        let text = "INFO a\nERROR b\nWARN c: d\n{\"message\":\"x\"}\n  {\"indented\":1}\nfoo(bar)\nKeyError\nDone.";
        let shipped = events(Mode::Auto, text);
        assert_eq!(shipped.len(), 8, "{shipped:#?}");
        let json = "{\"message\":\"x\"}\n    at frame";
        assert_eq!(events(Mode::Auto, json).len(), 2);
    }

    #[test]
    fn indented_lines_join_a_line_that_is_not() {
        let text = "config:\n  a: 1\n  b: 2\n  c\n    d";
        assert_eq!(events(Mode::Auto, text), [text]);
        assert_eq!(events(Mode::Auto, "  a\n  b").len(), 2);
    }

    #[test]
    fn start_and_continue_patterns_decide() {
        let start = Mode::parse(r"start=^\d{4}-").unwrap();
        let text = "2024-01-01 one\nmore\nlines\n2024-01-02 two\n{\"j\":1}\nafter json";
        assert_eq!(
            events(start, text),
            [
                "2024-01-01 one\nmore\nlines",
                "2024-01-02 two",
                "{\"j\":1}",
                "after json"
            ]
        );
        let cont = Mode::parse(r"continue=^\+").unwrap();
        assert_eq!(events(cont, "a\n+b\n+c\nd"), ["a\n+b\n+c", "d"]);
    }

    #[test]
    fn the_exception_is_read_from_each_runtime_s_trace() {
        let cases = [
            (PYTHON, Some(("ValueError", "bad"))),
            (
                "ERROR x\njava.lang.IllegalStateException: boom\n\tat A.b(A.java:1)\nCaused by: java.io.IOException: gone",
                Some(("java.lang.IllegalStateException", "boom")),
            ),
            (
                "Exception in thread \"main\" java.lang.RuntimeException\n\tat A.main(A.java:1)",
                Some(("java.lang.RuntimeException", "")),
            ),
            (
                "TypeError: x is not a function\n    at f (a.js:1:1)",
                Some(("TypeError", "x is not a function")),
            ),
            (
                "panic: boom [recovered]\n\ngoroutine 1 [running]:",
                Some(("panic", "boom")),
            ),
            (
                "thread 'main' panicked at src/main.rs:2:5:\nboom\nnote: x",
                Some(("panic", "boom")),
            ),
            (
                "thread 'main' (812) panicked at 'boom', src/main.rs:2:5\nnote: x",
                Some(("panic", "boom")),
            ),
            ("config:\n  a: 1", None),
        ];
        for (text, expected) in cases {
            assert_eq!(error_of(text), expected, "{text}");
        }
    }

    #[test]
    fn bad_modes_are_refused_with_a_reason() {
        for bad in ["", "on", "start=", "start=(", "continue=[", "begin=x"] {
            let err = Mode::parse(bad).expect_err(bad);
            assert!(err.contains(bad) || err.contains("empty"), "{bad}: {err}");
        }
    }
}
