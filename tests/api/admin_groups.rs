//! Groups through the admin pages (a browser without JavaScript) and the admin API: create a
//! group, add a member, restrict a scope, see and leave groups on the user page, edit
//! `email_verified`; every form needs its CSRF token.

use latchkey::admin;
use serde_json::{json, Value};

use crate::admin::admin_token;
use crate::admin_pages::sign_in;
use crate::backend_tests;
use crate::helpers::{hidden, location, Backend, TestApp};

backend_tests!(
    admin_pages_manage_groups_and_email_verified,
    the_admin_api_manages_groups
);

async fn admin_pages_manage_groups_and_email_verified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.browser();
    sign_in(&app, &browser, "root", true).await;
    app.user("pat", "pat's long password").await;
    let page = browser.get("/admin/groups").await.text().await.unwrap();
    assert!(page.contains("No groups yet."), "{page}");
    let csrf = hidden(&page, "csrf");
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let browser = &browser;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post(path, &form).await
        }
    };
    let refused = post("/admin/groups", vec![("name", "staff".into())]).await;
    assert_eq!(refused.status(), 403, "no CSRF token");
    for (path, form) in [
        ("/admin/groups", vec![("name", "staff".to_owned())]),
        (
            "/admin/groups/staff/members",
            vec![("username", "pat".into())],
        ),
        (
            "/admin/groups/staff/scopes",
            vec![("scope", "invoices:write".into())],
        ),
    ] {
        let mut form = form;
        form.push(("csrf", csrf.clone()));
        let done = post(path, form).await;
        assert_eq!(location(&done), "/admin/groups", "{path}");
    }
    let page = browser.get("/admin/groups").await.text().await.unwrap();
    assert!(page.contains("<code>invoices:write</code>"), "{page}");
    let bad = post(
        "/admin/groups/staff/scopes",
        vec![("scope", "openid".into()), ("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(bad.status(), 400);

    let user_page = browser.get("/admin/users/pat").await.text().await.unwrap();
    assert!(user_page.contains("id=\"user-groups\""), "{user_page}");
    assert!(user_page.contains("staff"), "{user_page}");
    let saved = post(
        "/admin/users/pat/profile",
        vec![
            ("email", "pat@example.com".into()),
            ("email_verified", "yes".into()),
            ("name", "Pat".into()),
            ("csrf", csrf.clone()),
        ],
    )
    .await;
    assert_eq!(location(&saved), "/admin/users/pat");
    let left = post(
        "/admin/groups/staff/members/pat/remove",
        vec![("back", "user".into()), ("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(location(&left), "/admin/users/pat");
    let pool = app.state.pool.clone();
    let (user, groups) = tokio::task::spawn_blocking(move || {
        let conn = &mut pool.get().unwrap();
        (
            admin::users::show(conn, "pat").unwrap(),
            admin::groups::of_user(conn, "pat").unwrap(),
        )
    })
    .await
    .unwrap();
    assert!(user.email_verified);
    assert_eq!(user.name.as_deref(), Some("Pat"));
    assert!(groups.is_empty());
    assert_eq!(browser.get("/admin/users/nobody").await.status(), 404);
}

async fn the_admin_api_manages_groups(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, token) = admin_token(&app).await;
    app.user("pat", "pat's long password").await;
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = app
            .http
            .request(method, app.url(&format!("/admin/api{path}")))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let created = call(
        reqwest::Method::POST,
        "/groups",
        Some(json!({"name": "staff", "description": "Everyone"})),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let again = call(
        reqwest::Method::POST,
        "/groups",
        Some(json!({"name": "staff"})),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 409);
    let joined = call(reqwest::Method::PUT, "/groups/staff/members/pat", None)
        .await
        .unwrap();
    assert_eq!(
        joined.json::<Value>().await.unwrap(),
        json!({"added": true})
    );
    let allowed: Value = call(reqwest::Method::PUT, "/groups/staff/scopes/reports", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(allowed["scopes"], json!(["reports"]));
    assert_eq!(allowed["members"], json!(["pat"]));
    let of_user: Value = call(reqwest::Method::GET, "/users/pat/groups", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(of_user, json!({"groups": ["staff"]}));
    let refused = call(reqwest::Method::DELETE, "/groups/staff", None)
        .await
        .unwrap();
    assert_eq!(refused.status(), 400, "the only group allowed `reports`");
    call(
        reqwest::Method::DELETE,
        "/groups/staff/scopes/reports",
        None,
    )
    .await
    .unwrap();
    let removed = call(reqwest::Method::DELETE, "/groups/staff", None)
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let listed: Value = call(reqwest::Method::GET, "/groups", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!({"groups": []}));
}
