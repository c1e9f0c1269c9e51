//! Splits a byte stream into lines: large reads, memchr, bounded memory.
//!
//! A line ends at `\n`; a `\r` before it is removed; a last line without a
//! newline is still a line at end of input. A line longer than the limit
//! keeps its first `max_line` bytes and the rest is skipped as it is read,
//! so memory never grows past the limit plus one read.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::SystemTime;

use memchr::memchr_iter;

use super::{Chunk, Span};

/// Bytes asked for in one read.
const READ_SIZE: usize = 256 * 1024;

pub(crate) struct LineSplitter {
    /// `buf[..filled]` holds the start of a line whose newline has not come yet.
    buf: Vec<u8>,
    filled: usize,
    /// Longest line kept whole.
    max_line: usize,
    /// While the rest of an over-long line is being skipped: its length so far.
    cut_from: Option<u64>,
    /// Named in every chunk.
    source: Arc<str>,
}

impl LineSplitter {
    pub(crate) fn new(source: Arc<str>, max_line: usize) -> LineSplitter {
        LineSplitter {
            buf: vec![0; READ_SIZE],
            filled: 0,
            max_line,
            cut_from: None,
            source,
        }
    }

    /// Reads once and hands every line it completes to `emit`, in chunks.
    /// Returns `false` at end of input, after the last line went out.
    pub(crate) fn read_from(
        &mut self,
        reader: &mut impl Read,
        emit: &mut impl FnMut(Chunk),
    ) -> io::Result<bool> {
        if self.buf.len() < self.filled + READ_SIZE {
            self.buf.resize(self.filled + READ_SIZE, 0);
        }
        let n = loop {
            match reader.read(&mut self.buf[self.filled..]) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        let read_at = SystemTime::now();
        if n == 0 {
            self.finish(read_at, emit);
            return Ok(false);
        }
        let scan_from = self.filled;
        self.filled += n;
        let scan_from = match self.cut_from {
            Some(_) => match self.skip_rest_of_long_line(read_at, emit) {
                Some(()) => 0,
                None => return Ok(true),
            },
            None => scan_from,
        };
        self.split_complete_lines(scan_from, read_at, emit);
        Ok(true)
    }

    /// Skips the new bytes of an over-long line up to its newline; once it
    /// is found, emits the kept prefix and moves what follows to the front.
    fn skip_rest_of_long_line(
        &mut self,
        read_at: SystemTime,
        emit: &mut impl FnMut(Chunk),
    ) -> Option<()> {
        let kept = self.max_line;
        let fresh = &self.buf[kept..self.filled];
        let total = self.cut_from.expect("only called while skipping");
        let Some(newline) = memchr::memchr(b'\n', fresh) else {
            self.cut_from = Some(total + fresh.len() as u64);
            self.filled = kept;
            return None;
        };
        self.cut_from = None;
        let span = Span {
            start: 0,
            len: kept as u32,
            cut_from: Some(total + newline as u64),
        };
        emit(self.chunk(vec![span], 0, kept, read_at));
        let rest = kept + newline + 1;
        self.buf.copy_within(rest..self.filled, 0);
        self.filled -= rest;
        Some(())
    }

    /// Emits the complete lines in `buf[..filled]` (newlines are searched
    /// from `scan_from` on) and keeps the unfinished tail at the front.
    fn split_complete_lines(
        &mut self,
        scan_from: usize,
        read_at: SystemTime,
        emit: &mut impl FnMut(Chunk),
    ) {
        let mut spans = Vec::new();
        let mut blank = 0;
        let mut start = 0;
        for newline in memchr_iter(b'\n', &self.buf[scan_from..self.filled]) {
            let end = scan_from + newline;
            match line_span(&self.buf, start, end, self.max_line) {
                Some(span) => spans.push(span),
                None => blank += 1,
            }
            start = end + 1;
        }
        if start > 0 {
            emit(self.chunk(spans, blank, start, read_at));
            self.buf.copy_within(start..self.filled, 0);
            self.filled -= start;
        }
        if self.filled > self.max_line {
            self.cut_from = Some(self.filled as u64);
            self.filled = self.max_line;
        }
    }

    /// End of input: the unfinished line, if any, is a line too.
    fn finish(&mut self, read_at: SystemTime, emit: &mut impl FnMut(Chunk)) {
        let span = match self.cut_from.take() {
            Some(total) => Some(Span {
                start: 0,
                len: self.max_line as u32,
                cut_from: Some(total),
            }),
            None if self.filled > 0 => line_span(&self.buf, 0, self.filled, self.max_line),
            None => return,
        };
        let (spans, blank) = match span {
            Some(span) => (vec![span], 0),
            None => (Vec::new(), 1),
        };
        let end = self.filled;
        emit(self.chunk(spans, blank, end, read_at));
        self.filled = 0;
    }

    fn chunk(&self, spans: Vec<Span>, blank: u64, end: usize, read_at: SystemTime) -> Chunk {
        Chunk {
            data: Arc::new(self.buf[..end].to_vec()),
            spans,
            blank,
            read_at,
            source: Arc::clone(&self.source),
        }
    }
}

/// The span of `buf[start..end]` without a trailing `\r`, cut to
/// `max_line`, or `None` when the line is blank (empty or only whitespace).
fn line_span(buf: &[u8], start: usize, end: usize, max_line: usize) -> Option<Span> {
    let mut line = &buf[start..end];
    if let [rest @ .., b'\r'] = line {
        line = rest;
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let (len, cut_from) = if line.len() > max_line {
        (max_line, Some(line.len() as u64))
    } else {
        (line.len(), None)
    };
    Some(Span {
        start: start as u32,
        len: len as u32,
        cut_from,
    })
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
        let mut splitter = LineSplitter::new("test".into(), max_line);
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
    fn a_line_exactly_at_the_limit_is_whole() {
        let (lines, _) = split(b"0123456789\n", 10, 4);
        assert_eq!(lines, [(b"0123456789".to_vec(), None)]);
    }

    #[test]
    fn memory_stays_bounded_by_the_line_limit() {
        let input = vec![b'z'; 5 * READ_SIZE];
        let mut splitter = LineSplitter::new("test".into(), 1000);
        let mut reader = Trickle {
            input: &input,
            step: READ_SIZE,
        };
        let mut emitted = Vec::new();
        while splitter
            .read_from(&mut reader, &mut |chunk| emitted.push(chunk))
            .unwrap()
        {
            assert!(splitter.buf.len() <= 1000 + READ_SIZE);
        }
        assert_eq!(emitted.len(), 1);
        assert_eq!(emitted[0].spans[0].cut_from, Some(input.len() as u64));
    }
}
