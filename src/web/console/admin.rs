//! Admin pages: accounts (add, disable, intake list, reset) and the organisation's working-day
//! calendar. Anyone but an admin gets "not found"; the services check the role again.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Choice, CsrfOnly, Day, Done, Shell, day, refusal, render, see_other, segment, ticked};
use crate::ids::UserId;
use crate::model::Role;
use crate::procedure::parse_typed_date;
use crate::service::admin::AccountSummary;
use crate::service::enrolment::Invitation;
use crate::service::sessions::Handler;
use crate::service::{Portal, ServiceError};
use crate::store::organisations::HolidayChange;
use crate::web::auth::ConsoleHandler;
use crate::web::blocking;
use crate::web::csrf::CsrfToken;
use crate::web::error::PageError;

/// The admin behind this request, or "not found" for every other role.
fn admin(handler: ConsoleHandler) -> Result<Arc<Handler>, PageError> {
    if handler.0.user.role == Role::Admin {
        Ok(Arc::new(handler.0))
    } else {
        Err(ServiceError::NotFound.into())
    }
}

/// Runs a service call with the admin, off the async executor.
async fn with_admin<T, F>(portal: &Portal, admin: &Arc<Handler>, work: F) -> Result<T, ServiceError>
where
    F: FnOnce(&Portal, &Handler) -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    let (portal, admin) = (portal.clone(), Arc::clone(admin));
    blocking(move || work(&portal, &admin)).await
}

fn yes_no(value: bool) -> &'static str {
    if value { "Yes" } else { "No" }
}

#[derive(Serialize)]
struct AccountRow {
    id: String,
    name: String,
    email: String,
    job_title: String,
    role: &'static str,
    active: bool,
    active_words: &'static str,
    contact: bool,
    intake: bool,
    intake_words: &'static str,
    is_me: bool,
}

#[derive(Serialize, Default)]
struct NewAccountValues {
    name: String,
    email: String,
    job_title: String,
    role: String,
    intake: bool,
}

#[derive(Serialize)]
struct UsersPage {
    organisation: String,
    accounts: Vec<AccountRow>,
    roles: Vec<Choice>,
    values: NewAccountValues,
    error_in: &'static str,
}

fn role_choices(selected: &str) -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|role| Choice {
            value: role.as_str(),
            label: role.label(),
            selected: role.as_str() == selected,
        })
        .collect()
}

fn account_row(account: AccountSummary, me: &UserId) -> AccountRow {
    AccountRow {
        is_me: &account.id == me,
        id: account.id.as_str().to_owned(),
        name: account.name,
        email: account.email,
        job_title: account.job_title,
        role: account.role_label,
        active: account.active,
        active_words: yes_no(account.active),
        contact: account.role == Role::Contact,
        intake: account.intake,
        intake_words: if account.intake_pending {
            "Waiting for approval"
        } else if account.role == Role::Contact {
            yes_no(account.intake)
        } else {
            "Not a contact"
        },
    }
}

/// The accounts page, optionally with a refused form's reason and what was typed.
async fn users_page(
    portal: &Portal,
    admin: &Arc<Handler>,
    csrf: &CsrfToken,
    done: &Done,
    failure: Option<(StatusCode, String, &'static str)>,
    values: NewAccountValues,
) -> Result<HttpResponse, PageError> {
    let (organisation, accounts) = with_admin(portal, admin, |portal, admin| {
        Ok((portal.own_organisation(admin)?, portal.accounts(admin)?))
    })
    .await?;
    let (status, error, error_in) = match failure {
        Some((status, message, form)) => (status, Some(message), form),
        None => (StatusCode::OK, None, ""),
    };
    let page = UsersPage {
        organisation: organisation.name,
        accounts: accounts
            .into_iter()
            .map(|a| account_row(a, &admin.user.id))
            .collect(),
        roles: role_choices(if values.role.is_empty() {
            Role::Contact.as_str()
        } else {
            &values.role
        }),
        values,
        error_in,
    };
    render(
        "console/admin_users.html",
        Shell::new("Accounts", csrf, Some(&admin.user))
            .notice(done)
            .error(error),
        &page,
        status,
    )
}

pub async fn users(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    done: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    users_page(
        &portal,
        &admin,
        &csrf,
        &done,
        None,
        NewAccountValues::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct NewAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    job_title: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    intake: Option<String>,
}

#[derive(Serialize)]
struct EnrolmentPage {
    name: String,
    email: String,
    role: &'static str,
    /// A reset (rather than a new account): say how many grants were lost.
    reset: bool,
    cases_lost: usize,
    identities_lost: usize,
}

fn enrolment(
    name: String,
    email: String,
    role: Role,
    lost: Option<(usize, usize)>,
) -> EnrolmentPage {
    EnrolmentPage {
        name,
        email,
        role: role.label(),
        reset: lost.is_some(),
        cases_lost: lost.map_or(0, |(cases, _)| cases),
        identities_lost: lost.map_or(0, |(cases, keys)| keys.saturating_sub(cases)),
    }
}

pub async fn add_account(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    form: web::Form<NewAccountForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    csrf.verify(&form.csrf)?;
    let form = form.into_inner();
    let values = NewAccountValues {
        name: form.name.clone(),
        email: form.email.clone(),
        job_title: form.job_title.clone(),
        role: form.role.clone(),
        intake: ticked(&form.intake),
    };
    let outcome = match Role::parse(form.role.trim()) {
        None => Err(ServiceError::invalid("invalid_role", "choose a role")),
        Some(role) => {
            let invitation = Invitation {
                email: form.email,
                name: form.name,
                job_title: form.job_title,
                role,
                intake: ticked(&form.intake),
            };
            with_admin(&portal, &admin, move |portal, admin| {
                portal.invite_account(admin, invitation)
            })
            .await
        }
    };
    match outcome {
        Ok(user) => render(
            "console/admin_enrolment.html",
            Shell::new("Account created", &csrf, Some(&admin.user)),
            &enrolment(
                user.display_name.clone(),
                user.email.clone(),
                user.role,
                None,
            ),
            StatusCode::OK,
        ),
        Err(error) => {
            let (status, message) = refusal(error)?;
            users_page(
                &portal,
                &admin,
                &csrf,
                &Done::default(),
                Some((status, message, "add")),
                values,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    value: Option<bool>,
}

async fn switch(
    portal: &Portal,
    handler: ConsoleHandler,
    csrf: &CsrfToken,
    id: String,
    form: SwitchForm,
    intake: bool,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    csrf.verify(&form.csrf)?;
    let value = form.value.ok_or_else(|| {
        PageError::from(ServiceError::invalid(
            "missing_field",
            "the form is missing its choice",
        ))
    })?;
    let user = UserId::from_stored(id);
    let outcome = with_admin(portal, &admin, move |portal, admin| {
        if intake {
            portal.set_intake(admin, &user, value)
        } else {
            portal.set_account_active(admin, &user, value)
        }
    })
    .await;
    let done = match (intake, value) {
        (true, true) => "intake_added",
        (true, false) => "intake_removed",
        (false, true) => "enabled",
        (false, false) => "disabled",
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!("/console/admin/users?done={done}"))),
        Err(error) => {
            let (status, message) = refusal(error)?;
            users_page(
                portal,
                &admin,
                csrf,
                &Done::default(),
                Some((status, message, "row")),
                NewAccountValues::default(),
            )
            .await
        }
    }
}

pub async fn set_active(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    id: web::Path<String>,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, PageError> {
    switch(
        &portal,
        handler,
        &csrf,
        id.into_inner(),
        form.into_inner(),
        false,
    )
    .await
}

pub async fn set_intake(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    id: web::Path<String>,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, PageError> {
    switch(
        &portal,
        handler,
        &csrf,
        id.into_inner(),
        form.into_inner(),
        true,
    )
    .await
}

#[derive(Serialize)]
struct ResetPage {
    id: String,
    href: String,
    name: String,
    email: String,
}

async fn reset_page(
    portal: &Portal,
    admin: &Arc<Handler>,
    csrf: &CsrfToken,
    id: String,
    error: Option<(StatusCode, String)>,
) -> Result<HttpResponse, PageError> {
    let accounts = with_admin(portal, admin, |portal, admin| portal.accounts(admin)).await?;
    let account = accounts
        .into_iter()
        .find(|a| a.id.as_str() == id)
        .ok_or(ServiceError::NotFound)?;
    let (status, message) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    render(
        "console/admin_reset.html",
        Shell::new(format!("Reset {}", account.name), csrf, Some(&admin.user)).error(message),
        &ResetPage {
            href: format!("/console/admin/users/{}/reset", segment(&id)),
            id,
            name: account.name,
            email: account.email,
        },
        status,
    )
}

pub async fn reset_form(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    reset_page(&portal, &admin, &csrf, id.into_inner(), None).await
}

/// The admin resets an account; the person gets a new enrolment link by e-mail. The admin
/// sees neither a password nor a TOTP secret nor the link.
pub async fn reset(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    csrf.verify(&form.csrf)?;
    let id = id.into_inner();
    let user = UserId::from_stored(id.clone());
    let outcome = with_admin(&portal, &admin, move |portal, admin| {
        portal.reset_account(admin, &user)
    })
    .await;
    match outcome {
        Ok(reset) => render(
            "console/admin_enrolment.html",
            Shell::new("Account reset", &csrf, Some(&admin.user)),
            &enrolment(
                reset.user.display_name.clone(),
                reset.user.email.clone(),
                reset.user.role,
                Some((reset.cases_lost, reset.grants_lost)),
            ),
            StatusCode::OK,
        ),
        Err(error) => {
            let failure = refusal(error)?;
            reset_page(&portal, &admin, &csrf, id, Some(failure)).await
        }
    }
}

#[derive(Deserialize)]
pub struct HolidaysQuery {
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    done: Option<String>,
}

#[derive(Serialize)]
struct HolidayRow {
    date: Day,
    name: String,
    local: bool,
    /// Only days after today can be changed; earlier ones were counted as they stand.
    changeable: bool,
}

#[derive(Serialize)]
struct ChangeRow {
    date: Day,
    kind: &'static str,
    label: String,
    changeable: bool,
}

#[derive(Serialize, Default)]
struct HolidayValues {
    date: String,
    label: String,
}

#[derive(Serialize)]
struct HolidaysPage {
    organisation: String,
    year: i32,
    previous_year: i32,
    next_year: i32,
    holidays: Vec<HolidayRow>,
    changes: Vec<ChangeRow>,
    values: HolidayValues,
}

async fn holidays_page(
    portal: &Portal,
    admin: &Arc<Handler>,
    csrf: &CsrfToken,
    year: Option<i32>,
    done: &Done,
    failure: Option<((StatusCode, String), HolidayValues)>,
) -> Result<HttpResponse, PageError> {
    let today = portal.clock.today();
    let year = year.unwrap_or_else(|| today.year());
    let (organisation, holidays, overrides) = with_admin(portal, admin, move |portal, admin| {
        let organisation = portal.own_organisation(admin)?;
        let holidays = portal.holidays_in_year(&organisation.slug, year)?;
        let (_, overrides) = portal.holiday_overrides(&organisation.slug)?;
        Ok((organisation, holidays, overrides))
    })
    .await?;
    let local = |date| {
        overrides
            .iter()
            .any(|o| o.day == date && o.change == HolidayChange::Add)
    };
    let page = HolidaysPage {
        organisation: organisation.name,
        year,
        previous_year: year - 1,
        next_year: year + 1,
        holidays: holidays
            .into_iter()
            .map(|h| HolidayRow {
                local: local(h.date),
                changeable: h.date > today,
                date: day(h.date),
                name: h.name,
            })
            .collect(),
        changes: overrides
            .iter()
            .map(|o| ChangeRow {
                date: day(o.day),
                kind: match o.change {
                    HolidayChange::Add => "Local holiday added",
                    HolidayChange::Remove => "Bank holiday worked",
                },
                label: o.label.clone(),
                changeable: o.day > today,
            })
            .collect(),
        values: HolidayValues::default(),
    };
    let (status, error, page) = match failure {
        Some(((status, message), values)) => {
            (status, Some(message), HolidaysPage { values, ..page })
        }
        None => (StatusCode::OK, None, page),
    };
    render(
        "console/admin_holidays.html",
        Shell::new(
            format!("Non-working days in {year}"),
            csrf,
            Some(&admin.user),
        )
        .notice(done)
        .error(error),
        &page,
        status,
    )
}

pub async fn holidays(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    query: web::Query<HolidaysQuery>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    let query = query.into_inner();
    let done = Done { done: query.done };
    holidays_page(&portal, &admin, &csrf, query.year, &done, None).await
}

#[derive(Deserialize)]
pub struct HolidayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    year: Option<i32>,
}

pub async fn change_holiday(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    form: web::Form<HolidayForm>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    csrf.verify(&form.csrf)?;
    let form = form.into_inner();
    let change = match form.action.as_str() {
        "add" => Ok((Some(HolidayChange::Add), "holiday_added")),
        "worked" => Ok((Some(HolidayChange::Remove), "holiday_worked")),
        "clear" => Ok((None, "holiday_cleared")),
        _ => Err(ServiceError::invalid(
            "invalid_action",
            "choose what to do with the date",
        )),
    };
    let date = parse_typed_date(form.date.trim()).map_err(|_| {
        ServiceError::invalid(
            "invalid_date",
            "enter the date like 24 December 2026 or 24/12/2026",
        )
    });
    let values = HolidayValues {
        date: form.date.clone(),
        label: form.label.clone(),
    };
    let outcome = match (change, date) {
        (Ok((change, done)), Ok(date)) => {
            let label = form.label;
            with_admin(&portal, &admin, move |portal, admin| {
                let organisation = portal.own_organisation(admin)?;
                portal.change_holiday(Some(admin), &organisation.slug, date, change, &label)
            })
            .await
            .map(|()| (done, date.year()))
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    match outcome {
        Ok((done, year)) => Ok(see_other(&format!(
            "/console/admin/holidays?year={year}&done={done}"
        ))),
        Err(error) => {
            let failure = refusal(error)?;
            holidays_page(
                &portal,
                &admin,
                &csrf,
                form.year,
                &Done::default(),
                Some((failure, values)),
            )
            .await
        }
    }
}

#[derive(Serialize)]
struct DeliveryRow {
    id: String,
    recipient: String,
    kind: &'static str,
    attempts: i32,
    last_error: String,
    next_attempt: super::Moment,
}

#[derive(Serialize)]
struct DeliveriesPage {
    organisation: String,
    deliveries: Vec<DeliveryRow>,
}

/// What kind of notice a row is, in words (the stored kind is a short code).
fn notice_kind(kind: &str) -> &'static str {
    match kind {
        "new_concern" => "New concern",
        "reporter_message" => "Reporter's message",
        "reporter_request" => "Reporter's request",
        "reporter_file" => "Reporter's file",
        "granted" => "Case given to them",
        "reminder" => "Deadline reminder",
        "overdue" => "Overdue deadline",
        "weekly_summary" => "Weekly summary",
        "digest" => "Daily digest",
        "enrolment" => "Account set-up link",
        "intake_change" => "Intake list change",
        "detriment_report" => "Detriment report",
        _ => "Service notice",
    }
}

/// Notices to the organisation's people that the mail server refused or could not be reached
/// for, with a button to try again now rather than after the back-off.
pub async fn deliveries(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    done: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    let (organisation, failed) = with_admin(&portal, &admin, |portal, admin| {
        Ok((
            portal.own_organisation(admin)?,
            portal.failed_deliveries(admin)?,
        ))
    })
    .await?;
    let page = DeliveriesPage {
        organisation: organisation.name,
        deliveries: failed
            .into_iter()
            .map(|row| DeliveryRow {
                kind: notice_kind(&row.kind),
                id: row.id,
                recipient: row.recipient,
                attempts: row.attempts,
                last_error: row.last_error,
                next_attempt: super::moment(row.next_attempt_at),
            })
            .collect(),
    };
    render(
        "console/admin_deliveries.html",
        Shell::new("Failed e-mail deliveries", &csrf, Some(&admin.user)).notice(&done),
        &page,
        StatusCode::OK,
    )
}

pub async fn retry_delivery(
    portal: web::Data<Portal>,
    handler: ConsoleHandler,
    csrf: CsrfToken,
    id: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    let admin = admin(handler)?;
    csrf.verify(&form.csrf)?;
    let id = id.into_inner();
    let outcome = with_admin(&portal, &admin, move |portal, admin| {
        portal.retry_delivery(admin, &id)
    })
    .await;
    match outcome {
        Ok(()) => Ok(see_other("/console/admin/deliveries?done=delivery_retried")),
        // Sent or picked up by the worker since the page was drawn: nothing left to retry.
        Err(ServiceError::NotFound) => {
            Ok(see_other("/console/admin/deliveries?done=delivery_gone"))
        }
        Err(error) => Err(error.into()),
    }
}
