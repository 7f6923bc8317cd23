//! Raising a concern: choose the organisation, write the concern, check exactly who will be able
//! to read it, send it, and keep the case key.
//!
//! Nothing is saved until "Send my concern". Between the pages every value travels in the POST
//! body (hidden fields), never in a URL. The case key is shown in the response to the sending
//! POST and carried only in the body of the "check you have saved it" form.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::Date;

use super::{
    SummaryItem, format_thousands, long_date, page_with_status, retry_after, see_other, sentence,
    wait_words,
};
use crate::crypto::{CaseKey, Secret, SubmissionToken};
use crate::ids::UserId;
use crate::procedure::{self, Anonymity, IntakeExplainer, Service, Topic};
use crate::service::intake::{
    ALREADY_SENT, IntakeContact, IntakeOrganisation, MAX_CONCERN_CHARS, NewConcern,
    ReporterIdentity,
};
use crate::service::mailbox::parse_service;
use crate::service::{Portal, ServiceError};
use crate::web::csrf::CsrfToken;
use crate::web::error::{PageError, Problem};
use crate::web::rate_limit::{ClientKey, RateLimits};
use crate::web::scripts::{self, Scripts};
use crate::web::{blocking, views};

/// Each intake contact's checkbox is named `reader_<user id>`: urlencoded forms cannot carry a
/// list under one name into `web::Form`.
const READER_PREFIX: &str = "reader_";

// ---------------------------------------------------------------------------------------------
// Choosing the organisation

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(default)]
    organisation: Option<String>,
}

#[derive(Serialize)]
struct OrganisationChoice {
    slug: String,
    name: String,
}

#[derive(Serialize)]
struct ChooseView {
    title: &'static str,
    organisations: Vec<OrganisationChoice>,
    field_error: Option<String>,
    error: Option<String>,
    errors: Vec<SummaryItem>,
}

async fn open_organisations(portal: &Portal) -> Result<Vec<IntakeOrganisation>, ServiceError> {
    let portal = portal.clone();
    let organisations = blocking(move || portal.intake_organisations()).await?;
    // An organisation with nobody to receive concerns cannot take one.
    Ok(organisations
        .into_iter()
        .filter(|organisation| !organisation.intake.is_empty())
        .collect())
}

async fn choose_page(
    portal: &Portal,
    problem: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let organisations = open_organisations(portal).await?;
    let errors = problem
        .map(|message| SummaryItem {
            field: Some("organisation"),
            message: message.to_owned(),
        })
        .into_iter()
        .collect();
    page_with_status(
        "concern_organisation.html",
        &ChooseView {
            title: if problem.is_some() {
                "Error: Which organisation is your concern about?"
            } else {
                "Which organisation is your concern about?"
            },
            organisations: organisations
                .into_iter()
                .map(|organisation| OrganisationChoice {
                    slug: organisation.slug,
                    name: organisation.name,
                })
                .collect(),
            field_error: problem.map(str::to_owned),
            error: None,
            errors,
        },
        status,
    )
}

/// `GET /concerns/new`: the organisation list, or (with `?organisation=SLUG`) the form.
pub async fn start(
    portal: web::Data<Portal>,
    csrf: CsrfToken,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(slug) = query.into_inner().organisation else {
        let organisations = open_organisations(&portal).await?;
        if let [only] = organisations.as_slice() {
            // Slugs are lower-case letters, digits and dashes: safe in a query string as they are.
            return Ok(see_other(&format!(
                "/concerns/new?organisation={}",
                only.slug
            )));
        }
        return choose_page(&portal, None, StatusCode::OK).await;
    };
    let slug = slug.trim();
    if slug.is_empty() {
        return choose_page(
            &portal,
            Some("Choose the organisation your concern is about."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    match load_organisation(&portal, slug).await {
        Ok(organisation) if !organisation.intake.is_empty() => form_page(
            &csrf,
            &organisation,
            &ConcernValues::fresh(&organisation),
            Vec::new(),
            StatusCode::OK,
        ),
        Ok(_) | Err(ServiceError::Invalid { .. }) => {
            choose_page(
                &portal,
                Some("That organisation is not taking concerns here. Choose one from the list."),
                StatusCode::NOT_FOUND,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn load_organisation(
    portal: &Portal,
    slug: &str,
) -> Result<IntakeOrganisation, ServiceError> {
    let portal = portal.clone();
    let slug = slug.to_owned();
    blocking(move || portal.intake_organisation(&slug)).await
}

// ---------------------------------------------------------------------------------------------
// The form and its values

/// Every field of the concern form, as posted by the form, the review page and "Change
/// something". All default to empty so a missing CSRF field reaches the CSRF check.
#[derive(Deserialize)]
pub struct ConcernForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    organisation: String,
    /// The one-time submission token issued with the form (see `crypto::SubmissionToken`).
    #[serde(default)]
    submission: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    anonymity: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    became_aware_on: String,
    #[serde(default)]
    public_money: String,
    #[serde(default)]
    concern: String,
    /// Present when "Change something" was pressed.
    #[serde(default)]
    change: String,
    /// The `reader_<id>` checkboxes.
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

/// What the reporter has entered so far, rendered back into the form or into hidden fields.
#[derive(Clone, Default, Serialize)]
struct ConcernValues {
    organisation: String,
    /// The submission token, carried from the form to "Send my concern" so that sending twice
    /// sends once. As secret as the case key derived from it: only ever in a POST body.
    submission: String,
    service: String,
    anonymity: String,
    name: String,
    contact: String,
    became_aware_on: String,
    public_money: bool,
    concern: String,
    /// The intake contacts still ticked.
    readers: Vec<String>,
}

impl ConcernValues {
    /// A new form: the only service preselected if there is one, every contact ticked.
    fn fresh(organisation: &IntakeOrganisation) -> ConcernValues {
        ConcernValues {
            organisation: organisation.slug.clone(),
            submission: SubmissionToken::generate()
                .to_form_value()
                .expose_secret()
                .clone(),
            service: match organisation.services.as_slice() {
                [only] => only.as_str().to_owned(),
                _ => String::new(),
            },
            readers: organisation
                .intake
                .iter()
                .map(|contact| contact.id.as_str().to_owned())
                .collect(),
            ..ConcernValues::default()
        }
    }

    /// The values of a posted form, and whether "Change something" was pressed.
    fn from_form(form: ConcernForm) -> (ConcernValues, bool) {
        let mut readers: Vec<String> = form
            .rest
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .filter_map(|(name, _)| name.strip_prefix(READER_PREFIX))
            .map(str::to_owned)
            .collect();
        readers.sort();
        let mut became_aware_on = form.became_aware_on.trim().to_owned();
        // Write a date typed as 1/10/2026 back in words, as every page shows dates.
        if let Ok(Some(date)) = parse_became_aware(&became_aware_on) {
            became_aware_on = procedure::date_words(date);
        }
        // A form from before tokens existed, or a damaged one, gets a fresh token.
        let submission = match SubmissionToken::parse(&form.submission) {
            Some(_) => form.submission.trim().to_owned(),
            None => SubmissionToken::generate()
                .to_form_value()
                .expose_secret()
                .clone(),
        };
        let values = ConcernValues {
            organisation: form.organisation.trim().to_owned(),
            submission,
            service: form.service,
            anonymity: form.anonymity,
            name: form.name,
            contact: form.contact,
            became_aware_on,
            public_money: !form.public_money.is_empty(),
            concern: form.concern,
            readers,
        };
        (values, !form.change.is_empty())
    }

    fn reads(&self, contact: &IntakeContact) -> bool {
        self.readers.iter().any(|id| id == contact.id.as_str())
    }
}

/// The date the reporter became aware: empty, or a date as people type it (see
/// `procedure::parse_typed_date`).
fn parse_became_aware(text: &str) -> Result<Option<Date>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    procedure::parse_typed_date(text).map(Some).map_err(|_| ())
}

fn item(field: &'static str, message: &str) -> SummaryItem {
    SummaryItem {
        field: Some(field),
        message: message.to_owned(),
    }
}

/// Turns the form into a concern, or says what is missing. The service checks the rest.
fn parse(
    values: &ConcernValues,
    organisation: &IntakeOrganisation,
) -> Result<NewConcern, Vec<SummaryItem>> {
    let mut errors = Vec::new();
    let service = match (
        parse_service(values.service.trim()),
        organisation.services.as_slice(),
    ) {
        (Some(service), _) => Some(service),
        (None, [only]) => Some(*only),
        (None, _) => {
            errors.push(item(
                "service",
                "Choose whether your concern is about an NHS service or a council service.",
            ));
            None
        }
    };
    let anonymity = match values.anonymity.as_str() {
        "anonymous" => Some(Anonymity::Anonymous),
        "confidential" => Some(Anonymity::Confidential),
        _ => {
            errors.push(item("anonymity", "Choose confidential or anonymous."));
            None
        }
    };
    let name = values.name.trim();
    let contact = values.contact.trim();
    match anonymity {
        Some(Anonymity::Confidential) => {
            if name.is_empty() {
                errors.push(item("name", "Enter your name, or choose anonymous."));
            }
            if contact.is_empty() {
                errors.push(item(
                    "contact",
                    "Enter how we can contact you, or choose anonymous.",
                ));
            }
        }
        Some(Anonymity::Anonymous) if !name.is_empty() || !contact.is_empty() => {
            errors.push(item(
                "name",
                "You chose anonymous, so leave your name and contact details empty. If you want \
                 to give them, choose confidential instead.",
            ));
        }
        _ => {}
    }
    let became_aware_on = match parse_became_aware(&values.became_aware_on) {
        Ok(date) => date,
        Err(()) => {
            errors.push(item(
                "became_aware_on",
                "Enter the date you became aware like 1 October 2026 or 1/10/2026, or leave it \
                 empty.",
            ));
            None
        }
    };
    if values.concern.trim().is_empty() {
        errors.push(item(
            "concern",
            "Write down your concern before sending it.",
        ));
    }
    if !organisation
        .intake
        .iter()
        .any(|contact| values.reads(contact))
    {
        errors.push(item(
            "readers",
            "At least one person must be able to read your concern. Tick at least one name.",
        ));
    }
    let (Some(service), Some(anonymity)) = (service, anonymity) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewConcern {
        organisation: organisation.slug.clone(),
        service,
        anonymity,
        topic: if values.public_money {
            Topic::PublicMoney
        } else {
            Topic::General
        },
        concern: Secret::new(values.concern.clone()),
        became_aware_on,
        exclude: organisation
            .intake
            .iter()
            .filter(|contact| !values.reads(contact))
            .map(|contact| contact.id.clone())
            .collect::<Vec<UserId>>(),
        identity: match anonymity {
            Anonymity::Confidential => Some(ReporterIdentity {
                name: Secret::new(name.to_owned()),
                contact: Secret::new(contact.to_owned()),
            }),
            Anonymity::Anonymous => None,
        },
    })
}

/// Which field a service refusal is about, so the message can sit next to it.
fn field_for(code: &str, message: &str) -> Option<&'static str> {
    match code {
        "service_not_offered" => Some("service"),
        "concern_missing" | "concern_too_long" => Some("concern"),
        "invalid_became_aware_on" => Some("became_aware_on"),
        "identity_missing" | "identity_not_expected" => Some("name"),
        "invalid_field" if message.starts_with("how to contact you") => Some("contact"),
        "invalid_field" => Some("name"),
        "no_readers_left" | "unknown_contact" => Some("readers"),
        _ => None,
    }
}

fn refusal(code: &str, message: &str) -> Vec<SummaryItem> {
    vec![SummaryItem {
        field: field_for(code, message),
        message: sentence(message),
    }]
}

/// The message beside each field, if any.
#[derive(Serialize, Default)]
struct FieldErrors {
    service: Option<String>,
    anonymity: Option<String>,
    name: Option<String>,
    contact: Option<String>,
    became_aware_on: Option<String>,
    concern: Option<String>,
    readers: Option<String>,
}

impl FieldErrors {
    fn from_items(items: &[SummaryItem]) -> FieldErrors {
        let mut fields = FieldErrors::default();
        for item in items {
            let slot = match item.field {
                Some("service") => &mut fields.service,
                Some("anonymity") => &mut fields.anonymity,
                Some("name") => &mut fields.name,
                Some("contact") => &mut fields.contact,
                Some("became_aware_on") => &mut fields.became_aware_on,
                Some("concern") => &mut fields.concern,
                Some("readers") => &mut fields.readers,
                _ => continue,
            };
            slot.get_or_insert_with(|| item.message.clone());
        }
        fields
    }
}

/// The explainer without its "Confidential:" / "Anonymous:" lead-in, which the page shows as the
/// option's label instead.
#[derive(Serialize)]
struct Explainer {
    confidential: String,
    anonymous: String,
    either_way: &'static str,
}

fn explainer(service: Service) -> Explainer {
    let IntakeExplainer {
        confidential,
        anonymous,
        either_way,
    } = procedure::intake_explainer(service);
    let without_label = |text: &str| {
        sentence(
            text.split_once(": ")
                .map_or(text, |(_, explanation)| explanation),
        )
    };
    Explainer {
        confidential: without_label(confidential),
        anonymous: without_label(anonymous),
        either_way,
    }
}

/// The wording fits the service chosen; before a choice, the NHS wording (which includes the
/// INWO) wherever NHS services are offered.
fn explainer_for(values: &ConcernValues, organisation: &IntakeOrganisation) -> Explainer {
    let service = parse_service(&values.service)
        .filter(|service| organisation.services.contains(service))
        .or_else(|| {
            organisation
                .services
                .contains(&Service::Nhs)
                .then_some(Service::Nhs)
        })
        .unwrap_or(Service::LocalAuthority);
    explainer(service)
}

#[derive(Serialize)]
struct ContactChoice<'a> {
    id: &'a str,
    name: &'a str,
    role: &'a str,
    checked: bool,
}

#[derive(Serialize)]
struct FormView<'a> {
    title: String,
    csrf: &'a str,
    organisation: &'a IntakeOrganisation,
    offers_both: bool,
    offers_nhs: bool,
    explainer: Explainer,
    values: &'a ConcernValues,
    contacts: Vec<ContactChoice<'a>>,
    max_concern_chars: String,
    field: FieldErrors,
    error: Option<String>,
    errors: Vec<SummaryItem>,
    scripts: Scripts,
}

fn form_page(
    csrf: &CsrfToken,
    organisation: &IntakeOrganisation,
    values: &ConcernValues,
    errors: Vec<SummaryItem>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let title = format!("Raise a concern with {}", organisation.name);
    page_with_status(
        "concern_form.html",
        &FormView {
            title: if errors.is_empty() {
                title
            } else {
                format!("Error: {title}")
            },
            csrf: csrf.value(),
            organisation,
            offers_both: organisation.services.len() > 1,
            offers_nhs: organisation.services.contains(&Service::Nhs),
            explainer: explainer_for(values, organisation),
            values,
            contacts: organisation
                .intake
                .iter()
                .map(|contact| ContactChoice {
                    id: contact.id.as_str(),
                    name: &contact.name,
                    role: &contact.role,
                    checked: values.reads(contact),
                })
                .collect(),
            max_concern_chars: format_thousands(MAX_CONCERN_CHARS),
            field: FieldErrors::from_items(&errors),
            error: None,
            errors,
            scripts: scripts::crypto_scripts(scripts::PageScript::Reporter),
        },
        status,
    )
    .map(scripts::allow_crypto)
}

// ---------------------------------------------------------------------------------------------
// Checking before sending

#[derive(Serialize)]
struct CheckView<'a> {
    title: &'static str,
    csrf: &'a str,
    organisation: &'a IntakeOrganisation,
    offers_both: bool,
    service_label: &'static str,
    anonymous: bool,
    explainer: Explainer,
    values: &'a ConcernValues,
    became_aware_words: Option<String>,
    readers: Vec<IntakeContact>,
    /// "6 years", "18 months": how long a finished concern's content is kept.
    kept_for: String,
    error: Option<String>,
    errors: Vec<SummaryItem>,
}

fn kept_for(months: u32) -> String {
    match (months % 12, months / 12) {
        (0, 1) => "1 year".to_owned(),
        (0, years) => format!("{years} years"),
        _ => format!("{months} months"),
    }
}

fn service_label(service: Service) -> &'static str {
    match service {
        Service::Nhs => "An NHS service",
        Service::LocalAuthority => "A council (local-authority) service",
    }
}

/// `POST /concerns/check`: checks everything and shows who will be able to read it. Saves
/// nothing.
pub async fn check(
    portal: web::Data<Portal>,
    csrf: CsrfToken,
    form: web::Form<ConcernForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let (values, change) = ConcernValues::from_form(form.into_inner());
    let organisation = load_organisation(&portal, &values.organisation).await?;
    if change {
        return form_page(&csrf, &organisation, &values, Vec::new(), StatusCode::OK);
    }
    let concern = match parse(&values, &organisation) {
        Ok(concern) => concern,
        Err(errors) => {
            return form_page(
                &csrf,
                &organisation,
                &values,
                errors,
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let service = concern.service;
    let anonymous = concern.anonymity == Anonymity::Anonymous;
    let became_aware_on = concern.became_aware_on;
    let checking = portal.clone();
    match blocking(move || checking.check_concern(&concern)).await {
        Ok(readers) => views::page(
            "concern_check.html",
            &CheckView {
                title: "Check your concern before sending it",
                csrf: csrf.value(),
                organisation: &organisation,
                offers_both: organisation.services.len() > 1,
                service_label: service_label(service),
                anonymous,
                explainer: explainer(service),
                values: &values,
                became_aware_words: became_aware_on.map(long_date),
                readers,
                kept_for: kept_for(organisation.retention_months),
                error: None,
                errors: Vec::new(),
            },
        ),
        Err(ServiceError::Invalid { code, message }) => form_page(
            &csrf,
            &organisation,
            &values,
            refusal(code, &message),
            StatusCode::BAD_REQUEST,
        ),
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Sending, and the case key

#[derive(Serialize)]
struct AlreadySentView {
    title: &'static str,
    message: String,
}

#[derive(Serialize)]
struct KeyView<'a> {
    title: &'static str,
    csrf: &'a str,
    case_key: &'a str,
    /// The key split into its groups of four, so a phone wraps between groups, never inside one.
    key_groups: Vec<&'a str>,
    reference: &'a str,
    /// The same submission came again (a reload, back and send): nothing new was saved.
    already_sent: bool,
    /// What the reporter typed when it did not match, so one typo does not clear the field.
    typed: &'a str,
    field_error: Option<String>,
    error: Option<String>,
    errors: Vec<SummaryItem>,
}

fn key_page(
    csrf: &CsrfToken,
    case_key: &str,
    reference: &str,
    already_sent: bool,
    problem: Option<(&str, &str)>,
) -> Result<HttpResponse, PageError> {
    let (typed, problem) = match problem {
        Some((typed, message)) => (typed, Some(message)),
        None => ("", None),
    };
    let errors: Vec<SummaryItem> = problem
        .map(|message| item("typed", message))
        .into_iter()
        .collect();
    page_with_status(
        "concern_key.html",
        &KeyView {
            title: if problem.is_some() {
                "Error: Your concern has been sent"
            } else {
                "Your concern has been sent"
            },
            csrf: csrf.value(),
            case_key,
            key_groups: case_key.split('-').collect(),
            reference,
            already_sent,
            typed,
            field_error: problem.map(str::to_owned),
            error: None,
            errors,
        },
        if problem.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
    )
}

/// `POST /concerns`: sends the concern and shows the case key, once.
pub async fn submit(
    portal: web::Data<Portal>,
    limits: web::Data<RateLimits>,
    client: ClientKey,
    csrf: CsrfToken,
    form: web::Form<ConcernForm>,
) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let (values, change) = ConcernValues::from_form(form.into_inner());
    let organisation = load_organisation(&portal, &values.organisation).await?;
    if change {
        return form_page(&csrf, &organisation, &values, Vec::new(), StatusCode::OK);
    }
    let concern = match parse(&values, &organisation) {
        Ok(concern) => concern,
        Err(errors) => {
            return form_page(
                &csrf,
                &organisation,
                &values,
                errors,
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let token =
        SubmissionToken::parse(&values.submission).unwrap_or_else(SubmissionToken::generate);
    // The same form again (a reload, back and send, a double click) answers before the rate
    // limit: it must never be told its concern "has not been sent".
    let replaying = portal.clone();
    let token = match blocking(move || replaying.sent_with(&token).map(|sent| (sent, token))).await
    {
        Ok((Some(receipt), _)) => {
            return key_page(
                &csrf,
                receipt.case_key.expose_secret(),
                &receipt.reference,
                true,
                None,
            );
        }
        Ok((None, token)) => token,
        Err(error) => return submit_refused(&csrf, &organisation, &values, error),
    };
    match limits.concern_submissions.check(client) {
        Ok(()) => {}
        Err(ServiceError::RateLimited {
            retry_after_seconds,
        }) => {
            let message = format!(
                "Too many concerns have been sent from your connection recently, so yours has \
                 not been sent yet. {}",
                wait_words(retry_after_seconds)
            );
            let response = form_page(
                &csrf,
                &organisation,
                &values,
                vec![SummaryItem {
                    field: None,
                    message,
                }],
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            return Ok(retry_after(response, retry_after_seconds));
        }
        Err(other) => return Err(other.into()),
    }
    let sending = portal.clone();
    match blocking(move || sending.submit_concern_once(concern, &token)).await {
        Ok(receipt) => key_page(
            &csrf,
            receipt.case_key.expose_secret(),
            &receipt.reference,
            receipt.already_sent,
            None,
        ),
        Err(error) => submit_refused(&csrf, &organisation, &values, error),
    }
}

/// A send that did not go through: a token used on an earlier day, or a refusal shown on the
/// form next to the field it is about.
fn submit_refused(
    csrf: &CsrfToken,
    organisation: &IntakeOrganisation,
    values: &ConcernValues,
    error: ServiceError,
) -> Result<HttpResponse, PageError> {
    match error {
        ServiceError::Conflict {
            code: ALREADY_SENT,
            message,
        } => page_with_status(
            "concern_already_sent.html",
            &AlreadySentView {
                title: "Your concern has already been sent",
                message: sentence(&message),
            },
            StatusCode::CONFLICT,
        ),
        ServiceError::Invalid { code, message } => form_page(
            csrf,
            organisation,
            values,
            refusal(code, &message),
            StatusCode::BAD_REQUEST,
        ),
        other => Err(other.into()),
    }
}

#[derive(Deserialize)]
pub struct SavedForm {
    #[serde(default)]
    csrf: String,
    /// The case key itself, carried from the case key page.
    #[serde(default)]
    key: String,
    #[serde(default)]
    reference: String,
    /// What the reporter typed back.
    #[serde(default)]
    typed: String,
    /// `check` or `saved`: which button was pressed.
    #[serde(default)]
    action: String,
}

#[derive(Serialize)]
struct DoneView<'a> {
    title: &'static str,
    reference: &'a str,
}

/// A reference is not secret, but it comes back from the browser: keep only the shape we issue.
fn clean_reference(reference: &str) -> &str {
    let reference = reference.trim();
    if reference.len() <= 32
        && reference
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    {
        reference
    } else {
        ""
    }
}

/// `POST /concerns/saved`: the reporter types the key back (or says it is saved).
pub async fn saved(csrf: CsrfToken, form: web::Form<SavedForm>) -> Result<HttpResponse, PageError> {
    csrf.verify(&form.csrf)?;
    let SavedForm {
        key,
        reference,
        typed,
        action,
        ..
    } = form.into_inner();
    let key = Secret::new(key);
    let typed = Secret::new(typed);
    let reference = clean_reference(&reference);
    let issued = CaseKey::parse(key.expose_secret()).map_err(|_| {
        PageError(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This page could not be read. Your concern has already been sent: use the case key \
             you were shown to check on it.",
        ))
    })?;
    let done = || {
        views::page(
            "concern_done.html",
            &DoneView {
                title: "You're done",
                reference,
            },
        )
    };
    if action == "saved" {
        return done();
    }
    // Show the key again exactly as it was issued, whatever the form carried.
    let display = issued.to_display_string();
    if typed.expose_secret().trim().is_empty() {
        return key_page(
            &csrf,
            display.expose_secret(),
            reference,
            false,
            Some((
                "",
                "Type your case key in the box to check you have it, or choose \"I have saved it \
                 somewhere safe\".",
            )),
        );
    }
    match CaseKey::parse(typed.expose_secret()) {
        Ok(typed) if typed.lookup_id() == issued.lookup_id() => done(),
        _ => key_page(
            &csrf,
            display.expose_secret(),
            reference,
            false,
            Some((
                typed.expose_secret(),
                "That doesn't match. Check it against the key above, one group at a time: what \
                 you typed is still in the box.",
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_are_read_as_iso_or_day_month_year() {
        assert_eq!(parse_became_aware(""), Ok(None));
        assert_eq!(
            parse_became_aware("2026-10-01"),
            Ok(Some(date!(2026 - 10 - 01)))
        );
        assert_eq!(
            parse_became_aware("1/10/2026"),
            Ok(Some(date!(2026 - 10 - 01)))
        );
        assert_eq!(
            parse_became_aware("01.10.2026"),
            Ok(Some(date!(2026 - 10 - 01)))
        );
        for bad in [
            "yesterday",
            "2026-13-01",
            "31/02/2026",
            "1/10/26",
            "2026/10/01x",
            "1 Octember 2026",
        ] {
            assert_eq!(parse_became_aware(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn references_keep_only_the_issued_shape() {
        assert_eq!(clean_reference("SU-K7M2-Q9XR"), "SU-K7M2-Q9XR");
        assert_eq!(clean_reference("<b>"), "");
    }

    #[test]
    fn explainer_loses_its_label() {
        let text = explainer(Service::Nhs);
        assert!(text.confidential.starts_with("You tell us who you are"));
        assert!(text.anonymous.starts_with("You do not tell us who you are"));
        assert!(text.anonymous.contains("INWO cannot review"));
    }
}
