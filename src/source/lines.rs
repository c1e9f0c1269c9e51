//! Splits a byte stream into lines: large reads, memchr, bounded memory.
//!
//! A line ends at `\n`; a `\r` before it is removed; a last line without a
//! newline is still a line at end of input. A line longer than the limit
//! keeps its first `max_line` bytes and the rest is skipped as it is read,
//! so memory never grows past the limit plus one read.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use memchr::memchr_iter;

use crate::chunk::{Chunk, Span, Stream};
use crate::multiline::{Grouper, Open, Split};

/// Bytes asked for in one read.
const READ_SIZE: usize = 256 * 1024;

/// Splits what is read from one stream into chunks of lines, keeping the
/// start of a line whose end has not come yet.
pub(crate) struct LineSplitter {
    /// `buf[..filled]` holds the start of a line whose newline has not come yet.
    buf: Vec<u8>,
    filled: usize,
    /// Longest line kept whole.
    max_line: usize,
    /// Bytes asked for in one read.
    read_size: usize,
    /// Set while the rest of an over-long line is being skipped; its first
    /// `max_line` bytes wait in `buf`.
    cut: Option<Cut>,
    /// Named in every chunk.
    stream: Arc<Stream>,
    /// Position in the stream just past the last byte read.
    read: u64,
    /// How lines join into events; `None`: each line is one.
    grouping: Option<Arc<Grouper>>,
    /// The last event read, while its next line may still continue it.
    held: Option<Held>,
}

/// An event whose next line has not come yet: held until a line that does
/// not continue it comes, its time is up, or reading ends.
#[derive(Debug)]
struct Held {
    /// Its lines, joined by `\n` (within the line limit).
    bytes: Vec<u8>,
    /// Its span in `bytes`.
    span: Span,
    /// What the next line must look like to join it.
    open: OpenEvent,
    /// Position in the stream of its first line: where reading resumes
    /// if it is never delivered.
    from: u64,
    /// When its last line came.
    since: Instant,
}

/// What the splitter knows of the event still open (the last one read).
#[derive(Debug, Clone, Copy)]
struct OpenEvent {
    state: Open,
    /// Its full length, lines and separators, before any cut.
    full: u64,
}

impl OpenEvent {
    /// Whether a later line may still join it.
    fn may_grow(&self) -> bool {
        !matches!(self.state, Open::Closed | Open::Line { indented: true })
    }
}

/// What is known of an over-long line whose end has not come yet.
#[derive(Debug, Clone, Copy)]
struct Cut {
    /// Bytes so far.
    length: u64,
    /// Only whitespace so far: if it stays so, the line is blank.
    blank: bool,
    /// The last byte so far is `\r`: if the newline comes next, it is
    /// part of the terminator, not of the line.
    ends_in_cr: bool,
}

impl Cut {
    fn of(bytes: &[u8]) -> Cut {
        let mut cut = Cut {
            length: 0,
            blank: true,
            ends_in_cr: false,
        };
        cut.extend(bytes);
        cut
    }

    fn extend(&mut self, bytes: &[u8]) {
        self.length += bytes.len() as u64;
        self.blank = self.blank && is_blank(bytes);
        if let Some(&last) = bytes.last() {
            self.ends_in_cr = last == b'\r';
        }
    }

    /// The line's length without its terminator.
    fn line_length(&self) -> u64 {
        self.length - u64::from(self.ends_in_cr)
    }
}

impl LineSplitter {
    pub(crate) fn new(stream: Arc<Stream>, split: impl Into<Split>) -> LineSplitter {
        let split = split.into();
        LineSplitter {
            buf: Vec::new(),
            filled: 0,
            max_line: split.max_line,
            read_size: READ_SIZE,
            cut: None,
            stream,
            read: 0,
            grouping: split.grouping,
            held: None,
        }
    }

    /// A splitter for a stream whose first `offset` bytes were read before.
    pub(crate) fn resuming(
        stream: Arc<Stream>,
        split: impl Into<Split>,
        offset: u64,
    ) -> LineSplitter {
        LineSplitter {
            read: offset,
            ..LineSplitter::new(stream, split)
        }
    }

    /// Reads once and hands the lines it completes to `emit`, as one chunk.
    /// Returns `false` at end of input, after the last line went out.
    pub(crate) fn read_from(
        &mut self,
        reader: &mut impl Read,
        emit: &mut impl FnMut(Chunk),
    ) -> io::Result<bool> {
        if self.read_some(reader, emit)? == 0 {
            self.finish(emit);
            return Ok(false);
        }
        Ok(true)
    }

    /// Reads once and hands the lines it completes to `emit`; returns the
    /// bytes read. At the end of what there is to read (0), a line still
    /// being written stays held: more of it may come.
    pub(crate) fn read_some(
        &mut self,
        reader: &mut impl Read,
        emit: &mut impl FnMut(Chunk),
    ) -> io::Result<usize> {
        if self.buf.len() < self.filled + self.read_size {
            self.buf.resize(self.filled + self.read_size, 0);
        }
        let n = loop {
            match reader.read(&mut self.buf[self.filled..]) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        if n == 0 {
            return Ok(0);
        }
        let mut lines = self.lines(n);
        let fresh = self.filled;
        self.filled += n;
        self.read += n as u64;
        let Some(start) = self.end_long_line(&mut lines) else {
            lines.emit(self, emit, true);
            return Ok(n);
        };
        let start = self.split(start, start.max(fresh), &mut lines);
        self.keep_tail(start);
        lines.emit(self, emit, true);
        Ok(n)
    }

    /// Reads about `expected` bytes at a time, within bounds: a file that
    /// grows a line at a time needs no large buffer.
    pub(crate) fn expect(&mut self, expected: u64) {
        self.read_size = (expected as usize).clamp(4096, READ_SIZE);
    }

    /// Bytes the read buffer holds, for deciding when to give it back.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Gives back the read buffer while nothing is being read, keeping only
    /// a line still being written: a thousand idle files hold no buffers.
    pub(crate) fn rest(&mut self) {
        self.buf.truncate(self.filled);
        self.buf.shrink_to_fit();
    }

    /// End of input, or reading stopped: the unfinished line, if any, is a
    /// line too.
    pub(crate) fn finish(&mut self, emit: &mut impl FnMut(Chunk)) {
        let mut lines = self.lines(self.filled);
        match self.cut.take() {
            Some(cut) => lines.push_cut(&self.buf[..self.max_line], cut, self.read),
            None if self.filled > 0 => lines.push(&self.buf[..self.filled], self.read),
            None => {}
        }
        self.filled = 0;
        lines.emit(self, emit, false);
    }

    /// Ships the event held for its next line, if any: its time is up, or
    /// reading stops.
    pub(crate) fn flush(&mut self, emit: &mut impl FnMut(Chunk)) {
        if self.held.is_some() {
            let lines = self.lines(0);
            lines.emit(self, emit, false);
        }
    }

    /// Until when the event held for its next line waits for it, if one is.
    pub(crate) fn held_until(&self) -> Option<Instant> {
        let grouping = self.grouping.as_ref()?;
        self.held.as_ref().map(|held| held.since + grouping.timeout)
    }

    /// The lines of a read of about `capacity` bytes, after the event held
    /// for its next line.
    fn lines(&mut self, capacity: usize) -> Lines {
        let mut lines = Lines::new(capacity, self.max_line, self.read - self.unfinished());
        lines.grouping = self.grouping.clone();
        if let Some(held) = self.held.take() {
            lines.resume(held);
        }
        lines
    }

    /// Bytes of a line read whose end has not come yet.
    pub(crate) fn unfinished(&self) -> u64 {
        match self.cut {
            Some(cut) => cut.length,
            None => self.filled as u64,
        }
    }

    /// Where the first line not shipped yet starts: that of an event held
    /// for its next line, or the unfinished line. Every event before it is
    /// complete.
    pub(crate) fn complete_to(&self) -> u64 {
        match &self.held {
            Some(held) => held.from,
            None => self.read - self.unfinished(),
        }
    }

    /// Position in the stream just past the last byte read.
    pub(crate) fn read_to(&self) -> u64 {
        self.read
    }

    /// Stream position of `buf[index]`, for an index among the bytes read
    /// in one piece up to the last read (the fresh bytes, or any byte when
    /// no long line is being skipped).
    fn position(&self, index: usize) -> u64 {
        self.read - (self.filled - index) as u64
    }

    /// While an over-long line is being skipped: looks for its newline in
    /// the fresh bytes. Returns where the next line starts, or `None` when
    /// the whole read belonged to the long line.
    fn end_long_line(&mut self, lines: &mut Lines) -> Option<usize> {
        let Some(cut) = self.cut.as_mut() else {
            return Some(0);
        };
        let kept = self.max_line;
        let fresh = &self.buf[kept..self.filled];
        let Some(newline) = memchr::memchr(b'\n', fresh) else {
            cut.extend(fresh);
            self.filled = kept;
            return None;
        };
        cut.extend(&fresh[..newline]);
        let cut = self.cut.take().expect("checked above");
        let end = self.position(kept + newline + 1);
        lines.push_cut(&self.buf[..kept], cut, end);
        Some(kept + newline + 1)
    }

    /// Adds the complete lines from `start` on (newlines are searched from
    /// `scan` on) and returns where the unfinished tail starts.
    fn split(&self, mut start: usize, scan: usize, lines: &mut Lines) -> usize {
        for newline in memchr_iter(b'\n', &self.buf[scan..self.filled]) {
            let end = scan + newline;
            lines.push(&self.buf[start..end], self.position(end + 1));
            start = end + 1;
        }
        start
    }

    /// Moves the unfinished line to the front; once it is longer than the
    /// limit (a final `\r` may still be the terminator's), only its first
    /// bytes are kept.
    fn keep_tail(&mut self, start: usize) {
        self.buf.copy_within(start..self.filled, 0);
        self.filled -= start;
        let limit = self.max_line;
        let over =
            self.filled > limit + 1 || (self.filled == limit + 1 && self.buf[limit] != b'\r');
        if over {
            self.cut = Some(Cut::of(&self.buf[..self.filled]));
            self.filled = limit;
        }
    }
}

/// The lines of one read, copied into a buffer of their own: only the kept
/// bytes of each line, so what the queue counts is what the chunk holds.
struct Lines {
    data: Vec<u8>,
    spans: Vec<Span>,
    blank: u64,
    max_line: usize,
    /// How lines join into events, if they do.
    grouping: Option<Arc<Grouper>>,
    /// The last span's event while a line may still join it.
    open: Option<OpenEvent>,
    /// Stream position of the open event's first line.
    open_from: u64,
    /// Stream position just past the last line pushed, blank or not.
    last_end: u64,
    /// Lines joined into an earlier event, in `spans`.
    joined: u64,
    /// The held event put first, as it was: its end, and when its last
    /// line came.
    resumed: Option<(u64, Instant)>,
}

impl Lines {
    /// Lines read from stream position `from` on.
    fn new(capacity: usize, max_line: usize, from: u64) -> Lines {
        Lines {
            data: Vec::with_capacity(capacity),
            spans: Vec::new(),
            blank: 0,
            max_line,
            grouping: None,
            open: None,
            open_from: from,
            last_end: from,
            joined: 0,
            resumed: None,
        }
    }

    /// Puts first the event held for its next line, still open.
    fn resume(&mut self, held: Held) {
        self.data.extend_from_slice(&held.bytes);
        self.spans.push(held.span);
        self.open = Some(held.open);
        self.open_from = held.from;
        self.joined = u64::from(held.span.lines - 1);
        self.resumed = Some((held.span.end, held.since));
    }

    /// A whole line, without its `\n`, ending at stream position `end`.
    fn push(&mut self, line: &[u8], end: u64) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if is_blank(line) {
            self.blank += 1;
        } else if line.len() > self.max_line {
            self.keep(&line[..self.max_line], Some(line.len() as u64), end);
        } else {
            self.keep(line, None, end);
        }
        self.last_end = end;
    }

    /// An over-long line of which only `kept` is still held.
    fn push_cut(&mut self, kept: &[u8], cut: Cut, end: u64) {
        let length = cut.line_length();
        if cut.blank {
            self.blank += 1;
        } else if length > self.max_line as u64 {
            self.keep(kept, Some(length), end);
        } else {
            self.keep(&kept[..length as usize], None, end);
        }
        self.last_end = end;
    }

    /// A line that is not blank: it joins the open event, or starts one.
    fn keep(&mut self, bytes: &[u8], cut_from: Option<u64>, end: u64) {
        let full = cut_from.unwrap_or(bytes.len() as u64);
        if let Some(grouper) = &self.grouping {
            let (data, spans) = (&self.data, &self.spans);
            let first = || {
                let span = spans.last().expect("an open event has a span");
                let text = &data[span.start as usize..(span.start + span.len) as usize];
                memchr::memchr(b'\n', text).map_or(text, |newline| &text[..newline])
            };
            let (joins, state) = grouper.feed(self.open.map(|open| open.state), first, bytes);
            let max_lines = grouper.max_lines;
            if joins {
                let span = self.spans.last_mut().expect("an open event has a span");
                let open = self.open.as_mut().expect("joined to an open event");
                if span.lines < max_lines {
                    open.state = state;
                    open.full += 1 + full;
                    join(&mut self.data, span, bytes, open.full, self.max_line, end);
                    self.joined += 1;
                    return;
                }
                // Full: it is cut, and the rest of the trace goes on in
                // an event of its own.
                span.cut_from = Some(open.full.max(u64::from(span.len) + 1));
            }
            self.open = Some(OpenEvent { state, full });
            self.open_from = self.last_end;
        }
        self.spans.push(Span {
            start: self.data.len() as u32,
            len: bytes.len() as u32,
            cut_from,
            end,
            lines: 1,
        });
        self.data.extend_from_slice(bytes);
    }

    /// Hands the lines over as one chunk. While `hold`, the last event is
    /// kept back when a later line may still join it.
    fn emit(mut self, splitter: &mut LineSplitter, emit: &mut impl FnMut(Chunk), hold: bool) {
        if let Some(open) = self.open
            && hold
            && open.may_grow()
        {
            let span = self.spans.pop().expect("an open event has a span");
            let start = span.start as usize;
            let bytes = self.data[start..start + span.len as usize].to_vec();
            self.data.truncate(start);
            self.joined -= u64::from(span.lines - 1);
            let since = match self.resumed {
                Some((end, since)) if end == span.end => since,
                _ => Instant::now(),
            };
            splitter.held = Some(Held {
                bytes,
                span: Span { start: 0, ..span },
                open,
                from: self.open_from,
                since,
            });
        }
        if self.spans.is_empty() && self.blank == 0 {
            return;
        }
        emit(Chunk {
            data: Arc::new(self.data),
            spans: self.spans,
            blank: self.blank,
            joined: self.joined,
            read_at: SystemTime::now(),
            stream: Arc::clone(&splitter.stream),
        });
    }
}

/// Adds `line` to the event `span` (whose bytes end `data`), within the
/// line limit: past it the event is cut, and `full` says how long it was.
fn join(data: &mut Vec<u8>, span: &mut Span, line: &[u8], full: u64, max_line: usize, end: u64) {
    let room = max_line.saturating_sub(span.len as usize);
    if room > 0 {
        let taken = line.len().min(room - 1);
        data.push(b'\n');
        data.extend_from_slice(&line[..taken]);
        span.len += 1 + taken as u32;
    }
    if full > u64::from(span.len) {
        span.cut_from = Some(full);
    }
    span.end = end;
    span.lines += 1;
}

/// Empty or only whitespace.
fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its input in pieces of at most `step` bytes.
    struct Trickle<'a> {
        input: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.input.len());
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input = &self.input[n..];
            Ok(n)
        }
    }

    /// A line's bytes and, when it was cut, its full length.
    type Line = (Vec<u8>, Option<u64>);

    /// The lines and the blank count, read `step` bytes at a time.
    fn split(input: &[u8], max_line: usize, step: usize) -> (Vec<Line>, u64) {
        let mut splitter = LineSplitter::new(Stream::named("test"), max_line);
        let mut reader = Trickle { input, step };
        let mut lines = Vec::new();
        let mut blank = 0;
        let mut emit = |chunk: Chunk| {
            blank += chunk.blank;
            for span in &chunk.spans {
                lines.push((chunk.line(span).to_vec(), span.cut_from));
            }
        };
        while splitter.read_from(&mut reader, &mut emit).unwrap() {}
        (lines, blank)
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|(line, _)| String::from_utf8_lossy(line).into_owned())
            .collect()
    }

    #[test]
    fn last_line_without_newline_is_a_line() {
        let (lines, blank) = split(b"a\nb", 100, 1000);
        assert_eq!(texts(&lines), ["a", "b"]);
        assert_eq!(blank, 0);
    }

    #[test]
    fn carriage_returns_are_removed_and_blank_lines_counted() {
        let (lines, blank) = split(b"a\r\n\r\n  \nb\n\n", 100, 1000);
        assert_eq!(texts(&lines), ["a", "b"]);
        assert_eq!(blank, 3);
    }

    #[test]
    fn a_final_blank_line_is_counted() {
        let (lines, blank) = split(b"a\n \t", 100, 1000);
        assert_eq!(texts(&lines), ["a"]);
        assert_eq!(blank, 1);
    }

    #[test]
    fn lines_split_across_reads_are_joined() {
        let input = b"first line\nsecond line\nthird";
        for step in 1..input.len() {
            let (lines, _) = split(input, 100, step);
            assert_eq!(
                texts(&lines),
                ["first line", "second line", "third"],
                "step {step}"
            );
        }
    }

    #[test]
    fn long_lines_keep_their_prefix_and_original_length() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 50));
        input.extend(b"\nafter\n");
        input.extend(std::iter::repeat_n(b'y', 30));
        for step in [1, 3, 7, 64, 4096] {
            let (lines, _) = split(&input, 10, step);
            assert_eq!(lines.len(), 4, "step {step}");
            assert_eq!(lines[0], (b"short".to_vec(), None));
            assert_eq!(lines[1], (vec![b'x'; 10], Some(50)), "step {step}");
            assert_eq!(lines[2], (b"after".to_vec(), None));
            assert_eq!(lines[3], (vec![b'y'; 10], Some(30)), "step {step}");
        }
    }

    #[test]
    fn the_result_does_not_depend_on_where_reads_end() {
        let mut input = b"0123456789\r\n".to_vec();
        input.extend(std::iter::repeat_n(b' ', 50));
        input.extend(b"\n\t\r\n");
        input.extend(std::iter::repeat_n(b'z', 11));
        input.extend(b"\r\nend");
        let whole = split(&input, 10, input.len());
        assert_eq!(texts(&whole.0), ["0123456789", "zzzzzzzzzz", "end"]);
        assert_eq!(
            whole.0[0].1, None,
            "a final \\r is the terminator's, not the line's"
        );
        assert_eq!(whole.0[1].1, Some(11));
        assert_eq!(whole.1, 2, "a long run of spaces is blank");
        for step in 1..input.len() {
            assert_eq!(split(&input, 10, step), whole, "step {step}");
        }
    }

    #[test]
    fn chunks_hold_only_the_kept_bytes() {
        let mut input = vec![b'x'; 5000];
        input.extend(b"\n\n   \nshort\r\n");
        let mut splitter = LineSplitter::new(Stream::named("test"), 100);
        let mut chunks = Vec::new();
        let mut reader = Trickle {
            input: &input,
            step: input.len(),
        };
        while splitter
            .read_from(&mut reader, &mut |chunk| chunks.push(chunk))
            .unwrap()
        {}
        let held: usize = chunks.iter().map(|chunk| chunk.data.len()).sum();
        let counted: usize = chunks.iter().map(Chunk::bytes).sum();
        assert_eq!(held, counted);
        assert_eq!(held, 105);
    }

    #[test]
    fn a_line_exactly_at_the_limit_is_whole() {
        let (lines, _) = split(b"0123456789\n", 10, 4);
        assert_eq!(lines, [(b"0123456789".to_vec(), None)]);
    }

    #[test]
    fn memory_stays_bounded_by_the_line_limit() {
        let input = vec![b'z'; 5 * READ_SIZE];
        let mut splitter = LineSplitter::new(Stream::named("test"), 1000);
        let mut reader = Trickle {
            input: &input,
            step: READ_SIZE,
        };
        let mut emitted = Vec::new();
        while splitter
            .read_from(&mut reader, &mut |chunk| emitted.push(chunk))
            .unwrap()
        {
            assert!(splitter.buf.len() <= 1000 + 1 + READ_SIZE);
        }
        assert_eq!(emitted.len(), 1);
        assert_eq!(emitted[0].spans[0].cut_from, Some(input.len() as u64));
    }

    /// Where each shipped line ends in the stream, read `step` bytes at a
    /// time by a splitter resuming at `offset`.
    fn ends(input: &[u8], max_line: usize, step: usize, offset: u64) -> Vec<u64> {
        let mut splitter = LineSplitter::resuming(Stream::named("test"), max_line, offset);
        let mut reader = Trickle { input, step };
        let mut ends = Vec::new();
        let mut emit = |chunk: Chunk| ends.extend(chunk.spans.iter().map(|span| span.end));
        while splitter.read_from(&mut reader, &mut emit).unwrap() {}
        assert_eq!(splitter.complete_to(), offset + input.len() as u64);
        ends
    }

    /// The same, worked out line by line.
    fn expected_ends(input: &[u8], offset: u64) -> Vec<u64> {
        let mut ends = Vec::new();
        let mut start = 0;
        for piece in input.split_inclusive(|&byte| byte == b'\n') {
            start += piece.len();
            let line = piece.strip_suffix(b"\n").unwrap_or(piece);
            if !is_blank(line.strip_suffix(b"\r").unwrap_or(line)) {
                ends.push(offset + start as u64);
            }
        }
        ends
    }

    #[test]
    fn a_resumed_stream_counts_positions_from_its_offset() {
        let input = b"one\r\n\ntwo\nthree";
        assert_eq!(ends(input, 100, 3, 1000), [1005, 1010, 1015]);
    }

    /// A splitter grouping as `auto` does, waiting `timeout` for a next
    /// line, events up to `max_line` bytes and `max_lines` lines.
    fn grouping(offset: u64, max_line: usize, max_lines: u32) -> LineSplitter {
        let split = Split::new(
            max_line,
            crate::multiline::Mode::Auto,
            std::time::Duration::from_secs(3600),
            max_lines,
        );
        LineSplitter::resuming(Stream::named("test"), split, offset)
    }

    /// An event: its text, its lines, and where it ends.
    type Event = (String, u32, u64);

    fn events_of(chunk: &Chunk, events: &mut Vec<Event>, joined: &mut u64) {
        *joined += chunk.joined;
        for span in &chunk.spans {
            let text = String::from_utf8_lossy(chunk.line(span)).into_owned();
            events.push((text, span.lines, span.end));
        }
    }

    /// The events of `input` grouped, read in pieces of `steps` bytes in
    /// turn, with a read finding nothing (a pause) after each; stops after
    /// `reads` reads when given (a crash), returning where reading would
    /// resume. Also returns the lines joined. Events hold up to 4 lines.
    fn grouped(
        input: &[u8],
        offset: u64,
        steps: &[usize],
        reads: Option<usize>,
        max_line: usize,
    ) -> (Vec<Event>, u64, u64) {
        grouped_within(input, offset, steps, reads, (max_line, 4))
    }

    /// The same, with events of up to `max_line` bytes and `max_lines`
    /// lines.
    fn grouped_within(
        input: &[u8],
        offset: u64,
        steps: &[usize],
        reads: Option<usize>,
        (max_line, max_lines): (usize, u32),
    ) -> (Vec<Event>, u64, u64) {
        let mut splitter = grouping(offset, max_line, max_lines);
        let (mut events, mut joined) = (Vec::new(), 0);
        let mut rest = input;
        let mut emit = |chunk: Chunk| events_of(&chunk, &mut events, &mut joined);
        for (count, step) in steps.iter().cycle().enumerate() {
            if reads == Some(count) {
                let resume = splitter.complete_to();
                return (events, joined, resume);
            }
            let mut reader = Trickle {
                input: rest,
                step: *step,
            };
            let n = splitter.read_some(&mut reader, &mut emit).unwrap();
            rest = &rest[n..];
            if n == 0 {
                break;
            }
            // A pause shorter than the timeout: nothing is due.
            assert!(
                splitter
                    .held_until()
                    .is_none_or(|until| until > Instant::now())
            );
            splitter.read_some(&mut &b""[..], &mut emit).unwrap();
        }
        splitter.finish(&mut emit);
        let resume = splitter.complete_to();
        (events, joined, resume)
    }

    const TRACES: &str = "INFO start\nERROR:root:lookup failed\nTraceback (most recent call last):\n  File \"a.py\", line 1\n\nKeyError: 'x'\n{\"message\":\"json\"}\n    at not.joined(a.js)\nException in thread \"main\" java.lang.RuntimeException: boom\n\tat A.main(A.java:1)\n\tat A.b(A.java:2)\n\tat A.c(A.java:3)\n\tat A.d(A.java:4)\n\tat A.e(A.java:5)\nINFO end\n";

    #[test]
    fn a_trace_is_one_event_and_held_lines_wait_for_the_next() {
        let (events, joined, resume) = grouped(TRACES.as_bytes(), 0, &[4096], None, 1000);
        let texts: Vec<&str> = events.iter().map(|(text, _, _)| text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "INFO start",
                "ERROR:root:lookup failed\nTraceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'",
                "{\"message\":\"json\"}",
                "    at not.joined(a.js)",
                "Exception in thread \"main\" java.lang.RuntimeException: boom\n\tat A.main(A.java:1)\n\tat A.b(A.java:2)\n\tat A.c(A.java:3)",
                "\tat A.d(A.java:4)\n\tat A.e(A.java:5)",
                "INFO end",
            ],
            "past --multiline-max-lines (4 here) a trace goes on in an event of its own"
        );
        let lines: u32 = events.iter().map(|(_, lines, _)| lines).sum();
        assert_eq!(u64::from(lines), events.len() as u64 + joined);
        assert_eq!(resume, TRACES.len() as u64);

        // Read whole but not ended: the last event waits for its next line.
        let mut splitter = grouping(0, 1000, 500);
        let mut chunks = Vec::new();
        splitter
            .read_some(&mut TRACES.as_bytes(), &mut |chunk| chunks.push(chunk))
            .unwrap();
        let mut shipped = Vec::new();
        chunks
            .iter()
            .for_each(|chunk| events_of(chunk, &mut shipped, &mut 0));
        assert_eq!(shipped.len(), 5, "{shipped:#?}");
        assert_eq!(
            splitter.complete_to(),
            shipped.last().unwrap().2,
            "reading resumes at the held event"
        );
        let mut flushed = Vec::new();
        splitter.flush(&mut |chunk| events_of(&chunk, &mut flushed, &mut 0));
        assert_eq!(flushed.len(), 1);
        assert_eq!(flushed[0].0, "INFO end");
    }

    #[test]
    fn an_event_longer_than_the_line_limit_is_cut_and_says_how_long_it_was() {
        let input = b"Traceback (most recent call last):\n  File \"a.py\"\nKeyError: 'x'\nnext\n";
        let (events, _, _) = grouped(input, 0, &[7], None, 40);
        assert_eq!(events[0].0, "Traceback (most recent call last):\n  Fil");
        assert_eq!(events[0].1, 3);
        let mut splitter = grouping(0, 40, 500);
        let mut cut = None;
        splitter
            .read_from(&mut &input[..], &mut |chunk: Chunk| {
                cut = cut.or(chunk.spans[0].cut_from);
            })
            .unwrap();
        splitter.finish(&mut |_| {});
        assert_eq!(cut, Some(62), "the three lines and their separators");
    }

    /// Lines a property test builds input from: traces' lines, ordinary
    /// lines, JSON, blank lines.
    const PIECES: [&str; 12] = [
        "INFO ordinary line\n",
        "ERROR:root:failed\n",
        "Traceback (most recent call last):\n",
        "  File \"a.py\", line 1, in f\n",
        "ValueError: bad\n",
        "\n",
        "The above exception was the direct cause of the following exception:\n",
        "{\"message\":\"json\"}\n",
        "java.lang.IllegalStateException: boom\n",
        "\tat A.main(A.java:1)\n",
        "Caused by: java.io.IOException: x\n",
        "panic: boom\r\n",
    ];

    proptest::proptest! {
        /// Grouping does not depend on where reads end, nor on pauses
        /// shorter than the timeout; and a crash after any read resumes
        /// (from where the checkpoint would) without shipping an event in
        /// halves or twice.
        #[test]
        fn grouping_does_not_depend_on_how_input_is_read(
            pieces in proptest::collection::vec(0..PIECES.len(), 0..60),
            steps in proptest::collection::vec(1usize..40, 1..5),
            crash_after in 0usize..20,
            max_line in 20usize..200,
        ) {
            let input: String = pieces.iter().map(|&piece| PIECES[piece]).collect();
            let input = input.as_bytes();
            let whole = grouped(input, 0, &[input.len().max(1)], None, max_line);
            let cut = grouped(input, 0, &steps, None, max_line);
            proptest::prop_assert_eq!(&cut, &whole);
            let lines = input.split_inclusive(|&byte| byte == b'\n').count() as u64;
            let blank = pieces.iter().filter(|&&piece| PIECES[piece] == "\n").count() as u64;
            proptest::prop_assert_eq!(lines, blank + whole.0.len() as u64 + whole.1);

            // (A trace cut at --multiline-max-lines goes on in an event of
            // its own, which a restart may group apart: not tested here.)
            let bounds = (max_line, 500);
            let whole = grouped_within(input, 0, &[input.len().max(1)], None, bounds);
            let (before, _, resume) = grouped_within(input, 0, &steps, Some(crash_after), bounds);
            let after = grouped_within(&input[resume as usize..], resume, &[4096], None, bounds);
            let mut shipped = before;
            shipped.extend(after.0);
            proptest::prop_assert_eq!(shipped, whole.0);
        }
    }

    proptest::proptest! {
        #[test]
        fn each_line_ends_where_its_terminator_does(
            input in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b' ', b'\r', b'\n']), 0..300),
            max_line in 1usize..20,
            step in 1usize..50,
        ) {
            proptest::prop_assert_eq!(ends(&input, max_line, step, 7), expected_ends(&input, 7));
        }
    }
}
