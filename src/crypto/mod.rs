// TEMPORARY until the crypto core lands: only the id generator the foundation needs.
pub fn random_id() -> String {
    use std::fmt::Write;
    let bytes: [u8; 16] = rand::random();
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
pub mod audit_chain;
