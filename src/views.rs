//! The hosted pages as askama templates (`templates/`), compiled into the binary, and the
//! branding they share.

mod email;

use askama::Template;

use crate::config::Settings;

pub use email::{
    AdminPasswordLinkPage, ForgotPage, ForgotSentPage, LinkDonePage, NewPasswordPage,
    VerifyEmailPage,
};

/// Branding from `[branding]`.
#[derive(Clone, Debug)]
pub struct Brand {
    pub product_name: String,
    pub logo_url: Option<String>,
    pub extra_css: bool,
}

impl Brand {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            product_name: settings.branding.product_name.clone(),
            logo_url: Some(settings.branding.logo_url.clone()).filter(|u| !u.is_empty()),
            extra_css: !settings.branding.extra_css_file.as_os_str().is_empty(),
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub brand: &'a Brand,
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// A sign-in with a passkey alone, when passkeys are on.
    pub passkey: Option<&'a crate::oauth::passkey::Prompt>,
    /// Offer "Forgot your password?" (email is configured).
    pub forgot: bool,
}

#[derive(Template)]
#[template(path = "login_second_factor.html")]
pub struct SecondFactorPage<'a> {
    pub brand: &'a Brand,
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    /// The sealed state of this sign-in (who gave the right password).
    pub sealed: &'a str,
    /// A TOTP enrolment to finish first, when a second factor is required and none exists.
    pub enrolment: Option<&'a crate::oauth::mfa::Enrolment>,
    pub error: Option<&'a str>,
    /// A check of one of the person's passkeys, when they have one.
    pub passkey: Option<&'a crate::oauth::passkey::Prompt>,
}

/// A Unix time as an RFC 3339 date in UTC (`2026-12-01T11:00:00Z`), for people; `-` for none.
pub fn date(unix: Option<i64>) -> String {
    use actix_web::cookie::time::{format_description::well_known::Rfc3339, OffsetDateTime};
    unix.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub brand: &'a Brand,
    pub username: &'a str,
    /// The profile form's values: as stored, or as sent when it was refused.
    pub name: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    /// Why the profile or password form was refused.
    pub profile_error: Option<&'a str>,
    pub password_error: Option<&'a str>,
    pub csrf: &'a str,
    /// Email is configured: the "Verify your email" button (`account_email.html`).
    pub email_enabled: bool,
    /// Confirmed second factors.
    pub factors: &'a [crate::domain::factor::FactorView],
    pub recovery_codes_left: i64,
    pub sessions: &'a [crate::oauth::self_service::SessionView],
    pub apps: &'a [crate::oauth::self_service::AppView],
    pub notice: Option<&'a str>,
    /// Whether passkeys can be added (the issuer has a domain name).
    pub passkeys: bool,
}

#[derive(Template)]
#[template(path = "account_passkey.html")]
pub struct AccountPasskeyPage<'a> {
    pub brand: &'a Brand,
    pub csrf: &'a str,
    /// The name the person gave the new passkey.
    pub name: &'a str,
    pub prompt: &'a crate::oauth::passkey::Prompt,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account_totp.html")]
pub struct AccountTotpPage<'a> {
    pub brand: &'a Brand,
    pub csrf: &'a str,
    pub enrolment: &'a crate::oauth::mfa::Enrolment,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub brand: &'a Brand,
    pub codes: &'a [String],
    pub onward: Onward,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub brand: &'a Brand,
    pub client_name: &'a str,
    /// Where an openly registered client's answer goes (its redirect URI's host).
    pub redirect_host: Option<&'a str>,
    pub scopes: Vec<String>,
    pub username: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
}

/// A link that leads on from a page that ends a flow (an error, a sign-out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Onward {
    pub href: String,
    pub label: String,
}

/// A piece of a message: developer-facing names are written between backticks in error texts
/// (`redirect_uri`) and shown as code, never as literal backticks.
#[derive(Debug, PartialEq, Eq)]
pub struct Span<'a> {
    pub text: &'a str,
    pub code: bool,
}

/// Splits `text` at backticks: every other piece is code.
pub fn spans(text: &str) -> Vec<Span<'_>> {
    text.split('`')
        .enumerate()
        .filter(|(_, piece)| !piece.is_empty())
        .map(|(i, piece)| Span {
            text: piece,
            code: i % 2 == 1,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub brand: &'a Brand,
    pub title: &'a str,
    pub message: Vec<Span<'a>>,
    pub code: Option<&'a str>,
    pub onward: Option<Onward>,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub brand: &'a Brand,
    pub csrf: &'a str,
    pub client_name: Option<&'a str>,
    /// Where an openly registered client sends the person afterwards.
    pub redirect_host: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage<'a> {
    pub brand: &'a Brand,
    /// Back to the application the person signed out of, when it is known.
    pub onward: Option<Onward>,
}

/// What the admin page's create forms hold: the defaults, or what was typed into a form the
/// server refused (never a password).
#[derive(Debug)]
pub struct AdminForms {
    pub username: String,
    pub email: String,
    pub name: String,
    pub client_name: String,
    pub grant_types: String,
    pub redirect_uris: String,
    pub scope: String,
    pub access_token_alg: String,
    pub id_token_signed_response_alg: String,
    pub public: bool,
    pub first_party: bool,
    /// CORS web origins, space-separated.
    pub web_origins: String,
    /// The ID-token claims switch was set off.
    pub id_token_claims_off: bool,
}

impl Default for AdminForms {
    fn default() -> Self {
        Self {
            username: String::new(),
            email: String::new(),
            name: String::new(),
            client_name: String::new(),
            grant_types: "authorization_code refresh_token".into(),
            redirect_uris: String::new(),
            scope: "openid profile email offline_access".into(),
            access_token_alg: String::new(),
            id_token_signed_response_alg: String::new(),
            public: false,
            first_party: false,
            web_origins: String::new(),
            id_token_claims_off: false,
        }
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage<'a> {
    pub brand: &'a Brand,
    /// The signed-in administrator, whose own account offers no disable or demote button.
    pub admin_id: &'a str,
    pub admin_name: &'a str,
    pub csrf: &'a str,
    pub users: &'a [crate::admin::users::UserView],
    pub clients: &'a [crate::admin::clients::ClientView],
    pub notice: Option<&'a str>,
    pub error: Option<Vec<Span<'a>>>,
    pub forms: &'a AdminForms,
    /// The search text (`q`), empty for everything.
    pub query: &'a str,
}

#[derive(Template)]
#[template(path = "admin_secret.html")]
pub struct ClientSecretPage<'a> {
    pub brand: &'a Brand,
    pub title: &'a str,
    pub name: &'a str,
    pub client_id: &'a str,
    pub client_secret: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "admin_client.html")]
pub struct ClientEditPage<'a> {
    pub brand: &'a Brand,
    pub client: &'a crate::admin::clients::ClientView,
    pub csrf: &'a str,
    pub error: Option<Vec<Span<'a>>>,
    /// `keys.algorithms`, comma-separated.
    pub algorithms: String,
}

#[derive(Template)]
#[template(path = "admin_groups.html")]
pub struct GroupsPage<'a> {
    pub brand: &'a Brand,
    pub groups: &'a [crate::admin::groups::GroupView],
    pub csrf: &'a str,
    pub error: Option<Vec<Span<'a>>>,
}

#[derive(Template)]
#[template(path = "admin_resources.html")]
pub struct ResourcesPage<'a> {
    pub brand: &'a Brand,
    pub resources: &'a [crate::admin::resources::ResourceView],
    pub csrf: &'a str,
    pub error: Option<Vec<Span<'a>>>,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
pub struct UserPage<'a> {
    pub brand: &'a Brand,
    pub user: &'a crate::admin::users::UserView,
    /// The user's second factors (never their secrets) and recovery codes left.
    pub factors: &'a [crate::domain::factor::FactorView],
    pub recovery_codes_left: i64,
    pub notice: Option<&'a str>,
    /// The names of the user's groups.
    pub groups: &'a [String],
    /// The groups the user could join.
    pub joinable: &'a [String],
    pub csrf: &'a str,
    pub error: Option<Vec<Span<'a>>>,
}

#[derive(Template)]
#[template(path = "admin_delete.html")]
pub struct ClientDeletePage<'a> {
    pub brand: &'a Brand,
    pub client: &'a crate::admin::clients::ClientView,
    pub csrf: &'a str,
}

/// One stored audit event as the audit page shows it.
pub struct AuditRow {
    pub time: String,
    pub event: String,
    pub actor: String,
    pub subject: String,
    pub client: String,
    pub address: String,
    pub request_id: String,
    pub reason: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
pub struct AuditPage<'a> {
    pub brand: &'a Brand,
    /// Whether events are stored at all (`audit.store`).
    pub stored: bool,
    pub events: &'a [AuditRow],
    /// Every event name, for the filter.
    pub names: Vec<&'static str>,
    pub event: &'a str,
    pub actor: &'a str,
    pub subject: &'a str,
    /// The link to the next (older) page, when there may be one.
    pub next: Option<String>,
}

/// The built-in style sheet.
pub const STYLESHEET: &str = include_str!("../templates/assets/latchkey.css");
/// `/assets/passkey.js`: WebAuthn calls for the pages that offer passkeys.
pub const PASSKEY_SCRIPT: &str = include_str!("../templates/assets/passkey.js");

/// The theme sheet carrying the configured accent colour (validated as #rgb/#rrggbb).
pub fn theme_css(settings: &Settings) -> String {
    format!(
        ":root {{ --accent: {}; }}\n",
        settings.branding.accent_color
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backticked_names_become_code_spans() {
        assert_eq!(
            spans("Missing required parameter `redirect_uri`"),
            [
                Span {
                    text: "Missing required parameter ",
                    code: false
                },
                Span {
                    text: "redirect_uri",
                    code: true
                }
            ]
        );
        assert_eq!(spans("plain").len(), 1);
        assert!(spans("").is_empty());
    }
}
