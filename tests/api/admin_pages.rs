//! The admin pages, through a browser without JavaScript: sign-in through Latchkey's own login
//! page, the admin role, CSRF on every form, a client secret shown once.

use latchkey::admin;

use crate::backend_tests;
use crate::helpers::{hidden, location, Backend, Browser, TestApp, NOW};

backend_tests!(
    an_admin_signs_in_and_manages_users_and_clients,
    a_person_without_the_admin_role_is_refused,
    admin_forms_without_the_csrf_token_are_refused,
);

/// Creates user `name` (optionally an admin) and signs the browser in through /admin.
pub(crate) async fn sign_in(
    app: &TestApp,
    browser: &Browser,
    name: &str,
    make_admin: bool,
) -> reqwest::Response {
    app.user(name, &format!("{name}'s password")).await;
    if make_admin {
        let (pool, name) = (app.state.pool.clone(), name.to_owned());
        tokio::task::spawn_blocking(move || {
            admin::users::set_admin(
                &mut pool.get().unwrap(),
                &crate::helpers::by_cli(NOW),
                &name,
                true,
            )
        })
        .await
        .unwrap()
        .unwrap();
    }
    let to_authorize = location(&browser.get("/admin").await);
    assert!(to_authorize.starts_with("/authorize?"), "{to_authorize}");
    let to_login = location(&browser.get(&to_authorize).await);
    let callback = location(
        &browser
            .log_in(&to_login, name, &format!("{name}'s password"))
            .await,
    );
    assert!(
        callback.starts_with(&format!("{}/admin/callback?code=", app.address)),
        "{callback}"
    );
    let back = location(&browser.get(&callback).await);
    assert_eq!(back, "/admin");
    browser.get("/admin").await
}

async fn an_admin_signs_in_and_manages_users_and_clients(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    let page = sign_in(&app, &browser, "root", true).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(html.contains("Signed in as root"));
    assert!(
        !html.contains("latchkey-admin-console"),
        "the built-in client is not listed"
    );
    let csrf = hidden(&html, "csrf");

    let created = browser
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "pat"),
                ("email", "pat@example.com"),
                ("password", "pat's long password"),
            ],
        )
        .await;
    assert_eq!(location(&created), "/admin?notice=user-created");
    let html = browser
        .get("/admin?notice=user-created")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("User created.") && html.contains("pat@example.com"));
    let weak = browser
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "quinn"),
                ("password", "password123"),
            ],
        )
        .await;
    assert_eq!(weak.status(), 400);
    assert!(weak
        .text()
        .await
        .unwrap()
        .contains("this password is too easy to guess. This is a very common password."));

    let disabled = browser
        .post("/admin/users/pat/disable", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&disabled), "/admin?notice=user-disabled");
    let pool = app.state.pool.clone();
    let pat =
        tokio::task::spawn_blocking(move || admin::users::show(&mut pool.get().unwrap(), "pat"))
            .await
            .unwrap()
            .unwrap();
    assert!(pat.disabled);

    let registered = browser
        .post(
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", "Reports"),
                ("grant_types", "client_credentials"),
                ("scope", "reports:read"),
            ],
        )
        .await;
    assert_eq!(registered.status(), 200);
    let html = registered.text().await.unwrap();
    let secret_start = html
        .find(r#"<code id="client-secret">"#)
        .expect("secret shown")
        + r#"<code id="client-secret">"#.len();
    let secret = &html[secret_start..secret_start + 43];
    let id_start =
        html.find(r#"<code id="client-id">"#).unwrap() + r#"<code id="client-id">"#.len();
    let id = &html[id_start..id_start + 36];
    let client = crate::helpers::TestClient {
        id: id.to_owned(),
        secret: Some(secret.to_owned()),
    };
    assert_eq!(
        app.token(&[("grant_type", "client_credentials")], Some(&client))
            .await
            .status(),
        200
    );
    let listing = browser.get("/admin").await.text().await.unwrap();
    assert!(
        listing.contains("Reports") && !listing.contains(secret),
        "the secret is shown once"
    );

    // Edit the client: a bad redirect URI is refused on the form, a good edit is saved.
    let edit = browser.get(&format!("/admin/clients/{id}")).await;
    assert_eq!(edit.status(), 200);
    assert!(edit.text().await.unwrap().contains(r#"value="Reports""#));
    let bad = browser
        .post(
            &format!("/admin/clients/{id}"),
            &[
                ("csrf", &csrf),
                ("name", "Reports"),
                ("grant_types", "authorization_code"),
                ("redirect_uris", "http://evil.example/cb"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 400);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("uses http on a non-loopback host"));
    let saved = browser
        .post(
            &format!("/admin/clients/{id}"),
            &[
                ("csrf", &csrf),
                ("name", "Reports v2"),
                ("grant_types", "client_credentials"),
                ("scope", "reports:read reports:write"),
            ],
        )
        .await;
    assert_eq!(location(&saved), "/admin?notice=client-saved");
    let (pool, client_id) = (app.state.pool.clone(), id.to_owned());
    let view = tokio::task::spawn_blocking(move || {
        admin::clients::show(&mut pool.get().unwrap(), &client_id)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(view.name, "Reports v2");
    assert_eq!(view.scope, "reports:read reports:write");
    assert_eq!(
        app.token(&[("grant_type", "client_credentials")], Some(&client))
            .await
            .status(),
        200,
        "the secret survives an edit"
    );
    let console = browser.get("/admin/clients/latchkey-admin-console").await;
    assert_eq!(console.status(), 404);

    let confirm = browser.get(&format!("/admin/clients/{id}/delete")).await;
    assert_eq!(confirm.status(), 200);
    let deleted = browser
        .post(&format!("/admin/clients/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&deleted), "/admin?notice=client-deleted");
    assert_eq!(
        app.token(&[("grant_type", "client_credentials")], Some(&client))
            .await
            .status(),
        401
    );
}

async fn a_person_without_the_admin_role_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    let page = sign_in(&app, &browser, "rita", false).await;
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("Administrators only"));
    let post = browser
        .post("/admin/users", &[("csrf", "x"), ("username", "sam")])
        .await;
    assert_eq!(post.status(), 403);
}

async fn admin_forms_without_the_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    let html = sign_in(&app, &browser, "root", true)
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden(&html, "csrf");
    for form in [
        vec![("username", "eve")],
        vec![("csrf", "forged"), ("username", "eve")],
    ] {
        let r = browser.post("/admin/users", &form).await;
        assert_eq!(r.status(), 403);
    }
    // A second browser, signed in as another admin, cannot use this browser's token.
    let other = app.browser();
    let _ = sign_in(&app, &other, "sue", true).await;
    let r = other
        .post("/admin/users", &[("csrf", &csrf), ("username", "eve")])
        .await;
    assert_eq!(r.status(), 403);
    let pool = app.state.pool.clone();
    let missing =
        tokio::task::spawn_blocking(move || admin::users::show(&mut pool.get().unwrap(), "eve"))
            .await
            .unwrap();
    assert!(missing.is_err(), "no user was created");
}
