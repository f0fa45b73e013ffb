//! The pages of the one-time links (`routes::password_reset`, `routes::email_verify`,
//! `routes::admin_pages::password_link`): forgot, sent, new password, done, invalid link,
//! verification, and the administrator's set-password link shown once.

use askama::Template;

use super::{Brand, Onward};

#[derive(Template)]
#[template(path = "password_forgot.html")]
pub struct ForgotPage<'a> {
    pub brand: &'a Brand,
    pub csrf: &'a str,
    /// The sealed sign-in this page was opened from, to go back to it.
    pub request: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "password_forgot_sent.html")]
pub struct ForgotSentPage<'a> {
    pub brand: &'a Brand,
    pub minutes: i64,
    pub request: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "password_new.html")]
pub struct NewPasswordPage<'a> {
    pub brand: &'a Brand,
    pub title: &'a str,
    pub username: &'a str,
    pub token: &'a str,
    pub csrf: &'a str,
    pub min_length: usize,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email_verify.html")]
pub struct VerifyEmailPage<'a> {
    pub brand: &'a Brand,
    pub username: &'a str,
    pub token: &'a str,
    pub csrf: &'a str,
}

/// The end of a link's flow: done, or the link does not work.
#[derive(Template)]
#[template(path = "link_done.html")]
pub struct LinkDonePage<'a> {
    pub brand: &'a Brand,
    pub title: &'a str,
    pub message: &'a str,
    /// A refusal (`role="alert"`), not news (`role="status"`).
    pub alert: bool,
    pub onward: Option<Onward>,
}

#[derive(Template)]
#[template(path = "admin_password_link.html")]
pub struct AdminPasswordLinkPage<'a> {
    pub brand: &'a Brand,
    pub username: &'a str,
    pub url: &'a str,
    pub expires: String,
}
