//! Copying bytes while hashing them, to check them against their pins.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::progress::FetchProgress;

/// What was read: its length and lower-case hex sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hashed {
    pub(super) bytes: u64,
    pub(super) sha256: String,
}

impl Hashed {
    pub(super) fn matches(&self, sha256: &str, size: u64) -> bool {
        self.bytes == size && self.sha256.eq_ignore_ascii_case(sha256)
    }
}

#[derive(Default)]
struct Hasher {
    sha256: Sha256,
    bytes: u64,
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.bytes += data.len() as u64;
    }

    fn finish(self) -> Hashed {
        Hashed {
            bytes: self.bytes,
            sha256: hex::encode(self.sha256.finalize()),
        }
    }
}

/// Which side of a copy failed: a bad source (a corrupt archive) is not a full disk.
#[derive(Debug)]
pub(super) enum CopyFailure {
    Read(io::Error),
    Write(io::Error),
}

impl CopyFailure {
    pub(super) fn into_inner(self) -> io::Error {
        match self {
            Self::Read(e) | Self::Write(e) => e,
        }
    }
}

const COPY_BUFFER_BYTES: usize = 256 * 1024;

/// Copies `reader` to `writer` (flushed at the end), hashing and reporting progress.
pub(super) fn copy_hashing(
    reader: &mut impl Read,
    writer: &mut impl Write,
    progress: &dyn FetchProgress,
) -> Result<Hashed, CopyFailure> {
    let mut hasher = Hasher::default();
    let mut buffer = vec![0; COPY_BUFFER_BYTES];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyFailure::Read(e)),
        };
        hasher.update(&buffer[..read]);
        writer
            .write_all(&buffer[..read])
            .map_err(CopyFailure::Write)?;
        progress.advance(read as u64);
    }
    writer.flush().map_err(CopyFailure::Write)?;
    Ok(hasher.finish())
}

/// Writes received chunks to `file`, hashing them (runs on a blocking thread).
pub(super) fn write_hashing<B: AsRef<[u8]>>(
    mut chunks: mpsc::Receiver<B>,
    file: File,
) -> io::Result<Hashed> {
    let mut out = BufWriter::new(file);
    let mut hasher = Hasher::default();
    while let Some(chunk) = chunks.blocking_recv() {
        hasher.update(chunk.as_ref());
        out.write_all(chunk.as_ref())?;
    }
    out.flush()?;
    Ok(hasher.finish())
}
