//! Cross-site request forgery against the admin pages: a form token is bound to the session it was
//! rendered for, and forms posted from another origin are refused, on both backends.

use crate::admin_pages::sign_in;
use crate::backend_tests;
use crate::helpers::{hidden, Backend, TestApp};

backend_tests!(
    a_csrf_token_of_another_admin_session_is_refused,
    an_admin_form_posted_from_another_origin_is_refused,
);

async fn user_exists(app: &TestApp, name: &str) -> bool {
    let (pool, name) = (app.state.pool.clone(), name.to_owned());
    tokio::task::spawn_blocking(move || {
        latchkey::admin::users::show(&mut pool.get().unwrap(), &name).is_ok()
    })
    .await
    .unwrap()
}

async fn a_csrf_token_of_another_admin_session_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let attacker = app.browser();
    let page = sign_in(&app, &attacker, "eve", true).await;
    let attackers_token = hidden(&page.text().await.unwrap(), "csrf");
    let victim = app.browser();
    let page = sign_in(&app, &victim, "root", true).await;
    let victims_token = hidden(&page.text().await.unwrap(), "csrf");
    assert_ne!(attackers_token, victims_token);
    let form = [("csrf", attackers_token.as_str()), ("username", "mallory")];
    assert_eq!(victim.post("/admin/users", &form).await.status(), 403);
    assert!(!user_exists(&app, "mallory").await);
    let form = [("csrf", victims_token.as_str()), ("username", "sam")];
    assert_eq!(victim.post("/admin/users", &form).await.status(), 303);
    assert!(user_exists(&app, "sam").await);
}

async fn an_admin_form_posted_from_another_origin_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    let page = sign_in(&app, &browser, "root", true).await;
    let token = hidden(&page.text().await.unwrap(), "csrf");
    let post = |header: &'static str, value: String, username: &'static str| {
        let request = browser
            .http
            .post(format!("{}/admin/users", app.address))
            .header(header, value)
            .form(&[("csrf", token.as_str()), ("username", username)]);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(
        post("origin", "https://evil.example".into(), "mallory").await,
        403
    );
    assert_eq!(post("origin", "null".into(), "mallory").await, 403);
    let referer = "https://evil.example/admin".to_owned();
    assert_eq!(post("referer", referer, "mallory").await, 403);
    assert!(!user_exists(&app, "mallory").await);
    assert_eq!(post("origin", app.address.clone(), "sam").await, 303);
    assert!(user_exists(&app, "sam").await);
}
