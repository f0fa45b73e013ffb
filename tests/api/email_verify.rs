//! Email verification from the account page: the link arrives, a click sets `email_verified`,
//! a link for an address the account no longer has verifies nothing, and requests beyond the
//! hourly limit are refused. And the relay password never shows in `config check`.

use latchkey::admin::users::ProfileUpdate;
use latchkey::db::audit_events::{self, AuditEventRow, Filter};

use crate::account::sign_in;
use crate::backend_tests;
use crate::cli::latchkey;
use crate::helpers::{by_cli, hidden, location, Backend, Browser, TestApp, NOW};
use crate::password_reset::nth_link;
use crate::smtp::spawn_with_mail;

backend_tests!(verifying_sets_email_verified_and_a_link_for_a_changed_address_does_not);

/// Every stored audit event, newest first.
pub(crate) async fn stored(app: &TestApp) -> Vec<AuditEventRow> {
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        audit_events::page(&mut pool.get().unwrap(), &Filter::default(), 200)
    })
    .await
    .unwrap()
    .unwrap()
}

/// Presses "Verify your email" on the account page; the notice it leads to.
async fn ask(browser: &Browser) -> String {
    let html = browser.get("/account").await.text().await.unwrap();
    assert!(html.contains("id=\"verify-email\""), "{html}");
    let sent = browser
        .post("/account/email/verify", &[("csrf", &hidden(&html, "csrf"))])
        .await;
    location(&sent)
}

/// Opens `link` and presses its button.
async fn confirm(browser: &Browser, link: &str) -> (u16, String) {
    let page = browser.get(link).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let done = browser
        .post(
            "/email/verify",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("token", &hidden(&html, "token")),
            ],
        )
        .await;
    (done.status().as_u16(), done.text().await.unwrap())
}

async fn set_email(app: &TestApp, email: &str) {
    let (pool, email) = (app.state.pool.clone(), email.to_owned());
    tokio::task::spawn_blocking(move || {
        let update = ProfileUpdate {
            email: Some(Some(email)),
            ..ProfileUpdate::default()
        };
        latchkey::admin::users::update_profile(
            &mut pool.get().unwrap(),
            &by_cli(NOW),
            "alice",
            update,
        )
    })
    .await
    .unwrap()
    .unwrap();
}

async fn verified(app: &TestApp) -> bool {
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::show(&mut pool.get().unwrap(), "alice")
    })
    .await
    .unwrap()
    .unwrap()
    .email_verified
}

async fn verifying_sets_email_verified_and_a_link_for_a_changed_address_does_not(backend: Backend) {
    let (app, mailbox) = spawn_with_mail(backend).await;
    let sub = app.user("alice", crate::account::PASSWORD).await;
    let browser = app.browser();
    sign_in(&browser).await;
    assert_eq!(ask(&browser).await, "/account?notice=verification-sent");
    let mail = mailbox.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["<alice@example.com>"]);
    assert_eq!(
        mail.header("Subject"),
        Some("Latchkey: verify your email address")
    );
    let link = mail.link(&app.url("/email/verify?token="));
    assert!(!verified(&app).await, "opening nothing yet");
    let (status, html) = confirm(&browser, &link).await;
    assert_eq!(status, 200);
    assert!(html.contains("Your email address is verified"), "{html}");
    assert!(verified(&app).await);
    assert_eq!(browser.get(&link).await.status(), 400, "once only");
    let page = browser.get("/account").await.text().await.unwrap();
    assert!(page.contains("id=\"email-verified\""));
    let rows = stored(&app).await;
    let event = rows.iter().find(|r| r.event == "email_verified").unwrap();
    assert_eq!(event.actor, format!("user:{sub}"));

    // A new address is unverified; its link stops working when the address changes again.
    set_email(&app, "alice@second.example").await;
    assert_eq!(ask(&browser).await, "/account?notice=verification-sent");
    let stale = nth_link(&app, &mailbox, 2, "/email/verify?token=").await;
    assert_eq!(mailbox.all()[1].to, ["<alice@second.example>"]);
    set_email(&app, "alice@third.example").await;
    let (status, html) = confirm(&browser, &stale).await;
    assert_eq!(status, 400);
    assert!(html.contains("This link is for another address"), "{html}");
    assert!(!verified(&app).await);

    // Three links an hour.
    assert_eq!(ask(&browser).await, "/account?notice=verification-sent");
    assert_eq!(
        ask(&browser).await,
        "/account?notice=verification-throttled"
    );
    mailbox.wait_for(3).await;
    mailbox.assert_stays_at(3).await;
}

#[test]
fn config_check_never_prints_the_relay_password() {
    let envs = [
        ("LATCHKEY__EMAIL__HOST", "smtp.example.com"),
        ("LATCHKEY__EMAIL__FROM", "Latchkey <id@example.com>"),
        ("LATCHKEY__EMAIL__USERNAME", "relay"),
        ("LATCHKEY__EMAIL__PASSWORD", "hunter2-smtp-secret"),
    ];
    for json in [false, true] {
        let mut args = vec!["config", "check"];
        if json {
            args.push("--json");
        }
        let output = latchkey(&envs, &args, None);
        assert!(output.status.success(), "{output:?}");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!printed.contains("hunter2-smtp-secret"), "{printed}");
        assert!(printed.contains("REDACTED"), "{printed}");
        assert!(printed.contains("smtp.example.com"));
    }
    // A password that looks like a number is still a password.
    let numeric = [
        envs[0],
        envs[1],
        envs[2],
        ("LATCHKEY__EMAIL__PASSWORD", "123456"),
    ];
    let output = latchkey(&numeric, &["config", "check"], None);
    assert!(output.status.success(), "{output:?}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("123456"));
    // Without a usable From the relay is refused.
    let output = latchkey(&[envs[0]], &["config", "check"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid value for `email.from`"));
}
