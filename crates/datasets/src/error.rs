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
    Io {
        /// The file or directory read, written or created (the URL, when
        /// reading back a download to verify it).
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// `path` starts with gzip's magic bytes but does not decompress.
    Gzip {
        /// The gzip file (the URL, for a download).
        path: PathBuf,
        /// The decompressor's error.
        source: io::Error,
    },
    /// The first two bytes of an IDX file must be zero.
    BadMagic {
        /// The IDX file.
        path: PathBuf,
        /// The file's first four bytes, as read.
        magic: [u8; 4],
    },
    /// The IDX element type code is not one of 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E.
    UnsupportedType {
        /// The IDX file.
        path: PathBuf,
        /// The type code found (the magic's third byte).
        code: u8,
    },
    /// `path` holds fewer bytes than its header promises (or than a header needs).
    Truncated {
        /// The IDX file.
        path: PathBuf,
        /// The length the header gives (or, if the header itself is cut
        /// short, the length it needs), in decompressed bytes.
        expected: u64,
        /// The length found, in decompressed bytes.
        actual: u64,
    },
    /// `path` holds more bytes than its header promises (`actual`: how many,
    /// when known without reading on; not for gzip).
    TrailingBytes {
        /// The IDX file.
        path: PathBuf,
        /// Bytes the header promises, decompressed.
        expected: u64,
        /// Bytes the file holds; `None` for gzip, which is not read to the end.
        actual: Option<u64>,
    },
    /// The dimensions in the header of `path` multiply past what memory can address.
    TooLarge {
        /// The IDX file.
        path: PathBuf,
        /// The dimensions the header announces.
        dims: Vec<u64>,
    },
    /// A well-formed IDX file that is not what the dataset needs (wrong element
    /// type or rank, image and label counts that differ, a label out of range).
    Invalid {
        /// The IDX file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Neither the md5 of the file nor the SHA-256 of its decompressed content
    /// matches the published value.
    Checksum {
        /// The source checked: the URL of a download, else the local file.
        path: PathBuf,
        /// The published checksum(s), e.g. `md5 <hex>`.
        expected: String,
        /// The checksum(s) computed, in the same form.
        actual: String,
    },
    /// One download attempt failed (HTTP status, timeout, connection, short body).
    Download {
        /// The URL requested.
        url: String,
        /// What failed, e.g. `HTTP 404` or a truncated body.
        message: String,
    },
    /// A dataset file is missing and nothing could provide it. `attempts` lists
    /// what was tried; the message lists the ways to get the data.
    NotFound {
        /// The dataset's name: `MNIST` or `FashionMNIST`.
        dataset: &'static str,
        /// The missing file's name, decompressed (e.g. `train-images-idx3-ubyte`).
        file: String,
        /// The raw directory it was looked for in (`ROOT/<dataset>/raw`).
        dir: PathBuf,
        /// Why each source tried failed (Debian package, mirrors); empty when
        /// nothing was tried (e.g. without `download`).
        attempts: Vec<String>,
        /// The ways to get the data, as one sentence.
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
