//! A client's token algorithms on the admin pages: shown, saved, and refused when not configured.

use latchkey::admin;
use latchkey::domain::client::GrantType;
use latchkey::domain::signing_alg::SigningAlg;

use crate::admin_pages::sign_in;
use crate::backend_tests;
use crate::helpers::{hidden, location, Backend};
use crate::signing_algs::{client_with, service_token, spawn_all};

backend_tests!(the_admin_pages_set_a_clients_token_algorithms);

async fn the_admin_pages_set_a_clients_token_algorithms(backend: Backend) {
    let app = spawn_all(backend).await;
    let browser = app.browser();
    let client = client_with(
        &app,
        &[GrantType::ClientCredentials],
        "api:read",
        None,
        None,
    )
    .await;
    sign_in(&app, &browser, "root", true).await;
    let path = format!("/admin/clients/{}", client.id);
    let edit = browser.get(&path).await.text().await.unwrap();
    assert!(
        edit.contains(r#"name="access_token_alg" type="text" value="""#),
        "{edit}"
    );
    assert!(edit.contains("one of RS256, ES256, EdDSA"));
    let csrf = hidden(&edit, "csrf");
    let form = |access: &str, id_token: &str| -> Vec<(String, String)> {
        [
            ("csrf", csrf.as_str()),
            ("name", "Algorithms"),
            ("grant_types", "client_credentials"),
            ("scope", "api:read"),
            ("access_token_alg", access),
            ("id_token_signed_response_alg", id_token),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec()
    };
    let post = |fields: Vec<(String, String)>| {
        let (browser, path) = (&browser, path.clone());
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            browser.post(&path, &fields).await
        }
    };
    let refused = post(form("ES384", "")).await;
    assert_eq!(refused.status(), 400);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("signing algorithm <code>ES384</code> is not supported"));
    let saved = post(form("EdDSA", "ES256")).await;
    assert_eq!(location(&saved), "/admin?notice=client-saved");
    let (pool, id) = (app.state.pool.clone(), client.id.clone());
    let view =
        tokio::task::spawn_blocking(move || admin::clients::show(&mut pool.get().unwrap(), &id))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(view.access_token_alg, Some(SigningAlg::EdDSA));
    assert_eq!(view.id_token_signed_response_alg, Some(SigningAlg::ES256));
    let (header, _) = app
        .verify(&service_token(&app, &client).await, &app.address)
        .await;
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let edit = browser.get(&path).await.text().await.unwrap();
    assert!(edit.contains(r#"name="access_token_alg" type="text" value="EdDSA""#));

    // The registration form takes the same fields.
    let index = browser.get("/admin").await.text().await.unwrap();
    assert!(index.contains(r#"name="id_token_signed_response_alg""#));
    let registered = browser
        .post(
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", "ES256 service"),
                ("grant_types", "client_credentials"),
                ("scope", "api:read"),
                ("access_token_alg", "ES256"),
            ],
        )
        .await;
    assert_eq!(registered.status(), 200);
    let pool = app.state.pool.clone();
    let listed =
        tokio::task::spawn_blocking(move || admin::clients::list(&mut pool.get().unwrap()))
            .await
            .unwrap()
            .unwrap();
    let created = listed.iter().find(|c| c.name == "ES256 service").unwrap();
    assert_eq!(created.access_token_alg, Some(SigningAlg::ES256));
    assert_eq!(created.id_token_signed_response_alg, None);
}
