//! The admin pages' actions, one route each, through a browser without JavaScript: no locking
//! oneself out, forms that keep what was typed, a confirmation before deleting, secret rotation,
//! and search.

use latchkey::admin;

use crate::admin_pages::sign_in;
use crate::backend_tests;
use crate::helpers::{hidden, location, Backend, Browser, TestApp};

backend_tests!(
    an_admin_cannot_disable_or_demote_themselves,
    a_refused_create_keeps_what_was_typed,
    a_client_is_deleted_only_after_a_confirmation_page,
    a_client_secret_is_rotated_from_the_edit_page,
    users_and_clients_are_searched,
);

/// Signs `root` in as an administrator; returns the browser, the page's HTML and its CSRF token.
async fn admin_browser(app: &TestApp) -> (Browser, String, String) {
    let browser = app.browser();
    let html = sign_in(app, &browser, "root", true)
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden(&html, "csrf");
    (browser, html, csrf)
}

/// Registers a confidential client-credentials client from the page; returns its id and secret.
async fn register(browser: &Browser, csrf: &str, name: &str) -> (String, String) {
    let html = browser
        .post(
            "/admin/clients",
            &[
                ("csrf", csrf),
                ("name", name),
                ("grant_types", "client_credentials"),
                ("scope", "reports:read"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    (
        code_text(&html, "client-id"),
        code_text(&html, "client-secret"),
    )
}

pub(crate) fn code_text(html: &str, id: &str) -> String {
    let open = format!(r#"<code id="{id}">"#);
    let start = html
        .find(&open)
        .unwrap_or_else(|| panic!("no {id}: {html}"))
        + open.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

async fn an_admin_cannot_disable_or_demote_themselves(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, html, csrf) = admin_browser(&app).await;
    assert!(
        !html.contains("Disable root"),
        "no button to lock oneself out"
    );
    for (action, text) in [
        (
            "disable",
            "you cannot disable your own account; another administrator can",
        ),
        (
            "revoke-admin",
            "you cannot demote your own account; another administrator can",
        ),
    ] {
        let refused = browser
            .post(&format!("/admin/users/root/{action}"), &[("csrf", &csrf)])
            .await;
        assert_eq!(refused.status(), 400, "{action}");
        assert!(refused.text().await.unwrap().contains(text), "{action}");
    }
    let pool = app.state.pool.clone();
    let root =
        tokio::task::spawn_blocking(move || admin::users::show(&mut pool.get().unwrap(), "root"))
            .await
            .unwrap()
            .unwrap();
    assert!(root.is_admin && !root.disabled);
    // Another administrator's role can be taken and given back.
    app.user("sam", "sam's password").await;
    for (action, notice) in [
        ("grant-admin", "admin-granted"),
        ("revoke-admin", "admin-revoked"),
    ] {
        let done = browser
            .post(&format!("/admin/users/sam/{action}"), &[("csrf", &csrf)])
            .await;
        assert_eq!(location(&done), format!("/admin?notice={notice}"));
    }
    let unknown = browser
        .post("/admin/users/sam/promote", &[("csrf", &csrf)])
        .await;
    assert_eq!(
        unknown.status(),
        404,
        "one route per action, nothing dispatched by name"
    );
}

async fn a_refused_create_keeps_what_was_typed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _, csrf) = admin_browser(&app).await;
    let weak = browser
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "quinn"),
                ("email", "quinn@example.com"),
                ("name", "Quinn Q"),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(weak.status(), 400);
    let html = weak.text().await.unwrap();
    for kept in [
        r#"name="username" type="text" required autocomplete="off" value="quinn""#,
        r#"value="quinn@example.com""#,
        r#"value="Quinn Q""#,
    ] {
        assert!(html.contains(kept), "{kept} was lost");
    }
    assert!(
        !html.contains("password123"),
        "a password is never shown again"
    );
    let bad = browser
        .post(
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", "Shop"),
                ("grant_types", "authorization_code"),
                ("redirect_uris", "http://evil.example/cb"),
                ("first_party", "yes"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 400);
    let html = bad.text().await.unwrap();
    assert!(html.contains(r#"value="Shop""#) && html.contains(r#"value="http://evil.example/cb""#));
    assert!(html.contains(r#"name="first_party" value="yes" checked"#));
}

async fn a_client_is_deleted_only_after_a_confirmation_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _, csrf) = admin_browser(&app).await;
    let (id, _) = register(&browser, &csrf, "Reports").await;
    let listing = browser.get("/admin").await.text().await.unwrap();
    assert!(listing.contains(&format!(r#"<a href="/admin/clients/{id}/delete""#)));
    assert!(
        !listing.contains(&format!(r#"action="/admin/clients/{id}/delete""#)),
        "the list has no one-click delete"
    );
    let confirm = browser.get(&format!("/admin/clients/{id}/delete")).await;
    assert_eq!(confirm.status(), 200);
    let html = confirm.text().await.unwrap();
    assert!(html.contains("<h1>Delete Reports?</h1>"), "{html}");
    assert!(html.contains(&format!(r#"action="/admin/clients/{id}/delete""#)));
    let (pool, client_id) = (app.state.pool.clone(), id.clone());
    let still = tokio::task::spawn_blocking(move || {
        admin::clients::show(&mut pool.get().unwrap(), &client_id)
    })
    .await
    .unwrap();
    assert!(still.is_ok(), "opening the confirmation deletes nothing");
    let deleted = browser
        .post(
            &format!("/admin/clients/{id}/delete"),
            &[("csrf", &hidden(&html, "csrf"))],
        )
        .await;
    assert_eq!(location(&deleted), "/admin?notice=client-deleted");
    assert_eq!(
        browser
            .get(&format!("/admin/clients/{id}/delete"))
            .await
            .status(),
        404
    );
}

async fn a_client_secret_is_rotated_from_the_edit_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _, csrf) = admin_browser(&app).await;
    let (id, old) = register(&browser, &csrf, "Reports").await;
    let edit = browser
        .get(&format!("/admin/clients/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(edit.contains(&format!(r#"action="/admin/clients/{id}/secret""#)));
    let rotated = browser
        .post(&format!("/admin/clients/{id}/secret"), &[("csrf", &csrf)])
        .await;
    assert_eq!(rotated.status(), 200);
    let html = rotated.text().await.unwrap();
    assert!(html.contains("<h1>New client secret</h1>"));
    let new = code_text(&html, "client-secret");
    assert_ne!(new, old);
    let form = [("grant_type", "client_credentials")];
    let with = |secret: &str| crate::helpers::TestClient {
        id: id.clone(),
        secret: Some(secret.to_owned()),
    };
    assert_eq!(app.token(&form, Some(&with(&old))).await.status(), 401);
    assert_eq!(app.token(&form, Some(&with(&new))).await.status(), 200);
}

async fn users_and_clients_are_searched(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, _, csrf) = admin_browser(&app).await;
    app.user("patricia", "patricia's password").await;
    app.user("zed", "zed's password").await;
    register(&browser, &csrf, "Payroll").await;
    register(&browser, &csrf, "Reports").await;
    let html = browser.get("/admin?q=pa").await.text().await.unwrap();
    assert!(
        html.contains("patricia") && html.contains("Payroll"),
        "{html}"
    );
    assert!(
        !html.contains(">zed<") && !html.contains("Reports"),
        "{html}"
    );
    assert!(html.contains(r#"name="q" type="search" value="pa""#));
    let none = browser.get("/admin?q=nobody").await.text().await.unwrap();
    assert!(none.contains("No user matches this search."));
    assert!(none.contains("No client matches this search."));
}
