//! Organisations: the bodies concerns are raised with.

use super::{Portal, ServiceError};
use crate::ids::OrganisationId;
use crate::store::organisations::{self, Organisation};

/// Which kinds of service an organisation delivers; a partnership delivers both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSet {
    pub nhs: bool,
    pub local_authority: bool,
}

impl ServiceSet {
    /// Parses `nhs`, `local_authority` or both, comma separated.
    pub fn parse(text: &str) -> Result<ServiceSet, ServiceError> {
        let mut set = ServiceSet {
            nhs: false,
            local_authority: false,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "nhs" => set.nhs = true,
                "local_authority" | "local-authority" => set.local_authority = true,
                other => {
                    return Err(ServiceError::invalid(
                        "invalid_services",
                        format!("unknown service {other:?}; use nhs, local_authority or both"),
                    ));
                }
            }
        }
        if !set.nhs && !set.local_authority {
            return Err(ServiceError::invalid(
                "invalid_services",
                "an organisation must deliver NHS services, local-authority services or both",
            ));
        }
        Ok(set)
    }

    pub fn names(self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.nhs {
            names.push("nhs");
        }
        if self.local_authority {
            names.push("local_authority");
        }
        names
    }
}

/// A new organisation with the Standards' default settings.
pub fn new_organisation(
    slug: &str,
    name: &str,
    services: ServiceSet,
    created_at: time::PrimitiveDateTime,
) -> Organisation {
    Organisation {
        id: OrganisationId::generate(),
        slug: slug.to_owned(),
        name: name.trim().to_owned(),
        serves_nhs: services.nhs,
        serves_local_authority: services.local_authority,
        day_one_rule: "receipt_or_next_working_day".to_owned(),
        stage1_extension_cap: crate::procedure::Settings::DEFAULT_STAGE1_EXTENSION_CAP,
        board_exact_figures: false,
        recovery_public_key: None,
        created_at,
        retention_months: crate::procedure::retention::DEFAULT_RETENTION_MONTHS,
    }
}

pub fn validate_slug(slug: &str) -> Result<(), ServiceError> {
    let valid_characters = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if (2..=40).contains(&slug.len())
        && valid_characters
        && !slug.starts_with('-')
        && !slug.ends_with('-')
    {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "invalid_slug",
            "a slug is 2 to 40 lower-case letters, digits and dashes, e.g. nhs-borders",
        ))
    }
}

fn validate_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "invalid_name",
            "a name is 1 to 200 characters on one line",
        ));
    }
    Ok(name.to_owned())
}

impl Portal {
    pub fn add_organisation(
        &self,
        slug: &str,
        name: &str,
        services: ServiceSet,
    ) -> Result<Organisation, ServiceError> {
        validate_slug(slug)?;
        let name = validate_name(name)?;
        let organisation = new_organisation(slug, &name, services, self.clock.now_utc_naive());
        self.store.write(|tx| {
            organisations::insert(tx, &organisation)?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(organisation)
    }

    pub fn organisations(&self) -> Result<Vec<Organisation>, ServiceError> {
        self.store
            .read(|tx| organisations::list(tx).map_err(ServiceError::from))
    }

    /// The slug of a signed-in handler's own organisation.
    pub fn organisation_slug_of(
        &self,
        handler: &super::sessions::Handler,
    ) -> Result<String, ServiceError> {
        self.store.read(|tx| {
            organisations::find(tx, &handler.user.organisation_id)?
                .map(|organisation| organisation.slug)
                .ok_or(ServiceError::NotFound)
        })
    }

    pub fn organisation_by_slug(&self, slug: &str) -> Result<Organisation, ServiceError> {
        self.store
            .read(|tx| organisations::find_by_slug(tx, slug)?.ok_or(ServiceError::NotFound))
    }
}

impl Portal {
    /// The organisation a signed-in handler belongs to.
    pub fn handler_organisation(
        &self,
        handler: &super::sessions::Handler,
    ) -> Result<Organisation, ServiceError> {
        self.store.read(|tx| {
            organisations::find(tx, &handler.user.organisation_id)?.ok_or(ServiceError::NotFound)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_sets() {
        assert_eq!(ServiceSet::parse("nhs").unwrap().names(), ["nhs"]);
        assert_eq!(
            ServiceSet::parse("nhs, local_authority").unwrap().names(),
            ["nhs", "local_authority"]
        );
        assert!(ServiceSet::parse("").is_err());
        assert!(ServiceSet::parse("council").is_err());
    }

    #[test]
    fn slugs() {
        assert!(validate_slug("nhs-borders").is_ok());
        assert!(validate_slug("d-and-g-hscp2").is_ok());
        for bad in ["", "a", "NHS", "-x", "x-", "a b", "ä-b", &"x".repeat(41)] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }
}
