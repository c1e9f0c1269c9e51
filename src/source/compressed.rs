//! Compressed files, told by their name or by their first bytes: their
//! bytes are not lines, so they are never read as if they were. A glob
//! passes them over; a file named on its own is refused.

use std::io::Read;
use std::path::Path;

/// The names compressors give their files, and the format each names.
const EXTENSIONS: [(&str, &str); 9] = [
    (".gz", "gzip"),
    (".tgz", "gzip"),
    (".bz2", "bzip2"),
    (".xz", "xz"),
    (".zst", "zstd"),
    (".lz4", "lz4"),
    (".lzma", "lzma"),
    (".Z", "compress"),
    (".zip", "zip"),
];

/// What each format's files start with. None of them starts a line of
/// text: each holds a control byte or a byte that is not UTF-8.
const MAGIC: [(&[u8], &str); 5] = [
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"PK\x03\x04", "zip"),
];

/// bzip2's magic, `BZh` and a block size, is text: the bytes after it (a
/// block's magic, or the end of an empty stream's) are needed to tell.
const BZIP2_AFTER: [&[u8]; 2] = [b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90"];

/// First bytes enough to tell every format.
pub(crate) const MAGIC_BYTES: usize = 10;

/// The compression format `path`'s name says, if any.
pub(crate) fn by_name(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.as_encoded_bytes();
    EXTENSIONS.iter().find_map(|(extension, format)| {
        let extension = extension.as_bytes();
        let cased = if *extension == *b".Z" {
            name.ends_with(extension)
        } else {
            name.len() > extension.len()
                && name[name.len() - extension.len()..].eq_ignore_ascii_case(extension)
        };
        cased.then_some(*format)
    })
}

/// The compression format a file starting with `head` is in, if any. A
/// head shorter than a magic that it begins tells nothing yet.
pub(crate) fn by_magic(head: &[u8]) -> Option<&'static str> {
    if let Some((_, format)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(format);
    }
    let after = head
        .strip_prefix(b"BZh")
        .and_then(|rest| rest.split_first())
        .filter(|(size, _)| (b'1'..=b'9').contains(size))
        .map(|(_, after)| after)?;
    let complete = after.len() >= BZIP2_AFTER[0].len();
    BZIP2_AFTER
        .iter()
        .any(|magic| complete && after.starts_with(magic))
        .then_some("bzip2")
}

/// The compression format of the file at `path`, by its name, or, for a
/// regular file, by its first bytes.
pub(crate) fn of_file(path: &Path) -> Option<&'static str> {
    if let Some(format) = by_name(path) {
        return Some(format);
    }
    if !std::fs::metadata(path).is_ok_and(|meta| meta.is_file()) {
        return None;
    }
    let file = super::open_without_waiting(path).ok()?;
    let mut head = Vec::with_capacity(MAGIC_BYTES);
    file.take(MAGIC_BYTES as u64).read_to_end(&mut head).ok()?;
    by_magic(&head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressors_names_are_told_in_any_case() {
        for (name, format) in [
            ("app.log.3.gz", Some("gzip")),
            ("APP.LOG.GZ", Some("gzip")),
            ("a.bz2", Some("bzip2")),
            ("a.xz", Some("xz")),
            ("a.zst", Some("zstd")),
            ("a.lz4", Some("lz4")),
            ("a.zip", Some("zip")),
            ("a.Z", Some("compress")),
            ("a.z", None),
            ("app.log", None),
            ("app.log.2", None),
            ("gz", None),
            (".gz", None),
            ("a.gzip.log", None),
        ] {
            assert_eq!(by_name(Path::new(name)), format, "{name}");
        }
    }

    #[test]
    fn each_formats_first_bytes_are_told_and_text_is_not() {
        for (head, format) in [
            (&b"\x1f\x8b\x08\x00\x00\x00"[..], Some("gzip")),
            (b"\xfd7zXZ\x00\x00\x04", Some("xz")),
            (b"\x28\xb5\x2f\xfd\x24\x05", Some("zstd")),
            (b"\x04\x22\x4d\x18\x64", Some("lz4")),
            (b"PK\x03\x04\x14\x00", Some("zip")),
            (b"BZh91AY&SY\x00", Some("bzip2")),
            (b"BZh9\x17\x72\x45\x38\x50\x90", Some("bzip2")),
            (b"BZh9 is a line\n", None),
            (b"BZh91AY", None),
            (b"{\"msg\":\"gzip\"}\n", None),
            (b"\x1f", None),
            (b"", None),
            (b"\xfd7zX", None),
            (b"PK is a name\n", None),
        ] {
            assert_eq!(by_magic(head), format, "{head:?}");
        }
    }

    #[test]
    fn a_file_is_told_by_its_name_or_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("app.log");
        let misnamed = dir.path().join("app.log.2");
        let named = dir.path().join("empty.gz");
        std::fs::write(&plain, "a line\n").unwrap();
        std::fs::write(&misnamed, b"\x28\xb5\x2f\xfd\x24\x05\x29\x00").unwrap();
        std::fs::write(&named, "").unwrap();
        assert_eq!(of_file(&plain), None);
        assert_eq!(of_file(&misnamed), Some("zstd"));
        assert_eq!(of_file(&named), Some("gzip"));
        assert_eq!(of_file(&dir.path().join("missing")), None);
        assert_eq!(of_file(dir.path()), None, "a directory");
    }
}
