//! Rebuild when a built-in task file is added, changed or removed: `include_dir!`
//! embeds the `tasks/` folder, but cargo only watches the files it is told about.
fn main() {
    println!("cargo:rerun-if-changed=tasks");
}
