//! The one error type of this crate: everything that comes from a file or the
//! network is a [`DatasetError`] naming the file (or URL) and what is wrong.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What went wrong reading, verifying or fetching data. Every variant names
/// the file or URL; `Display` gives a one-line message for the CLI.
#[derive(Debug)]
pub enum DatasetError {
    /// The operating system refused to read or write `path`.
    Io { path: PathBuf, source: io::Error },
    /// `path` starts with gzip's magic bytes but does not decompress.
    Gzip { path: PathBuf, source: io::Error },
    /// The first two bytes of an IDX file must be zero.
    BadMagic { path: PathBuf, magic: [u8; 4] },
    /// The IDX element type code is not one of 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E.
    UnsupportedType { path: PathBuf, code: u8 },
    /// `path` holds fewer bytes than its header promises (or than a header needs).
    Truncated {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    /// `path` holds more bytes than its header promises (`actual`: how many,
    /// when known without reading on; not for gzip).
    TrailingBytes {
        path: PathBuf,
        expected: u64,
        actual: Option<u64>,
    },
    /// The dimensions in the header of `path` multiply past what memory can address.
    TooLarge { path: PathBuf, dims: Vec<u64> },
    /// A well-formed IDX file that is not what the dataset needs (wrong element
    /// type or rank, image and label counts that differ, a label out of range).
    Invalid { path: PathBuf, message: String },
    /// Neither the md5 of the file nor the SHA-256 of its decompressed content
    /// matches the published value.
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// One download attempt failed (HTTP status, timeout, connection, short body).
    Download { url: String, message: String },
    /// A dataset file is missing and nothing could provide it. `attempts` lists
    /// what was tried; the message lists the ways to get the data.
    NotFound {
        dataset: &'static str,
        file: String,
        dir: PathBuf,
        attempts: Vec<String>,
        help: String,
    },
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DatasetError::*;
        match self {
            Io { path, source } => write!(f, "{}: {source}", path.display()),
            Gzip { path, source } => write!(f, "{}: corrupt gzip data: {source}", path.display()),
            BadMagic { path, magic } => write!(
                f,
                "{}: not an IDX file: magic bytes {:02x} {:02x} {:02x} {:02x}, expected 00 00 <type> <dims>",
                path.display(),
                magic[0],
                magic[1],
                magic[2],
                magic[3]
            ),
            UnsupportedType { path, code } => write!(
                f,
                "{}: unsupported IDX element type 0x{code:02x} (supported: 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)",
                path.display()
            ),
            Truncated { path, expected, actual } => write!(
                f,
                "{}: truncated: {expected} bytes expected, {actual} found",
                path.display()
            ),
            TrailingBytes {
                path,
                expected,
                actual: Some(actual),
            } => write!(
                f,
                "{}: {} trailing bytes: its header promises {expected} bytes, the file holds {actual}",
                path.display(),
                actual - expected
            ),
            TrailingBytes {
                path,
                expected,
                actual: None,
            } => write!(
                f,
                "{}: trailing bytes: its header promises {expected} bytes, the decompressed file holds more",
                path.display()
            ),
            TooLarge { path, dims } => {
                write!(f, "{}: IDX dimensions {dims:?} are too large to hold in memory", path.display())
            }
            Invalid { path, message } => write!(f, "{}: {message}", path.display()),
            Checksum { path, expected, actual } => write!(
                f,
                "{}: checksum mismatch: expected {expected}, got {actual}",
                path.display()
            ),
            Download { url, message } => write!(f, "downloading {url}: {message}"),
            NotFound { dataset, file, dir, attempts, help } => {
                write!(f, "{dataset}: {file} is not in {}", dir.display())?;
                if !attempts.is_empty() {
                    write!(f, " and could not be fetched ({})", attempts.join("; "))?;
                }
                write!(f, ". {help}")
            }
        }
    }
}

impl std::error::Error for DatasetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DatasetError::Io { source, .. } | DatasetError::Gzip { source, .. } => Some(source),
            _ => None,
        }
    }
}
