// `embed_migrations!` reads the migrations folder at compile time; without this, a change to
// the SQL alone would not rebuild the binary.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
