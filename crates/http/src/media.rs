//! Where media lives (API spec §1.5, §2.4): the upload and generated-file directories, their
//! public `/media/...` URLs, the upload limits, and the one place that turns an id and a file
//! name into a path that cannot leave its directory.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// 1.7.2's multer limit (`MAX_FILE_SIZE`).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

/// The media directories and upload limits (the binary fills them from `--data-dir` and the
/// `ELIZA_DATA_DIR_*` variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// `ELIZA_DATA_DIR_UPLOADS_AGENTS`: `<dir>/<agentId>/<file>`.
    pub uploads_agents: PathBuf,
    /// `ELIZA_DATA_DIR_UPLOADS_CHANNELS`: `<dir>/<channelId>/<file>`.
    pub uploads_channels: PathBuf,
    /// `ELIZA_DATA_DIR_GENERATED`: files agents produce, `<dir>/<agentId>/<file>`.
    pub generated: PathBuf,
    /// Largest file one upload may carry.
    pub max_upload_bytes: u64,
    /// How long an upload may send nothing before it is dropped.
    pub upload_idle_timeout: Duration,
    /// How long a whole upload may take.
    pub upload_deadline: Duration,
}

impl MediaConfig {
    /// The three directories under `data_dir` (`uploads/agents`, `uploads/channels`,
    /// `generated`) with the default limits.
    pub fn under(data_dir: &Path) -> Self {
        MediaConfig {
            uploads_agents: data_dir.join("uploads").join("agents"),
            uploads_channels: data_dir.join("uploads").join("channels"),
            generated: data_dir.join("generated"),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            // Node's `requestTimeout` of 1.7.2 is 30 s for the whole request; a stall of that
            // long ends an upload here, but a steady 50 MB upload gets minutes.
            upload_idle_timeout: Duration::from_secs(30),
            upload_deadline: Duration::from_secs(5 * 60),
        }
    }

    /// The directory of `root`.
    pub fn dir(&self, root: MediaRoot) -> &Path {
        match root {
            MediaRoot::AgentUploads => &self.uploads_agents,
            MediaRoot::ChannelUploads => &self.uploads_channels,
            MediaRoot::Generated => &self.generated,
        }
    }

    /// `/media/generated/<id>/<file>` and friends for a path inside one of the directories;
    /// `None` for any other path. Lexical: the file need not exist.
    pub fn public_url_of(&self, path: &Path) -> Option<String> {
        let path = lexical_absolute(path)?;
        MediaRoot::ALL.into_iter().find_map(|root| {
            let rest = path.strip_prefix(lexical_absolute(self.dir(root))?).ok()?;
            let mut parts = rest.components();
            let (Some(Component::Normal(id)), Some(Component::Normal(file)), None) =
                (parts.next(), parts.next(), parts.next())
            else {
                return None;
            };
            Some(root.url(id.to_str()?, file.to_str()?))
        })
    }
}

impl Default for MediaConfig {
    /// Under `./.eliza`, the binary's default data directory.
    fn default() -> Self {
        MediaConfig::under(Path::new(".eliza"))
    }
}

/// One of the served media directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRoot {
    AgentUploads,
    ChannelUploads,
    Generated,
}

impl MediaRoot {
    const ALL: [MediaRoot; 3] = [
        MediaRoot::Generated,
        MediaRoot::AgentUploads,
        MediaRoot::ChannelUploads,
    ];

    /// The public URL prefix, without the trailing slash.
    pub fn url_prefix(self) -> &'static str {
        match self {
            MediaRoot::AgentUploads => "/media/uploads/agents",
            MediaRoot::ChannelUploads => "/media/uploads/channels",
            MediaRoot::Generated => "/media/generated",
        }
    }

    pub fn url(self, id: &str, file: &str) -> String {
        format!("{}/{id}/{file}", self.url_prefix())
    }
}

/// `path` made absolute against the working directory and with `.`/`..` resolved lexically
/// (no file system access, so it works for files that do not exist).
fn lexical_absolute(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let mut clean = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    Some(clean)
}

/// Why a requested media file cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRefusal {
    /// The name tries to leave the directory (separators, `..`, hidden or control characters),
    /// or resolves outside it (a symbolic link).
    Denied,
    /// No regular file by that name.
    Missing,
}

/// Whether `name` is one plain file name: no separators, no `..`, not hidden, no control
/// characters. Stored names are generated, so anything else is a probe.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c == ':' || c.is_control())
}

/// The canonical path of `<root>/<id>/<name>`, only if it is a regular file inside `<root>`.
/// `id` must already be a validated UUID.
pub async fn resolve_file(root: &Path, id: &str, name: &str) -> Result<PathBuf, FileRefusal> {
    if !is_plain_file_name(name) || !is_plain_file_name(id) {
        return Err(FileRefusal::Denied);
    }
    let Ok(root) = tokio::fs::canonicalize(root).await else {
        return Err(FileRefusal::Missing);
    };
    let path = match tokio::fs::canonicalize(root.join(id).join(name)).await {
        Ok(path) => path,
        Err(_) => return Err(FileRefusal::Missing),
    };
    if !path.starts_with(&root) {
        return Err(FileRefusal::Denied);
    }
    match tokio::fs::metadata(&path).await {
        Ok(meta) if meta.is_file() => Ok(path),
        _ => Err(FileRefusal::Missing),
    }
}

/// Attachment URLs as clients may fetch them: absolute paths inside the media directories
/// become `/media/...` URLs (1.7.2's `transformMessageAttachments`); URLs with a scheme and
/// `/media/` paths are left alone.
pub fn rewrite_url(url: &str, media: &MediaConfig) -> String {
    if has_served_form(url) {
        return url.to_owned();
    }
    if is_absolute_path(url)
        && let Some(public) = media.public_url_of(Path::new(&url.replace('\\', "/")))
    {
        return public;
    }
    // 1.7.2's default layout, for paths written by another server or data directory.
    match url.replace('\\', "/").rsplit_once("/uploads/") {
        Some((_, rest)) => format!("/media/uploads/{rest}"),
        None => url.to_owned(),
    }
}

fn has_served_form(url: &str) -> bool {
    const SCHEMES: [&str; 8] = [
        "http:", "https:", "blob:", "data:", "file:", "ipfs:", "s3:", "gs:",
    ];
    let lower = url.get(..6).unwrap_or(url).to_ascii_lowercase();
    url.starts_with("/media/") || SCHEMES.iter().any(|scheme| lower.starts_with(scheme))
}

/// `/x`, `\x`, or a Windows drive path (`C:\x`, `C:/x`).
fn is_absolute_path(url: &str) -> bool {
    let bytes = url.as_bytes();
    matches!(bytes.first(), Some(b'/' | b'\\'))
        || (bytes.len() > 2
            && bytes[0].is_ascii_alphabetic()
            && bytes[1] == b':'
            && matches!(bytes[2], b'/' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media() -> MediaConfig {
        MediaConfig::under(Path::new("/srv/eliza"))
    }

    #[test]
    fn configured_directories_become_media_urls() {
        let media = media();
        assert_eq!(
            rewrite_url("/srv/eliza/generated/a1/speech.mp3", &media),
            "/media/generated/a1/speech.mp3"
        );
        assert_eq!(
            rewrite_url("/srv/eliza/uploads/agents/a1/1-2.png", &media),
            "/media/uploads/agents/a1/1-2.png"
        );
        assert_eq!(
            rewrite_url("/srv/eliza/uploads/channels/c1/1-2.pdf", &media),
            "/media/uploads/channels/c1/1-2.pdf"
        );
        let custom = MediaConfig {
            generated: PathBuf::from("/var/lib/gen"),
            ..media
        };
        assert_eq!(
            rewrite_url("/var/lib/gen/a1/x.wav", &custom),
            "/media/generated/a1/x.wav"
        );
        assert_eq!(
            rewrite_url("/var/lib/gen/../gen/a1/x.wav", &custom),
            "/media/generated/a1/x.wav",
            "dot segments are resolved before matching"
        );
    }

    #[test]
    fn urls_with_a_scheme_and_media_paths_are_left_alone() {
        let media = media();
        for url in [
            "http://x/y.png",
            "https://x/y.png",
            "HTTPS://x/y.png",
            "blob:http://x/1",
            "data:image/png;base64,x",
            "file:///srv/eliza/generated/a1/x.png",
            "ipfs://Qm",
            "s3://bucket/key",
            "gs://bucket/key",
            "/media/uploads/agents/a/b.png",
        ] {
            assert_eq!(rewrite_url(url, &media), url);
        }
    }

    #[test]
    fn paths_outside_the_directories_keep_the_1_7_2_fallback() {
        let media = media();
        assert_eq!(rewrite_url("/etc/passwd", &media), "/etc/passwd");
        assert_eq!(
            rewrite_url("/srv/eliza/generated/a1/deep/x.png", &media),
            "/srv/eliza/generated/a1/deep/x.png",
            "only <id>/<file> directly under a root"
        );
        assert_eq!(
            rewrite_url("/other/.eliza/data/uploads/channels/c/1.png", &media),
            "/media/uploads/channels/c/1.png"
        );
        assert_eq!(
            rewrite_url("C:\\eliza\\uploads\\a.png", &media),
            "/media/uploads/a.png"
        );
        assert_eq!(rewrite_url("relative/x.png", &media), "relative/x.png");
    }

    #[test]
    fn plain_file_names_only() {
        for good in ["1763895600209-123456789.png", "speech.mp3", "a b.txt"] {
            assert!(is_plain_file_name(good), "{good}");
        }
        for bad in [
            "",
            "..",
            ".",
            ".hidden",
            "../../etc/passwd",
            "a/b",
            "a\\b",
            "C:x",
            "a\0b",
            "a\nb",
        ] {
            assert!(!is_plain_file_name(bad), "{bad:?}");
        }
    }

    #[actix_rt::test]
    async fn resolution_stays_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("id")).unwrap();
        std::fs::write(root.join("id").join("a.txt"), "x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        assert!(resolve_file(&root, "id", "a.txt").await.is_ok());
        assert_eq!(
            resolve_file(&root, "id", "missing.txt").await,
            Err(FileRefusal::Missing)
        );
        assert_eq!(
            resolve_file(&root, "id", "../../secret.txt").await,
            Err(FileRefusal::Denied)
        );
        assert_eq!(
            resolve_file(&root, "..", "secret.txt").await,
            Err(FileRefusal::Denied)
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                dir.path().join("secret.txt"),
                root.join("id").join("link.txt"),
            )
            .unwrap();
            assert_eq!(
                resolve_file(&root, "id", "link.txt").await,
                Err(FileRefusal::Denied),
                "a link out of the root is refused"
            );
        }
        std::fs::create_dir_all(root.join("id").join("sub")).unwrap();
        assert_eq!(
            resolve_file(&root, "id", "sub").await,
            Err(FileRefusal::Missing),
            "directories are not files"
        );
    }
}
