//! Where an upload's bytes go: a hidden temporary file next to its destination, written as the
//! bytes arrive, renamed to a server-generated name once complete (deleted on any failure).

use chrono::Utc;
use std::io;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// A complete upload in a temporary file, not yet visible under a served name.
#[derive(Debug)]
pub struct Staged {
    temp: NamedTempFile,
    extension: &'static str,
}

/// A file stored under its generated name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// `<ms>-<random><ext>`.
    pub filename: String,
    pub path: PathBuf,
}

impl Staged {
    /// A new hidden temporary file in `dir` (created if needed) and a handle to write it.
    pub(super) async fn create(
        dir: &Path,
        extension: &'static str,
    ) -> io::Result<(Staged, tokio::fs::File)> {
        tokio::fs::create_dir_all(dir).await?;
        let dir = dir.to_path_buf();
        let temp = blocking(move || {
            let mut builder = tempfile::Builder::new();
            builder.prefix(".upload-");
            // Stored files are readable like any file the server writes (subject to the umask),
            // not owner-only as temporary files are by default.
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
            builder.tempfile_in(dir)
        })
        .await?;
        let file = tokio::fs::File::from_std(temp.as_file().try_clone()?);
        Ok((Staged { temp, extension }, file))
    }

    /// Moves the file into `<root>/<id>/` under a generated name. `id` must be a validated
    /// UUID; the directory must resolve inside `root`.
    pub async fn persist(self, root: &Path, id: &str) -> io::Result<StoredFile> {
        let dir = inside(root, id).await?;
        blocking(move || self.persist_in(&dir)).await
    }

    fn persist_in(self, dir: &Path) -> io::Result<StoredFile> {
        let mut temp = self.temp;
        // A clash of names within one millisecond is retried with a new random part.
        for _ in 0..8 {
            let filename = generated_name(self.extension);
            let path = dir.join(&filename);
            match temp.persist_noclobber(&path) {
                Ok(_) => return Ok(StoredFile { filename, path }),
                Err(err) if err.error.kind() == io::ErrorKind::AlreadyExists => temp = err.file,
                // Another file system (a staging dir elsewhere): copy, then the temp goes away.
                Err(err) if err.error.kind() == io::ErrorKind::CrossesDevices => {
                    copy_new(err.file.path(), &path)?;
                    return Ok(StoredFile { filename, path });
                }
                Err(err) => return Err(err.error),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free file name after 8 attempts",
        ))
    }
}

/// `<root>/<id>`, created, and checked to resolve inside `root` (no symbolic link out).
async fn inside(root: &Path, id: &str) -> io::Result<PathBuf> {
    let dir = root.join(id);
    tokio::fs::create_dir_all(&dir).await?;
    let root = tokio::fs::canonicalize(root).await?;
    let dir = tokio::fs::canonicalize(&dir).await?;
    if dir.parent() != Some(root.as_path()) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} resolves outside {}", dir.display(), root.display()),
        ));
    }
    Ok(dir)
}

/// Copies into a new file at `to`; a copy that fails part way removes what it wrote, so no
/// truncated file is ever served under a generated name.
fn copy_new(from: &Path, to: &Path) -> io::Result<()> {
    let mut source = std::fs::File::open(from)?;
    let mut target = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    let copied = io::copy(&mut source, &mut target).and_then(|_| target.sync_all());
    if copied.is_err() {
        let _ = std::fs::remove_file(to);
    }
    copied
}

/// `<Date.now()>-<random 0..1e9><ext>`, the 1.7.2 scheme, with the extension of the detected
/// format (never the client's).
pub fn generated_name(extension: &str) -> String {
    let random: u32 = rand::random_range(0..1_000_000_000);
    format!("{}-{random}{extension}", Utc::now().timestamp_millis())
}

/// The client's file name as it may be echoed back: its last path segment, without control
/// characters, at most 255 characters. Never used on disk.
pub fn display_name(name: Option<&str>) -> String {
    let base = name
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    match clean.trim() {
        "" | "." | ".." => "upload".to_owned(),
        name => name.to_owned(),
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn generated_names_follow_the_1_7_2_scheme() {
        let name = generated_name(".png");
        let (stem, ext) = name.split_once('.').unwrap();
        assert_eq!(ext, "png");
        let (ms, random) = stem.split_once('-').unwrap();
        assert!(ms.parse::<i64>().unwrap() > 1_700_000_000_000);
        assert!(random.parse::<u32>().unwrap() < 1_000_000_000);
    }

    #[test]
    fn display_names_lose_their_directories() {
        assert_eq!(display_name(Some("../../etc/passwd.png")), "passwd.png");
        assert_eq!(display_name(Some("C:\\Users\\me\\cat.jpg")), "cat.jpg");
        assert_eq!(display_name(Some("a/b\\c.txt")), "c.txt");
        assert_eq!(display_name(Some("line\nbreak.txt")), "linebreak.txt");
        assert_eq!(display_name(Some("..")), "upload");
        assert_eq!(display_name(Some("dir/")), "upload");
        assert_eq!(display_name(None), "upload");
        assert_eq!(display_name(Some(&"x".repeat(300))).len(), 255);
    }

    #[actix_rt::test]
    async fn staged_files_are_hidden_until_persisted_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("agents");
        let (staged, mut file) = Staged::create(&root, ".txt").await.unwrap();
        file.write_all(b"hello").await.unwrap();
        file.flush().await.unwrap();
        drop(file);
        let listed = |path: &Path| std::fs::read_dir(path).unwrap().count();
        assert_eq!(listed(&root), 1, "the hidden temporary file");
        let stored = staged.persist(&root, "id").await.unwrap();
        assert!(stored.filename.ends_with(".txt"));
        assert_eq!(
            stored.path,
            root.join("id")
                .join(&stored.filename)
                .canonicalize()
                .unwrap()
        );
        assert_eq!(std::fs::read(&stored.path).unwrap(), b"hello");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&stored.path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o600, 0o600);
            assert_eq!(mode & 0o022, 0, "never writable by others");
        }
        assert_eq!(listed(&root), 1, "only the id directory is left");

        let (dropped, _file) = Staged::create(&root, ".txt").await.unwrap();
        drop(dropped);
        assert_eq!(listed(&root), 1, "a dropped upload leaves nothing behind");
    }

    #[cfg(unix)]
    #[actix_rt::test]
    async fn a_directory_linked_out_of_the_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("agents");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("escape")).unwrap();
        let (staged, _file) = Staged::create(&root, ".txt").await.unwrap();
        let err = staged.persist(&root, "escape").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    }
}
