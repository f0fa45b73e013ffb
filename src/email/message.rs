//! The emails Latchkey sends, as askama plain-text templates (`templates/email/`), branded with
//! `branding.product_name`: short, plain, with the one link they exist for.

use askama::Template;

use super::Outgoing;

#[derive(Template)]
#[template(path = "email/password_reset.txt")]
struct ResetText<'a> {
    brand: &'a str,
    username: &'a str,
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "email/verify_email.txt")]
struct VerifyText<'a> {
    brand: &'a str,
    username: &'a str,
    address: &'a str,
    link: &'a str,
    hours: i64,
}

/// The password-reset email to `to`.
pub fn password_reset(
    brand: &str,
    username: &str,
    to: &str,
    link: &str,
    ttl_secs: i64,
) -> askama::Result<Outgoing> {
    let body = ResetText {
        brand,
        username,
        link,
        minutes: (ttl_secs / 60).max(1),
    }
    .render()?;
    Ok(Outgoing {
        to: to.to_owned(),
        subject: format!("{brand}: reset your password"),
        body,
    })
}

/// The verification email to `to`, the address being verified.
pub fn verify_email(
    brand: &str,
    username: &str,
    to: &str,
    link: &str,
    ttl_secs: i64,
) -> askama::Result<Outgoing> {
    let body = VerifyText {
        brand,
        username,
        address: to,
        link,
        hours: (ttl_secs / 3600).max(1),
    }
    .render()?;
    Ok(Outgoing {
        to: to.to_owned(),
        subject: format!("{brand}: verify your email address"),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_email_carries_the_link_and_the_brand() {
        let mail = password_reset(
            "Acme ID",
            "ana",
            "ana@example.com",
            "https://id.example/password/reset?token=abc",
            1800,
        )
        .unwrap();
        assert_eq!(mail.subject, "Acme ID: reset your password");
        assert!(mail
            .body
            .contains("\nhttps://id.example/password/reset?token=abc\n"));
        assert!(mail.body.contains("for 30 minutes"));
        assert!(mail.body.starts_with("Hello ana,"));
        assert!(!format!("{mail:?}").contains("token=abc"));
    }

    #[test]
    fn a_verification_email_names_the_address() {
        let mail = verify_email("Acme ID", "ana", "ana@example.com", "L", 86_400).unwrap();
        assert!(mail
            .body
            .contains("that ana@example.com is the email address"));
        assert!(mail.body.contains("for 24 hours"));
    }
}
