//! Newtype ids, so a case id can never be passed where a user id is expected. Ids are random
//! (not sequential) so they reveal neither volume nor order, and they exist before the row is
//! written, which lets sealed records bind their own id into the ciphertext.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                $name(crate::crypto::random_id())
            }

            /// Wraps an id read back from the database.
            pub fn from_stored(id: String) -> Self {
                $name(id)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An organisation: a health board, a council or a health and social care partnership.
    OrganisationId
);
id_type!(
    /// A handler account (contact, investigator, lead or admin).
    UserId
);
id_type!(
    /// A case, internal; people see its `reference` instead.
    CaseId
);
id_type!(
    /// A sealed record of a case (concern, identity, message, note, event text).
    RecordId
);
id_type!(
    /// A procedure event of a case.
    EventId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_distinct_and_hex() {
        let a = CaseId::generate();
        let b = CaseId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().chars().all(|c| c.is_ascii_hexdigit()));
    }
}
