//! A model-based torture test of following: proptest makes up what a
//! writer does to `app.log` (appends, numbered rotations, copytruncate,
//! deletion, same-size rewrites) between stops and starts of shipper on one
//! checkpoint, runs it against the real binary, and holds the output to a
//! model of what must arrive, what may be missing, and what may come twice.
//!
//! The model, per writer generation (the lines written into one file's
//! bytes from its first byte on: a new `app.log`, or the same file after a
//! truncation or a rewrite):
//!
//! - Every line arrives. Lines may be missing only where their bytes could
//!   no longer be read when shipper came to them: a generation cut short
//!   (copytruncate, rewrite) or deleted while shipper was stopped, or
//!   deleted while it ran and shipper stopped before reading it all. Then
//!   only the lines from the position the checkpoint saved at that stop,
//!   and a warning in the next run must name that position. A
//!   generation the checkpoint never knew may be missing whole, and so may
//!   any file moved away before shipper saved a checkpoint at all.
//! - What is missing is the generation's tail: no line is skipped.
//! - No line comes twice in one run. A line comes again in a later run only
//!   if a run in between was killed with SIGKILL and the checkpoint it
//!   left did not yet cover the line.
//! - Each generation's lines come in the order written (repeats aside).
//! - Each event is the line as written, from `app.log`; every summary
//!   holds the invariant, and a stopped run delivered what it processed.
//!
//! The writer waits for shipper where the outcome would otherwise be a
//! race that no follower can win: a copytruncate or a rewrite while shipper
//! runs comes after shipper has delivered everything written (nothing is
//! written between the copy and the truncation), and the writer waits
//! (briefly) for shipper to say it noticed before writing on; a deletion
//! while shipper runs comes after shipper has opened the file.
//!
//! `SHIPPER_TORTURE_CASES` (default 8) sets how many sequences run,
//! `SHIPPER_TORTURE_SEED` the seed (fixed by default, so every run checks
//! the same sequences), `SHIPPER_TORTURE_SHRINK_SECS` (default 60, 0 for
//! none) how long a failing sequence is shrunk; `SHIPPER_TORTURE_TRACE=1` prints
//! every sequence's steps; `SHIPPER_TORTURE_REPLAY="append 5, SIGTERM,
//! rotate, start"` runs that one sequence instead. `tests/torture` runs
//! the long version.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use proptest::strategy::{BoxedStrategy, Just, Strategy, Union};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use serde_json::Value;
use tempfile::TempDir;

use crate::common::*;

/// Waiting for lines gives up after this long without a new line: only a
/// shipper that lost them waits that long.
const STALL: Duration = Duration::from_secs(3);
/// How long the writer waits for shipper to notice a truncation.
const NOTICE: Duration = Duration::from_secs(1);
/// A restart after the writer moved or cut files comes this long after:
/// shipper must not rely on having been stopped only for a moment.
const RESTART_GAP: Duration = Duration::from_millis(200);
/// How often a sequence runs while a failure is shrunk.
const SHRINK_ATTEMPTS: usize = 3;
/// The longest sequence generated.
const MAX_ACTIONS: usize = 20;
/// The seed when none is given: every run checks the same sequences.
const DEFAULT_SEED: u64 = 20_261_130;

#[test]
fn follow_torture() {
    torture("follow_torture", Scope::Everything);
}

/// The same, without the cases known to fail today: no rotation,
/// truncation or deletion while shipper is stopped, no same-size rewrite,
/// no file rotated away before shipper opened it (one deleted and
/// re-created, then rotated at once, is never read), no SIGKILL before the
/// checkpoint knows every file (one rotated since the last save is not
/// looked for), no stop before a deleted file is read (when a new file
/// takes its inode, its loss goes untold), and the checkpoint away from
/// the log (a checkpoint written beside it
/// can take the inode of a deleted log, and be read as that log's rest).
#[test]
fn follow_torture_while_running() {
    torture("follow_torture_while_running", Scope::WhileRunning);
}

/// Sequences proptest found failing and shrank, each made to fail every
/// time (a `catch up` so that the checkpoint knows the file's first
/// bytes): each runs every time.
const FOUND: [&str; 5] = [
    // Two rotations while shipper is stopped: the file between them is
    // read after the restart.
    "append 5, catch up, SIGTERM, append 3, rotate, append 4, rotate, append 2",
    // copytruncate while stopped: the restart warns that what followed
    // the checkpoint was not read.
    "append 5, catch up, SIGTERM, append 3, copytruncate, append 4",
    // A same-size rewrite while shipper runs is noticed by its first bytes.
    "append 5, catch up, rewrite in place",
    // A file deleted, re-created and at once rotated while shipper runs
    // is read.
    "delete and re-create, append 2, rotate",
    // A file rewritten in place and then rotated while shipper is stopped:
    // found by its inode, its new bytes are read from the start.
    "SIGTERM, append 1, start, SIGTERM, rewrite in place, rotate",
];

#[test]
fn follow_torture_found_sequences() {
    let failures: Vec<String> = FOUND
        .iter()
        .filter_map(|steps| {
            let actions = parse_steps(steps);
            run_case(&actions, Scope::Everything)
                .err()
                .map(|failed| format!("{actions:?}:\n{}", failed.report))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} sequences fail:\n{}",
        failures.len(),
        FOUND.len(),
        failures.join("\n")
    );
}

// --- what is generated ------------------------------------------------------

/// Which actions are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Everything, anywhere in the sequence; the checkpoint beside the log.
    Everything,
    /// No same-size rewrite, shipper is started before the writer
    /// rotates, truncates or deletes, a file is rotated only once shipper
    /// has opened it, a stop waits for deleted files to be read and a
    /// SIGKILL for the checkpoint to know every file, and the checkpoint
    /// has a directory of its own.
    WhileRunning,
}

/// One step of a sequence. Any subsequence is a valid sequence (a stop
/// while stopped, a start while running, do nothing), so proptest shrinks
/// by dropping steps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    /// The writer appends this many lines to `app.log`.
    Append(u16),
    /// shipper is given time to deliver what was written (when running).
    CatchUp,
    /// The writer waits this many times 10 ms.
    Sleep(u8),
    /// logrotate's `create`: `app.log.N` to `app.log.N+1`, ..., `app.log`
    /// to `app.log.1`, and the writer opens a new `app.log`.
    Rotate,
    /// logrotate's `copytruncate`: a copy into `old/`, then `app.log` cut to
    /// nothing; the writer goes on in the same file.
    CopyTruncate,
    /// `app.log` deleted; the writer opens a new one.
    Recreate,
    /// `app.log` overwritten in place with other lines of exactly its size.
    Rewrite,
    /// shipper stopped, as a service manager (SIGTERM) or the OOM killer
    /// (SIGKILL) would.
    Stop(Stop),
    /// shipper started again on the same checkpoint and output.
    Start,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Term,
    Kill,
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Append(lines) => write!(f, "append {lines}"),
            Action::CatchUp => write!(f, "catch up"),
            Action::Sleep(tens) => write!(f, "sleep {}ms", u32::from(*tens) * 10),
            Action::Rotate => write!(f, "rotate"),
            Action::CopyTruncate => write!(f, "copytruncate"),
            Action::Recreate => write!(f, "delete and re-create"),
            Action::Rewrite => write!(f, "rewrite in place"),
            Action::Stop(Stop::Term) => write!(f, "SIGTERM"),
            Action::Stop(Stop::Kill) => write!(f, "SIGKILL"),
            Action::Start => write!(f, "start"),
        }
    }
}

impl Action {
    /// Whether the action moves or destroys `app.log`'s bytes.
    fn disturbs(self) -> bool {
        matches!(
            self,
            Action::Rotate | Action::CopyTruncate | Action::Recreate | Action::Rewrite
        )
    }
}

/// One action, simplest first: proptest shrinks towards earlier choices.
fn action(scope: Scope) -> BoxedStrategy<Action> {
    let mut choices: Vec<(u32, BoxedStrategy<Action>)> = vec![
        (6, (1u16..=20).prop_map(Action::Append).boxed()),
        (2, Just(Action::CatchUp).boxed()),
        (2, (0u8..=20).prop_map(Action::Sleep).boxed()),
        (1, (100u16..=400).prop_map(Action::Append).boxed()),
        (4, Just(Action::Rotate).boxed()),
        (2, Just(Action::CopyTruncate).boxed()),
        (2, Just(Action::Recreate).boxed()),
        (3, Just(Action::Stop(Stop::Term)).boxed()),
        (3, Just(Action::Stop(Stop::Kill)).boxed()),
        (3, Just(Action::Start).boxed()),
    ];
    if scope == Scope::Everything {
        choices.push((2, Just(Action::Rewrite).boxed()));
    }
    Union::new_weighted(choices).boxed()
}

fn sequence(scope: Scope) -> BoxedStrategy<Vec<Action>> {
    proptest::collection::vec(action(scope), 1..=MAX_ACTIONS).boxed()
}

// --- running the sequences -------------------------------------------------

/// Runs generated sequences until one fails or enough passed, and prints
/// what they did.
fn torture(name: &str, scope: Scope) {
    if let Ok(steps) = std::env::var("SHIPPER_TORTURE_REPLAY") {
        replay(name, scope, &steps);
        return;
    }
    let seed = env_number("SHIPPER_TORTURE_SEED").unwrap_or(DEFAULT_SEED);
    let tally = RefCell::new(Tally::default());
    let shrinking = Cell::new(false);
    let started = Instant::now();
    // Some failures depend on when shipper saved its checkpoint or which
    // inode a new file got: once shrinking, a sequence passes only if it
    // passes every time, and one that failed once stays failed.
    let failed: RefCell<HashMap<String, String>> = RefCell::default();
    let result = TestRunner::new(config(seed)).run(&sequence(scope), |actions| {
        let key = format!("{actions:?}");
        if let Some(report) = failed.borrow().get(&key) {
            return Err(TestCaseError::fail(report.clone()));
        }
        let attempts = if shrinking.get() { SHRINK_ATTEMPTS } else { 1 };
        for _ in 0..attempts {
            let outcome = run_case(&actions, scope);
            tally.borrow_mut().add(&outcome);
            if let Err(failure) = outcome {
                shrinking.set(true);
                failed.borrow_mut().insert(key, failure.report.clone());
                return Err(TestCaseError::fail(failure.report));
            }
        }
        Ok(())
    });
    eprintln!(
        "torture: {name}: seed {seed}, {}, {:.1} s",
        tally.borrow(),
        started.elapsed().as_secs_f64()
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(report, actions)) => {
            let steps = format!("{actions:?}");
            panic!(
                "{name} (seed {seed}) failed; the shortest failing sequence, {steps}:\n{report}\
                 replay it: SHIPPER_TORTURE_REPLAY=\"{}\" cargo test --test shipper torture::{name} -- --exact --nocapture",
                steps.trim_matches(['[', ']'])
            )
        }
        Err(err) => panic!("{name} (seed {seed}): {err}"),
    }
}

/// The runner's settings, from the environment.
fn config(seed: u64) -> Config {
    let shrink_secs = env_number("SHIPPER_TORTURE_SHRINK_SECS").unwrap_or(60) as u32;
    Config {
        cases: env_number("SHIPPER_TORTURE_CASES").unwrap_or(8) as u32,
        rng_seed: RngSeed::Fixed(seed),
        // Zero seconds: no shrinking (proptest reads a zero time as no limit).
        max_shrink_time: shrink_secs.max(1) * 1000,
        max_shrink_iters: if shrink_secs == 0 { 0 } else { 10_000 },
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs one sequence written as the report shows it, e.g.
/// `append 5, SIGTERM, rotate, start`.
fn replay(name: &str, scope: Scope, steps: &str) {
    let actions = parse_steps(steps);
    match run_case(&actions, scope) {
        Ok(_) => eprintln!("torture: {name}: {actions:?} passes"),
        Err(failed) => panic!("{name}: {actions:?} fails:\n{}", failed.report),
    }
}

/// Steps separated by commas or lines.
fn parse_steps(steps: &str) -> Vec<Action> {
    steps
        .split([',', '\n'])
        .map(str::trim)
        .filter(|step| !step.is_empty())
        .map(|step| parse_action(step).unwrap_or_else(|| panic!("no such step: {step:?}")))
        .collect()
}

/// The action a step of a report names.
fn parse_action(step: &str) -> Option<Action> {
    let number = |prefix: &str| {
        step.strip_prefix(prefix)?
            .trim_end_matches("ms")
            .parse()
            .ok()
    };
    Some(match step {
        "catch up" => Action::CatchUp,
        "rotate" => Action::Rotate,
        "copytruncate" => Action::CopyTruncate,
        "delete and re-create" => Action::Recreate,
        "rewrite in place" => Action::Rewrite,
        "SIGTERM" => Action::Stop(Stop::Term),
        "SIGKILL" => Action::Stop(Stop::Kill),
        "start" => Action::Start,
        _ if step.starts_with("append ") => Action::Append(number("append ")?),
        _ => Action::Sleep((number("sleep ")? / 10) as u8),
    })
}

fn env_number(key: &str) -> Option<u64> {
    let value = std::env::var(key).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{key}={value} is not a number")),
    )
}

/// What the sequences run so far did, for the figures printed at the end.
#[derive(Default)]
struct Tally {
    sequences: u64,
    failed: u64,
    actions: u64,
    written: u64,
    delivered: u64,
    repeated: u64,
    runs: u64,
    killed: u64,
}

impl Tally {
    fn add(&mut self, outcome: &Result<Figures, Failed>) {
        let figures = match outcome {
            Ok(figures) => figures,
            Err(failed) => {
                self.failed += 1;
                &failed.figures
            }
        };
        self.sequences += 1;
        self.actions += figures.actions;
        self.written += figures.written;
        self.delivered += figures.delivered;
        self.repeated += figures.repeated;
        self.runs += figures.runs;
        self.killed += figures.killed;
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} sequences ({} failed, shrinking included), {} actions, {} runs of shipper ({} killed), \
             {} lines written, {} delivered, {} of them again after a SIGKILL",
            self.sequences,
            self.failed,
            self.actions,
            self.runs,
            self.killed,
            self.written,
            self.delivered,
            self.repeated
        )
    }
}

/// What one sequence did.
#[derive(Default)]
struct Figures {
    actions: u64,
    written: u64,
    delivered: u64,
    repeated: u64,
    runs: u64,
    killed: u64,
}

/// A sequence that failed: what it did, and a report a person can replay.
struct Failed {
    figures: Figures,
    report: String,
}

/// Runs one sequence and checks the output against the model.
fn run_case(actions: &[Action], scope: Scope) -> Result<Figures, Failed> {
    let mut case = Case::new(scope);
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
        case.start();
        for (step, &action) in actions.iter().enumerate() {
            case.act(step + 1, action);
        }
        case.finish();
    }));
    if let Err(panic) = ran {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        case.problems
            .push(format!("the harness stopped: {message}"));
        // A shipper still running is killed as `case` goes.
    }
    let figures = case.figures(actions.len());
    if std::env::var_os("SHIPPER_TORTURE_TRACE").is_some() {
        eprintln!("{}", case.report());
    }
    if case.problems.is_empty() {
        Ok(figures)
    } else {
        let report = case.report();
        Err(Failed { figures, report })
    }
}

// --- the model -------------------------------------------------------------

/// The lines written into one file's bytes from its first byte on.
struct Gen {
    /// The file's device and inode.
    identity: (u64, u64),
    /// Its bytes as written.
    bytes: Vec<u8>,
    /// Where each line begins.
    starts: Vec<u64>,
    /// How it came to be, for the report.
    origin: String,
    /// What became of it, for the report.
    fate: String,
    /// Deleted while shipper ran: what it has not read when it stops is lost.
    deleted_while_running: bool,
    /// From where its lines may be missing, if anywhere.
    loss: Option<Loss>,
}

/// Lines whose bytes shipper could no longer read when it came to them.
#[derive(Clone, Copy)]
struct Loss {
    /// Lines beginning at or after this byte may be missing.
    from: u64,
    /// The run that must say so, naming the byte: the checkpoint held the
    /// generation at `from`. None when it never knew the generation.
    told_in: Option<usize>,
}

impl Gen {
    fn new(identity: (u64, u64), origin: String) -> Gen {
        Gen {
            identity,
            bytes: Vec::new(),
            starts: Vec::new(),
            origin,
            fate: "still app.log".into(),
            deleted_while_running: false,
            loss: None,
        }
    }

    fn push(&mut self, line: &str) {
        self.starts.push(self.bytes.len() as u64);
        self.bytes.extend_from_slice(line.as_bytes());
        self.bytes.push(b'\n');
    }

    fn line(&self, seq: usize) -> &str {
        let start = self.starts[seq] as usize;
        let end = self
            .starts
            .get(seq + 1)
            .map_or(self.bytes.len(), |&next| next as usize);
        std::str::from_utf8(&self.bytes[start..end - 1]).unwrap()
    }

    /// Whether line `seq` must arrive.
    fn required(&self, seq: usize) -> bool {
        self.loss.is_none_or(|loss| self.starts[seq] < loss.from)
    }

    /// Whether the checkpoint's fingerprint is of this generation's bytes.
    fn has_fingerprint(&self, bytes: usize, crc: u32) -> bool {
        self.bytes.len() >= bytes && crc32(&self.bytes[..bytes]) == crc
    }
}

/// Line `seq` of generation `g`: unique, and of varied length.
fn line_text(g: usize, seq: usize) -> String {
    let filler = 8 + (g * 7 + seq * 13) % 41;
    format!("g{g}-n{seq} {}", "x".repeat(filler))
}

/// The generation and sequence number a message claims to be.
fn parse_key(message: &str) -> Option<(usize, usize)> {
    let (g, rest) = message.strip_prefix('g')?.split_once("-n")?;
    let (seq, _) = rest.split_once(' ')?;
    Some((g.parse().ok()?, seq.parse().ok()?))
}

/// Lines for generation `g` that fill exactly `size` bytes, about as
/// many as `lines`.
fn lines_of_size(g: usize, lines: usize, size: usize) -> Vec<String> {
    let header = |seq: usize| format!("g{g}-n{seq} ");
    let mut count = lines.max(1);
    // Each line needs its header, one filler byte and its newline.
    while count > 1 && (0..count).map(|seq| header(seq).len() + 2).sum::<usize>() > size {
        count -= 1;
    }
    let fixed: usize = (0..count).map(|seq| header(seq).len() + 1).sum();
    let filler = size - fixed;
    (0..count)
        .map(|seq| {
            let mine = filler / count + usize::from(seq == count - 1) * (filler % count);
            format!("{}{}", header(seq), "y".repeat(mine))
        })
        .collect()
}

/// CRC-32 (IEEE), as the checkpoint's fingerprints use.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// --- one sequence against the real binary ----------------------------------

/// One run of shipper, from its start to its stop.
struct RunRecord {
    /// Its events are `first..end` of the output.
    first: usize,
    end: usize,
    /// How it ended; None while it runs.
    ended: Option<Stop>,
    stderr: String,
    /// The checkpoint it left, by generation.
    saved: HashMap<usize, Saved>,
}

/// A generation's position in the checkpoint.
#[derive(Clone, Copy)]
struct Saved {
    /// Every line before this byte was delivered.
    offset: u64,
    /// The fingerprint covers some of its bytes: without any, shipper
    /// cannot tell the file from another on its inode.
    fingerprinted: bool,
}

/// One event in the output file.
struct Delivered {
    message: String,
    source: String,
}

/// The output file, read as it grows.
struct Output {
    path: PathBuf,
    /// Bytes parsed so far: whole lines only.
    read: u64,
    events: Vec<Delivered>,
    /// The (generation, sequence) of every message seen.
    seen: HashSet<(usize, usize)>,
}

impl Output {
    fn refresh(&mut self) {
        let Ok(mut file) = File::open(&self.path) else {
            return;
        };
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(self.read)).unwrap();
        file.read_to_end(&mut bytes).unwrap();
        let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        for event in parse_events(&bytes[..=end]) {
            let message = event["message"].as_str().unwrap_or_default().to_owned();
            let source = event["diagnostics"]["source"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Some(key) = parse_key(&message) {
                self.seen.insert(key);
            }
            self.events.push(Delivered { message, source });
        }
        self.read += end as u64 + 1;
    }
}

struct Case {
    scope: Scope,
    dir: TempDir,
    log: PathBuf,
    state: PathBuf,
    /// The writer's handle on `app.log`, opened to append.
    writer: File,
    /// Numbered generations `app.log.1` ... `app.log.{rotated}`.
    rotated: usize,
    copies: usize,
    gens: Vec<Gen>,
    /// The generation `app.log` holds.
    current: usize,
    shipper: Option<Running>,
    /// The step being taken.
    step: usize,
    /// The writer moved or cut files since shipper stopped.
    disturbed_while_stopped: bool,
    runs: Vec<RunRecord>,
    output: Output,
    /// What was done, one line a step, as a person would replay it.
    trace: Vec<String>,
    problems: Vec<String>,
}

impl Case {
    fn new(scope: Scope) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("old")).unwrap();
        let log = dir.path().join("app.log");
        let writer = append(&log);
        let g = Gen::new(identity(&writer), "app.log at the start".into());
        Case {
            scope,
            state: checkpoint_path(dir.path(), scope),
            output: Output {
                path: dir.path().join("out.jsonl"),
                read: 0,
                events: Vec::new(),
                seen: HashSet::new(),
            },
            dir,
            log,
            writer,
            rotated: 0,
            copies: 0,
            gens: vec![g],
            current: 0,
            shipper: None,
            step: 0,
            disturbed_while_stopped: false,
            runs: Vec::new(),
            trace: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn act(&mut self, step: usize, action: Action) {
        self.step = step;
        if self.scope == Scope::WhileRunning && action.disturbs() && self.shipper.is_none() {
            self.note(format!(
                "{step:>3}. start (the writer rotates only while shipper runs)"
            ));
            self.start();
        }
        let stopped = if self.shipper.is_none() {
            "   [shipper stopped]"
        } else {
            ""
        };
        self.note(format!("{step:>3}. {action:?}{stopped}"));
        self.disturbed_while_stopped |= action.disturbs() && self.shipper.is_none();
        match action {
            Action::Append(lines) => self.append_lines(lines as usize),
            Action::CatchUp => self.catch_up(),
            Action::Sleep(tens) => std::thread::sleep(Duration::from_millis(u64::from(tens) * 10)),
            Action::Rotate => self.rotate(),
            Action::CopyTruncate => self.copytruncate(),
            Action::Recreate => self.recreate(),
            Action::Rewrite => self.rewrite(),
            Action::Stop(how) => self.stop(how),
            Action::Start => self.start(),
        }
    }

    fn note(&mut self, line: String) {
        self.trace.push(line);
    }

    /// Adds to the last line of the trace.
    fn annotate(&mut self, what: &str) {
        if let Some(last) = self.trace.last_mut() {
            last.push_str(&format!("  -> {what}"));
        }
    }

    // --- the writer --------------------------------------------------------

    fn append_lines(&mut self, count: usize) {
        let g = self.current;
        let first = self.gens[g].starts.len();
        let mut text = String::new();
        for seq in first..first + count {
            let line = line_text(g, seq);
            self.gens[g].push(&line);
            text.push_str(&line);
            text.push('\n');
        }
        std::io::Write::write_all(&mut self.writer, text.as_bytes()).unwrap();
        self.annotate(&format!("g{g}-n{first}..g{g}-n{}", first + count - 1));
    }

    fn rotate(&mut self) {
        let g = self.current;
        let behind = self.shipper.is_some() && !self.gens[g].bytes.is_empty();
        if self.scope == Scope::WhileRunning && behind {
            self.wait_open(g);
        }
        for n in (1..=self.rotated).rev() {
            std::fs::rename(self.numbered(n), self.numbered(n + 1)).unwrap();
        }
        std::fs::rename(&self.log, self.numbered(1)).unwrap();
        self.rotated += 1;
        for g in &mut self.gens {
            if let Some(n) = g
                .fate
                .strip_prefix("app.log.")
                .and_then(|n| n.parse::<usize>().ok())
            {
                g.fate = format!("app.log.{}", n + 1);
            }
        }
        self.gens[self.current].fate = "app.log.1".into();
        self.writer = append(&self.log);
        self.begin_gen("rotate: a new app.log", identity(&self.writer));
    }

    fn copytruncate(&mut self) {
        if self.gens[self.current].bytes.is_empty() {
            self.annotate("nothing to truncate");
            return;
        }
        self.before_cutting();
        self.copies += 1;
        let copy = self.dir.path().join(format!("old/app.log.{}", self.copies));
        std::fs::copy(&self.log, copy).unwrap();
        self.writer.set_len(0).unwrap();
        self.cut(
            "copytruncate",
            &format!("copied to old/app.log.{}, truncated", self.copies),
        );
    }

    fn rewrite(&mut self) {
        let old = &self.gens[self.current];
        if old.bytes.is_empty() {
            self.annotate("nothing to rewrite");
            return;
        }
        let (size, count) = (old.bytes.len(), old.starts.len());
        self.before_cutting();
        let g = self.gens.len();
        let lines = lines_of_size(g, count, size);
        let mut text = String::new();
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
        assert_eq!(text.len(), size, "a rewrite keeps the size");
        let overwrite = OpenOptions::new().write(true).open(&self.log).unwrap();
        overwrite.write_all_at(text.as_bytes(), 0).unwrap();
        self.cut("rewrite", "overwritten in place");
        for line in &lines {
            self.gens[g].push(line);
        }
        self.annotate(&format!("g{g}-n0..g{g}-n{}", lines.len() - 1));
    }

    fn recreate(&mut self) {
        let g = self.current;
        if self.shipper.is_some() && !self.gens[g].bytes.is_empty() {
            self.wait_open(g);
        }
        std::fs::remove_file(&self.log).unwrap();
        let running = self.shipper.is_some();
        self.gens[g].fate = "deleted".into();
        if running {
            self.gens[g].deleted_while_running = true;
        } else {
            self.lost_while_stopped(g);
        }
        self.writer = append(&self.log);
        self.begin_gen(
            "delete and re-create: a new app.log",
            identity(&self.writer),
        );
    }

    /// Before the writer cuts `app.log` short while shipper runs: shipper
    /// has delivered everything written, so that nothing is in the window.
    fn before_cutting(&mut self) {
        if self.shipper.is_some() {
            self.wait_delivered("before cutting app.log");
        }
    }

    /// `app.log` was cut short by `how`: the old generation's bytes are
    /// gone, a new one begins in the same file.
    fn cut(&mut self, how: &str, fate: &str) {
        let old = self.current;
        self.gens[old].fate = fate.into();
        if self.shipper.is_none() {
            self.lost_while_stopped(old);
        }
        let told = self.truncations_told();
        self.begin_gen(&format!("{how}: app.log again"), self.gens[old].identity);
        if self.shipper.is_some() {
            let noticed = self.settle(NOTICE, |case| case.truncations_told() > told);
            if !noticed {
                self.annotate(&format!("not noticed within {NOTICE:?}"));
            }
        }
    }

    fn begin_gen(&mut self, origin: &str, identity: (u64, u64)) {
        let step = self.step;
        self.gens
            .push(Gen::new(identity, format!("{origin} at step {step}")));
        self.current = self.gens.len() - 1;
        self.annotate(&format!("g{} begins", self.current));
    }

    /// The generation's bytes went while shipper was stopped: what the
    /// checkpoint did not cover is lost, and the next run must say so.
    fn lost_while_stopped(&mut self, g: usize) {
        let saved = self.runs.last().and_then(|run| run.saved.get(&g).copied());
        self.gens[g].loss = Some(self.loss_from(saved));
    }

    /// Lines lost from where the checkpoint had them (all, if it did not),
    /// to be told by the next run if the checkpoint could tell the file.
    fn loss_from(&self, saved: Option<Saved>) -> Loss {
        Loss {
            from: saved.map_or(0, |saved| saved.offset),
            told_in: saved
                .filter(|saved| saved.fingerprinted)
                .map(|_| self.runs.len()),
        }
    }

    fn numbered(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("app.log.{n}"))
    }

    // --- shipper -----------------------------------------------------------

    fn start(&mut self) {
        if self.shipper.is_some() {
            self.annotate("already running");
            return;
        }
        if std::mem::take(&mut self.disturbed_while_stopped) {
            std::thread::sleep(RESTART_GAP);
        }
        self.forget_unrecorded();
        let (log, state) = (
            self.log.display().to_string(),
            self.state.display().to_string(),
        );
        let sink = format!("file={}", self.output.path.display());
        let args = [
            "-F",
            &log,
            "--checkpoint",
            &state,
            "--sink",
            &sink,
            "--rotate-wait",
            "100ms",
            "--glob-interval",
            "100ms",
            "--batch-timeout",
            "20ms",
            "-v",
        ];
        let (running, stdin) = Running::start(&args);
        drop(stdin);
        self.output.refresh();
        self.runs.push(RunRecord {
            first: self.output.events.len(),
            end: self.output.events.len(),
            ended: None,
            stderr: String::new(),
            saved: HashMap::new(),
        });
        self.shipper = Some(running);
        let following = self.settle(PATIENCE, |case| case.stderr_now().contains("\"following "));
        if !following {
            let run = self.runs.len();
            self.problems
                .push(format!("run {run} never said it was following app.log"));
        }
    }

    fn stop(&mut self, how: Stop) {
        if self.scope == Scope::WhileRunning && self.shipper.is_some() {
            self.wait_recorded(how);
        }
        let Some(mut running) = self.shipper.take() else {
            self.annotate("already stopped");
            return;
        };
        let exited = running.child.try_wait().unwrap();
        let run = self.runs.len();
        if let Some(status) = exited {
            self.problems.push(format!(
                "run {run} exited by itself ({status}) before it was stopped"
            ));
        }
        let (stderr, processed) = match how {
            Stop::Term => {
                if exited.is_none() {
                    running.signal(Signal::SIGTERM);
                }
                let (code, stderr, summary, _) = running.finish();
                if code != Some(143) {
                    self.problems
                        .push(format!("run {run} exited {code:?} on SIGTERM, not 143"));
                }
                (stderr, summary["processed"].as_u64())
            }
            Stop::Kill => {
                let stderr = running.kill();
                self.drop_torn_tail();
                (stderr, None)
            }
        };
        self.output.refresh();
        let saved = self.saved_positions();
        let end = self.output.events.len();
        let record = self.runs.last_mut().unwrap();
        record.end = end;
        record.ended = Some(how);
        record.stderr = stderr;
        record.saved = saved;
        if let Some(processed) = processed {
            let delivered = (record.end - record.first) as u64;
            if processed != delivered {
                self.problems.push(format!(
                    "run {run}'s summary says {processed} processed, the output has {delivered}"
                ));
            }
        }
        self.after_stop(how);
        if !self.checkpoint_exists() {
            self.annotate("no checkpoint saved yet");
        }
    }

    /// Waits until deleted files are delivered to their end, and (before
    /// a kill) until the checkpoint holds every file on disk with lines
    /// not yet delivered: the stop then loses nothing that only a warning
    /// could tell of, and the restart finds every file.
    fn wait_recorded(&mut self, how: Stop) {
        let recorded = self.settle(STALL, |case| {
            let saved = case.saved_positions();
            (0..case.gens.len()).all(|g| {
                let lines = &case.gens[g];
                let on_disk = g == case.current || lines.fate.starts_with("app.log.");
                let delivered =
                    (0..lines.starts.len()).all(|seq| case.output.seen.contains(&(g, seq)));
                let known = on_disk && (how == Stop::Term || saved.contains_key(&g));
                delivered || known
            })
        });
        if !recorded {
            self.annotate(&format!("files not in the checkpoint after {STALL:?}"));
        }
    }

    /// Whether the checkpoint holds any file yet.
    fn checkpoint_exists(&self) -> bool {
        std::fs::read(&self.state)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .is_some_and(|state| {
                state["files"]
                    .as_array()
                    .is_some_and(|files| !files.is_empty())
            })
    }

    /// shipper was killed before it saved any checkpoint: files no longer
    /// at `app.log` are out of its sight, and may be missing, untold.
    fn forget_unrecorded(&mut self) {
        if self.runs.is_empty() || self.checkpoint_exists() {
            return;
        }
        for (g, lines) in self.gens.iter_mut().enumerate() {
            if g != self.current && lines.loss.is_none() {
                lines.loss = Some(Loss {
                    from: 0,
                    told_in: None,
                });
            }
        }
    }

    /// Generations deleted while shipper ran are gone for the next run:
    /// what this stop left undelivered is lost from the position saved,
    /// which the next run must tell. Only a kill may leave a deleted file
    /// it held open out of the checkpoint.
    fn after_stop(&mut self, how: Stop) {
        let record = self.runs.last().unwrap();
        for g in 0..self.gens.len() {
            let lines = &self.gens[g];
            if !lines.deleted_while_running {
                continue;
            }
            let delivered = (0..lines.starts.len()).all(|seq| self.output.seen.contains(&(g, seq)));
            let saved = record.saved.get(&g).copied();
            let loss = match saved {
                _ if delivered => None,
                None if how == Stop::Term => None,
                _ => Some(self.loss_from(saved)),
            };
            self.gens[g].deleted_while_running = false;
            self.gens[g].loss = loss;
        }
        let saved = &self.runs.last().unwrap().saved;
        let mut told: Vec<String> = saved
            .iter()
            .map(|(g, saved)| format!("g{g} at {} of {}", saved.offset, self.gens[*g].bytes.len()))
            .collect();
        told.sort();
        self.annotate(&format!("checkpoint: {}", told.join(", ")));
    }

    /// A kill in the middle of a write leaves part of a line: the harness
    /// cuts it off, as nothing would read it.
    fn drop_torn_tail(&mut self) {
        let Ok(bytes) = std::fs::read(&self.output.path) else {
            return;
        };
        let whole = bytes
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |end| end + 1);
        if whole < bytes.len() {
            let file = OpenOptions::new()
                .write(true)
                .open(&self.output.path)
                .unwrap();
            file.set_len(whole as u64).unwrap();
            self.annotate(&format!(
                "{} bytes of a torn write cut off",
                bytes.len() - whole
            ));
        }
    }

    /// The positions in the checkpoint, by generation: known by device,
    /// inode and fingerprint.
    fn saved_positions(&self) -> HashMap<usize, Saved> {
        let mut saved = HashMap::new();
        let Ok(bytes) = std::fs::read(&self.state) else {
            return saved;
        };
        let state: Value = serde_json::from_slice(&bytes).unwrap();
        for entry in state["files"].as_array().into_iter().flatten() {
            let number = |key: &str| entry[key].as_u64().unwrap();
            let identity = (number("device"), number("inode"));
            let bytes = entry["fingerprint"]["bytes"].as_u64().unwrap() as usize;
            let crc = entry["fingerprint"]["crc32"].as_u64().unwrap() as u32;
            let g = (0..self.gens.len()).rev().find(|&g| {
                self.gens[g].identity == identity && self.gens[g].has_fingerprint(bytes, crc)
            });
            if let Some(g) = g {
                let offset = number("offset");
                let kept = saved.entry(g).or_insert(Saved {
                    offset,
                    fingerprinted: bytes > 0,
                });
                kept.offset = kept.offset.min(offset);
            }
        }
        saved
    }

    fn stderr_now(&self) -> String {
        self.shipper
            .as_ref()
            .map(Running::stderr_so_far)
            .unwrap_or_default()
    }

    /// How many truncations the running shipper has told of.
    fn truncations_told(&self) -> usize {
        self.stderr_now().matches("was truncated").count()
    }

    fn catch_up(&mut self) {
        if self.shipper.is_some() {
            self.wait_delivered("catching up");
        }
    }

    /// Waits until every line that must arrive has, or gives up (and goes
    /// on) after `STALL` without a new line.
    fn wait_delivered(&mut self, why: &str) {
        if !self.settle(STALL, |case| case.missing() == 0) {
            let missing = self.missing();
            self.annotate(&format!(
                "{why}: gave up with {missing} lines missing after {STALL:?} without a new one"
            ));
        }
    }

    /// Waits until shipper holds generation `g`'s file open.
    fn wait_open(&mut self, g: usize) {
        let identity = self.gens[g].identity;
        let open = self.settle(STALL, |case| {
            case.shipper
                .as_ref()
                .is_some_and(|running| holds_open(running.child.id(), identity))
        });
        if !open {
            self.annotate(&format!("shipper did not open g{g} within {STALL:?}"));
        }
    }

    /// Lines that must arrive and have not yet.
    fn missing(&self) -> usize {
        self.gens
            .iter()
            .enumerate()
            .map(|(g, lines)| {
                (0..lines.starts.len())
                    .filter(|&seq| lines.required(seq) && !self.output.seen.contains(&(g, seq)))
                    .count()
            })
            .sum()
    }

    /// Polls until `done`, shipper exits, or `limit` passes without the
    /// output growing.
    fn settle(&mut self, limit: Duration, done: impl Fn(&Case) -> bool) -> bool {
        let mut progress = Instant::now();
        loop {
            let before = self.output.read;
            self.output.refresh();
            if done(self) {
                return true;
            }
            if self.output.read != before {
                progress = Instant::now();
            }
            let exited = self
                .shipper
                .as_mut()
                .is_some_and(|running| running.child.try_wait().unwrap().is_some());
            if exited || progress.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A last run that catches up, a SIGTERM, and the verdict.
    fn finish(&mut self) {
        self.note("  end. start, catch up, SIGTERM".into());
        self.start();
        self.wait_delivered("at the end");
        self.stop(Stop::Term);
        self.judge();
    }

    // --- the verdict -------------------------------------------------------

    fn judge(&mut self) {
        let mut problems = self.judge_events();
        problems.extend(self.judge_missing());
        self.problems.extend(problems);
    }

    /// Foreign lines, repeats and order, run by run.
    fn judge_events(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let source = self.log.display().to_string();
        // Where each line was first delivered, and the highest sequence
        // first delivered of each generation.
        let mut first_run: HashMap<(usize, usize), usize> = HashMap::new();
        let mut highest: HashMap<usize, usize> = HashMap::new();
        for (run, record) in self.runs.iter().enumerate() {
            let mut last_in_run: HashMap<usize, usize> = HashMap::new();
            for event in &self.output.events[record.first..record.end] {
                let Some((g, seq)) = self.known(&event.message) else {
                    problems.push(format!(
                        "run {}: a line never written: {:?}",
                        run + 1,
                        clip(&event.message)
                    ));
                    continue;
                };
                if event.source != source {
                    problems.push(format!(
                        "run {}: g{g}-n{seq} came from {:?}",
                        run + 1,
                        event.source
                    ));
                }
                if last_in_run.get(&g).is_some_and(|&last| seq <= last) {
                    let last = last_in_run[&g];
                    problems.push(format!(
                        "run {}: g{g}-n{seq} after g{g}-n{last} (a repeat or out of order within one run)",
                        run + 1
                    ));
                }
                last_in_run.insert(g, seq);
                match first_run.get(&(g, seq)) {
                    Some(&first) => {
                        if !self.repeat_allowed(g, seq, first, run) {
                            problems.push(format!(
                                "g{g}-n{seq} delivered in run {} and again in run {}, with no SIGKILL between that left it unacknowledged",
                                first + 1,
                                run + 1
                            ));
                        }
                    }
                    None => {
                        if let Some(&high) = highest.get(&g).filter(|&&high| seq < high) {
                            problems.push(format!(
                                "run {}: g{g}-n{seq} first delivered after g{g}-n{high} (out of order)",
                                run + 1
                            ));
                        }
                        first_run.insert((g, seq), run);
                        let high = highest.entry(g).or_insert(seq);
                        *high = (*high).max(seq);
                    }
                }
            }
        }
        problems
    }

    /// The line a message is, if it is one written, exactly.
    fn known(&self, message: &str) -> Option<(usize, usize)> {
        let (g, seq) = parse_key(message)?;
        let lines = self.gens.get(g)?;
        (seq < lines.starts.len() && lines.line(seq) == message).then_some((g, seq))
    }

    /// A line first delivered in run `first` may come again in run `again`
    /// only after a run between them was killed before its checkpoint
    /// covered the line.
    fn repeat_allowed(&self, g: usize, seq: usize, first: usize, again: usize) -> bool {
        let start = self.gens[g].starts[seq];
        self.runs[first..again].iter().any(|run| {
            run.ended == Some(Stop::Kill)
                && run.saved.get(&g).is_none_or(|saved| saved.offset <= start)
        })
    }

    /// Lines that never arrived: allowed only as a generation's tail, where
    /// its bytes were gone, and told of.
    fn judge_missing(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let delivered: HashSet<(usize, usize)> = self
            .output
            .events
            .iter()
            .filter_map(|event| self.known(&event.message))
            .collect();
        for (g, lines) in self.gens.iter().enumerate() {
            let missing: Vec<usize> = (0..lines.starts.len())
                .filter(|&seq| !delivered.contains(&(g, seq)))
                .collect();
            let Some(&first) = missing.first() else {
                continue;
            };
            let span = spans(&missing, g);
            let what = format!(
                "g{g} ({}, {}; {} lines)",
                lines.origin,
                lines.fate,
                lines.starts.len()
            );
            if missing.iter().any(|&seq| lines.required(seq)) {
                problems.push(format!("{what}: never delivered: {span}"));
            } else if missing.len() != lines.starts.len() - first {
                problems.push(format!("{what}: lines skipped, not only its tail: {span}"));
            } else if let Some(Loss {
                from,
                told_in: Some(run),
            }) = lines.loss
                && !self
                    .runs
                    .get(run)
                    .is_some_and(|record| told_loss(&record.stderr, from))
            {
                problems.push(format!(
                    "{what}: {span} lost (from byte {from}) and run {} gave no warning naming byte {from} of app.log",
                    run + 1
                ));
            }
        }
        problems
    }

    fn figures(&self, actions: usize) -> Figures {
        let delivered = self.output.events.len() as u64;
        Figures {
            actions: actions as u64,
            written: self.gens.iter().map(|g| g.starts.len() as u64).sum(),
            delivered,
            repeated: (self
                .output
                .events
                .iter()
                .filter(|event| parse_key(&event.message).is_some())
                .count() as u64)
                .saturating_sub(self.output.seen.len() as u64),
            runs: self.runs.len() as u64,
            killed: self
                .runs
                .iter()
                .filter(|run| run.ended == Some(Stop::Kill))
                .count() as u64,
        }
    }

    /// The steps, what went wrong, and what shipper warned of.
    fn report(&self) -> String {
        let mut report = String::from("steps (shipper starts first; `->` is what the step did):\n");
        for line in &self.trace {
            report.push_str(&format!("  {line}\n"));
        }
        let figures = self.figures(0);
        report.push_str(&format!(
            "{} lines written, {} events delivered, {} of them a second time\n",
            figures.written, figures.delivered, figures.repeated
        ));
        report.push_str("what went wrong:\n");
        for problem in &self.problems {
            report.push_str(&format!("  - {problem}\n"));
        }
        report.push_str("what shipper warned of:\n");
        for (run, record) in self.runs.iter().enumerate() {
            for line in record
                .stderr
                .lines()
                .filter(|line| line.contains("\"WARN\""))
            {
                report.push_str(&format!("  run {}: {line}\n", run + 1));
            }
        }
        report
    }
}

/// Whether `stderr` holds a warning about `app.log` that names byte `from`.
fn told_loss(stderr: &str, from: u64) -> bool {
    stderr.lines().any(|line| {
        let Ok(warning) = serde_json::from_str::<Value>(line) else {
            return false;
        };
        let about_log = warning["level"] == "WARN" && line.contains("app.log");
        let names_byte = ["offset", "read_to"]
            .iter()
            .any(|key| warning[key].as_u64() == Some(from))
            || warning["message"]
                .as_str()
                .is_some_and(|message| message.contains(&format!("byte {from}")));
        about_log && names_byte
    })
}

/// `g1-n0..g1-n4, g1-n9` for sequences 0 to 4 and 9.
fn spans(seqs: &[usize], g: usize) -> String {
    let mut spans: Vec<String> = Vec::new();
    let mut at = 0;
    while at < seqs.len() {
        let mut end = at;
        while end + 1 < seqs.len() && seqs[end + 1] == seqs[end] + 1 {
            end += 1;
        }
        spans.push(match end == at {
            true => format!("g{g}-n{}", seqs[at]),
            false => format!("g{g}-n{}..g{g}-n{}", seqs[at], seqs[end]),
        });
        at = end + 1;
    }
    spans.join(", ")
}

fn clip(text: &str) -> String {
    text.chars().take(60).collect()
}

/// Where the checkpoint is kept: beside the log, as `--checkpoint
/// state.json` run in the log's directory does, or (while running only)
/// in a directory of its own, where no rotated log can be looked for.
fn checkpoint_path(dir: &Path, scope: Scope) -> PathBuf {
    match scope {
        Scope::Everything => dir.join("state.json"),
        Scope::WhileRunning => {
            let own = dir.join("state");
            std::fs::create_dir(&own).unwrap();
            own.join("state.json")
        }
    }
}

fn identity(file: &File) -> (u64, u64) {
    let meta = file.metadata().unwrap();
    (meta.dev(), meta.ino())
}

/// Whether process `pid` holds the file with this identity open.
fn holds_open(pid: u32, identity: (u64, u64)) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.flatten().any(|fd| {
            std::fs::metadata(fd.path()).is_ok_and(|meta| (meta.dev(), meta.ino()) == identity)
        })
    })
}
