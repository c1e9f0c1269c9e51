//! Standard input, and files named to be read like it (pipes and FIFOs),
//! read on a thread of their own so the pipeline never waits on a read:
//! each input in turn, from its start to its end or until intake stops.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::{ReaderThread, is_pipe, lines};
use crate::chunk::Stream;
use crate::config::InputConfig;
use crate::multiline::Split;
use crate::pipeline::Intake;

/// Starts reading standard input into `queue`.
pub(crate) fn spawn(
    intake: Intake,
    split: impl Into<Split>,
) -> io::Result<(ReaderThread, Arc<AtomicBool>)> {
    // A duplicate of fd 0: reads go straight to the kernel in large
    // blocks, without std's small line buffer in between.
    let stdin = File::from(io::stdin().as_fd().try_clone_to_owned()?);
    let input = Piped {
        stream: Stream::stdin(),
        open: Box::new(move || Ok(Box::new(stdin) as Box<dyn Input>)),
    };
    spawn_reader(vec![input], intake, split)
}

/// Files named to be read once, among them a FIFO or another pipe
/// (`shipper <(app)` names `/dev/fd/63`): each is read in turn like
/// standard input, opened on the reader's thread so that a FIFO
/// waiting for its writer does not keep a signal from stopping the
/// run. A pipe has no position to save, so `--checkpoint` is refused.
pub(crate) fn spawn_pipes(
    files: &InputConfig,
    split: impl Into<Split>,
    intake: Intake,
) -> anyhow::Result<(ReaderThread, Arc<AtomicBool>)> {
    use anyhow::Context;
    for name in &files.paths {
        let path = Path::new(name);
        std::fs::metadata(path)
            .with_context(|| format!("could not open '{}'", crate::diagnostics::shown(path)))?;
        if files.checkpoint.is_some() && is_pipe(path) {
            anyhow::bail!(
                "'{}' is a pipe or FIFO: it has no position for --checkpoint to save \
                 (read it without --checkpoint)",
                crate::diagnostics::shown(path)
            );
        }
    }
    spawn_named(&files.paths, intake, split).context("could not start reading files")
}

/// Starts reading the files `names`, in order, each to its end, into
/// `queue`; each is opened only when its turn comes.
fn spawn_named(
    names: &[String],
    intake: Intake,
    split: impl Into<Split>,
) -> io::Result<(ReaderThread, Arc<AtomicBool>)> {
    spawn_reading(named(names), intake, split.into(), false)
}

/// Starts reading the dead-letter files `names` like files named, each
/// letter shipped as its event again (`replay`).
pub(crate) fn spawn_letters(
    names: &[String],
    intake: Intake,
    max_line: usize,
) -> io::Result<(ReaderThread, Arc<AtomicBool>)> {
    spawn_reading(named(names), intake, Split::from(max_line), true)
}

/// Each file named, to open when its turn comes.
fn named(names: &[String]) -> Vec<Piped> {
    names
        .iter()
        .map(|name| {
            let name = name.clone();
            Piped {
                stream: Stream::piped(&name),
                open: Box::new(move || open_named(Path::new(&name))),
            }
        })
        .collect()
}

/// Opens a file named on the command line; a FIFO waits here for a writer.
fn open_named(path: &Path) -> io::Result<Box<dyn Input>> {
    match File::open(path) {
        Ok(file) => Ok(Box::new(file)),
        Err(err) => Err(io::Error::new(
            err.kind(),
            format!(
                "could not open '{}': {err}",
                crate::diagnostics::shown(path)
            ),
        )),
    }
}

/// One input read like standard input, from its start to its end: how
/// events name it, and how to open it. Opening happens on the reader's
/// thread: opening a FIFO waits for a writer, and a signal must still be
/// heard meanwhile.
pub(crate) struct Piped {
    /// What its events name.
    pub stream: Arc<Stream>,
    /// Opens it, on the reader's thread.
    pub open: Box<dyn FnOnce() -> io::Result<Box<dyn Input>> + Send>,
}

/// An input read like standard input: something to read, that can say
/// whether there is anything to read before a read would wait for it.
pub(crate) trait Input: Read + Send {
    /// Waits up to `timeout` for something to read (or the end); `false`
    /// when the time passed first. Inputs that never wait have something
    /// at once.
    fn ready_within(&self, timeout: Duration) -> bool {
        let _ = timeout;
        true
    }
}

impl Input for File {
    fn ready_within(&self, timeout: Duration) -> bool {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let mut fds = [PollFd::new(self.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        // An error (a descriptor poll cannot watch) says nothing: read.
        !matches!(poll(&mut fds, timeout), Ok(0))
    }
}

impl Input for &'static [u8] {}

impl Input for io::Cursor<Vec<u8>> {}

/// What a reader thread shares with the run while it works.
#[derive(Clone, Default)]
struct Shared {
    /// Bytes of a line read whose end has not come (yet).
    unfinished: super::Unfinished,
    /// Set while the thread waits in an open or a read that may never
    /// return (a silent pipe); clear while it splits and hands over what
    /// it read, which it always finishes.
    blocked: Arc<AtomicBool>,
}

/// Reads `inputs` one after the other to their ends on a thread of its
/// own, splitting them into lines and pushing them into `queue` until the
/// inputs end or intake stops. Returns the handle and the thread's
/// `blocked` flag.
pub(crate) fn spawn_reader(
    inputs: Vec<Piped>,
    intake: Intake,
    split: impl Into<Split>,
) -> io::Result<(ReaderThread, Arc<AtomicBool>)> {
    spawn_reading(inputs, intake, split.into(), false)
}

/// `spawn_reader`; with `letters`, the lines are dead letters, each
/// shipped as its event again.
fn spawn_reading(
    inputs: Vec<Piped>,
    intake: Intake,
    split: Split,
    letters: bool,
) -> io::Result<(ReaderThread, Arc<AtomicBool>)> {
    let (tx, done) = tokio::sync::oneshot::channel();
    let shared = Shared::default();
    let theirs = shared.clone();
    let name = inputs
        .first()
        .map_or("nothing".into(), |input| input.stream.name.clone());
    let thread = std::thread::Builder::new()
        .name(format!("read {name}"))
        .spawn(move || {
            let result = read_inputs(inputs, &intake, &split, &theirs, letters);
            intake.close();
            let _ = tx.send(result);
        })?;
    let handle = ReaderThread {
        done,
        thread,
        unfinished: shared.unfinished,
    };
    Ok((handle, shared.blocked))
}

/// Opens and reads each input in turn until intake stops.
fn read_inputs(
    inputs: Vec<Piped>,
    intake: &Intake,
    split: &Split,
    shared: &Shared,
    letters: bool,
) -> io::Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    for input in inputs {
        if !intake.may_read() {
            break;
        }
        shared.blocked.store(true, Relaxed);
        let opened = (input.open)();
        shared.blocked.store(false, Relaxed);
        let unwrap = letters.then(super::replay::Unwrap::new);
        read_to_end(input.stream, opened?, intake, split, shared, unwrap)?;
    }
    Ok(())
}

/// Reads one input to its end, or until intake stops.
fn read_to_end(
    stream: Arc<Stream>,
    reader: Box<dyn Input>,
    intake: &Intake,
    split: &Split,
    shared: &Shared,
    mut unwrap: Option<super::replay::Unwrap>,
) -> io::Result<()> {
    let mut splitter = lines::LineSplitter::new(Arc::clone(&stream), split.clone());
    let mut reader = UntilStopped {
        inner: reader,
        intake,
        blocked: &shared.blocked,
    };
    // The queue counts every line it is offered, even once closed. Dead
    // letters go in as their events; a line that is none stops the
    // reading there.
    let not_letter = std::cell::RefCell::new(None);
    let mut push = |chunk| match &mut unwrap {
        None => {
            let _ = intake.push(chunk);
        }
        Some(_) if not_letter.borrow().is_some() => {}
        Some(unwrap) => {
            let (events, failed) = unwrap.unwrap(&chunk);
            for events in events {
                let _ = intake.push(events);
            }
            *not_letter.borrow_mut() = failed;
        }
    };
    loop {
        // An event waiting for its next line ships when its time is up,
        // even while the input is silent.
        if let Some(until) = splitter.held_until()
            && !reader.ready_by(until)
        {
            splitter.flush(&mut push);
        }
        let read = splitter.read_from(&mut reader, &mut push);
        if let Some(error) = not_letter.borrow_mut().take() {
            return Err(error);
        }
        shared
            .unfinished
            .set([(Arc::clone(&stream), splitter.unfinished())]);
        match read {
            Ok(true) => continue,
            Ok(false) => return Ok(()),
            // Stopped: the start of an unfinished line stays unshipped,
            // but an event waiting for its next line is whole: it ships.
            Err(err) if is_stop(&err) => {
                splitter.flush(&mut push);
                return Ok(());
            }
            Err(err) => {
                splitter.flush(&mut push);
                return Err(err);
            }
        }
    }
}

/// How long one wait for input lasts at most, so that a run stopping is
/// noticed while an event waits for its next line.
const WAIT_SLICE: Duration = Duration::from_millis(50);

/// What an `UntilStopped` read returns once intake is stopping: the end of
/// reading, but not the end of the input, so an unfinished line is no line.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("intake stopped")
    }
}

impl std::error::Error for Stopped {}

/// Whether a read ended because intake is stopping.
fn is_stop(err: &std::io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<Stopped>())
}

/// A reader that stops reading once intake is stopping, so lines already
/// read are still shipped and nothing new is read.
struct UntilStopped<'q, R> {
    /// The input read.
    inner: R,
    /// Says whether intake still takes lines.
    intake: &'q Intake,
    /// Set for the time of each read.
    blocked: &'q AtomicBool,
}

impl UntilStopped<'_, Box<dyn Input>> {
    /// Waits until there is something to read, intake stops, or `until`
    /// comes; `false` only in the last case.
    fn ready_by(&self, until: Instant) -> bool {
        loop {
            if !self.intake.may_read() {
                return true;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if self.inner.ready_within(left.min(WAIT_SLICE)) {
                return true;
            }
        }
    }
}

impl<R: std::io::Read> std::io::Read for UntilStopped<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::sync::atomic::Ordering::Relaxed;
        if !self.intake.may_read() {
            return Err(std::io::Error::other(Stopped));
        }
        self.blocked.store(true, Relaxed);
        let read = self.inner.read(buf);
        self.blocked.store(false, Relaxed);
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::Chunk;
    use crate::config::{ReadFrom, ReadMode};

    /// `names` to read once, with `checkpoint` if given.
    fn named(names: &[&Path], checkpoint: Option<&Path>) -> InputConfig {
        InputConfig {
            paths: names
                .iter()
                .map(|name| name.display().to_string())
                .collect(),
            mode: ReadMode::Once,
            read_from: ReadFrom::Beginning,
            glob_interval: Duration::from_secs(1),
            poll: false,
            rotate_wait: Duration::from_secs(30),
            checkpoint: checkpoint.map(Path::to_owned),
            exclude: Vec::new(),
        }
    }

    fn intake() -> Intake {
        Intake::waiting(100)
    }

    /// A FIFO has no position to save: named with `--checkpoint`, the run
    /// is refused before anything is opened, as is a name with nothing
    /// there.
    #[test]
    fn a_pipe_with_a_checkpoint_or_a_missing_name_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let (fifo, log) = (dir.path().join("app.fifo"), dir.path().join("app.log"));
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        std::fs::write(&log, "one\n").unwrap();
        let state = dir.path().join("state.json");
        let refused = spawn_pipes(&named(&[&log, &fifo], Some(&state)), 100, intake())
            .err()
            .expect("a FIFO with a checkpoint is refused");
        let said = format!("{refused:#}");
        assert!(said.contains("app.fifo' is a pipe or FIFO"), "{said}");
        assert!(said.contains("no position for --checkpoint"), "{said}");

        let missing = dir.path().join("missing.log");
        let refused = spawn_pipes(&named(&[&fifo, &missing], None), 100, intake())
            .err()
            .expect("a missing name is refused");
        let said = format!("{refused:#}");
        assert!(said.contains("could not open '"), "{said}");
        assert!(said.contains("missing.log"), "{said}");
    }

    /// Each input is opened only when its turn comes: one gone by then
    /// ends reading with an error that names it, after the inputs before
    /// it were read whole.
    #[test]
    fn an_input_gone_when_its_turn_comes_ends_reading_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let (fifo, log) = (dir.path().join("app.fifo"), dir.path().join("app.log"));
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        std::fs::write(&log, "never read\n").unwrap();
        let intake = intake();
        let (reader, _) = spawn_pipes(&named(&[&fifo, &log], None), 100, intake.clone()).unwrap();
        // The reader waits at the FIFO for a writer: the file goes meanwhile.
        std::fs::remove_file(&log).unwrap();
        std::fs::write(&fifo, "from the pipe\n").unwrap();
        let result = reader.done.blocking_recv().unwrap();
        reader.thread.join().unwrap();
        let err = result.expect_err("the file was gone");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("could not open '"), "{err}");
        assert!(err.to_string().contains("app.log"), "{err}");
        assert_eq!(intake.counts().submitted, 1, "the pipe's line was read");
    }

    #[test]
    fn the_reader_thread_is_joined_at_the_end_of_input() {
        let intake = Intake::waiting(100);
        let input = std::io::Cursor::new(b"a\nb\n\nc".to_vec());
        let input = Piped {
            stream: crate::chunk::Stream::named("test"),
            open: Box::new(move || Ok(Box::new(input) as Box<dyn Input>)),
        };
        let (reader, _) = spawn_reader(vec![input], intake.clone(), 100).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(crate::pipeline::tests::within(
            "the input read to its end",
            async {
                reader.done.await.unwrap().unwrap();
                reader.thread.join().unwrap();
                let counts = intake.counts();
                assert_eq!((counts.submitted, counts.blank), (3, 1));
                let events: usize = intake.taken().await.iter().map(Chunk::len).sum();
                assert_eq!(events, 3, "the reader closed intake when it was done");
            },
        ));
    }

    /// An input read like standard input, holding `text`, or failing to open.
    fn piped(name: &str, text: Option<&'static str>) -> Piped {
        Piped {
            stream: crate::chunk::Stream::named(name),
            open: Box::new(move || match text {
                Some(text) => Ok(Box::new(text.as_bytes()) as Box<dyn Input>),
                None => Err(std::io::Error::other("no such pipe")),
            }),
        }
    }

    #[test]
    fn inputs_read_like_stdin_are_read_in_turn_each_under_its_name() {
        let intake = Intake::waiting(100);
        let inputs = vec![
            piped("first", Some("a\nb")),
            piped("second", Some("c\n")),
            piped("third", None),
            piped("fourth", Some("never read\n")),
        ];
        let (reader, blocked) = spawn_reader(inputs, intake.clone(), 100).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(crate::pipeline::tests::within(
            "the inputs read in turn",
            async {
                let result = reader.done.await.unwrap();
                assert_eq!(result.unwrap_err().to_string(), "no such pipe");
                reader.thread.join().unwrap();
                let mut lines = Vec::new();
                for chunk in intake.taken().await {
                    for span in &chunk.spans {
                        let line = String::from_utf8_lossy(chunk.line(span)).into_owned();
                        lines.push((chunk.stream.name.to_string(), line));
                    }
                }
                let expected = [("first", "a"), ("first", "b"), ("second", "c")];
                let expected: Vec<_> = expected
                    .iter()
                    .map(|(name, line)| (name.to_string(), line.to_string()))
                    .collect();
                assert_eq!(lines, expected);
            },
        ));
        assert!(!blocked.load(std::sync::atomic::Ordering::Relaxed));
    }
}
