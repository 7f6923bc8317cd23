//! Small domain vocabularies shared by the store, the services and the web layer, each with the
//! stable string stored in the database and used in the API.

use serde::{Deserialize, Serialize};

macro_rules! stable_strings {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stable_strings!(
    /// What a handler account may do.
    Role {
        Contact => "contact",
        Investigator => "investigator",
        Lead => "lead",
        Champion => "champion",
        Admin => "admin",
    }
);

impl Role {
    /// Only these roles may ever hold a key to a case.
    pub fn may_hold_cases(self) -> bool {
        matches!(self, Role::Contact | Role::Investigator)
    }

    /// Board figures (quarterly and annual reports): never case content.
    pub fn may_read_reports(self) -> bool {
        matches!(self, Role::Lead | Role::Champion | Role::Admin)
    }

    /// Second pair of eyes on changes that would let someone new read new concerns.
    pub fn may_approve(self) -> bool {
        matches!(self, Role::Admin | Role::Champion)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Contact => "Confidential contact",
            Role::Investigator => "Investigator",
            Role::Lead => "Executive lead",
            Role::Champion => "Whistleblowing champion",
            Role::Admin => "Administrator",
        }
    }
}

stable_strings!(
    /// Who wrote a sealed record.
    Author {
        Reporter => "reporter",
        Handler => "handler",
        System => "system",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_strings_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(
            serde_json::to_string(&Role::Investigator).unwrap(),
            "\"investigator\""
        );
    }
}

stable_strings!(
    /// What a reporter can ask for from the mailbox.
    RequestKind {
        Stage2 => "stage2",
        Withdraw => "withdraw",
        Detriment => "detriment",
    }
);

stable_strings!(
    /// How a concern reached the organisation. Concerns raised outside the portal are recorded
    /// by a contact, so every concern is in the record and the figures.
    Channel {
        Portal => "portal",
        InPerson => "in_person",
        Phone => "phone",
        Email => "email",
        Letter => "letter",
        LineManager => "line_manager",
        Other => "other",
    }
);

impl Channel {
    pub fn label(self) -> &'static str {
        match self {
            Channel::Portal => "Through this portal",
            Channel::InPerson => "In person",
            Channel::Phone => "By phone",
            Channel::Email => "By e-mail",
            Channel::Letter => "By letter",
            Channel::LineManager => "To a line manager",
            Channel::Other => "Another way",
        }
    }
}
