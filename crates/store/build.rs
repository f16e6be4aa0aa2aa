//! `embed_migrations!` only tracks the files it saw; new migration directories must trigger a rebuild too.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
