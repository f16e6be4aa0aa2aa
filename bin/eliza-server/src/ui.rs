//! The official web UI (`@elizaos/client` 1.7.2): `eliza-server ui fetch` and the first-run
//! fetch take it from the npm registry with `npm pack`, check the tarball against the pinned
//! integrity, and unpack its `dist/` into the data directory. No UI file is in this repository.

use crate::config::{Cli, env_flag, env_var};
use base64::Engine;
use eliza_http::ui::WebUi;
use sha2::{Digest, Sha512};
use std::fs::File;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

pub const PACKAGE: &str = "@elizaos/client";
pub const VERSION: &str = "1.7.2";
/// `dist.integrity` of `@elizaos/client@1.7.2` in the npm registry.
pub const INTEGRITY: &str = "sha512-/ZdtejKf073nOWypbN0ZXD+FiV4ZSjg62PiP+dpsTt2VGTp7OkttepcwdbZFxLJCGLHSo5yek/zyhBCknHV71g==";

/// Where a fetched UI goes: `ui/client-<version>` in the data directory.
pub fn default_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("ui").join(format!("client-{VERSION}"))
}

/// The UI to serve: off with `ELIZA_UI_ENABLE=false`, else `--ui-dir` / `ELIZA_UI_PATH`, else the
/// fetched build in the data directory.
pub fn web_ui(cli: &Cli) -> WebUi {
    if env_flag("ELIZA_UI_ENABLE") == Some(false) {
        return WebUi::Disabled;
    }
    WebUi::Dir(
        cli.ui_dir
            .clone()
            .unwrap_or_else(|| default_dir(&cli.data_dir)),
    )
}

/// At start-up: when the default UI directory has no build yet, fetch it in the background (the
/// server answers meanwhile; the UI appears once unpacked). `ELIZA_UI_AUTO_FETCH=false` skips it.
pub fn fetch_on_first_run(cli: &Cli) {
    let dir = default_dir(&cli.data_dir);
    let wanted = cli.ui_dir.is_none()
        && env_flag("ELIZA_UI_ENABLE") != Some(false)
        && env_flag("ELIZA_UI_AUTO_FETCH") != Some(false);
    if !wanted || is_installed(&dir) {
        if let Some(explicit) = cli.ui_dir.as_deref().filter(|dir| !is_installed(dir)) {
            tracing::warn!(dir = %explicit.display(), "the web UI directory has no index.html");
        }
        return;
    }
    actix_web::rt::spawn(async move {
        tracing::info!(dir = %dir.display(), "fetching the web UI ({PACKAGE}@{VERSION}) with npm");
        match actix_web::web::block(move || fetch(&dir, None)).await {
            Ok(Ok(dir)) => tracing::info!(dir = %dir.display(), "web UI ready"),
            Ok(Err(err)) => tracing::warn!(%err, "the web UI is not available"),
            Err(err) => tracing::warn!(%err, "the web UI fetch did not run"),
        }
    });
}

fn is_installed(dir: &Path) -> bool {
    dir.join("index.html").is_file()
}

/// Whether `dir` exists as anything but an empty folder.
fn has_entries(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => dir.exists(),
    }
}

/// Runs `ui fetch`: into `dir` (default: the data directory's), from `tarball` when given.
pub fn run_fetch(cli: &Cli, tarball: Option<&Path>) -> Result<(), String> {
    let dir = cli
        .ui_dir
        .clone()
        .unwrap_or_else(|| default_dir(&cli.data_dir));
    let dir = fetch(&dir, tarball)?;
    println!("{PACKAGE} {VERSION}: ready in {}", dir.display());
    Ok(())
}

/// Installs the UI build into `dir` unless it is there; returns `dir`.
pub fn fetch(dir: &Path, tarball: Option<&Path>) -> Result<PathBuf, String> {
    if is_installed(dir) {
        return Ok(dir.to_path_buf());
    }
    // `dir` may be any folder the user named: never replace one that holds something else.
    if has_entries(dir) {
        return Err(format!(
            "{} exists and has no index.html; refusing to replace it (name an empty or new folder)",
            dir.display()
        ));
    }
    let parent = dir
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", dir.display()))?;
    std::fs::create_dir_all(parent)
        .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
    let download =
        tempfile::tempdir_in(parent).map_err(|err| format!("temporary directory: {err}"))?;
    let tarball = match tarball {
        Some(path) => path.to_path_buf(),
        None => npm_pack(download.path())?,
    };
    verify(&tarball)?;
    let staging =
        tempfile::tempdir_in(parent).map_err(|err| format!("temporary directory: {err}"))?;
    unpack_dist(&tarball, staging.path())?;
    if !is_installed(staging.path()) {
        return Err(format!("{PACKAGE}@{VERSION} has no dist/index.html"));
    }
    if dir.exists() {
        // Empty (checked above): renaming over it needs it gone.
        std::fs::remove_dir(dir)
            .map_err(|err| format!("cannot replace {}: {err}", dir.display()))?;
    }
    // Unpacked whole, then renamed: a half-written UI is never served.
    let staged = staging.keep();
    std::fs::rename(&staged, dir)
        .map_err(|err| format!("cannot move the UI into {}: {err}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// `npm pack @elizaos/client@1.7.2` into `into`; returns the tarball's path.
fn npm_pack(into: &Path) -> Result<PathBuf, String> {
    let npm = env_var("ELIZA_NPM").unwrap_or_else(|| "npm".to_owned());
    let output = Command::new(&npm)
        .args([
            "pack",
            &format!("{PACKAGE}@{VERSION}"),
            "--silent",
            "--pack-destination",
        ])
        .arg(into)
        .output()
        .map_err(|err| {
            format!(
                "cannot run `{npm} pack` ({err}): install Node.js and npm, or download the package \
                 and run `eliza-server ui fetch --tarball elizaos-client-{VERSION}.tgz`"
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "`{npm} pack {PACKAGE}@{VERSION}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let name = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .rfind(|line| line.ends_with(".tgz"))
        .map(str::to_owned)
        .ok_or_else(|| format!("`{npm} pack` named no tarball"))?;
    Ok(into.join(name))
}

/// Checks the tarball's sha512 against [`INTEGRITY`].
fn verify(tarball: &Path) -> Result<(), String> {
    let read_error = |err: std::io::Error| format!("cannot read {}: {err}", tarball.display());
    let mut file = File::open(tarball).map_err(read_error)?;
    let mut hasher = Sha512::new();
    std::io::copy(&mut file, &mut hasher).map_err(read_error)?;
    let actual = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
    );
    if actual == INTEGRITY {
        Ok(())
    } else {
        Err(format!(
            "{} is not {PACKAGE}@{VERSION}: its integrity is {actual}, expected {INTEGRITY}",
            tarball.display()
        ))
    }
}

/// Unpacks the `package/dist/` entries of the tarball into `into`.
fn unpack_dist(tarball: &Path, into: &Path) -> Result<(), String> {
    let file =
        File::open(tarball).map_err(|err| format!("cannot read {}: {err}", tarball.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let bad = |err: std::io::Error| format!("cannot unpack {}: {err}", tarball.display());
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let Some(relative) = dist_path(&path) else {
            continue;
        };
        let target = into.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(bad)?;
        }
        if entry.header().entry_type().is_file() {
            entry.unpack(&target).map_err(bad)?;
        }
    }
    Ok(())
}

/// The path below `package/dist/`, when the entry is there and its path stays inside.
fn dist_path(path: &Path) -> Option<PathBuf> {
    let relative = path.strip_prefix("package/dist").ok()?;
    let safe = relative
        .components()
        .all(|component| matches!(component, Component::Normal(_)));
    (safe && relative.components().next().is_some()).then(|| relative.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_holding_something_else_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir(&project).unwrap();
        std::fs::write(project.join("notes.txt"), "mine").unwrap();
        // No tarball is needed: the refusal comes before any download.
        let err = fetch(&project, Some(Path::new("/nonexistent.tgz"))).unwrap_err();
        assert!(err.contains("refusing to replace"), "{err}");
        assert_eq!(
            std::fs::read_to_string(project.join("notes.txt")).unwrap(),
            "mine"
        );

        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        assert!(fetch(&file, Some(Path::new("/nonexistent.tgz"))).is_err());
        assert!(file.is_file());

        // An empty folder is fine to fill (the fetch then fails on the missing tarball).
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let err = fetch(&empty, Some(Path::new("/nonexistent.tgz"))).unwrap_err();
        assert!(!err.contains("refusing"), "{err}");
    }

    #[test]
    fn only_dist_entries_inside_it_are_taken() {
        assert_eq!(
            dist_path(Path::new("package/dist/assets/a.js")),
            Some(PathBuf::from("assets/a.js"))
        );
        assert_eq!(dist_path(Path::new("package/src/index.css")), None);
        assert_eq!(dist_path(Path::new("package/dist")), None);
        assert_eq!(dist_path(Path::new("package/dist/../../etc/passwd")), None);
    }
}
