use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A value that is wiped from memory when dropped and never printed.
///
/// There is deliberately no `Display`, `Deref`, `Clone` or serde support:
/// every read goes through [`Secret::expose_secret`], which keeps the places
/// that touch secret material greppable.
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Takes ownership so the only remaining copy is the one that is wiped.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the secret value.
    pub fn expose_secret(&self) -> &T {
        &self.0
    }

    /// Lets crypto code fill a buffer in place instead of building the value
    /// on the stack and copying it in (which would leave an unwiped copy).
    pub(super) fn expose_secret_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> ZeroizeOnDrop for Secret<T> {}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Shared `Debug` body for the crypto module's secret-holding types, so they
/// all render as `TypeName([redacted])`.
pub(super) fn fmt_redacted(f: &mut fmt::Formatter<'_>, type_name: &str) -> fmt::Result {
    f.debug_tuple(type_name)
        .field(&format_args!("[redacted]"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new(String::from("hunter2"));
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{secret:#?}"), "[redacted]");
        let bytes = Secret::new([0xABu8; 4]);
        assert_eq!(format!("{bytes:?}"), "[redacted]");
    }

    #[test]
    fn exposes_value() {
        let secret: Secret<Vec<u8>> = vec![1, 2, 3].into();
        assert_eq!(secret.expose_secret(), &[1, 2, 3]);
    }

    #[test]
    fn mutation_in_place() {
        let mut secret = Secret::new([0u8; 3]);
        secret.expose_secret_mut()[1] = 7;
        assert_eq!(secret.expose_secret(), &[0, 7, 0]);
    }

    #[test]
    fn redacted_helper_format() {
        struct Probe;
        impl fmt::Debug for Probe {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_redacted(f, "Probe")
            }
        }
        assert_eq!(format!("{Probe:?}"), "Probe([redacted])");
    }
}
