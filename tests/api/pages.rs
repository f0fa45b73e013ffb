//! What the hosted pages say when a flow cannot go on: what happened, what to do, and developer
//! names shown as code rather than with literal backticks.

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    opening_the_login_page_directly_says_no_sign_in_is_in_progress,
    an_unknown_sign_in_request_says_it_expired,
    error_pages_show_parameter_names_as_code_not_backticks,
);

async fn opening_the_login_page_directly_says_no_sign_in_is_in_progress(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = app.browser().get("/login").await;
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>No sign-in in progress</h1>"), "{html}");
    assert!(html.contains(
        "This page is opened by an application when you sign in to it. Open the application you \
         want to use and sign in from there."
    ));
    assert!(!html.contains("expired"), "nothing expired: {html}");
}

async fn an_unknown_sign_in_request_says_it_expired(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = app.browser().get("/login?request=gone").await;
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>This sign-in has expired</h1>"), "{html}");
    assert!(html.contains("Go back to the application and sign in again."));
}

async fn error_pages_show_parameter_names_as_code_not_backticks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.web_client(true, false).await;
    let page = app
        .browser()
        .get(&format!(
            "/authorize?response_type=code&client_id={}",
            client.id
        ))
        .await;
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Missing required parameter <code>redirect_uri</code>"),
        "{html}"
    );
    assert!(!html.contains('`'), "{html}");
}
