//! Delivery over SMTP with lettre. Each message carries a Message-ID derived from its outbox row,
//! so in the one case where a row can go out twice (a worker dies between the server accepting
//! it and the row being marked sent) mail clients can recognise the duplicate.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailSettings, SmtpUrl};
use crate::store::outbox::OutgoingMessage;

/// One SMTP exchange may take this long before it counts as failed (well inside the claim lease).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("smtp_url {url}: {message}")]
    Url { url: String, message: String },
    #[error("mail_from {from:?} is not an e-mail address: {message}")]
    From { from: String, message: String },
}

/// An SMTP client for the configured server. Build it inside the tokio runtime (the connection
/// pool spawns a task there).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl Mailer {
    /// `None` when no `smtp_url` is set: notices then stay queued.
    pub fn from_settings(settings: &MailSettings) -> Result<Option<Mailer>, MailerError> {
        let Some(url) = &settings.smtp else {
            return Ok(None);
        };
        let from: Mailbox = settings.from.parse().map_err(|error| MailerError::From {
            from: settings.from.clone(),
            message: format!("{error}"),
        })?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(url))
            .map_err(|error| MailerError::Url {
                url: url.redacted(),
                message: error.to_string(),
            })?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Some(Mailer {
            transport,
            from,
            server: url.redacted(),
        }))
    }

    /// The server, password masked, for logs.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Hands one message to the server. The error text names the failure, never the body.
    pub async fn send(&self, message: &OutgoingMessage) -> Result<(), String> {
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|error| format!("recipient address refused: {error}"))?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .message_id(Some(format!("<{}@speakup.outbox>", message.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|error| format!("cannot build the message: {error}"))?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|error| format!("SMTP: {error}"))
    }
}

/// lettre spells STARTTLS as `smtp://…?tls=required`; the settings use `smtp+starttls://…`.
fn lettre_url(url: &SmtpUrl) -> String {
    let url = url.expose();
    match url.strip_prefix("smtp+starttls://") {
        Some(rest) => {
            let separator = if rest.contains('?') { '&' } else { '?' };
            format!("smtp://{rest}{separator}tls=required")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawSettings;

    fn mail(url: &str, from: &str) -> MailSettings {
        RawSettings {
            smtp_url: url.to_owned(),
            mail_from: from.to_owned(),
            ..RawSettings::default()
        }
        .validate()
        .map(|settings| settings.mail)
        .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn starttls_urls_become_lettres_tls_required() {
        let settings = mail("smtp+starttls://u:p%40ss@mail.example:587", "a@b.example");
        let url = settings.smtp.as_ref().map(lettre_url);
        assert_eq!(
            url.as_deref(),
            Some("smtp://u:p%40ss@mail.example:587?tls=required")
        );
        let settings = mail("smtps://mail.example:465", "a@b.example");
        assert_eq!(
            settings.smtp.as_ref().map(lettre_url).as_deref(),
            Some("smtps://mail.example:465")
        );
    }

    #[test]
    fn settings_hide_the_smtp_password() {
        let settings = mail("smtps://user:secret@mail.example:465", "a@b.example");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("user:***@mail.example"), "{shown}");
    }

    #[test]
    fn bad_urls_and_a_missing_sender_are_refused() {
        for (url, from) in [
            ("http://mail.example", "a@b.example"),
            ("mail.example:25", "a@b.example"),
            ("smtp://mail.example:25", ""),
        ] {
            let outcome = RawSettings {
                smtp_url: url.to_owned(),
                mail_from: from.to_owned(),
                ..RawSettings::default()
            }
            .validate();
            assert!(outcome.is_err(), "{url} {from}");
        }
        assert!(mail("", "").smtp.is_none());
    }

    #[tokio::test]
    async fn a_sender_that_is_not_an_address_is_refused_at_start() {
        let settings = mail("smtp://127.0.0.1:2525", "not an address");
        assert!(matches!(
            Mailer::from_settings(&settings),
            Err(MailerError::From { .. })
        ));
        let settings = mail("smtp://127.0.0.1:2525", "speakup <speakup@example.org>");
        assert!(matches!(Mailer::from_settings(&settings), Ok(Some(_))));
    }
}
